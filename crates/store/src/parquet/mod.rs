//! Info Parquet: referrals (signalements, art. 40 CPP) from administrations to the competent parquet.
//!
//! One file per aggregate: `natinf` (offence table and search), `referrals` (wizard, submission, parquet-side
//! lifecycle), `routing` (art. 43: which parquet), `messages` (exchanges and complements), `attachments`
//! (metadata only: bytes, antivirus and encryption live above), `tokens` (API tokens and idempotency), `reminders`
//! (deadlines), `stats`. Who may see a referral is decided in [`access`] and nowhere else.

pub mod access;
pub mod attachments;
pub mod messages;
pub mod natinf;
pub mod notices;
pub mod referrals;
pub mod reminders;
pub mod routing;
pub mod stats;
pub mod tokens;

use domain::TransitionError;

use crate::StoreError;

pub use access::ReferralAccess;

/// One invalid field of a referral, with the French message to show next to it.
///
/// `field` names the input as the form and the API do (`facts.description`, `places[0].insee`, …), so the web
/// layer can re-render the form with the message in place and the API can fill `invalid-params`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub kind: FieldErrorKind,
    pub message: String,
}

/// What is wrong with a field, for callers that branch on it (tests, API error codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    Missing,
    TooLong,
    Invalid,
    Unknown,
    Inconsistent,
}

impl FieldError {
    pub fn new(field: impl Into<String>, kind: FieldErrorKind, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} : {}", self.field, self.message)
    }
}

/// The error of every Info Parquet operation.
///
/// Policy for the web layer: `Store(NotFound)` → 404 (absent *or* out of scope), `Invalid` → 422 with the field
/// messages, `Transition` → 409 with its French message, `Forbidden` → 403 (the referral is visible but the role
/// may not do this), `Unauthenticated` → 401, `Store(Conflict)` → 409, anything else → 500.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}", join_messages(.0))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("{0}")]
    Forbidden(String),
    #[error("Jeton d'API inconnu ou révoqué.")]
    Unauthenticated,
}

fn join_messages(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

impl From<sqlx::Error> for ParquetError {
    fn from(e: sqlx::Error) -> Self {
        ParquetError::Store(e.into())
    }
}

impl ParquetError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ParquetError::Store(StoreError::NotFound))
    }

    /// The field errors, when the input was invalid.
    pub fn fields(&self) -> &[FieldError] {
        match self {
            ParquetError::Invalid(v) => v,
            _ => &[],
        }
    }

    pub(crate) fn invalid(field: &str, kind: FieldErrorKind, message: &str) -> ParquetError {
        ParquetError::Invalid(vec![FieldError::new(field, kind, message)])
    }

    pub(crate) fn forbidden(message: &str) -> ParquetError {
        ParquetError::Forbidden(message.to_string())
    }
}

pub type PResult<T> = std::result::Result<T, ParquetError>;

/// Which side of the exchange an actor is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Administration,
    Parquet,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Administration => "administration",
            Side::Parquet => "parquet",
        }
    }

    pub fn parse(s: &str) -> Side {
        if s == "parquet" {
            Side::Parquet
        } else {
            Side::Administration
        }
    }
}

/// E-mail of a user, read in the caller's transaction.
pub(crate) async fn user_email(
    conn: &mut sqlx::AnyConnection,
    user_id: Option<&str>,
) -> crate::Result<Option<String>> {
    use sqlx::Row;
    let Some(id) = user_id else { return Ok(None) };
    Ok(
        sqlx::query("SELECT email FROM users WHERE id = $1 AND active = 1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.get::<String, _>(0)),
    )
}
