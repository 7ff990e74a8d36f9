//! Health, OpenAPI document, demo outbox, legal pages, 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::page;
use crate::error::{AppError, AppResult};
use crate::session::{Auth, Ctx};
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
            },
            "/api/v1/referrals": {
                "post": {
                    "summary": "Déposer un signalement (article 40 du code de procédure pénale) et l'envoyer au parquet",
                    "description": "Mêmes contrôles que le formulaire web ; toutes les erreurs de champ sont renvoyées ensemble (422). Avec l'en-tête Idempotency-Key, un nouvel essai avec le même corps renvoie le signalement déjà créé (en-tête Idempotent-Replayed: true) ; la même clé avec un autre corps est refusée (409). Droit requis : referrals:write.",
                    "security": [{"bearerAuth": []}],
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 255}}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewReferral"}}}},
                    "responses": {
                        "201": {"description": "Signalement créé et transmis (ou rejoué)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Referral"}}}},
                        "401": {"$ref": "#/components/responses/Unauthorized"},
                        "403": {"$ref": "#/components/responses/Forbidden"},
                        "409": {"$ref": "#/components/responses/Conflict"},
                        "422": {"$ref": "#/components/responses/Invalid"}
                    }
                },
                "get": {
                    "summary": "Lister les signalements du service du jeton",
                    "security": [{"bearerAuth": []}],
                    "parameters": [
                        {"name": "status", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/ReferralStatus"}},
                        {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
                        {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}}
                    ],
                    "responses": {
                        "200": {"description": "Signalements (urgents non confirmés d'abord, puis par date d'envoi)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReferralList"}}}},
                        "401": {"$ref": "#/components/responses/Unauthorized"},
                        "403": {"$ref": "#/components/responses/Forbidden"},
                        "422": {"$ref": "#/components/responses/Invalid"}
                    }
                }
            },
            "/api/v1/referrals/{id}": {
                "get": {
                    "summary": "État, décision et historique d'un signalement du service",
                    "security": [{"bearerAuth": []}],
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "Le signalement", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReferralDetail"}}}},
                        "401": {"$ref": "#/components/responses/Unauthorized"},
                        "403": {"$ref": "#/components/responses/Forbidden"},
                        "404": {"$ref": "#/components/responses/NotFound"}
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
                },
                "FieldError": {
                    "type": "object",
                    "required": ["field", "code", "message"],
                    "properties": {
                        "field": {"type": "string", "example": "facts.start_date"},
                        "code": {"type": "string", "enum": ["missing", "too_long", "invalid", "unknown", "inconsistent"]},
                        "message": {"type": "string", "example": "La date ne peut pas être dans le futur."}
                    }
                },
                "ReferralStatus": {"type": "string", "enum": ["draft", "sent", "registered", "assigned", "under_investigation", "decided", "transferred"]},
                "NewReferral": {
                    "type": "object",
                    "required": ["facts", "places", "offences", "submit"],
                    "properties": {
                        "internal_reference": {"type": "string", "maxLength": 100},
                        "facts": {"type": "object", "properties": {
                            "description": {"type": "string", "maxLength": 20000},
                            "start_date": {"type": "string", "format": "date"},
                            "end_date": {"type": "string", "format": "date"}}},
                        "places": {"type": "array", "maxItems": 50, "items": {"type": "object", "required": ["insee"], "properties": {
                            "insee": {"type": "string", "description": "Code INSEE de la commune", "example": "92050"},
                            "address": {"type": "string", "maxLength": 500}}}},
                        "persons": {"type": "array", "maxItems": 200, "items": {"type": "object", "required": ["kind", "role"], "properties": {
                            "kind": {"type": "string", "enum": ["natural", "legal"]},
                            "role": {"type": "string", "enum": ["suspect", "victim", "witness"]},
                            "first_name": {"type": "string"}, "last_name": {"type": "string"},
                            "birth_date": {"type": "string", "format": "date"},
                            "legal_name": {"type": "string"},
                            "siren": {"type": "string", "description": "9 chiffres, clé de Luhn vérifiée"},
                            "residence_insee": {"type": "string"}}}},
                        "offences": {"type": "array", "maxItems": 50, "items": {"type": "string", "description": "Code NATINF", "example": "7875"}},
                        "urgency": {"type": "object", "properties": {"urgent": {"type": "boolean"}, "reason": {"type": "string", "maxLength": 2000}}},
                        "submit": {"type": "object", "required": ["art40_declaration"], "properties": {
                            "art40_declaration": {"type": "boolean", "description": "Doit valoir true : faits signalés au titre de l'article 40 du code de procédure pénale"},
                            "parquet_id": {"type": "string", "nullable": true, "description": "Absent : le parquet proposé d'après la commune des faits"},
                            "override_reason": {"type": "string", "description": "Obligatoire quand parquet_id diffère du parquet proposé"}}}
                    }
                },
                "Decision": {
                    "type": "object",
                    "nullable": true,
                    "properties": {
                        "kind": {"type": "string", "enum": ["poursuites", "alternative_aux_poursuites", "classement_sans_suite"]},
                        "label": {"type": "string"},
                        "court_date": {"type": "string", "format": "date", "nullable": true},
                        "alternative": {"type": "object", "properties": {"code": {"type": "string"}, "label": {"type": "string"}}},
                        "reason": {"type": "object", "properties": {"code": {"type": "string"}, "label": {"type": "string"}}},
                        "text": {"type": "string", "nullable": true},
                        "decided_at": {"type": "string", "format": "date-time"},
                        "appeal_notice": {"type": "string", "nullable": true, "description": "Recours de l'article 40-3 (classement sans suite)"}
                    }
                },
                "Referral": {
                    "type": "object",
                    "required": ["id", "status"],
                    "properties": {
                        "id": {"type": "string"},
                        "tracking_number": {"type": "string", "nullable": true, "example": "IP-2027-000123"},
                        "status": {"$ref": "#/components/schemas/ReferralStatus"},
                        "status_label": {"type": "string"},
                        "internal_reference": {"type": "string", "nullable": true},
                        "urgent": {"type": "boolean"},
                        "parquet": {"type": "object", "nullable": true, "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
                        "parquet_case_number": {"type": "string", "nullable": true},
                        "sent_at": {"type": "string", "format": "date-time", "nullable": true},
                        "acknowledged_at": {"type": "string", "format": "date-time", "nullable": true},
                        "registered_at": {"type": "string", "format": "date-time", "nullable": true},
                        "last_status_change_at": {"type": "string", "format": "date-time"},
                        "decision": {"$ref": "#/components/schemas/Decision"}
                    }
                },
                "ReferralList": {
                    "type": "object",
                    "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Referral"}},
                        "limit": {"type": "integer"}, "offset": {"type": "integer"}
                    }
                },
                "ReferralDetail": {
                    "allOf": [{"$ref": "#/components/schemas/Referral"}, {"type": "object", "properties": {
                        "facts": {"type": "object", "properties": {"description": {"type": "string"}, "start_date": {"type": "string", "format": "date"}, "end_date": {"type": "string", "format": "date", "nullable": true}}},
                        "places": {"type": "array", "items": {"type": "object", "properties": {"insee": {"type": "string"}, "commune": {"type": "string"}, "address": {"type": "string", "nullable": true}}}},
                        "offences": {"type": "array", "items": {"type": "object", "properties": {"natinf": {"type": "string"}, "label": {"type": "string"}}}},
                        "events": {"type": "array", "items": {"type": "object", "properties": {"from": {"type": "string", "nullable": true}, "to": {"$ref": "#/components/schemas/ReferralStatus"}, "label": {"type": "string"}, "at": {"type": "string", "format": "date-time"}, "comment": {"type": "string", "nullable": true}}}},
                        "attachments": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "filename": {"type": "string"}, "content_type": {"type": "string"}, "size_bytes": {"type": "integer"}, "sha256": {"type": "string"}, "scan_status": {"type": "string", "enum": ["pending", "clean", "infected", "error"]}}}}
                    }}]
                }
            },
            "responses": {
                "Unauthorized": {"description": "Jeton absent, inconnu ou révoqué", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                "Forbidden": {"description": "Le jeton n'a pas le droit requis", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                "NotFound": {"description": "Signalement inexistant ou hors du service du jeton", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                "Conflict": {"description": "Clé d'idempotence déjà utilisée avec un autre corps", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                "Invalid": {"description": "Champs invalides, un message en français par champ", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Jeton d'API d'un service (psl_ip_…), créé par un responsable de l'administration"}
            }
        }
    })
}

/// In demo mode only: what would have been sent, for a signed-in agent: the messages to their own address (with
/// their links) and those about persons whose records they read; the national admin sees every message, but
/// another account's link only as a placeholder. Absent under `serve`.
pub async fn demo_outbox(
    auth: Result<Auth, Response>,
    State(st): State<AppState>,
) -> AppResult<Response> {
    if !st.config.is_demo() {
        return Err(AppError::NotFound);
    }
    let auth = match auth {
        Ok(a) => a,
        Err(to_login) => return Ok(to_login),
    };
    let own = auth.user().email.clone();
    let msgs = store::outbox::list_demo(&st.db, auth.scope(), &own, 200).await?;
    let rows = msgs
        .into_iter()
        .map(|m| {
            let mine = m.recipient.eq_ignore_ascii_case(&own);
            let relation = if mine {
                store::Relation::ThePersonThemself
            } else {
                store::Relation::Managed
            };
            let body = if auth.scope().allows_as(store::Action::ReadSecret, relation) {
                m.body_for_recipient()
            } else {
                m.body.clone()
            };
            OutboxRow {
                at: datetime_fr(m.created_at),
                channel: if m.channel == "sms" { "SMS" } else { "E-mail" },
                recipient: m.recipient,
                subject: m.subject.unwrap_or_default(),
                body,
                state: crate::handlers::msj::ppsmj::message_state_label(&m.state).to_string(),
                no_retry: "",
            }
        })
        .collect();
    page(DemoOutboxPage {
        ctx: PageCtx::new(&auth.1, "Messages envoyés"),
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
