//! "Ce service vous aide-t-il ?": the monthly question to agents (on /accueil until answered this month) and the
//! national admin's results per month (/admin/satisfaction). Persons answer in their space through
//! `store::satisfaction::record` with `Respondent::Person`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use store::msj::{FieldErrors, MsjError};
use store::satisfaction::{self, Respondent};

use crate::error::AppResult;
use crate::handlers::page;
use crate::session::Auth;
use crate::views::PageCtx;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/satisfaction", post(answer))
        .route("/admin/satisfaction", get(results))
}

/// The small form shown on an agent's home page.
pub struct Prompt {
    pub scores: Vec<String>,
    pub score: String,
    pub comment: String,
    pub score_error: Option<String>,
    pub comment_error: Option<String>,
    pub comment_max: usize,
}

impl Prompt {
    pub fn new(score: &str, comment: &str, errors: &FieldErrors) -> Prompt {
        Prompt {
            scores: (1..=5).map(|n| n.to_string()).collect(),
            score: score.to_string(),
            comment: comment.to_string(),
            score_error: errors.get("score").map(str::to_string),
            comment_error: errors.get("comment").map(str::to_string),
            comment_max: satisfaction::COMMENT_MAX_CHARS,
        }
    }
}

/// The prompt for this agent, unless they already answered this month.
pub async fn prompt_for(st: &AppState, auth: &Auth, now: i64) -> AppResult<Option<Prompt>> {
    let answered =
        satisfaction::has_answered(&st.db, Respondent::Agent, &auth.user().id, now).await?;
    Ok((!answered).then(|| Prompt::new("", "", &FieldErrors::default())))
}

#[derive(Deserialize, Default)]
pub struct AnswerForm {
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

pub async fn answer(
    auth: Auth,
    State(st): State<AppState>,
    Form(f): Form<AnswerForm>,
) -> AppResult<Response> {
    let u = auth.user();
    match satisfaction::record(
        &st.db,
        Respondent::Agent,
        &u.id,
        Some(&u.organisation_id),
        &f.score,
        &f.comment,
        store::now(),
    )
    .await
    {
        // Answered (or already answered in another tab): the home page thanks them either way.
        Ok(()) | Err(MsjError::Rule(_)) => {
            Ok(Redirect::to("/accueil?satisfaction=merci").into_response())
        }
        Err(MsjError::Invalid(errors)) => {
            let prompt = Prompt::new(&f.score, &f.comment, &errors);
            let mut res = super::home::home_page(&auth, Some(prompt), None)?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => {
            super::msj::refusal(e)?;
            Err(crate::error::AppError::NotFound)
        }
    }
}

pub struct ResultRow {
    pub month: String,
    pub respondent: &'static str,
    pub count: i64,
    pub average: String,
    pub distribution: Vec<i64>,
    pub comments: Vec<String>,
}

#[derive(Template)]
#[template(path = "satisfaction/results.html")]
pub struct ResultsPage {
    pub ctx: PageCtx,
    pub rows: Vec<ResultRow>,
}

/// "novembre 2026" from "2026-11".
fn month_label(month: &str) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    match month.split_once('-') {
        Some((y, m)) => match m.parse::<usize>() {
            Ok(m) if (1..=12).contains(&m) => format!("{} {y}", MONTHS[m - 1]),
            _ => month.to_string(),
        },
        None => month.to_string(),
    }
}

pub async fn results(auth: Auth, State(st): State<AppState>) -> AppResult<Response> {
    auth.require(auth.user().role.is_national_admin())?;
    let rows = satisfaction::results(&st.db, auth.scope())
        .await?
        .into_iter()
        .map(|r| ResultRow {
            month: month_label(&r.month),
            respondent: r.respondent.label(),
            count: r.count,
            average: format!("{:.1}", r.average()).replace('.', ","),
            distribution: r.distribution.to_vec(),
            comments: r.comments,
        })
        .collect();
    page(ResultsPage {
        ctx: PageCtx::new(&auth.1, "Satisfaction"),
        rows,
    })
}
