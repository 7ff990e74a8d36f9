//! Info Parquet: referrals (wizard, inbox, decisions, messages), routing gaps and API tokens.
//!
//! Referrer side (administration agents and managers): `/info-parquet/signalements` (list, wizard, referral page).
//! Parquet side: `/info-parquet/parquet` (inbox); the referral page `/info-parquet/signalements/{id}` is shared and
//! shows each side its own actions. National admin: missing routing mappings, onboarding of administrations.
//! Managers: API tokens. Parquets, managers and the national admin: statistics.

mod admin;
mod onboarding;
mod referral;
mod stats;
mod views;
mod wizard;

use axum::routing::{get, post};
use axum::Router;
use domain::ReferralStatus;
use store::parquet::ParquetError;
use store::roles::{Role, RoleGroup};

use crate::error::AppError;
use crate::views::Tile;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/info-parquet/signalements", get(referral::list))
        .route("/info-parquet/signalements/nouveau", post(wizard::create))
        .route("/info-parquet/signalements/{id}", get(referral::show))
        .route(
            "/info-parquet/signalements/{id}/etapes/{step}",
            get(wizard::step_form).post(wizard::step_submit),
        )
        .route(
            "/info-parquet/signalements/{id}/confirmation",
            get(wizard::confirmation),
        )
        .route(
            "/info-parquet/signalements/{id}/accuse-reception.pdf",
            get(referral::acknowledgement_pdf),
        )
        .route(
            "/info-parquet/signalements/{id}/messages",
            post(referral::post_message),
        )
        .route(
            "/info-parquet/signalements/{id}/actions/{action}",
            post(referral::parquet_action),
        )
        .route("/info-parquet/parquet", get(referral::inbox))
        .route("/info-parquet/communes", get(admin::communes_json))
        .route("/info-parquet/natinf", get(admin::natinf_json))
        .route(
            "/info-parquet/correspondances-manquantes",
            get(admin::missing_mappings),
        )
        .route(
            "/info-parquet/jetons",
            get(admin::tokens).post(admin::token_create),
        )
        .route(
            "/info-parquet/jetons/{id}/revoquer",
            post(admin::token_revoke),
        )
        .route("/info-parquet/statistiques", get(stats::stats_page))
        .route("/info-parquet/statistiques.csv", get(stats::stats_csv))
        .route(
            "/info-parquet/administrations",
            get(onboarding::list).post(onboarding::create),
        )
        .route(
            "/info-parquet/administrations/services",
            post(onboarding::add_services),
        )
        .route(
            "/info-parquet/administrations/{id}",
            get(onboarding::show).post(onboarding::update),
        )
        .route(
            "/info-parquet/administrations/{id}/statut",
            post(onboarding::set_status),
        )
}

/// Menu entries of this area for a role.
pub fn nav(role: Role) -> Vec<(&'static str, &'static str)> {
    match role {
        Role::AdminAgent => vec![("Signalements", "/info-parquet/signalements")],
        Role::AdminManager => vec![
            ("Signalements", "/info-parquet/signalements"),
            ("Jetons d'API", "/info-parquet/jetons"),
            ("Statistiques", "/info-parquet/statistiques"),
        ],
        Role::Admin => vec![
            ("Signalements", "/info-parquet/signalements"),
            ("Administrations", "/info-parquet/administrations"),
            (
                "Correspondances manquantes",
                "/info-parquet/correspondances-manquantes",
            ),
            ("Statistiques Info Parquet", "/info-parquet/statistiques"),
        ],
        r if r.group() == RoleGroup::Parquet => {
            vec![
                ("Signalements reçus", "/info-parquet/parquet"),
                ("Statistiques", "/info-parquet/statistiques"),
            ]
        }
        _ => vec![],
    }
}

/// Home-page tiles of this area for a role.
pub fn tiles(role: Role) -> Vec<Tile> {
    let mut t = vec![];
    match role {
        Role::AdminAgent | Role::AdminManager => {
            t.push(Tile {
                title: "Signalements au procureur",
                text: "Rédiger un signalement (article 40), reprendre un brouillon, suivre les décisions.",
                href: "/info-parquet/signalements",
            });
            if role == Role::AdminManager {
                t.push(Tile {
                    title: "Jetons d'API",
                    text: "Permettre au logiciel de votre service de déposer des signalements.",
                    href: "/info-parquet/jetons",
                });
                t.push(Tile {
                    title: "Statistiques des signalements",
                    text: "Volumes, délais de traitement et décisions des parquets pour votre administration.",
                    href: "/info-parquet/statistiques",
                });
            }
        }
        Role::Admin => {
            t.push(Tile {
                title: "Signalements",
                text: "Tous les signalements Info Parquet (lecture).",
                href: "/info-parquet/signalements",
            });
            t.push(Tile {
                title: "Administrations",
                text: "Ouvrir Info Parquet à une administration : ses services et son premier responsable.",
                href: "/info-parquet/administrations",
            });
            t.push(Tile {
                title: "Correspondances manquantes",
                text: "Communes des faits sans tribunal judiciaire connu.",
                href: "/info-parquet/correspondances-manquantes",
            });
            t.push(Tile {
                title: "Statistiques Info Parquet",
                text: "Volumes, délais d'enregistrement et de décision, décisions par administration, tribunal et famille d'infractions.",
                href: "/info-parquet/statistiques",
            });
        }
        r if r.group() == RoleGroup::Parquet => {
            t.push(Tile {
                title: "Signalements reçus",
                text: "Les urgents d'abord : accuser réception, enregistrer, attribuer, décider.",
                href: "/info-parquet/parquet",
            });
            t.push(Tile {
                title: "Statistiques",
                text: "Volumes, délais de traitement et décisions de votre parquet.",
                href: "/info-parquet/statistiques",
            });
        }
        _ => {}
    }
    t
}

/// Field errors of a form, by field name as the store names them (`facts.description`, `case_number`…); the
/// field `_` carries a message for the whole form.
#[derive(Default, Clone)]
pub struct Errors(pub Vec<(String, String)>);

impl Errors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
    pub fn general(&self) -> Option<&str> {
        self.get("_")
    }
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_string(), message.into()));
    }
    pub fn extend(&mut self, other: Errors) {
        self.0.extend(other.0);
    }
    /// The errors whose field starts with `prefix`, with the prefix removed (`persons[2].siren` → `siren`).
    pub fn strip(&self, prefix: &str) -> Errors {
        Errors(
            self.0
                .iter()
                .filter_map(|(f, m)| f.strip_prefix(prefix).map(|r| (r.to_string(), m.clone())))
                .collect(),
        )
    }
    pub fn messages(&self) -> Vec<&str> {
        self.0.iter().map(|(_, m)| m.as_str()).collect()
    }
}

/// What the user can correct becomes form errors; absent or out of scope is a 404; anything else a 500.
pub fn user_errors(e: ParquetError) -> Result<Errors, AppError> {
    match e {
        ParquetError::Invalid(fields) => Ok(Errors(
            fields.into_iter().map(|f| (f.field, f.message)).collect(),
        )),
        ParquetError::Transition(t) => Ok(Errors(vec![("_".into(), t.to_string())])),
        ParquetError::Forbidden(m) => Ok(Errors(vec![("_".into(), m)])),
        ParquetError::Store(store::StoreError::NotFound) => Err(AppError::NotFound),
        ParquetError::Store(store::StoreError::Conflict(_)) => Ok(Errors(vec![(
            "_".into(),
            "Cette action entre en conflit avec une autre modification : rechargez la page.".into(),
        )])),
        ParquetError::Unauthenticated => Err(AppError::Forbidden),
        other => Err(AppError::Internal(other.into())),
    }
}

/// DSFR badge modifier of a status.
pub fn status_badge(s: ReferralStatus) -> &'static str {
    match s {
        ReferralStatus::Draft => "fr-badge--new",
        ReferralStatus::Sent => "fr-badge--info",
        ReferralStatus::Registered
        | ReferralStatus::Assigned
        | ReferralStatus::UnderInvestigation => "fr-badge--info",
        ReferralStatus::Decided => "fr-badge--success",
        ReferralStatus::Transferred => "fr-badge--warning",
    }
}

/// « 3 h 12 min », « 45 min », « 2 j 4 h » — how long an acknowledgement took.
pub fn duration_fr(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    if d > 0 {
        format!("{d} j {h} h")
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        "moins d'une minute".into()
    }
}

pub fn date_fr(d: chrono::NaiveDate) -> String {
    domain::french_date(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_fr(30), "moins d'une minute");
        assert_eq!(duration_fr(45 * 60), "45 min");
        assert_eq!(duration_fr(3 * 3600 + 12 * 60), "3 h 12 min");
        assert_eq!(duration_fr(2 * 86_400 + 4 * 3600), "2 j 4 h");
    }

    #[test]
    fn errors_are_found_and_stripped_by_prefix() {
        let e = Errors(vec![
            ("persons[2].siren".into(), "SIREN invalide".into()),
            ("_".into(), "x".into()),
        ]);
        assert_eq!(e.strip("persons[2].").get("siren"), Some("SIREN invalide"));
        assert_eq!(e.general(), Some("x"));
    }
}
