//! Mon Suivi Justice, agents' side: people followed (PPSMJ), booking, outcomes, work queue.

pub mod booking;
pub mod export;
pub mod measures;
pub mod notify;
pub mod ppsmj;

use std::collections::HashMap;

use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use domain::AppointmentState;
use store::msj::MsjError;
use store::roles::{Role, RoleGroup};
use store::Db;

use crate::error::AppError;
use crate::session::Auth;
use crate::views::Tile;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/msj/personnes", get(ppsmj::list))
        .route(
            "/msj/personnes/nouvelle",
            get(ppsmj::new_form).post(ppsmj::create),
        )
        .route("/msj/personnes/{id}", get(ppsmj::show))
        .route(
            "/msj/personnes/{id}/modifier",
            get(ppsmj::edit_form).post(ppsmj::update),
        )
        .route("/msj/personnes/{id}/archiver", post(ppsmj::archive))
        .route("/msj/personnes/{id}/export.zip", get(export::export_zip))
        .route("/msj/personnes/{id}/restaurer", post(ppsmj::restore))
        .route(
            "/msj/personnes/{id}/rendez-vous/nouveau",
            get(booking::form).post(booking::submit),
        )
        .route("/msj/rendez-vous/{id}", get(booking::show))
        .route("/msj/rendez-vous/{id}/annuler", post(booking::cancel))
        .route("/msj/rendez-vous/{id}/resultat", post(booking::outcome))
        .route("/msj/a-traiter", get(booking::queue))
        .merge(measures::routes())
}

/// Agents of Mon Suivi Justice (and the national admin) use these pages.
pub fn uses_msj(role: Role) -> bool {
    role.is_msj() || role.is_national_admin()
}

/// Creates and edits records, books appointments (the prosecutor only reads).
pub fn may_change(role: Role) -> bool {
    matches!(
        role.group(),
        RoleGroup::Bex
            | RoleGroup::Sap
            | RoleGroup::Spip
            | RoleGroup::LocalAdmin
            | RoleGroup::National
    )
}

/// Menu entries of this area for a role.
pub fn nav(role: Role) -> Vec<(&'static str, &'static str)> {
    if uses_msj(role) {
        vec![
            ("Personnes suivies", "/msj/personnes"),
            ("À traiter", "/msj/a-traiter"),
        ]
    } else {
        vec![]
    }
}

/// Home-page tiles of this area for a role.
pub fn tiles(role: Role) -> Vec<Tile> {
    if !uses_msj(role) {
        return vec![];
    }
    vec![
        Tile {
            title: "Personnes suivies",
            text: "Rechercher une personne, créer un dossier, planifier un rendez-vous.",
            href: "/msj/personnes",
        },
        Tile {
            title: "À traiter",
            text: "Rendez-vous passés dont il faut saisir le résultat (honoré, absent, excusé).",
            href: "/msj/a-traiter",
        },
    ]
}

pub(crate) fn require_msj(auth: &Auth) -> Result<(), AppError> {
    auth.require(uses_msj(auth.user().role))
}

/// A refused change shown to the agent, or an error page (404 for what is out of scope).
pub(crate) fn refusal(e: MsjError) -> Result<String, AppError> {
    match e {
        MsjError::Store(s) => Err(s.into()),
        other => Ok(other.to_string()),
    }
}

/// Time zones of organisations, read once per page.
#[derive(Default)]
pub(crate) struct Zones(HashMap<String, chrono_tz::Tz>);

impl Zones {
    pub async fn get(&mut self, db: &Db, organisation_id: &str) -> Result<chrono_tz::Tz, AppError> {
        if let Some(tz) = self.0.get(organisation_id) {
            return Ok(*tz);
        }
        let org = store::orgs::get_unscoped(db, organisation_id).await?;
        let tz = org.time_zone.parse().unwrap_or(chrono_tz::Europe::Paris);
        self.0.insert(organisation_id.to_string(), tz);
        Ok(tz)
    }
}

/// "lundi 3 mai 2027 à 14h30" in `tz`, with the zone named when it is not Paris.
pub(crate) fn when_fr(unix: i64, tz: chrono_tz::Tz) -> String {
    let t = DateTime::<Utc>::from_timestamp(unix, 0)
        .unwrap_or_default()
        .with_timezone(&tz);
    let mut s = format!(
        "{} à {}",
        domain::french_date(t.date_naive()),
        domain::french_time(t.time())
    );
    if tz != chrono_tz::Europe::Paris {
        s.push_str(&format!(" (heure locale, {})", tz.name()));
    }
    s
}

/// DSFR badge class and French label of a state.
pub(crate) fn state_badge(s: AppointmentState) -> (&'static str, &'static str) {
    match s {
        AppointmentState::Created => ("fr-badge--info", "Créé"),
        AppointmentState::Booked => ("fr-badge--info", "Planifié"),
        AppointmentState::Canceled => ("fr-badge--warning", "Annulé"),
        AppointmentState::Fulfilled => ("fr-badge--success", "Honoré"),
        AppointmentState::NoShow => ("fr-badge--error", "Absent"),
        AppointmentState::Excused => ("fr-badge--new", "Excusé"),
    }
}

/// How the person can be reached, in words for agents (list, page, booking).
pub(crate) fn contact_status(
    phone: Option<&str>,
    mobile: bool,
    no_phone: bool,
    refused: bool,
    opted_out: bool,
) -> (&'static str, String) {
    let display = phone.map(|p| {
        domain::PhoneNumber::parse(p)
            .map(|n| n.national_display())
            .unwrap_or_else(|_| p.to_string())
    });
    if no_phone {
        ("fr-badge--warning", "Pas de téléphone".into())
    } else if refused {
        (
            "fr-badge--warning",
            "Refus de communiquer son téléphone".into(),
        )
    } else if let Some(d) = display {
        if opted_out {
            (
                "fr-badge--warning",
                format!("{d} — SMS refusés par la personne"),
            )
        } else if !mobile {
            ("fr-badge--warning", format!("{d} — fixe, pas de SMS"))
        } else {
            ("fr-badge--success", format!("{d} — SMS"))
        }
    } else {
        ("fr-badge--warning", "Aucun numéro".into())
    }
}
