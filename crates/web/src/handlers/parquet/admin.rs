//! Reference-data helpers (commune and NATINF look-ups as JSON), the national admin's missing routing mappings and
//! the administration managers' API tokens.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use store::parquet::routing::{self, MissingReason};
use store::parquet::tokens::{self, SCOPE_READ, SCOPE_WRITE};
use store::roles::{OrgKind, Role};

use super::views::*;
use super::{user_errors, Errors};
use crate::error::AppResult;
use crate::handlers::page;
use crate::session::Auth;
use crate::views::{datetime_fr, Choice, PageCtx};
use crate::AppState;

#[derive(serde::Deserialize, Default)]
pub struct Q {
    #[serde(default)]
    q: String,
}

/// `GET /info-parquet/communes?q=` — communes by name prefix, postcode or INSEE code (for a `<datalist>`).
pub async fn communes_json(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<Q>,
) -> AppResult<Response> {
    auth.require(auth.user().role.is_info_parquet() || auth.user().role.is_national_admin())?;
    let found = store::refdata::search_communes(&st.db, &q.q, 20).await?;
    let out: Vec<_> = found
        .into_iter()
        .map(|c| {
            serde_json::json!({
                "insee": c.insee, "nom": c.name, "departement": c.departement, "codes_postaux": c.postcodes,
                "libelle": format!("{} ({})", c.name, c.departement),
            })
        })
        .collect();
    Ok(Json(out).into_response())
}

/// `GET /info-parquet/natinf?q=` — offences by code or words, best first.
pub async fn natinf_json(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<Q>,
) -> AppResult<Response> {
    auth.require(auth.user().role.is_info_parquet() || auth.user().role.is_national_admin())?;
    let found = store::parquet::natinf::search(&st.db, &q.q, 20).await?;
    let out: Vec<_> = found
        .into_iter()
        .map(|e| serde_json::json!({ "code": e.code, "libelle": e.label, "nature": e.nature, "famille": e.family }))
        .collect();
    Ok(Json(out).into_response())
}

/// Communes of the facts that lead to no parquet: the national admin completes the reference data from it.
pub async fn missing_mappings(auth: Auth, State(st): State<AppState>) -> AppResult<Response> {
    auth.require(auth.user().role.is_national_admin())?;
    let rows = routing::missing_mappings(&st.db, auth.scope())
        .await?
        .into_iter()
        .map(|m| MissingRow {
            insee: m.insee,
            commune: m.commune_name,
            reason: match m.reason {
                MissingReason::NoJuridiction => {
                    "Commune absente de la table des juridictions".into()
                }
                MissingReason::NoParquet { tj_name } => {
                    format!("« {tj_name} » n'a pas de parquet dans Passerelle")
                }
            },
            referrals: m.referrals,
            last_seen: datetime_fr(m.last_seen_at),
        })
        .collect();
    page(MissingPage {
        ctx: PageCtx::new(&auth.1, "Correspondances manquantes"),
        rows,
    })
}

fn may_manage_tokens(role: Role) -> bool {
    role == Role::AdminManager || role.is_national_admin()
}

async fn tokens_page(
    st: &AppState,
    auth: &Auth,
    errors: Errors,
    form: &HashMap<String, String>,
) -> AppResult<TokensPage> {
    let scope = auth.scope();
    let services: Vec<_> = store::orgs::list_managed(&st.db, scope)
        .await?
        .into_iter()
        .filter(|o| o.kind == OrgKind::Service && o.active)
        .collect();
    let mut rows = vec![];
    for s in &services {
        for t in tokens::list(&st.db, scope, &s.id).await? {
            rows.push(TokenRow {
                id: t.id.clone(),
                name: t.name.clone(),
                service: s.name.clone(),
                scopes: t
                    .scopes
                    .iter()
                    .map(|x| match x.as_str() {
                        SCOPE_WRITE => "déposer",
                        SCOPE_READ => "consulter",
                        other => other,
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                created: datetime_fr(t.created_at),
                last_used: t
                    .last_used_at
                    .map(datetime_fr)
                    .unwrap_or_else(|| "jamais".into()),
                revoked: t.revoked_at.map(datetime_fr).unwrap_or_default(),
            });
        }
    }
    let chosen = form.get("service_id").cloned().unwrap_or_default();
    Ok(TokensPage {
        ctx: PageCtx::new(&auth.1, "Jetons d'API"),
        rows,
        services: services
            .into_iter()
            .map(|s| Choice {
                selected: s.id == chosen,
                value: s.id,
                label: s.name,
            })
            .collect(),
        name: form.get("name").cloned().unwrap_or_default(),
        read: form.is_empty() || form.contains_key("read"),
        write: form.is_empty() || form.contains_key("write"),
        errors,
        raw_token: None,
    })
}

#[derive(serde::Deserialize, Default)]
pub struct OkQuery {
    #[serde(default)]
    ok: String,
}

pub async fn tokens(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<OkQuery>,
) -> AppResult<Response> {
    auth.require(may_manage_tokens(auth.user().role))?;
    let mut p = tokens_page(&st, &auth, Errors::default(), &HashMap::new()).await?;
    if q.ok == "revoque" {
        p.ctx = p
            .ctx
            .with_notice("success", "Jeton révoqué : il ne permet plus aucun appel.");
    }
    page(p)
}

pub async fn token_create(
    auth: Auth,
    State(st): State<AppState>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    auth.require(may_manage_tokens(auth.user().role))?;
    let mut scopes = vec![];
    if f.contains_key("write") {
        scopes.push(SCOPE_WRITE);
    }
    if f.contains_key("read") {
        scopes.push(SCOPE_READ);
    }
    let service = f.get("service_id").cloned().unwrap_or_default();
    let name = f.get("name").cloned().unwrap_or_default();
    let mut errors = Errors::default();
    if service.is_empty() {
        errors.push(
            "service_id",
            "Choisissez le service qui utilisera le jeton.",
        );
    }
    if scopes.is_empty() {
        errors.push("scopes", "Cochez au moins un droit.");
    }
    if !errors.any() {
        match tokens::create(&st.db, auth.scope(), &service, &name, &scopes).await {
            Ok((token, raw)) => {
                let mut p = tokens_page(&st, &auth, Errors::default(), &HashMap::new()).await?;
                p.ctx = p.ctx.with_notice(
                    "success",
                    format!(
                        "Jeton « {} » créé. Copiez-le maintenant : il ne sera plus affiché.",
                        token.name
                    ),
                );
                p.raw_token = Some(raw.0);
                return page(p);
            }
            Err(store::parquet::ParquetError::Store(store::StoreError::NotFound)) => {
                errors.push("service_id", "Choisissez un service dans la liste.")
            }
            Err(e) => errors.extend(user_errors(e)?),
        }
    }
    let mut resp = page(tokens_page(&st, &auth, errors, &f).await?)?;
    *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

pub async fn token_revoke(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    auth.require(may_manage_tokens(auth.user().role))?;
    if let Err(e) = tokens::revoke(&st.db, auth.scope(), &id).await {
        let errors = user_errors(e)?;
        let mut p = tokens_page(&st, &auth, Errors::default(), &HashMap::new()).await?;
        p.ctx = p.ctx.with_notice("error", errors.messages().join(" "));
        return page(p);
    }
    Ok(Redirect::to("/info-parquet/jetons?ok=revoque").into_response())
}
