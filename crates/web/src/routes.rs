//! Every route of the application as data: its path, methods, and what its `{id}` names. The permission matrix
//! test (`tests/permission_matrix.rs`) checks that this table lists exactly the routes declared in the source
//! (`.route("…")` in `src/`) and exercises every route with an id, for each role, with ids of objects of the
//! principal's own, a linked, a managed and an unrelated organisation. A new route missing here fails that test.

/// What the parameters of a route name (how the matrix finds an id for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Object {
    /// No parameter.
    None,
    /// Parameters that name no tenant object (a static file, an SMS provider, a STOP token, a template key).
    Public,
    /// A template of the actor's own organisation, keyed by type/kind/language.
    TemplateKey,
    User,
    Person,
    Appointment,
    Place,
    Agenda,
    /// `{id}` an agenda, `{tid}` one of its weekly slot types.
    AgendaSlotType,
    /// `{id}` an agenda, `{date}` a day.
    AgendaDay,
    Slot,
    Divestment,
    /// An outbox message (retry of a failed message).
    Message,
    Referral,
    /// `{id}` a referral, `{message_id}` one of its messages.
    ReferralMessage,
    Attachment,
    ApiToken,
    /// A measure (sentence or court order) recorded on a person's record.
    Measure,
    /// A person's request to change an appointment (answered by the agents).
    PersonRequest,
    /// A proof ("justificatif") a person sent for an appointment.
    Proof,
    /// One of the signed-in person's own appointments, under `/mon-espace`: only the person's session opens it
    /// (agents and anonymous callers are sent to the person sign-in page).
    PersonSpace,
    /// An Info Parquet administration or service (managed by the national admin only).
    ParquetOrganisation,
}

#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    pub path: &'static str,
    pub get: bool,
    pub post: bool,
    pub object: Object,
}

const fn r(path: &'static str, get: bool, post: bool, object: Object) -> RouteSpec {
    RouteSpec {
        path,
        get,
        post,
        object,
    }
}

use Object as O;

static ROUTES: &[RouteSpec] = &[
    r("/", true, false, O::None),
    r("/accueil", true, false, O::None),
    r("/connexion", true, true, O::None),
    r("/connexion/totp", true, true, O::None),
    r("/deconnexion", false, true, O::None),
    r("/mot-de-passe-oublie", true, true, O::None),
    r("/mot-de-passe/nouveau", true, true, O::None),
    r("/compte", true, false, O::None),
    r("/compte/double-authentification", true, true, O::None),
    r("/utilisateurs/{id}", true, false, O::User),
    r("/admin/utilisateurs", true, true, O::None),
    r("/admin/utilisateurs/{id}", true, true, O::User),
    r("/admin/organisations", true, true, O::None),
    r("/admin/organisations/liens", false, true, O::None),
    r("/admin/journal", true, false, O::None),
    r("/demo/messages", true, false, O::None),
    r("/healthz", true, false, O::None),
    r("/metrics", true, false, O::None),
    r("/api/v1/openapi.json", true, false, O::None),
    r("/accessibilite", true, false, O::None),
    r("/mentions-legales", true, false, O::None),
    r("/donnees-personnelles", true, false, O::None),
    r("/static/{*path}", true, false, O::Public),
    r("/api/v1/referrals", true, true, O::None),
    r("/api/v1/referrals/{id}", true, false, O::Referral),
    r("/msj/personnes", true, false, O::None),
    r("/msj/personnes/nouvelle", true, true, O::None),
    r("/msj/personnes/{id}", true, false, O::Person),
    r("/msj/personnes/{id}/modifier", true, true, O::Person),
    r("/msj/personnes/{id}/archiver", false, true, O::Person),
    r("/msj/personnes/{id}/export.zip", true, false, O::Person),
    r("/msj/personnes/{id}/restaurer", false, true, O::Person),
    r(
        "/msj/personnes/{id}/rendez-vous/nouveau",
        true,
        true,
        O::Person,
    ),
    r("/msj/rendez-vous/{id}", true, false, O::Appointment),
    r("/msj/rendez-vous/{id}/annuler", false, true, O::Appointment),
    r(
        "/msj/rendez-vous/{id}/resultat",
        false,
        true,
        O::Appointment,
    ),
    r("/msj/a-traiter", true, false, O::None),
    r("/msj/lieux", true, true, O::None),
    r("/msj/lieux/{id}", true, true, O::Place),
    r("/msj/lieux/{id}/prestations", false, true, O::Place),
    r("/msj/lieux/{id}/agendas", false, true, O::Place),
    r("/msj/agendas/{id}", true, false, O::Agenda),
    r("/msj/agendas/{id}/types-creneaux", false, true, O::Agenda),
    r(
        "/msj/agendas/{id}/types-creneaux/{tid}/supprimer",
        false,
        true,
        O::AgendaSlotType,
    ),
    r("/msj/agendas/{id}/generer", false, true, O::Agenda),
    r("/msj/creneaux/{id}/fermer", false, true, O::Slot),
    r("/msj/creneaux/{id}/rouvrir", false, true, O::Slot),
    r("/msj/creneaux/{id}/capacite", false, true, O::Slot),
    r("/msj/agendas/{id}/jour/{date}", true, false, O::AgendaDay),
    r(
        "/msj/rendez-vous/{id}/convocation.pdf",
        true,
        false,
        O::Appointment,
    ),
    r("/msj/statistiques", true, false, O::None),
    r("/msj/statistiques.csv", true, false, O::None),
    r("/msj/import-appi", true, true, O::None),
    r("/msj/personnes/{id}/dessaisissement", true, true, O::Person),
    r("/msj/dessaisissements", true, false, O::None),
    r("/msj/dessaisissements/{id}", true, false, O::Divestment),
    r(
        "/msj/dessaisissements/{id}/reponse",
        false,
        true,
        O::Divestment,
    ),
    r("/info-parquet/signalements", true, false, O::None),
    r("/info-parquet/signalements/nouveau", false, true, O::None),
    r("/info-parquet/signalements/{id}", true, false, O::Referral),
    r(
        "/info-parquet/signalements/{id}/etapes/{step}",
        true,
        true,
        O::Referral,
    ),
    r(
        "/info-parquet/signalements/{id}/confirmation",
        true,
        false,
        O::Referral,
    ),
    r(
        "/info-parquet/signalements/{id}/accuse-reception.pdf",
        true,
        false,
        O::Referral,
    ),
    r(
        "/info-parquet/signalements/{id}/messages",
        false,
        true,
        O::Referral,
    ),
    r(
        "/info-parquet/signalements/{id}/actions/{action}",
        false,
        true,
        O::Referral,
    ),
    r("/info-parquet/parquet", true, false, O::None),
    r("/info-parquet/communes", true, false, O::None),
    r("/info-parquet/natinf", true, false, O::None),
    r(
        "/info-parquet/correspondances-manquantes",
        true,
        false,
        O::None,
    ),
    r("/info-parquet/jetons", true, true, O::None),
    r(
        "/info-parquet/jetons/{id}/revoquer",
        false,
        true,
        O::ApiToken,
    ),
    r("/info-parquet/statistiques", true, false, O::None),
    r("/info-parquet/statistiques.csv", true, false, O::None),
    r("/info-parquet/administrations", true, true, O::None),
    r(
        "/info-parquet/administrations/services",
        false,
        true,
        O::None,
    ),
    r(
        "/info-parquet/administrations/{id}",
        true,
        true,
        O::ParquetOrganisation,
    ),
    r(
        "/info-parquet/administrations/{id}/statut",
        false,
        true,
        O::ParquetOrganisation,
    ),
    r("/msj/modeles", true, false, O::None),
    r("/msj/modeles/apercu", false, true, O::None),
    r(
        "/msj/modeles/{type}/{kind}/{language}",
        true,
        true,
        O::TemplateKey,
    ),
    r(
        "/msj/modeles/{type}/{kind}/{language}/national",
        false,
        true,
        O::TemplateKey,
    ),
    r("/webhooks/sms/{provider}", false, true, O::Public),
    r("/stop/{token}", true, true, O::Public),
    r("/messages/echecs", true, false, O::None),
    r("/messages/{id}/relancer", false, true, O::Message),
    r(
        "/info-parquet/signalements/{id}/pieces-jointes",
        false,
        true,
        O::Referral,
    ),
    r(
        "/info-parquet/signalements/{id}/messages/{message_id}/pieces-jointes",
        false,
        true,
        O::ReferralMessage,
    ),
    r(
        "/info-parquet/pieces-jointes/{id}",
        true,
        false,
        O::Attachment,
    ),
    r(
        "/msj/personnes/{id}/mesures/nouvelle",
        true,
        true,
        O::Person,
    ),
    r("/msj/personnes/{id}/mesures/apercu", true, false, O::Person),
    r("/msj/mesures/{id}/modifier", true, true, O::Measure),
    r("/msj/mesures/{id}/supprimer", false, true, O::Measure),
    r("/mon-espace", true, false, O::None),
    r("/mon-espace/connexion", false, true, O::None),
    r("/mon-espace/code", true, true, O::None),
    r("/mon-espace/deconnexion", false, true, O::None),
    r("/mon-espace/langue/{code}", true, false, O::Public),
    r("/mon-espace/aide", true, false, O::None),
    r("/mon-espace/aide/{page}", true, false, O::Public),
    r("/mon-espace/rendez-vous", true, false, O::None),
    r("/mon-espace/rendez-vous/{id}", true, false, O::PersonSpace),
    r(
        "/mon-espace/rendez-vous/{id}/agenda.ics",
        true,
        false,
        O::PersonSpace,
    ),
    r(
        "/mon-espace/rendez-vous/{id}/confirmer",
        false,
        true,
        O::PersonSpace,
    ),
    r(
        "/mon-espace/rendez-vous/{id}/changement",
        false,
        true,
        O::PersonSpace,
    ),
    r(
        "/mon-espace/rendez-vous/{id}/justificatifs",
        false,
        true,
        O::PersonSpace,
    ),
    r("/mon-espace/contacts", true, false, O::None),
    r("/mon-espace/ma-mesure", true, false, O::None),
    r("/mon-espace/notifications", false, true, O::None),
    r("/mon-espace/notifications/arret", false, true, O::None),
    r("/mon-espace/sw.js", true, false, O::None),
    r("/mon-espace/coordonnees", true, false, O::None),
    r("/mon-espace/coordonnees/changer", false, true, O::None),
    r("/mon-espace/coordonnees/code", true, true, O::None),
    r("/mon-espace/coordonnees/preferences", false, true, O::None),
    r("/msj/demandes/{id}/refuser", false, true, O::PersonRequest),
    r("/msj/justificatifs/{id}", true, false, O::Proof),
    r("/msj/justificatifs/{id}/vu", false, true, O::Proof),
    r("/satisfaction", false, true, O::None),
    r("/admin/satisfaction", true, false, O::None),
    r("/msj/horaires", true, true, O::None),
    r("/msj/statistiques/impact.csv", true, false, O::None),
    r("/msj/statistiques/debut-rappels", false, true, O::None),
];

/// The routes of the application (see the module documentation).
pub fn route_table() -> &'static [RouteSpec] {
    ROUTES
}
