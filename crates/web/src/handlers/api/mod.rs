//! JSON API v1 (token-authenticated, problem+json errors), documented in `/api/v1/openapi.json`.
//!
//! `Authorization: Bearer psl_ip_…` — a per-service token (`store::parquet::tokens`) acting as an agent of its
//! service with its scopes (`referrals:write`, `referrals:read`). Same validation, audit and limits as the web
//! wizard (`store::parquet::referrals::create_submitted`). Errors are RFC 9457 problem details; a referral out of
//! the token's service is a 404, as in the web pages.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::{ReferralDecision, ReferralStatus};
use serde_json::{json, Value};
use store::parquet::referrals::{self, ApiOrigin, NewReferral, Referral, ReferralFilter};
use store::parquet::tokens::{self, ApiPrincipal, SCOPE_READ, SCOPE_WRITE};
use store::parquet::{attachments, FieldErrorKind, ParquetError};

use crate::session::Ctx;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/referrals", get(list).post(create))
        .route("/api/v1/referrals/{id}", get(show))
}

/// A problem details response (RFC 9457).
pub fn problem(
    status: StatusCode,
    title: &str,
    detail: &str,
    errors: Option<Vec<Value>>,
) -> Response {
    let mut body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(e) = errors {
        body["errors"] = Value::Array(e);
    }
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

fn kind_code(k: FieldErrorKind) -> &'static str {
    match k {
        FieldErrorKind::Missing => "missing",
        FieldErrorKind::TooLong => "too_long",
        FieldErrorKind::Invalid => "invalid",
        FieldErrorKind::Unknown => "unknown",
        FieldErrorKind::Inconsistent => "inconsistent",
    }
}

/// The API's error policy for store errors.
fn error_response(e: ParquetError) -> Response {
    match e {
        ParquetError::Invalid(fields) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Signalement invalide",
            "Un ou plusieurs champs sont invalides : voir « errors ».",
            Some(
                fields
                    .iter()
                    .map(|f| json!({"field": f.field, "code": kind_code(f.kind), "message": f.message}))
                    .collect(),
            ),
        ),
        ParquetError::Store(store::StoreError::NotFound) => problem(
            StatusCode::NOT_FOUND,
            "Introuvable",
            "Ce signalement n'existe pas ou n'est pas accessible avec ce jeton.",
            None,
        ),
        ParquetError::Store(store::StoreError::Conflict(what)) if what == "idempotency_key" => {
            problem(
                StatusCode::CONFLICT,
                "Clé d'idempotence déjà utilisée",
                "Cette clé d'idempotence a déjà servi pour une requête différente : utilisez une nouvelle clé.",
                None,
            )
        }
        ParquetError::Store(store::StoreError::Conflict(_)) => problem(
            StatusCode::CONFLICT,
            "Conflit",
            "La requête entre en conflit avec l'état actuel : réessayez.",
            None,
        ),
        ParquetError::Transition(t) => {
            problem(StatusCode::CONFLICT, "Transition refusée", &t.to_string(), None)
        }
        ParquetError::Forbidden(m) => problem(StatusCode::FORBIDDEN, "Interdit", &m, None),
        ParquetError::Unauthenticated => unauthenticated(),
        other => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            tracing::error!(request_id = %id, error = ?other, "API internal error");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Erreur inattendue",
                &format!("Le service a rencontré un problème. Référence : {id}"),
                None,
            )
        }
    }
}

fn unauthenticated() -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        "Authentification requise",
        "Jeton d'API absent, inconnu ou révoqué : envoyez l'en-tête « Authorization: Bearer <jeton> ».",
        None,
    )
}

async fn principal(
    st: &AppState,
    headers: &HeaderMap,
    ctx: &Ctx,
) -> Result<ApiPrincipal, Response> {
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(unauthenticated)?;
    tokens::authenticate(&st.db, raw, ctx.ip.clone())
        .await
        .map_err(error_response)
}

fn date(d: Option<chrono::NaiveDate>) -> Value {
    d.map(|d| Value::String(d.to_string()))
        .unwrap_or(Value::Null)
}

fn instant(t: Option<i64>) -> Value {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

fn decision_json(r: &Referral) -> Value {
    let Some(d) = &r.decision else {
        return Value::Null;
    };
    let mut v = json!({
        "kind": d.kind().as_str(),
        "label": d.kind().label(),
        "text": r.decision_text,
        "decided_at": instant(r.decided_at),
        "appeal_notice": d.appeal_notice(),
    });
    match d {
        ReferralDecision::Poursuites { court_date } => v["court_date"] = date(*court_date),
        ReferralDecision::AlternativeAuxPoursuites { alternative } => {
            v["alternative"] = json!({"code": alternative.as_str(), "label": alternative.label()})
        }
        ReferralDecision::ClassementSansSuite { reason } => {
            v["reason"] = json!({"code": reason.as_str(), "label": reason.label()})
        }
    }
    v
}

fn referral_json(r: &Referral) -> Value {
    json!({
        "id": r.id,
        "tracking_number": r.tracking_number,
        "status": r.status.as_str(),
        "status_label": r.status.label(),
        "internal_reference": r.internal_reference,
        "urgent": r.urgent,
        "parquet": r.parquet_id.as_ref().map(|id| json!({"id": id, "name": r.parquet_name})),
        "parquet_case_number": r.parquet_case_number,
        "sent_at": instant(r.sent_at),
        "acknowledged_at": instant(r.acknowledged_at),
        "registered_at": instant(r.registered_at),
        "last_status_change_at": instant(Some(r.last_status_change_at)),
        "decision": decision_json(r),
    })
}

/// `POST /api/v1/referrals` — creates and sends a referral in one call.
pub async fn create(
    ctx: Ctx,
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = match principal(&st, &headers, &ctx).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(e) = p.require(SCOPE_WRITE) {
        return error_response(e);
    }
    let input: NewReferral = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Corps de requête illisible",
                &format!(
                    "Le corps doit être un objet JSON conforme au schéma NewReferral (ligne {}, colonne {}).",
                    e.line(),
                    e.column()
                ),
                Some(vec![json!({"field": "body", "code": "invalid", "message": "JSON invalide ou champ d'un type inattendu."})]),
            )
        }
    };
    let idempotency = headers.get("idempotency-key").map(|v| {
        (
            v.to_str().unwrap_or("").to_string(),
            store::sha256_hex(&String::from_utf8_lossy(&body)),
        )
    });
    let origin = ApiOrigin {
        token_id: p.token.id.clone(),
        idempotency,
    };
    match referrals::create_submitted(&st.db, &p.scope, &input, Some(&origin)).await {
        Ok((r, replayed)) => {
            let mut res = (StatusCode::CREATED, axum::Json(referral_json(&r))).into_response();
            if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/referrals/{}", r.id)) {
                res.headers_mut().insert(header::LOCATION, loc);
            }
            if replayed {
                res.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            res
        }
        Err(e) => error_response(e),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    offset: Option<i64>,
}

/// `GET /api/v1/referrals` — the referrals of the token's service.
pub async fn list(
    ctx: Ctx,
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let p = match principal(&st, &headers, &ctx).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(e) = p.require(SCOPE_READ) {
        return error_response(e);
    }
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<ReferralStatus>() {
            Ok(s) => Some(s),
            Err(_) => {
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Paramètre invalide",
                    "status : état inconnu.",
                    Some(vec![
                        json!({"field": "status", "code": "invalid", "message": format!("État inconnu : {s}.")}),
                    ]),
                )
            }
        },
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = q.offset.unwrap_or(0).max(0);
    let filter = ReferralFilter {
        status,
        limit,
        offset,
        ..Default::default()
    };
    match referrals::list(&st.db, &p.scope, &filter).await {
        Ok(list) => {
            // Persons named in referrals are personal data: one audit row per call, naming the query.
            if let Err(e) = store::audit::record(
                st.db.pool(),
                &p.scope.actor,
                "referral.api_list",
                "referral",
                None,
                Some(json!({
                    "status": status.map(|s| s.as_str()), "limit": limit, "offset": offset,
                    "shown": list.len(),
                })),
            )
            .await
            {
                return error_response(e.into());
            }
            axum::Json(json!({
            "items": list.iter().map(referral_json).collect::<Vec<_>>(),
            "limit": limit,
            "offset": offset,
            }))
            .into_response()
        }
        Err(e) => error_response(e.into()),
    }
}

/// `GET /api/v1/referrals/{id}` — status, decision, history, places, offences, attachments.
pub async fn show(
    ctx: Ctx,
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let p = match principal(&st, &headers, &ctx).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(e) = p.require(SCOPE_READ) {
        return error_response(e);
    }
    let d = match referrals::get_detail(&st.db, &p.scope, &id).await {
        Ok(d) => d,
        Err(e) => return error_response(e.into()),
    };
    let atts = match attachments::list(&st.db, &p.scope, &id).await {
        Ok(a) => a,
        Err(e) => return error_response(e.into()),
    };
    let mut v = referral_json(&d.referral);
    v["facts"] = json!({
        "description": d.referral.facts_description,
        "start_date": date(d.referral.facts_start),
        "end_date": date(d.referral.facts_end),
    });
    v["places"] = d
        .places
        .iter()
        .map(|p| json!({"insee": p.insee, "commune": p.commune_name, "address": p.address}))
        .collect();
    v["offences"] = d
        .offences
        .iter()
        .map(|o| json!({"natinf": o.code, "label": o.label}))
        .collect();
    v["events"] = d
        .events
        .iter()
        .map(|e| {
            json!({
                "from": e.from.map(|s| s.as_str()), "to": e.to.as_str(), "label": e.to.label(),
                "at": instant(Some(e.at)), "comment": e.comment,
            })
        })
        .collect();
    v["attachments"] = atts
        .iter()
        .map(|a| {
            json!({
                "id": a.id, "filename": a.filename, "content_type": a.content_type, "size_bytes": a.size_bytes,
                "sha256": a.sha256, "scan_status": a.scan_status.as_str(),
            })
        })
        .collect();
    axum::Json(v).into_response()
}
