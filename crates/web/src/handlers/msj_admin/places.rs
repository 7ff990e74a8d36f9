//! Places, their agendas, weekly slot types and the slots of a week.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;
use store::msj::agendas::{self, SlotTypeInput};
use store::msj::places::{self, PlaceInput};

use super::{is_config_admin, is_msj_user, managed_msj_orgs, organisation, problem, Problem};
use crate::error::AppResult;
use crate::handlers::page;
use crate::session::Auth;
use crate::views::{Choice, PageCtx};
use crate::AppState;

// ---------- list of places ----------

pub struct PlaceRow {
    pub id: String,
    pub name: String,
    pub organisation: String,
    pub address: String,
    pub agendas: usize,
    pub active: bool,
}

#[derive(Default, Deserialize, Clone)]
pub struct PlaceForm {
    #[serde(default)]
    pub organisation_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub accessibility: String,
    #[serde(default)]
    pub documents_to_bring: String,
    #[serde(default)]
    pub preparation_url: String,
    #[serde(default)]
    pub departement: String,
    #[serde(default)]
    pub active: Option<String>,
}

impl PlaceForm {
    fn input(&self, active_default: bool) -> PlaceInput {
        PlaceInput {
            name: self.name.clone(),
            address: self.address.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            accessibility: self.accessibility.clone(),
            documents_to_bring: self.documents_to_bring.clone(),
            preparation_url: self.preparation_url.clone(),
            departement: self.departement.clone(),
            active: self.active.is_some() || active_default,
        }
    }
}

#[derive(Template)]
#[template(path = "msj_admin/places.html")]
pub struct PlacesPage {
    pub ctx: PageCtx,
    pub places: Vec<PlaceRow>,
    pub admin: bool,
    pub organisations: Vec<Choice>,
    pub form: PlaceForm,
    pub problem: Problem,
}

async fn places_page(
    st: &AppState,
    auth: &Auth,
    form: PlaceForm,
    problem: Problem,
    notice: Option<String>,
) -> AppResult<PlacesPage> {
    let scope = auth.scope();
    let list = places::list(&st.db, scope, None).await?;
    let all_agendas = agendas::list(&st.db, scope, None).await?;
    let mut org_names: HashMap<String, String> = HashMap::new();
    let mut rows = vec![];
    for p in &list {
        if !org_names.contains_key(&p.organisation_id) {
            let o = organisation(st, &p.organisation_id).await?;
            org_names.insert(o.id.clone(), o.name);
        }
        rows.push(PlaceRow {
            id: p.id.clone(),
            name: p.name.clone(),
            organisation: org_names[&p.organisation_id].clone(),
            address: p.address.clone(),
            agendas: all_agendas.iter().filter(|a| a.place_id == p.id).count(),
            active: p.active,
        });
    }
    let managed = managed_msj_orgs(st, auth).await?;
    let selected = if form.organisation_id.is_empty() {
        auth.user().organisation_id.clone()
    } else {
        form.organisation_id.clone()
    };
    let mut ctx = PageCtx::new(&auth.1, "Lieux et agendas");
    if let Some(n) = notice {
        ctx = ctx.with_notice("success", n);
    }
    Ok(PlacesPage {
        ctx,
        places: rows,
        admin: !managed.is_empty(),
        organisations: managed
            .iter()
            .map(|o| Choice {
                value: o.id.clone(),
                label: o.name.clone(),
                selected: o.id == selected,
            })
            .collect(),
        form,
        problem,
    })
}

pub async fn list(auth: Auth, State(st): State<AppState>) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    page(places_page(&st, &auth, PlaceForm::default(), Problem::default(), None).await?)
}

pub async fn create(
    auth: Auth,
    State(st): State<AppState>,
    Form(form): Form<PlaceForm>,
) -> AppResult<Response> {
    auth.require(is_config_admin(auth.user().role))?;
    let org_id = if form.organisation_id.is_empty() {
        auth.user().organisation_id.clone()
    } else {
        form.organisation_id.clone()
    };
    match places::create(
        &st.db,
        auth.scope(),
        &org_id,
        &form.input(true),
        store::now(),
    )
    .await
    {
        Ok(p) => Ok(Redirect::to(&format!("/msj/lieux/{}?cree=1", p.id)).into_response()),
        Err(e) => {
            let pb = problem(e)?;
            let mut res = page(places_page(&st, &auth, form, pb, None).await?)?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

// ---------- one place ----------

pub struct TypeChoice {
    pub id: String,
    pub label: String,
    pub offered: bool,
    pub uses_slots: bool,
}

pub struct AgendaRow {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "msj_admin/place.html")]
pub struct PlacePage {
    pub ctx: PageCtx,
    pub id: String,
    pub name: String,
    pub organisation: String,
    pub admin: bool,
    pub form: PlaceForm,
    pub problem: Problem,
    pub types: Vec<TypeChoice>,
    pub agendas: Vec<AgendaRow>,
    pub agenda_name: String,
    pub agenda_problem: Problem,
}

#[derive(Deserialize, Default)]
pub struct Flags {
    #[serde(default)]
    pub cree: Option<String>,
    #[serde(default)]
    pub ok: Option<String>,
}

async fn place_page(
    st: &AppState,
    auth: &Auth,
    id: &str,
    form: Option<PlaceForm>,
    problem: Problem,
    agenda_problem: Problem,
    notice: Option<(&'static str, String)>,
) -> AppResult<PlacePage> {
    let scope = auth.scope();
    let p = places::get(&st.db, scope, id).await?;
    let org = organisation(st, &p.organisation_id).await?;
    let offered = places::offered_types(&st.db, scope, id).await?;
    let all = places::appointment_types(&st.db).await?;
    let kind = org.kind.as_str();
    let types = all
        .into_iter()
        .filter(|t| t.host_kind == kind)
        .map(|t| TypeChoice {
            offered: offered.iter().any(|o| o.id == t.id),
            id: t.id,
            label: t.label,
            uses_slots: t.uses_slots,
        })
        .collect();
    let agendas = agendas::list(&st.db, scope, Some(id))
        .await?
        .into_iter()
        .map(|a| AgendaRow {
            id: a.id,
            name: a.name,
        })
        .collect();
    let form = form.unwrap_or_else(|| PlaceForm {
        organisation_id: p.organisation_id.clone(),
        name: p.name.clone(),
        address: p.address.clone(),
        phone: p
            .phone
            .clone()
            .map(|x| display_phone(&x))
            .unwrap_or_default(),
        email: p.email.clone().unwrap_or_default(),
        accessibility: p.accessibility.clone().unwrap_or_default(),
        documents_to_bring: p.documents_to_bring.clone().unwrap_or_default(),
        preparation_url: p.preparation_url.clone().unwrap_or_default(),
        departement: p.departement.clone().unwrap_or_default(),
        active: p.active.then(|| "on".to_string()),
    });
    let mut ctx = PageCtx::new(&auth.1, &p.name);
    if let Some((k, n)) = notice {
        ctx = ctx.with_notice(k, n);
    }
    Ok(PlacePage {
        ctx,
        id: p.id.clone(),
        name: p.name.clone(),
        organisation: org.name,
        admin: scope.allows(store::Action::ConfigureAgenda, &p.organisation_id),
        form,
        problem,
        types,
        agendas,
        agenda_name: String::new(),
        agenda_problem,
    })
}

/// "+33123456789" → "01 23 45 67 89" for French numbers, unchanged otherwise.
pub(crate) fn display_phone(e164: &str) -> String {
    match e164.strip_prefix("+33") {
        Some(rest) if rest.len() == 9 => {
            let d = format!("0{rest}");
            d.as_bytes()
                .chunks(2)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        }
        _ => e164.to_string(),
    }
}

pub async fn show(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(flags): Query<Flags>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    let notice = if flags.cree.is_some() {
        Some(("success", "Le lieu a été créé. Choisissez les types de rendez-vous proposés puis créez un agenda.".to_string()))
    } else {
        flags
            .ok
            .as_deref()
            .and_then(|m| notice_text(m).map(|t| (notice_kind(m), t.to_string())))
    };
    page(
        place_page(
            &st,
            &auth,
            &id,
            None,
            Problem::default(),
            Problem::default(),
            notice,
        )
        .await?,
    )
}

fn notice_kind(code: &str) -> &'static str {
    match code {
        "creneau-aucun" => "warning",
        _ => "success",
    }
}

/// Success notices come from this fixed list of codes; an unknown code shows nothing (a link cannot make the page
/// say anything).
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "lieu" => "Le lieu a été enregistré.",
        "types" => "Les types de rendez-vous proposés ont été enregistrés.",
        "agenda" => "L'agenda a été créé.",
        "creneau" => "Le type de créneau a été ajouté et les créneaux des six prochains mois ont été générés ; voici la semaine du premier.",
        "creneau-aucun" => "Le type de créneau a été ajouté, mais aucun créneau n'a pu être généré dans les six prochains mois (jours fériés ou fermeture).",
        "suppression" => "Le type de créneau a été supprimé ; ses créneaux futurs libres ont été retirés.",
        "generation" => "Les créneaux ont été régénérés.",
        "fermeture" => "Le créneau a été fermé.",
        "reouverture" => "Le créneau a été rouvert.",
        "capacite" => "La capacité du créneau a été modifiée.",
        _ => return None,
    })
}

/// The place if the actor may configure it (the policy's `ConfigureAgenda`): 404 when it does not even see it,
/// 403 when it only sees it (a linked organisation's), before any input is read.
async fn configurable_place(st: &AppState, auth: &Auth, id: &str) -> AppResult<()> {
    auth.require(is_config_admin(auth.user().role))?;
    let p = places::get(&st.db, auth.scope(), id).await?;
    auth.require(
        auth.scope()
            .allows(store::Action::ConfigureAgenda, &p.organisation_id),
    )
}

/// Same for an agenda.
async fn configurable_agenda(st: &AppState, auth: &Auth, id: &str) -> AppResult<()> {
    auth.require(is_config_admin(auth.user().role))?;
    let a = agendas::get(&st.db, auth.scope(), id).await?;
    auth.require(
        auth.scope()
            .allows(store::Action::ConfigureAgenda, &a.organisation_id),
    )
}

pub async fn update(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<PlaceForm>,
) -> AppResult<Response> {
    configurable_place(&st, &auth, &id).await?;
    match places::update(&st.db, auth.scope(), &id, &form.input(false), store::now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/msj/lieux/{id}?ok=lieu")).into_response()),
        Err(e) => {
            let pb = problem(e)?;
            let mut res =
                page(place_page(&st, &auth, &id, Some(form), pb, Problem::default(), None).await?)?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

pub async fn set_types(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    configurable_place(&st, &auth, &id).await?;
    // Repeated checkboxes: read the pairs by hand (serde_urlencoded has no Vec support).
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "type")
        .map(|(_, v)| v.as_str())
        .collect();
    match places::set_appointment_types(&st.db, auth.scope(), &id, &ids).await {
        Ok(()) => Ok(Redirect::to(&format!("/msj/lieux/{id}?ok=types")).into_response()),
        Err(e) => {
            let pb = problem(e)?;
            let msg = pb.message.clone().unwrap_or_else(|| pb.fields.to_string());
            page(
                place_page(
                    &st,
                    &auth,
                    &id,
                    None,
                    Problem::default(),
                    Problem::default(),
                    Some(("error", msg)),
                )
                .await?,
            )
        }
    }
}

#[derive(Deserialize)]
pub struct AgendaForm {
    #[serde(default)]
    pub name: String,
}

pub async fn create_agenda(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<AgendaForm>,
) -> AppResult<Response> {
    configurable_place(&st, &auth, &id).await?;
    match agendas::create(&st.db, auth.scope(), &id, &form.name, store::now()).await {
        Ok(a) => Ok(Redirect::to(&format!("/msj/agendas/{}?ok=agenda", a.id)).into_response()),
        Err(e) => {
            let pb = problem(e)?;
            let mut p = place_page(&st, &auth, &id, None, Problem::default(), pb, None).await?;
            p.agenda_name = form.name;
            let mut res = page(p)?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

// ---------- one agenda: slot types and the slots of a week ----------

pub struct SlotTypeRow {
    pub id: String,
    pub weekday: &'static str,
    pub start: String,
    pub duration: i64,
    pub capacity: i64,
    pub type_label: String,
}

pub struct SlotRow {
    pub id: String,
    pub time: String,
    pub type_label: String,
    pub capacity: i64,
    pub used: i64,
    pub closed: bool,
    pub full: bool,
}

pub struct DayRow {
    pub date: String,
    pub label: String,
    pub slots: Vec<SlotRow>,
}

#[derive(Default, Deserialize, Clone)]
pub struct SlotTypeForm {
    #[serde(default)]
    pub appointment_type_id: String,
    /// A single weekday (ISO number); the form sends the checkboxes below instead.
    #[serde(default)]
    pub weekday: String,
    #[serde(default)]
    pub weekday_1: String,
    #[serde(default)]
    pub weekday_2: String,
    #[serde(default)]
    pub weekday_3: String,
    #[serde(default)]
    pub weekday_4: String,
    #[serde(default)]
    pub weekday_5: String,
    #[serde(default)]
    pub start: String,
    /// Start of the last slot of a series (empty: a single slot).
    #[serde(default)]
    pub end: String,
    /// Minutes between two starts of a series.
    #[serde(default)]
    pub every: String,
    #[serde(default)]
    pub duration_minutes: String,
    #[serde(default)]
    pub capacity: String,
}

#[derive(Template)]
#[template(path = "msj_admin/agenda.html")]
pub struct AgendaPage {
    pub ctx: PageCtx,
    pub id: String,
    pub name: String,
    pub place_id: String,
    pub place_name: String,
    pub admin: bool,
    /// May close, reopen and resize slots (the policy's `ManageSlots`).
    pub slots_admin: bool,
    pub slot_types: Vec<SlotTypeRow>,
    pub type_choices: Vec<Choice>,
    pub weekdays: Vec<Choice>,
    pub form: SlotTypeForm,
    pub problem: Problem,
    pub week_label: String,
    pub prev_week: String,
    pub next_week: String,
    pub days: Vec<DayRow>,
}

#[derive(Deserialize, Default)]
pub struct WeekQuery {
    #[serde(default)]
    pub semaine: Option<String>,
    #[serde(default)]
    pub ok: Option<String>,
}

const WEEKDAYS: [&str; 7] = [
    "Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche",
];

#[allow(clippy::too_many_arguments)]
async fn agenda_page(
    st: &AppState,
    auth: &Auth,
    id: &str,
    week: Option<NaiveDate>,
    form: SlotTypeForm,
    problem: Problem,
    notice: Option<(&'static str, String)>,
) -> AppResult<AgendaPage> {
    let scope = auth.scope();
    let a = agendas::get(&st.db, scope, id).await?;
    let place = places::get(&st.db, scope, &a.place_id).await?;
    let org = organisation(st, &a.organisation_id).await?;
    let tz = super::tz_of(&org);
    let all_types = places::appointment_types(&st.db).await?;
    let label_of = |tid: &str| {
        all_types
            .iter()
            .find(|t| t.id == tid)
            .map(|t| t.label.clone())
            .unwrap_or_else(|| tid.to_string())
    };
    let offered = places::offered_types(&st.db, scope, &a.place_id).await?;
    let slot_types = agendas::list_slot_types(&st.db, scope, id)
        .await?
        .into_iter()
        .map(|t| SlotTypeRow {
            weekday: WEEKDAYS[t.weekday.num_days_from_monday() as usize],
            start: domain::template::french_time(t.start),
            duration: t.duration_minutes,
            capacity: t.capacity,
            type_label: label_of(&t.appointment_type_id),
            id: t.id,
        })
        .collect();
    let today = store::now_utc().with_timezone(&tz).date_naive();
    let any_day = week.unwrap_or(today);
    let monday = any_day - Duration::days(any_day.weekday().num_days_from_monday() as i64);
    let sunday = monday + Duration::days(6);
    let slots = agendas::list_slots(&st.db, scope, id, monday, sunday).await?;
    let mut days = vec![];
    for i in 0..7 {
        let d = monday + Duration::days(i);
        let day_slots: Vec<SlotRow> = slots
            .iter()
            .filter(|s| s.local_date == d)
            .map(|s| SlotRow {
                id: s.id.clone(),
                time: s.local_start.replace(':', "h"),
                type_label: label_of(&s.appointment_type_id),
                capacity: s.capacity,
                used: s.used,
                closed: s.closed,
                full: s.is_full(),
            })
            .collect();
        if i < 5 || !day_slots.is_empty() {
            days.push(DayRow {
                date: d.to_string(),
                label: capitalize(&domain::template::french_date(d)),
                slots: day_slots,
            });
        }
    }
    let mut ctx = PageCtx::new(&auth.1, &format!("Agenda {}", a.name));
    if let Some((k, n)) = notice {
        ctx = ctx.with_notice(k, n);
    }
    let wd_selected = form.weekday.clone();
    let type_selected = form.appointment_type_id.clone();
    Ok(AgendaPage {
        ctx,
        id: a.id.clone(),
        name: a.name.clone(),
        place_id: place.id.clone(),
        place_name: place.name.clone(),
        admin: scope.allows(store::Action::ConfigureAgenda, &a.organisation_id),
        slots_admin: scope.allows(store::Action::ManageSlots, &a.organisation_id),
        slot_types,
        type_choices: offered
            .iter()
            .filter(|t| t.uses_slots)
            .map(|t| Choice {
                value: t.id.clone(),
                label: t.label.clone(),
                selected: t.id == type_selected,
            })
            .collect(),
        weekdays: (1..=5)
            .map(|i| Choice {
                value: i.to_string(),
                label: WEEKDAYS[i - 1].to_string(),
                selected: wd_selected == i.to_string() || form.weekdays().contains(&(i as i64)),
            })
            .collect(),
        form,
        problem,
        week_label: format!(
            "Semaine du {} au {}",
            domain::template::french_date(monday),
            domain::template::french_date(sunday)
        ),
        prev_week: (monday - Duration::days(7)).to_string(),
        next_week: (monday + Duration::days(7)).to_string(),
        days,
    })
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub async fn agenda(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<WeekQuery>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    let week = q
        .semaine
        .as_deref()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
    // Errors are rendered by the action that failed; the query string only carries success codes.
    let notice =
        q.ok.as_deref()
            .and_then(|m| notice_text(m).map(|t| (notice_kind(m), t.to_string())));
    let default_form = SlotTypeForm {
        duration_minutes: "30".into(),
        capacity: "1".into(),
        ..SlotTypeForm::default()
    };
    page(
        agenda_page(
            &st,
            &auth,
            &id,
            week,
            default_form,
            Problem::default(),
            notice,
        )
        .await?,
    )
}

impl SlotTypeForm {
    /// The chosen weekdays (ISO numbers), the single `weekday` field included.
    fn weekdays(&self) -> Vec<i64> {
        let boxes = [
            &self.weekday_1,
            &self.weekday_2,
            &self.weekday_3,
            &self.weekday_4,
            &self.weekday_5,
        ];
        let mut days: Vec<i64> = (1..=5)
            .filter(|i| boxes[*i as usize - 1] == "oui")
            .collect();
        if let Ok(d) = self.weekday.trim().parse::<i64>() {
            if !days.contains(&d) {
                days.push(d);
            }
        }
        days.sort_unstable();
        days
    }

    /// One slot type per weekday and start time of the series, or the field errors.
    fn inputs(&self) -> Result<Vec<SlotTypeInput>, store::msj::FieldErrors> {
        let mut errors = store::msj::FieldErrors::default();
        if self.appointment_type_id.is_empty() {
            errors.push("appointment_type_id", "Choisissez un type de rendez-vous.");
        }
        let days = self.weekdays();
        if days.is_empty() {
            errors.push("weekday", "Cochez au moins un jour de la semaine.");
        }
        let mut starts = vec![self.start.clone()];
        if !self.end.trim().is_empty() {
            let start = chrono::NaiveTime::parse_from_str(self.start.trim(), "%H:%M").ok();
            let end = chrono::NaiveTime::parse_from_str(self.end.trim(), "%H:%M").ok();
            let every = self.every.trim().parse::<i64>().unwrap_or(0);
            match (start, end) {
                (None, _) => errors.push("start", "Heure invalide : saisissez-la au format hh:mm."),
                (_, None) => errors.push(
                    "end",
                    "Heure de fin invalide : saisissez-la au format hh:mm.",
                ),
                (Some(start), end) => match domain::series_starts(start, end, every) {
                    Ok(times) => {
                        starts = times
                            .into_iter()
                            .map(|t| t.format("%H:%M").to_string())
                            .collect()
                    }
                    Err(e) => errors.push(e.field(), e.to_string()),
                },
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut inputs = vec![];
        for day in days {
            for start in &starts {
                inputs.push(SlotTypeInput {
                    appointment_type_id: self.appointment_type_id.clone(),
                    weekday: day,
                    start: start.clone(),
                    duration_minutes: self.duration_minutes.trim().parse().unwrap_or(0),
                    capacity: self.capacity.trim().parse().unwrap_or(0),
                });
            }
        }
        Ok(inputs)
    }
}

pub async fn add_slot_type(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<SlotTypeForm>,
) -> AppResult<Response> {
    configurable_agenda(&st, &auth, &id).await?;
    let inputs = match form.inputs() {
        Ok(i) => i,
        Err(fields) => {
            let pb = Problem {
                fields,
                message: None,
            };
            let mut res = page(agenda_page(&st, &auth, &id, None, form, pb, None).await?)?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(res);
        }
    };
    match agendas::add_slot_types(&st.db, auth.scope(), &id, &inputs, store::now()).await {
        Ok(types) => {
            // Open the week of the first slot actually generated (in the organisation's calendar), so the agent
            // sees the result at once — not the current week, whose day may already be past.
            let mut first: Option<chrono::NaiveDate> = None;
            for t in &types {
                let d = agendas::first_future_slot_of_type(&st.db, auth.scope(), t, store::now())
                    .await?;
                first = match (first, d) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            Ok(match first {
                Some(d) => Redirect::to(&format!("/msj/agendas/{id}?ok=creneau&semaine={d}")),
                None => Redirect::to(&format!("/msj/agendas/{id}?ok=creneau-aucun")),
            }
            .into_response())
        }
        Err(e) => {
            let pb = problem(e)?;
            let mut res = page(agenda_page(&st, &auth, &id, None, form, pb, None).await?)?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

pub async fn remove_slot_type(
    auth: Auth,
    State(st): State<AppState>,
    Path((id, tid)): Path<(String, String)>,
) -> AppResult<Response> {
    configurable_agenda(&st, &auth, &id).await?;
    // The slot type must belong to this agenda (and the agenda be visible).
    let types = agendas::list_slot_types(&st.db, auth.scope(), &id).await?;
    if !types.iter().any(|t| t.id == tid) {
        return Err(crate::error::AppError::NotFound);
    }
    match agendas::remove_slot_type(&st.db, auth.scope(), &tid, store::now()).await {
        Ok(()) => Ok(Redirect::to(&format!("/msj/agendas/{id}?ok=suppression")).into_response()),
        Err(e) => {
            let pb = problem(e)?;
            error_page(&st, &auth, &id, None, &pb).await
        }
    }
}

pub async fn regenerate(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    configurable_agenda(&st, &auth, &id).await?;
    agendas::generate_slots_for_agenda(&st.db, auth.scope(), &id, store::now()).await?;
    Ok(Redirect::to(&format!("/msj/agendas/{id}?ok=generation")).into_response())
}

/// The agenda page with the error of a failed action, rendered at once (never carried by the URL).
async fn error_page(
    st: &AppState,
    auth: &Auth,
    agenda_id: &str,
    week: Option<NaiveDate>,
    pb: &Problem,
) -> AppResult<Response> {
    let msg = pb.message.clone().unwrap_or_else(|| pb.fields.to_string());
    let form = SlotTypeForm {
        duration_minutes: "30".into(),
        capacity: "1".into(),
        ..SlotTypeForm::default()
    };
    let p = agenda_page(
        st,
        auth,
        agenda_id,
        week,
        form,
        Problem::default(),
        Some(("error", msg)),
    )
    .await?;
    let mut res = page(p)?;
    *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

#[derive(Deserialize, Default)]
pub struct SlotForm {
    #[serde(default)]
    pub capacity: String,
}

async fn slot_action(
    st: &AppState,
    auth: &Auth,
    slot_id: &str,
    form: &SlotForm,
    action: &str,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    let slot = agendas::get_slot(&st.db, auth.scope(), slot_id).await?;
    // Seeing the agenda (a linked TJ) is not managing it: the policy decides, and the store checks again.
    let agenda = agendas::get(&st.db, auth.scope(), &slot.agenda_id).await?;
    auth.require(
        auth.scope()
            .allows(store::Action::ManageSlots, &agenda.organisation_id),
    )?;
    let result = match action {
        "fermeture" => agendas::set_slot_closed(&st.db, auth.scope(), slot_id, true).await,
        "reouverture" => agendas::set_slot_closed(&st.db, auth.scope(), slot_id, false).await,
        _ => {
            let cap: i64 = form.capacity.trim().parse().unwrap_or(0);
            agendas::set_slot_capacity(&st.db, auth.scope(), slot_id, cap).await
        }
    };
    let week = slot.local_date.to_string();
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "/msj/agendas/{}?ok={action}&semaine={week}#creneau-{slot_id}",
            slot.agenda_id
        ))
        .into_response()),
        Err(e) => {
            let pb = problem(e)?;
            error_page(st, auth, &slot.agenda_id, Some(slot.local_date), &pb).await
        }
    }
}

pub async fn close_slot(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<SlotForm>,
) -> AppResult<Response> {
    slot_action(&st, &auth, &id, &form, "fermeture").await
}

pub async fn reopen_slot(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<SlotForm>,
) -> AppResult<Response> {
    slot_action(&st, &auth, &id, &form, "reouverture").await
}

pub async fn slot_capacity(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<SlotForm>,
) -> AppResult<Response> {
    slot_action(&st, &auth, &id, &form, "capacite").await
}
