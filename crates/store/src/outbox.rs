//! The durable outbox: a message is a row written in the same transaction as the change that causes it; workers
//! claim due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single connection on SQLite), send, and record the
//! outcome. A claimed row whose lease ran out (the process died) is claimed again: a message in flight at a crash
//! may be sent once more, and only then.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Backend, Db, Result, Scope};

/// Attempts after which a message is failed for good.
pub const MAX_ATTEMPTS: i64 = 5;

#[derive(Clone, Debug)]
pub struct NewMessage {
    pub channel: String,
    pub kind: String,
    pub organisation_id: Option<String>,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub due_at: i64,
    pub related_type: Option<String>,
    pub related_id: Option<String>,
}

#[derive(Clone)]
pub struct Message {
    pub id: String,
    pub channel: String,
    pub kind: String,
    pub organisation_id: Option<String>,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub due_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
    pub related_type: Option<String>,
    pub related_id: Option<String>,
    pub created_at: i64,
}

impl std::fmt::Debug for Message {
    // The recipient and the body are personal data: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str =
    "id, channel, kind, organisation_id, recipient, subject, body, state, attempts, due_at, \
    sent_at, last_error, related_type, related_id, created_at";

fn from_row(r: &AnyRow) -> Message {
    Message {
        id: r.get("id"),
        channel: r.get("channel"),
        kind: r.get("kind"),
        organisation_id: r.get("organisation_id"),
        recipient: r.get("recipient"),
        subject: r.get("subject"),
        body: r.get("body"),
        state: r.get("state"),
        attempts: r.get("attempts"),
        due_at: r.get("due_at"),
        sent_at: r.get("sent_at"),
        last_error: r.get("last_error"),
        related_type: r.get("related_type"),
        related_id: r.get("related_id"),
        created_at: r.get("created_at"),
    }
}

/// Writes a message to send at `due_at`, in the caller's transaction.
pub async fn enqueue<'c, E>(exec: E, m: &NewMessage) -> Result<String>
where
    E: Executor<'c, Database = Any>,
{
    let id = crate::new_id();
    let now = crate::now();
    sqlx::query(
        "INSERT INTO outbox (id, channel, kind, organisation_id, recipient, subject, body, state, attempts, \
         due_at, related_type, related_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'programmed', 0, $8, $9, $10, $11, $11)",
    )
    .bind(&id)
    .bind(&m.channel)
    .bind(&m.kind)
    .bind(m.organisation_id.as_deref())
    .bind(&m.recipient)
    .bind(m.subject.as_deref())
    .bind(&m.body)
    .bind(m.due_at)
    .bind(m.related_type.as_deref())
    .bind(m.related_id.as_deref())
    .bind(now)
    .execute(exec)
    .await?;
    Ok(id)
}

/// Claims up to `limit` due messages for `lease_secs`; each claim counts as an attempt.
pub async fn claim_due(db: &Db, now: i64, limit: i64, lease_secs: i64) -> Result<Vec<Message>> {
    let lock = match db.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE outbox SET state = 'sending', claimed_until = $2, attempts = attempts + 1, updated_at = $1 \
         WHERE id IN (SELECT id FROM outbox WHERE (state = 'programmed' AND due_at <= $1) \
         OR (state = 'sending' AND claimed_until < $1) ORDER BY due_at LIMIT $3 {lock}) RETURNING {COLUMNS}"
    );
    let rows = sqlx::query(&sql)
        .bind(now)
        .bind(now + lease_secs)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

pub async fn mark_sent(
    db: &Db,
    id: &str,
    provider_message_id: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET state = 'sent', sent_at = $2, provider_message_id = $3, claimed_until = NULL, \
         last_error = NULL, updated_at = $2 WHERE id = $1 AND state = 'sending'",
    )
    .bind(id)
    .bind(now)
    .bind(provider_message_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed attempt: retried with exponential back-off (30 s, 1 min, 2 min, 4 min), failed for good after
/// the fifth attempt. Returns the new state.
pub async fn mark_attempt_failed(db: &Db, id: &str, error: &str, now: i64) -> Result<String> {
    let attempts: i64 = sqlx::query("SELECT attempts FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?
        .get(0);
    let (state, due) = if attempts >= MAX_ATTEMPTS {
        ("failed", now)
    } else {
        (
            "programmed",
            now + 30 * (1i64 << (attempts - 1).clamp(0, 10)),
        )
    };
    sqlx::query(
        "UPDATE outbox SET state = $2, due_at = $3, last_error = $4, claimed_until = NULL, updated_at = $5 \
         WHERE id = $1 AND state = 'sending'",
    )
    .bind(id)
    .bind(state)
    .bind(due)
    .bind(error.chars().take(500).collect::<String>())
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(state.to_string())
}

/// Latest messages of the organisations the scope sees (demo outbox viewer, agents' views).
pub async fn list_recent(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<Message>> {
    let (cond, binds) = scope.visible_filter("organisation_id", 1);
    let cond = if scope.is_national() {
        cond
    } else {
        format!("({cond})")
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox WHERE {cond} ORDER BY created_at DESC, id DESC LIMIT {}",
        limit.clamp(1, 500)
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    Ok(q.fetch_all(db.pool()).await?.iter().map(from_row).collect())
}

/// Messages sent to one recipient, newest first (used by the demo outbox and by tests).
pub async fn list_for_recipient(db: &Db, recipient: &str) -> Result<Vec<Message>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE recipient = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(recipient)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Cancels the messages of one kind still waiting to be sent about an object (e.g. the reminder of an appointment
/// that was canceled or moved), in the caller's transaction. Returns how many were canceled.
pub async fn cancel_pending<'c, E>(
    exec: E,
    related_type: &str,
    related_id: &str,
    kind: &str,
) -> Result<u64>
where
    E: Executor<'c, Database = Any>,
{
    let now = crate::now();
    Ok(sqlx::query(
        "UPDATE outbox SET state = 'canceled', updated_at = $4 WHERE related_type = $1 AND related_id = $2 \
         AND state = 'programmed' AND kind = $3",
    )
    .bind(related_type)
    .bind(related_id)
    .bind(kind)
    .bind(now)
    .execute(exec)
    .await?
    .rows_affected())
}

/// Messages about objects the caller already checked it may see (e.g. the appointments of a PPSMJ whose page it
/// reads), oldest first.
pub async fn list_related(
    db: &Db,
    related_type: &str,
    related_ids: &[String],
) -> Result<Vec<Message>> {
    if related_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox WHERE related_type = $1 AND related_id IN ({}) ORDER BY due_at, id",
        crate::placeholders(2, related_ids.len())
    );
    let mut q = sqlx::query(&sql).bind(related_type);
    for id in related_ids {
        q = q.bind(id.as_str());
    }
    Ok(q.fetch_all(db.pool()).await?.iter().map(from_row).collect())
}
