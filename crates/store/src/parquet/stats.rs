//! Statistics of Info Parquet, scoped like the referrals themselves (a parquet sees its own, an administration
//! its own, the national admin all): volumes, time to registration and to decision, outcomes, and counts per
//! administration, per TJ (through its parquet) and per NATINF family.

use sqlx::Row;

use super::access::ReferralAccess;
use crate::{Db, Result, Scope};

#[derive(Clone, Debug, Default)]
pub struct StatsFilter {
    /// Referrals sent in `[from, to)` (unix seconds); `None` = unbounded.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Count {
    pub key: String,
    pub label: String,
    pub count: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delay {
    pub count: i64,
    pub average_secs: Option<i64>,
    pub median_secs: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub sent: i64,
    pub urgent: i64,
    pub by_status: Vec<Count>,
    pub to_registration: Delay,
    pub to_decision: Delay,
    pub outcomes: Vec<Count>,
    pub classement_reasons: Vec<Count>,
    pub per_administration: Vec<Count>,
    pub per_tj: Vec<Count>,
    pub per_natinf_family: Vec<Count>,
}

/// Median of durations (the lower middle for an even count, so it is always an observed value).
pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}

fn delay(mut values: Vec<i64>) -> Delay {
    let count = values.len() as i64;
    let average_secs = (count > 0).then(|| values.iter().sum::<i64>() / count);
    Delay {
        count,
        average_secs,
        median_secs: median(&mut values),
    }
}

fn tally(counts: &mut Vec<Count>, key: &str, label: &str) {
    match counts.iter_mut().find(|c| c.key == key) {
        Some(c) => c.count += 1,
        None => counts.push(Count {
            key: key.to_string(),
            label: label.to_string(),
            count: 1,
        }),
    }
}

fn sorted(mut v: Vec<Count>) -> Vec<Count> {
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    v
}

pub async fn stats(db: &Db, scope: &Scope, f: &StatsFilter) -> Result<Stats> {
    let mut conn = db.pool().acquire().await?;
    let access = ReferralAccess::of(&mut conn, scope).await?;
    let (cond, binds) = access.filter("r", 3);
    let base = format!(
        "FROM referrals r WHERE r.sent_at IS NOT NULL AND r.sent_at >= $1 AND r.sent_at < $2 AND {cond}"
    );
    let from = f.from.unwrap_or(i64::MIN);
    let to = f.to.unwrap_or(i64::MAX);
    macro_rules! query {
        ($sql:expr) => {{
            let sql = $sql;
            let mut q = sqlx::query(&sql).bind(from).bind(to);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(&mut *conn).await?
        }};
    }

    let rows = query!(format!(
        "SELECT r.status, r.urgent, r.sent_at, r.registered_at, r.decided_at, r.decision_kind, r.decision_reason \
         {base}"
    ));
    let mut s = Stats::default();
    let mut to_registration = Vec::new();
    let mut to_decision = Vec::new();
    for r in &rows {
        s.sent += 1;
        if crate::flag(r, "urgent") {
            s.urgent += 1;
        }
        let status: String = r.get("status");
        let label = status
            .parse::<domain::ReferralStatus>()
            .map(|st| st.label())
            .unwrap_or("?");
        tally(&mut s.by_status, &status, label);
        let sent: i64 = r.get("sent_at");
        if let Some(reg) = r.get::<Option<i64>, _>("registered_at") {
            to_registration.push(reg - sent);
        }
        if let Some(dec) = r.get::<Option<i64>, _>("decided_at") {
            to_decision.push(dec - sent);
        }
        if let Some(kind) = r.get::<Option<String>, _>("decision_kind") {
            let k: Option<domain::DecisionKind> = kind.parse().ok();
            tally(&mut s.outcomes, &kind, k.map(|k| k.label()).unwrap_or("?"));
            if k == Some(domain::DecisionKind::ClassementSansSuite) {
                if let Some(reason) = r.get::<Option<String>, _>("decision_reason") {
                    let label = reason
                        .parse::<domain::ClassementReason>()
                        .map(|c| c.label())
                        .unwrap_or("?");
                    tally(&mut s.classement_reasons, &reason, label);
                }
            }
        }
    }
    s.by_status = sorted(s.by_status);
    s.outcomes = sorted(s.outcomes);
    s.classement_reasons = sorted(s.classement_reasons);
    s.to_registration = delay(to_registration);
    s.to_decision = delay(to_decision);

    let counts = |rows: Vec<sqlx::any::AnyRow>| {
        sorted(
            rows.iter()
                .map(|r| Count {
                    key: r.get("k"),
                    label: r.get("l"),
                    count: r.get("n"),
                })
                .collect(),
        )
    };
    s.per_administration = counts(query!(format!(
        "SELECT r.administration_id AS k, o.name AS l, COUNT(*) AS n {} GROUP BY r.administration_id, o.name",
        base.replace(
            "FROM referrals r",
            "FROM referrals r JOIN organisations o ON o.id = r.administration_id"
        )
    )));
    s.per_tj = counts(query!(format!(
        "SELECT p.id AS k, COALESCE(t.name, p.name) AS l, COUNT(*) AS n {} GROUP BY p.id, COALESCE(t.name, p.name)",
        base.replace(
            "FROM referrals r",
            "FROM referrals r JOIN organisations p ON p.id = r.parquet_id \
             LEFT JOIN organisations t ON t.id = p.parent_id"
        )
    )));
    // A referral citing two offences of one family counts once for it.
    s.per_natinf_family = counts(query!(format!(
        "SELECT COALESCE(n.family, '') AS k, COALESCE(n.family, 'Famille non renseignée') AS l, \
         COUNT(DISTINCT r.id) AS n {} GROUP BY COALESCE(n.family, ''), COALESCE(n.family, 'Famille non renseignée')",
        base.replace(
            "FROM referrals r",
            "FROM referrals r JOIN referral_offences ro ON ro.referral_id = r.id \
             JOIN natinf n ON n.code = ro.natinf_code"
        )
    )));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_an_observed_value() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5]), Some(5));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        let d = delay(vec![10, 20, 60]);
        assert_eq!(
            d,
            Delay {
                count: 3,
                average_secs: Some(30),
                median_secs: Some(20)
            }
        );
    }
}
