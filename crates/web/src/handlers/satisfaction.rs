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
            let notice = (
                "error",
                "Votre avis n'a pas été envoyé : corrigez la question « Ce service vous aide-t-il ? » en bas de la page."
                    .to_string(),
            );
            let mut res = super::home::home_page(&auth, Some(prompt), Some(notice))?;
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

/// The question as a person reads it in their space, in their language (the space renders the form; its POST
/// handler calls [`record_person_answer`]).
pub struct PersonPromptTexts {
    pub question: &'static str,
    pub hint: &'static str,
    pub comment_label: &'static str,
    pub comment_hint: &'static str,
    pub submit: &'static str,
    pub thanks: &'static str,
    pub score_required: &'static str,
    pub comment_too_long: &'static str,
}

pub fn person_prompt_texts(lang: domain::Lang) -> PersonPromptTexts {
    use domain::Lang::*;
    let pick = |fr: &'static str, falc: &'static str, en: &'static str, ar: &'static str| match lang
    {
        Fr => fr,
        Falc => falc,
        En => en,
        Ar => ar,
    };
    PersonPromptTexts {
        question: pick(
            "Ce service vous aide-t-il ?",
            "Ce service vous aide-t-il ?",
            "Does this service help you?",
            "هل تساعدك هذه الخدمة؟",
        ),
        hint: pick(
            "De 1 (pas du tout) à 5 (beaucoup).",
            "Choisissez un chiffre. 1 veut dire « pas du tout ». 5 veut dire « beaucoup ».",
            "From 1 (not at all) to 5 (a lot).",
            "من 1 (إطلاقًا) إلى 5 (كثيرًا).",
        ),
        comment_label: pick(
            "Un commentaire ? (facultatif)",
            "Vous voulez dire quelque chose ? (pas obligatoire)",
            "Any comment? (optional)",
            "هل لديك تعليق؟ (اختياري)",
        ),
        comment_hint: pick(
            "500 caractères au plus. Votre réponse est anonyme : votre conseiller ne la voit pas.",
            "Écrivez un message court. Votre conseiller ne voit pas votre réponse.",
            "500 characters at most. Your answer is anonymous: your counsellor does not see it.",
            "500 حرف كحد أقصى. إجابتك مجهولة الهوية: لا يراها مستشارك.",
        ),
        submit: pick(
            "Envoyer mon avis",
            "Envoyer",
            "Send my answer",
            "إرسال رأيي",
        ),
        thanks: pick(
            "Merci pour votre réponse.",
            "Merci pour votre réponse.",
            "Thank you for your answer.",
            "شكرًا على إجابتك.",
        ),
        score_required: pick(
            "Choisissez une note de 1 à 5.",
            "Choisissez un chiffre de 1 à 5.",
            "Choose a score from 1 to 5.",
            "اختر رقمًا من 1 إلى 5.",
        ),
        comment_too_long: pick(
            "Votre commentaire est trop long : 500 caractères au plus.",
            "Votre message est trop long. Écrivez moins.",
            "Your comment is too long: 500 characters at most.",
            "تعليقك طويل جدًا: 500 حرف كحد أقصى.",
        ),
    }
}

/// Records a person's monthly answer. Refused fields come back as (field, message in the person's language); a
/// second answer in the same month is taken as done (the person sees the thanks either way).
pub async fn record_person_answer(
    st: &AppState,
    person_id: &str,
    organisation_id: Option<&str>,
    score: &str,
    comment: &str,
    lang: domain::Lang,
    now: i64,
) -> AppResult<Result<(), Vec<(&'static str, &'static str)>>> {
    let texts = person_prompt_texts(lang);
    match satisfaction::record(
        &st.db,
        Respondent::Person,
        person_id,
        organisation_id,
        score,
        comment,
        now,
    )
    .await
    {
        Ok(()) | Err(MsjError::Rule(_)) => Ok(Ok(())),
        Err(MsjError::Invalid(errors)) => Ok(Err(errors
            .0
            .iter()
            .map(|e| match e.field {
                "score" => ("score", texts.score_required),
                _ => ("comment", texts.comment_too_long),
            })
            .collect())),
        Err(e) => {
            super::msj::refusal(e)?;
            Err(crate::error::AppError::NotFound)
        }
    }
}
