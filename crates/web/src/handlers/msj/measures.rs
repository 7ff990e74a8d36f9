//! Measures of a person, agents' side: add, edit and remove a measure with its obligations. Listed on the person's
//! page ("Mesures"); the rights are those of editing the person's record.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use domain::{MeasureKind, ObligationKind};
use store::msj::measures::{self as repo, Measure, MeasureInput};
use store::msj::ppsmj;
use store::msj::{FieldErrors, MsjError};

use super::{refusal, require_msj};
use crate::error::AppResult;
use crate::session::Auth;
use crate::views::{Choice, PageCtx};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/msj/personnes/{id}/mesures/nouvelle",
            get(new_form).post(create),
        )
        .route("/msj/mesures/{id}/modifier", get(edit_form).post(update))
        .route("/msj/mesures/{id}/supprimer", post(delete))
        .route("/msj/personnes/{id}/mesures/apercu", get(preview))
}

#[derive(serde::Deserialize, Default)]
pub struct PreviewQuery {
    #[serde(default)]
    langue: Option<String>,
}

/// What the person reads in their space about their measures, for the agent to check or show during an
/// appointment; in the person's language unless another is asked.
pub async fn preview(
    auth: Auth,
    State(st): State<AppState>,
    Path(person_id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<PreviewQuery>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    let p = ppsmj::get(&st.db, auth.scope(), &person_id).await?;
    let lang = q
        .langue
        .as_deref()
        .and_then(domain::Lang::parse)
        .or_else(|| domain::Lang::parse(p.language.as_str()))
        .unwrap_or_default();
    let mut page =
        crate::handlers::space_measure::my_measure_page(&st, &person_id, lang, store::now())
            .await?;
    page.pctx.languages.iter_mut().for_each(|l| {
        l.href = l.href.replace(
            "/mon-espace/ma-mesure",
            &format!("/msj/personnes/{person_id}/mesures/apercu"),
        )
    });
    page.pctx.notice = Some(crate::views::Notice {
        kind: "info",
        text: format!(
            "Aperçu pour les agents : voici ce que {} lit dans son espace « Ma mesure ».",
            p.display_name()
        ),
    });
    page.pctx.agent_back = Some(format!("/msj/personnes/{person_id}#mesures"));
    crate::handlers::page(page)
}

/// What the form holds (kept as typed when refused).
#[derive(Clone, Debug, Default)]
pub struct MeasureForm {
    pub kind: String,
    pub decision_date: String,
    pub start_date: String,
    pub end_date: String,
    pub court: String,
    pub obligations: Vec<String>,
    pub details: BTreeMap<String, String>,
}

impl MeasureForm {
    /// Reads the urlencoded pairs: `obligations` repeats (one per checked box), `detail_<code>` per obligation.
    fn from_pairs(pairs: Vec<(String, String)>) -> MeasureForm {
        let mut f = MeasureForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "kind" => f.kind = v,
                "decision_date" => f.decision_date = v,
                "start_date" => f.start_date = v,
                "end_date" => f.end_date = v,
                "court" => f.court = v,
                "obligations" => f.obligations.push(v),
                other => {
                    if let Some(code) = other.strip_prefix("detail_") {
                        f.details.insert(code.to_string(), v);
                    }
                }
            }
        }
        f
    }

    fn input(&self) -> MeasureInput {
        MeasureInput {
            kind: self.kind.clone(),
            decision_date: self.decision_date.clone(),
            start_date: self.start_date.clone(),
            end_date: self.end_date.clone(),
            court: self.court.clone(),
            obligations: self.obligations.clone(),
            details: self.details.clone(),
        }
    }

    fn from_measure(m: &Measure) -> MeasureForm {
        let d = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        MeasureForm {
            kind: m.kind.code().into(),
            decision_date: d(m.decision_date),
            start_date: m.start_date.to_string(),
            end_date: d(m.end_date),
            court: m.court.clone().unwrap_or_default(),
            obligations: m
                .obligations
                .iter()
                .map(|o| o.kind.code().to_string())
                .collect(),
            details: m
                .obligations
                .iter()
                .filter_map(|o| Some((o.kind.code().to_string(), o.detail.clone()?)))
                .collect(),
        }
    }
}

pub struct ObligationRow {
    pub code: &'static str,
    pub label: &'static str,
    pub checked: bool,
    pub detail: String,
    pub detail_field: &'static str,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "measures/form.html")]
pub struct FormPage {
    pub ctx: PageCtx,
    pub person_id: String,
    pub person_name: String,
    /// Set when editing.
    pub measure_id: Option<String>,
    pub form: MeasureForm,
    pub errors: FieldErrors,
    pub error: Option<String>,
    pub kinds: Vec<Choice>,
    pub obligations: Vec<ObligationRow>,
    pub detail_max: usize,
}

impl FormPage {
    pub fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    st: &AppState,
    auth: &Auth,
    person_id: &str,
    measure_id: Option<String>,
    form: MeasureForm,
    errors: FieldErrors,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let p = ppsmj::get(&st.db, auth.scope(), person_id).await?;
    let title = if measure_id.is_some() {
        "Modifier la mesure"
    } else {
        "Ajouter une mesure"
    };
    let kinds = MeasureKind::ALL
        .iter()
        .map(|k| Choice {
            value: k.code().into(),
            label: k.label().into(),
            selected: form.kind == k.code(),
        })
        .collect();
    let obligations = ObligationKind::ALL
        .iter()
        .map(|o| ObligationRow {
            code: o.code(),
            label: o.label(),
            checked: form.obligations.iter().any(|c| c == o.code()),
            detail: form.details.get(o.code()).cloned().unwrap_or_default(),
            detail_field: repo::detail_field(*o),
            error: errors.get(repo::detail_field(*o)).map(str::to_string),
        })
        .collect();
    let page = FormPage {
        ctx: PageCtx::new(&auth.1, &format!("{title} — {}", p.display_name())),
        person_id: person_id.to_string(),
        person_name: p.display_name(),
        measure_id,
        form,
        errors,
        error,
        kinds,
        obligations,
        detail_max: repo::DETAIL_MAX_CHARS,
    };
    let mut res = crate::handlers::page(page)?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn new_form(
    auth: Auth,
    State(st): State<AppState>,
    Path(person_id): Path<String>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    // 404 for a person out of scope comes before the role check: the URL reveals nothing.
    ppsmj::get(&st.db, auth.scope(), &person_id).await?;
    auth.require(super::may_change(auth.user().role))?;
    form_page(
        &st,
        &auth,
        &person_id,
        None,
        MeasureForm::default(),
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// Re-renders the form after a refusal (422 with field errors), or the error page for 404 / 403.
async fn refused(
    st: &AppState,
    auth: &Auth,
    person_id: &str,
    measure_id: Option<String>,
    f: MeasureForm,
    e: MsjError,
) -> AppResult<Response> {
    match e {
        MsjError::Invalid(errors) => {
            form_page(
                st,
                auth,
                person_id,
                measure_id,
                f,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        MsjError::Forbidden(_) => Err(crate::error::AppError::Forbidden),
        other => {
            let msg = refusal(other)?;
            form_page(
                st,
                auth,
                person_id,
                measure_id,
                f,
                FieldErrors::default(),
                Some(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn create(
    auth: Auth,
    State(st): State<AppState>,
    Path(person_id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    auth.require(super::may_change(auth.user().role))?;
    let f = MeasureForm::from_pairs(pairs);
    match repo::create(&st.db, auth.scope(), &person_id, &f.input(), store::now()).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/msj/personnes/{person_id}?info=mesure_ajoutee#mesures"
        ))
        .into_response()),
        Err(e) => refused(&st, &auth, &person_id, None, f, e).await,
    }
}

pub async fn edit_form(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    let m = repo::get(&st.db, auth.scope(), &id).await?;
    auth.require(super::may_change(auth.user().role))?;
    form_page(
        &st,
        &auth,
        &m.ppsmj_id,
        Some(id),
        MeasureForm::from_measure(&m),
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn update(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    auth.require(super::may_change(auth.user().role))?;
    let m = repo::get(&st.db, auth.scope(), &id).await?;
    let f = MeasureForm::from_pairs(pairs);
    match repo::update(&st.db, auth.scope(), &id, &f.input(), store::now()).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/msj/personnes/{}?info=mesure_modifiee#mesures",
            m.ppsmj_id
        ))
        .into_response()),
        Err(e) => refused(&st, &auth, &m.ppsmj_id, Some(id), f, e).await,
    }
}

pub async fn delete(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    auth.require(super::may_change(auth.user().role))?;
    match repo::delete(&st.db, auth.scope(), &id, store::now()).await {
        Ok(m) => Ok(Redirect::to(&format!(
            "/msj/personnes/{}?info=mesure_supprimee#mesures",
            m.ppsmj_id
        ))
        .into_response()),
        Err(MsjError::Forbidden(_)) => Err(crate::error::AppError::Forbidden),
        Err(e) => {
            // Only "not found" and database errors reach here: deleting has no field to refuse.
            refusal(e)?;
            Err(crate::error::AppError::NotFound)
        }
    }
}

/// A measure as listed on the person's page.
pub struct MeasureRow {
    pub id: String,
    pub kind: &'static str,
    pub period: String,
    pub court: String,
    pub current: bool,
    pub obligations: Vec<String>,
}

/// Rows of the "Mesures" section of the person's page.
pub(crate) fn rows(measures: &[Measure], today: NaiveDate) -> Vec<MeasureRow> {
    let fr = |d: NaiveDate| d.format("%d/%m/%Y").to_string();
    measures
        .iter()
        .map(|m| MeasureRow {
            id: m.id.clone(),
            kind: m.kind.label(),
            period: match m.end_date {
                Some(e) => format!("Du {} au {}", fr(m.start_date), fr(e)),
                None => format!("Depuis le {}", fr(m.start_date)),
            },
            court: m.court.clone().unwrap_or_else(|| "—".into()),
            current: m.is_current(today),
            obligations: m
                .obligations
                .iter()
                .map(|o| match &o.detail {
                    Some(d) => format!("{} — {d}", o.kind.label()),
                    None => o.kind.label().to_string(),
                })
                .collect(),
        })
        .collect()
}
