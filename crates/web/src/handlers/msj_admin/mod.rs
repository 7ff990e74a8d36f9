//! Mon Suivi Justice administration: places, agendas, slots, statistics, imports, PDF, divestments.

mod divest;
mod docs;
mod hours;
mod import;
mod places;
mod stats;

use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use store::msj::{FieldErrors, MsjError};
use store::orgs::{self, Organisation};
use store::roles::{OrgKind, Role, RoleGroup};

use crate::error::AppError;
use crate::session::Auth;
use crate::views::Tile;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/msj/lieux", get(places::list).post(places::create))
        .route("/msj/lieux/{id}", get(places::show).post(places::update))
        .route("/msj/lieux/{id}/prestations", post(places::set_types))
        .route("/msj/lieux/{id}/agendas", post(places::create_agenda))
        .route("/msj/agendas/{id}", get(places::agenda))
        .route(
            "/msj/agendas/{id}/types-creneaux",
            post(places::add_slot_type),
        )
        .route(
            "/msj/agendas/{id}/types-creneaux/{tid}/supprimer",
            post(places::remove_slot_type),
        )
        .route("/msj/agendas/{id}/generer", post(places::regenerate))
        .route("/msj/creneaux/{id}/fermer", post(places::close_slot))
        .route("/msj/creneaux/{id}/rouvrir", post(places::reopen_slot))
        .route("/msj/creneaux/{id}/capacite", post(places::slot_capacity))
        .route("/msj/agendas/{id}/jour/{date}", get(docs::agenda_day_pdf))
        .route(
            "/msj/rendez-vous/{id}/convocation.pdf",
            get(docs::convocation_pdf),
        )
        .route("/msj/horaires", get(hours::form).post(hours::save))
        .route("/msj/statistiques", get(stats::page))
        .route("/msj/statistiques.csv", get(stats::csv))
        .route("/msj/statistiques/impact.csv", get(stats::impact_csv))
        .route("/msj/statistiques/debut-rappels", post(stats::set_start))
        .route("/msj/import-appi", get(import::form).post(import::upload))
        .route(
            "/msj/personnes/{id}/dessaisissement",
            get(divest::form).post(divest::request),
        )
        .route("/msj/dessaisissements", get(divest::list))
        .route("/msj/dessaisissements/{id}", get(divest::show))
        .route("/msj/dessaisissements/{id}/reponse", post(divest::answer))
}

/// Every Mon Suivi Justice role (and the national admin) reads this area.
fn is_msj_user(role: Role) -> bool {
    role.is_msj() || role.is_national_admin()
}

/// Configures places, agendas and slot types.
fn is_config_admin(role: Role) -> bool {
    matches!(role, Role::LocalAdmin | Role::Admin)
}

/// May import an APPI export: administrators, the SPIP and the SAP (who use APPI).
fn may_import(role: Role) -> bool {
    is_config_admin(role) || matches!(role.group(), RoleGroup::Spip | RoleGroup::Sap)
}

/// Menu entries of this area for a role.
pub fn nav(role: Role) -> Vec<(&'static str, &'static str)> {
    let mut items = vec![];
    if !is_msj_user(role) {
        return items;
    }
    items.push(("Lieux et agendas", "/msj/lieux"));
    if is_config_admin(role) {
        items.push(("Horaires d'ouverture", "/msj/horaires"));
    }
    items.push(("Statistiques", "/msj/statistiques"));
    items.push(("Dessaisissements", "/msj/dessaisissements"));
    if may_import(role) {
        items.push(("Import APPI", "/msj/import-appi"));
    }
    items
}

/// Home-page tiles of this area for a role.
pub fn tiles(role: Role) -> Vec<Tile> {
    let mut tiles = vec![];
    if !is_msj_user(role) {
        return tiles;
    }
    tiles.push(Tile {
        title: "Lieux et agendas",
        text: if is_config_admin(role) {
            "Configurer les lieux, les agendas et les créneaux hebdomadaires."
        } else {
            "Consulter les lieux, les agendas et les créneaux de la semaine."
        },
        href: "/msj/lieux",
    });
    tiles.push(Tile {
        title: "Statistiques",
        text: "Absentéisme par service, agenda, type de rendez-vous et mois, effet des rappels SMS ; export CSV.",
        href: "/msj/statistiques",
    });
    tiles.push(Tile {
        title: "Dessaisissements",
        text: "Demandes envoyées et reçues, acceptation ou refus.",
        href: "/msj/dessaisissements",
    });
    if may_import(role) {
        tiles.push(Tile {
            title: "Import APPI",
            text: "Créer des dossiers à partir d'un export CSV d'APPI.",
            href: "/msj/import-appi",
        });
    }
    tiles
}

/// A refused change, ready to show: field messages and/or a general message.
#[derive(Default)]
pub(crate) struct Problem {
    pub fields: FieldErrors,
    pub message: Option<String>,
}

impl Problem {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name)
    }
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.message.is_none()
    }
}

/// Splits a store error into what is shown on the form (invalid fields, rules, full slot) and what becomes an
/// error page (404, 403, 500).
pub(crate) fn problem(e: MsjError) -> Result<Problem, AppError> {
    match e {
        MsjError::Invalid(fields) => Ok(Problem {
            fields,
            message: None,
        }),
        MsjError::Rule(m) => Ok(Problem {
            fields: FieldErrors::default(),
            message: Some(m),
        }),
        MsjError::SlotFull => Ok(Problem {
            fields: FieldErrors::default(),
            message: Some(MsjError::SlotFull.to_string()),
        }),
        MsjError::Forbidden(_) => Err(AppError::Forbidden),
        MsjError::Store(s) => Err(s.into()),
    }
}

/// The organisation of an object, for its time zone and name (reference data).
pub(crate) async fn organisation(st: &AppState, id: &str) -> Result<Organisation, AppError> {
    Ok(orgs::get_unscoped(&st.db, id).await?)
}

pub(crate) fn tz_of(org: &Organisation) -> chrono_tz::Tz {
    org.time_zone.parse().unwrap_or(chrono_tz::Europe::Paris)
}

/// Organisations where the user may configure places: the ones it manages, of kind SPIP or TJ.
pub(crate) async fn managed_msj_orgs(
    st: &AppState,
    auth: &Auth,
) -> Result<Vec<Organisation>, AppError> {
    if !is_config_admin(auth.user().role) {
        return Ok(vec![]);
    }
    Ok(orgs::list_managed(&st.db, auth.scope())
        .await?
        .into_iter()
        .filter(|o| matches!(o.kind, OrgKind::Spip | OrgKind::Tj) && o.active)
        .collect())
}

/// 'YYYY-MM-DD' or 404.
pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s.trim_end_matches(".pdf"), "%Y-%m-%d")
        .map_err(|_| AppError::NotFound)
}

/// "lundi 3 mai 2027 à 14h30" in a time zone.
pub(crate) fn when_fr(unix: i64, tz: chrono_tz::Tz) -> String {
    use chrono::TimeZone;
    match tz.timestamp_opt(unix, 0).single() {
        Some(t) => format!(
            "{} à {}",
            domain::template::french_date(t.date_naive()),
            domain::template::french_time(t.time())
        ),
        None => String::new(),
    }
}

/// "14h30" in a time zone.
pub(crate) fn time_fr(unix: i64, tz: chrono_tz::Tz) -> String {
    use chrono::TimeZone;
    tz.timestamp_opt(unix, 0)
        .single()
        .map(|t| domain::template::french_time(t.time()))
        .unwrap_or_default()
}
