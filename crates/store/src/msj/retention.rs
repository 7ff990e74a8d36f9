//! Retention (docs/DOMAIN.md): a PPSMJ with no activity for 12 months is archived; an archived record is deleted
//! 6 months after its archiving, with its appointments, history, divestment requests and pending messages.
//! The audit trail keeps an event per record and per run; it holds ids only, never the person's data.

use chrono::Months;
use sqlx::Row;

use super::history;
use crate::{audit, Actor, Db, Result, Tx};

pub const ARCHIVE_AFTER_MONTHS: u32 = 12;
pub const DELETE_AFTER_MONTHS: u32 = 6;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub archived: u64,
    pub deleted: u64,
}

fn months_before(now: i64, months: u32) -> i64 {
    super::utc(now)
        .checked_sub_months(Months::new(months))
        .map(|d| d.timestamp())
        .unwrap_or(i64::MIN)
}

/// The nightly job, in one transaction: either the whole run lands (with its audit event) or nothing does.
pub async fn run_retention(db: &Db, now: i64) -> Result<RetentionReport> {
    let actor = Actor::system("conservation des données");
    let mut tx = db.begin().await?;
    let archive_cutoff = months_before(now, ARCHIVE_AFTER_MONTHS);
    // An appointment in the last 12 months (or still to come) is activity, whatever last_activity_at says.
    let to_archive: Vec<String> = sqlx::query(
        "SELECT p.id FROM ppsmj p WHERE p.archived_at IS NULL AND p.last_activity_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.ppsmj_id = p.id AND a.starts_at > $1) \
         ORDER BY p.id",
    )
    .bind(archive_cutoff)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    for id in &to_archive {
        sqlx::query("UPDATE ppsmj SET archived_at = $2, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let details = serde_json::json!({ "reason": "inactive_12_months" });
        history(
            &mut *tx,
            &actor,
            id,
            None,
            "ppsmj.archive",
            Some(details.clone()),
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            &actor,
            "ppsmj.archive",
            "ppsmj",
            Some(id),
            Some(details),
        )
        .await?;
    }

    let delete_cutoff = months_before(now, DELETE_AFTER_MONTHS);
    let to_delete: Vec<String> = sqlx::query(
        "SELECT id FROM ppsmj WHERE archived_at IS NOT NULL AND archived_at <= $1 ORDER BY id",
    )
    .bind(delete_cutoff)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    for id in &to_delete {
        delete_record(&mut tx, id).await?;
        audit::record(
            &mut *tx,
            &actor,
            "ppsmj.delete",
            "ppsmj",
            Some(id),
            Some(serde_json::json!({ "reason": "archived_6_months" })),
        )
        .await?;
    }
    let report = RetentionReport {
        archived: to_archive.len() as u64,
        deleted: to_delete.len() as u64,
    };
    audit::record(
        &mut *tx,
        &actor,
        "retention.run",
        "ppsmj",
        None,
        Some(serde_json::json!({ "archived": report.archived, "deleted": report.deleted })),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

async fn delete_record(tx: &mut Tx<'_>, id: &str) -> Result<()> {
    // Messages hold the phone number and the text: they go with the record, and their delivery receipts (which
    // reference them) first.
    const THE_PERSONS_MESSAGES: &str = "(related_type = 'appointment' AND related_id IN \
         (SELECT id FROM appointments WHERE ppsmj_id = $1)) OR (related_type = 'ppsmj' AND related_id = $1)";
    sqlx::query(&format!(
        "DELETE FROM delivery_receipts WHERE outbox_id IN (SELECT id FROM outbox WHERE {THE_PERSONS_MESSAGES})"
    ))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!("DELETE FROM outbox WHERE {THE_PERSONS_MESSAGES}"))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for sql in [
        "DELETE FROM ppsmj_history WHERE ppsmj_id = $1",
        "DELETE FROM divestments WHERE ppsmj_id = $1",
        "DELETE FROM measure_obligations WHERE measure_id IN (SELECT id FROM measures WHERE ppsmj_id = $1)",
        "DELETE FROM measures WHERE ppsmj_id = $1",
        // The person's space (migration 0007): codes and their messages, sessions, requests, proofs' metadata.
        "DELETE FROM outbox WHERE related_type = 'person_code' AND related_id IN \
         (SELECT id FROM person_codes WHERE ppsmj_id = $1)",
        "DELETE FROM outbox WHERE related_type = 'appointment_request' AND related_id IN \
         (SELECT id FROM appointment_requests WHERE ppsmj_id = $1)",
        "DELETE FROM person_codes WHERE ppsmj_id = $1",
        "DELETE FROM person_sessions WHERE ppsmj_id = $1",
        "DELETE FROM push_subscriptions WHERE ppsmj_id = $1",
        "DELETE FROM person_links WHERE ppsmj_id = $1",
        "DELETE FROM appointment_requests WHERE ppsmj_id = $1",
        "DELETE FROM appointment_documents WHERE ppsmj_id = $1",
        // Rebooking links point inside the same record: cut them before deleting.
        "UPDATE appointments SET previous_appointment_id = NULL WHERE ppsmj_id = $1",
        "DELETE FROM appointments WHERE ppsmj_id = $1",
        "DELETE FROM ppsmj_organisations WHERE ppsmj_id = $1",
        "DELETE FROM ppsmj WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}
