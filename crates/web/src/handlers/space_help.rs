//! "Aide": public help pages of the person's space, in plain words, in French, easy-read French, English and Arabic
//! (`?langue=fr|falc|en|ar`, French by default). No sign-in: a person who cannot sign in needs them most.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use domain::measure::Texts;
use domain::Lang;
use serde::Deserialize;

use super::space_measure::{lang_param, PersonCtx};
use crate::error::{AppError, AppResult};
use crate::handlers::page;
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

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mon-espace/aide", get(index))
        .route("/mon-espace/aide/{page}", get(show))
}

struct HelpPage {
    slug: &'static str,
    title: Texts,
    paragraphs: &'static [Texts],
}

const HELP: Texts = t!("Aide", "Aide", "Help", "مساعدة");
const INTRO: Texts = t!(
    "Des réponses simples aux questions les plus fréquentes.",
    "Ici, vous trouvez des réponses à vos questions.",
    "Simple answers to the most common questions.",
    "إجابات بسيطة عن الأسئلة الأكثر شيوعًا.",
);
const BACK: Texts = t!(
    "Retour à l'aide",
    "Retour à l'aide",
    "Back to help",
    "العودة إلى المساعدة",
);
const QUESTIONS: Texts = t!("Les questions", "Les questions", "Questions", "الأسئلة",);
const SEE_ALSO: Texts = t!("Voir aussi", "Autres questions", "See also", "انظر أيضًا",);

static PAGES: &[HelpPage] = &[
    HelpPage {
        slug: "qui-me-suit",
        title: t!(
            "Le SPIP, mon conseiller et le juge",
            "Qui s'occupe de mon suivi ?",
            "The probation service, my counsellor and the judge",
            "المصلحة ومستشاري والقاضي",
        ),
        paragraphs: &[
            t!(
                "Le service pénitentiaire d'insertion et de probation (SPIP) suit les personnes condamnées qui exécutent leur peine hors de prison. Il vérifie que les obligations fixées par le juge sont respectées et aide à trouver un emploi, un logement ou des soins.",
                "Le service pénitentiaire d'insertion et de probation est un service de la justice. Il suit les personnes condamnées qui ne sont pas en prison. Il vérifie que vous respectez les règles du juge. Il vous aide aussi. Par exemple pour trouver un travail ou un logement.",
                "The probation service (service pénitentiaire d'insertion et de probation, SPIP) follows people serving their sentence outside prison. It checks that the obligations set by the judge are met and helps with finding work, housing or care.",
                "مصلحة السجون للإدماج والاختبار (SPIP) تتابع الأشخاص المحكوم عليهم الذين ينفذون عقوبتهم خارج السجن. تتحقق من احترام الالتزامات التي حددها القاضي، وتساعد في إيجاد عمل أو سكن أو علاج.",
            ),
            t!(
                "Votre conseiller pénitentiaire d'insertion et de probation (CPIP) est votre interlocuteur au SPIP. Il vous reçoit en rendez-vous, fait le point avec vous et rend compte au juge. Vous pouvez lui parler de vos difficultés : il est là pour vous aider.",
                "Votre conseiller travaille dans ce service. Il vous voit en rendez-vous. Il parle avec vous de votre situation. Il écrit au juge. Vous avez un problème ? Dites-le à votre conseiller. Il est là pour vous aider.",
                "Your probation counsellor (CPIP) is your contact at the probation service. They meet you, review your situation with you and report to the judge. You can tell them about your difficulties: they are there to help.",
                "مستشار السجون للإدماج والاختبار (CPIP) هو محاورك في المصلحة. يستقبلك في مواعيد، ويراجع وضعك معك، ويرفع تقارير إلى القاضي. يمكنك أن تحدثه عن صعوباتك: هو موجود لمساعدتك.",
            ),
            t!(
                "Le juge de l'application des peines (JAP) est le juge du tribunal qui décide comment votre peine s'exécute. Il peut modifier vos obligations, les alléger si tout se passe bien, ou les durcir si elles ne sont pas respectées.",
                "Le juge de l'application des peines est un juge du tribunal. Il décide comment se passe votre peine. Il peut changer vos règles. Si tout va bien, il peut les rendre plus faciles. Si vous ne respectez pas les règles, il peut vous punir plus fort.",
                "The sentence enforcement judge (juge de l'application des peines, JAP) is the court judge who decides how your sentence is carried out. They can change your obligations, ease them if all goes well, or make them stricter if they are not met.",
                "قاضي تطبيق العقوبات (JAP) هو قاضي المحكمة الذي يقرر كيفية تنفيذ عقوبتك. يمكنه تعديل التزاماتك، أو تخفيفها إذا سار كل شيء على ما يرام، أو تشديدها إذا لم تُحترم.",
            ),
        ],
    },
    HelpPage {
        slug: "rendez-vous-manque",
        title: t!(
            "Si je manque un rendez-vous",
            "Je ne peux pas venir à un rendez-vous",
            "If I miss an appointment",
            "إذا تغيبت عن موعد",
        ),
        paragraphs: &[
            t!(
                "Si vous ne pouvez pas venir, prévenez le plus tôt possible, avant le rendez-vous : appelez le numéro indiqué sur votre convocation.",
                "Vous ne pouvez pas venir ? Appelez avant le rendez-vous. Le numéro est sur votre convocation.",
                "If you cannot come, let them know as early as possible, before the appointment: call the number on your summons.",
                "إذا لم تستطع الحضور، أخبرهم في أقرب وقت ممكن وقبل الموعد: اتصل بالرقم المكتوب في استدعائك.",
            ),
            t!(
                "Apportez ensuite un justificatif de la raison de votre absence : certificat médical, attestation de votre employeur, convocation à un examen… Une absence justifiée est dite « excusée ».",
                "Ensuite, apportez un papier qui explique pourquoi. Par exemple un papier du médecin. Ou un papier de votre patron.",
                "Then bring proof of the reason for your absence: a medical certificate, a letter from your employer, an exam notice… A justified absence is recorded as “excused”.",
                "بعد ذلك، أحضر ما يثبت سبب غيابك: شهادة طبية، شهادة من المشغل، استدعاء لامتحان… الغياب المبرر يُسجل على أنه «غياب بعذر».",
            ),
            t!(
                "Une absence sans prévenir et sans raison est signalée au juge de l'application des peines. Il peut vous convoquer, durcir vos obligations ou décider d'une peine de prison. Ne restez pas sans nouvelles : même en retard, appelez.",
                "Vous ne venez pas et vous ne prévenez pas ? Le juge est prévenu. Le juge peut vous punir plus fort. Il peut vous envoyer en prison. Même si c'est tard, appelez votre conseiller.",
                "An absence without notice and without a reason is reported to the sentence enforcement judge, who may summon you, make your obligations stricter or order a prison sentence. Do not stay silent: even if it is late, call.",
                "يتم إبلاغ قاضي تطبيق العقوبات بكل غياب بدون إخطار وبدون سبب، ويمكنه أن يستدعيك أو يشدد التزاماتك أو يقرر عقوبة سجن. لا تبقَ صامتًا: اتصل حتى لو تأخرت.",
            ),
        ],
    },
    HelpPage {
        slug: "changer-un-rendez-vous",
        title: t!(
            "Changer un rendez-vous",
            "Changer la date d'un rendez-vous",
            "Changing an appointment",
            "تغيير موعد",
        ),
        paragraphs: &[
            t!(
                "Vous ne pouvez pas changer un rendez-vous seul : c'est le service qui vous a convoqué qui fixe une nouvelle date.",
                "Vous ne pouvez pas changer la date tout seul. C'est le service de la justice qui choisit une autre date.",
                "You cannot change an appointment yourself: the service that summoned you sets a new date.",
                "لا يمكنك تغيير الموعد بنفسك: المصلحة التي استدعتك هي التي تحدد تاريخًا جديدًا.",
            ),
            t!(
                "Appelez le numéro indiqué sur votre convocation, ou demandez un changement depuis votre espace, en donnant la raison. Faites-le le plus tôt possible.",
                "Appelez le numéro écrit sur votre convocation. Ou faites la demande dans votre espace. Donnez la raison. Faites-le vite.",
                "Call the number on your summons, or ask for a change from your space, giving the reason. Do it as early as possible.",
                "اتصل بالرقم المكتوب في استدعائك، أو اطلب التغيير من فضائك مع ذكر السبب. افعل ذلك في أقرب وقت ممكن.",
            ),
            t!(
                "Vous recevrez un SMS ou un e-mail avec la nouvelle date. Tant que vous n'avez pas de réponse, le rendez-vous prévu reste valable.",
                "Vous recevez ensuite un message avec la nouvelle date. Pas de message ? Alors le rendez-vous ne change pas. Vous devez venir.",
                "You will receive a text message or an e-mail with the new date. Until you get an answer, the planned appointment still stands.",
                "ستتلقى رسالة نصية أو بريدًا إلكترونيًا بالتاريخ الجديد. ما دمت لم تتلق ردًا، يبقى الموعد المحدد ساريًا.",
            ),
        ],
    },
    HelpPage {
        slug: "mes-donnees",
        title: t!(
            "Qui voit mes données ?",
            "Qui voit mes informations ?",
            "Who sees my data?",
            "من يرى بياناتي؟",
        ),
        paragraphs: &[
            t!(
                "Vos données (identité, téléphone, adresse, rendez-vous, mesure) servent uniquement à organiser votre suivi par la justice et à vous envoyer des rappels. Le responsable est le ministère de la Justice.",
                "Nous gardons des informations sur vous. Par exemple votre nom, votre téléphone et vos rendez-vous. Elles servent seulement à votre suivi par la justice. Elles servent aussi à vous envoyer des rappels.",
                "Your data (identity, phone, address, appointments, measure) are used only to organise your follow-up by the justice system and to send you reminders. The Ministry of Justice is responsible for them.",
                "تُستخدم بياناتك (الهوية، الهاتف، العنوان، المواعيد، الإجراء) فقط لتنظيم متابعتك من طرف العدالة وإرسال التذكيرات إليك. وزارة العدل هي المسؤولة عنها.",
            ),
            t!(
                "Seuls les agents qui vous suivent les voient : votre conseiller et le SPIP, le juge de l'application des peines et son greffe, le tribunal qui a prononcé la mesure. Chaque consultation de votre dossier est enregistrée.",
                "Seules les personnes qui s'occupent de votre suivi voient ces informations. Par exemple votre conseiller et le juge. Nous notons chaque fois que quelqu'un les regarde.",
                "Only the staff who follow you can see them: your counsellor and the probation service, the sentence enforcement judge and their court office, the court that ordered the measure. Every access to your file is recorded.",
                "لا يطلع عليها إلا الموظفون الذين يتابعونك: مستشارك ومصلحة الإدماج والاختبار، وقاضي تطبيق العقوبات وكتابة ضبطه، والمحكمة التي قررت الإجراء. يتم تسجيل كل اطلاع على ملفك.",
            ),
            t!(
                "Votre dossier est archivé après 12 mois sans activité, puis supprimé 6 mois plus tard. Vous pouvez demander à voir ou à corriger vos données auprès du délégué à la protection des données du ministère de la Justice. Vous pouvez aussi arrêter les SMS à tout moment avec le lien reçu.",
                "Votre dossier est effacé quand votre suivi est fini depuis longtemps. Vous pouvez demander à voir vos informations. Vous pouvez demander à les corriger. Vous ne voulez plus de messages sur votre téléphone ? Cliquez sur le lien reçu dans le message.",
                "Your file is archived after 12 months without activity, then deleted 6 months later. You can ask the Ministry of Justice's data protection officer to see or correct your data. You can also stop text messages at any time with the link you received.",
                "يُؤرشف ملفك بعد 12 شهرًا دون نشاط، ثم يُحذف بعد 6 أشهر. يمكنك طلب الاطلاع على بياناتك أو تصحيحها لدى مندوب حماية البيانات في وزارة العدل. يمكنك أيضًا إيقاف الرسائل النصية في أي وقت بالرابط الذي وصلك.",
            ),
        ],
    },
];

pub struct HelpLink {
    pub href: String,
    pub title: &'static str,
}

#[derive(Template)]
#[template(path = "measures/help.html")]
pub struct HelpTemplate {
    pub pctx: PersonCtx,
    pub intro: Option<&'static str>,
    pub paragraphs: Vec<&'static str>,
    pub links_title: &'static str,
    pub links: Vec<HelpLink>,
    pub back: Option<HelpLink>,
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    #[serde(default)]
    langue: Option<String>,
}

fn links(lang: Lang, except: Option<&str>) -> Vec<HelpLink> {
    PAGES
        .iter()
        .filter(|p| Some(p.slug) != except)
        .map(|p| HelpLink {
            href: format!("/mon-espace/aide/{}?langue={}", p.slug, lang.url_code()),
            title: p.title.get(lang),
        })
        .collect()
}

pub async fn index(State(st): State<AppState>, Query(q): Query<LangQuery>) -> AppResult<Response> {
    let lang = lang_param(q.langue.as_deref());
    page(HelpTemplate {
        pctx: PersonCtx::new(
            HELP.get(lang),
            lang,
            "/mon-espace/aide",
            st.config.is_demo(),
        ),
        intro: Some(INTRO.get(lang)),
        paragraphs: vec![],
        links_title: QUESTIONS.get(lang),
        links: links(lang, None),
        back: None,
    })
}

pub async fn show(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
) -> AppResult<Response> {
    let lang = lang_param(q.langue.as_deref());
    let p = PAGES
        .iter()
        .find(|p| p.slug == slug)
        .ok_or(AppError::NotFound)?;
    page(HelpTemplate {
        pctx: PersonCtx::new(
            p.title.get(lang),
            lang,
            &format!("/mon-espace/aide/{}", p.slug),
            st.config.is_demo(),
        ),
        intro: None,
        paragraphs: p.paragraphs.iter().map(|t| t.get(lang)).collect(),
        links_title: SEE_ALSO.get(lang),
        links: links(lang, Some(p.slug)),
        back: Some(HelpLink {
            href: format!("/mon-espace/aide?langue={}", lang.url_code()),
            title: BACK.get(lang),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_help_page_exists_in_four_languages_and_easy_read_stays_short_without_abbreviations() {
        let mut texts = vec![&HELP, &INTRO, &BACK, &QUESTIONS, &SEE_ALSO];
        for p in PAGES {
            texts.push(&p.title);
            texts.extend(p.paragraphs.iter());
        }
        for t in texts {
            for lang in Lang::ALL {
                assert!(!t.get(lang).trim().is_empty(), "{t:?}");
            }
            assert!(
                t.ar.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
                "{}",
                t.ar
            );
            for s in domain::measure::sentences(t.falc) {
                assert!(
                    s.split_whitespace().count() <= 15,
                    "long easy-read sentence: {s}"
                );
                for w in s.split(|c: char| !c.is_alphanumeric()) {
                    assert!(
                        w.chars().filter(|c| c.is_uppercase()).count() < 2,
                        "abbreviation: {w}"
                    );
                }
            }
        }
    }
}
