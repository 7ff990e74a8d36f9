//! Booking rules kept per organisation (opening hours, checked for free-time appointments) and one-time form
//! submission tokens (a second submission of the same form shows the first result instead of acting twice).

use domain::OpeningHours;
use sqlx::Row;

use super::{MsjError, MsjResult};
use crate::roles::RoleGroup;
use crate::{audit, Db, Result, Scope, Tx};

/// The organisation's opening hours, the default (08:00–19:00, Monday to Saturday) when never set.
pub async fn opening_hours(db: &Db, organisation_id: &str) -> Result<OpeningHours> {
    let row =
        sqlx::query("SELECT opens, closes, days FROM opening_hours WHERE organisation_id = $1")
            .bind(organisation_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row
        .and_then(|r| {
            OpeningHours::from_stored(
                &r.get::<String, _>("opens"),
                &r.get::<String, _>("closes"),
                &r.get::<String, _>("days"),
            )
        })
        .unwrap_or_default())
}

/// Sets the opening hours of an organisation: its local admin (or the national admin) only.
pub async fn set_opening_hours(
    db: &Db,
    scope: &Scope,
    organisation_id: &str,
    hours: &OpeningHours,
    now: i64,
) -> MsjResult<()> {
    let admin = matches!(
        scope.actor.role.map(|r| r.group()),
        Some(RoleGroup::LocalAdmin) | Some(RoleGroup::National) | None
    );
    if !admin || !scope.can_manage(organisation_id) {
        return Err(MsjError::Forbidden(
            "Seul l'administrateur local de l'organisation peut modifier ses horaires d'ouverture."
                .into(),
        ));
    }
    let mut tx = db.begin().await?;
    let opens = hours.opens.format("%H:%M").to_string();
    let closes = hours.closes.format("%H:%M").to_string();
    sqlx::query(
        "INSERT INTO opening_hours (organisation_id, opens, closes, days, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (organisation_id) DO UPDATE SET opens = $2, closes = $3, days = $4, updated_at = $5",
    )
    .bind(organisation_id)
    .bind(&opens)
    .bind(&closes)
    .bind(hours.days_code())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "organisation.opening_hours",
        "organisation",
        Some(organisation_id),
        Some(serde_json::json!({ "opens": opens, "closes": closes, "days": hours.days_code() })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What to do with a submitted one-time token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submission {
    /// First use: go on, then call [`finish_submission_tx`] in the same transaction.
    First,
    /// Already used by this user: show this page (the first result) instead of acting again.
    Done(String),
}

/// Claims `token` for `user_id` in the caller's transaction. A second claim of the same token waits for the first
/// transaction (PostgreSQL row lock; SQLite's single connection) and then sees it as done. A token used by another
/// user, or whose first use is still in progress, leads back to `fallback`.
pub async fn claim_submission_tx(
    tx: &mut Tx<'_>,
    token: &str,
    user_id: &str,
    fallback: &str,
    now: i64,
) -> Result<Submission> {
    let inserted = sqlx::query(
        "INSERT INTO form_submissions (token, user_id, location, created_at) VALUES ($1, $2, '', $3) \
         ON CONFLICT (token) DO NOTHING",
    )
    .bind(token)
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Submission::First);
    }
    let row = sqlx::query("SELECT user_id, location FROM form_submissions WHERE token = $1")
        .bind(token)
        .fetch_optional(&mut **tx)
        .await?;
    let location = row
        .filter(|r| r.get::<String, _>("user_id") == user_id)
        .map(|r| r.get::<String, _>("location"))
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| fallback.to_string());
    Ok(Submission::Done(location))
}

/// Records where the first submission of `token` led.
pub async fn finish_submission_tx(tx: &mut Tx<'_>, token: &str, location: &str) -> Result<()> {
    sqlx::query("UPDATE form_submissions SET location = $2 WHERE token = $1")
        .bind(token)
        .bind(location)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Forgets tokens older than a day (a form is not resubmitted after that).
pub async fn purge_submissions(db: &Db, now: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM form_submissions WHERE created_at < $1")
            .bind(now - 86_400)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}
