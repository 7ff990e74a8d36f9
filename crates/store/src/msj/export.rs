//! Everything held on one person, for their right of access (RGPD art. 15): every row that names them, table by
//! table, as JSON, plus the list of the files they sent (the caller adds the files themselves). Rows are read
//! generically (every column, whatever later migrations add), except secrets (hashes, tokens), which say nothing
//! about the person and would weaken their own security if handed out.

use sqlx::{Column, Row};

use super::MsjResult;
use crate::{audit, Action, Db, Scope, StoreError};

/// What the export holds.
pub struct PersonExport {
    pub json: serde_json::Value,
    /// (file name as sent, storage key) of the person's justificatifs.
    pub documents: Vec<(String, String)>,
}

/// Each table, and the condition that selects the person's rows (`$1` = the person's id).
const TABLES: &[(&str, &str)] = &[
    ("dossier", "SELECT * FROM ppsmj WHERE id = $1"),
    ("services_qui_suivent", "SELECT * FROM ppsmj_organisations WHERE ppsmj_id = $1"),
    ("rendez_vous", "SELECT * FROM appointments WHERE ppsmj_id = $1 ORDER BY starts_at"),
    ("historique", "SELECT * FROM ppsmj_history WHERE ppsmj_id = $1 ORDER BY at"),
    ("dessaisissements", "SELECT * FROM divestments WHERE ppsmj_id = $1"),
    ("mesures", "SELECT * FROM measures WHERE ppsmj_id = $1"),
    (
        "obligations",
        "SELECT * FROM measure_obligations WHERE measure_id IN (SELECT id FROM measures WHERE ppsmj_id = $1)",
    ),
    ("demandes", "SELECT * FROM appointment_requests WHERE ppsmj_id = $1 ORDER BY created_at"),
    ("justificatifs", "SELECT * FROM appointment_documents WHERE ppsmj_id = $1 ORDER BY created_at"),
    ("connexions_a_son_espace", "SELECT * FROM person_sessions WHERE ppsmj_id = $1"),
    (
        "messages",
        "SELECT * FROM outbox WHERE (related_type = 'ppsmj' AND related_id = $1) OR (related_type = 'appointment' \
         AND related_id IN (SELECT id FROM appointments WHERE ppsmj_id = $1)) ORDER BY created_at",
    ),
    (
        "journal_des_acces",
        "SELECT * FROM audit_events WHERE target_type = 'ppsmj' AND target_id = $1 ORDER BY at",
    ),
];

fn is_secret(column: &str) -> bool {
    column.ends_with("_hash") || column.contains("secret") || column.contains("token")
}

fn row_json(row: &sqlx::any::AnyRow) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (i, c) in row.columns().iter().enumerate() {
        let name = c.name();
        if is_secret(name) {
            continue;
        }
        let value = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            v.map(serde_json::Value::from)
        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            v.map(serde_json::Value::from)
        } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
            v.map(serde_json::Value::from)
        } else {
            None
        };
        map.insert(name.to_string(), value.unwrap_or(serde_json::Value::Null));
    }
    serde_json::Value::Object(map)
}

/// The export of one person, for an agent who may manage the file (the owning service's roles that manage files,
/// the national admin); another organisation gets `NotFound`, a role without the right `Forbidden`. Audited as
/// `ppsmj.export`.
pub async fn person_export(
    db: &Db,
    scope: &Scope,
    ppsmj_id: &str,
    now: i64,
) -> MsjResult<PersonExport> {
    let p = super::ppsmj::get(db, scope, ppsmj_id).await?;
    if !scope.allows(Action::ManageFile, &p.organisation_id) {
        return Err(super::MsjError::Forbidden(
            "Seul le service qui gère ce dossier peut exporter les données de la personne.".into(),
        ));
    }
    let mut out = serde_json::Map::new();
    out.insert(
        "exporte_le".into(),
        serde_json::Value::from(
            chrono::DateTime::from_timestamp(now, 0)
                .map(|d| d.to_rfc3339())
                .unwrap_or_default(),
        ),
    );
    let mut documents = vec![];
    for (name, sql) in TABLES {
        let rows = sqlx::query(sql).bind(ppsmj_id).fetch_all(db.pool()).await?;
        if *name == "justificatifs" {
            for r in &rows {
                let filename: String = r.try_get("filename").map_err(StoreError::from)?;
                let key: String = r.try_get("storage_key").map_err(StoreError::from)?;
                documents.push((filename, key));
            }
        }
        out.insert(
            (*name).to_string(),
            serde_json::Value::Array(rows.iter().map(row_json).collect()),
        );
    }
    audit::record(
        db.pool(),
        &scope.actor,
        "ppsmj.export",
        "ppsmj",
        Some(ppsmj_id),
        Some(serde_json::json!({ "justificatifs": documents.len() })),
    )
    .await?;
    Ok(PersonExport {
        json: serde_json::Value::Object(out),
        documents,
    })
}
