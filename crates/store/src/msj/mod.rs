//! Mon Suivi Justice, agents' side: storage and jobs (PPSMJ records, places and agendas, slots, appointments,
//! divestments, APPI import, statistics, retention). The web layer calls these functions; it never writes SQL.
//!
//! Rules shared by every file here:
//! - every tenant read or write takes a [`Scope`]; what is outside it is [`StoreError::NotFound`];
//! - every change writes an audit event (and, for a PPSMJ, a history line) in the same transaction;
//! - every read of a PPSMJ record writes a `ppsmj.read` audit event;
//! - audit details never carry names, phones or addresses: the audit trail is append-only and outlives the
//!   records that retention deletes.
//!
//! Functions that may cause messages to a PPSMJ (booking, cancelling…) have a `*_tx` variant taking the caller's
//! transaction and returning the [`MessageEvent`]s to emit, so the outbox rows can be written in the same
//! transaction as the change.

pub mod agendas;
pub mod appi_import;
pub mod appointments;
pub mod booking_rules;
pub mod divestments;
pub mod export;
pub mod measures;
pub mod places;
pub mod ppsmj;
pub mod retention;
pub mod space;
pub mod stats;

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Any, Executor};

use crate::roles::{Role, RoleGroup};
use crate::{Actor, Result as StoreResult, Scope, StoreError};

/// A refused change, with what to tell the agent (French).
#[derive(Debug, thiserror::Error)]
pub enum MsjError {
    /// Form fields refused; each with its French message (422, form re-rendered with the input kept).
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The last place of the slot was taken between display and click (409).
    #[error("Ce créneau vient d'être complété par un autre agent : choisissez un autre créneau.")]
    SlotFull,
    /// The actor sees the object but its role does not allow this action (403).
    #[error("{0}")]
    Forbidden(String),
    /// A business rule refuses the change (422), e.g. an outcome before the appointment time.
    #[error("{0}")]
    Rule(String),
    /// Not found / not visible (404), conflicts and database errors.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for MsjError {
    fn from(e: sqlx::Error) -> Self {
        MsjError::Store(e.into())
    }
}

impl From<domain::TransitionError> for MsjError {
    fn from(e: domain::TransitionError) -> Self {
        MsjError::Rule(e.to_string())
    }
}

pub type MsjResult<T> = std::result::Result<T, MsjError>;

/// One refused field: its form name and the French message to show next to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Message of `field`, if refused.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages: Vec<&str> = self.0.iter().map(|e| e.message.as_str()).collect();
        f.write_str(&messages.join(" "))
    }
}

/// What kind of message an appointment change calls for (docs/DOMAIN.md, "Messages"). Reminders are not events:
/// they are scheduled from the appointment time by the messaging layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Summon,
    Cancelation,
    Reschedule,
    NoShow,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Summon => "summon",
            MessageKind::Cancelation => "cancelation",
            MessageKind::Reschedule => "reschedule",
            MessageKind::NoShow => "no_show",
        }
    }
}

/// A message the change calls for; the messaging layer renders and enqueues it (or not, if the PPSMJ cannot
/// receive SMS: `sms_possible`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageEvent {
    pub kind: MessageKind,
    pub appointment_id: String,
    pub ppsmj_id: String,
    pub organisation_id: String,
    pub sms_possible: bool,
}

/// Who books which appointment types (docs/DOMAIN.md): the role group named in `appointment_types.booked_by`.
pub(crate) fn role_books(role: Option<Role>, booked_by: &str) -> bool {
    match role.map(Role::group) {
        // System jobs and the CLI (seeding, imports).
        None => true,
        Some(RoleGroup::National) | Some(RoleGroup::LocalAdmin) => true,
        Some(RoleGroup::Bex) => booked_by == "bex",
        Some(RoleGroup::Sap) => booked_by == "sap",
        Some(RoleGroup::Spip) => booked_by == "spip",
        Some(_) => false,
    }
}

/// Writes one line of a PPSMJ's history in the caller's transaction.
pub(crate) async fn history<'c, E>(
    exec: E,
    actor: &Actor,
    ppsmj_id: &str,
    appointment_id: Option<&str>,
    action: &str,
    details: Option<serde_json::Value>,
    at: i64,
) -> StoreResult<()>
where
    E: Executor<'c, Database = Any>,
{
    sqlx::query(
        "INSERT INTO ppsmj_history (id, ppsmj_id, appointment_id, at, actor_user_id, actor_label, action, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(crate::new_id())
    .bind(ppsmj_id)
    .bind(appointment_id)
    .bind(at)
    .bind(actor.user_id.as_deref())
    .bind(&actor.label)
    .bind(action)
    .bind(details.map(|d| d.to_string()))
    .execute(exec)
    .await?;
    Ok(())
}

/// Binds the values of a scope filter to a query, in order.
pub(crate) fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    values: &'q [String],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for v in values {
        q = q.bind(v.as_str());
    }
    q
}

/// Parses a stored 'YYYY-MM-DD'.
pub(crate) fn parse_date(s: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))
}

pub(crate) fn utc(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_default()
}

/// A time zone name from `organisations.time_zone`; an unknown name is a configuration error, not a default.
pub(crate) fn parse_tz(name: &str) -> StoreResult<chrono_tz::Tz> {
    name.parse().map_err(|_| {
        StoreError::Database(sqlx::Error::Decode(
            format!("unknown time zone {name}").into(),
        ))
    })
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` prefix pattern.
pub(crate) fn like_prefix(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 1);
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The scope filter for a PPSMJ (`p` alias): visible when one of the organisations following it is visible.
pub(crate) fn ppsmj_visible(scope: &Scope, first: usize) -> (String, Vec<String>) {
    let (cond, binds) = scope.visible_filter("po.organisation_id", first);
    if scope.is_national() {
        return (cond, binds);
    }
    (
        format!(
            "EXISTS (SELECT 1 FROM ppsmj_organisations po WHERE po.ppsmj_id = p.id AND {cond})"
        ),
        binds,
    )
}
