//! Message templates: the national defaults and each organisation's overrides, by appointment
//! type, kind and language, with an editor that previews the text on a sample appointment and counts SMS.

mod editor;

use axum::routing::{get, post};
use axum::Router;
use domain::template::{sms_segments, SmsEncoding, TemplateVars};
use store::roles::Role;
use store::templates::{MessageTemplate, ANY_TYPE};

use crate::session::Auth;
use crate::views::Tile;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/msj/modeles", get(editor::list))
        .route("/msj/modeles/apercu", post(editor::preview_json))
        .route(
            "/msj/modeles/{type}/{kind}/{language}",
            get(editor::edit).post(editor::submit),
        )
        .route(
            "/msj/modeles/{type}/{kind}/{language}/national",
            post(editor::revert),
        )
}

/// Local administrators edit their organisation's texts; the national administrator edits the national ones.
fn may_edit(role: Role) -> bool {
    matches!(role, Role::LocalAdmin | Role::Admin)
}

/// Menu entries of this area for a role.
pub fn nav(role: Role) -> Vec<(&'static str, &'static str)> {
    if may_edit(role) {
        vec![("Modèles de messages", "/msj/modeles")]
    } else {
        vec![]
    }
}

/// Home-page tiles of this area for a role.
pub fn tiles(role: Role) -> Vec<Tile> {
    if !may_edit(role) {
        return vec![];
    }
    vec![Tile {
        title: "Modèles de messages",
        text: "Textes des SMS et e-mails envoyés aux personnes suivies : convocation, rappel, annulation…",
        href: "/msj/modeles",
    }]
}

/// The organisation whose texts the user edits: none for the national administrator (national defaults).
fn target_org(auth: &Auth) -> Option<String> {
    if auth.user().role.is_national_admin() {
        None
    } else {
        Some(auth.user().organisation_id.clone())
    }
}

pub(crate) fn kind_label(kind: &str) -> &'static str {
    match kind {
        "summon" => "Convocation",
        "reminder" => "Rappel",
        "cancelation" => "Annulation",
        "reschedule" => "Changement de rendez-vous",
        "no_show" => "Absence au rendez-vous",
        _ => "Message",
    }
}

pub(crate) fn language_label(language: &str) -> &'static str {
    match language {
        "fr" => "Français",
        "fr_falc" => "Facile à lire et à comprendre (FALC)",
        "en" => "Anglais",
        "ar" => "Arabe",
        _ => "Autre langue",
    }
}

/// HTML `lang` and `dir` of a text in this language.
pub(crate) fn html_lang(language: &str) -> (&'static str, &'static str) {
    match language {
        "en" => ("en", "ltr"),
        "ar" => ("ar", "rtl"),
        _ => ("fr", "ltr"),
    }
}

/// The text that applies, chosen among `texts` (national ones and the organisation's) exactly as
/// `store::templates::effective` chooses it.
pub(crate) fn effective_in<'a>(
    texts: &'a [MessageTemplate],
    organisation_id: Option<&str>,
    appointment_type: &str,
    kind: &str,
    language: &str,
) -> Option<&'a MessageTemplate> {
    texts
        .iter()
        .filter(|t| {
            t.kind == kind
                && (t.language == language || t.language == "fr")
                && (t.appointment_type == appointment_type || t.appointment_type == ANY_TYPE)
                && (t.organisation_id.is_none() || t.organisation_id.as_deref() == organisation_id)
        })
        .min_by_key(|t| {
            (
                t.language != language,
                t.appointment_type == ANY_TYPE,
                t.organisation_id.is_none(),
            )
        })
}

/// Whether `t` is the organisation's (or, for the national administrator, the national) text for exactly this
/// type and language, i.e. what a save replaces and what "revenir au texte national" removes.
pub(crate) fn is_exact(
    t: &MessageTemplate,
    organisation_id: Option<&str>,
    appointment_type: &str,
    language: &str,
) -> bool {
    t.organisation_id.as_deref() == organisation_id
        && t.appointment_type == appointment_type
        && t.language == language
}

/// Where the applicable text comes from, in French.
pub(crate) fn source_label(t: &MessageTemplate, appointment_type: &str, language: &str) -> String {
    let mut s = if t.organisation_id.is_some() {
        "Texte de votre service".to_string()
    } else {
        "Texte national".to_string()
    };
    if t.appointment_type == ANY_TYPE && appointment_type != ANY_TYPE {
        s.push_str(", commun à tous les types de rendez-vous");
    }
    if t.language != language {
        s.push_str(" — pas encore de traduction : le texte français est envoyé");
    }
    s
}

/// Size of the SMS, explained in plain French.
pub(crate) struct SmsInfo {
    pub encoding: &'static str,
    pub units: usize,
    pub segments: usize,
    pub units_with_stop: usize,
    pub segments_with_stop: usize,
    /// Characters that force UCS-2, without repeats, in order of appearance.
    pub special: String,
    pub explanation: &'static str,
}

/// The STOP line that the renderer appends to every SMS (`web::render`), with a token of the real length.
pub(crate) fn stop_line(public_url: &str) -> String {
    format!("\nSTOP SMS : {public_url}/stop/abcdefghijkm")
}

const GSM7_EXPLANATION: &str =
    "Le texte n'utilise que l'alphabet standard des SMS (GSM-7) : un SMS contient \
    jusqu'à 160 caractères (153 par SMS quand le message est découpé en plusieurs SMS).";
const UCS2_EXPLANATION: &str = "Le texte contient au moins un caractère hors de l'alphabet standard des SMS \
    (par exemple ê, ç, â, î, ô, û, l'apostrophe courbe ’ ou les guillemets « ») : tout le message est alors \
    encodé en UCS-2 et un SMS ne contient plus que 70 caractères (67 par SMS quand le message est découpé). Le \
    même texte coûte donc plus de SMS. Écrire « e » au lieu de « ê » ou « c » au lieu de « ç » permet de \
    revenir à 160 caractères par SMS.";

pub(crate) fn sms_info(rendered: &str, public_url: &str) -> SmsInfo {
    let s = sms_segments(rendered);
    let with_stop = sms_segments(&format!("{rendered}{}", stop_line(public_url)));
    let mut special = String::new();
    for c in rendered.chars() {
        let mut buf = [0u8; 4];
        if sms_segments(c.encode_utf8(&mut buf)).encoding == SmsEncoding::Ucs2
            && !special.contains(c)
        {
            if !special.is_empty() {
                special.push_str(", ");
            }
            special.push(c);
        }
    }
    let (encoding, explanation) = match s.encoding {
        SmsEncoding::Gsm7 => ("GSM-7", GSM7_EXPLANATION),
        SmsEncoding::Ucs2 => ("UCS-2", UCS2_EXPLANATION),
    };
    SmsInfo {
        encoding,
        units: s.units,
        segments: s.segments,
        units_with_stop: with_stop.units,
        segments_with_stop: with_stop.segments,
        special,
        explanation,
    }
}

/// The sample appointment of the preview: Monday 3 May 2027 at 14:30, at the organisation's first place (or a
/// made-up place for the national texts or an organisation without places).
pub(crate) async fn sample_vars(st: &AppState, auth: &Auth, org: Option<&str>) -> TemplateVars {
    let starts_at_local = chrono::NaiveDate::from_ymd_opt(2027, 5, 3)
        .and_then(|d| d.and_hms_opt(14, 30, 0))
        .unwrap_or_default();
    let mut vars = TemplateVars {
        starts_at_local,
        place_name: "SPIP des Hauts-de-Seine".into(),
        place_address: "179-191 avenue Joliot-Curie, 92000 Nanterre".into(),
        place_phone: "01 23 45 67 89".into(),
        place_contact: "spip92@justice.fr".into(),
        place_info_url: "https://www.justice.fr/preparer-mon-rendez-vous".into(),
    };
    let Some(org) = org else { return vars };
    let places = store::msj::places::list(&st.db, auth.scope(), Some(org))
        .await
        .unwrap_or_default();
    let organisation = store::orgs::get_unscoped(&st.db, org).await.ok();
    let display = |p: &str| {
        domain::PhoneNumber::parse(p)
            .map(|n| n.national_display())
            .unwrap_or_else(|_| p.to_string())
    };
    if let Some(p) = places.iter().find(|p| p.active).or(places.first()) {
        vars.place_name = p.name.clone();
        vars.place_address = p.address.clone();
        if let Some(phone) = p
            .phone
            .as_deref()
            .or(organisation.as_ref().and_then(|o| o.phone.as_deref()))
        {
            vars.place_phone = display(phone);
        }
        vars.place_contact = p.email.clone().unwrap_or_default();
        vars.place_info_url = p.preparation_url.clone().unwrap_or_default();
    } else if let Some(o) = organisation {
        vars.place_name = o.name;
        if let Some(a) = o.address {
            vars.place_address = a;
        }
        if let Some(p) = o.phone.as_deref() {
            vars.place_phone = display(p);
        }
        vars.place_contact = o.email.unwrap_or_default();
    }
    vars
}
