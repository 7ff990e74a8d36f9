//! Message templates: a national default per (appointment type, kind, language), overridable per organisation.
//!
//! Lookup falls back from the most specific text to the most general one: the organisation's text for the type,
//! the national text for the type, the organisation's text for any type (`*`), the national text for any type;
//! then the same in French when the person's language has no text (a missing translation must never mean no
//! message).

use domain::template::{Template, TemplateError};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Db, Scope, StoreError};

/// Appointment type code that matches every type without a text of its own.
pub const ANY_TYPE: &str = "*";
pub const KINDS: [&str; 5] = ["summon", "reminder", "cancelation", "reschedule", "no_show"];
pub const LANGUAGES: [&str; 4] = ["fr", "fr_falc", "en", "ar"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageTemplate {
    pub id: String,
    /// None: the national default.
    pub organisation_id: Option<String>,
    pub appointment_type: String,
    pub kind: String,
    pub language: String,
    /// E-mail subject; SMS use the body only.
    pub subject: Option<String>,
    pub body: String,
    pub updated_by: String,
    pub updated_at: i64,
}

impl MessageTemplate {
    /// The body as a checked template (saved texts were checked; the seeds are covered by a test).
    pub fn template(&self) -> Result<Template, TemplateError> {
        Template::parse(&self.body)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The text is not a valid template; the message is French and names the problem.
    #[error("{0}")]
    Invalid(#[from] TemplateError),
    /// Unknown kind, language or empty type code; French message.
    #[error("{0}")]
    Field(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SaveError {
    fn from(e: sqlx::Error) -> Self {
        SaveError::Store(e.into())
    }
}

const COLUMNS: &str =
    "id, organisation_id, appointment_type, kind, language, subject, body, updated_by, updated_at";

fn from_row(r: &AnyRow) -> MessageTemplate {
    MessageTemplate {
        id: r.get("id"),
        organisation_id: r.get("organisation_id"),
        appointment_type: r.get("appointment_type"),
        kind: r.get("kind"),
        language: r.get("language"),
        subject: r.get("subject"),
        body: r.get("body"),
        updated_by: r.get("updated_by"),
        updated_at: r.get("updated_at"),
    }
}

/// The text to use for this organisation, appointment type, kind and language (see the module doc for the order).
pub async fn effective(
    db: &Db,
    organisation_id: Option<&str>,
    appointment_type: &str,
    kind: &str,
    language: &str,
) -> crate::Result<Option<MessageTemplate>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM message_templates WHERE kind = $1 AND language IN ($2, 'fr') \
         AND appointment_type IN ($3, '*') AND (organisation_id IS NULL OR organisation_id = $4)"
    );
    let rows = sqlx::query(&sql)
        .bind(kind)
        .bind(language)
        .bind(appointment_type)
        .bind(organisation_id.unwrap_or(""))
        .fetch_all(db.pool())
        .await?;
    let rank = |t: &MessageTemplate| {
        (
            t.language != language,
            t.appointment_type == ANY_TYPE,
            t.organisation_id.is_none(),
        )
    };
    Ok(rows.iter().map(from_row).min_by_key(rank))
}

/// Checks and stores a text: the national default (`organisation_id` None, national admins only) or an
/// organisation's override (its managers only; others get `NotFound`). Audited in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn save(
    db: &Db,
    scope: &Scope,
    organisation_id: Option<&str>,
    appointment_type: &str,
    kind: &str,
    language: &str,
    subject: Option<&str>,
    body: &str,
) -> Result<MessageTemplate, SaveError> {
    let allowed = match organisation_id {
        None => scope.is_national(),
        Some(org) => scope.can_manage(org),
    };
    if !allowed {
        return Err(StoreError::NotFound.into());
    }
    if !KINDS.contains(&kind) {
        return Err(SaveError::Field(format!(
            "Type de message inconnu : {kind}."
        )));
    }
    if !LANGUAGES.contains(&language) {
        return Err(SaveError::Field(format!("Langue inconnue : {language}.")));
    }
    let appointment_type = appointment_type.trim();
    if appointment_type.is_empty() {
        return Err(SaveError::Field(
            "Veuillez choisir un type de rendez-vous.".into(),
        ));
    }
    let template = Template::parse(body)?;
    if let Some(s) = subject {
        // The subject takes the same variables as the body.
        Template::parse(s)?;
    }
    let now = crate::now();
    let org_key = organisation_id.unwrap_or("");
    let mut tx = db.begin().await?;
    let existing: Option<String> = sqlx::query(
        "SELECT id FROM message_templates WHERE COALESCE(organisation_id, '') = $1 AND appointment_type = $2 \
         AND kind = $3 AND language = $4",
    )
    .bind(org_key)
    .bind(appointment_type)
    .bind(kind)
    .bind(language)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| r.get(0));
    let id = match existing {
        Some(id) => {
            sqlx::query(
                "UPDATE message_templates SET subject = $2, body = $3, updated_by = $4, updated_at = $5 \
                 WHERE id = $1",
            )
            .bind(&id)
            .bind(subject)
            .bind(template.as_str())
            .bind(&scope.actor.label)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            id
        }
        None => {
            let id = crate::new_id();
            sqlx::query(
                "INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, \
                 body, updated_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(&id)
            .bind(organisation_id)
            .bind(appointment_type)
            .bind(kind)
            .bind(language)
            .bind(subject)
            .bind(template.as_str())
            .bind(&scope.actor.label)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    crate::audit::record(
        &mut *tx,
        &scope.actor,
        "template.save",
        "message_template",
        Some(&id),
        Some(serde_json::json!({
            "organisation_id": organisation_id,
            "appointment_type": appointment_type,
            "kind": kind,
            "language": language,
        })),
    )
    .await?;
    tx.commit().await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM message_templates WHERE id = $1"
    ))
    .bind(&id)
    .fetch_one(db.pool())
    .await?;
    Ok(from_row(&row))
}

/// Removes an organisation's override: the national default applies again.
pub async fn delete_override(db: &Db, scope: &Scope, id: &str) -> crate::Result<()> {
    let row = sqlx::query("SELECT organisation_id FROM message_templates WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    let org: Option<String> = row.get(0);
    match org {
        Some(org) if scope.can_manage(&org) => {}
        _ => return Err(StoreError::NotFound),
    }
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM message_templates WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    crate::audit::record(
        &mut *tx,
        &scope.actor,
        "template.delete",
        "message_template",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The national defaults and the overrides of an organisation (template editor).
pub async fn list(
    db: &Db,
    scope: &Scope,
    organisation_id: Option<&str>,
) -> crate::Result<Vec<MessageTemplate>> {
    if let Some(org) = organisation_id {
        if !scope.can_see(org) {
            return Err(StoreError::NotFound);
        }
    }
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM message_templates WHERE organisation_id IS NULL OR organisation_id = $1 \
         ORDER BY appointment_type, kind, language, organisation_id"
    ))
    .bind(organisation_id.unwrap_or(""))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}
