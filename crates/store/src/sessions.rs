//! Server-side sessions: the cookie carries a random token, the database keeps only its SHA-256.

use sqlx::Row;

use crate::{Db, Result};

/// Where a session stands in the login sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Password checked, second factor still to give.
    Totp,
    /// Password checked, the account must enrol a second factor before going on (admins under `serve`).
    TotpSetup,
    /// Fully logged in.
    Full,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Totp => "totp",
            Stage::TotpSetup => "totp_setup",
            Stage::Full => "full",
        }
    }
    fn parse(s: &str) -> Stage {
        match s {
            "full" => Stage::Full,
            "totp_setup" => Stage::TotpSetup,
            _ => Stage::Totp,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Session {
    pub id_hash: String,
    pub user_id: String,
    pub stage: Stage,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// A second-factor secret shown for enrolment and not confirmed yet (encrypted by the web layer).
    pub pending_totp_secret: Option<String>,
}

/// Opens a session; returns the raw token for the cookie and the session. Any earlier token of the browser is
/// dropped by the caller (rotation at login).
pub async fn create(
    db: &Db,
    user_id: &str,
    stage: Stage,
    ip: Option<&str>,
    user_agent: Option<&str>,
    now: i64,
) -> Result<(String, Session)> {
    let token = crate::random_token();
    let session = Session {
        id_hash: crate::sha256_hex(&token),
        user_id: user_id.to_string(),
        stage,
        csrf_token: crate::random_token(),
        created_at: now,
        last_seen_at: now,
        pending_totp_secret: None,
    };
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, stage, csrf_token, created_at, last_seen_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
    )
    .bind(&session.id_hash)
    .bind(user_id)
    .bind(stage.as_str())
    .bind(&session.csrf_token)
    .bind(now)
    .bind(ip)
    .bind(user_agent.map(|s| s.chars().take(300).collect::<String>()))
    .execute(db.pool())
    .await?;
    Ok((token, session))
}

/// Default absolute lifetime of a session (`PASSERELLE_SESSION_MAX_HOURS`, 12 h).
pub const DEFAULT_MAX_SECS: i64 = 12 * 3600;

/// The live session behind a cookie token, with the default absolute lifetime (see [`find_bounded`]).
pub async fn find(db: &Db, token: &str, now: i64, idle_secs: i64) -> Result<Option<Session>> {
    find_bounded(db, token, now, idle_secs, DEFAULT_MAX_SECS).await
}

/// The live session behind a cookie token. A session idle for more than `idle_secs`, or opened more than
/// `max_secs` ago however active, is deleted and not returned. Activity is written at most once a minute to
/// spare the database.
pub async fn find_bounded(
    db: &Db,
    token: &str,
    now: i64,
    idle_secs: i64,
    max_secs: i64,
) -> Result<Option<Session>> {
    let hash = crate::sha256_hex(token);
    let row = sqlx::query(
        "SELECT id_hash, user_id, stage, csrf_token, created_at, last_seen_at, pending_totp_secret FROM sessions \
         WHERE id_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let session = Session {
        id_hash: r.get("id_hash"),
        user_id: r.get("user_id"),
        stage: Stage::parse(&r.get::<String, _>("stage")),
        csrf_token: r.get("csrf_token"),
        created_at: r.get("created_at"),
        last_seen_at: r.get("last_seen_at"),
        pending_totp_secret: r.get("pending_totp_secret"),
    };
    if session.last_seen_at + idle_secs < now || session.created_at + max_secs < now {
        delete(db, token).await?;
        return Ok(None);
    }
    if now - session.last_seen_at >= 60 {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(&hash)
            .bind(now)
            .execute(db.pool())
            .await?;
    }
    Ok(Some(session))
}

/// Keeps (or clears) the second-factor secret shown to this session for enrolment, so that the secret confirmed
/// is the one the server generated, never one sent by the browser.
pub async fn set_pending_totp_secret(db: &Db, token: &str, sealed: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE sessions SET pending_totp_secret = $2 WHERE id_hash = $1")
        .bind(crate::sha256_hex(token))
        .bind(sealed)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn delete(db: &Db, token: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(crate::sha256_hex(token))
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn delete_for_user(db: &Db, user_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Removes sessions idle for longer than `idle_secs` (housekeeping job).
pub async fn purge_idle(db: &Db, now: i64, idle_secs: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
        .bind(now - idle_secs)
        .execute(db.pool())
        .await?
        .rows_affected())
}

/// Single-use tokens sent by e-mail (password reset, invitation). Returns the raw token for the link.
pub async fn create_user_token(
    db: &Db,
    user_id: &str,
    purpose: &str,
    valid_secs: i64,
    now: i64,
) -> Result<String> {
    let token = crate::random_token();
    sqlx::query(
        "INSERT INTO user_tokens (token_hash, user_id, purpose, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(crate::sha256_hex(&token))
    .bind(user_id)
    .bind(purpose)
    .bind(now + valid_secs)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(token)
}

/// The user id of a valid, unused token of that purpose, without consuming it.
pub async fn peek_user_token(
    db: &Db,
    token: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT user_id FROM user_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL \
         AND expires_at > $3",
    )
    .bind(crate::sha256_hex(token))
    .bind(purpose)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Consumes a token: returns its user id once, never twice.
pub async fn consume_user_token(
    db: &Db,
    token: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<String>> {
    let hash = crate::sha256_hex(token);
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE user_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL \
         AND expires_at > $3",
    )
    .bind(&hash)
    .bind(purpose)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    let user_id: String = sqlx::query("SELECT user_id FROM user_tokens WHERE token_hash = $1")
        .bind(&hash)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    // One link used voids every other outstanding link of the account (reset and invitation alike).
    void_user_tokens(&mut *tx, &user_id, now).await?;
    tx.commit().await?;
    Ok(Some(user_id))
}

/// Marks every unused reset or invitation link of a user as used (after a used link or a password change).
pub async fn void_user_tokens<'e, E>(exec: E, user_id: &str, now: i64) -> Result<u64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(
        sqlx::query("UPDATE user_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .bind(now)
            .execute(exec)
            .await?
            .rows_affected(),
    )
}
