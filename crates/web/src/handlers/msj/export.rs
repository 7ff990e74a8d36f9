//! The person's data, for their right of access (RGPD art. 15): one zip with `donnees.json` (every row that names
//! them, see `store::msj::export`) and the justificatifs they sent, as they sent them. Offered to the service that
//! manages the file; audited.

use std::io::Write;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use store::msj::MsjError;

use crate::error::{AppError, AppResult};
use crate::session::Auth;
use crate::AppState;

/// Keeps a file name inside the archive's folder and readable on every system.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c| c == '.' || c == ' ');
    if trimmed.is_empty() {
        "fichier".into()
    } else {
        trimmed.chars().take(120).collect()
    }
}

pub async fn export_zip(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let export =
        match store::msj::export::person_export(&st.db, auth.scope(), &id, store::now()).await {
            Ok(e) => e,
            Err(MsjError::Forbidden(_)) => return Err(AppError::Forbidden),
            Err(MsjError::Store(e)) => return Err(e.into()),
            Err(other) => return Err(AppError::Internal(anyhow::anyhow!("{other}"))),
        };
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let zip_err = |e: zip::result::ZipError| AppError::Internal(anyhow::anyhow!("zip: {e}"));
    zip.start_file("donnees.json", options).map_err(zip_err)?;
    let json = serde_json::to_vec_pretty(&export.json)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("json: {e}")))?;
    zip.write_all(&json)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("zip: {e}")))?;
    for (i, (name, key)) in export.documents.iter().enumerate() {
        let bytes = st
            .files
            .read_all(key)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("justificatif {key}: {e}")))?;
        zip.start_file(
            format!("justificatifs/{:02}-{}", i + 1, safe_name(name)),
            options,
        )
        .map_err(zip_err)?;
        zip.write_all(&bytes)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("zip: {e}")))?;
    }
    let bytes = zip.finish().map_err(zip_err)?.into_inner();
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"donnees-personne-{id}.zip\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
