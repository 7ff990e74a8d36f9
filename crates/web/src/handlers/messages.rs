//! Messages seen from the outside and by agents: SMS delivery webhooks, the PPSMJ's STOP link, and the page of
//! messages that failed for good (with a retry action).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::page;
use crate::error::{AppError, AppResult};
use crate::session::{Auth, Ctx};
use crate::views::{datetime_fr, FailedMessagesPage, OutboxRow, PageCtx, StopPage};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/sms/{provider}", post(sms_webhook))
        .route("/stop/{token}", get(stop_form).post(stop_confirm))
        .route("/messages/echecs", get(failed))
        .route("/messages/{id}/relancer", post(retry))
}

/// The secret a provider presents, in a header only (`Authorization: Bearer …`, or the password of `Basic`): a
/// secret in the URL would end up in proxy and access logs.
fn presented_secret(headers: &HeaderMap) -> Option<String> {
    use base64::Engine;
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(token) = auth.and_then(|a| a.strip_prefix("Bearer ")) {
        return Some(token.trim().to_string());
    }
    let basic = auth.and_then(|a| a.strip_prefix("Basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(_, p)| p.to_string())
}

fn problem(status: StatusCode, title: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        Json(serde_json::json!({"type": "about:blank", "title": title, "status": status.as_u16()})),
    )
        .into_response()
}

pub async fn sms_webhook(
    State(st): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(expected) = st.config.sms.webhook_secret(&provider) else {
        return problem(StatusCode::NOT_FOUND, "Fournisseur inconnu");
    };
    let presented = presented_secret(&headers);
    let parsed = match provider.as_str() {
        "brevo" => messaging::parse_brevo_webhook(presented.as_deref(), expected, &body),
        _ => messaging::parse_linkmobility_webhook(presented.as_deref(), expected, &body),
    };
    let report = match parsed {
        Ok(r) => r,
        Err(messaging::WebhookError::Unauthorized) => {
            tracing::warn!(provider = %provider, "delivery webhook refused: bad secret");
            return problem(StatusCode::UNAUTHORIZED, "Secret invalide");
        }
        Err(messaging::WebhookError::Malformed(why)) => {
            tracing::warn!(provider = %provider, %why, "delivery webhook refused: malformed");
            return problem(StatusCode::BAD_REQUEST, "Accusé de réception illisible");
        }
    };
    match messaging::apply_delivery_report(&st.db, &report, store::now()).await {
        Ok(_) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(store::StoreError::NotFound) => {
            tracing::warn!(provider = %provider, "delivery receipt for an unknown message (kept)");
            problem(StatusCode::NOT_FOUND, "Message inconnu")
        }
        Err(e) => {
            tracing::error!(error = %e, "delivery receipt not recorded");
            problem(StatusCode::SERVICE_UNAVAILABLE, "Réessayez plus tard")
        }
    }
}

pub async fn stop_form(
    ctx: Ctx,
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let valid = store::optout::check_token(&st.db, &token).await.is_ok();
    if !valid {
        return Err(AppError::NotFound);
    }
    page(StopPage {
        ctx: PageCtx::new(&ctx, "Ne plus recevoir de SMS"),
        token,
        done: false,
    })
}

pub async fn stop_confirm(
    ctx: Ctx,
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    store::optout::opt_out_by_token(&st.db, &token, store::now()).await?;
    page(StopPage {
        ctx: PageCtx::new(&ctx, "Ne plus recevoir de SMS"),
        token,
        done: true,
    })
}

fn can_follow_messages(auth: &Auth) -> bool {
    let r = auth.user().role;
    r.is_msj() || r.is_national_admin()
}

pub async fn failed(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<FailedQuery>,
) -> AppResult<Response> {
    auth.require(can_follow_messages(&auth))?;
    let msgs = store::outbox::list_failed(&st.db, auth.scope(), 200).await?;
    let rows = msgs
        .into_iter()
        .map(|m| OutboxRow {
            at: datetime_fr(m.created_at),
            channel: if m.channel == "sms" { "SMS" } else { "E-mail" },
            no_retry: no_retry_note(&m),
            recipient: m.recipient,
            subject: m.id,
            // The stored text: an account message's link is never in it.
            body: m.body,
            state: m.last_error.unwrap_or_default(),
        })
        .collect();
    let mut ctx = PageCtx::new(&auth.1, "Messages en échec");
    if let Some((kind, text)) = q.notice() {
        ctx = ctx.with_notice(kind, text);
    }
    page(FailedMessagesPage { ctx, rows })
}

/// Why an agent cannot put this message back in the queue.
fn no_retry_note(m: &store::outbox::Message) -> &'static str {
    match m.kind.as_str() {
        "password_reset" => "Lien non envoyé : la personne doit refaire une demande depuis « Mot de passe oublié ».",
        "invitation" => "Lien non envoyé : la personne peut demander un nouveau lien depuis « Mot de passe oublié ».",
        _ => "",
    }
}

/// Notices of the page, from a fixed list of codes (never text carried by the link).
#[derive(Deserialize, Default)]
pub struct FailedQuery {
    #[serde(default)]
    ok: Option<String>,
    #[serde(default)]
    erreur: Option<String>,
}

impl FailedQuery {
    fn notice(&self) -> Option<(&'static str, &'static str)> {
        match (self.ok.as_deref(), self.erreur.as_deref()) {
            (_, Some("compte")) => Some((
                "error",
                "Ce message contenait un lien personnel : il ne peut pas être relancé. La personne doit refaire une demande.",
            )),
            (_, Some("etat")) => Some(("error", "Ce message n'est plus en échec.")),
            (Some("relance"), _) => Some(("success", "Le message a été remis dans la file d'envoi.")),
            _ => None,
        }
    }
}

pub async fn retry(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    auth.require(can_follow_messages(&auth))?;
    let to = match store::outbox::retry(&st.db, auth.scope(), &id, store::now()).await {
        Ok(()) => "/messages/echecs?ok=relance",
        Err(store::StoreError::Conflict(c)) if c == "outbox_account_message" => {
            "/messages/echecs?erreur=compte"
        }
        Err(store::StoreError::Conflict(_)) => "/messages/echecs?erreur=etat",
        Err(e) => return Err(e.into()),
    };
    Ok(Redirect::to(to).into_response())
}
