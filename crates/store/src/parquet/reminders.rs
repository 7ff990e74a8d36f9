//! Deadlines: a referral without any status change for a configurable delay (90 days by default) triggers a
//! reminder to the parquet and a notice to the author, once per delay period while nothing moves.

use domain::ReferralStatus;
use sqlx::Row;

use super::access::ReferralAccess;
use super::notices;
use super::referrals::fetch;
use crate::outbox::{self, NewMessage};
use crate::{audit, Actor, Db, Result};

pub const DEFAULT_DELAY_DAYS: i64 = 90;

const OPEN: &str = "('sent', 'registered', 'assigned', 'under_investigation')";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleReferral {
    pub id: String,
    pub tracking_number: Option<String>,
    pub status: ReferralStatus,
    pub parquet_id: Option<String>,
    pub last_status_change_at: i64,
    pub last_reminder_at: Option<i64>,
    /// Whole days since the last status change.
    pub days: i64,
}

/// Open referrals (sent, not decided) whose status has not changed for `delay_days` at `now`, oldest first.
/// System-wide: for the reminder job and the national admin's dashboard.
pub async fn stale_referrals(db: &Db, now: i64, delay_days: i64) -> Result<Vec<StaleReferral>> {
    let rows = sqlx::query(&format!(
        "SELECT id, tracking_number, status, parquet_id, last_status_change_at, last_reminder_at FROM referrals \
         WHERE status IN {OPEN} AND last_status_change_at <= $1 ORDER BY last_status_change_at, id"
    ))
    .bind(now - delay_days * 86_400)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let last: i64 = r.get("last_status_change_at");
            Some(StaleReferral {
                id: r.get("id"),
                tracking_number: r.get("tracking_number"),
                status: r.get::<String, _>("status").parse().ok()?,
                parquet_id: r.get("parquet_id"),
                last_status_change_at: last,
                last_reminder_at: r.get("last_reminder_at"),
                days: (now - last) / 86_400,
            })
        })
        .collect())
}

/// Sends the reminders due at `now`: to the parquet's address and to the author, at most once per `delay_days`
/// for a referral that does not move (a status change resets the clock). Each referral is claimed by a
/// conditional update in its own transaction, so two concurrent runs never remind twice. Returns how many
/// referrals were reminded.
pub async fn run_deadline_reminders(db: &Db, now: i64, delay_days: i64) -> Result<usize> {
    let threshold = now - delay_days * 86_400;
    let due: Vec<String> = sqlx::query(&format!(
        "SELECT id FROM referrals WHERE status IN {OPEN} AND COALESCE(last_reminder_at, last_status_change_at) <= $1 \
         ORDER BY last_status_change_at, id"
    ))
    .bind(threshold)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    let actor = Actor::system("relances Info Parquet");
    let mut count = 0;
    for id in due {
        let mut tx = db.begin().await?;
        let claimed = sqlx::query(&format!(
            "UPDATE referrals SET last_reminder_at = $2 WHERE id = $1 AND status IN {OPEN} \
             AND COALESCE(last_reminder_at, last_status_change_at) <= $3"
        ))
        .bind(&id)
        .bind(now)
        .bind(threshold)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            continue;
        }
        let r = fetch(&mut tx, &ReferralAccess::All, &id, false).await?;
        let tn = r.tracking_number.clone().unwrap_or_default();
        let days = (now - r.last_status_change_at) / 86_400;
        let parquet_email: Option<String> =
            sqlx::query("SELECT email FROM organisations WHERE id = $1")
                .bind(r.parquet_id.as_deref())
                .fetch_optional(&mut *tx)
                .await?
                .and_then(|row| row.get(0));
        let mut sent = serde_json::Map::new();
        if let Some(to) = parquet_email.filter(|e| !e.trim().is_empty()) {
            let (subject, body) = notices::reminder_parquet(&tn, r.status, days);
            outbox::enqueue(
                &mut *tx,
                &NewMessage {
                    channel: "email".into(),
                    kind: "referral_reminder".into(),
                    organisation_id: r.parquet_id.clone(),
                    recipient: to,
                    subject: Some(subject),
                    body,
                    due_at: now,
                    related_type: Some("referral".into()),
                    related_id: Some(id.clone()),
                },
            )
            .await?;
            sent.insert("parquet".into(), true.into());
        }
        if let Some(to) = super::user_email(&mut tx, r.author_user_id.as_deref()).await? {
            let (subject, body) =
                notices::reminder_author(&tn, r.internal_reference.as_deref(), r.status, days);
            outbox::enqueue(
                &mut *tx,
                &NewMessage {
                    channel: "email".into(),
                    kind: "referral_reminder_author".into(),
                    organisation_id: Some(
                        r.service_id.clone().unwrap_or(r.administration_id.clone()),
                    ),
                    recipient: to,
                    subject: Some(subject),
                    body,
                    due_at: now,
                    related_type: Some("referral".into()),
                    related_id: Some(id.clone()),
                },
            )
            .await?;
            sent.insert("author".into(), true.into());
        }
        audit::record(
            &mut *tx,
            &actor,
            "referral.reminder",
            "referral",
            Some(&id),
            Some(serde_json::json!({ "days": days, "sent": sent })),
        )
        .await?;
        tx.commit().await?;
        count += 1;
    }
    Ok(count)
}
