//! Divestment ("dessaisissement"): request from a PPSMJ record, incoming and outgoing requests, answers.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use store::msj::divestments::{self, Divestment, DivestmentState};
use store::msj::ppsmj;
use store::orgs;
use store::roles::OrgKind;
use store::Scope;

use super::{is_msj_user, organisation, problem, tz_of, when_fr, Problem};
use crate::error::AppResult;
use crate::handlers::page;
use crate::session::Auth;
use crate::views::{datetime_fr, Choice, PageCtx};
use crate::AppState;

pub struct TrailRow {
    pub id: String,
    pub ppsmj_id: String,
    pub ppsmj_label: String,
    pub visible: bool,
    pub from: String,
    pub to: String,
    pub state: &'static str,
    pub pending: bool,
    pub requested: String,
    pub request_comment: String,
    pub answered: String,
    pub answer_comment: String,
    pub can_answer: bool,
    pub incoming: bool,
}

async fn trail(
    st: &AppState,
    auth: &Auth,
    list: Vec<Divestment>,
    with_names: bool,
) -> AppResult<Vec<TrailRow>> {
    let mut names: HashMap<String, String> = HashMap::new();
    let own = auth.user().organisation_id.clone();
    let own_parent = organisation(st, &own).await?.parent_id;
    let mut rows = vec![];
    for d in list {
        for o in [&d.from_organisation_id, &d.to_organisation_id] {
            if !names.contains_key(o) {
                let org = organisation(st, o).await?;
                names.insert(org.id, org.name);
            }
        }
        // The record may have moved away: then only its reference is shown.
        let (label, visible) = if with_names {
            match ppsmj::get(&st.db, auth.scope(), &d.ppsmj_id).await {
                Ok(p) => (p.display_name(), true),
                Err(store::StoreError::NotFound) if d.state == DivestmentState::Pending => {
                    ("Personne à examiner avant de répondre".to_string(), false)
                }
                Err(store::StoreError::NotFound) => {
                    ("Dossier transmis (plus accessible)".to_string(), false)
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            (String::new(), true)
        };
        let receiver = d.to_organisation_id == own
            || own_parent.as_deref() == Some(d.to_organisation_id.as_str());
        let incoming = receiver || auth.scope().is_national();
        rows.push(TrailRow {
            id: d.id.clone(),
            ppsmj_id: d.ppsmj_id.clone(),
            ppsmj_label: label,
            visible,
            from: names[&d.from_organisation_id].clone(),
            to: names[&d.to_organisation_id].clone(),
            state: d.state.label(),
            pending: d.state == DivestmentState::Pending,
            requested: format!("{} par {}", datetime_fr(d.created_at), d.requested_by_label),
            request_comment: d.request_comment.clone().unwrap_or_default(),
            answered: match (d.answered_at, &d.answered_by_label) {
                (Some(at), Some(by)) => format!("{} par {}", datetime_fr(at), by),
                (Some(at), None) => datetime_fr(at),
                _ => String::new(),
            },
            answer_comment: d.answer_comment.clone().unwrap_or_default(),
            can_answer: d.state == DivestmentState::Pending && incoming,
            incoming: receiver,
        });
    }
    Ok(rows)
}

// ---------- request from a record ----------

#[derive(Template)]
#[template(path = "msj_admin/divest_form.html")]
pub struct DivestFormPage {
    pub ctx: PageCtx,
    pub ppsmj_id: String,
    pub ppsmj_name: String,
    pub organisations: Vec<Choice>,
    pub comment: String,
    pub problem: Problem,
    pub trail: Vec<TrailRow>,
}

#[derive(Deserialize, Default)]
pub struct DivestForm {
    #[serde(default)]
    pub to_organisation_id: String,
    #[serde(default)]
    pub comment: String,
}

async fn form_page(
    st: &AppState,
    auth: &Auth,
    id: &str,
    form: DivestForm,
    problem: Problem,
) -> AppResult<DivestFormPage> {
    let p = ppsmj::get(&st.db, auth.scope(), id).await?;
    // Only the organisation that owns the file, with a role that manages files, may ask for a divestment.
    auth.require(
        auth.scope()
            .allows(store::Action::ManageFile, &p.organisation_id),
    )?;
    // Any active SPIP or TJ of France may receive the request (reference data, not tenant data).
    let all = orgs::list(&st.db, &Scope::system("liste des services")).await?;
    let following = ppsmj::following_organisations(&st.db, auth.scope(), id).await?;
    let organisations = all
        .into_iter()
        .filter(|o| matches!(o.kind, OrgKind::Spip | OrgKind::Tj) && o.active)
        .filter(|o| !following.iter().any(|f| f.organisation_id == o.id))
        .map(|o| Choice {
            selected: o.id == form.to_organisation_id,
            value: o.id,
            label: format!("{} ({})", o.name, o.kind.label()),
        })
        .collect();
    let list = divestments::list(&st.db, auth.scope(), Some(id)).await?;
    let trail = trail(st, auth, list, false).await?;
    Ok(DivestFormPage {
        ctx: PageCtx::new(&auth.1, "Demander un dessaisissement"),
        ppsmj_id: p.id.clone(),
        ppsmj_name: p.display_name(),
        organisations,
        comment: form.comment,
        problem,
        trail,
    })
}

pub async fn form(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    page(form_page(&st, &auth, &id, DivestForm::default(), Problem::default()).await?)
}

pub async fn request(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<DivestForm>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    if form.to_organisation_id.is_empty() {
        let mut pb = Problem::default();
        pb.fields
            .push("to_organisation_id", "Choisissez le service destinataire.");
        let mut res = page(form_page(&st, &auth, &id, form, pb).await?)?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    match divestments::request(
        &st.db,
        auth.scope(),
        &id,
        &form.to_organisation_id,
        &form.comment,
        store::now(),
    )
    .await
    {
        Ok(d) => {
            // Accepted at once (archived record, no appointment, idle for 6 months): the requester is told why.
            let code = match d
                .answer_comment
                .as_deref()
                .and_then(divestments::ImmediateReason::parse_text)
            {
                _ if d.state != DivestmentState::AutoAccepted => "demande",
                Some(divestments::ImmediateReason::Archived) => "immediat-archive",
                Some(divestments::ImmediateReason::NoAppointment) => "immediat-sans-rdv",
                Some(divestments::ImmediateReason::Idle) | None => "immediat-inactif",
            };
            Ok(Redirect::to(&format!("/msj/dessaisissements?ok={code}")).into_response())
        }
        Err(e) => {
            let pb = problem(e)?;
            let mut res = page(form_page(&st, &auth, &id, form, pb).await?)?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

// ---------- all requests ----------

#[derive(Template)]
#[template(path = "msj_admin/divestments.html")]
pub struct DivestmentsPage {
    pub ctx: PageCtx,
    pub incoming: Vec<TrailRow>,
    pub outgoing: Vec<TrailRow>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub ok: Option<String>,
}

/// Success notices from a fixed list of codes; errors are rendered by the action that failed (never carried by
/// the URL).
fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "demande" => Some(
            "La demande a été envoyée. Sans réponse sous 10 jours, elle sera acceptée automatiquement.",
        ),
        "accepte" => Some(
            "Vous avez accepté la demande : le dossier est désormais suivi par votre service.",
        ),
        "refuse" => Some(
            "Vous avez refusé la demande. Les autres demandes en attente pour la même personne adressées à votre service ont été refusées avec le même motif.",
        ),
        "immediat-archive" => Some(
            "La demande a été acceptée immédiatement car le dossier est archivé : le service destinataire suit désormais la personne.",
        ),
        "immediat-sans-rdv" => Some(
            "La demande a été acceptée immédiatement car la personne n'a aucun rendez-vous : le service destinataire suit désormais la personne.",
        ),
        "immediat-inactif" => Some(
            "La demande a été acceptée immédiatement car le dernier rendez-vous de la personne date de plus de 6 mois : le service destinataire suit désormais la personne.",
        ),
        _ => None,
    }
}

async fn list_page(
    st: &AppState,
    auth: &Auth,
    notice: Option<(&'static str, String)>,
) -> AppResult<DivestmentsPage> {
    let all = divestments::list(&st.db, auth.scope(), None).await?;
    let rows = trail(st, auth, all, true).await?;
    let (incoming, outgoing): (Vec<TrailRow>, Vec<TrailRow>) =
        rows.into_iter().partition(|r| r.incoming);
    let mut ctx = PageCtx::new(&auth.1, "Dessaisissements");
    if let Some((kind, text)) = notice {
        ctx = ctx.with_notice(kind, text);
    }
    Ok(DivestmentsPage {
        ctx,
        incoming,
        outgoing,
    })
}

pub async fn list(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    let notice =
        q.ok.as_deref()
            .and_then(notice_text)
            .map(|t| ("success", t.to_string()));
    page(list_page(&st, &auth, notice).await?)
}

#[derive(Deserialize, Default)]
pub struct AnswerForm {
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub comment: String,
}

// ---------- one request, as the receiving service sees it before deciding ----------

pub struct DecisionAppt {
    pub when: String,
    pub type_label: String,
}

#[derive(Template)]
#[template(path = "msj_admin/divest_answer.html")]
pub struct AnswerPage {
    pub ctx: PageCtx,
    pub id: String,
    pub from: String,
    pub requested: String,
    pub request_comment: String,
    pub name: String,
    pub birth_date: String,
    pub measures: Vec<String>,
    pub next_appointments: Vec<DecisionAppt>,
    pub comment: String,
    pub comment_max: usize,
    pub problem: Problem,
}

async fn answer_page(
    st: &AppState,
    auth: &Auth,
    id: &str,
    comment: String,
    pb: Problem,
) -> AppResult<Response> {
    let v = match divestments::decision_view(&st.db, auth.scope(), id, store::now()).await {
        Ok(v) => v,
        // Already answered: back to the list, which shows the answer.
        Err(store::msj::MsjError::Rule(_)) => {
            return Ok(Redirect::to("/msj/dessaisissements").into_response())
        }
        // 403 for a sender or a linked service, 404 for others.
        Err(e) => {
            return Err(match problem(e) {
                Err(app) => app,
                Ok(_) => crate::error::AppError::NotFound,
            })
        }
    };
    let from = organisation(st, &v.divestment.from_organisation_id)
        .await?
        .name;
    let mut zones: HashMap<String, chrono_tz::Tz> = HashMap::new();
    let mut next_appointments = vec![];
    for a in &v.next_appointments {
        let tz = match zones.get(&a.organisation_id) {
            Some(tz) => *tz,
            None => {
                let tz = tz_of(&organisation(st, &a.organisation_id).await?);
                zones.insert(a.organisation_id.clone(), tz);
                tz
            }
        };
        next_appointments.push(DecisionAppt {
            when: when_fr(a.starts_at, tz),
            type_label: a.type_label.clone(),
        });
    }
    let measures = v
        .measures
        .iter()
        .map(|m| match m.end_date {
            Some(end) => format!(
                "{} — du {} au {}",
                m.kind.label(),
                m.start_date.format("%d/%m/%Y"),
                end.format("%d/%m/%Y")
            ),
            None => format!(
                "{} — depuis le {}",
                m.kind.label(),
                m.start_date.format("%d/%m/%Y")
            ),
        })
        .collect();
    let d = &v.divestment;
    page(AnswerPage {
        ctx: PageCtx::new(&auth.1, "Répondre à une demande de dessaisissement"),
        id: d.id.clone(),
        from,
        requested: format!("{} par {}", datetime_fr(d.created_at), d.requested_by_label),
        request_comment: d.request_comment.clone().unwrap_or_default(),
        name: format!("{} {}", v.last_name.to_uppercase(), v.first_name),
        birth_date: v.birth_date.format("%d/%m/%Y").to_string(),
        measures,
        next_appointments,
        comment,
        comment_max: divestments::ANSWER_COMMENT_MAX_CHARS,
        problem: pb,
    })
}

pub async fn show(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    answer_page(&st, &auth, &id, String::new(), Problem::default()).await
}

pub async fn answer(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    let accept = form.decision == "accepter";
    match divestments::answer(
        &st.db,
        auth.scope(),
        &id,
        accept,
        &form.comment,
        store::now(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(if accept {
            "/msj/dessaisissements?ok=accepte"
        } else {
            "/msj/dessaisissements?ok=refuse"
        })
        .into_response()),
        Err(e) => {
            let pb = problem(e)?;
            if pb.message.is_some() {
                // A rule (already answered): the list shows where the request stands.
                let msg = pb.message.unwrap_or_default();
                let mut res = page(list_page(&st, &auth, Some(("error", msg))).await?)?;
                *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                return Ok(res);
            }
            // A field error: the decision page again, with the comment as typed.
            let mut res = answer_page(&st, &auth, &id, form.comment, pb).await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}
