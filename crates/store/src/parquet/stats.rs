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

/// One line of a breakdown (an administration, a TJ, a NATINF family or a month): how many referrals were sent,
/// what became of them and how long the parquet took.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Breakdown {
    pub key: String,
    pub label: String,
    /// Referrals sent.
    pub count: i64,
    pub urgent: i64,
    pub registered: i64,
    pub decided: i64,
    pub poursuites: i64,
    pub alternatives: i64,
    pub classements: i64,
    pub to_registration: Delay,
    pub to_decision: Delay,
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
    /// Which alternative to prosecution was chosen.
    pub alternatives: Vec<Count>,
    /// Months (`YYYY-MM`, Europe/Paris) in which referrals were sent, oldest first; months without any are absent.
    pub per_month: Vec<Breakdown>,
    pub per_administration: Vec<Breakdown>,
    pub per_tj: Vec<Breakdown>,
    /// A referral citing offences of two families counts once in each.
    pub per_natinf_family: Vec<Breakdown>,
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

/// What one sent referral contributes.
struct Line {
    urgent: bool,
    sent_at: i64,
    registered_at: Option<i64>,
    decided_at: Option<i64>,
    kind: Option<domain::DecisionKind>,
}

/// Accumulates lines under keys, keeping the delays until the end.
#[derive(Default)]
struct Groups(Vec<(Breakdown, Vec<i64>, Vec<i64>)>);

impl Groups {
    fn add(&mut self, key: &str, label: &str, l: &Line) {
        let i = match self.0.iter().position(|(b, _, _)| b.key == key) {
            Some(i) => i,
            None => {
                self.0.push((
                    Breakdown {
                        key: key.to_string(),
                        label: label.to_string(),
                        ..Breakdown::default()
                    },
                    vec![],
                    vec![],
                ));
                self.0.len() - 1
            }
        };
        let (b, reg, dec) = &mut self.0[i];
        b.count += 1;
        b.urgent += i64::from(l.urgent);
        if let Some(r) = l.registered_at {
            b.registered += 1;
            reg.push(r - l.sent_at);
        }
        if let Some(d) = l.decided_at {
            b.decided += 1;
            dec.push(d - l.sent_at);
        }
        match l.kind {
            Some(domain::DecisionKind::Poursuites) => b.poursuites += 1,
            Some(domain::DecisionKind::AlternativeAuxPoursuites) => b.alternatives += 1,
            Some(domain::DecisionKind::ClassementSansSuite) => b.classements += 1,
            None => {}
        }
    }

    /// Most referrals first (ties by label).
    fn by_count(self) -> Vec<Breakdown> {
        let mut v = self.finish();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
        v
    }

    /// By key (months: oldest first).
    fn by_key(self) -> Vec<Breakdown> {
        let mut v = self.finish();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    fn finish(self) -> Vec<Breakdown> {
        self.0
            .into_iter()
            .map(|(mut b, reg, dec)| {
                b.to_registration = delay(reg);
                b.to_decision = delay(dec);
                b
            })
            .collect()
    }
}

/// `YYYY-MM` of an instant in Europe/Paris.
pub fn month_of(unix: i64) -> String {
    use chrono::TimeZone;
    match chrono_tz::Europe::Paris.timestamp_opt(unix, 0).single() {
        Some(t) => t.format("%Y-%m").to_string(),
        None => String::new(),
    }
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
        "SELECT r.id, r.status, r.urgent, r.sent_at, r.registered_at, r.decided_at, r.decision_kind, \
         r.decision_reason, r.administration_id, a.name AS administration_name, \
         COALESCE(r.parquet_id, '') AS parquet_key, COALESCE(t.name, p.name, 'Parquet non renseigné') AS tj_name {}",
        base.replace(
            "FROM referrals r",
            "FROM referrals r JOIN organisations a ON a.id = r.administration_id \
             LEFT JOIN organisations p ON p.id = r.parquet_id \
             LEFT JOIN organisations t ON t.id = p.parent_id"
        )
    ));
    // Families of each referral's offences (once per referral and family).
    let families = query!(format!(
        "SELECT DISTINCT r.id AS rid, COALESCE(n.family, '') AS fam {}",
        base.replace(
            "FROM referrals r",
            "FROM referrals r JOIN referral_offences ro ON ro.referral_id = r.id \
             LEFT JOIN natinf n ON n.code = ro.natinf_code"
        )
    ));
    let mut families_of: std::collections::HashMap<String, Vec<String>> = Default::default();
    for r in &families {
        families_of
            .entry(r.get("rid"))
            .or_default()
            .push(r.get("fam"));
    }

    let mut s = Stats::default();
    let mut to_registration = Vec::new();
    let mut to_decision = Vec::new();
    let (mut months, mut admins, mut tjs, mut fams) = (
        Groups::default(),
        Groups::default(),
        Groups::default(),
        Groups::default(),
    );
    for r in &rows {
        s.sent += 1;
        let urgent = crate::flag(r, "urgent");
        if urgent {
            s.urgent += 1;
        }
        let status: String = r.get("status");
        let label = status
            .parse::<domain::ReferralStatus>()
            .map(|st| st.label())
            .unwrap_or("?");
        tally(&mut s.by_status, &status, label);
        let sent: i64 = r.get("sent_at");
        let registered_at = r.get::<Option<i64>, _>("registered_at");
        let decided_at = r.get::<Option<i64>, _>("decided_at");
        if let Some(reg) = registered_at {
            to_registration.push(reg - sent);
        }
        if let Some(dec) = decided_at {
            to_decision.push(dec - sent);
        }
        let mut kind = None;
        if let Some(k) = r.get::<Option<String>, _>("decision_kind") {
            kind = k.parse::<domain::DecisionKind>().ok();
            tally(&mut s.outcomes, &k, kind.map(|k| k.label()).unwrap_or("?"));
            let reason = r.get::<Option<String>, _>("decision_reason");
            match (kind, reason) {
                (Some(domain::DecisionKind::ClassementSansSuite), Some(reason)) => {
                    let label = reason
                        .parse::<domain::ClassementReason>()
                        .map(|c| c.label())
                        .unwrap_or("?");
                    tally(&mut s.classement_reasons, &reason, label);
                }
                (Some(domain::DecisionKind::AlternativeAuxPoursuites), Some(alt)) => {
                    let label = alt
                        .parse::<domain::AlternativeKind>()
                        .map(|a| a.label())
                        .unwrap_or("?");
                    tally(&mut s.alternatives, &alt, label);
                }
                _ => {}
            }
        }
        let line = Line {
            urgent,
            sent_at: sent,
            registered_at,
            decided_at,
            kind,
        };
        let month = month_of(sent);
        months.add(&month, &month, &line);
        admins.add(
            &r.get::<String, _>("administration_id"),
            &r.get::<String, _>("administration_name"),
            &line,
        );
        tjs.add(
            &r.get::<String, _>("parquet_key"),
            &r.get::<String, _>("tj_name"),
            &line,
        );
        let id: String = r.get("id");
        for fam in families_of.get(&id).into_iter().flatten() {
            let label = if fam.is_empty() {
                "Famille non renseignée"
            } else {
                fam.as_str()
            };
            fams.add(fam, label, &line);
        }
    }
    s.by_status = sorted(s.by_status);
    s.outcomes = sorted(s.outcomes);
    s.classement_reasons = sorted(s.classement_reasons);
    s.alternatives = sorted(s.alternatives);
    s.to_registration = delay(to_registration);
    s.to_decision = delay(to_decision);
    s.per_month = months.by_key();
    s.per_administration = admins.by_count();
    s.per_tj = tjs.by_count();
    s.per_natinf_family = fams.by_count();
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
