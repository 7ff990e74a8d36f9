//! The dispatcher: claims due outbox rows, renders them again, sends them through their channel and records the
//! outcome. Any number of dispatchers (tasks or processes) share one PostgreSQL outbox: rows are claimed with
//! `FOR UPDATE SKIP LOCKED` and leased for [`LEASE_SECS`]; the lease of a dispatcher that died runs out and its
//! rows are claimed again, so a message in flight at a crash may be sent once more, and only then.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use store::outbox::{self, Message, Outcome};
use store::Db;

use crate::email::{Attachment, EmailChannel};
use crate::push::{PushChannel, PushError};
use crate::sms::SmsProvider;
use crate::SendError;

/// How long a claimed batch is reserved. Longer than a batch can take (HTTP timeouts are 15 s, SMTP 20 s, and
/// [`BATCH_CONCURRENCY`] messages go at once), shorter than what a reminder can afford to wait after a crash.
pub const LEASE_SECS: i64 = 300;
/// Messages of a batch in flight at the same time.
pub const BATCH_CONCURRENCY: usize = 32;

/// Text to send instead of the stored one.
#[derive(Clone, Debug, Default)]
pub struct Rendition {
    pub subject: Option<String>,
    pub body: String,
    /// E-mail only (e.g. the .ics invitation of a summon or reschedule).
    pub attachments: Vec<Attachment>,
}

/// What the render hook decided for one message, at send time.
#[derive(Clone, Debug)]
pub enum Rendered {
    /// Send the stored subject and body.
    Keep,
    /// Send this instead (the place changed since booking…); the row then records what was really sent.
    Replace(Rendition),
    /// Do not send: the message no longer applies (appointment canceled…). The reason is shown to agents.
    Cancel(String),
}

pub type RenderFuture<'a> = Pin<Box<dyn Future<Output = Result<Rendered, String>> + Send + 'a>>;

/// Renders a message again from `related_type/related_id` at send time (docs/DOMAIN.md: "content is rendered again at
/// send time"). Wired by the appointments layer; an error is a temporary failure (retried with back-off).
pub trait Renderer: Send + Sync {
    fn render<'a>(&'a self, db: &'a Db, message: &'a Message) -> RenderFuture<'a>;
}

/// The channels a dispatcher sends through. Web push is optional: without a VAPID key, push rows fail for good.
pub struct Channels {
    pub email: EmailChannel,
    pub sms: Box<dyn SmsProvider>,
    pub push: Option<PushChannel>,
    pub renderer: Option<Box<dyn Renderer>>,
}

impl Channels {
    pub fn new(email: EmailChannel, sms: Box<dyn SmsProvider>) -> Channels {
        Channels {
            email,
            sms,
            push: None,
            renderer: None,
        }
    }

    pub fn with_push(mut self, push: PushChannel) -> Channels {
        self.push = Some(push);
        self
    }

    pub fn with_renderer(mut self, renderer: Box<dyn Renderer>) -> Channels {
        self.renderer = Some(renderer);
        self
    }

    /// Demo mode: nothing leaves the process; the outbox rows are the demo outbox.
    pub fn demo() -> Channels {
        Channels::new(EmailChannel::demo(), Box::new(crate::DemoSms))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchStats {
    pub claimed: usize,
    pub sent: usize,
    /// Failed this time, will be tried again.
    pub retried: usize,
    /// Failed for good (5 attempts or a permanent refusal).
    pub failed: usize,
    /// Not sent on purpose (opted out).
    pub unsent: usize,
    pub canceled: usize,
}

/// Claims up to `batch` due messages at `now` and sends them; returns what happened.
pub async fn dispatch_once(
    db: &Db,
    ch: &Channels,
    now: i64,
    batch: i64,
) -> Result<DispatchStats, store::StoreError> {
    let claimed = outbox::claim_due(db, now, batch.max(1), LEASE_SECS).await?;
    let mut stats = DispatchStats {
        claimed: claimed.len(),
        ..DispatchStats::default()
    };
    if claimed.is_empty() {
        return Ok(stats);
    }
    let phones: Vec<&str> = claimed
        .iter()
        .filter(|m| m.channel == "sms")
        .map(|m| m.recipient.as_str())
        .collect();
    let opted_out = store::optout::opted_out_among(db, &phones).await?;
    // Boxed so the future of a dispatcher stays `Send` for `tokio::spawn` (a `Stream::map` closure over borrowed
    // rows trips the compiler's higher-ranked lifetime check).
    let sends: Vec<Pin<Box<dyn Future<Output = Outcome> + Send + '_>>> = claimed
        .iter()
        .map(|m| {
            Box::pin(send_one(db, ch, m, &opted_out))
                as Pin<Box<dyn Future<Output = Outcome> + Send + '_>>
        })
        .collect();
    let outcomes: Vec<Outcome> = stream::iter(sends)
        .buffer_unordered(BATCH_CONCURRENCY)
        .collect()
        .await;
    for o in &outcomes {
        match o {
            Outcome::Sent { .. } => stats.sent += 1,
            Outcome::Failed {
                attempts,
                permanent,
                ..
            } => {
                if *permanent || *attempts >= outbox::MAX_ATTEMPTS {
                    stats.failed += 1;
                } else {
                    stats.retried += 1;
                }
            }
            Outcome::Unsent { .. } => stats.unsent += 1,
            Outcome::Canceled { .. } => stats.canceled += 1,
        }
    }
    outbox::record_outcomes(db, &outcomes, now).await?;
    Ok(stats)
}

async fn send_one(db: &Db, ch: &Channels, m: &Message, opted_out: &HashSet<String>) -> Outcome {
    if m.channel == "sms" && opted_out.contains(&m.recipient) {
        return Outcome::Unsent {
            id: m.id.clone(),
            reason: "la personne a demandé à ne plus recevoir de SMS (STOP)".into(),
        };
    }
    let rendered = match &ch.renderer {
        Some(r) => match r.render(db, m).await {
            Ok(rendered) => rendered,
            Err(e) => return failed(m, SendError::Transient(format!("rendu impossible : {e}"))),
        },
        None => Rendered::Keep,
    };
    let rendition = match rendered {
        Rendered::Cancel(reason) => {
            return Outcome::Canceled {
                id: m.id.clone(),
                reason,
            }
        }
        Rendered::Keep => None,
        Rendered::Replace(r) => Some(r),
    };
    let subject = rendition
        .as_ref()
        .and_then(|r| r.subject.clone())
        .or_else(|| m.subject.clone());
    // An account message gets its link back only here, on its way to the channel.
    let stored = m.body_for_recipient();
    let body = rendition
        .as_ref()
        .map_or(stored.as_str(), |r| r.body.as_str());
    let attachments: &[Attachment] = rendition.as_ref().map_or(&[], |r| r.attachments.as_slice());
    let (provider, result) = match m.channel.as_str() {
        "push" => match send_push(db, ch, m, subject.as_deref(), body).await {
            Ok(result) => ("webpush", result),
            Err(outcome) => return outcome,
        },
        "sms" => (ch.sms.name(), ch.sms.send(&m.recipient, body).await),
        "email" => (
            ch.email.provider_name(),
            ch.email
                .send(
                    &m.recipient,
                    subject.as_deref().unwrap_or("Passerelle"),
                    body,
                    attachments,
                )
                .await,
        ),
        other => (
            "none",
            Err(SendError::Permanent(format!("canal inconnu : {other}"))),
        ),
    };
    match result {
        Ok(provider_message_id) => Outcome::Sent {
            id: m.id.clone(),
            provider: provider.to_string(),
            provider_message_id,
            subject: rendition.as_ref().and_then(|r| r.subject.clone()),
            body: rendition.map(|r| r.body),
        },
        Err(e) => failed(m, e),
    }
}

/// A push row: its recipient is a subscription id, read now (the person may have turned notifications off since).
/// `Err` is an outcome decided without sending.
async fn send_push(
    db: &Db,
    ch: &Channels,
    m: &Message,
    subject: Option<&str>,
    body: &str,
) -> Result<Result<Option<String>, SendError>, Outcome> {
    let Some(push) = &ch.push else {
        return Ok(Err(SendError::Permanent(
            "notifications push non configurées (clé VAPID absente)".into(),
        )));
    };
    let sub = match store::push::get(db, &m.recipient).await {
        Ok(Some(sub)) => sub,
        Ok(None) => {
            return Err(Outcome::Canceled {
                id: m.id.clone(),
                reason: "la personne a retiré les notifications de ce navigateur".into(),
            })
        }
        Err(e) => return Ok(Err(SendError::Transient(format!("base de données : {e}")))),
    };
    match push.send(&sub, subject.unwrap_or("Passerelle"), body).await {
        Ok(()) => Ok(Ok(None)),
        Err(PushError::Gone(status)) => {
            // The browser dropped the subscription: forget it, so no later reminder tries it again.
            if let Err(e) = store::push::remove(db, &sub.id).await {
                tracing::warn!(error = %e, "expired push subscription not removed");
            }
            Ok(Err(SendError::Permanent(format!(
                "push HTTP {status} : abonnement expiré, retiré"
            ))))
        }
        Err(PushError::Send(e)) => Ok(Err(e)),
    }
}

fn failed(m: &Message, e: SendError) -> Outcome {
    // Ids, channel and error only: never the recipient or the body.
    tracing::warn!(message_id = %m.id, channel = %m.channel, attempt = m.attempts, error = %e, "message not sent");
    Outcome::Failed {
        id: m.id.clone(),
        attempts: m.attempts,
        permanent: e.is_permanent(),
        error: e.to_string(),
    }
}

/// Dispatches until `shutdown` turns true: a full batch is followed at once by the next one, otherwise the worker
/// waits `poll`. A database error is logged and retried after `poll` (the database may be restarting).
pub async fn run_worker(
    db: Db,
    ch: Arc<Channels>,
    poll: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    const BATCH: i64 = 200;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let wait = match dispatch_once(&db, &ch, store::now(), BATCH).await {
            Ok(stats) if stats.claimed as i64 >= BATCH => Duration::ZERO,
            Ok(stats) => {
                if stats.claimed > 0 {
                    tracing::info!(?stats, "outbox batch dispatched");
                }
                poll
            }
            Err(e) => {
                tracing::error!(error = %e, "outbox dispatch failed");
                poll
            }
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
}
