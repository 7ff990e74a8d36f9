//! The durable outbox: a message is a row written in the same transaction as the change that causes it; workers
//! claim due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single connection on SQLite), send, and record the
//! outcome. A claimed row whose lease ran out (the process died) is claimed again: a message in flight at a crash
//! may be sent once more, and only then.
//!
//! States: `programmed` (waiting for `due_at`) → `sending` (claimed, leased until `claimed_until`) → `sent` →
//! `received` (delivery receipt), or `failed` (5 attempts, a permanent refusal, or a negative receipt), `canceled`
//! (the appointment changed before the message left) and `unsent` (the recipient opted out).

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Backend, Db, Result, Scope, StoreError};

/// Attempts after which a message is failed for good.
pub const MAX_ATTEMPTS: i64 = 5;

/// Messages that have not left yet and can still be canceled.
const PENDING: &str = "('programmed', 'created')";

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
    pub received_at: Option<i64>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub provider_status: Option<String>,
    pub canceled_at: Option<i64>,
    pub updated_at: i64,
    /// The personal link of an account message, out of `body` (which holds [`LINK_PLACEHOLDER`]). Shown to
    /// nobody but the recipient; cleared once the message has left or failed for good.
    pub secret: Option<String>,
}

/// Stands for the personal link in the stored text of an account message.
pub const LINK_PLACEHOLDER: &str = "[lien personnel, transmis uniquement au destinataire]";

/// Kinds whose text carries a personal link (a password can be set with it).
pub const ACCOUNT_KINDS: [&str; 2] = ["password_reset", "invitation"];

impl Message {
    /// A password reset or an invitation: visible only to the national admin, the recipient's own administrator
    /// and the recipient; never retried by an agent (the user asks again).
    pub fn is_account_message(&self) -> bool {
        ACCOUNT_KINDS.contains(&self.kind.as_str())
    }

    /// The text handed to the channel: the stored one with the link put back.
    pub fn body_for_recipient(&self) -> String {
        match &self.secret {
            Some(link) => self.body.replace(LINK_PLACEHOLDER, link),
            None => self.body.clone(),
        }
    }
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
    sent_at, last_error, related_type, related_id, created_at, received_at, provider, provider_message_id, \
    provider_status, canceled_at, updated_at, secret";

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
        received_at: r.get("received_at"),
        provider: r.get("provider"),
        provider_message_id: r.get("provider_message_id"),
        provider_status: r.get("provider_status"),
        canceled_at: r.get("canceled_at"),
        updated_at: r.get("updated_at"),
        secret: r.get("secret"),
    }
}

/// Writes a message to send at `due_at`, in the caller's transaction.
pub async fn enqueue<'c, E>(exec: E, m: &NewMessage) -> Result<String>
where
    E: Executor<'c, Database = Any>,
{
    enqueue_with_secret(exec, m, None).await
}

/// Writes an account message whose `body` contains [`LINK_PLACEHOLDER`] where `link` goes: the link is stored
/// apart and put in only when the message is sent, so no list or failure page can show it.
pub async fn enqueue_with_secret<'c, E>(
    exec: E,
    m: &NewMessage,
    link: Option<&str>,
) -> Result<String>
where
    E: Executor<'c, Database = Any>,
{
    let id = crate::new_id();
    let now = crate::now();
    sqlx::query(
        "INSERT INTO outbox (id, channel, kind, organisation_id, recipient, subject, body, state, attempts, \
         due_at, related_type, related_id, created_at, updated_at, secret) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'programmed', 0, $8, $9, $10, $11, $11, $12)",
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
    .bind(link)
    .execute(exec)
    .await?;
    Ok(id)
}

/// Claims up to `limit` due messages for `lease_secs`; each claim counts as an attempt.
///
/// Messages whose lease ran out (their worker died mid-send) come first; one that already used its last attempt
/// is failed rather than sent a sixth time.
pub async fn claim_due(db: &Db, now: i64, limit: i64, lease_secs: i64) -> Result<Vec<Message>> {
    let lock = match db.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    sqlx::query(&format!(
        "UPDATE outbox SET state = 'failed', claimed_until = NULL, updated_at = $1, secret = NULL, \
         last_error = 'interrompu pendant l''envoi à chaque tentative' \
         WHERE id IN (SELECT id FROM outbox WHERE state = 'sending' AND claimed_until < $1 AND attempts >= $2 {lock})"
    ))
    .bind(now)
    .bind(MAX_ATTEMPTS)
    .execute(db.pool())
    .await?;
    let mut claimed = Vec::new();
    for pick in [
        "state = 'sending' AND claimed_until < $1 ORDER BY claimed_until",
        "state = 'programmed' AND due_at <= $1 ORDER BY due_at",
    ] {
        let remaining = limit - claimed.len() as i64;
        if remaining <= 0 {
            break;
        }
        let sql = format!(
            "UPDATE outbox SET state = 'sending', claimed_until = $2, attempts = attempts + 1, updated_at = $1 \
             WHERE id IN (SELECT id FROM outbox WHERE {pick} LIMIT $3 {lock}) RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(now + lease_secs)
            .bind(remaining)
            .fetch_all(db.pool())
            .await?;
        claimed.extend(rows.iter().map(from_row));
    }
    Ok(claimed)
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

/// Delay before attempt `attempts + 1`: 30 s, 1 min, 2 min, 4 min.
pub fn backoff_secs(attempts: i64) -> i64 {
    30 * (1i64 << (attempts - 1).clamp(0, 10))
}

/// Records a failed attempt: retried with exponential back-off (30 s, 1 min, 2 min, 4 min), failed for good after
/// the fifth attempt. Returns the new state.
pub async fn mark_attempt_failed(db: &Db, id: &str, error: &str, now: i64) -> Result<String> {
    let attempts: i64 = sqlx::query("SELECT attempts FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?
        .get(0);
    let outcome = Outcome::Failed {
        id: id.to_string(),
        attempts,
        error: error.to_string(),
        permanent: false,
    };
    let mut conn = db.pool().acquire().await?;
    record_one(&mut conn, &outcome, now).await?;
    Ok(outcome.failed_state().to_string())
}

/// What became of one claimed message.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Handed to the provider. `subject`/`body` are the texts actually sent when they were rendered again.
    Sent {
        id: String,
        provider: String,
        provider_message_id: Option<String>,
        subject: Option<String>,
        body: Option<String>,
    },
    /// Not sent. `attempts` is the count after the claim; `permanent` fails at once (e.g. invalid number).
    Failed {
        id: String,
        attempts: i64,
        error: String,
        permanent: bool,
    },
    /// Deliberately not sent (the recipient opted out, no phone…).
    Unsent { id: String, reason: String },
    /// No longer wanted (the appointment was canceled in the meantime).
    Canceled { id: String, reason: String },
}

impl Outcome {
    fn failed_state(&self) -> &'static str {
        match self {
            Outcome::Failed {
                attempts,
                permanent,
                ..
            } if *permanent || *attempts >= MAX_ATTEMPTS => "failed",
            Outcome::Failed { .. } => "programmed",
            Outcome::Sent { .. } => "sent",
            Outcome::Unsent { .. } => "unsent",
            Outcome::Canceled { .. } => "canceled",
        }
    }
}

async fn record_one(conn: &mut sqlx::AnyConnection, o: &Outcome, now: i64) -> Result<()> {
    match o {
        Outcome::Sent {
            id,
            provider,
            provider_message_id,
            subject,
            body,
        } => {
            sqlx::query(
                "UPDATE outbox SET state = 'sent', sent_at = $2, provider = $3, provider_message_id = $4, \
                 subject = COALESCE($5, subject), body = COALESCE($6, body), claimed_until = NULL, \
                 last_error = NULL, updated_at = $2, secret = CASE WHEN $3 = 'demo' THEN secret ELSE NULL END \
                 WHERE id = $1 AND state = 'sending'",
            )
            .bind(id)
            .bind(now)
            .bind(provider)
            .bind(provider_message_id.as_deref())
            .bind(subject.as_deref())
            .bind(body.as_deref())
            .execute(&mut *conn)
            .await?;
            if let Some(pmid) = provider_message_id {
                apply_early_receipts(conn, id, provider, pmid, now).await?;
            }
        }
        Outcome::Failed {
            id,
            attempts,
            error,
            ..
        } => {
            let state = o.failed_state();
            let due = if state == "failed" {
                now
            } else {
                now + backoff_secs(*attempts)
            };
            sqlx::query(
                "UPDATE outbox SET state = $2, due_at = $3, last_error = $4, claimed_until = NULL, \
                 updated_at = $5, secret = CASE WHEN $2 = 'failed' THEN NULL ELSE secret END \
                 WHERE id = $1 AND state = 'sending'",
            )
            .bind(id)
            .bind(state)
            .bind(due)
            .bind(error.chars().take(500).collect::<String>())
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        Outcome::Unsent { id, reason } | Outcome::Canceled { id, reason } => {
            sqlx::query(
                "UPDATE outbox SET state = $2, last_error = $3, claimed_until = NULL, updated_at = $4, \
                 secret = NULL, canceled_at = CASE WHEN $2 = 'canceled' THEN $4 ELSE canceled_at END \
                 WHERE id = $1 AND state = 'sending'",
            )
            .bind(id)
            .bind(o.failed_state())
            .bind(reason.chars().take(500).collect::<String>())
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// A receipt can beat the worker's own record of the send (the provider answers, delivers and calls the webhook
/// before the batch is committed): it was logged unmatched, and is applied now.
async fn apply_early_receipts(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    provider: &str,
    provider_message_id: &str,
    now: i64,
) -> Result<()> {
    let rows = sqlx::query(
        "UPDATE delivery_receipts SET outbox_id = $1 WHERE provider = $2 AND provider_message_id = $3 \
         AND outbox_id IS NULL RETURNING status, raw_status, reported_at",
    )
    .bind(id)
    .bind(provider)
    .bind(provider_message_id)
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        let status = match r.get::<String, _>("status").as_str() {
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        };
        let raw: String = r.get("raw_status");
        let at: Option<i64> = r.get("reported_at");
        apply_status(conn, id, status, &raw, at.unwrap_or(now), now).await?;
    }
    Ok(())
}

/// Records the outcomes of a batch in one transaction (one commit per batch rather than per message). Only rows
/// still `sending` change: a message meanwhile reclaimed and finished by another worker is left as it is.
pub async fn record_outcomes(db: &Db, outcomes: &[Outcome], now: i64) -> Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for o in outcomes {
        record_one(&mut tx, o, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Cancels the messages of `related_type/related_id` that have not left yet (all kinds, or only `kind`), in the
/// caller's transaction. Returns how many were canceled. A message being sent at this instant is not stopped.
pub async fn cancel_pending<'c, E>(
    exec: E,
    related_type: &str,
    related_id: &str,
    kind: Option<&str>,
    now: i64,
) -> Result<u64>
where
    E: Executor<'c, Database = Any>,
{
    let kind_filter = if kind.is_some() { " AND kind = $4" } else { "" };
    let sql = format!(
        "UPDATE outbox SET state = 'canceled', canceled_at = $3, claimed_until = NULL, updated_at = $3 \
         WHERE related_type = $1 AND related_id = $2 AND state IN {PENDING}{kind_filter}"
    );
    let mut q = sqlx::query(&sql)
        .bind(related_type)
        .bind(related_id)
        .bind(now);
    if let Some(kind) = kind {
        q = q.bind(kind);
    }
    Ok(q.execute(exec).await?.rows_affected())
}

/// Cancels the pending reminders of an appointment (rebooked, canceled): the caller then enqueues the notice.
pub async fn cancel_pending_reminders<'c, E>(exec: E, appointment_id: &str, now: i64) -> Result<u64>
where
    E: Executor<'c, Database = Any>,
{
    cancel_pending(exec, "appointment", appointment_id, Some("reminder"), now).await
}

/// Outcome a provider reports for a message it accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// On the handset: `sent` → `received`.
    Delivered,
    /// Will never arrive (bounce, rejected, expired): `sent` → `failed`.
    Failed,
    /// Intermediate (accepted, queued, sent to the operator): logged, state unchanged.
    Pending,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Pending => "pending",
        }
    }
}

/// Applies a delivery receipt to the message `provider` knows as `provider_message_id`; returns the outbox id.
///
/// `sent` becomes `received` or `failed`; a receipt arriving late never downgrades `received`. Every receipt is
/// logged in `delivery_receipts`, matched or not; an unknown id is `StoreError::NotFound` (the webhook answers 404
/// and logs it).
pub async fn apply_delivery_report(
    db: &Db,
    provider: &str,
    provider_message_id: &str,
    status: DeliveryStatus,
    raw_status: &str,
    at: i64,
) -> Result<String> {
    let now = crate::now();
    let mut tx = db.begin().await?;
    let found = sqlx::query(
        "SELECT id FROM outbox WHERE provider = $1 AND provider_message_id = $2 ORDER BY created_at LIMIT 1",
    )
    .bind(provider)
    .bind(provider_message_id)
    .fetch_optional(&mut *tx)
    .await?;
    let outbox_id: Option<String> = found.map(|r| r.get(0));
    sqlx::query(
        "INSERT INTO delivery_receipts (id, provider, provider_message_id, outbox_id, status, raw_status, \
         reported_at, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(crate::new_id())
    .bind(provider)
    .bind(provider_message_id)
    .bind(outbox_id.as_deref())
    .bind(status.as_str())
    .bind(raw_status.chars().take(100).collect::<String>())
    .bind(at)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let Some(id) = outbox_id else {
        tx.commit().await?;
        return Err(StoreError::NotFound);
    };
    let raw: String = raw_status.chars().take(100).collect();
    apply_status(&mut tx, &id, status, &raw, at, now).await?;
    tx.commit().await?;
    Ok(id)
}

async fn apply_status(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    status: DeliveryStatus,
    raw: &str,
    at: i64,
    now: i64,
) -> Result<()> {
    let (sql, with_at) = match status {
        DeliveryStatus::Delivered => (
            "UPDATE outbox SET state = 'received', received_at = $4, provider_status = $2, updated_at = $3 \
             WHERE id = $1 AND state IN ('sent', 'failed')",
            true,
        ),
        DeliveryStatus::Failed => (
            "UPDATE outbox SET state = 'failed', provider_status = $2, secret = NULL, \
             last_error = 'non distribué (accusé de réception du fournisseur)', updated_at = $3 \
             WHERE id = $1 AND state = 'sent'",
            false,
        ),
        DeliveryStatus::Pending => (
            "UPDATE outbox SET provider_status = $2, updated_at = $3 WHERE id = $1 AND state = 'sent'",
            false,
        ),
    };
    let mut q = sqlx::query(sql).bind(id).bind(raw).bind(now);
    if with_at {
        q = q.bind(at);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// One message by id, whatever its organisation (worker, webhooks, tests).
pub async fn get_unscoped(db: &Db, id: &str) -> Result<Message> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"))
        .bind(id)
        .fetch_one(db.pool())
        .await?;
    Ok(from_row(&row))
}

/// One message, if the scope sees its organisation (agents' view); else `NotFound`.
pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<Message> {
    let m = get_unscoped(db, id).await?;
    match &m.organisation_id {
        Some(org) if scope.can_see(org) => Ok(m),
        None if scope.is_national() => Ok(m),
        _ => Err(StoreError::NotFound),
    }
}

/// Latest messages of the organisations the scope sees (demo outbox viewer, agents' views).
pub async fn list_recent(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<Message>> {
    list_where(db, scope, None, limit).await
}

/// Messages about one object (an appointment, a person), newest first, in the scope.
pub async fn list_for_related(
    db: &Db,
    scope: &Scope,
    related_type: &str,
    related_id: &str,
) -> Result<Vec<Message>> {
    list_where(
        db,
        scope,
        Some((
            "related_type = $R1 AND related_id = $R2",
            vec![related_type.to_string(), related_id.to_string()],
        )),
        500,
    )
    .await
}

/// Failed messages for the agents' retry page: messages about persons of the organisations whose records the
/// scope reads, account messages (reset, invitation) only of the organisations it administers (the policy's
/// `ReadAccountMessage`). Their links are never in `body`, and `secret` is cleared on failure.
pub async fn list_failed(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<Message>> {
    let all = list_where(db, scope, Some(("state = 'failed'", vec![])), limit).await?;
    Ok(all.into_iter().filter(|m| may_follow(scope, m)).collect())
}

/// Whether an agent may see (and retry) this message on the failed-messages page.
pub fn may_follow(scope: &Scope, m: &Message) -> bool {
    let action = if m.is_account_message() {
        crate::Action::ReadAccountMessage
    } else {
        crate::Action::FollowMessages
    };
    match &m.organisation_id {
        Some(org) => scope.allows(action, org),
        None => scope.is_national(),
    }
}

/// The demo outbox of one agent: messages to their own address, and messages about persons of the organisations
/// whose records they read (never another account's reset or invitation); the national admin sees all.
pub async fn list_demo(
    db: &Db,
    scope: &Scope,
    own_address: &str,
    limit: i64,
) -> Result<Vec<Message>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox ORDER BY created_at DESC, id DESC LIMIT {}",
        limit.clamp(1, 2000)
    );
    let rows = sqlx::query(&sql).fetch_all(db.pool()).await?;
    Ok(rows
        .iter()
        .map(from_row)
        .filter(|m| {
            if m.recipient.eq_ignore_ascii_case(own_address) || scope.is_national() {
                return true;
            }
            !m.is_account_message()
                && matches!(
                    m.related_type.as_deref(),
                    // The person's space: sign-in and verification codes, answers to their requests (the
                    // demo contract: an agent who follows the person reads the code).
                    Some("appointment")
                        | Some("ppsmj")
                        | Some("person_code")
                        | Some("appointment_request")
                )
                && m.organisation_id
                    .as_deref()
                    .is_some_and(|o| scope.allows(crate::Action::ReadRecords, o))
        })
        .collect())
}

async fn list_where(
    db: &Db,
    scope: &Scope,
    extra: Option<(&str, Vec<String>)>,
    limit: i64,
) -> Result<Vec<Message>> {
    let (cond, mut binds) = scope.visible_filter("organisation_id", 1);
    let mut cond = if scope.is_national() {
        cond
    } else {
        format!("({cond})")
    };
    if let Some((extra, values)) = extra {
        let mut extra = extra.to_string();
        for (i, v) in values.into_iter().enumerate() {
            binds.push(v);
            extra = extra.replace(&format!("$R{}", i + 1), &format!("${}", binds.len()));
        }
        cond = format!("{cond} AND {extra}");
    }
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

/// Puts a failed message back in the queue with a fresh set of attempts (agent's "retry" action).
pub async fn retry(db: &Db, scope: &Scope, id: &str, now: i64) -> Result<()> {
    let m = get(db, scope, id).await?;
    if !may_follow(scope, &m) {
        return Err(StoreError::NotFound);
    }
    // Its link was dropped when it failed: the user asks for a new one.
    if m.is_account_message() {
        return Err(StoreError::Conflict("outbox_account_message".into()));
    }
    if m.state != "failed" {
        return Err(StoreError::Conflict("outbox_not_failed".into()));
    }
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE outbox SET state = 'programmed', attempts = 0, due_at = $2, last_error = NULL, updated_at = $2 \
         WHERE id = $1 AND state = 'failed'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut *tx,
        &scope.actor,
        "outbox.retry",
        "outbox",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
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

/// Number of messages per state (tests, benchmark, statistics).
pub async fn count_by_state(db: &Db) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state ORDER BY state")
        .fetch_all(db.pool())
        .await?;
    Ok(rows.iter().map(|r| (r.get("state"), r.get("n"))).collect())
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
