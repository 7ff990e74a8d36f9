//! SMS opt-out ("STOP"). Keyed on the E.164 number that receives the SMS, so it works whoever the number belongs
//! to and does not depend on the PPSMJ tables. Each SMS may carry a personal link with a short random token; only
//! its SHA-256 is stored. The dispatcher turns SMS to an opted-out number into `unsent`.

use std::collections::HashSet;

use sqlx::{Any, Executor, Row};

use crate::{Db, Result, StoreError};

/// Unambiguous alphabet (no 0/O, 1/l/I) so a token read aloud or retyped still works.
const ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyz";
/// 12 characters of a 32-letter alphabet = 60 bits: unguessable, and short enough for an SMS.
const TOKEN_LEN: usize = 12;

/// A new personal STOP token for `phone` (E.164), to put in a link such as `{public_url}/stop/{token}`.
pub async fn sms_opt_out_token<'c, E>(exec: E, phone: &str) -> Result<String>
where
    E: Executor<'c, Database = Any>,
{
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    let token: String = (0..TOKEN_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    sqlx::query(
        "INSERT INTO sms_opt_out_tokens (token_hash, phone, created_at) VALUES ($1, $2, $3)",
    )
    .bind(crate::sha256_hex(&token))
    .bind(phone)
    .bind(crate::now())
    .execute(exec)
    .await?;
    Ok(token)
}

/// Whether `token` is a STOP token (the confirmation page shows before acting); `NotFound` otherwise.
pub async fn check_token(db: &Db, token: &str) -> Result<()> {
    sqlx::query("SELECT 1 FROM sms_opt_out_tokens WHERE token_hash = $1")
        .bind(crate::sha256_hex(token.trim()))
        .fetch_optional(db.pool())
        .await?
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

/// Stops SMS to the number of `token` (the person confirmed on the STOP page). Idempotent. `NotFound` for an
/// unknown token.
pub async fn opt_out_by_token(db: &Db, token: &str, now: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    let phone: String = sqlx::query("SELECT phone FROM sms_opt_out_tokens WHERE token_hash = $1")
        .bind(crate::sha256_hex(token.trim()))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .get(0);
    sqlx::query("UPDATE sms_opt_out_tokens SET used_at = $2 WHERE token_hash = $1")
        .bind(crate::sha256_hex(token.trim()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    insert_opt_out(&mut tx, &phone, "stop_link", now).await?;
    tx.commit().await?;
    Ok(())
}

/// Stops SMS to `phone` for another reason (`source`: "agent", "provider_stop_reply"…). Idempotent.
pub async fn opt_out(db: &Db, phone: &str, source: &str, now: i64) -> Result<()> {
    let mut conn = db.pool().acquire().await?;
    insert_opt_out(&mut conn, phone, source, now).await
}

async fn insert_opt_out(
    conn: &mut sqlx::AnyConnection,
    phone: &str,
    source: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sms_opt_outs (phone, opted_out_at, source) VALUES ($1, $2, $3) \
         ON CONFLICT (phone) DO NOTHING",
    )
    .bind(phone)
    .bind(now)
    .bind(source)
    .execute(&mut *conn)
    .await?;
    // The people followed with that number show it to their agents (PPSMJ page, booking warning).
    sqlx::query("UPDATE ppsmj SET sms_opt_out_at = $2 WHERE phone = $1 AND sms_opt_out_at IS NULL")
        .bind(phone)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// SMS again to `phone` (the person asked their counsellor).
pub async fn opt_in(db: &Db, phone: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM sms_opt_outs WHERE phone = $1")
        .bind(phone)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE ppsmj SET sms_opt_out_at = NULL WHERE phone = $1")
        .bind(phone)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// When `phone` opted out, if it did (shown to agents on the PPSMJ page and at booking).
pub async fn opted_out_at(db: &Db, phone: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query("SELECT opted_out_at FROM sms_opt_outs WHERE phone = $1")
            .bind(phone)
            .fetch_optional(db.pool())
            .await?
            .map(|r| r.get(0)),
    )
}

/// Which of `phones` opted out (one query per dispatcher batch).
pub async fn opted_out_among(db: &Db, phones: &[&str]) -> Result<HashSet<String>> {
    if phones.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT phone FROM sms_opt_outs WHERE phone IN ({})",
        crate::placeholders(1, phones.len())
    );
    let mut q = sqlx::query(&sql);
    for p in phones {
        q = q.bind(*p);
    }
    Ok(q.fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
