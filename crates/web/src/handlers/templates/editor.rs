//! The list of texts, the editor (save, preview, back to the national text) and the JSON preview used while typing.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use domain::template::{Template as MessageText, Variable};
use serde::{Deserialize, Serialize};
use store::orgs;
use store::roles::OrgKind;
use store::templates::{self, SaveError, ANY_TYPE, KINDS, LANGUAGES};

use super::{
    effective_in, html_lang, is_exact, kind_label, language_label, may_edit, sample_vars, sms_info,
    source_label, target_org, SmsInfo,
};
use crate::error::{AppError, AppResult};
use crate::handlers::page;
use crate::session::{urlencode, Auth};
use crate::views::{Choice, PageCtx};
use crate::AppState;

#[derive(Deserialize, Default)]
pub struct Params {
    /// Another organisation than the user's own (national administrator; a managed organisation).
    #[serde(default)]
    pub organisation: Option<String>,
    #[serde(default)]
    pub ok: Option<String>,
    #[serde(default)]
    pub retabli: Option<String>,
}

/// The organisation whose texts are shown (None: the national texts), after checking the user may manage it.
fn chosen_org(auth: &Auth, requested: Option<&str>) -> AppResult<Option<String>> {
    auth.require(may_edit(auth.user().role))?;
    match requested.filter(|o| !o.is_empty()) {
        None => Ok(target_org(auth)),
        Some(o) if auth.scope().can_manage(o) => Ok(Some(o.to_string())),
        Some(_) => Err(AppError::NotFound),
    }
}

/// `?organisation=…` to keep on links and forms when the organisation is not the user's default.
fn org_query(auth: &Auth, org: Option<&str>) -> String {
    match org {
        Some(o) if target_org(auth).as_deref() != Some(o) => {
            format!("?organisation={}", urlencode(o))
        }
        _ => String::new(),
    }
}

fn with_param(query: &str, param: &str) -> String {
    if query.is_empty() {
        format!("?{param}")
    } else {
        format!("{query}&{param}")
    }
}

/// Label of an appointment type code, or 404 for an unknown code.
async fn type_label(st: &AppState, code: &str) -> AppResult<String> {
    if code == ANY_TYPE {
        return Ok("Tous les types de rendez-vous (texte par défaut)".into());
    }
    store::msj::places::appointment_types(&st.db)
        .await?
        .into_iter()
        .find(|t| t.id == code)
        .map(|t| t.label)
        .ok_or(AppError::NotFound)
}

// ---------- list ----------

pub struct Cell {
    pub href: String,
    pub label: String,
    /// DSFR badge variant.
    pub badge: &'static str,
    pub language: &'static str,
}

pub struct Row {
    pub type_label: String,
    pub kind_label: &'static str,
    pub cells: Vec<Cell>,
}

#[derive(Template)]
#[template(path = "msg_templates/list.html")]
pub struct ListPage {
    pub ctx: PageCtx,
    pub organisation: Option<String>,
    pub languages: Vec<&'static str>,
    pub rows: Vec<Row>,
    pub overrides: usize,
    /// Organisations the national administrator may pick (empty for others).
    pub choices: Vec<Choice>,
}

pub async fn list(
    auth: Auth,
    State(st): State<AppState>,
    Query(params): Query<Params>,
) -> AppResult<Response> {
    let org = chosen_org(&auth, params.organisation.as_deref())?;
    let org_ref = org.as_deref();
    let texts = templates::list(&st.db, auth.scope(), org_ref).await?;
    let organisation = match org_ref {
        Some(o) => Some(orgs::get_unscoped(&st.db, o).await?),
        None => None,
    };
    let host_kind = organisation.as_ref().map(|o| o.kind.as_str());
    let mut types = vec![(
        ANY_TYPE.to_string(),
        "Tous les types (texte par défaut)".to_string(),
    )];
    types.extend(
        store::msj::places::appointment_types(&st.db)
            .await?
            .into_iter()
            .filter(|t| host_kind.is_none_or(|k| k == t.host_kind))
            .map(|t| (t.id, t.label)),
    );
    let query = org_query(&auth, org_ref);
    let mut rows = vec![];
    for (code, label) in &types {
        for kind in KINDS {
            let cells = LANGUAGES
                .iter()
                .map(|lang| {
                    let t = effective_in(&texts, org_ref, code, kind, lang);
                    let (label, badge) = match t {
                        None => ("Aucun texte".to_string(), "warning"),
                        Some(t) if org_ref.is_some() && is_exact(t, org_ref, code, lang) => {
                            ("Modifié par votre service".to_string(), "success")
                        }
                        Some(t) if org_ref.is_none() && is_exact(t, None, code, lang) => {
                            ("Texte national propre".to_string(), "info")
                        }
                        Some(t) if t.language != *lang => {
                            ("Texte français (pas de traduction)".to_string(), "warning")
                        }
                        Some(t) if t.organisation_id.is_some() => {
                            ("Texte du service (tous types)".to_string(), "new")
                        }
                        Some(t) if t.appointment_type == ANY_TYPE && code != ANY_TYPE => {
                            ("Texte national commun".to_string(), "")
                        }
                        Some(_) => ("Texte national".to_string(), ""),
                    };
                    Cell {
                        href: format!("/msj/modeles/{code}/{kind}/{lang}{query}"),
                        label,
                        badge,
                        language: language_label(lang),
                    }
                })
                .collect();
            rows.push(Row {
                type_label: label.clone(),
                kind_label: kind_label(kind),
                cells,
            });
        }
    }
    let overrides = texts
        .iter()
        .filter(|t| t.organisation_id.is_some() && t.organisation_id.as_deref() == org_ref)
        .count();
    let choices = if auth.user().role.is_national_admin() {
        orgs::list_managed(&st.db, auth.scope())
            .await?
            .into_iter()
            .filter(|o| matches!(o.kind, OrgKind::Spip | OrgKind::Tj) && o.active)
            .map(|o| Choice {
                selected: org_ref == Some(o.id.as_str()),
                value: o.id,
                label: o.name,
            })
            .collect()
    } else {
        vec![]
    };
    page(ListPage {
        ctx: PageCtx::new(&auth.1, "Modèles de messages"),
        organisation: organisation.map(|o| o.name),
        languages: LANGUAGES.iter().map(|l| language_label(l)).collect(),
        rows,
        overrides,
        choices,
    })
}

// ---------- editor ----------

#[derive(Deserialize, Default)]
pub struct EditForm {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
    /// "apercu" (preview only) or "enregistrer".
    #[serde(default)]
    pub action: String,
}

pub struct VariableRow {
    pub name: String,
    pub description: &'static str,
}

#[derive(Template)]
#[template(path = "msg_templates/edit.html")]
pub struct EditPage {
    pub ctx: PageCtx,
    pub type_label: String,
    pub kind_label: &'static str,
    pub language_label: &'static str,
    pub lang: &'static str,
    pub dir: &'static str,
    pub organisation: Option<String>,
    /// Where the text in use comes from.
    pub source: String,
    /// The organisation has its own text for exactly this type and language: it may go back to the national one.
    pub overridden: bool,
    pub form: EditForm,
    pub body_error: Option<String>,
    pub subject_error: Option<String>,
    pub message: Option<String>,
    pub variables: Vec<VariableRow>,
    pub preview: Option<String>,
    pub sms: Option<SmsInfo>,
    pub action_url: String,
    pub revert_url: String,
    pub list_url: String,
    pub preview_url: String,
    pub organisation_id: String,
}

struct Target {
    org: Option<String>,
    type_code: String,
    kind: String,
    language: String,
}

async fn target(
    auth: &Auth,
    st: &AppState,
    path: (String, String, String),
    params: &Params,
) -> AppResult<(Target, String)> {
    let org = chosen_org(auth, params.organisation.as_deref())?;
    let (type_code, kind, language) = path;
    if !KINDS.contains(&kind.as_str()) || !LANGUAGES.contains(&language.as_str()) {
        return Err(AppError::NotFound);
    }
    let label = type_label(st, &type_code).await?;
    Ok((
        Target {
            org,
            type_code,
            kind,
            language,
        },
        label,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn edit_page(
    st: &AppState,
    auth: &Auth,
    t: &Target,
    type_label: String,
    form: Option<EditForm>,
    body_error: Option<String>,
    subject_error: Option<String>,
    message: Option<String>,
    notice: Option<(&'static str, &'static str)>,
) -> AppResult<EditPage> {
    let org = t.org.as_deref();
    let texts = templates::list(&st.db, auth.scope(), org).await?;
    let current = effective_in(&texts, org, &t.type_code, &t.kind, &t.language);
    let overridden =
        org.is_some() && current.is_some_and(|c| is_exact(c, org, &t.type_code, &t.language));
    let source = current
        .map(|c| source_label(c, &t.type_code, &t.language))
        .unwrap_or_else(|| "Aucun texte : le message par défaut du logiciel est envoyé".into());
    let form = form.unwrap_or_else(|| EditForm {
        subject: current.and_then(|c| c.subject.clone()).unwrap_or_default(),
        body: current.map(|c| c.body.clone()).unwrap_or_default(),
        action: String::new(),
    });
    let (preview, sms) = if body_error.is_none() {
        match MessageText::parse(&form.body) {
            Ok(text) => {
                let rendered = text.render(&sample_vars(st, auth, org).await);
                let info = sms_info(&rendered, &st.config.public_url);
                (Some(rendered), Some(info))
            }
            Err(_) => (None, None),
        }
    } else {
        (None, None)
    };
    let organisation = match org {
        Some(o) => Some(orgs::get_unscoped(&st.db, o).await?.name),
        None => None,
    };
    let query = org_query(auth, org);
    let base = format!("/msj/modeles/{}/{}/{}", t.type_code, t.kind, t.language);
    let (lang, dir) = html_lang(&t.language);
    let mut ctx = PageCtx::new(
        &auth.1,
        &format!("Modèle : {} — {}", kind_label(&t.kind), type_label),
    );
    if let Some((kind, text)) = notice {
        ctx = ctx.with_notice(kind, text);
    }
    Ok(EditPage {
        ctx,
        type_label,
        kind_label: kind_label(&t.kind),
        language_label: language_label(&t.language),
        lang,
        dir,
        organisation,
        source,
        overridden,
        form,
        body_error,
        subject_error,
        message,
        variables: Variable::ALL
            .iter()
            .map(|v| VariableRow {
                name: format!("{{{}}}", v.name()),
                description: v.description(),
            })
            .collect(),
        preview,
        sms,
        action_url: format!("{base}{query}"),
        revert_url: format!("{base}/national{query}"),
        list_url: format!("/msj/modeles{query}"),
        preview_url: "/msj/modeles/apercu".into(),
        organisation_id: org.unwrap_or("").to_string(),
    })
}

pub async fn edit(
    auth: Auth,
    State(st): State<AppState>,
    Path(path): Path<(String, String, String)>,
    Query(params): Query<Params>,
) -> AppResult<Response> {
    let (t, label) = target(&auth, &st, path, &params).await?;
    let notice = if params.ok.is_some() {
        Some((
            "success",
            "Modèle enregistré. Il sera utilisé pour les prochains envois.",
        ))
    } else if params.retabli.is_some() {
        Some(("success", "Le texte national s'applique de nouveau."))
    } else {
        None
    };
    page(edit_page(&st, &auth, &t, label, None, None, None, None, notice).await?)
}

pub async fn submit(
    auth: Auth,
    State(st): State<AppState>,
    Path(path): Path<(String, String, String)>,
    Query(params): Query<Params>,
    Form(form): Form<EditForm>,
) -> AppResult<Response> {
    let (t, label) = target(&auth, &st, path, &params).await?;
    let body_error = MessageText::parse(&form.body).err().map(|e| e.to_string());
    let subject = form.subject.trim();
    let subject_error = if subject.is_empty() {
        None
    } else {
        MessageText::parse(subject).err().map(|e| e.to_string())
    };
    let invalid = body_error.is_some() || subject_error.is_some();
    if form.action != "enregistrer" || invalid {
        let notice = if invalid {
            None
        } else {
            Some((
                "info",
                "Aperçu ci-dessous. Le texte n'est pas encore enregistré.",
            ))
        };
        let mut res = page(
            edit_page(
                &st,
                &auth,
                &t,
                label,
                Some(form),
                body_error,
                subject_error,
                None,
                notice,
            )
            .await?,
        )?;
        if invalid {
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        return Ok(res);
    }
    let subject = (!subject.is_empty()).then_some(subject);
    match templates::save(
        &st.db,
        auth.scope(),
        t.org.as_deref(),
        &t.type_code,
        &t.kind,
        &t.language,
        subject,
        &form.body,
    )
    .await
    {
        Ok(_) => {
            let query = org_query(&auth, t.org.as_deref());
            Ok(Redirect::to(&format!(
                "/msj/modeles/{}/{}/{}{}",
                t.type_code,
                t.kind,
                t.language,
                with_param(&query, "ok=1")
            ))
            .into_response())
        }
        Err(SaveError::Store(e)) => Err(e.into()),
        Err(e) => {
            let (body_error, message) = match e {
                SaveError::Invalid(e) => (Some(e.to_string()), None),
                other => (None, Some(other.to_string())),
            };
            let mut res = page(
                edit_page(
                    &st,
                    &auth,
                    &t,
                    label,
                    Some(form),
                    body_error,
                    None,
                    message,
                    None,
                )
                .await?,
            )?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

/// "Revenir au texte national": removes the organisation's text for this type, kind and language.
pub async fn revert(
    auth: Auth,
    State(st): State<AppState>,
    Path(path): Path<(String, String, String)>,
    Query(params): Query<Params>,
) -> AppResult<Response> {
    let (t, _) = target(&auth, &st, path, &params).await?;
    let Some(org) = t.org.as_deref() else {
        // The national texts have nothing to go back to.
        return Err(AppError::NotFound);
    };
    let texts = templates::list(&st.db, auth.scope(), Some(org)).await?;
    let own = texts
        .iter()
        .find(|x| x.kind == t.kind && is_exact(x, Some(org), &t.type_code, &t.language));
    if let Some(own) = own {
        templates::delete_override(&st.db, auth.scope(), &own.id).await?;
    }
    let query = org_query(&auth, Some(org));
    Ok(Redirect::to(&format!(
        "/msj/modeles/{}/{}/{}{}",
        t.type_code,
        t.kind,
        t.language,
        with_param(&query, "retabli=1")
    ))
    .into_response())
}

// ---------- JSON preview ----------

#[derive(Deserialize)]
pub struct PreviewRequest {
    #[serde(default)]
    pub body: String,
    /// The organisation whose first place is used in the sample (default: the user's).
    #[serde(default)]
    pub organisation: Option<String>,
}

#[derive(Serialize)]
pub struct PreviewResponse {
    pub rendered: Option<String>,
    pub encoding: Option<&'static str>,
    pub units: Option<usize>,
    pub segments: Option<usize>,
    pub units_with_stop: Option<usize>,
    pub segments_with_stop: Option<usize>,
    /// Characters that force UCS-2.
    pub special: Option<String>,
    pub explanation: Option<&'static str>,
    /// French reason why the text cannot be saved.
    pub error: Option<String>,
}

/// `POST /msj/modeles/apercu` (JSON, CSRF in `x-csrf-token`): the text rendered on the sample appointment and the
/// size of the SMS, or the French error that saving it would give.
pub async fn preview_json(
    auth: Auth,
    State(st): State<AppState>,
    Json(req): Json<PreviewRequest>,
) -> AppResult<Response> {
    let org = chosen_org(&auth, req.organisation.as_deref())?;
    let res = match MessageText::parse(&req.body) {
        Ok(text) => {
            let rendered = text.render(&sample_vars(&st, &auth, org.as_deref()).await);
            let info = sms_info(&rendered, &st.config.public_url);
            PreviewResponse {
                rendered: Some(rendered),
                encoding: Some(info.encoding),
                units: Some(info.units),
                segments: Some(info.segments),
                units_with_stop: Some(info.units_with_stop),
                segments_with_stop: Some(info.segments_with_stop),
                special: Some(info.special),
                explanation: Some(info.explanation),
                error: None,
            }
        }
        Err(e) => PreviewResponse {
            rendered: None,
            encoding: None,
            units: None,
            segments: None,
            units_with_stop: None,
            segments_with_stop: None,
            special: None,
            explanation: None,
            error: Some(e.to_string()),
        },
    };
    Ok(Json(res).into_response())
}
