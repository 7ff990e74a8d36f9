//! Attachments of Info Parquet referrals: streamed uploads (multipart field `fichier`) and audited, scoped
//! downloads. The bytes go through [`files::FileStore`] (limit, type, SHA-256, clamd, encryption, object store);
//! the metadata through `store::parquet::attachments`.
//!
//! Upload forms (HTML, no script needed):
//! `<form method="post" enctype="multipart/form-data"
//!        action="/info-parquet/signalements/{id}/pieces-jointes?csrf_token={{ ctx.csrf }}">`
//! with `<input type="file" name="fichier">`. On success the agent is sent back to the referral page with
//! `?piece_jointe=ajoutee` (or `non_analysee` when no antivirus is configured, demo only): the referral page shows
//! [`upload_notice`] for it.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use files::{FileError, ScanOutcome, StoredFile};
use store::parquet::attachments::{self, NewAttachment, ScanStatus};
use store::parquet::{messages, referrals, ParquetError};

use crate::error::{AppError, AppResult};
use crate::session::Auth;
use crate::views::PageCtx;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/info-parquet/signalements/{id}/pieces-jointes",
            post(upload_to_referral),
        )
        .route(
            "/info-parquet/signalements/{id}/messages/{message_id}/pieces-jointes",
            post(upload_to_message),
        )
        // Uploads are streamed and limited by the file store (1 GiB by default), not by the 2 MiB form limit.
        .layer(DefaultBodyLimit::disable())
        .route("/info-parquet/pieces-jointes/{id}", get(download))
}

/// The notice to show on the referral page for its `piece_jointe` query parameter.
pub fn upload_notice(code: &str) -> Option<(&'static str, &'static str)> {
    match code {
        "ajoutee" => Some((
            "success",
            "Pièce jointe ajoutée : analysée par l'antivirus, chiffrée et enregistrée.",
        )),
        "non_analysee" => Some((
            "warning",
            "Pièce jointe ajoutée mais NON ANALYSÉE : aucun antivirus n'est configuré sur ce serveur de \
             démonstration.",
        )),
        _ => None,
    }
}

/// The label of a scan status, for the lists of attachments.
pub fn scan_label(status: ScanStatus) -> (&'static str, &'static str) {
    match status {
        ScanStatus::Clean => ("success", "Analysé : sain"),
        ScanStatus::NotScanned => ("warning", "Non analysé (pas d'antivirus configuré)"),
        ScanStatus::Pending => ("info", "Analyse en cours"),
        ScanStatus::Infected => ("error", "Refusé : virus détecté"),
        ScanStatus::Error => ("error", "Analyse impossible"),
    }
}

#[derive(askama::Template)]
#[template(path = "files_refused.html")]
struct RefusedPage {
    ctx: PageCtx,
    heading: String,
    message: String,
    hint: String,
    back: String,
}

fn refused(
    auth: &Auth,
    status: StatusCode,
    referral_id: &str,
    heading: &str,
    message: String,
    hint: &str,
) -> AppResult<Response> {
    let page = RefusedPage {
        ctx: PageCtx::new(&auth.1, "Fichier refusé"),
        heading: heading.to_string(),
        message,
        hint: hint.to_string(),
        back: format!("/info-parquet/signalements/{referral_id}"),
    };
    let mut res = (status, Html(askama::Template::render(&page)?)).into_response();
    // The form's URL carries the CSRF token: keep it out of Referer headers.
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    Ok(res)
}

fn parquet_error(auth: &Auth, referral_id: &str, e: ParquetError) -> AppResult<Response> {
    match e {
        ParquetError::Store(s) => Err(s.into()),
        ParquetError::Forbidden(msg) => refused(
            auth,
            StatusCode::FORBIDDEN,
            referral_id,
            "Ajout impossible",
            msg,
            "",
        ),
        ParquetError::Invalid(_) => {
            let msg = e.to_string();
            refused(
                auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                referral_id,
                "Fichier refusé",
                msg,
                "",
            )
        }
        other => Err(AppError::Internal(other.into())),
    }
}

async fn upload_to_referral(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    mp: Multipart,
) -> AppResult<Response> {
    upload(auth, st, id, None, headers, mp).await
}

async fn upload_to_message(
    auth: Auth,
    State(st): State<AppState>,
    Path((id, message_id)): Path<(String, String)>,
    headers: HeaderMap,
    mp: Multipart,
) -> AppResult<Response> {
    upload(auth, st, id, Some(message_id), headers, mp).await
}

async fn upload(
    auth: Auth,
    st: AppState,
    referral_id: String,
    message_id: Option<String>,
    headers: HeaderMap,
    mut mp: Multipart,
) -> AppResult<Response> {
    // Out of scope is 404 before a byte of the body is read.
    let referral = referrals::get(&st.db, auth.scope(), &referral_id).await?;
    match &message_id {
        Some(m) => {
            let msg = messages::get(&st.db, auth.scope(), m).await?;
            if msg.referral_id != referral.id {
                return Err(AppError::NotFound);
            }
        }
        None if referral.status != domain::ReferralStatus::Draft => {
            return refused(
                &auth,
                StatusCode::FORBIDDEN,
                &referral_id,
                "Ajout impossible",
                "Ce signalement a été transmis : joignez le fichier à un message.".into(),
                "",
            );
        }
        None => {}
    }
    let max = st.files.max_bytes();
    let too_large = |auth: &Auth| {
        refused(
            auth,
            StatusCode::PAYLOAD_TOO_LARGE,
            &referral_id,
            "Fichier trop volumineux",
            FileError::TooLarge { max }.to_string(),
            "Aucune partie du fichier n'a été conservée. Découpez-le ou compressez-le, puis réessayez.",
        )
    };
    // A declared length far above the limit is refused without reading the body (the multipart envelope adds
    // a few hundred bytes).
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max + 64 * 1024) {
        return too_large(&auth);
    }

    let mut stored: Option<Result<StoredFile, FileError>> = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                stored = Some(Err(FileError::Upload(e.body_text())));
                break;
            }
        };
        if field.name() != Some("fichier") || stored.is_some() {
            continue;
        }
        let filename = field.file_name().unwrap_or_default().to_string();
        if filename.is_empty() {
            stored = Some(Err(FileError::BadName));
            continue;
        }
        stored = Some(st.files.put_stream(&filename, field).await);
        if stored.as_ref().is_some_and(|r| r.is_err()) {
            break;
        }
    }
    let stored = match stored {
        None => {
            return refused(
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                &referral_id,
                "Aucun fichier",
                "Choisissez un fichier à joindre.".into(),
                "",
            )
        }
        Some(Ok(s)) => s,
        Some(Err(e)) => return upload_error(&auth, &st, &referral_id, message_id, e).await,
    };

    let new = NewAttachment {
        message_id,
        filename: stored.filename.clone(),
        content_type: stored.content_type.to_string(),
        size_bytes: stored.size as i64,
        sha256: stored.sha256.clone(),
        storage_key: stored.key.clone(),
    };
    let attachment = match attachments::record(&st.db, auth.scope(), &referral_id, &new).await {
        Ok(a) => a,
        Err(e) => {
            if let Err(d) = st.files.delete(&stored.key).await {
                tracing::error!(error = %d, key = %stored.key, "orphan attachment object left");
            }
            return parquet_error(&auth, &referral_id, e);
        }
    };
    let (status, code) = match stored.scan {
        ScanOutcome::Clean => (ScanStatus::Clean, "ajoutee"),
        ScanOutcome::NotScanned => (ScanStatus::NotScanned, "non_analysee"),
    };
    attachments::set_scan_status(&st.db, &auth.scope().actor, &attachment.id, status).await?;
    // A draft goes back to its wizard step, a sent referral to its page.
    let draft = store::parquet::referrals::get(&st.db, auth.scope(), &referral_id)
        .await
        .is_ok_and(|r| r.status == domain::ReferralStatus::Draft);
    let target = if draft {
        format!(
            "/info-parquet/signalements/{referral_id}/etapes/pieces-jointes?piece_jointe={code}"
        )
    } else {
        format!("/info-parquet/signalements/{referral_id}?piece_jointe={code}")
    };
    Ok(Redirect::to(&target).into_response())
}

async fn upload_error(
    auth: &Auth,
    st: &AppState,
    referral_id: &str,
    message_id: Option<String>,
    e: FileError,
) -> AppResult<Response> {
    let msg = e.to_string();
    match e {
        FileError::TooLarge { .. } => refused(
            auth,
            StatusCode::PAYLOAD_TOO_LARGE,
            referral_id,
            "Fichier trop volumineux",
            msg,
            "Aucune partie du fichier n'a été conservée. Découpez-le ou compressez-le, puis réessayez.",
        ),
        FileError::Infected { .. } => {
            // The object was never committed; the attempt is kept in the metadata (and the audit log) as
            // "infected", with its checksum, for the record.
            record_infected(auth, st, referral_id, message_id, &e).await;
            refused(
                auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                referral_id,
                "Fichier refusé",
                msg,
                "Le fichier n'a pas été enregistré. Faites analyser votre poste par votre service informatique.",
            )
        }
        FileError::Empty
        | FileError::BadName
        | FileError::TypeNotAllowed(_)
        | FileError::ContentMismatch(_) => refused(
            auth,
            StatusCode::UNPROCESSABLE_ENTITY,
            referral_id,
            "Fichier refusé",
            msg,
            "Le fichier n'a pas été enregistré.",
        ),
        FileError::Upload(_) => refused(
            auth,
            StatusCode::BAD_REQUEST,
            referral_id,
            "Envoi interrompu",
            "L'envoi du fichier a été interrompu avant la fin ; rien n'a été enregistré. Réessayez.".into(),
            "",
        ),
        FileError::ScanFailed(ref cause) => {
            tracing::error!(error = %cause, "antivirus unavailable: upload refused");
            refused(
                auth,
                StatusCode::SERVICE_UNAVAILABLE,
                referral_id,
                "Antivirus indisponible",
                "L'analyse antivirus n'a pas pu être faite ; le fichier n'a pas été enregistré. Réessayez plus \
                 tard."
                    .into(),
                "",
            )
        }
        FileError::Storage(_) | FileError::Crypto(_) => Err(AppError::Internal(e.into())),
    }
}

/// Keeps a trace of a refused infected upload: metadata with status `infected` and the refused file's checksum,
/// no object behind it (the audit log gets the record too).
async fn record_infected(
    auth: &Auth,
    st: &AppState,
    referral_id: &str,
    message_id: Option<String>,
    e: &FileError,
) {
    let FileError::Infected {
        filename,
        sha256,
        size,
        ..
    } = e
    else {
        return;
    };
    let new = NewAttachment {
        message_id,
        filename: filename.clone(),
        content_type: "application/octet-stream".into(),
        size_bytes: *size as i64,
        sha256: sha256.clone(),
        storage_key: format!("refused/{}", uuid::Uuid::new_v4().simple()),
    };
    match attachments::record(&st.db, auth.scope(), referral_id, &new).await {
        Ok(a) => {
            if let Err(e) = attachments::set_scan_status(
                &st.db,
                &auth.scope().actor,
                &a.id,
                ScanStatus::Infected,
            )
            .await
            {
                tracing::error!(error = %e, "recording an infected upload failed");
            }
        }
        Err(e) => tracing::warn!(error = %e, "infected upload not recorded"),
    }
}

async fn download(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    // Out of scope (or absent) is 404; the referral id is needed for the back link of a refusal.
    let meta = attachments::get(&st.db, auth.scope(), &id).await?;
    let a = match attachments::open_for_download(&st.db, auth.scope(), &id).await {
        Ok(a) => a,
        Err(ParquetError::Store(e)) => return Err(e.into()),
        Err(ParquetError::Forbidden(msg)) => {
            return refused(
                &auth,
                StatusCode::FORBIDDEN,
                &meta.referral_id,
                "Fichier indisponible",
                msg,
                "",
            )
        }
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let stream = match st.files.open(&a.storage_key).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(attachment = %a.id, error = %e, "attachment unreadable (missing or tampered)");
            return Err(AppError::Internal(e.into()));
        }
    };
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&a.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(a.size_bytes));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&content_disposition(&a.filename))
            .unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

/// `attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded` (RFC 6266 / 5987).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                encoded.push(b as char)
            }
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_is_safe_for_any_name() {
        assert_eq!(
            content_disposition("PV n°1 \"final\".pdf"),
            "attachment; filename=\"PV n_1 _final_.pdf\"; filename*=UTF-8''PV%20n%C2%B01%20%22final%22.pdf"
        );
        assert!(HeaderValue::from_str(&content_disposition("a\u{202e}b.pdf")).is_ok());
    }
}
