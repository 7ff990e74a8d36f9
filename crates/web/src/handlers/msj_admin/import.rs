//! APPI CSV import: upload, all-or-nothing import, row-level report.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use store::msj::appi_import::{self, ImportError, ImportReport, RowError};
use store::orgs::{self, Organisation};
use store::roles::OrgKind;

use super::{may_import, problem};
use crate::error::{AppError, AppResult};
use crate::handlers::page;
use crate::session::Auth;
use crate::views::{Choice, PageCtx};
use crate::AppState;

/// Largest accepted file (an APPI export of one service is far smaller).
const MAX_FILE_BYTES: usize = 2 * 1024 * 1024 - 64 * 1024;

#[derive(Template)]
#[template(path = "msj_admin/import.html")]
pub struct ImportPage {
    pub ctx: PageCtx,
    pub organisations: Vec<Choice>,
    pub errors: Vec<RowError>,
    pub general_error: Option<String>,
    pub report: Option<ImportReport>,
    pub filename: String,
}

/// Organisations an agent may import into: its own and its antennas (all SPIP/TJ for the national admin).
async fn target_orgs(st: &AppState, auth: &Auth) -> AppResult<Vec<Organisation>> {
    let own = &auth.user().organisation_id;
    let national = auth.scope().is_national();
    Ok(orgs::list(&st.db, auth.scope())
        .await?
        .into_iter()
        .filter(|o| matches!(o.kind, OrgKind::Spip | OrgKind::Tj) && o.active)
        .filter(|o| national || &o.id == own || o.parent_id.as_deref() == Some(own.as_str()))
        .collect())
}

async fn import_page(st: &AppState, auth: &Auth, selected: &str) -> AppResult<ImportPage> {
    let orgs = target_orgs(st, auth).await?;
    let selected = if selected.is_empty() {
        auth.user().organisation_id.as_str()
    } else {
        selected
    };
    Ok(ImportPage {
        ctx: PageCtx::new(&auth.1, "Import APPI"),
        organisations: orgs
            .iter()
            .map(|o| Choice {
                value: o.id.clone(),
                label: o.name.clone(),
                selected: o.id == selected,
            })
            .collect(),
        errors: vec![],
        general_error: None,
        report: None,
        filename: String::new(),
    })
}

pub async fn form(auth: Auth, State(st): State<AppState>) -> AppResult<Response> {
    auth.require(may_import(auth.user().role))?;
    page(import_page(&st, &auth, "").await?)
}

pub async fn upload(
    auth: Auth,
    State(st): State<AppState>,
    mut multipart: Multipart,
) -> AppResult<Response> {
    auth.require(may_import(auth.user().role))?;
    let mut org_id = String::new();
    let mut file: Option<Vec<u8>> = None;
    let mut filename = String::new();
    let mut too_big = false;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("multipart: {e}")))?
    {
        match field.name() {
            Some("organisation_id") => {
                org_id = field.text().await.unwrap_or_default();
            }
            Some("fichier") => {
                filename = field.file_name().unwrap_or_default().to_string();
                match field.bytes().await {
                    Ok(b) if b.len() <= MAX_FILE_BYTES => file = Some(b.to_vec()),
                    _ => too_big = true,
                }
            }
            _ => {}
        }
    }
    let mut p = import_page(&st, &auth, &org_id).await?;
    p.filename = filename;
    if !p.organisations.iter().any(|o| o.value == org_id) {
        p.general_error = Some("Choisissez le service dans lequel importer les dossiers.".into());
        return unprocessable(p);
    }
    let bytes = match file {
        Some(b) if !b.is_empty() => b,
        _ if too_big => {
            p.general_error = Some("Le fichier est trop volumineux (2 Mo au plus).".into());
            return unprocessable(p);
        }
        _ => {
            p.general_error = Some("Choisissez le fichier CSV exporté d'APPI.".into());
            return unprocessable(p);
        }
    };
    match appi_import::import_appi_file(&st.db, auth.scope(), &org_id, &bytes, store::now()).await {
        Ok(report) => {
            p.ctx = p.ctx.with_notice(
                "success",
                format!(
                    "Import terminé : {} dossier(s) créé(s), {} déjà présent(s).",
                    report.imported, report.already_present
                ),
            );
            p.report = Some(report);
            page(p)
        }
        Err(ImportError::Rows(errors)) => {
            p.general_error = Some(format!(
                "{} ligne(s) refusée(s) : aucun dossier n'a été importé. Corrigez le fichier puis importez-le à nouveau.",
                errors.len()
            ));
            p.errors = errors;
            unprocessable(p)
        }
        Err(ImportError::Other(e)) => {
            let pb = problem(e)?;
            p.general_error = Some(pb.message.unwrap_or_else(|| pb.fields.to_string()));
            unprocessable(p)
        }
    }
}

fn unprocessable(p: ImportPage) -> AppResult<Response> {
    let mut res = page(p)?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}
