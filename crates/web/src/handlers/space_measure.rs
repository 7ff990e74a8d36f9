//! The person's space, "My measure, explained": each measure in plain words (what it is, since and until when,
//! each obligation with what to bring as proof and what happens if it is not respected) and a timeline of the
//! appointments behind and ahead. In French, easy-read French, English and Arabic (right to left).
//!
//! Not mounted on a route here: the person's session (sign-in by code) lives in another module, which calls
//! [`render_my_measure`] with the signed-in person's id — the integrator mounts it at `/mon-espace/ma-mesure`.

use askama::Template;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::measure::{date_in, Texts, MISSED_APPOINTMENT};
use domain::Lang;
use store::msj::measures;

use crate::error::AppResult;
use crate::handlers::page;
use crate::views::Notice;
use crate::AppState;

macro_rules! t {
    ($fr:expr, $falc:expr, $en:expr, $ar:expr $(,)?) => {
        Texts {
            fr: $fr,
            falc: $falc,
            en: $en,
            ar: $ar,
        }
    };
}

/// Words of the person's pages around the content (header, footer, language switcher).
pub struct Chrome {
    pub quick_access: &'static str,
    pub content: &'static str,
    pub footer: &'static str,
    pub home_title: &'static str,
    pub tagline: &'static str,
    pub language: &'static str,
    pub help: &'static str,
    pub footer_desc: &'static str,
}

const QUICK_ACCESS: Texts = t!("Accès rapide", "Accès rapide", "Quick access", "وصول سريع");
const CONTENT: Texts = t!("Contenu", "Contenu", "Content", "المحتوى");
const FOOTER: Texts = t!("Pied de page", "Bas de la page", "Footer", "أسفل الصفحة");
const HOME_TITLE: Texts = t!(
    "Accueil de mon espace — Mon Suivi Justice",
    "Accueil de mon espace — Mon Suivi Justice",
    "Home of my space — Mon Suivi Justice",
    "الصفحة الرئيسية لفضائي — Mon Suivi Justice",
);
const TAGLINE: Texts = t!(
    "Mon espace personnel",
    "Mon espace",
    "My personal space",
    "فضائي الشخصي",
);
const LANGUAGE: Texts = t!("Langue", "Langue", "Language", "اللغة");
const HELP: Texts = t!("Aide", "Aide", "Help", "مساعدة");
const FOOTER_DESC: Texts = t!(
    "Mon Suivi Justice vous aide à ne manquer aucun rendez-vous avec la justice. Service du ministère de la Justice.",
    "Mon Suivi Justice vous aide à venir à vos rendez-vous. C'est un service du ministère de la Justice.",
    "Mon Suivi Justice helps you not to miss any appointment with the justice system. A service of the French Ministry of Justice.",
    "يساعدك Mon Suivi Justice على عدم تفويت أي موعد مع العدالة. خدمة من وزارة العدل الفرنسية.",
);

pub fn chrome(lang: Lang) -> Chrome {
    Chrome {
        quick_access: QUICK_ACCESS.get(lang),
        content: CONTENT.get(lang),
        footer: FOOTER.get(lang),
        home_title: HOME_TITLE.get(lang),
        tagline: TAGLINE.get(lang),
        language: LANGUAGE.get(lang),
        help: HELP.get(lang),
        footer_desc: FOOTER_DESC.get(lang),
    }
}

pub struct LangLink {
    pub href: String,
    pub name: &'static str,
    pub html_lang: &'static str,
    pub current: bool,
}

/// Context of a person's page: language, direction, switcher and chrome.
pub struct PersonCtx {
    pub title: String,
    pub lang: &'static str,
    pub dir: &'static str,
    pub url_lang: &'static str,
    pub languages: Vec<LangLink>,
    pub ui: Chrome,
    pub demo: bool,
    pub notice: Option<Notice>,
    /// Set on the agents' preview: link back to the person's record.
    pub agent_back: Option<String>,
}

impl PersonCtx {
    /// `path` is the page's own path: the language links point to it with `?langue=`.
    pub fn new(title: &str, lang: Lang, path: &str, demo: bool) -> PersonCtx {
        PersonCtx {
            title: title.to_string(),
            lang: lang.html_lang(),
            dir: lang.dir(),
            url_lang: lang.url_code(),
            languages: Lang::ALL
                .iter()
                .map(|l| LangLink {
                    href: format!("{path}?langue={}", l.url_code()),
                    name: l.own_name(),
                    html_lang: l.html_lang(),
                    current: *l == lang,
                })
                .collect(),
            ui: chrome(lang),
            demo,
            notice: None,
            agent_back: None,
        }
    }
}

/// The language asked in `?langue=`, French when absent or unknown.
pub fn lang_param(value: Option<&str>) -> Lang {
    value.and_then(Lang::parse).unwrap_or_default()
}

/// Words of the "my measure" page.
pub struct Ui {
    pub intro: &'static str,
    pub no_measure: &'static str,
    pub since: &'static str,
    pub until: &'static str,
    pub no_end: &'static str,
    pub decided_by: &'static str,
    pub what_heading: &'static str,
    pub obligations_heading: &'static str,
    pub detail: &'static str,
    pub proof_heading: &'static str,
    pub missed_heading: &'static str,
    pub measure_missed_heading: &'static str,
    pub timeline_heading: &'static str,
    pub next_heading: &'static str,
    pub none_next: &'static str,
    pub done_heading: &'static str,
    pub none_done: &'static str,
    pub end_heading: &'static str,
    pub missed_appointment_heading: &'static str,
}

const TITLE: Texts = t!("Ma mesure", "Ma mesure", "My measure", "إجرائي القضائي");

fn ui(lang: Lang) -> Ui {
    let g = |t: Texts| t.get(lang);
    Ui {
        intro: g(t!(
            "Voici votre mesure expliquée simplement. Pour toute question, parlez-en à votre conseiller.",
            "Voici votre mesure. Elle est expliquée avec des mots simples. Vous avez une question ? Parlez-en à votre conseiller.",
            "Here is your measure, explained simply. If you have any question, ask your counsellor.",
            "هذا هو إجراؤك القضائي مشروحًا ببساطة. لأي سؤال، تحدث مع مستشارك.",
        )),
        no_measure: g(t!(
            "Aucune mesure n'est enregistrée pour vous pour l'instant. Si vous pensez que c'est une erreur, parlez-en à votre conseiller.",
            "Nous n'avons pas encore votre mesure. Vous pensez que c'est une erreur ? Parlez-en à votre conseiller.",
            "No measure is recorded for you yet. If you think this is a mistake, tell your counsellor.",
            "لا يوجد أي إجراء مسجل باسمك حاليًا. إذا كنت تعتقد أن هذا خطأ، أخبر مستشارك.",
        )),
        since: g(t!("Depuis le", "Depuis le", "Since", "منذ")),
        until: g(t!("Jusqu'au", "Jusqu'au", "Until", "حتى")),
        no_end: g(t!(
            "Pas de date de fin connue",
            "La date de fin n'est pas encore connue",
            "No end date known yet",
            "لا يوجد تاريخ نهاية معروف بعد",
        )),
        decided_by: g(t!("Décidée par :", "Décidée par :", "Decided by:", "قررتها:")),
        what_heading: g(t!("Ce que c'est", "C'est quoi ?", "What it is", "ما هو؟")),
        obligations_heading: g(t!(
            "Mes obligations",
            "Les règles à respecter",
            "My obligations",
            "التزاماتي",
        )),
        detail: g(t!("Précision :", "Précision :", "Detail:", "توضيح:")),
        proof_heading: g(t!(
            "À apporter comme justificatif :",
            "Ce que je dois apporter :",
            "What to bring as proof:",
            "ما يجب إحضاره كإثبات:",
        )),
        missed_heading: g(t!(
            "Si je ne respecte pas :",
            "Si je ne respecte pas la règle :",
            "If I do not comply:",
            "إذا لم ألتزم:",
        )),
        measure_missed_heading: g(t!(
            "Si je ne respecte pas ma mesure",
            "Si je ne respecte pas ma mesure",
            "If I do not comply with my measure",
            "إذا لم أحترم إجرائي",
        )),
        timeline_heading: g(t!(
            "Mon parcours",
            "Ce qui est fait, ce qui vient",
            "My timeline",
            "مساري",
        )),
        next_heading: g(t!(
            "Mes prochains rendez-vous",
            "Mes prochains rendez-vous",
            "My next appointments",
            "مواعيدي القادمة",
        )),
        none_next: g(t!(
            "Aucun rendez-vous prévu pour l'instant.",
            "Pas de rendez-vous pour le moment.",
            "No appointment planned for now.",
            "لا يوجد موعد مبرمج حاليًا.",
        )),
        done_heading: g(t!(
            "Rendez-vous honorés",
            "Les rendez-vous où je suis venu",
            "Appointments attended",
            "المواعيد التي حضرتها",
        )),
        none_done: g(t!(
            "Aucun pour l'instant.",
            "Pas encore.",
            "None yet.",
            "لا شيء حتى الآن.",
        )),
        end_heading: g(t!(
            "Fin de la mesure :",
            "Fin de la mesure :",
            "End of the measure:",
            "نهاية الإجراء:",
        )),
        missed_appointment_heading: g(t!(
            "Si je manque un rendez-vous",
            "Si je ne viens pas à un rendez-vous",
            "If I miss an appointment",
            "إذا تغيبت عن موعد",
        )),
    }
}

pub struct ObligationView {
    pub title: &'static str,
    pub what: &'static str,
    pub detail: Option<String>,
    pub proof: &'static str,
    pub if_missed: &'static str,
}

pub struct MeasureView {
    pub title: &'static str,
    pub what: &'static str,
    pub if_missed: &'static str,
    pub start: String,
    pub end: Option<String>,
    pub court: Option<String>,
    pub obligations: Vec<ObligationView>,
}

pub struct AppointmentView {
    pub when: String,
    pub what: String,
    pub place: String,
}

#[derive(Template)]
#[template(path = "measures/my_measure.html")]
pub struct MyMeasurePage {
    pub pctx: PersonCtx,
    pub ui: Ui,
    pub measures: Vec<MeasureView>,
    pub upcoming: Vec<AppointmentView>,
    pub honoured: Vec<AppointmentView>,
    /// End dates of the measures, written out.
    pub ends: Vec<String>,
    pub missed_appointment: &'static str,
}

/// "lundi 3 mai 2027 à 14h30", "3 May 2027, 14:30", in the organisation's time zone.
fn when_in(lang: Lang, unix: i64, tz_name: &str) -> String {
    let tz: chrono_tz::Tz = tz_name.parse().unwrap_or(chrono_tz::Europe::Paris);
    let t = DateTime::<Utc>::from_timestamp(unix, 0)
        .unwrap_or_default()
        .with_timezone(&tz);
    let date = date_in(lang, t.date_naive());
    match lang {
        Lang::Fr | Lang::Falc => format!("{date} à {}", domain::french_time(t.time())),
        Lang::En => format!("{date}, {}", t.format("%H:%M")),
        Lang::Ar => format!("{date}، {}", t.format("%H:%M")),
    }
}

/// The page for `person_id` in `lang`. Called by the person's space with the signed-in person's id only.
pub async fn render_my_measure(
    st: &AppState,
    person_id: &str,
    lang: Lang,
    now: i64,
) -> AppResult<Response> {
    page(my_measure_page(st, person_id, lang, now).await?)
}

/// The page's content, for [`render_my_measure`] and the agents' preview (which adds a notice).
pub async fn my_measure_page(
    st: &AppState,
    person_id: &str,
    lang: Lang,
    now: i64,
) -> AppResult<MyMeasurePage> {
    let mine = measures::for_person(&st.db, person_id, now).await?;
    let views: Vec<MeasureView> = mine
        .measures
        .iter()
        .map(|m| {
            let info = m.kind.info();
            MeasureView {
                title: info.title.get(lang),
                what: info.what.get(lang),
                if_missed: info.if_missed.get(lang),
                start: date_in(lang, m.start_date),
                end: m.end_date.map(|d| date_in(lang, d)),
                court: m.court.clone(),
                obligations: m
                    .obligations
                    .iter()
                    .map(|o| {
                        let i = o.kind.info();
                        ObligationView {
                            title: i.title.get(lang),
                            what: i.what.get(lang),
                            detail: o.detail.clone(),
                            proof: i.proof.get(lang),
                            if_missed: o.kind.if_missed().get(lang),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let appt = |a: &measures::TimelineAppointment| AppointmentView {
        when: when_in(lang, a.starts_at, &a.time_zone),
        what: a.type_label.clone(),
        place: format!("{} — {}", a.place_name, a.place_address),
    };
    let ends = views
        .iter()
        .filter_map(|v| Some(format!("{} — {}", v.title, v.end.clone()?)))
        .collect();
    Ok(MyMeasurePage {
        pctx: PersonCtx::new(
            TITLE.get(lang),
            lang,
            "/mon-espace/ma-mesure",
            st.config.is_demo(),
        ),
        ui: ui(lang),
        upcoming: mine.upcoming.iter().map(appt).collect(),
        honoured: mine.honoured.iter().map(appt).collect(),
        measures: views,
        ends,
        missed_appointment: MISSED_APPOINTMENT.get(lang),
    })
}
