//! Booking from a PPSMJ's page (type → agenda → slot or date and time → confirm), the appointment page
//! (cancel with a reason, rebook, record the outcome) and the work queue of past appointments without outcome.
//! Every change writes its outbox rows in the same transaction (see `notify`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{NaiveDate, NaiveTime, TimeZone};
use serde::Deserialize;
use store::msj::appointments::{self, sms_warning, BookRequest, Outcome, RebookRequest, When};
use store::msj::ppsmj as repo;
use store::msj::{agendas, booking_rules, places};
use store::outbox;

use super::ppsmj::{bookable, kind_label, message_state_label};
use super::{notify, refusal, require_msj, state_badge, when_fr, Zones};
use crate::error::{AppError, AppResult};
use crate::handlers::page;
use crate::session::{urlencode, Auth};
use crate::views::{datetime_fr, PageCtx};
use crate::AppState;

pub struct LinkChoice {
    pub href: String,
    pub label: String,
    pub hint: String,
    pub selected: bool,
}

pub struct SlotChoice {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "msj/book.html")]
pub struct BookPage {
    pub ctx: PageCtx,
    pub ppsmj_id: String,
    pub person: String,
    pub sms_warning: Option<String>,
    pub error: Option<String>,
    pub types: Vec<LinkChoice>,
    pub type_id: String,
    pub type_label: String,
    pub agendas: Vec<LinkChoice>,
    pub agenda_id: String,
    pub agenda_label: String,
    pub uses_slots: bool,
    pub slots: Vec<SlotChoice>,
    pub date: String,
    pub time: String,
    pub remplace: String,
    pub replaced: String,
    pub reason: String,
    pub today: String,
    /// One-time submission token (a double click books once).
    pub jeton: String,
    /// The chosen free time falls on a Saturday: the agent ticks a confirmation box.
    pub confirm_saturday: bool,
    pub samedi: bool,
}

#[derive(Deserialize, Default, Clone)]
pub struct BookQuery {
    #[serde(default, rename = "type")]
    type_id: String,
    #[serde(default)]
    agenda: String,
    #[serde(default)]
    remplace: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct BookForm {
    #[serde(default, rename = "type")]
    type_id: String,
    #[serde(default)]
    agenda: String,
    #[serde(default)]
    slot: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    remplace: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    jeton: String,
    #[serde(default)]
    samedi: String,
}

fn href(id: &str, type_id: &str, agenda: &str, remplace: &str) -> String {
    let mut s = format!(
        "/msj/personnes/{id}/rendez-vous/nouveau?type={}",
        urlencode(type_id)
    );
    if !agenda.is_empty() {
        s.push_str(&format!("&agenda={}", urlencode(agenda)));
    }
    if !remplace.is_empty() {
        s.push_str(&format!("&remplace={}", urlencode(remplace)));
    }
    s
}

async fn book_page(
    st: &AppState,
    auth: &Auth,
    id: &str,
    f: BookForm,
    error: Option<String>,
) -> AppResult<Response> {
    book_page_with(st, auth, id, f, error, false).await
}

async fn book_page_with(
    st: &AppState,
    auth: &Auth,
    id: &str,
    f: BookForm,
    error: Option<String>,
    confirm_saturday: bool,
) -> AppResult<Response> {
    require_msj(auth)?;
    auth.require(super::may_change(auth.user().role))?;
    let scope = auth.scope();
    let p = repo::get(&st.db, scope, id).await?;
    let all_types = places::appointment_types(&st.db).await?;
    let types = bookable(auth.user().role, &all_types);
    let mut type_id = f.type_id.clone();
    let mut agenda_id = f.agenda.clone();
    let mut replaced = String::new();
    if !f.remplace.is_empty() {
        let old = appointments::get(&st.db, scope, &f.remplace).await?;
        if old.ppsmj_id != p.id {
            return Err(AppError::NotFound);
        }
        let mut zones = Zones::default();
        let tz = zones.get(&st.db, &old.organisation_id).await?;
        let label = all_types
            .iter()
            .find(|t| t.id == old.appointment_type_id)
            .map(|t| t.label.clone())
            .unwrap_or_default();
        replaced = format!("{label} du {}", when_fr(old.starts_at, tz));
        if type_id.is_empty() && types.iter().any(|t| t.id == old.appointment_type_id) {
            type_id = old.appointment_type_id.clone();
            if agenda_id.is_empty() {
                agenda_id = old.agenda_id.clone();
            }
        }
    }
    let ty = types.iter().find(|t| t.id == type_id).cloned();
    // Agendas (active) whose place offers the chosen type.
    let mut candidates: Vec<(agendas::Agenda, places::Place)> = vec![];
    if let Some(ty) = &ty {
        let all_places = places::list(&st.db, scope, None).await?;
        for pl in all_places.into_iter().filter(|pl| pl.active) {
            if !places::offered_types(&st.db, scope, &pl.id)
                .await?
                .iter()
                .any(|t| t.id == ty.id)
            {
                continue;
            }
            for ag in agendas::list(&st.db, scope, Some(&pl.id)).await? {
                if ag.active {
                    candidates.push((ag, pl.clone()));
                }
            }
        }
    }
    // The agent's own agenda (named after them) or the only one comes preselected.
    if !candidates.iter().any(|(a, _)| a.id == agenda_id) {
        agenda_id.clear();
        let me = store::search_key(&auth.user().display_name());
        let own: Vec<_> = candidates
            .iter()
            .filter(|(a, _)| store::search_key(&a.name).contains(&me))
            .collect();
        if candidates.len() == 1 {
            agenda_id = candidates[0].0.id.clone();
        } else if own.len() == 1 {
            agenda_id = own[0].0.id.clone();
        }
    }
    let chosen = candidates.iter().find(|(a, _)| a.id == agenda_id);
    let now = store::now();
    let mut slots = vec![];
    if let (Some(ty), Some((ag, _))) = (&ty, chosen) {
        if ty.uses_slots {
            let mut zones = Zones::default();
            let tz = zones.get(&st.db, &ag.organisation_id).await?;
            for s in agendas::available_slots(&st.db, scope, &ag.id, &ty.id, now, 40).await? {
                let left = s.remaining();
                slots.push(SlotChoice {
                    checked: s.id == f.slot,
                    label: format!(
                        "{} — {} place{} libre{}",
                        when_fr(s.starts_at, tz),
                        left,
                        if left > 1 { "s" } else { "" },
                        if left > 1 { "s" } else { "" }
                    ),
                    id: s.id,
                });
            }
        }
    }
    let today = store::now_utc()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        .to_string();
    page(BookPage {
        ctx: PageCtx::new(&auth.1, "Planifier un rendez-vous"),
        ppsmj_id: p.id.clone(),
        person: p.display_name(),
        sms_warning: sms_warning(&p),
        error,
        types: types
            .iter()
            .map(|t| LinkChoice {
                href: href(&p.id, &t.id, "", &f.remplace),
                label: t.label.clone(),
                hint: if t.uses_slots {
                    "sur créneau".into()
                } else {
                    "horaire libre".into()
                },
                selected: t.id == type_id,
            })
            .collect(),
        type_label: ty.as_ref().map(|t| t.label.clone()).unwrap_or_default(),
        uses_slots: ty.as_ref().is_some_and(|t| t.uses_slots),
        type_id: ty.map(|t| t.id).unwrap_or_default(),
        agendas: candidates
            .iter()
            .map(|(a, pl)| LinkChoice {
                href: href(&p.id, &type_id, &a.id, &f.remplace),
                label: a.name.clone(),
                hint: pl.name.clone(),
                selected: a.id == agenda_id,
            })
            .collect(),
        agenda_label: chosen
            .map(|(a, pl)| format!("{} — {}", a.name, pl.name))
            .unwrap_or_default(),
        agenda_id,
        slots,
        date: f.date,
        time: f.time,
        remplace: f.remplace,
        replaced,
        reason: f.reason,
        today,
        jeton: if f.jeton.is_empty() {
            store::random_token()
        } else {
            f.jeton
        },
        confirm_saturday,
        samedi: f.samedi == "oui",
    })
}

pub async fn form(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<BookQuery>,
) -> AppResult<Response> {
    let f = BookForm {
        type_id: q.type_id,
        agenda: q.agenda,
        remplace: q.remplace,
        ..Default::default()
    };
    book_page(&st, &auth, &id, f, None).await
}

pub async fn submit(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<BookForm>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    auth.require(super::may_change(auth.user().role))?;
    let scope = auth.scope();
    let now = store::now();
    let agenda = match agendas::get(&st.db, scope, &f.agenda).await {
        Ok(a) => a,
        Err(store::StoreError::NotFound) => {
            return book_page(&st, &auth, &id, f, Some("Choisissez un agenda.".into())).await
        }
        Err(e) => return Err(e.into()),
    };
    let when = if !f.slot.is_empty() {
        When::Slot(f.slot.clone())
    } else {
        let date = NaiveDate::parse_from_str(f.date.trim(), "%Y-%m-%d").ok();
        let time = NaiveTime::parse_from_str(f.time.trim(), "%H:%M").ok();
        let (Some(date), Some(time)) = (date, time) else {
            let msg = if f.date.is_empty()
                && f.time.is_empty()
                && places::appointment_types(&st.db)
                    .await?
                    .iter()
                    .any(|t| t.id == f.type_id && t.uses_slots)
            {
                "Choisissez un créneau."
            } else {
                "Saisissez la date (jj/mm/aaaa) et l'heure (hh:mm) du rendez-vous."
            };
            return book_page(&st, &auth, &id, f, Some(msg.into())).await;
        };
        let mut zones = Zones::default();
        let tz = zones.get(&st.db, &agenda.organisation_id).await?;
        match tz.from_local_datetime(&date.and_time(time)).earliest() {
            Some(t) => {
                let place = places::get(&st.db, scope, &agenda.place_id).await?;
                let departement = match place.departement {
                    Some(d) => d,
                    None => store::orgs::get_unscoped(&st.db, &agenda.organisation_id)
                        .await?
                        .departement
                        .unwrap_or_default(),
                };
                let hours =
                    store::msj::booking_rules::opening_hours(&st.db, &agenda.organisation_id)
                        .await?;
                match domain::check_free_time(
                    t.with_timezone(&chrono::Utc),
                    tz,
                    &departement,
                    &hours,
                ) {
                    domain::SlotCheck::Ok => {}
                    domain::SlotCheck::Refused(msg) => {
                        return book_page(&st, &auth, &id, f, Some(msg)).await
                    }
                    domain::SlotCheck::NeedsConfirmation(msg) => {
                        if f.samedi != "oui" {
                            return book_page_with(&st, &auth, &id, f, Some(msg), true).await;
                        }
                    }
                }
                When::At(t.timestamp())
            }
            None => {
                return book_page(
                    &st,
                    &auth,
                    &id,
                    f,
                    Some("Cette heure n'existe pas ce jour-là (changement d'heure).".into()),
                )
                .await
            }
        }
    };
    // Checked before the transaction: SQLite has one connection, a read through the pool would wait on it.
    let mut missed = false;
    if !f.remplace.is_empty() {
        let old = appointments::get(&st.db, scope, &f.remplace).await?;
        if old.ppsmj_id != id {
            return Err(AppError::NotFound);
        }
        missed = matches!(
            old.state,
            domain::AppointmentState::NoShow | domain::AppointmentState::Excused
        );
    }
    let mut tx = st.db.begin().await?;
    if let Some(to) = claim(
        &mut tx,
        &auth,
        &f.jeton,
        &format!("/msj/personnes/{id}"),
        now,
    )
    .await?
    {
        tx.rollback().await?;
        return Ok(Redirect::to(&to).into_response());
    }
    let rebook = RebookRequest {
        agenda_id: agenda.id.clone(),
        appointment_type_id: f.type_id.clone(),
        when: when.clone(),
        reason: f.reason.clone(),
        now,
    };
    let result = if missed {
        appointments::book_replacement_tx(&mut tx, scope, &f.remplace, &rebook).await
    } else if f.remplace.is_empty() {
        appointments::book_tx(
            &mut tx,
            scope,
            &BookRequest {
                ppsmj_id: id.clone(),
                agenda_id: agenda.id.clone(),
                appointment_type_id: f.type_id.clone(),
                when,
                now,
            },
            None,
        )
        .await
    } else {
        appointments::rebook_tx(&mut tx, scope, &f.remplace, &rebook).await
    };
    match result {
        Ok(booked) => {
            let replaced = (!f.remplace.is_empty() && !missed).then_some(f.remplace.as_str());
            notify::enqueue_for(
                &mut tx,
                scope,
                &booked.messages,
                replaced,
                now,
                st.config.quiet_hours,
            )
            .await?;
            finish(
                &mut tx,
                &f.jeton,
                &format!("/msj/rendez-vous/{}", booked.appointment.id),
            )
            .await?;
            tx.commit().await?;
            let code = if replaced.is_some() {
                "replanifie"
            } else {
                "rdv"
            };
            Ok(Redirect::to(&format!("/msj/personnes/{id}?info={code}")).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let msg = refusal(e)?;
            book_page(&st, &auth, &id, f, Some(msg)).await
        }
    }
}

/// Claims a one-time form token: `Some(page)` when this form was already submitted (show the first result).
async fn claim(
    tx: &mut store::Tx<'_>,
    auth: &Auth,
    token: &str,
    fallback: &str,
    now: i64,
) -> AppResult<Option<String>> {
    if token.is_empty() {
        return Ok(None);
    }
    let user_id = auth.user().id.clone();
    Ok(
        match booking_rules::claim_submission_tx(tx, token, &user_id, fallback, now).await? {
            booking_rules::Submission::First => None,
            booking_rules::Submission::Done(to) => Some(to),
        },
    )
}

async fn finish(tx: &mut store::Tx<'_>, token: &str, location: &str) -> AppResult<()> {
    if !token.is_empty() {
        booking_rules::finish_submission_tx(tx, token, location).await?;
    }
    Ok(())
}

pub struct MsgRow {
    pub due: String,
    pub channel: &'static str,
    pub recipient: String,
    pub kind: &'static str,
    pub state: &'static str,
    pub body: String,
}

#[derive(Template)]
#[template(path = "msj/appointment.html")]
pub struct AppointmentPage {
    pub ctx: PageCtx,
    pub id: String,
    pub ppsmj_id: String,
    pub person: String,
    pub type_label: String,
    pub when: String,
    pub place_name: String,
    pub place_address: String,
    pub place_phone: String,
    pub agenda: String,
    pub badge_class: &'static str,
    pub badge: &'static str,
    pub created: String,
    pub cancel_reason: String,
    pub previous_id: String,
    pub next_id: String,
    pub may_cancel: bool,
    pub may_record: bool,
    /// Absent or excused and not yet replaced: the agent may plan the replacement.
    pub may_replace: bool,
    pub jeton: String,
    pub error: Option<String>,
    pub messages: Vec<MsgRow>,
    /// Proofs the person sent from their space.
    pub documents: Vec<crate::handlers::space::AgentDocRow>,
}

async fn appointment_page(
    st: &AppState,
    auth: &Auth,
    id: &str,
    error: Option<String>,
) -> AppResult<Response> {
    require_msj(auth)?;
    let scope = auth.scope();
    let a = appointments::get(&st.db, scope, id).await?;
    let p = repo::get(&st.db, scope, &a.ppsmj_id).await?;
    let mut zones = Zones::default();
    let tz = zones.get(&st.db, &a.organisation_id).await?;
    let place = places::get(&st.db, scope, &a.place_id).await?;
    let agenda = agendas::get(&st.db, scope, &a.agenda_id).await?;
    let type_label = places::appointment_types(&st.db)
        .await?
        .into_iter()
        .find(|t| t.id == a.appointment_type_id)
        .map(|t| t.label)
        .unwrap_or_default();
    let next_id = appointments::list_for_ppsmj(&st.db, scope, &p.id)
        .await?
        .into_iter()
        .find(|x| x.previous_appointment_id.as_deref() == Some(id))
        .map(|x| x.id)
        .unwrap_or_default();
    let messages = outbox::list_related(&st.db, "appointment", std::slice::from_ref(&a.id))
        .await?
        .into_iter()
        .map(|m| MsgRow {
            due: datetime_fr(m.due_at),
            channel: if m.channel == "sms" { "SMS" } else { "E-mail" },
            recipient: m.recipient,
            kind: kind_label(&m.kind),
            state: message_state_label(&m.state),
            body: m.body,
        })
        .collect();
    let now = store::now();
    let booked = a.state == domain::AppointmentState::Booked;
    let may = super::may_change(auth.user().role);
    let (badge_class, badge) = state_badge(a.state);
    page(AppointmentPage {
        ctx: PageCtx::new(&auth.1, "Rendez-vous"),
        id: a.id.clone(),
        ppsmj_id: p.id.clone(),
        person: p.display_name(),
        type_label,
        when: when_fr(a.starts_at, tz),
        place_name: place.name,
        place_address: place.address,
        place_phone: place
            .phone
            .map(|x| {
                domain::PhoneNumber::parse(&x)
                    .map(|n| n.national_display())
                    .unwrap_or(x)
            })
            .unwrap_or_default(),
        agenda: agenda.name,
        badge_class,
        badge,
        created: format!("{} par {}", datetime_fr(a.created_at), a.created_by_label),
        cancel_reason: a.cancel_reason.unwrap_or_default(),
        previous_id: a.previous_appointment_id.unwrap_or_default(),
        next_id: next_id.clone(),
        may_cancel: may && booked && a.starts_at > now,
        may_record: may && booked && a.starts_at <= now,
        may_replace: may
            && matches!(
                a.state,
                domain::AppointmentState::NoShow | domain::AppointmentState::Excused
            )
            && next_id.is_empty(),
        jeton: store::random_token(),
        error,
        messages,
        documents: crate::handlers::space::agent_document_rows(st, scope, id).await?,
    })
}

pub async fn show(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    appointment_page(&st, &auth, &id, None).await
}

#[derive(Deserialize, Default)]
pub struct CancelForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    jeton: String,
    /// The "tell the person" box; only read when the form says it shows it (`prevenir_choix`), so a form
    /// without the box still tells the person.
    #[serde(default)]
    prevenir: String,
    #[serde(default)]
    prevenir_choix: String,
}

pub async fn cancel(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<CancelForm>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    auth.require(super::may_change(auth.user().role))?;
    let scope = auth.scope();
    if f.reason.trim().is_empty() {
        // Still 404 for what is out of scope, before saying anything about the form.
        appointments::get(&st.db, scope, &id).await?;
        return appointment_page(
            &st,
            &auth,
            &id,
            Some("Indiquez le motif de l'annulation.".into()),
        )
        .await;
    }
    let now = store::now();
    let tell = f.prevenir_choix.is_empty() || f.prevenir == "oui";
    let mut tx = st.db.begin().await?;
    if let Some(to) = claim(
        &mut tx,
        &auth,
        &f.jeton,
        &format!("/msj/rendez-vous/{id}"),
        now,
    )
    .await?
    {
        tx.rollback().await?;
        return Ok(Redirect::to(&to).into_response());
    }
    match appointments::cancel_tx(&mut tx, scope, &id, &f.reason, now).await {
        Ok(changed) => {
            // Unticked: the pending reminders are still canceled, but no cancellation is written.
            let messages = if tell { changed.messages } else { vec![] };
            notify::enqueue_for(
                &mut tx,
                scope,
                &messages,
                Some(&id),
                now,
                st.config.quiet_hours,
            )
            .await?;
            let to = format!(
                "/msj/personnes/{}?info=annule",
                changed.appointment.ppsmj_id
            );
            finish(&mut tx, &f.jeton, &to).await?;
            tx.commit().await?;
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let msg = refusal(e)?;
            appointment_page(&st, &auth, &id, Some(msg)).await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct OutcomeForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    retour: String,
    #[serde(default)]
    jeton: String,
}

pub async fn outcome(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<OutcomeForm>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    auth.require(super::may_change(auth.user().role))?;
    let scope = auth.scope();
    let outcome = match f.outcome.as_str() {
        "fulfilled" => Outcome::Fulfilled,
        "no_show" => Outcome::NoShow,
        "excused" => Outcome::Excused,
        _ => {
            return appointment_page(&st, &auth, &id, Some("Choisissez un résultat.".into())).await
        }
    };
    let now = store::now();
    let mut tx = st.db.begin().await?;
    if let Some(to) = claim(
        &mut tx,
        &auth,
        &f.jeton,
        &format!("/msj/rendez-vous/{id}"),
        now,
    )
    .await?
    {
        tx.rollback().await?;
        return Ok(Redirect::to(&to).into_response());
    }
    match appointments::record_outcome_tx(&mut tx, scope, &id, outcome, now).await {
        Ok(changed) => {
            notify::enqueue_for(
                &mut tx,
                scope,
                &changed.messages,
                None,
                now,
                st.config.quiet_hours,
            )
            .await?;
            let to = if f.retour == "a-traiter" {
                "/msj/a-traiter?info=resultat".to_string()
            } else {
                format!(
                    "/msj/personnes/{}?info=resultat",
                    changed.appointment.ppsmj_id
                )
            };
            finish(&mut tx, &f.jeton, &to).await?;
            tx.commit().await?;
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let msg = refusal(e)?;
            appointment_page(&st, &auth, &id, Some(msg)).await
        }
    }
}

pub struct QueueRow {
    pub id: String,
    pub ppsmj_id: String,
    pub person: String,
    pub when: String,
    pub type_label: String,
    pub agenda: String,
    /// One-time token of this row's outcome form.
    pub jeton: String,
}

#[derive(Template)]
#[template(path = "msj/queue.html")]
pub struct QueuePage {
    pub ctx: PageCtx,
    pub rows: Vec<QueueRow>,
    pub may_record: bool,
    /// Open change requests made by people in their space.
    pub requests: Vec<crate::handlers::space::AgentRequestRow>,
    pub requests_caption: &'static str,
    pub requests_show_person: bool,
    pub requests_back: &'static str,
    pub may_answer: bool,
}

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    #[serde(default)]
    info: String,
}

pub async fn queue(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<QueueQuery>,
) -> AppResult<Response> {
    require_msj(&auth)?;
    let scope = auth.scope();
    let items = appointments::work_queue(&st.db, scope, store::now(), 300).await?;
    let mut zones = Zones::default();
    let mut rows = vec![];
    for i in items {
        let tz = zones.get(&st.db, &i.appointment.organisation_id).await?;
        rows.push(QueueRow {
            id: i.appointment.id.clone(),
            ppsmj_id: i.appointment.ppsmj_id.clone(),
            person: i.ppsmj_name,
            when: when_fr(i.appointment.starts_at, tz),
            type_label: i.appointment_type_label,
            agenda: i.agenda_name,
            jeton: store::random_token(),
        });
    }
    let mut ctx = PageCtx::new(&auth.1, "À traiter");
    if q.info == "resultat" {
        ctx = ctx.with_notice("success", "Résultat du rendez-vous enregistré.");
    } else if q.info == "demande-refusee" {
        ctx = ctx.with_notice("success", "Refus envoyé à la personne.");
    }
    page(QueuePage {
        ctx,
        rows,
        may_record: super::may_change(auth.user().role),
        requests: crate::handlers::space::agent_queue_rows(&st, scope).await?,
        requests_caption: "Demandes de changement de rendez-vous",
        requests_show_person: true,
        requests_back: "a-traiter",
        may_answer: super::may_change(auth.user().role),
    })
}
