//! Messages that never get lost: the outbox dispatcher and its channels.
//!
//! ```text
//! booking (same transaction) ──► outbox row (programmed, due_at) ──► dispatch_once / run_worker
//!        claim (FOR UPDATE SKIP LOCKED) ─► render again (Renderer hook) ─► opt-out check ─► channel
//!        channel = e-mail (SMTP, lettre) | SMS (SmsProvider: Brevo, LinkMobility, demo)
//!        ─► outcome recorded per batch (sent / retry with back-off / failed after 5 / unsent / canceled)
//! provider webhook ─► parse_*_webhook (secret, constant time) ─► store::outbox::apply_delivery_report ─► received
//! ```
//!
//! Never logged: phone numbers, e-mail addresses, message bodies. Errors carry provider codes and HTTP statuses
//! only.

pub mod dispatch;
pub mod email;
pub mod ics;
pub mod push;
pub mod schedule;
pub mod sms;
pub mod webhook;

pub use dispatch::{
    dispatch_once, run_worker, Channels, DispatchStats, RenderFuture, Rendered, Renderer,
    Rendition, BATCH_CONCURRENCY, LEASE_SECS,
};
pub use email::{Attachment, EmailChannel, EmailConfigError};
pub use ics::{ics_invitation, IcsEvent};
pub use push::{generate_vapid_private_key, PushChannel, PushError};
pub use schedule::{schedule_for_booking, BookingSchedule, ReminderPolicy};
pub use sms::{Brevo, DemoSms, LinkMobility, SendFuture, SmsProvider};
pub use store::outbox::DeliveryStatus;
pub use webhook::{
    apply_delivery_report, parse_brevo_webhook, parse_linkmobility_webhook, DeliveryReport,
    WebhookError,
};

/// Why a send did not go through. The text names a provider code or an HTTP status, never the recipient or body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later (network, timeout, 5xx, 429, authentication being fixed…).
    #[error("échec temporaire : {0}")]
    Transient(String),
    /// Will never work as is (invalid number or address, refused content): failed at once.
    #[error("échec définitif : {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

/// Maps an HTTP status of a provider's API to a send error: 429 and 5xx are temporary, and so are 401/403 (a key
/// being rotated must not fail every message for good); any other 4xx is permanent.
pub(crate) fn http_error(
    provider: &str,
    status: reqwest::StatusCode,
    code: Option<String>,
) -> SendError {
    let text = match code {
        Some(c) => format!("{provider} HTTP {} ({c})", status.as_u16()),
        None => format!("{provider} HTTP {}", status.as_u16()),
    };
    if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::UNAUTHORIZED
        || status == reqwest::StatusCode::FORBIDDEN
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        SendError::Transient(text)
    } else {
        SendError::Permanent(text)
    }
}
