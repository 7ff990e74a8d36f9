//! PPSMJ records: list and fast search, create (with possible duplicates shown before saving), edit, archive /
//! restore, and the person's page (identity, contacts, appointments, messages, history).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use store::msj::appointments::{self, sms_warning};
use store::msj::ppsmj::{self as repo, Language, PpsmjInput};
use store::msj::{agendas, places, FieldErrors, MsjError};
use store::roles::{OrgKind, Role};
use store::{orgs, outbox, users};

use super::{contact_status, refusal, require_msj, state_badge, when_fr, Zones};
use crate::error::AppResult;
use crate::handlers::page;
use crate::session::Auth;
use crate::views::{datetime_fr, Choice, PageCtx};
use crate::AppState;

const PAGE_SIZE: i64 = 50;

pub struct Row {
    pub id: String,
    pub name: String,
    pub birth_date: String,
    pub appi: String,
    pub contact_class: &'static str,
    pub contact: String,
    pub archived: bool,
}

#[derive(Template)]
#[template(path = "msj/list.html")]
pub struct ListPage {
    pub ctx: PageCtx,
    pub q: String,
    pub mine: bool,
    pub archived: bool,
    pub searched: bool,
    pub rows: Vec<Row>,
    pub may_create: bool,
    pub next_page: Option<String>,
    pub prev_page: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    mes: String,
    #[serde(default)]
    archives: String,
    #[serde(default)]
    page: Option<i64>,
}

fn row(s: &repo::PpsmjSummary) -> Row {
    let (contact_class, contact) = contact_status(
        s.phone.as_deref(),
        s.phone_mobile,
        s.no_phone,
        s.refused_phone,
        s.sms_opt_out,
    );
    Row {
        id: s.id.clone(),
        name: s.display_name(),
        birth_date: s.birth_date.format("%d/%m/%Y").to_string(),
        appi: s.appi_number.clone().unwrap_or_default(),
        contact_class,
        contact,
        archived: s.archived,
    }
}

pub async fn list(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    let scope = auth.scope();
    let mine = q.mes == "1";
    let archived = q.archives == "1";
    let page_no = q.page.unwrap_or(0).max(0);
    let text = q.q.trim().to_string();
    let found = if text.is_empty() {
        let me = auth.user().id.clone();
        repo::list(
            &st.db,
            scope,
            mine.then_some(me.as_str()),
            archived,
            PAGE_SIZE + 1,
            page_no * PAGE_SIZE,
        )
        .await?
    } else {
        let mut found = repo::search(&st.db, scope, &text, archived, 200).await?;
        if mine {
            found.retain(|s| s.referent_user_id.as_deref() == Some(auth.user().id.as_str()));
        }
        found
    };
    let more = text.is_empty() && found.len() as i64 > PAGE_SIZE;
    let rows: Vec<Row> = found.iter().take(PAGE_SIZE as usize).map(row).collect();
    // The list shows names, birth dates, APPI numbers and phones: one audit row per page view, naming the query.
    store::audit::record(
        st.db.pool(),
        &scope.actor,
        if text.is_empty() {
            "ppsmj.list"
        } else {
            "ppsmj.search"
        },
        "ppsmj",
        None,
        Some(serde_json::json!({
            "q": text, "mine": mine, "archived": archived, "page": page_no, "shown": rows.len(),
        })),
    )
    .await?;
    let link = |p: i64| {
        format!(
            "/msj/personnes?page={p}{}{}",
            if mine { "&mes=1" } else { "" },
            if archived { "&archives=1" } else { "" }
        )
    };
    page(ListPage {
        ctx: PageCtx::new(&auth.1, "Personnes suivies"),
        searched: !text.is_empty(),
        q: text,
        mine,
        archived,
        rows,
        may_create: super::may_change(auth.user().role),
        next_page: more.then(|| link(page_no + 1)),
        prev_page: (page_no > 0).then(|| link(page_no - 1)),
    })
}

#[derive(Deserialize, Default, Clone)]
pub struct PersonForm {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub birth_date: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub no_phone: Option<String>,
    #[serde(default)]
    pub refused_phone: Option<String>,
    #[serde(default)]
    pub phone_shared: Option<String>,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub appi_number: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub referent_user_id: String,
    #[serde(default)]
    pub prosecutor_case_number: String,
    /// "Je confirme qu'il s'agit d'une autre personne" after the duplicate warning.
    #[serde(default)]
    pub confirm_distinct: Option<String>,
}

impl PersonForm {
    fn input(&self) -> PpsmjInput {
        PpsmjInput {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            birth_date: self.birth_date.clone(),
            phone: self.phone.clone(),
            no_phone: self.no_phone.is_some(),
            refused_phone: self.refused_phone.is_some(),
            phone_shared: self.phone_shared.is_some(),
            email: self.email.clone(),
            appi_number: self.appi_number.clone(),
            address: self.address.clone(),
            city: self.city.clone(),
            language: self.language.clone(),
            referent_user_id: Some(self.referent_user_id.trim().to_string())
                .filter(|s| !s.is_empty()),
            prosecutor_case_number: self.prosecutor_case_number.clone(),
        }
    }

    fn from_record(p: &repo::Ppsmj) -> PersonForm {
        let on = |b: bool| b.then(|| "on".to_string());
        PersonForm {
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            birth_date: p.birth_date.to_string(),
            phone: p
                .phone
                .as_deref()
                .map(|x| {
                    domain::PhoneNumber::parse(x)
                        .map(|n| n.national_display())
                        .unwrap_or_else(|_| x.to_string())
                })
                .unwrap_or_default(),
            no_phone: on(p.no_phone),
            refused_phone: on(p.refused_phone),
            phone_shared: on(p.phone_shared),
            email: p.email.clone().unwrap_or_default(),
            appi_number: p.appi_number.clone().unwrap_or_default(),
            address: p.address.clone().unwrap_or_default(),
            city: p.city.clone().unwrap_or_default(),
            language: p.language.as_str().to_string(),
            referent_user_id: p.referent_user_id.clone().unwrap_or_default(),
            prosecutor_case_number: p.prosecutor_case_number.clone().unwrap_or_default(),
            confirm_distinct: None,
        }
    }
}

pub struct Duplicate {
    pub id: String,
    pub name: String,
    pub birth_date: String,
    pub appi: String,
    pub reasons: String,
    pub archived: bool,
}

#[derive(Template)]
#[template(path = "msj/form.html")]
pub struct FormPage {
    pub ctx: PageCtx,
    /// Set when editing.
    pub id: Option<String>,
    pub form: PersonForm,
    pub errors: FieldErrors,
    pub error: Option<String>,
    pub duplicates: Vec<Duplicate>,
    pub referents: Vec<Choice>,
    pub languages: Vec<Choice>,
}

impl FormPage {
    pub fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

/// CPIPs of the SPIPs the agent sees (the referent picker).
async fn referents(st: &AppState, auth: &Auth, selected: &str) -> AppResult<Vec<Choice>> {
    let scope = auth.scope();
    let mut out = vec![];
    let visible = orgs::list(&st.db, scope).await?;
    for o in visible.iter().filter(|o| o.kind == OrgKind::Spip) {
        for u in users::list_in_org_with_roles(&st.db, scope, &o.id, &[Role::Cpip]).await? {
            out.push(Choice {
                selected: u.id == selected,
                label: format!(
                    "{} {} ({})",
                    u.last_name.to_uppercase(),
                    u.first_name,
                    o.name
                ),
                value: u.id,
            });
        }
    }
    Ok(out)
}

fn languages(selected: &str) -> Vec<Choice> {
    Language::ALL
        .iter()
        .map(|l| Choice {
            value: l.as_str().into(),
            label: l.label().into(),
            selected: l.as_str() == selected || (selected.is_empty() && *l == Language::Fr),
        })
        .collect()
}

async fn form_page(
    st: &AppState,
    auth: &Auth,
    id: Option<String>,
    form: PersonForm,
    errors: FieldErrors,
    error: Option<String>,
    duplicates: Vec<Duplicate>,
) -> AppResult<Response> {
    let title = if id.is_some() {
        "Modifier le dossier"
    } else {
        "Nouvelle personne suivie"
    };
    let referents = referents(st, auth, &form.referent_user_id).await?;
    page(FormPage {
        ctx: PageCtx::new(&auth.1, title),
        languages: languages(&form.language),
        id,
        form,
        errors,
        error,
        duplicates,
        referents,
    })
}

pub async fn new_form(auth: Auth, State(st): State<AppState>) -> AppResult<Response> {
    require_msj(&auth)?;
    auth.require(super::may_change(auth.user().role))?;
    let mut form = PersonForm::default();
    if auth.user().role == Role::Cpip {
        form.referent_user_id = auth.user().id.clone();
    }
    form_page(&st, &auth, None, form, FieldErrors::default(), None, vec![]).await
}

fn duplicates(found: &[repo::DuplicateCandidate]) -> Vec<Duplicate> {
    found
        .iter()
        .map(|d| Duplicate {
            id: d.record.id.clone(),
            name: d.record.display_name(),
            birth_date: d.record.birth_date.format("%d/%m/%Y").to_string(),
            appi: d.record.appi_number.clone().unwrap_or_default(),
            reasons: d
                .reasons
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
                .join(" ; "),
            archived: d.record.archived,
        })
        .collect()
}

pub async fn create(
    auth: Auth,
    State(st): State<AppState>,
    Form(f): Form<PersonForm>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    auth.require(super::may_change(auth.user().role))?;
    let scope = auth.scope();
    let input = f.input();
    // Look-alikes are shown before anything is saved; the agent confirms it is someone else.
    if f.confirm_distinct.is_none() {
        let found = repo::possible_duplicates(&st.db, scope, &input, None).await?;
        if !found.is_empty() {
            return form_page(
                &st,
                &auth,
                None,
                f,
                FieldErrors::default(),
                None,
                duplicates(&found),
            )
            .await;
        }
    }
    let organisation_id = auth.user().organisation_id.clone();
    match repo::create(&st.db, scope, &organisation_id, &input, store::now()).await {
        Ok(p) => Ok(Redirect::to(&format!("/msj/personnes/{}?info=cree", p.id)).into_response()),
        Err(MsjError::Invalid(errors)) => {
            form_page(&st, &auth, None, f, errors, None, vec![]).await
        }
        Err(e) => {
            let msg = refusal(e)?;
            form_page(
                &st,
                &auth,
                None,
                f,
                FieldErrors::default(),
                Some(msg),
                vec![],
            )
            .await
        }
    }
}

pub async fn edit_form(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    let p = repo::get(&st.db, auth.scope(), &id).await?;
    auth.require(super::may_change(auth.user().role))?;
    form_page(
        &st,
        &auth,
        Some(id),
        PersonForm::from_record(&p),
        FieldErrors::default(),
        None,
        vec![],
    )
    .await
}

pub async fn update(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<PersonForm>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    auth.require(super::may_change(auth.user().role))?;
    match repo::update(&st.db, auth.scope(), &id, &f.input(), store::now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/msj/personnes/{id}?info=modifie")).into_response()),
        Err(MsjError::Invalid(errors)) => {
            form_page(&st, &auth, Some(id), f, errors, None, vec![]).await
        }
        Err(e) => {
            let msg = refusal(e)?;
            form_page(
                &st,
                &auth,
                Some(id),
                f,
                FieldErrors::default(),
                Some(msg),
                vec![],
            )
            .await
        }
    }
}

async fn archive_or_restore(
    auth: Auth,
    st: AppState,
    id: String,
    restore: bool,
) -> AppResult<Response> {
    require_msj(&auth)?;
    auth.require(super::may_change(auth.user().role))?;
    let r = if restore {
        repo::restore(&st.db, auth.scope(), &id, store::now()).await
    } else {
        repo::archive(&st.db, auth.scope(), &id, store::now()).await
    };
    let code = match r {
        Ok(_) if restore => "restaure".to_string(),
        Ok(_) => "archive".to_string(),
        Err(MsjError::Invalid(errors)) => {
            return show_page(&st, &auth, &id, Some(("error", errors.to_string()))).await
        }
        Err(e) => {
            let msg = refusal(e)?;
            return show_page(&st, &auth, &id, Some(("error", msg))).await;
        }
    };
    Ok(Redirect::to(&format!("/msj/personnes/{id}?info={code}")).into_response())
}

pub async fn archive(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    archive_or_restore(auth, st, id, false).await
}

pub async fn restore(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    archive_or_restore(auth, st, id, true).await
}

pub struct ApptRow {
    pub id: String,
    pub when: String,
    pub type_label: String,
    pub place: String,
    pub badge_class: &'static str,
    pub badge: &'static str,
    pub note: String,
}

pub struct MsgRow {
    pub due: String,
    pub channel: &'static str,
    pub kind: &'static str,
    pub state: &'static str,
    pub body: String,
}

pub struct HistRow {
    pub at: String,
    pub who: String,
    pub what: String,
}

pub struct FollowRow {
    pub name: String,
    pub since: String,
    pub owner: bool,
}

#[derive(Template)]
#[template(path = "msj/show.html")]
pub struct ShowPage {
    pub ctx: PageCtx,
    pub id: String,
    pub name: String,
    pub birth_date: String,
    pub appi: String,
    pub archived: bool,
    pub contact_class: &'static str,
    pub contact: String,
    pub email: String,
    pub address: String,
    pub language: &'static str,
    pub referent: String,
    pub prosecutor_case_number: String,
    pub sms_warning: Option<String>,
    pub following: Vec<FollowRow>,
    pub upcoming: Vec<ApptRow>,
    pub past: Vec<ApptRow>,
    pub messages: Vec<MsgRow>,
    pub history: Vec<HistRow>,
    /// « Précédent / Suivant » of the past appointments and of the history (20 rows a page).
    pub past_pager: Pager,
    pub history_pager: Pager,
    pub book_types: Vec<Choice>,
    pub may_change: bool,
    pub measures: Vec<super::measures::MeasureRow>,
    /// The file's own organisation, with a role that manages files (the policy's `ManageFile`).
    pub may_divest: bool,
    /// Confirmations and change requests the person made in their space.
    pub requests: Vec<crate::handlers::space::AgentRequestRow>,
    pub requests_caption: &'static str,
    pub requests_show_person: bool,
    pub requests_back: &'static str,
    pub may_answer: bool,
}

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "summon" => "Convocation",
        "reminder" => "Rappel",
        "cancelation" => "Annulation",
        "reschedule" => "Changement de rendez-vous",
        "no_show" => "Absence constatée",
        _ => "Autre",
    }
}

pub fn message_state_label(state: &str) -> &'static str {
    match state {
        "programmed" => "Programmé",
        "sending" => "En cours d'envoi",
        "sent" => "Envoyé",
        "received" => "Reçu",
        "canceled" => "Annulé",
        "unsent" => "Non envoyé",
        "failed" => "Échec",
        _ => "Créé",
    }
}

fn info_notice(code: &str) -> Option<(&'static str, String)> {
    let text = match code {
        "cree" => "Dossier créé.",
        "modifie" => "Dossier modifié.",
        "archive" => "Dossier archivé. Vous pouvez le restaurer à tout moment.",
        "restaure" => "Dossier restauré.",
        "rdv" => "Rendez-vous planifié. La convocation est programmée.",
        "replanifie" => "Rendez-vous replanifié. La personne est prévenue du changement.",
        "annule" => "Rendez-vous annulé.",
        "resultat" => "Résultat du rendez-vous enregistré.",
        "mesure_ajoutee" => "Mesure ajoutée. La personne la verra expliquée dans son espace.",
        "mesure_modifiee" => "Mesure modifiée.",
        "mesure_supprimee" => "Mesure supprimée.",
        "demande-refusee" => "Refus envoyé à la personne.",
        _ => return None,
    };
    Some(("success", text.to_string()))
}

/// The bookable appointment types of a role, in display order.
pub(crate) fn bookable(
    role: Role,
    types: &[places::AppointmentType],
) -> Vec<places::AppointmentType> {
    use store::roles::RoleGroup as G;
    types
        .iter()
        .filter(|t| match role.group() {
            G::National | G::LocalAdmin => true,
            G::Bex => t.booked_by == "bex",
            G::Sap => t.booked_by == "sap",
            G::Spip => t.booked_by == "spip",
            _ => false,
        })
        .cloned()
        .collect()
}

fn history_text(
    h: &repo::HistoryEntry,
    appts: &HashMap<String, (String, String)>,
    org_names: &HashMap<String, String>,
) -> String {
    let details: serde_json::Value = h
        .details
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let appt = h
        .appointment_id
        .as_ref()
        .and_then(|id| appts.get(id))
        .map(|(label, when)| format!("{label} du {when}"))
        .unwrap_or_else(|| "rendez-vous".into());
    match h.action.as_str() {
        "ppsmj.create" => "Dossier créé".into(),
        "ppsmj.update" if details["by"] == "person" => {
            let fields: Vec<&str> = details["changed"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| match f.as_str()? {
                            "phone" => Some("numéro de portable"),
                            "email" => Some("adresse e-mail"),
                            "language" => Some("langue des messages"),
                            "email_reminders" => Some("rappels par e-mail"),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "Modifié par la personne dans son espace : {}",
                fields.join(", ")
            )
        }
        "appointment.person_confirm" => format!("La personne confirme sa venue : {appt}"),
        "appointment.person_change_request" => format!(
            "La personne demande un changement : {appt} — motif : {}",
            details["reason"].as_str().unwrap_or("")
        ),
        "appointment.person_document" => {
            format!("La personne envoie un justificatif : {appt}")
        }
        "appointment.document_seen" => format!("Justificatif vu : {appt}"),
        "appointment.change_refused" => format!(
            "Demande de changement refusée : {appt} — réponse : {}",
            details["answer"].as_str().unwrap_or("")
        ),
        "ppsmj.update" => {
            let n = details["changed"].as_array().map(|a| a.len()).unwrap_or(0);
            format!("Dossier modifié ({n} champ(s))")
        }
        "ppsmj.archive" => "Dossier archivé".into(),
        "ppsmj.restore" => "Dossier restauré".into(),
        "ppsmj.follow" => {
            let org = details["organisation_id"]
                .as_str()
                .and_then(|o| org_names.get(o))
                .cloned()
                .unwrap_or_else(|| "un autre service".into());
            format!("Suivi par {org}")
        }
        "appointment.book" => format!("Rendez-vous planifié : {appt}"),
        "appointment.rebook" => {
            format!("Rendez-vous replanifié : {appt} (remplace un rendez-vous annulé)")
        }
        "appointment.cancel" => {
            let reason = details["reason"].as_str().unwrap_or("").trim();
            if reason.is_empty() {
                format!("Rendez-vous annulé : {appt}")
            } else {
                format!("Rendez-vous annulé : {appt} — motif : {reason}")
            }
        }
        "appointment.outcome" => {
            let state = details["state"]
                .as_str()
                .and_then(|s| s.parse::<domain::AppointmentState>().ok())
                .map(|s| state_badge(s).1)
                .unwrap_or("?");
            format!("Résultat saisi : {state} — {appt}")
        }
        "measure.create" | "measure.update" | "measure.delete" => {
            let kind = details["kind"]
                .as_str()
                .and_then(domain::MeasureKind::parse)
                .map(|k| k.label())
                .unwrap_or("mesure");
            let verb = match h.action.as_str() {
                "measure.create" => "ajoutée",
                "measure.update" => "modifiée",
                _ => "supprimée",
            };
            format!("Mesure {verb} : {kind}")
        }
        a if a.starts_with("divestment") => match a {
            "divestment.request" => "Dessaisissement demandé".to_string(),
            "divestment.accepted" => "Dessaisissement accepté".to_string(),
            "divestment.refused" => "Dessaisissement refusé".to_string(),
            "divestment.auto_accepted" => "Dessaisissement accepté automatiquement".to_string(),
            other => format!("Dessaisissement ({other})"),
        },
        other => other.to_string(),
    }
}

/// Rows a page in the paged sections of the person's page.
pub const SECTION_PAGE_SIZE: usize = 20;

/// Which page of each paged section of the person's page is shown (`?passes=2&historique=3`, from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PersonPages {
    pub past: usize,
    pub history: usize,
}

impl Default for PersonPages {
    fn default() -> Self {
        PersonPages {
            past: 1,
            history: 1,
        }
    }
}

/// Links to the neighbour pages of one section, keeping the other section's page.
#[derive(Clone, Default)]
pub struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
    pub label: String,
}

impl Pager {
    pub fn is_needed(&self) -> bool {
        self.prev.is_some() || self.next.is_some()
    }
}

/// Keeps page `page` (from 1, clamped to the last page) of `rows`, and builds its pager; `href(n)` is the address
/// of page n.
fn paginate<T>(rows: &mut Vec<T>, page: usize, href: impl Fn(usize) -> String) -> Pager {
    let pages = rows.len().div_ceil(SECTION_PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let start = (page - 1) * SECTION_PAGE_SIZE;
    rows.truncate(start + SECTION_PAGE_SIZE);
    rows.drain(..start.min(rows.len()));
    Pager {
        prev: (page > 1).then(|| href(page - 1)),
        next: (page < pages).then(|| href(page + 1)),
        label: format!("Page {page} sur {pages}"),
    }
}

pub(crate) async fn show_page(
    st: &AppState,
    auth: &Auth,
    id: &str,
    notice: Option<(&'static str, String)>,
) -> AppResult<Response> {
    show_page_paged(st, auth, id, notice, PersonPages::default()).await
}

pub(crate) async fn show_page_paged(
    st: &AppState,
    auth: &Auth,
    id: &str,
    notice: Option<(&'static str, String)>,
    pages: PersonPages,
) -> AppResult<Response> {
    require_msj(auth)?;
    let scope = auth.scope();
    let p = repo::get(&st.db, scope, id).await?;
    let following = repo::following_organisations(&st.db, scope, id).await?;
    let appts = appointments::list_for_ppsmj(&st.db, scope, id).await?;
    let history = repo::history_of(&st.db, scope, id).await?;
    let types: HashMap<String, places::AppointmentType> = places::appointment_types(&st.db)
        .await?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    let place_names: HashMap<String, String> = places::list(&st.db, scope, None)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let agenda_names: HashMap<String, String> = agendas::list(&st.db, scope, None)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let mut zones = Zones::default();
    let now = store::now();
    let mut upcoming = vec![];
    let mut past = vec![];
    let mut appt_labels = HashMap::new();
    for a in &appts {
        let tz = zones.get(&st.db, &a.organisation_id).await?;
        let when = when_fr(a.starts_at, tz);
        let type_label = types
            .get(&a.appointment_type_id)
            .map(|t| t.label.clone())
            .unwrap_or_default();
        appt_labels.insert(a.id.clone(), (type_label.clone(), when.clone()));
        let (badge_class, badge) = state_badge(a.state);
        let mut note = String::new();
        if let Some(r) = &a.cancel_reason {
            note = format!("Motif : {r}");
        }
        if a.previous_appointment_id.is_some() {
            note = if note.is_empty() {
                "Remplace un rendez-vous annulé".into()
            } else {
                format!("{note} · remplace un rendez-vous annulé")
            };
        }
        if a.state == domain::AppointmentState::Booked && a.starts_at <= now {
            note = "Résultat à saisir".into();
        }
        let row = ApptRow {
            id: a.id.clone(),
            when,
            type_label,
            place: format!(
                "{} — {}",
                place_names.get(&a.place_id).cloned().unwrap_or_default(),
                agenda_names.get(&a.agenda_id).cloned().unwrap_or_default()
            ),
            badge_class,
            badge,
            note,
        };
        if a.starts_at > now && a.state == domain::AppointmentState::Booked {
            upcoming.push(row);
        } else {
            past.push(row);
        }
    }
    upcoming.reverse();
    let ids: Vec<String> = appts.iter().map(|a| a.id.clone()).collect();
    let messages = outbox::list_related(&st.db, "appointment", &ids)
        .await?
        .into_iter()
        .rev()
        .map(|m| MsgRow {
            due: datetime_fr(m.due_at),
            channel: if m.channel == "sms" { "SMS" } else { "E-mail" },
            kind: kind_label(&m.kind),
            state: message_state_label(&m.state),
            body: m.body,
        })
        .collect();
    let org_names: HashMap<String, String> = following
        .iter()
        .map(|f| (f.organisation_id.clone(), f.name.clone()))
        .collect();
    let mut history: Vec<HistRow> = history
        .iter()
        .rev()
        .map(|h| HistRow {
            at: datetime_fr(h.at),
            who: if h.actor_label.starts_with("personne:") {
                "La personne (son espace)".into()
            } else {
                h.actor_label.clone()
            },
            what: history_text(h, &appt_labels, &org_names),
        })
        .collect();
    let base = format!("/msj/personnes/{id}");
    let past_pager = paginate(&mut past, pages.past, |n| {
        format!(
            "{base}?passes={n}&historique={}#titre-passes",
            pages.history
        )
    });
    let history_pager = paginate(&mut history, pages.history, |n| {
        format!(
            "{base}?passes={}&historique={n}#titre-historique",
            pages.past
        )
    });
    let referent = match &p.referent_user_id {
        Some(uid) => users::get(&st.db, scope, uid)
            .await
            .map(|u| u.display_name())
            .unwrap_or_else(|_| "Agent d'un autre service".into()),
        None => "Aucun".into(),
    };
    let (contact_class, contact) = contact_status(
        p.phone.as_deref(),
        p.phone_mobile,
        p.no_phone,
        p.refused_phone,
        p.sms_opt_out_at.is_some(),
    );
    let all_types = places::appointment_types(&st.db).await?;
    let may_change = super::may_change(auth.user().role);
    let today = chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0)
        .unwrap_or_default()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let measures = super::measures::rows(
        &store::msj::measures::list_for_ppsmj(&st.db, scope, id).await?,
        today,
    );
    let mut ctx = PageCtx::new(&auth.1, &p.display_name());
    if let Some((kind, text)) = notice {
        ctx = ctx.with_notice(kind, text);
    }
    page(ShowPage {
        ctx,
        id: p.id.clone(),
        name: p.display_name(),
        birth_date: p.birth_date.format("%d/%m/%Y").to_string(),
        appi: p.appi_number.clone().unwrap_or_else(|| "—".into()),
        archived: p.archived_at.is_some(),
        contact_class,
        contact,
        email: p.email.clone().unwrap_or_else(|| "—".into()),
        address: [p.address.clone(), p.city.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", "),
        language: p.language.label(),
        referent,
        prosecutor_case_number: p
            .prosecutor_case_number
            .clone()
            .unwrap_or_else(|| "—".into()),
        sms_warning: sms_warning(&p),
        following: following
            .iter()
            .map(|f| FollowRow {
                name: f.name.clone(),
                since: datetime_fr(f.since),
                owner: f.owner,
            })
            .collect(),
        upcoming,
        past,
        messages,
        history,
        past_pager,
        history_pager,
        book_types: bookable(auth.user().role, &all_types)
            .into_iter()
            .map(|t| Choice {
                value: t.id,
                label: t.label,
                selected: false,
            })
            .collect(),
        may_change,
        measures,
        may_divest: auth
            .scope()
            .allows(store::Action::ManageFile, &p.organisation_id),
        requests: crate::handlers::space::agent_rows_for_ppsmj(st, auth.scope(), &p.id).await?,
        requests_caption: "Demandes faites par la personne dans son espace",
        requests_show_person: false,
        requests_back: "personne",
        may_answer: may_change,
    })
}

#[derive(Deserialize, Default)]
pub struct InfoQuery {
    #[serde(default)]
    info: String,
    /// Page numbers as typed in the address: anything that is not a number shows the first page.
    #[serde(default)]
    passes: String,
    #[serde(default)]
    historique: String,
}

pub async fn show(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<InfoQuery>,
) -> AppResult<Response> {
    let page_of = |s: &str| s.trim().parse::<usize>().unwrap_or(1).max(1);
    let pages = PersonPages {
        past: page_of(&q.passes),
        history: page_of(&q.historique),
    };
    show_page_paged(&st, &auth, &id, info_notice(&q.info), pages).await
}
