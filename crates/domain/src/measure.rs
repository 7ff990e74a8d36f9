//! Measures (the sentence or court order a PPSMJ is following) and their obligations, with the plain-language
//! texts the person reads in their own space: what it is, what to bring as proof, what happens if it is not
//! respected. Four languages, the codes of the message templates: French, easy-read French ("facile à lire et à
//! comprendre", FALC: one idea per sentence, common words, no abbreviations, short sentences), English, Arabic.
//!
//! The lists follow the measures a SPIP follows in the community ("milieu ouvert") and the obligations most often
//! ordered (code pénal, art. 132-44 and 132-45). The texts are general: the person's own decision may differ, and
//! every page that shows them says to ask the counsellor.

use chrono::{Datelike, NaiveDate};

/// Language of the person's space. Codes are those of the message templates (`store::templates::LANGUAGES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    Fr,
    /// Easy-read French.
    Falc,
    En,
    Ar,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::Fr, Lang::Falc, Lang::En, Lang::Ar];

    /// Stored code (message templates, PPSMJ record).
    pub const fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::Falc => "fr_falc",
            Lang::En => "en",
            Lang::Ar => "ar",
        }
    }

    /// Short code used in URLs (`?langue=`).
    pub const fn url_code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::Falc => "falc",
            Lang::En => "en",
            Lang::Ar => "ar",
        }
    }

    /// Reads a stored or URL code; anything else is `None` (callers fall back to French).
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "falc" | "fr_falc" | "fr-falc" => Some(Lang::Falc),
            "en" => Some(Lang::En),
            "ar" => Some(Lang::Ar),
            _ => None,
        }
    }

    /// Value of the HTML `lang` attribute.
    pub const fn html_lang(self) -> &'static str {
        match self {
            Lang::Fr | Lang::Falc => "fr",
            Lang::En => "en",
            Lang::Ar => "ar",
        }
    }

    /// Value of the HTML `dir` attribute.
    pub const fn dir(self) -> &'static str {
        match self {
            Lang::Ar => "rtl",
            _ => "ltr",
        }
    }

    /// Name of the language written in that language (language switchers).
    pub const fn own_name(self) -> &'static str {
        match self {
            Lang::Fr => "Français",
            Lang::Falc => "Facile à lire",
            Lang::En => "English",
            Lang::Ar => "العربية",
        }
    }
}

/// One text in the four languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Texts {
    pub fr: &'static str,
    pub falc: &'static str,
    pub en: &'static str,
    pub ar: &'static str,
}

impl Texts {
    pub const fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Fr => self.fr,
            Lang::Falc => self.falc,
            Lang::En => self.en,
            Lang::Ar => self.ar,
        }
    }
}

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

/// What the person reads about a kind of measure.
#[derive(Debug)]
pub struct MeasureInfo {
    pub title: Texts,
    pub what: Texts,
    pub if_missed: Texts,
}

/// What the person reads about an obligation.
#[derive(Debug)]
pub struct ObligationInfo {
    pub title: Texts,
    pub what: Texts,
    pub proof: Texts,
}

macro_rules! coded_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $code:literal, $label:literal;)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// Stored code.
            pub const fn code(self) -> &'static str { match self { $($name::$variant => $code),* } }
            /// Label for agents (French, the usual legal wording).
            pub const fn label(self) -> &'static str { match self { $($name::$variant => $label),* } }
            pub fn parse(code: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|k| k.code() == code.trim())
            }
        }
    };
}

coded_enum! {
    /// A measure followed in the community.
    MeasureKind {
        SursisProbatoire => "sursis_probatoire", "Sursis probatoire";
        Tig => "tig", "Travail d'intérêt général (TIG)";
        SursisTig => "sursis_tig", "Sursis avec obligation d'accomplir un travail d'intérêt général";
        Ddse => "ddse", "Détention à domicile sous surveillance électronique (DDSE)";
        LiberationConditionnelle => "liberation_conditionnelle", "Libération conditionnelle";
        SuiviSocioJudiciaire => "suivi_socio_judiciaire", "Suivi socio-judiciaire";
        ControleJudiciaire => "controle_judiciaire", "Contrôle judiciaire";
        SemiLiberte => "semi_liberte", "Semi-liberté";
        PlacementExterieur => "placement_exterieur", "Placement à l'extérieur";
    }
}

coded_enum! {
    /// An obligation or prohibition attached to a measure.
    ObligationKind {
        Activite => "activite", "Exercer une activité professionnelle ou suivre une formation";
        Soins => "soins", "Se soumettre à des soins";
        Indemniser => "indemniser", "Indemniser les victimes";
        PasDeContact => "pas_de_contact", "Ne pas entrer en contact avec une personne";
        PasDeLieu => "pas_de_lieu", "Ne pas se rendre dans un lieu";
        Residence => "residence", "Résider à une adresse déterminée";
        Convocations => "convocations", "Répondre aux convocations";
        Ressources => "ressources", "Justifier de ses ressources";
        Stage => "stage", "Accomplir un stage";
    }
}

impl MeasureKind {
    pub fn info(self) -> &'static MeasureInfo {
        match self {
            MeasureKind::SursisProbatoire => &SURSIS_PROBATOIRE,
            MeasureKind::Tig => &TIG,
            MeasureKind::SursisTig => &SURSIS_TIG,
            MeasureKind::Ddse => &DDSE,
            MeasureKind::LiberationConditionnelle => &LIBERATION_CONDITIONNELLE,
            MeasureKind::SuiviSocioJudiciaire => &SUIVI_SOCIO_JUDICIAIRE,
            MeasureKind::ControleJudiciaire => &CONTROLE_JUDICIAIRE,
            MeasureKind::SemiLiberte => &SEMI_LIBERTE,
            MeasureKind::PlacementExterieur => &PLACEMENT_EXTERIEUR,
        }
    }
}

impl ObligationKind {
    pub fn info(self) -> &'static ObligationInfo {
        match self {
            ObligationKind::Activite => &ACTIVITE,
            ObligationKind::Soins => &SOINS,
            ObligationKind::Indemniser => &INDEMNISER,
            ObligationKind::PasDeContact => &PAS_DE_CONTACT,
            ObligationKind::PasDeLieu => &PAS_DE_LIEU,
            ObligationKind::Residence => &RESIDENCE,
            ObligationKind::Convocations => &CONVOCATIONS,
            ObligationKind::Ressources => &RESSOURCES,
            ObligationKind::Stage => &STAGE,
        }
    }

    /// What happens when an obligation is not respected (the same for all: the judge decides).
    pub fn if_missed(self) -> &'static Texts {
        &OBLIGATION_MISSED
    }
}

/// What happens when an appointment is missed, whatever the measure.
pub const MISSED_APPOINTMENT: Texts = t!(
    "Si vous ne pouvez pas venir à un rendez-vous, prévenez votre conseiller avant, et apportez un justificatif (certificat médical, attestation de l'employeur…). Une absence sans raison est signalée au juge, qui peut durcir la mesure ou décider d'une peine de prison.",
    "Vous ne pouvez pas venir à un rendez-vous ? Appelez votre conseiller avant le rendez-vous. Donnez la raison. Apportez un papier qui explique la raison. Par exemple un papier du médecin. Si vous ne venez pas sans raison, le juge est prévenu. Le juge peut vous punir plus fort.",
    "If you cannot attend an appointment, tell your counsellor beforehand and bring proof of the reason (medical certificate, letter from your employer…). An unexplained absence is reported to the judge, who may make the measure stricter or order a prison sentence.",
    "إذا لم تستطع حضور موعد، أخبر مستشارك مسبقًا وأحضر ما يثبت السبب (شهادة طبية، شهادة من المشغل…). يتم إبلاغ القاضي بكل غياب بدون سبب، ويمكنه أن يشدد الإجراء أو يقرر عقوبة سجن.",
);

const OBLIGATION_MISSED: Texts = t!(
    "Si vous ne respectez pas cette obligation, le juge peut durcir votre mesure ou la retirer. Si vous avez une difficulté, dites-le vite à votre conseiller : il peut vous aider.",
    "Vous devez respecter cette règle. Sinon, le juge peut vous punir plus fort. Vous avez un problème ? Dites-le vite à votre conseiller. Il peut vous aider.",
    "If you do not meet this obligation, the judge may make your measure stricter or withdraw it. If you have a difficulty, tell your counsellor quickly: they can help.",
    "إذا لم تحترم هذا الالتزام، يمكن للقاضي أن يشدد الإجراء أو يلغيه. إذا واجهت صعوبة، أخبر مستشارك بسرعة: يمكنه مساعدتك.",
);

static SURSIS_PROBATOIRE: MeasureInfo = MeasureInfo {
    title: t!(
        "Sursis probatoire",
        "Sursis probatoire : une peine avec des règles à respecter",
        "Suspended sentence with probation",
        "وقف التنفيذ مع الوضع تحت الاختبار",
    ),
    what: t!(
        "Le tribunal vous a condamné à une peine de prison, mais vous n'allez pas en prison tant que vous respectez des règles pendant une durée fixée (le délai de probation). Le service pénitentiaire d'insertion et de probation (SPIP) vous accompagne et vérifie que vous respectez ces règles.",
        "Le tribunal vous a donné une peine de prison. Mais vous restez chez vous. Vous devez respecter des règles. Vous devez les respecter jusqu'à la date de fin. Un conseiller vous aide. Il vérifie que vous respectez les règles.",
        "The court gave you a prison sentence, but you will not go to prison as long as you follow certain rules for a set period (the probation period). The probation service (SPIP) supports you and checks that you follow these rules.",
        "حكمت عليك المحكمة بعقوبة سجن، لكنك لن تدخل السجن ما دمت تحترم قواعد معينة خلال مدة محددة (مدة الاختبار). تقوم مصلحة السجون للإدماج والاختبار بمرافقتك والتحقق من احترامك لهذه القواعد.",
    ),
    if_missed: t!(
        "Si vous ne venez pas aux rendez-vous ou si vous ne respectez pas vos obligations, le juge de l'application des peines peut vous convoquer et décider que vous devez faire tout ou partie de la peine de prison.",
        "Vous devez venir à tous vos rendez-vous. Si vous ne venez pas, le juge peut vous convoquer. Le juge peut vous envoyer en prison.",
        "If you miss appointments or do not meet your obligations, the sentence enforcement judge can summon you and decide that you must serve all or part of the prison sentence.",
        "إذا لم تحضر المواعيد أو لم تحترم التزاماتك، يمكن لقاضي تطبيق العقوبات أن يستدعيك ويقرر أن تقضي كل عقوبة السجن أو جزءًا منها.",
    ),
};

static TIG: MeasureInfo = MeasureInfo {
    title: t!(
        "Travail d'intérêt général",
        "Travail d'intérêt général : un travail utile, sans salaire",
        "Community service",
        "العمل للمنفعة العامة",
    ),
    what: t!(
        "Vous devez faire un travail non payé au service de la collectivité (mairie, association, hôpital…), pendant un nombre d'heures fixé par le tribunal et dans un délai donné. Le SPIP vous propose un poste et vérifie que les heures sont faites.",
        "Vous devez faire un travail. Ce travail n'est pas payé. Il est utile pour tout le monde. Par exemple dans une mairie ou une association. Le tribunal a fixé le nombre d'heures. Vous devez finir avant la date de fin.",
        "You must do unpaid work for the community (town hall, charity, hospital…), for a number of hours set by the court and within a set time. The probation service offers you a placement and checks that the hours are done.",
        "يجب عليك القيام بعمل غير مأجور لصالح المجتمع (بلدية، جمعية، مستشفى…) لعدد من الساعات حددته المحكمة وخلال مدة محددة. تقترح عليك مصلحة الإدماج والاختبار مكان العمل وتتحقق من إنجاز الساعات.",
    ),
    if_missed: t!(
        "Si vous ne faites pas les heures ou si vous ne venez pas aux rendez-vous, le juge peut décider d'appliquer la peine prévue par le tribunal (prison ou amende).",
        "Vous devez faire toutes les heures. Si vous ne les faites pas, le juge peut vous punir plus fort. Il peut vous envoyer en prison. Il peut aussi vous demander de payer une amende.",
        "If you do not complete the hours or miss appointments, the judge may apply the penalty set by the court (prison or a fine).",
        "إذا لم تنجز الساعات أو لم تحضر المواعيد، يمكن للقاضي أن يطبق العقوبة التي حددتها المحكمة (السجن أو الغرامة).",
    ),
};

static SURSIS_TIG: MeasureInfo = MeasureInfo {
    title: t!(
        "Sursis avec travail d'intérêt général",
        "Sursis avec travail d'intérêt général",
        "Suspended sentence with community service",
        "وقف التنفيذ مع إلزامية العمل للمنفعة العامة",
    ),
    what: t!(
        "Votre peine de prison est suspendue à condition que vous fassiez un travail d'intérêt général, non payé, dans le délai fixé par le tribunal.",
        "Le tribunal vous a donné une peine de prison. Vous n'allez pas en prison si vous faites un travail. Ce travail n'est pas payé. Vous devez le finir avant la date de fin.",
        "Your prison sentence is suspended on condition that you do unpaid community service within the time set by the court.",
        "عقوبة السجن موقوفة بشرط أن تقوم بعمل غير مأجور للمنفعة العامة خلال المدة التي حددتها المحكمة.",
    ),
    if_missed: t!(
        "Si le travail n'est pas fait dans le délai, le juge peut décider que vous devez faire la peine de prison.",
        "Vous devez finir le travail avant la date de fin. Sinon, le juge peut vous envoyer en prison.",
        "If the work is not done in time, the judge may decide that you must serve the prison sentence.",
        "إذا لم يُنجز العمل في الأجل المحدد، يمكن للقاضي أن يقرر تنفيذ عقوبة السجن.",
    ),
};

static DDSE: MeasureInfo = MeasureInfo {
    title: t!(
        "Détention à domicile sous surveillance électronique",
        "Bracelet électronique à la maison",
        "Home detention with an electronic tag",
        "الاحتجاز في المنزل تحت المراقبة الإلكترونية",
    ),
    what: t!(
        "Vous faites votre peine chez vous, avec un bracelet électronique. Vous devez être à votre domicile aux heures fixées par le juge. En dehors de ces heures, vous pouvez sortir pour travailler, vous former ou vous soigner.",
        "Vous faites votre peine chez vous. Vous portez un bracelet électronique. Le bracelet montre si vous êtes chez vous. Vous devez être chez vous aux heures données par le juge. Vous pouvez sortir aux autres heures. Par exemple pour travailler ou pour vous soigner.",
        "You serve your sentence at home, wearing an electronic tag. You must be at home at the times set by the judge. Outside those times, you may go out to work, train or receive care.",
        "تقضي عقوبتك في منزلك مع سوار إلكتروني. يجب أن تكون في منزلك في الأوقات التي حددها القاضي. خارج هذه الأوقات يمكنك الخروج للعمل أو التكوين أو العلاج.",
    ),
    if_missed: t!(
        "Si vous n'êtes pas chez vous aux heures fixées, si vous abîmez le bracelet ou si vous ne venez pas aux rendez-vous, le juge peut retirer la mesure : vous iriez alors en prison.",
        "Vous devez être chez vous aux bonnes heures. Vous ne devez pas abîmer le bracelet. Sinon, le juge peut vous envoyer en prison.",
        "If you are not at home at the set times, damage the tag or miss appointments, the judge may withdraw the measure and you would then go to prison.",
        "إذا لم تكن في منزلك في الأوقات المحددة، أو أتلفت السوار، أو لم تحضر المواعيد، يمكن للقاضي أن يلغي هذا الإجراء وعندها تدخل السجن.",
    ),
};

static LIBERATION_CONDITIONNELLE: MeasureInfo = MeasureInfo {
    title: t!(
        "Libération conditionnelle",
        "Libération conditionnelle : sortir de prison plus tôt",
        "Parole (conditional release)",
        "الإفراج المشروط",
    ),
    what: t!(
        "Vous êtes sorti de prison avant la fin de votre peine. En échange, vous devez respecter des obligations jusqu'à la date de fin fixée par le juge.",
        "Vous êtes sorti de prison plus tôt. En échange, vous devez respecter des règles. Vous devez les respecter jusqu'à la date de fin.",
        "You left prison before the end of your sentence. In return, you must meet obligations until the end date set by the judge.",
        "خرجت من السجن قبل نهاية عقوبتك. في المقابل، يجب أن تحترم التزامات حتى تاريخ النهاية الذي حدده القاضي.",
    ),
    if_missed: t!(
        "Si vous ne respectez pas vos obligations ou vos rendez-vous, le juge peut annuler la libération conditionnelle : vous retourneriez alors en prison.",
        "Si vous ne respectez pas les règles, le juge peut annuler votre sortie. Vous retournez alors en prison.",
        "If you do not meet your obligations or attend your appointments, the judge may revoke your parole and you would go back to prison.",
        "إذا لم تحترم التزاماتك أو مواعيدك، يمكن للقاضي أن يلغي الإفراج المشروط وعندها تعود إلى السجن.",
    ),
};

static SUIVI_SOCIO_JUDICIAIRE: MeasureInfo = MeasureInfo {
    title: t!(
        "Suivi socio-judiciaire",
        "Suivi socio-judiciaire : un suivi après la peine",
        "Socio-judicial supervision",
        "المتابعة الاجتماعية القضائية",
    ),
    what: t!(
        "Après votre peine, vous êtes suivi pendant une durée fixée par le tribunal. Ce suivi peut comprendre des soins ordonnés par le juge et des interdictions. Il a pour but d'éviter une nouvelle infraction.",
        "Votre peine est finie, mais vous êtes encore suivi. Ce suivi dure jusqu'à la date de fin. Vous devez peut-être voir un médecin. Vous avez peut-être des interdictions.",
        "After your sentence, you are supervised for a period set by the court. This may include treatment ordered by the judge and prohibitions. Its aim is to prevent a new offence.",
        "بعد انتهاء عقوبتك تخضع لمتابعة لمدة حددتها المحكمة. قد تشمل هذه المتابعة علاجًا يأمر به القاضي ومحظورات. هدفها تجنب ارتكاب مخالفة جديدة.",
    ),
    if_missed: t!(
        "Si vous ne respectez pas ce suivi, le juge peut vous faire faire une peine de prison, prévue à l'avance par le tribunal.",
        "Si vous ne respectez pas ce suivi, le juge peut vous envoyer en prison.",
        "If you do not comply with this supervision, the judge may make you serve a prison term set in advance by the court.",
        "إذا لم تحترم هذه المتابعة، يمكن للقاضي أن يفرض عليك عقوبة سجن حددتها المحكمة مسبقًا.",
    ),
};

static CONTROLE_JUDICIAIRE: MeasureInfo = MeasureInfo {
    title: t!(
        "Contrôle judiciaire",
        "Contrôle judiciaire : en attendant le procès",
        "Judicial supervision before trial",
        "الرقابة القضائية",
    ),
    what: t!(
        "Vous n'avez pas encore été jugé. En attendant votre procès, vous restez libre mais vous devez respecter les obligations fixées par le juge.",
        "Vous n'êtes pas encore jugé. Vous restez libre jusqu'au procès. Mais vous devez respecter des règles. Le juge a choisi ces règles.",
        "You have not been tried yet. Until your trial, you remain free but must meet the obligations set by the judge.",
        "لم تتم محاكمتك بعد. في انتظار المحاكمة تبقى حرًا، لكن يجب أن تحترم الالتزامات التي حددها القاضي.",
    ),
    if_missed: t!(
        "Si vous ne respectez pas le contrôle judiciaire, le juge peut vous placer en détention provisoire, c'est-à-dire en prison, jusqu'au procès.",
        "Si vous ne respectez pas les règles, le juge peut vous mettre en prison. Vous restez alors en prison jusqu'au procès.",
        "If you do not comply, the judge may place you in pre-trial detention (prison) until your trial.",
        "إذا لم تحترم الرقابة القضائية، يمكن للقاضي أن يضعك في الحبس الاحتياطي (السجن) حتى المحاكمة.",
    ),
};

static SEMI_LIBERTE: MeasureInfo = MeasureInfo {
    title: t!(
        "Semi-liberté",
        "Semi-liberté : dormir au centre, sortir la journée",
        "Day release",
        "شبه الحرية",
    ),
    what: t!(
        "Vous faites votre peine en passant les nuits, et parfois les week-ends, dans un centre de semi-liberté. La journée, vous sortez pour travailler, vous former, vous soigner ou chercher un emploi.",
        "Vous dormez dans un centre. Ce centre dépend de la prison. La journée, vous pouvez sortir. Par exemple pour travailler. Vous devez rentrer au centre à l'heure.",
        "You serve your sentence by spending nights, and sometimes weekends, in a day-release centre. During the day, you go out to work, train, receive care or look for a job.",
        "تقضي عقوبتك بقضاء الليالي، وأحيانًا عطل نهاية الأسبوع، في مركز شبه الحرية. في النهار تخرج للعمل أو التكوين أو العلاج أو البحث عن عمل.",
    ),
    if_missed: t!(
        "Si vous rentrez en retard, si vous ne rentrez pas ou si vous ne respectez pas vos obligations, le juge peut mettre fin à la semi-liberté : vous seriez alors en prison à plein temps.",
        "Vous devez rentrer au centre à l'heure. Sinon, le juge peut vous mettre en prison tout le temps.",
        "If you come back late, do not come back, or do not meet your obligations, the judge may end the day release and you would then be in prison full time.",
        "إذا تأخرت في العودة أو لم تعد أو لم تحترم التزاماتك، يمكن للقاضي أن ينهي شبه الحرية وعندها تقضي عقوبتك كاملة في السجن.",
    ),
};

static PLACEMENT_EXTERIEUR: MeasureInfo = MeasureInfo {
    title: t!(
        "Placement à l'extérieur",
        "Placement à l'extérieur : la peine dans une association",
        "External placement",
        "الإيداع في الخارج",
    ),
    what: t!(
        "Vous faites votre peine hors de la prison, dans une structure d'accueil (association, chantier d'insertion…) qui vous loge ou vous encadre, avec un programme d'activités.",
        "Vous faites votre peine hors de la prison. Vous êtes dans une association. L'association vous aide. Vous avez des activités à faire.",
        "You serve your sentence outside prison, in a host organisation (charity, work-integration project…) that houses or supervises you, with a programme of activities.",
        "تقضي عقوبتك خارج السجن، في هيكل استقبال (جمعية، ورشة إدماج…) يؤويك أو يؤطرك، مع برنامج أنشطة.",
    ),
    if_missed: t!(
        "Si vous ne respectez pas les règles de la structure ou vos obligations, le juge peut mettre fin au placement : vous retourneriez alors en prison.",
        "Vous devez respecter les règles de l'association. Sinon, le juge peut vous renvoyer en prison.",
        "If you do not follow the host's rules or your obligations, the judge may end the placement and you would go back to prison.",
        "إذا لم تحترم قواعد الهيكل أو التزاماتك، يمكن للقاضي أن ينهي الإيداع وعندها تعود إلى السجن.",
    ),
};

static ACTIVITE: ObligationInfo = ObligationInfo {
    title: t!(
        "Travailler ou suivre une formation",
        "Travailler ou apprendre un métier",
        "Work or take a training course",
        "العمل أو متابعة تكوين",
    ),
    what: t!(
        "Vous devez avoir un emploi, suivre une formation ou faire des démarches pour en trouver un.",
        "Vous devez travailler. Ou vous devez apprendre un métier. Ou vous devez chercher un travail.",
        "You must have a job, follow a training course or take steps to find one.",
        "يجب أن يكون لديك عمل، أو أن تتابع تكوينًا، أو أن تقوم بخطوات للحصول على عمل.",
    ),
    proof: t!(
        "Bulletins de salaire, contrat de travail, attestation de l'employeur, attestation de formation ou d'inscription à France Travail.",
        "Apportez vos fiches de paie. Ou votre contrat de travail. Ou un papier de votre école. Ou un papier de France Travail.",
        "Payslips, employment contract, a letter from your employer, a training certificate or proof of registration with France Travail (the job centre).",
        "كشوف الأجور، عقد العمل، شهادة من المشغل، شهادة تكوين أو إثبات التسجيل في فرانس ترافاي (مصلحة التشغيل).",
    ),
};

static SOINS: ObligationInfo = ObligationInfo {
    title: t!(
        "Se soigner",
        "Se soigner",
        "Receive treatment",
        "الخضوع للعلاج",
    ),
    what: t!(
        "Vous devez consulter un médecin ou un psychologue, ou suivre un traitement, par exemple pour une addiction.",
        "Vous devez voir un médecin. Ou un psychologue. Vous devez y aller souvent.",
        "You must see a doctor or a psychologist, or follow a treatment, for example for an addiction.",
        "يجب أن تستشير طبيبًا أو أخصائيًا نفسيًا، أو أن تتابع علاجًا، مثلًا بسبب إدمان.",
    ),
    proof: t!(
        "Attestations de rendez-vous ou de suivi signées par le médecin, le psychologue ou le centre de soins. Elles ne disent pas ce dont vous parlez.",
        "Demandez un papier au médecin à chaque rendez-vous. Ce papier dit que vous êtes venu. Il ne dit pas ce que vous avez dit.",
        "Certificates of attendance signed by the doctor, psychologist or care centre. They do not say what you talk about.",
        "شهادات حضور أو متابعة موقعة من الطبيب أو الأخصائي النفسي أو مركز العلاج. لا تذكر هذه الشهادات ما تتحدث عنه.",
    ),
};

static INDEMNISER: ObligationInfo = ObligationInfo {
    title: t!(
        "Indemniser les victimes",
        "Payer les victimes",
        "Compensate the victims",
        "تعويض الضحايا",
    ),
    what: t!(
        "Vous devez payer aux victimes les sommes fixées par le tribunal, en une fois ou petit à petit selon vos moyens.",
        "Vous devez donner de l'argent aux victimes. Le tribunal a fixé la somme. Vous pouvez payer un peu chaque mois.",
        "You must pay the victims the amounts set by the court, all at once or little by little according to your means.",
        "يجب أن تدفع للضحايا المبالغ التي حددتها المحكمة، دفعة واحدة أو على أقساط حسب إمكانياتك.",
    ),
    proof: t!(
        "Reçus de paiement, relevés de virement, ou courrier du commissaire de justice ou du service d'aide au recouvrement des victimes.",
        "Apportez les reçus de vos paiements. Ou les relevés de votre banque.",
        "Payment receipts, bank transfer statements, or letters from the bailiff or the victims' recovery service.",
        "إيصالات الدفع، كشوف التحويلات البنكية، أو رسائل المحضر القضائي أو مصلحة مساعدة الضحايا على الاسترداد.",
    ),
};

static PAS_DE_CONTACT: ObligationInfo = ObligationInfo {
    title: t!(
        "Ne pas contacter une personne",
        "Ne pas parler à une personne",
        "Do not contact a person",
        "عدم الاتصال بشخص",
    ),
    what: t!(
        "Vous ne devez pas entrer en contact avec la ou les personnes désignées par le juge : ni rencontre, ni appel, ni message, ni réseaux sociaux, même par quelqu'un d'autre.",
        "Le juge a nommé une personne. Vous ne devez pas la voir. Vous ne devez pas l'appeler. Vous ne devez pas lui écrire. Même sur internet.",
        "You must not contact the person or people named by the judge: no meeting, call, message or social media, not even through someone else.",
        "يجب ألا تتصل بالشخص أو الأشخاص الذين حددهم القاضي: لا لقاء ولا مكالمة ولا رسالة ولا شبكات تواصل اجتماعي، ولا حتى عن طريق شخص آخر.",
    ),
    proof: t!(
        "Rien à apporter. Si cette personne vous contacte, ne répondez pas et prévenez votre conseiller.",
        "Vous n'avez rien à apporter. Cette personne vous appelle ? Ne répondez pas. Dites-le à votre conseiller.",
        "Nothing to bring. If this person contacts you, do not answer and tell your counsellor.",
        "لا شيء تحضره. إذا اتصل بك هذا الشخص، لا تجب وأخبر مستشارك.",
    ),
};

static PAS_DE_LIEU: ObligationInfo = ObligationInfo {
    title: t!(
        "Ne pas aller dans un lieu",
        "Ne pas aller dans un endroit",
        "Do not go to a place",
        "عدم الذهاب إلى مكان",
    ),
    what: t!(
        "Vous ne devez pas vous rendre dans le ou les lieux désignés par le juge : une ville, un quartier, un type d'établissement…",
        "Le juge a nommé un endroit. Vous ne devez pas y aller. Par exemple une ville ou un quartier.",
        "You must not go to the place or places named by the judge: a town, a district, a type of venue…",
        "يجب ألا تذهب إلى المكان أو الأماكن التي حددها القاضي: مدينة، حي، نوع من المحلات…",
    ),
    proof: t!(
        "Rien à apporter. Si vous devez passer près de ce lieu, pour votre travail ou vos soins, parlez-en d'abord à votre conseiller.",
        "Vous n'avez rien à apporter. Vous devez passer près de cet endroit ? Parlez-en d'abord à votre conseiller.",
        "Nothing to bring. If you need to go near this place, for work or care, talk to your counsellor first.",
        "لا شيء تحضره. إذا كان عليك المرور قرب هذا المكان للعمل أو العلاج، تحدث أولًا مع مستشارك.",
    ),
};

static RESIDENCE: ObligationInfo = ObligationInfo {
    title: t!(
        "Habiter à une adresse",
        "Habiter à une adresse",
        "Live at an address",
        "السكن في عنوان محدد",
    ),
    what: t!(
        "Vous devez habiter à l'adresse fixée par le juge et prévenir votre conseiller avant tout déménagement ou tout voyage de plus de quinze jours.",
        "Vous devez habiter à une adresse. Le juge a choisi cette adresse. Vous voulez déménager ? Prévenez d'abord votre conseiller.",
        "You must live at the address set by the judge and tell your counsellor before any move or any trip of more than fifteen days.",
        "يجب أن تسكن في العنوان الذي حدده القاضي، وأن تخبر مستشارك قبل أي انتقال أو سفر لأكثر من خمسة عشر يومًا.",
    ),
    proof: t!(
        "Justificatif de domicile récent : facture d'électricité, de gaz ou de téléphone, quittance de loyer ou attestation d'hébergement.",
        "Apportez une facture récente à votre nom. Par exemple d'électricité ou de téléphone. Ou un papier de la personne qui vous loge.",
        "Recent proof of address: electricity, gas or phone bill, rent receipt or a letter from the person who houses you.",
        "إثبات سكن حديث: فاتورة كهرباء أو غاز أو هاتف، وصل كراء أو شهادة إيواء.",
    ),
};

static CONVOCATIONS: ObligationInfo = ObligationInfo {
    title: t!(
        "Venir aux convocations",
        "Venir aux rendez-vous",
        "Attend when summoned",
        "الحضور عند الاستدعاء",
    ),
    what: t!(
        "Vous devez venir à chaque rendez-vous du service pénitentiaire d'insertion et de probation et du juge, et recevoir votre conseiller s'il vient chez vous.",
        "Vous devez venir à tous vos rendez-vous. Avec votre conseiller. Et avec le juge. Vous ne pouvez pas venir ? Appelez avant le rendez-vous.",
        "You must attend every appointment with the probation service and the judge, and let your counsellor in if they visit your home.",
        "يجب أن تحضر كل موعد مع مصلحة الإدماج والاختبار ومع القاضي، وأن تستقبل مستشارك إذا زارك في منزلك.",
    ),
    proof: t!(
        "Apportez votre convocation et une pièce d'identité à chaque rendez-vous.",
        "Apportez votre convocation. Apportez aussi votre carte d'identité.",
        "Bring your summons and an identity document to each appointment.",
        "أحضر استدعاءك ووثيقة هوية في كل موعد.",
    ),
};

static RESSOURCES: ObligationInfo = ObligationInfo {
    title: t!(
        "Justifier de ses ressources",
        "Montrer d'où vient votre argent",
        "Show your income",
        "إثبات مواردك المالية",
    ),
    what: t!(
        "Vous devez montrer d'où vient l'argent avec lequel vous vivez : salaire, allocations, aides…",
        "Vous devez montrer d'où vient votre argent. Par exemple votre salaire. Ou vos aides.",
        "You must show where the money you live on comes from: wages, benefits, allowances…",
        "يجب أن تبين مصدر المال الذي تعيش منه: أجر، منح، مساعدات…",
    ),
    proof: t!(
        "Bulletins de salaire, avis d'impôt, attestations de la caisse d'allocations familiales ou de France Travail, relevés bancaires si votre conseiller les demande.",
        "Apportez vos fiches de paie. Ou les papiers de vos aides. Par exemple de la caisse d'allocations familiales.",
        "Payslips, tax notice, letters from the family benefits office or France Travail, bank statements if your counsellor asks for them.",
        "كشوف الأجور، إشعار الضريبة، شهادات صندوق المنح العائلية أو فرانس ترافاي، كشوف بنكية إذا طلبها مستشارك.",
    ),
};

static STAGE: ObligationInfo = ObligationInfo {
    title: t!(
        "Faire un stage",
        "Faire un stage",
        "Take a course",
        "متابعة دورة تدريبية",
    ),
    what: t!(
        "Vous devez suivre un stage fixé par le tribunal, par exemple de citoyenneté, de sécurité routière ou de sensibilisation aux violences, souvent à vos frais.",
        "Vous devez faire un stage. Un stage, ce sont des cours pendant un ou plusieurs jours. Le tribunal a choisi le stage.",
        "You must attend a course set by the court, for example on citizenship, road safety or violence awareness, often at your own cost.",
        "يجب أن تتابع دورة حددتها المحكمة، مثلًا في المواطنة أو السلامة المرورية أو التوعية بالعنف، غالبًا على نفقتك.",
    ),
    proof: t!(
        "L'attestation de stage remise à la fin par l'organisme.",
        "À la fin du stage, on vous donne un papier. Apportez ce papier à votre conseiller.",
        "The certificate the organiser gives you at the end of the course.",
        "شهادة الدورة التي تسلمها لك الجهة المنظمة في النهاية.",
    ),
};

const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const AR_MONTHS: [&str; 12] = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];

/// A date written for the person: "lundi 3 mai 2027", "3 May 2027", "3 مايو 2027".
pub fn date_in(lang: Lang, date: NaiveDate) -> String {
    match lang {
        Lang::Fr | Lang::Falc => crate::french_date(date),
        Lang::En => format!(
            "{} {} {}",
            date.day(),
            EN_MONTHS[date.month0() as usize],
            date.year()
        ),
        Lang::Ar => format!(
            "{} {} {}",
            date.day(),
            AR_MONTHS[date.month0() as usize],
            date.year()
        ),
    }
}

/// Every sentence of an easy-read text, for the checks below and for reviewers.
pub fn sentences(text: &str) -> Vec<&str> {
    text.split(['.', '?', '!', ':'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// All the texts of this module (for checks over the whole catalogue).
pub fn all_texts() -> Vec<&'static Texts> {
    let mut out = vec![&MISSED_APPOINTMENT, &OBLIGATION_MISSED];
    for k in MeasureKind::ALL {
        let i = k.info();
        out.extend([&i.title, &i.what, &i.if_missed]);
    }
    for o in ObligationKind::ALL {
        let i = o.info();
        out.extend([&i.title, &i.what, &i.proof]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_to_its_kind() {
        for k in MeasureKind::ALL {
            assert_eq!(MeasureKind::parse(k.code()), Some(*k));
        }
        for o in ObligationKind::ALL {
            assert_eq!(ObligationKind::parse(o.code()), Some(*o));
        }
        assert_eq!(MeasureKind::parse("prison_ferme"), None);
        assert_eq!(ObligationKind::parse(""), None);
    }

    #[test]
    fn every_text_exists_in_the_four_languages() {
        for t in all_texts() {
            for lang in Lang::ALL {
                assert!(!t.get(lang).trim().is_empty(), "{t:?} {lang:?}");
            }
            assert_ne!(t.fr, t.en, "English text not translated: {}", t.fr);
            assert!(
                t.ar.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
                "Arabic text not in Arabic script: {}",
                t.ar
            );
        }
    }

    #[test]
    fn easy_read_texts_use_short_sentences_and_no_abbreviations() {
        for t in all_texts() {
            for s in sentences(t.falc) {
                let words = s.split_whitespace().count();
                assert!(words <= 15, "{words} words in an easy-read sentence: {s}");
                for w in s.split(|c: char| !c.is_alphanumeric()) {
                    let upper = w.chars().filter(|c| c.is_uppercase()).count();
                    assert!(upper < 2, "abbreviation in an easy-read text: {w} ({s})");
                }
            }
            assert!(
                !t.falc.contains('…') && !t.falc.contains("etc"),
                "{}",
                t.falc
            );
        }
    }

    #[test]
    fn languages_read_from_urls_and_records_and_arabic_is_right_to_left() {
        assert_eq!(Lang::parse("falc"), Some(Lang::Falc));
        assert_eq!(Lang::parse("fr_falc"), Some(Lang::Falc));
        assert_eq!(Lang::parse(" AR "), Some(Lang::Ar));
        assert_eq!(Lang::parse("de"), None);
        assert_eq!(Lang::Ar.dir(), "rtl");
        assert_eq!(Lang::Falc.html_lang(), "fr");
        for l in Lang::ALL {
            assert_eq!(Lang::parse(l.code()), Some(l));
            assert_eq!(Lang::parse(l.url_code()), Some(l));
        }
    }

    #[test]
    fn dates_are_written_in_the_person_s_language() {
        let d = NaiveDate::from_ymd_opt(2027, 5, 3).unwrap();
        assert_eq!(date_in(Lang::Fr, d), "lundi 3 mai 2027");
        assert_eq!(date_in(Lang::En, d), "3 May 2027");
        assert_eq!(date_in(Lang::Ar, d), "3 مايو 2027");
    }
}
