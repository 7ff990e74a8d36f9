//! Health, OpenAPI document, demo outbox, legal pages, 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::page;
use crate::error::{AppError, AppResult};
use crate::session::Ctx;
use crate::views::{datetime_fr, DemoOutboxPage, OutboxRow, PageCtx, TextPage};
use crate::AppState;

pub async fn healthz(State(st): State<AppState>) -> Response {
    let version = env!("CARGO_PKG_VERSION");
    let database = st.db.backend().as_str();
    match st.db.ping().await {
        Ok(()) => {
            Json(serde_json::json!({"status": "ok", "database": database, "version": version}))
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable", "database": database, "version": version,
                    "reason": "database unreachable"})),
            )
                .into_response()
        }
    }
}

/// The OpenAPI 3 document of every JSON endpoint.
pub async fn openapi() -> Response {
    Json(openapi_document()).into_response()
}

pub fn openapi_document() -> serde_json::Value {
    serde_json::json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Passerelle API",
            "version": "1",
            "description": "API JSON de Passerelle (ministère de la Justice). Les erreurs suivent RFC 9457 (application/problem+json)."
        },
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "État du service et de sa base de données",
                    "responses": {
                        "200": {"description": "Service disponible", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                        "503": {"description": "Base de données injoignable", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "Health": {
                    "type": "object",
                    "required": ["status", "database", "version"],
                    "properties": {
                        "status": {"type": "string", "enum": ["ok", "unavailable"]},
                        "database": {"type": "string", "enum": ["sqlite", "postgres"]},
                        "version": {"type": "string"},
                        "reason": {"type": "string"}
                    }
                },
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                        "detail": {"type": "string"}, "errors": {"type": "array", "items": {"type": "object"}}
                    }
                }
            }
        }
    })
}

/// In demo mode only: what would have been sent (no login needed, so a reset link can be read).
pub async fn demo_outbox(ctx: Ctx, State(st): State<AppState>) -> AppResult<Response> {
    if !st.config.is_demo() {
        return Err(AppError::NotFound);
    }
    let msgs =
        store::outbox::list_recent(&st.db, &store::Scope::system("demo outbox"), 200).await?;
    let rows = msgs
        .into_iter()
        .map(|m| OutboxRow {
            at: datetime_fr(m.created_at),
            channel: if m.channel == "sms" { "SMS" } else { "E-mail" },
            recipient: m.recipient,
            subject: m.subject.unwrap_or_default(),
            body: m.body,
            state: m.state,
        })
        .collect();
    page(DemoOutboxPage {
        ctx: PageCtx::new(&ctx, "Messages envoyés"),
        rows,
    })
}

pub async fn accessibility(ctx: Ctx) -> AppResult<Response> {
    page(TextPage {
        ctx: PageCtx::new(&ctx, "Déclaration d'accessibilité"),
        paragraphs: vec![
            "Le ministère de la Justice s'engage à rendre Passerelle accessible conformément à l'article 47 de la loi n° 2005-102 du 11 février 2005.",
            "État de conformité : Passerelle est partiellement conforme avec le référentiel général d'amélioration de l'accessibilité (RGAA) version 4. Chaque page est contrôlée automatiquement (axe-core) à chaque version ; aucun audit manuel complet n'a encore été réalisé.",
            "Si vous n'arrivez pas à accéder à un contenu ou à un service, contactez l'administrateur de votre service pour être orienté vers une alternative accessible.",
            "Voie de recours : si vous constatez un défaut d'accessibilité vous empêchant d'accéder à un contenu et que vous n'obtenez pas de réponse, vous pouvez saisir le Défenseur des droits.",
        ],
    })
}

pub async fn legal(ctx: Ctx) -> AppResult<Response> {
    page(TextPage {
        ctx: PageCtx::new(&ctx, "Mentions légales"),
        paragraphs: vec![
            "Éditeur : ministère de la Justice, 13 place Vendôme, 75042 Paris Cedex 01.",
            "Directeur de la publication : le secrétaire général du ministère de la Justice.",
            "Hébergement : infrastructure du ministère de la Justice.",
        ],
    })
}

pub async fn privacy(ctx: Ctx) -> AppResult<Response> {
    page(TextPage {
        ctx: PageCtx::new(&ctx, "Données personnelles"),
        paragraphs: vec![
            "Responsable de traitement : ministère de la Justice. Les données sont traitées pour l'exécution des décisions de justice et le traitement des signalements prévus par l'article 40 du code de procédure pénale.",
            "Chaque consultation ou modification du dossier d'une personne est tracée dans un journal d'audit non modifiable.",
            "Durées de conservation : un dossier sans activité pendant 12 mois est archivé, puis supprimé 6 mois plus tard.",
            "Vous disposez d'un droit d'accès et de rectification auprès du délégué à la protection des données du ministère de la Justice.",
        ],
    })
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}
