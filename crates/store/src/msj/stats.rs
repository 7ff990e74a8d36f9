//! Statistics: absenteeism (no-show ÷ appointments whose outcome was recorded) per organisation, agenda,
//! appointment type and month; share of active PPSMJ reachable by SMS; outcomes never recorded.
//!
//! The query returns the finest grain (organisation × agenda × type × month); [`group`] sums it along one axis,
//! so the page, the charts and the CSV export all come from one read.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::Row;

use super::{bind_all, ppsmj_visible};
use crate::{Db, Result, Scope};

/// Outcome counts of a group of appointments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub fulfilled: i64,
    pub no_show: i64,
    pub excused: i64,
}

impl Counts {
    /// Appointments whose outcome was recorded: the denominator.
    pub fn recorded(&self) -> i64 {
        self.fulfilled + self.no_show + self.excused
    }

    /// No-show ÷ recorded, `None` when nothing was recorded (shown as "—", not 0 %).
    pub fn absenteeism(&self) -> Option<f64> {
        let n = self.recorded();
        (n > 0).then(|| self.no_show as f64 / n as f64)
    }

    fn add(&mut self, o: &Counts) {
        self.fulfilled += o.fulfilled;
        self.no_show += o.no_show;
        self.excused += o.excused;
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbsenteeismRow {
    pub organisation_id: String,
    pub agenda_id: String,
    pub appointment_type_id: String,
    /// 'YYYY-MM' of the appointment's local date.
    pub month: String,
    pub counts: Counts,
}

/// Outcome counts of appointments in agendas the scope sees, whose local date is in `from..=to`.
pub async fn absenteeism(
    db: &Db,
    scope: &Scope,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<AbsenteeismRow>> {
    let (cond, binds) = scope.visible_filter("a.organisation_id", 3);
    let sql = format!(
        "SELECT a.organisation_id, a.agenda_id, a.appointment_type_id, SUBSTR(a.local_date, 1, 7) AS month, \
         CAST(SUM(CASE WHEN a.state = 'fulfilled' THEN 1 ELSE 0 END) AS BIGINT) AS fulfilled, \
         CAST(SUM(CASE WHEN a.state = 'no_show' THEN 1 ELSE 0 END) AS BIGINT) AS no_show, \
         CAST(SUM(CASE WHEN a.state = 'excused' THEN 1 ELSE 0 END) AS BIGINT) AS excused \
         FROM appointments a WHERE a.state IN ('fulfilled', 'no_show', 'excused') \
         AND a.local_date >= $1 AND a.local_date <= $2 AND {cond} \
         GROUP BY a.organisation_id, a.agenda_id, a.appointment_type_id, SUBSTR(a.local_date, 1, 7) \
         ORDER BY month, a.organisation_id, a.agenda_id, a.appointment_type_id"
    );
    let rows = bind_all(
        sqlx::query(&sql)
            .bind(from.to_string())
            .bind(to.to_string()),
        &binds,
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| AbsenteeismRow {
            organisation_id: r.get("organisation_id"),
            agenda_id: r.get("agenda_id"),
            appointment_type_id: r.get("appointment_type_id"),
            month: r.get("month"),
            counts: Counts {
                fulfilled: r.get("fulfilled"),
                no_show: r.get("no_show"),
                excused: r.get("excused"),
            },
        })
        .collect())
}

/// The axis to sum along.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Organisation,
    Agenda,
    AppointmentType,
    Month,
    /// Everything in one group (key "").
    All,
}

/// Sums rows along one axis, keys sorted.
pub fn group(rows: &[AbsenteeismRow], by: GroupBy) -> Vec<(String, Counts)> {
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    for r in rows {
        let key = match by {
            GroupBy::Organisation => r.organisation_id.clone(),
            GroupBy::Agenda => r.agenda_id.clone(),
            GroupBy::AppointmentType => r.appointment_type_id.clone(),
            GroupBy::Month => r.month.clone(),
            GroupBy::All => String::new(),
        };
        out.entry(key).or_default().add(&r.counts);
    }
    out.into_iter().collect()
}

/// How many active PPSMJ an SMS can reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reachability {
    pub active: i64,
    /// A phone number is recorded (mobile or not).
    pub with_phone: i64,
    /// A mobile, not refused, SMS not stopped.
    pub reachable_by_sms: i64,
}

impl Reachability {
    pub fn share_reachable(&self) -> Option<f64> {
        (self.active > 0).then(|| self.reachable_by_sms as f64 / self.active as f64)
    }
}

/// Among active (not archived) records the scope sees.
pub async fn sms_reachability(db: &Db, scope: &Scope) -> Result<Reachability> {
    let (cond, binds) = ppsmj_visible(scope, 1);
    let sql = format!(
        "SELECT COUNT(*) AS active, \
         CAST(COALESCE(SUM(CASE WHEN p.phone IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS with_phone, \
         CAST(COALESCE(SUM(CASE WHEN p.phone IS NOT NULL AND p.phone_mobile = 1 AND p.no_phone = 0 \
         AND p.refused_phone = 0 AND p.sms_opt_out_at IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS reachable \
         FROM ppsmj p WHERE p.archived_at IS NULL AND {cond}"
    );
    let row = bind_all(sqlx::query(&sql), &binds)
        .fetch_one(db.pool())
        .await?;
    Ok(Reachability {
        active: row.get("active"),
        with_phone: row.get("with_phone"),
        reachable_by_sms: row.get("reachable"),
    })
}

/// Past booked appointments whose outcome was never recorded (the size of the work queue).
pub async fn unrecorded_outcomes(db: &Db, scope: &Scope, now: i64) -> Result<i64> {
    let (cond, binds) = scope.visible_filter("a.organisation_id", 2);
    let sql = format!(
        "SELECT COUNT(*) FROM appointments a WHERE a.state = 'booked' AND a.starts_at <= $1 AND {cond}"
    );
    Ok(bind_all(sqlx::query(&sql).bind(now), &binds)
        .fetch_one(db.pool())
        .await?
        .get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(org: &str, month: &str, f: i64, n: i64, e: i64) -> AbsenteeismRow {
        AbsenteeismRow {
            organisation_id: org.into(),
            agenda_id: "ag".into(),
            appointment_type_id: "t".into(),
            month: month.into(),
            counts: Counts {
                fulfilled: f,
                no_show: n,
                excused: e,
            },
        }
    }

    #[test]
    fn absenteeism_is_no_show_over_recorded_outcomes_and_undefined_without_any() {
        let rows = [row("a", "2027-01", 6, 3, 1), row("b", "2027-01", 1, 1, 0)];
        let all = group(&rows, GroupBy::All);
        assert_eq!(all[0].1.recorded(), 12);
        assert_eq!(all[0].1.absenteeism(), Some(4.0 / 12.0));
        let by_org = group(&rows, GroupBy::Organisation);
        assert_eq!(by_org[1].1.absenteeism(), Some(0.5));
        assert_eq!(Counts::default().absenteeism(), None);
    }
}
