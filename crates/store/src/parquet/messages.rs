//! Messages on a sent referral between the administration and the parquet, including the parquet's requests for
//! complements (answered by a message, with attachments, from the administration).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::access::ReferralAccess;
use super::referrals::{ensure_visible, fetch, MAX_DESCRIPTION};
use super::{notices, FieldErrorKind as K, PResult, ParquetError, Side};
use crate::outbox::{self, NewMessage};
use crate::{audit, Db, Result, Scope, StoreError};

#[derive(Clone)]
pub struct ReferralMessage {
    pub id: String,
    pub referral_id: String,
    pub author_user_id: Option<String>,
    pub author_label: String,
    pub side: Side,
    pub body: String,
    pub is_complement_request: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for ReferralMessage {
    // The body may name persons: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferralMessage")
            .field("id", &self.id)
            .field("side", &self.side)
            .field("is_complement_request", &self.is_complement_request)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "m.id, m.referral_id, m.author_user_id, m.author_label, m.side, m.body, \
    m.is_complement_request, m.created_at";

fn from_row(r: &AnyRow) -> ReferralMessage {
    ReferralMessage {
        id: r.get("id"),
        referral_id: r.get("referral_id"),
        author_user_id: r.get("author_user_id"),
        author_label: r.get("author_label"),
        side: Side::parse(&r.get::<String, _>("side")),
        body: r.get("body"),
        is_complement_request: crate::flag(r, "is_complement_request"),
        created_at: r.get("created_at"),
    }
}

/// Posts a message on a sent referral from the actor's side; only the parquet requests complements. The other
/// side is told by e-mail (the author, or the parquet's address), without the body.
pub async fn post(
    db: &Db,
    scope: &Scope,
    referral_id: &str,
    body: &str,
    complement_request: bool,
) -> PResult<ReferralMessage> {
    let now = crate::now();
    let mut tx = db.begin().await?;
    let access = ReferralAccess::of(&mut tx, scope).await?;
    let r = fetch(&mut tx, &access, referral_id, true).await?;
    let Some(side) = access.side() else {
        return Err(ParquetError::forbidden(
            "Seuls l'administration et le parquet destinataire échangent des messages sur un signalement.",
        ));
    };
    if r.status == domain::ReferralStatus::Draft {
        return Err(ParquetError::forbidden(
            "Les messages s'échangent une fois le signalement transmis.",
        ));
    }
    let body = body.trim();
    if body.is_empty() {
        return Err(ParquetError::invalid(
            "body",
            K::Missing,
            "Le message est vide.",
        ));
    }
    if body.chars().count() > MAX_DESCRIPTION {
        return Err(ParquetError::invalid(
            "body",
            K::TooLong,
            "Le message est trop long : 20 000 caractères au plus.",
        ));
    }
    if complement_request && side != Side::Parquet {
        return Err(ParquetError::invalid(
            "is_complement_request",
            K::Inconsistent,
            "Seul le parquet peut demander un complément.",
        ));
    }
    let id = crate::new_id();
    sqlx::query(
        "INSERT INTO referral_messages (id, referral_id, author_user_id, author_label, side, body, \
         is_complement_request, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(referral_id)
    .bind(scope.actor.user_id.as_deref())
    .bind(&scope.actor.label)
    .bind(side.as_str())
    .bind(body)
    .bind(i64::from(complement_request))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let (recipient, organisation_id) = match side {
        Side::Parquet => (
            super::user_email(&mut tx, r.author_user_id.as_deref()).await?,
            r.service_id.clone().unwrap_or(r.administration_id.clone()),
        ),
        Side::Administration => {
            let parquet = r.parquet_id.clone().unwrap_or_default();
            let email: Option<String> =
                sqlx::query("SELECT email FROM organisations WHERE id = $1")
                    .bind(&parquet)
                    .fetch_optional(&mut *tx)
                    .await?
                    .and_then(|row| row.get(0));
            (email, parquet)
        }
    };
    if let Some(to) = recipient.filter(|e| !e.trim().is_empty()) {
        let (subject, text) = notices::new_message(
            r.tracking_number.as_deref().unwrap_or(""),
            r.status,
            complement_request,
        );
        outbox::enqueue(
            &mut *tx,
            &NewMessage {
                channel: "email".into(),
                kind: "referral_message".into(),
                organisation_id: Some(organisation_id),
                recipient: to,
                subject: Some(subject),
                body: text,
                due_at: now,
                related_type: Some("referral".into()),
                related_id: Some(referral_id.to_string()),
            },
        )
        .await?;
    }
    audit::record(
        &mut *tx,
        &scope.actor,
        if complement_request {
            "referral.request_complement"
        } else {
            "referral.message"
        },
        "referral",
        Some(referral_id),
        Some(serde_json::json!({ "message_id": id, "side": side.as_str() })),
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, scope, &id).await?)
}

/// Messages of a referral the scope sees, oldest first.
pub async fn list(db: &Db, scope: &Scope, referral_id: &str) -> Result<Vec<ReferralMessage>> {
    let mut conn = db.pool().acquire().await?;
    let access = ReferralAccess::of(&mut conn, scope).await?;
    ensure_visible(&mut conn, &access, referral_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM referral_messages m WHERE m.referral_id = $1 ORDER BY m.created_at, m.id"
    ))
    .bind(referral_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// One message, if the scope sees its referral.
pub async fn get(db: &Db, scope: &Scope, message_id: &str) -> Result<ReferralMessage> {
    let mut conn = db.pool().acquire().await?;
    let access = ReferralAccess::of(&mut conn, scope).await?;
    let (cond, binds) = access.filter("r", 2);
    let sql = format!(
        "SELECT {COLUMNS} FROM referral_messages m JOIN referrals r ON r.id = m.referral_id \
         WHERE m.id = $1 AND {cond}"
    );
    let mut q = sqlx::query(&sql).bind(message_id);
    for b in &binds {
        q = q.bind(b);
    }
    let row = q
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(from_row(&row))
}
