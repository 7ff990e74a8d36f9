//! Statistics: absenteeism (no-show ÷ appointments whose outcome was recorded) per organisation, agenda,
//! appointment type and month; share of active PPSMJ reachable by SMS; outcomes never recorded.
//!
//! The query returns the finest grain (organisation × agenda × type × month); [`group`] sums it along one axis,
//! so the page, the charts and the CSV export all come from one read.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use sqlx::Row;

use super::{bind_all, ppsmj_visible, FieldErrors, MsjError, MsjResult};
use crate::roles::Role;
use crate::{audit, Db, Result, Scope, StoreError};

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

// ----- Impact of SMS reminders -------------------------------------------------------------------------------

/// Where an appointment falls relative to the date its organisation started sending SMS reminders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Before,
    After,
    /// The organisation has no start date and never sent a reminder SMS.
    Unknown,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::After => "after",
            Phase::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Phase {
        match s {
            "before" => Phase::Before,
            "after" => Phase::After,
            _ => Phase::Unknown,
        }
    }
}

/// Past, non-canceled appointments of one cell: recorded outcomes and those never entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImpactRow {
    pub organisation_id: String,
    pub appointment_type_id: String,
    /// 'YYYY-MM' of the appointment's local date.
    pub month: String,
    /// The person's record allows SMS now (mobile, not refused, no "no phone", no STOP): "avec rappels SMS".
    pub with_sms: bool,
    pub phase: Phase,
    pub counts: Counts,
    /// Past appointments still 'booked': outcome never entered ("issue non renseignée"), outside the rate.
    pub unrecorded: i64,
}

/// The SQL test of "this person can get SMS", on `ppsmj p`.
const WITH_SMS: &str =
    "p.phone IS NOT NULL AND p.phone_mobile = 1 AND p.no_phone = 0 AND p.refused_phone = 0 \
     AND p.sms_opt_out_at IS NULL";

/// Per organisation, the local date of its first appointment whose reminder SMS was actually sent.
const FIRST_REMINDER_CTE: &str =
    "first_reminder AS (SELECT fa.organisation_id, MIN(fa.local_date) AS first_date \
     FROM outbox m JOIN appointments fa ON fa.id = m.related_id \
     WHERE m.related_type = 'appointment' AND m.kind = 'reminder' AND m.channel = 'sms' \
     AND m.state IN ('sent', 'received') GROUP BY fa.organisation_id)";

/// The impact measure at its finest grain (organisation × type × month × with/without SMS × before/after): past
/// (`starts_at < now`), non-canceled appointments of agendas the scope sees, local date in `from..=to`.
pub async fn impact(
    db: &Db,
    scope: &Scope,
    from: NaiveDate,
    to: NaiveDate,
    now: i64,
) -> Result<Vec<ImpactRow>> {
    let (cond, binds) = scope.visible_filter("a.organisation_id", 4);
    let sql = format!(
        "WITH {FIRST_REMINDER_CTE} \
         SELECT t.organisation_id, t.appointment_type_id, t.month, t.with_sms, t.phase, \
         CAST(SUM(CASE WHEN t.state = 'fulfilled' THEN 1 ELSE 0 END) AS BIGINT) AS fulfilled, \
         CAST(SUM(CASE WHEN t.state = 'no_show' THEN 1 ELSE 0 END) AS BIGINT) AS no_show, \
         CAST(SUM(CASE WHEN t.state = 'excused' THEN 1 ELSE 0 END) AS BIGINT) AS excused, \
         CAST(SUM(CASE WHEN t.state = 'booked' THEN 1 ELSE 0 END) AS BIGINT) AS unrecorded \
         FROM (SELECT a.organisation_id, a.appointment_type_id, SUBSTR(a.local_date, 1, 7) AS month, a.state, \
         CAST(CASE WHEN {WITH_SMS} THEN 1 ELSE 0 END AS BIGINT) AS with_sms, \
         CASE WHEN COALESCE(o.reminders_started_on, f.first_date) IS NULL THEN 'unknown' \
         WHEN a.local_date < COALESCE(o.reminders_started_on, f.first_date) THEN 'before' ELSE 'after' END AS phase \
         FROM appointments a JOIN ppsmj p ON p.id = a.ppsmj_id \
         JOIN organisations o ON o.id = a.organisation_id \
         LEFT JOIN first_reminder f ON f.organisation_id = a.organisation_id \
         WHERE a.state IN ('booked', 'fulfilled', 'no_show', 'excused') AND a.starts_at < $3 \
         AND a.local_date >= $1 AND a.local_date <= $2 AND {cond}) t \
         GROUP BY t.organisation_id, t.appointment_type_id, t.month, t.with_sms, t.phase \
         ORDER BY t.month, t.organisation_id, t.appointment_type_id, t.with_sms DESC, t.phase"
    );
    let rows = bind_all(
        sqlx::query(&sql)
            .bind(from.to_string())
            .bind(to.to_string())
            .bind(now),
        &binds,
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| ImpactRow {
            organisation_id: r.get("organisation_id"),
            appointment_type_id: r.get("appointment_type_id"),
            month: r.get("month"),
            with_sms: r.get::<i64, _>("with_sms") == 1,
            phase: Phase::parse(&r.get::<String, _>("phase")),
            counts: Counts {
                fulfilled: r.get("fulfilled"),
                no_show: r.get("no_show"),
                excused: r.get("excused"),
            },
            unrecorded: r.get("unrecorded"),
        })
        .collect())
}

/// Both groups side by side, and the outcomes never entered (of both groups).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    pub with_sms: Counts,
    pub without_sms: Counts,
    pub unrecorded: i64,
}

impl Comparison {
    fn add(&mut self, r: &ImpactRow) {
        if r.with_sms {
            self.with_sms.add(&r.counts);
        } else {
            self.without_sms.add(&r.counts);
        }
        self.unrecorded += r.unrecorded;
    }
}

/// Sums impact rows along one axis (agenda is not part of this measure: grouped as [`GroupBy::All`]), keys sorted.
pub fn compare(rows: &[ImpactRow], by: GroupBy) -> Vec<(String, Comparison)> {
    let mut out: BTreeMap<String, Comparison> = BTreeMap::new();
    for r in rows {
        let key = match by {
            GroupBy::Organisation => r.organisation_id.clone(),
            GroupBy::AppointmentType => r.appointment_type_id.clone(),
            GroupBy::Month => r.month.clone(),
            GroupBy::Agenda | GroupBy::All => String::new(),
        };
        out.entry(key).or_default().add(r);
    }
    out.into_iter().collect()
}

/// Per organisation, then per phase (before, after, unknown).
pub fn compare_by_phase(rows: &[ImpactRow]) -> Vec<(String, Phase, Comparison)> {
    let mut out: BTreeMap<(String, Phase), Comparison> = BTreeMap::new();
    for r in rows {
        out.entry((r.organisation_id.clone(), r.phase))
            .or_default()
            .add(r);
    }
    out.into_iter().map(|((o, p), c)| (o, p, c)).collect()
}

/// When an organisation started sending SMS reminders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemindersStart {
    pub organisation_id: String,
    /// Entered by an administrator.
    pub set_on: Option<NaiveDate>,
    /// Local date of its first appointment whose reminder SMS was sent (the default).
    pub first_sent_on: Option<NaiveDate>,
}

impl RemindersStart {
    /// The date in force: the one entered, else the first sent reminder.
    pub fn date(&self) -> Option<NaiveDate> {
        self.set_on.or(self.first_sent_on)
    }
}

/// Start dates of the organisations the scope sees.
pub async fn reminders_starts(db: &Db, scope: &Scope) -> Result<Vec<RemindersStart>> {
    let (cond, binds) = scope.visible_filter("o.id", 1);
    let sql = format!(
        "WITH {FIRST_REMINDER_CTE} SELECT o.id, o.reminders_started_on, f.first_date \
         FROM organisations o LEFT JOIN first_reminder f ON f.organisation_id = o.id WHERE {cond} ORDER BY o.id"
    );
    let rows = bind_all(sqlx::query(&sql), &binds)
        .fetch_all(db.pool())
        .await?;
    let date = |s: Option<String>| s.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok());
    Ok(rows
        .iter()
        .map(|r| RemindersStart {
            organisation_id: r.get("id"),
            set_on: date(r.get("reminders_started_on")),
            first_sent_on: date(r.get("first_date")),
        })
        .collect())
}

/// Sets (or, with an empty text, clears) the date `organisation_id` started sending SMS reminders. Local admins of
/// the organisation, the national admin and the system scope (demo, CLI) only; a date that is not `YYYY-MM-DD` (2000–2100) is a field error on
/// `debut_rappels`.
pub async fn set_reminders_started_on(
    db: &Db,
    scope: &Scope,
    organisation_id: &str,
    date: &str,
    now: i64,
) -> MsjResult<Option<NaiveDate>> {
    if !scope.can_see(organisation_id) {
        return Err(StoreError::NotFound.into());
    }
    let may = match scope.actor.role {
        Some(Role::LocalAdmin) | Some(Role::Admin) => scope.can_manage(organisation_id),
        Some(_) => false,
        None => scope.is_national(),
    };
    if !may {
        return Err(MsjError::Forbidden(
            "Seuls les administrateurs du service peuvent modifier cette date.".into(),
        ));
    }
    let date = date.trim();
    let parsed = if date.is_empty() {
        None
    } else {
        match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            Ok(d) if (2000..=2100).contains(&d.year()) && d.to_string() == date => Some(d),
            _ => {
                let mut f = FieldErrors::default();
                f.push(
                    "debut_rappels",
                    "Saisissez une date valide, par exemple 01/06/2026, ou laissez le champ vide.",
                );
                return Err(MsjError::Invalid(f));
            }
        }
    };
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE organisations SET reminders_started_on = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(parsed.map(|d| d.to_string()))
    .bind(now)
    .bind(organisation_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound.into());
    }
    audit::record(
        &mut *tx,
        &scope.actor,
        "organisation.reminders_started_on",
        "organisation",
        Some(organisation_id),
        Some(serde_json::json!({ "date": parsed.map(|d| d.to_string()) })),
    )
    .await?;
    tx.commit().await?;
    Ok(parsed)
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

    fn impact_row(month: &str, with_sms: bool, phase: Phase, n: i64, u: i64) -> ImpactRow {
        ImpactRow {
            organisation_id: "o".into(),
            appointment_type_id: "t".into(),
            month: month.into(),
            with_sms,
            phase,
            counts: Counts {
                fulfilled: 3,
                no_show: n,
                excused: 0,
            },
            unrecorded: u,
        }
    }

    #[test]
    fn impact_puts_each_group_side_by_side_and_keeps_unrecorded_outside_the_rate() {
        let rows = [
            impact_row("2027-01", true, Phase::Before, 1, 2),
            impact_row("2027-01", false, Phase::Before, 3, 0),
            impact_row("2027-02", true, Phase::After, 0, 1),
        ];
        let all = compare(&rows, GroupBy::All)[0].1;
        assert_eq!((all.with_sms.recorded(), all.with_sms.no_show), (7, 1));
        assert_eq!(all.without_sms.absenteeism(), Some(0.5));
        assert_eq!(all.unrecorded, 3);
        let phases = compare_by_phase(&rows);
        assert_eq!(phases.len(), 2);
        assert_eq!(phases[1].1, Phase::After);
        assert_eq!(phases[1].2.without_sms.absenteeism(), None);
        assert_eq!(compare(&rows, GroupBy::Month).len(), 2);
    }
}
