//! The person's own space, `/mon-espace` (Mon Suivi Justice): sign-in by one-time code, my appointments (details,
//! .ics, "Je viendrai", "Je demande un changement"), my contacts, my contact details and preferences — in French,
//! easy-read French, English or Arabic. Mobile first, no script needed, small pages.
//!
//! A person's session is its own principal (`passerelle_personne` cookie, `person_sessions` table, resolved by
//! the session layer only under `/mon-espace`): an agent's session does not open these pages and a person's does
//! not open agents' pages. Every query takes the person id from the session, never from the URL.
//!
//! Also here: the agents' side of change requests (listing on the person page and in the work queue, refusing
//! with a message); rebooking goes through the existing booking flow.

pub mod i18n;
pub mod push;

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use domain::AppointmentState;
use serde::Deserialize;
use store::msj::ppsmj::Language;
use store::msj::space::{self, CodeCheck, CodeRequest, ContactRequest, Identifier, PersonSession};
use store::msj::MsjError;

use crate::error::{AppError, AppResult};
use crate::session::{Auth, Ctx, PERSON_COOKIE};
use crate::views::PageCtx;
use crate::AppState;
use i18n::Texts;

/// Flow token of a sign-in code (the code itself is never in a cookie).
const SIGNIN_FLOW_COOKIE: &str = "passerelle_espace_code";
/// Flow token of a contact change code.
const CONTACT_FLOW_COOKIE: &str = "passerelle_espace_contact";
/// The language chosen with the switch.
const LANG_COOKIE: &str = "passerelle_langue";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mon-espace", get(home))
        .route("/mon-espace/connexion", post(signin))
        .route("/mon-espace/code", get(code_form).post(code_submit))
        .route("/mon-espace/deconnexion", post(logout))
        .route("/mon-espace/langue/{code}", get(set_language))
        .route("/mon-espace/rendez-vous", get(appointments))
        .route("/mon-espace/rendez-vous/{id}", get(appointment))
        .route("/mon-espace/rendez-vous/{id}/agenda.ics", get(ics))
        .route("/mon-espace/rendez-vous/{id}/confirmer", post(confirm))
        .route("/mon-espace/rendez-vous/{id}/changement", post(ask_change))
        .route("/mon-espace/contacts", get(contacts))
        .route("/mon-espace/ma-mesure", get(my_measure))
        .route("/mon-espace/coordonnees", get(details))
        .route("/mon-espace/coordonnees/changer", post(contact_start))
        .route(
            "/mon-espace/coordonnees/code",
            get(contact_code_form).post(contact_code_submit),
        )
        .route("/mon-espace/coordonnees/preferences", post(preferences))
        .route("/mon-espace/notifications", post(push::subscribe))
        .route("/mon-espace/notifications/arret", post(push::unsubscribe))
        .route("/mon-espace/sw.js", get(push::service_worker))
        .layer(axum::middleware::from_fn(translated_not_found))
        .route("/msj/demandes/{id}/refuser", post(agent_refuse))
        .route("/msj/justificatifs/{id}", get(agent_document))
        .route("/msj/justificatifs/{id}/vu", post(agent_document_seen))
        .merge(
            Router::new()
                .route(
                    "/mon-espace/rendez-vous/{id}/justificatifs",
                    post(upload_document),
                )
                // Streamed and limited to 10 MB here, not by the 2 MiB form limit.
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
}

/// A signed-in person. Anyone else (nobody, or an agent) is sent to the person sign-in page.
pub struct Person(pub Arc<PersonSession>, pub Ctx);

impl<S: Send + Sync> FromRequestParts<S> for Person {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        match ctx.person.clone() {
            Some(p) => Ok(Person(p, ctx)),
            None => Err(Redirect::to("/mon-espace").into_response()),
        }
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

fn scoped_cookie(ctx: &Ctx, name: &str, value: &str, max_age: i64) -> String {
    let secure = if ctx.secure_cookies { "; Secure" } else { "" };
    format!("{name}={value}; Path=/mon-espace; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

fn with_cookies(mut res: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The language of the pages: the switch's cookie, else the person's language, else French.
fn language(headers: &HeaderMap, person: Option<Language>) -> Language {
    cookie(headers, LANG_COOKIE)
        .and_then(|c| Language::parse(&c))
        .or(person)
        .unwrap_or_default()
}

pub struct LangLink {
    pub href: String,
    pub label: &'static str,
    pub tag: &'static str,
    pub current: bool,
}

pub struct SpaceNotice {
    pub kind: &'static str,
    pub text: String,
}

/// What the space's layout needs.
pub struct SpaceCtx {
    pub t: &'static Texts,
    pub title: String,
    pub csrf: String,
    pub signed_in: bool,
    pub demo: bool,
    pub section: &'static str,
    pub langs: Vec<LangLink>,
    pub notice: Option<SpaceNotice>,
}

impl SpaceCtx {
    fn new(ctx: &Ctx, lang: Language, title: &str, section: &'static str) -> SpaceCtx {
        let back = crate::session::urlencode(&ctx.path);
        SpaceCtx {
            t: i18n::texts(lang),
            title: title.to_string(),
            csrf: ctx.csrf.clone(),
            signed_in: ctx.person.is_some(),
            demo: ctx.demo,
            section,
            langs: Language::ALL
                .into_iter()
                .map(|l| LangLink {
                    href: format!("/mon-espace/langue/{}?retour={back}", l.as_str()),
                    label: i18n::own_name(l),
                    tag: i18n::own_tag(l),
                    current: l == lang,
                })
                .collect(),
            notice: None,
        }
    }

    fn notice(mut self, kind: &'static str, text: impl Into<String>) -> SpaceCtx {
        self.notice = Some(SpaceNotice {
            kind,
            text: text.into(),
        });
        self
    }
}

fn html<T: Template>(status: StatusCode, t: T) -> AppResult<Response> {
    Ok((status, axum::response::Html(t.render()?)).into_response())
}

#[derive(Template)]
#[template(path = "space/not_found.html")]
pub struct NotFoundPage {
    pub c: SpaceCtx,
}

/// A 404 inside the space (another person's appointment…) is told in the space's language and layout.
async fn translated_not_found(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let ctx = req.extensions().get::<Ctx>().cloned();
    let headers = req.headers().clone();
    let res = next.run(req).await;
    let Some(ctx) = ctx.filter(|_| res.status() == StatusCode::NOT_FOUND) else {
        return res;
    };
    // The switch's cookie (no database read on an error path).
    let lang = language(&headers, None);
    let t = i18n::texts(lang);
    html(
        StatusCode::NOT_FOUND,
        NotFoundPage {
            c: SpaceCtx::new(&ctx, lang, t.not_found_title, ""),
        },
    )
    .unwrap_or(res)
}

// ---------------------------------------------------------------------------------------------------------------
// Sign-in

#[derive(Template)]
#[template(path = "space/signin.html")]
pub struct SigninPage {
    pub c: SpaceCtx,
    pub identifier: String,
    pub error: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct HomeQuery {
    #[serde(default)]
    info: String,
    /// The token of the link in a summons SMS: prefills the number.
    #[serde(default)]
    n: String,
}

pub async fn home(
    ctx: Ctx,
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HomeQuery>,
) -> AppResult<Response> {
    let Some(person) = ctx.person.clone() else {
        let lang = language(&headers, None);
        let mut c = SpaceCtx::new(&ctx, lang, i18n::texts(lang).signin_title, "");
        if q.info == "deconnecte" {
            let t = c.t;
            c = c.notice("info", t.signed_out);
        }
        let mut identifier = String::new();
        if !q.n.is_empty() {
            let ip_ok = match ctx.ip.as_deref() {
                Some(ip) => {
                    store::ratelimit::hit(
                        &st.db,
                        &format!("space-link:{ip}"),
                        3600,
                        60,
                        store::now(),
                    )
                    .await?
                }
                None => true,
            };
            if ip_ok {
                if let Some(phone) = space::link_prefill(&st.db, &q.n, store::now()).await? {
                    identifier = domain::PhoneNumber::parse(&phone)
                        .map(|p| p.national_display())
                        .unwrap_or(phone);
                }
            }
        }
        return html(
            StatusCode::OK,
            SigninPage {
                c,
                identifier,
                error: None,
            },
        );
    };
    let me = space::me(&st.db, &person.ppsmj_id).await?;
    let lang = language(&headers, Some(me.language));
    let now = store::now();
    let list = space::my_appointments(&st.db, &person.ppsmj_id).await?;
    space::audit_read(&st.db, &person, ctx.ip.as_deref(), "accueil").await?;
    let next = list
        .iter()
        .find(|a| a.state == AppointmentState::Booked && a.starts_at > now)
        .map(|a| row(lang, a));
    let t = i18n::texts(lang);
    html(
        StatusCode::OK,
        HomePage {
            c: SpaceCtx::new(&ctx, lang, t.home_title, "home"),
            first_name: me.first_name,
            next,
        },
    )
}

#[derive(Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    identifiant: String,
}

pub async fn signin(
    ctx: Ctx,
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<SigninForm>,
) -> AppResult<Response> {
    let lang = language(&headers, None);
    let t = i18n::texts(lang);
    let identifier = f.identifiant.chars().take(200).collect::<String>();
    let Some(ident) = Identifier::parse(&identifier) else {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            SigninPage {
                c: SpaceCtx::new(&ctx, lang, t.signin_title, ""),
                identifier,
                error: Some(t.identifier_error),
            },
        );
    };
    match space::request_signin_code(&st.db, &ident, ctx.ip.as_deref(), store::now()).await? {
        CodeRequest::TooMany => html(
            StatusCode::TOO_MANY_REQUESTS,
            SigninPage {
                c: SpaceCtx::new(&ctx, lang, t.signin_title, ""),
                identifier,
                error: Some(t.too_many),
            },
        ),
        CodeRequest::Started { flow_token } => Ok(with_cookies(
            see_other("/mon-espace/code"),
            &[scoped_cookie(
                &ctx,
                SIGNIN_FLOW_COOKIE,
                &flow_token,
                space::CODE_VALID_SECS + 300,
            )],
        )),
    }
}

#[derive(Template)]
#[template(path = "space/code.html")]
pub struct CodePage {
    pub c: SpaceCtx,
    pub action: &'static str,
    pub intro: &'static str,
    pub help: bool,
    pub error: Option<String>,
    /// The code is dead or expired: only "ask for a new code" makes sense.
    pub restart: Option<&'static str>,
}

fn code_page(
    ctx: &Ctx,
    lang: Language,
    contact: bool,
    error: Option<String>,
    restart: bool,
) -> CodePage {
    let t = i18n::texts(lang);
    let (title, action, intro, restart_href) = if contact {
        (
            t.contact_code_title,
            "/mon-espace/coordonnees/code",
            t.contact_code_intro,
            "/mon-espace/coordonnees",
        )
    } else {
        (
            t.code_title,
            "/mon-espace/code",
            t.code_intro,
            "/mon-espace",
        )
    };
    CodePage {
        c: SpaceCtx::new(ctx, lang, title, if contact { "details" } else { "" }),
        action,
        intro,
        help: !contact,
        error,
        restart: restart.then_some(restart_href),
    }
}

pub async fn code_form(ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    let lang = language(&headers, None);
    html(StatusCode::OK, code_page(&ctx, lang, false, None, false))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// "12 34 56", "123456" → "123456"; anything else is not a code (and does not use up a try).
fn normalise_code(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The page after a wrong, dead or expired code.
fn code_outcome_page(
    ctx: &Ctx,
    lang: Language,
    contact: bool,
    check: &CodeCheck,
) -> AppResult<Response> {
    let t = i18n::texts(lang);
    let (status, error, restart) = match check {
        CodeCheck::Wrong { left } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{} {left}", t.code_wrong),
            false,
        ),
        CodeCheck::Expired => (
            StatusCode::UNPROCESSABLE_ENTITY,
            t.code_expired.into(),
            true,
        ),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, t.code_dead.into(), true),
    };
    html(status, code_page(ctx, lang, contact, Some(error), restart))
}

pub async fn code_submit(
    ctx: Ctx,
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let lang = language(&headers, None);
    let t = i18n::texts(lang);
    let Some(code) = normalise_code(&f.code) else {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            code_page(&ctx, lang, false, Some(t.code_format.into()), false),
        );
    };
    let flow = cookie(&headers, SIGNIN_FLOW_COOKIE).unwrap_or_default();
    let now = store::now();
    let check = space::verify_signin_code(&st.db, &flow, &code, ctx.ip.as_deref(), now).await?;
    let CodeCheck::Valid { ppsmj_id } = &check else {
        return code_outcome_page(&ctx, lang, false, &check);
    };
    if let Some(old) = cookie(&headers, PERSON_COOKIE) {
        space::delete_session(&st.db, &old).await?;
    }
    let token = space::create_session(
        &st.db,
        ppsmj_id,
        ctx.ip.as_deref(),
        ctx.user_agent.as_deref(),
        now,
    )
    .await?;
    Ok(with_cookies(
        see_other("/mon-espace"),
        &[
            scoped_cookie(&ctx, PERSON_COOKIE, &token, space::SESSION_MAX_SECS),
            scoped_cookie(&ctx, SIGNIN_FLOW_COOKIE, "", 0),
        ],
    ))
}

pub async fn logout(
    ctx: Ctx,
    State(st): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Response> {
    if let Some(token) = cookie(&headers, PERSON_COOKIE) {
        if let Some(p) = &ctx.person {
            store::audit::record(
                st.db.pool(),
                &space::person_actor(&p.ppsmj_id, Some(&p.organisation_id), ctx.ip.as_deref()),
                "person.signout",
                "ppsmj",
                Some(&p.ppsmj_id),
                None,
            )
            .await?;
        }
        space::delete_session(&st.db, &token).await?;
    }
    Ok(with_cookies(
        see_other("/mon-espace?info=deconnecte"),
        &[scoped_cookie(&ctx, PERSON_COOKIE, "", 0)],
    ))
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    #[serde(default)]
    retour: String,
}

pub async fn set_language(
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> AppResult<Response> {
    let lang = Language::parse(&code).ok_or(AppError::NotFound)?;
    // Only back into the space (no open redirect).
    let back = if (q.retour == "/mon-espace" || q.retour.starts_with("/mon-espace/"))
        && !q.retour.starts_with("/mon-espace/langue/")
        && !q.retour.contains("//")
    {
        q.retour.as_str()
    } else {
        "/mon-espace"
    };
    let secure = if ctx.secure_cookies { "; Secure" } else { "" };
    Ok(with_cookies(
        see_other(back),
        &[format!(
            "{LANG_COOKIE}={}; Path=/mon-espace; SameSite=Lax; Max-Age=31536000{secure}",
            lang.as_str()
        )],
    ))
}

// ---------------------------------------------------------------------------------------------------------------
// Appointments

pub struct ApptRow {
    pub id: String,
    pub when: String,
    pub type_label: &'static str,
    pub place: String,
    pub state: &'static str,
    pub badge: &'static str,
    pub extra: Option<&'static str>,
}

fn state_label(t: &Texts, s: AppointmentState) -> (&'static str, &'static str) {
    match s {
        AppointmentState::Booked => (t.state_booked, "fr-badge--info"),
        AppointmentState::Canceled => (t.state_canceled, ""),
        AppointmentState::Fulfilled => (t.state_fulfilled, "fr-badge--success"),
        AppointmentState::NoShow => (t.state_no_show, "fr-badge--error"),
        AppointmentState::Excused => (t.state_excused, "fr-badge--new"),
        _ => (t.state_booked, ""),
    }
}

fn change_label(t: &Texts, a: &space::MyAppointment) -> Option<&'static str> {
    match a.change.as_ref().map(|r| r.state.as_str()) {
        Some("open") => Some(t.change_pending),
        Some("refused") => Some(t.change_refused),
        Some("done") => Some(t.change_done),
        _ if a.confirmed => Some(t.confirmed),
        _ => None,
    }
}

fn row(lang: Language, a: &space::MyAppointment) -> ApptRow {
    let t = i18n::texts(lang);
    let (state, badge) = state_label(t, a.state);
    ApptRow {
        id: a.id.clone(),
        when: i18n::when(lang, a.starts_at, a.time_zone),
        type_label: i18n::plain_type(lang, &a.type_id),
        place: a.place_name.clone(),
        state,
        badge,
        extra: change_label(t, a),
    }
}

#[derive(Template)]
#[template(path = "space/home.html")]
pub struct HomePage {
    pub c: SpaceCtx,
    pub first_name: String,
    pub next: Option<ApptRow>,
}

#[derive(Template)]
#[template(path = "space/appointments.html")]
pub struct AppointmentsPage {
    pub c: SpaceCtx,
    pub upcoming: Vec<ApptRow>,
    pub past: Vec<ApptRow>,
}

async fn person_lang(st: &AppState, p: &PersonSession, headers: &HeaderMap) -> AppResult<Language> {
    let me = space::me(&st.db, &p.ppsmj_id).await?;
    Ok(language(headers, Some(me.language)))
}

pub async fn appointments(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = person_lang(&st, &p, &headers).await?;
    let now = store::now();
    let list = space::my_appointments(&st.db, &p.ppsmj_id).await?;
    space::audit_read(&st.db, &p, ctx.ip.as_deref(), "rendez-vous").await?;
    let (up, mut past): (Vec<_>, Vec<_>) = list
        .iter()
        .partition(|a| a.state == AppointmentState::Booked && a.starts_at > now);
    past.reverse();
    html(
        StatusCode::OK,
        AppointmentsPage {
            c: SpaceCtx::new(&ctx, lang, i18n::texts(lang).appointments_title, "rdv"),
            upcoming: up.into_iter().map(|a| row(lang, a)).collect(),
            past: past.into_iter().map(|a| row(lang, a)).collect(),
        },
    )
}

#[derive(Template)]
#[template(path = "space/appointment.html")]
pub struct AppointmentPage {
    pub c: SpaceCtx,
    pub a: ApptRow,
    pub address: String,
    pub map_href: String,
    pub phone: Option<(String, String)>,
    pub accessibility: Option<String>,
    pub documents: Option<String>,
    pub preparation_url: Option<String>,
    pub meets: String,
    pub upcoming: bool,
    pub confirmed: bool,
    pub change_open: bool,
    pub answer: Option<String>,
    pub replaced_by: Option<String>,
    pub reason: String,
    pub reason_error: Option<&'static str>,
    pub proofs: Vec<DocRow>,
    pub doc_error: Option<&'static str>,
}

/// `(tel: href, display)` of a stored phone.
fn tel(raw: Option<&str>) -> Option<(String, String)> {
    let raw = raw?;
    match domain::PhoneNumber::parse(raw) {
        Ok(p) => Some((format!("tel:{}", p.as_e164()), p.national_display())),
        Err(_) => Some((
            format!(
                "tel:{}",
                raw.chars()
                    .filter(|c| c.is_ascii_digit() || *c == '+')
                    .collect::<String>()
            ),
            raw.to_string(),
        )),
    }
}

fn query_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What the appointment page's forms kept or refused.
#[derive(Default)]
struct FormState {
    reason: String,
    reason_error: Option<&'static str>,
    doc_error: Option<(StatusCode, &'static str)>,
}

impl FormState {
    fn reason(reason: String, key: &'static str) -> FormState {
        FormState {
            reason,
            reason_error: Some(key),
            doc_error: None,
        }
    }
}

pub struct DocRow {
    pub filename: String,
    pub at: String,
    pub seen: bool,
}

async fn appointment_page(
    st: &AppState,
    ctx: &Ctx,
    p: &PersonSession,
    headers: &HeaderMap,
    id: &str,
    notice: Option<&'static str>,
    form: FormState,
) -> AppResult<Response> {
    let FormState {
        reason,
        reason_error,
        doc_error,
    } = form;
    let lang = person_lang(st, p, headers).await?;
    let t = i18n::texts(lang);
    let a = space::my_appointment(&st.db, &p.ppsmj_id, id).await?;
    space::audit_read(&st.db, p, ctx.ip.as_deref(), "rendez-vous").await?;
    let r = row(lang, &a);
    let mut c = SpaceCtx::new(ctx, lang, r.type_label, "rdv");
    if let Some(n) = notice {
        c = c.notice("success", n);
    }
    let upcoming = a.state == AppointmentState::Booked && a.starts_at > store::now();
    let status = match (&reason_error, &doc_error) {
        (_, Some((status, _))) => *status,
        (Some(_), None) => StatusCode::UNPROCESSABLE_ENTITY,
        (None, None) => StatusCode::OK,
    };
    let proofs = space::my_documents(&st.db, &p.ppsmj_id, id)
        .await?
        .into_iter()
        .map(|d| DocRow {
            filename: d.filename,
            at: i18n::when(lang, d.created_at, a.time_zone),
            seen: d.seen_at.is_some(),
        })
        .collect();
    html(
        status,
        AppointmentPage {
            c,
            address: a.place_address.clone(),
            map_href: format!(
                "https://www.openstreetmap.org/search?query={}",
                query_encode(&a.place_address)
            ),
            phone: tel(a.place_phone.as_deref().or(a.organisation_phone.as_deref())),
            accessibility: a.accessibility.clone(),
            documents: a.documents_to_bring.clone(),
            preparation_url: a.preparation_url.clone(),
            meets: a
                .meets
                .clone()
                .unwrap_or_else(|| a.organisation_name.clone()),
            upcoming,
            confirmed: a.confirmed,
            change_open: a.change.as_ref().is_some_and(|r| r.state == "open"),
            answer: a
                .change
                .as_ref()
                .filter(|r| r.state == "refused")
                .and_then(|r| r.answer.clone()),
            replaced_by: a.replaced_by.clone(),
            reason,
            proofs,
            doc_error: doc_error.map(|(_, e)| e),
            reason_error: reason_error.map(|e| match e {
                "reason_too_long" => t.reason_too_long,
                "already_open" => t.already_open,
                "not_upcoming" => t.not_upcoming,
                _ => t.reason_required,
            }),
            a: r,
        },
    )
}

pub async fn appointment(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HomeQuery>,
) -> AppResult<Response> {
    let lang = person_lang(&st, &p, &headers).await?;
    let t = i18n::texts(lang);
    let notice = match q.info.as_str() {
        "confirme" => Some(t.confirmed_notice),
        "demande" => Some(t.change_sent_notice),
        "justificatif" => Some(t.docs_sent),
        _ => None,
    };
    appointment_page(&st, &ctx, &p, &headers, &id, notice, FormState::default()).await
}

pub async fn confirm(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    match space::confirm(&st.db, &p.ppsmj_id, &id, ctx.ip.as_deref(), store::now()).await {
        Ok(()) => Ok(see_other(&format!(
            "/mon-espace/rendez-vous/{id}?info=confirme"
        ))),
        Err(MsjError::Rule(_)) => {
            appointment_page(
                &st,
                &ctx,
                &p,
                &headers,
                &id,
                None,
                FormState::reason(String::new(), "not_upcoming"),
            )
            .await
        }
        Err(e) => Err(msj_error(e)),
    }
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    motif: String,
}

pub async fn ask_change(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ChangeForm>,
) -> AppResult<Response> {
    let reason: String = f.motif.chars().take(2000).collect();
    match space::request_change(
        &st.db,
        &p.ppsmj_id,
        &id,
        &reason,
        ctx.ip.as_deref(),
        store::now(),
    )
    .await
    {
        Ok(()) => Ok(see_other(&format!(
            "/mon-espace/rendez-vous/{id}?info=demande"
        ))),
        Err(MsjError::Invalid(errors)) => {
            let key = match errors.get("reason") {
                Some("reason_too_long") => "reason_too_long",
                _ => "reason_required",
            };
            appointment_page(
                &st,
                &ctx,
                &p,
                &headers,
                &id,
                None,
                FormState::reason(reason, key),
            )
            .await
        }
        Err(MsjError::Rule(r)) => {
            let key = if r == "already_open" {
                "already_open"
            } else {
                "not_upcoming"
            };
            appointment_page(
                &st,
                &ctx,
                &p,
                &headers,
                &id,
                None,
                FormState::reason(reason, key),
            )
            .await
        }
        Err(e) => Err(msj_error(e)),
    }
}

fn msj_error(e: MsjError) -> AppError {
    match e {
        MsjError::Store(s) => s.into(),
        MsjError::Forbidden(_) => AppError::Forbidden,
        other => AppError::Internal(anyhow::anyhow!(other.to_string())),
    }
}

/// "Ajouter à mon agenda": an RFC 5545 calendar with the one appointment (METHOD:PUBLISH: a file to import, not an
/// invitation to answer).
pub async fn ics(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = id.trim_end_matches(".ics").to_string();
    let lang = person_lang(&st, &p, &headers).await?;
    let t = i18n::texts(lang);
    let a = space::my_appointment(&st.db, &p.ppsmj_id, &id).await?;
    space::audit_read(&st.db, &p, ctx.ip.as_deref(), "agenda.ics").await?;
    let mut description = vec![];
    if let Some(d) = &a.documents_to_bring {
        description.push(format!("{} : {d}", t.documents));
    }
    if let Some((_, phone)) = tel(a.place_phone.as_deref().or(a.organisation_phone.as_deref())) {
        description.push(format!("{} {phone}", t.call));
    }
    let body = messaging::IcsEvent {
        uid: format!("{}@passerelle.justice.gouv.fr", a.id),
        sequence: 0,
        starts_at_utc: a.starts_at,
        ends_at_utc: a.starts_at + 30 * 60,
        summary: i18n::plain_type(lang, &a.type_id).to_string(),
        location: format!("{}, {}", a.place_name, a.place_address),
        description: description.join("\n"),
        organizer: None,
        attendee: None,
        stamp_utc: store::now(),
    }
    .to_ics()
    .replace("METHOD:REQUEST\r\n", "METHOD:PUBLISH\r\n");
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"rendez-vous.ics\"",
            ),
        ],
        body,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------------------------
// Contacts

pub struct ServiceRow {
    pub name: String,
    pub kind: &'static str,
    pub address: Option<String>,
    pub map_href: Option<String>,
    pub phone: Option<(String, String)>,
    pub email: Option<String>,
}

#[derive(Template)]
#[template(path = "space/contacts.html")]
pub struct ContactsPage {
    pub c: SpaceCtx,
    pub referent: Option<space::Referent>,
    pub referent_phone: Option<(String, String)>,
    pub services: Vec<ServiceRow>,
}

#[derive(Deserialize)]
pub struct MeasureQuery {
    langue: Option<String>,
}

/// "Ma mesure": the person's measures and obligations in plain words, in their language, with what is behind and
/// what is next (crates/web/src/handlers/space_measure.rs renders it; the catalogue of texts is domain::measure).
pub async fn my_measure(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<MeasureQuery>,
) -> AppResult<Response> {
    // The page's own language links (`?langue=`) win over the space's language.
    let measure_lang = match q.langue.as_deref().and_then(domain::measure::Lang::parse) {
        Some(l) => l,
        None => {
            let lang = person_lang(&st, &p, &headers).await?;
            domain::measure::Lang::parse(lang.as_str()).unwrap_or_default()
        }
    };
    space::audit_read(&st.db, &p, ctx.ip.as_deref(), "ma-mesure").await?;
    crate::handlers::space_measure::render_my_measure(&st, &p.ppsmj_id, measure_lang, store::now())
        .await
}

pub async fn contacts(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = person_lang(&st, &p, &headers).await?;
    let t = i18n::texts(lang);
    let c = space::contacts(&st.db, &p.ppsmj_id).await?;
    space::audit_read(&st.db, &p, ctx.ip.as_deref(), "contacts").await?;
    html(
        StatusCode::OK,
        ContactsPage {
            c: SpaceCtx::new(&ctx, lang, t.contacts_title, "contacts"),
            referent_phone: c
                .referent
                .as_ref()
                .and_then(|r| tel(r.organisation_phone.as_deref())),
            referent: c.referent,
            services: c
                .services
                .into_iter()
                .map(|s| ServiceRow {
                    kind: match s.kind.as_str() {
                        "spip" | "spip_antenna" | "antenna" => t.kind_spip,
                        "tj" | "sap" | "bex" | "tj_service" => t.kind_tj,
                        _ => t.kind_other,
                    },
                    map_href: s.address.as_ref().map(|a| {
                        format!(
                            "https://www.openstreetmap.org/search?query={}",
                            query_encode(a)
                        )
                    }),
                    phone: tel(s.phone.as_deref()),
                    name: s.name,
                    address: s.address,
                    email: s.email,
                })
                .collect(),
        },
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Contact details and preferences

pub struct LangChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub tag: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "space/details.html")]
pub struct DetailsPage {
    pub c: SpaceCtx,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub new_phone: String,
    pub new_email: String,
    pub phone_error: Option<&'static str>,
    pub email_error: Option<&'static str>,
    pub languages: Vec<LangChoice>,
    pub email_reminders: bool,
    /// The server's VAPID public key when push notifications are offered (the button appears with JS only).
    pub push_key: Option<String>,
}

async fn details_page(
    st: &AppState,
    ctx: &Ctx,
    p: &PersonSession,
    headers: &HeaderMap,
    notice: Option<&'static str>,
    form: (String, String, Option<&'static str>, Option<&'static str>),
) -> AppResult<Response> {
    let me = space::me(&st.db, &p.ppsmj_id).await?;
    let lang = language(headers, Some(me.language));
    let t = i18n::texts(lang);
    space::audit_read(&st.db, p, ctx.ip.as_deref(), "coordonnees").await?;
    let mut c = SpaceCtx::new(ctx, lang, t.details_title, "details");
    if let Some(n) = notice {
        c = c.notice("success", n);
    }
    let status = if form.2.is_some() || form.3.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html(
        status,
        DetailsPage {
            c,
            phone: me.phone.as_deref().map(|ph| {
                domain::PhoneNumber::parse(ph)
                    .map(|x| x.national_display())
                    .unwrap_or_else(|_| ph.to_string())
            }),
            email: me.email.clone(),
            new_phone: form.0,
            new_email: form.1,
            phone_error: form.2,
            email_error: form.3,
            languages: Language::ALL
                .into_iter()
                .map(|l| LangChoice {
                    value: l.as_str(),
                    label: i18n::own_name(l),
                    tag: i18n::own_tag(l),
                    checked: l == me.language,
                })
                .collect(),
            email_reminders: me.email_reminders,
            push_key: st.push_public_key.as_deref().map(str::to_string),
        },
    )
}

pub async fn details(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HomeQuery>,
) -> AppResult<Response> {
    let lang = person_lang(&st, &p, &headers).await?;
    let t = i18n::texts(lang);
    let notice = match q.info.as_str() {
        "change" => Some(t.contact_changed),
        "preferences" => Some(t.prefs_saved),
        _ => None,
    };
    details_page(&st, &ctx, &p, &headers, notice, Default::default()).await
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    telephone: String,
    #[serde(default)]
    email: String,
}

pub async fn contact_start(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<ContactForm>,
) -> AppResult<Response> {
    let lang = person_lang(&st, &p, &headers).await?;
    let t = i18n::texts(lang);
    let phone: String = f.telephone.chars().take(100).collect();
    let email: String = f.email.chars().take(200).collect();
    let is_phone = !phone.trim().is_empty();
    let ident = if is_phone {
        domain::MobilePhone::parse(&phone)
            .ok()
            .map(|m| Identifier::Phone(m.as_e164().to_string()))
    } else {
        domain::Email::parse(&email)
            .ok()
            .map(|e| Identifier::Email(e.as_str().to_string()))
    };
    let field_error = |msg: &'static str| {
        if is_phone {
            (phone.clone(), email.clone(), Some(msg), None)
        } else {
            (phone.clone(), email.clone(), None, Some(msg))
        }
    };
    let Some(ident) = ident else {
        let msg = if is_phone {
            t.phone_invalid
        } else {
            t.email_invalid
        };
        return details_page(&st, &ctx, &p, &headers, None, field_error(msg)).await;
    };
    let outcome =
        space::request_contact_change(&st.db, &p.ppsmj_id, &ident, ctx.ip.as_deref(), store::now())
            .await?;
    let msg = match outcome {
        ContactRequest::Started { flow_token } => {
            return Ok(with_cookies(
                see_other("/mon-espace/coordonnees/code"),
                &[scoped_cookie(
                    &ctx,
                    CONTACT_FLOW_COOKIE,
                    &flow_token,
                    space::CODE_VALID_SECS + 300,
                )],
            ))
        }
        ContactRequest::TooMany => t.too_many,
        ContactRequest::Unchanged => t.unchanged,
        ContactRequest::Taken => t.taken,
    };
    details_page(&st, &ctx, &p, &headers, None, field_error(msg)).await
}

pub async fn contact_code_form(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = person_lang(&st, &p, &headers).await?;
    html(StatusCode::OK, code_page(&ctx, lang, true, None, false))
}

pub async fn contact_code_submit(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let lang = person_lang(&st, &p, &headers).await?;
    let t = i18n::texts(lang);
    let Some(code) = normalise_code(&f.code) else {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            code_page(&ctx, lang, true, Some(t.code_format.into()), false),
        );
    };
    let flow = cookie(&headers, CONTACT_FLOW_COOKIE).unwrap_or_default();
    let check = space::verify_contact_change(
        &st.db,
        &p.ppsmj_id,
        &flow,
        &code,
        ctx.ip.as_deref(),
        store::now(),
    )
    .await
    .map_err(msj_error)?;
    match check {
        CodeCheck::Valid { .. } => Ok(with_cookies(
            see_other("/mon-espace/coordonnees?info=change"),
            &[scoped_cookie(&ctx, CONTACT_FLOW_COOKIE, "", 0)],
        )),
        other => code_outcome_page(&ctx, lang, true, &other),
    }
}

#[derive(Deserialize)]
pub struct PreferencesForm {
    #[serde(default)]
    langue: String,
    #[serde(default)]
    rappels_email: Option<String>,
}

pub async fn preferences(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    Form(f): Form<PreferencesForm>,
) -> AppResult<Response> {
    let Some(lang) = Language::parse(&f.langue) else {
        return Ok(see_other("/mon-espace/coordonnees"));
    };
    space::set_preferences(
        &st.db,
        &p.ppsmj_id,
        lang,
        f.rappels_email.is_some(),
        ctx.ip.as_deref(),
        store::now(),
    )
    .await?;
    // The pages follow the language just chosen.
    let secure = if ctx.secure_cookies { "; Secure" } else { "" };
    Ok(with_cookies(
        see_other("/mon-espace/coordonnees?info=preferences"),
        &[format!(
            "{LANG_COOKIE}={}; Path=/mon-espace; SameSite=Lax; Max-Age=31536000{secure}",
            lang.as_str()
        )],
    ))
}

// ---------------------------------------------------------------------------------------------------------------
// Agents' side

/// A person's request as shown to agents (person page and work queue).
pub struct AgentRequestRow {
    pub id: String,
    pub ppsmj_id: String,
    pub appointment_id: String,
    pub person: String,
    pub when: String,
    pub type_label: String,
    pub kind: &'static str,
    pub reason: String,
    pub state: &'static str,
    pub answer: String,
    pub open: bool,
    pub rebook_href: String,
    pub at: String,
}

fn agent_row(r: space::AgentRequest) -> AgentRequestRow {
    let tz: chrono_tz::Tz = r.time_zone.parse().unwrap_or(chrono_tz::Europe::Paris);
    let open = r.request.kind == "change" && r.request.state == "open";
    AgentRequestRow {
        rebook_href: format!(
            "/msj/personnes/{}/rendez-vous/nouveau?type={}&remplace={}",
            r.request.ppsmj_id, r.appointment_type_id, r.request.appointment_id
        ),
        id: r.request.id,
        ppsmj_id: r.request.ppsmj_id,
        appointment_id: r.request.appointment_id,
        person: r.person_name,
        when: i18n::when(Language::Fr, r.appointment_starts_at, tz),
        type_label: r.appointment_type_label,
        kind: if r.request.kind == "confirm" {
            "Confirme sa venue"
        } else {
            "Demande un changement"
        },
        reason: r.request.reason.unwrap_or_default(),
        state: match (r.request.kind.as_str(), r.request.state.as_str()) {
            ("confirm", _) => "Confirmé",
            (_, "open") => "À traiter",
            (_, "refused") => "Refusé",
            _ => "Rendez-vous changé",
        },
        answer: r.request.answer.unwrap_or_default(),
        open,
        at: crate::views::datetime_fr(r.request.created_at),
    }
}

/// Rows for the person page of the agents' side.
pub async fn agent_rows_for_ppsmj(
    st: &AppState,
    scope: &store::Scope,
    ppsmj_id: &str,
) -> AppResult<Vec<AgentRequestRow>> {
    Ok(space::requests_for_ppsmj(&st.db, scope, ppsmj_id)
        .await?
        .into_iter()
        .map(agent_row)
        .collect())
}

/// Open change requests for the work queue.
pub async fn agent_queue_rows(
    st: &AppState,
    scope: &store::Scope,
) -> AppResult<Vec<AgentRequestRow>> {
    Ok(space::open_change_requests(&st.db, scope, 300)
        .await?
        .into_iter()
        .map(agent_row)
        .collect())
}

#[derive(Deserialize)]
pub struct RefuseForm {
    #[serde(default)]
    reponse: String,
    #[serde(default)]
    retour: String,
}

#[derive(Template)]
#[template(path = "space/agent_error.html")]
pub struct AgentErrorPage {
    pub ctx: PageCtx,
    pub message: String,
    pub back: String,
}

pub async fn agent_refuse(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<RefuseForm>,
) -> AppResult<Response> {
    auth.require(crate::handlers::msj::uses_msj(auth.user().role))?;
    auth.require(crate::handlers::msj::may_change(auth.user().role))?;
    let back = if f.retour == "a-traiter" {
        "/msj/a-traiter".to_string()
    } else {
        // Back to the person page: the request's person, read in the agent's scope.
        let rows = space::open_change_requests(&st.db, auth.scope(), 1000).await?;
        rows.iter()
            .find(|r| r.request.id == id)
            .map(|r| format!("/msj/personnes/{}", r.request.ppsmj_id))
            .unwrap_or_else(|| "/msj/a-traiter".into())
    };
    match space::refuse_change(&st.db, auth.scope(), &id, &f.reponse, store::now()).await {
        Ok(()) => Ok(see_other(&format!("{back}?info=demande-refusee"))),
        Err(MsjError::Invalid(e)) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            AgentErrorPage {
                ctx: PageCtx::new(&auth.1, "Réponse non envoyée"),
                message: e.to_string(),
                back,
            },
        ),
        Err(MsjError::Rule(m)) => html(
            StatusCode::CONFLICT,
            AgentErrorPage {
                ctx: PageCtx::new(&auth.1, "Réponse non envoyée"),
                message: m,
                back,
            },
        ),
        Err(e) => Err(msj_error(e)),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Proofs ("justificatifs")

const TOO_BIG: &str = "justificatif trop volumineux";

/// Receives a proof (multipart field `fichier`, CSRF token in the action URL): 10 MB at most, a photo or a PDF by
/// extension and by content, scanned by the antivirus, encrypted at rest (crates/files).
pub async fn upload_document(
    Person(p, ctx): Person,
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    mut mp: axum::extract::Multipart,
) -> AppResult<Response> {
    use futures::StreamExt;
    // Another person's appointment is 404 before a byte of the body is read.
    space::my_appointment_organisation(&st.db, &p.ppsmj_id, &id).await?;
    let lang = person_lang(&st, &p, &headers).await?;
    let t = i18n::texts(lang);
    let max = space::DOCUMENT_MAX_BYTES;
    let refuse = |status: StatusCode, msg: &'static str| {
        let (st, ctx, p, headers, id) = (
            st.clone(),
            ctx.clone(),
            p.clone(),
            headers.clone(),
            id.clone(),
        );
        async move {
            let form = FormState {
                doc_error: Some((status, msg)),
                ..Default::default()
            };
            appointment_page(&st, &ctx, &p, &headers, &id, None, form).await
        }
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max + 64 * 1024) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, t.docs_too_big).await;
    }
    let mut stored: Option<Result<files::StoredFile, files::FileError>> = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                stored = Some(Err(files::FileError::Upload(e.body_text())));
                break;
            }
        };
        if field.name() != Some("fichier") || stored.is_some() {
            continue;
        }
        let filename = field.file_name().unwrap_or_default().to_string();
        if filename.is_empty() {
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, t.docs_none).await;
        }
        let ext = filename
            .rsplit_once('.')
            .map(|(_, e)| e.to_lowercase())
            .unwrap_or_default();
        if !space::DOCUMENT_EXTENSIONS.contains(&ext.as_str()) {
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, t.docs_type).await;
        }
        let mut total = 0u64;
        let limited = field.map(move |chunk| match chunk {
            Ok(bytes) => {
                total += bytes.len() as u64;
                if total > max {
                    Err(TOO_BIG.to_string())
                } else {
                    Ok(bytes)
                }
            }
            Err(e) => Err(e.body_text()),
        });
        stored = Some(st.files.put_stream(&filename, Box::pin(limited)).await);
    }
    let stored = match stored {
        None => return refuse(StatusCode::UNPROCESSABLE_ENTITY, t.docs_none).await,
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            let (status, msg) = match &e {
                files::FileError::TooLarge { .. } => {
                    (StatusCode::PAYLOAD_TOO_LARGE, t.docs_too_big)
                }
                files::FileError::Upload(m) if m.contains(TOO_BIG) => {
                    (StatusCode::PAYLOAD_TOO_LARGE, t.docs_too_big)
                }
                files::FileError::Infected { sha256, size, .. } => {
                    tracing::warn!(appointment = %id, sha256, size, "infected proof refused");
                    store::audit::record(
                        st.db.pool(),
                        &space::person_actor(
                            &p.ppsmj_id,
                            Some(&p.organisation_id),
                            ctx.ip.as_deref(),
                        ),
                        "appointment.person_document_infected",
                        "appointment",
                        Some(&id),
                        Some(serde_json::json!({ "sha256": sha256, "size": size })),
                    )
                    .await?;
                    (StatusCode::UNPROCESSABLE_ENTITY, t.docs_virus)
                }
                e if e.is_refusal() => (StatusCode::UNPROCESSABLE_ENTITY, t.docs_type),
                files::FileError::Upload(_) => (StatusCode::BAD_REQUEST, t.docs_failed),
                other => {
                    tracing::error!(error = %other, "proof upload failed");
                    (StatusCode::SERVICE_UNAVAILABLE, t.docs_failed)
                }
            };
            return refuse(status, msg).await;
        }
    };
    let new = space::NewDocument {
        filename: stored.filename.clone(),
        content_type: stored.content_type.to_string(),
        size_bytes: stored.size as i64,
        sha256: stored.sha256.clone(),
        storage_key: stored.key.clone(),
        scan_status: match stored.scan {
            files::ScanOutcome::Clean => "clean".into(),
            files::ScanOutcome::NotScanned => "not_scanned".into(),
        },
    };
    if let Err(e) = space::add_document(
        &st.db,
        &p.ppsmj_id,
        &id,
        &new,
        ctx.ip.as_deref(),
        store::now(),
    )
    .await
    {
        if let Err(d) = st.files.delete(&stored.key).await {
            tracing::error!(error = %d, key = %stored.key, "orphan proof object left");
        }
        return Err(e.into());
    }
    Ok(see_other(&format!(
        "/mon-espace/rendez-vous/{id}?info=justificatif"
    )))
}

/// A proof as the agent sees it on the appointment page.
pub struct AgentDocRow {
    pub id: String,
    pub filename: String,
    pub size: String,
    pub at: String,
    pub scan: &'static str,
    pub seen: Option<String>,
}

/// Rows for the agents' appointment page.
pub async fn agent_document_rows(
    st: &AppState,
    scope: &store::Scope,
    appointment_id: &str,
) -> AppResult<Vec<AgentDocRow>> {
    Ok(
        space::documents_for_appointment(&st.db, scope, appointment_id)
            .await?
            .into_iter()
            .map(|d| AgentDocRow {
                id: d.id,
                filename: d.filename,
                size: files::human_size(d.size_bytes.max(0) as u64),
                at: crate::views::datetime_fr(d.created_at),
                scan: if d.scan_status == "clean" {
                    "analysé par l'antivirus"
                } else {
                    "non analysé (pas d'antivirus configuré)"
                },
                seen: d.seen_at.map(|at| {
                    format!(
                        "Vu le {} par {}",
                        crate::views::datetime_fr(at),
                        d.seen_by_label.unwrap_or_default()
                    )
                }),
            })
            .collect(),
    )
}

pub async fn agent_document(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    auth.require(crate::handlers::msj::uses_msj(auth.user().role))?;
    let d = space::document_for_agent(&st.db, auth.scope(), &id).await?;
    let stream = st.files.open(&d.storage_key).await.map_err(|e| {
        tracing::error!(document = %d.id, error = %e, "proof unreadable (missing or tampered)");
        AppError::Internal(e.into())
    })?;
    let mut res = Response::new(axum::body::Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&d.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&crate::handlers::files::content_disposition(&d.filename))
            .unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

pub async fn agent_document_seen(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    auth.require(crate::handlers::msj::uses_msj(auth.user().role))?;
    auth.require(crate::handlers::msj::may_change(auth.user().role))?;
    let appointment_id = space::mark_document_seen(&st.db, auth.scope(), &id, store::now()).await?;
    Ok(see_other(&format!("/msj/rendez-vous/{appointment_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_may_be_typed_with_spaces_but_have_six_digits() {
        assert_eq!(normalise_code(" 12 34 56 "), Some("123456".into()));
        assert_eq!(normalise_code("12345"), None);
        assert_eq!(normalise_code("12345a"), None);
        assert_eq!(normalise_code("١٢٣٤٥٦"), None);
    }
}
