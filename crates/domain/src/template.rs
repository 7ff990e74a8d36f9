//! Message templates (SMS, e-mail) with `{rdv.…}` / `{lieu.…}` variables, French date and time
//! formatting, and SMS segment counting.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};
use std::fmt;

/// A variable that a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variable {
    /// `{rdv.heure}`: "14h30".
    RdvHeure,
    /// `{rdv.date}`: "lundi 3 mai 2027".
    RdvDate,
    /// `{lieu.nom}`
    LieuNom,
    /// `{lieu.adresse}`
    LieuAdresse,
    /// `{lieu.téléphone}` (also accepted without accents: `{lieu.telephone}`).
    LieuTelephone,
    /// `{lieu.contact}`
    LieuContact,
    /// `{lieu.lien_info}`
    LieuLienInfo,
}

impl Variable {
    pub const ALL: [Variable; 7] = [
        Variable::RdvHeure,
        Variable::RdvDate,
        Variable::LieuNom,
        Variable::LieuAdresse,
        Variable::LieuTelephone,
        Variable::LieuContact,
        Variable::LieuLienInfo,
    ];

    /// Name as written between braces (canonical spelling).
    pub const fn name(self) -> &'static str {
        match self {
            Variable::RdvHeure => "rdv.heure",
            Variable::RdvDate => "rdv.date",
            Variable::LieuNom => "lieu.nom",
            Variable::LieuAdresse => "lieu.adresse",
            Variable::LieuTelephone => "lieu.téléphone",
            Variable::LieuContact => "lieu.contact",
            Variable::LieuLienInfo => "lieu.lien_info",
        }
    }

    /// What the variable stands for, in French, for the template editor.
    pub const fn description(self) -> &'static str {
        match self {
            Variable::RdvHeure => "Heure du rendez-vous (ex. : 14h30)",
            Variable::RdvDate => "Date du rendez-vous (ex. : lundi 3 mai 2027)",
            Variable::LieuNom => "Nom du lieu",
            Variable::LieuAdresse => "Adresse du lieu",
            Variable::LieuTelephone => "Téléphone du lieu",
            Variable::LieuContact => "Adresse e-mail de contact du lieu",
            Variable::LieuLienInfo => "Lien « comment préparer mon rendez-vous »",
        }
    }

    fn from_name(name: &str) -> Option<Variable> {
        // Accept a decomposed "é" (e + U+0301), as some keyboards and copy-pastes produce it.
        let name = name.replace("e\u{301}", "é");
        match name.as_str() {
            "rdv.heure" => Some(Variable::RdvHeure),
            "rdv.date" => Some(Variable::RdvDate),
            "lieu.nom" => Some(Variable::LieuNom),
            "lieu.adresse" => Some(Variable::LieuAdresse),
            "lieu.téléphone" | "lieu.telephone" => Some(Variable::LieuTelephone),
            "lieu.contact" => Some(Variable::LieuContact),
            "lieu.lien_info" => Some(Variable::LieuLienInfo),
            _ => None,
        }
    }
}

/// Why a template was refused when an administrator edited it. Positions count characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("Variable inconnue : {{{0}}}. Variables possibles : {{rdv.heure}}, {{rdv.date}}, {{lieu.nom}}, {{lieu.adresse}}, {{lieu.téléphone}}, {{lieu.contact}}, {{lieu.lien_info}}.")]
    UnknownVariable(String),
    #[error("Accolade ouvrante « {{ » sans accolade fermante « }} » (caractère {0}).")]
    UnclosedBrace(usize),
    #[error("Accolade fermante « }} » sans accolade ouvrante « {{ » (caractère {0}).")]
    UnexpectedClosingBrace(usize),
    #[error("Le message est vide.")]
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Variable),
}

/// A checked template. Literal braces cannot be written: every `{` opens a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// Values substituted at render time (rendered again at send time: the place may have changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateVars {
    /// Start of the appointment, in the place's local time.
    pub starts_at_local: NaiveDateTime,
    pub place_name: String,
    pub place_address: String,
    pub place_phone: String,
    pub place_contact: String,
    pub place_info_url: String,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        if source.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().enumerate();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, '{')) | None => {
                                return Err(TemplateError::UnclosedBrace(i + 1))
                            }
                            Some((_, c)) => name.push(c),
                        }
                    }
                    let var =
                        Variable::from_name(&name).ok_or(TemplateError::UnknownVariable(name))?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Var(var));
                }
                '}' => return Err(TemplateError::UnexpectedClosingBrace(i + 1)),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            source: source.to_owned(),
            parts,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Variables used, in order of first appearance.
    pub fn variables(&self) -> Vec<Variable> {
        let mut vars = Vec::new();
        for part in &self.parts {
            if let Part::Var(v) = part {
                if !vars.contains(v) {
                    vars.push(*v);
                }
            }
        }
        vars
    }

    pub fn render(&self, vars: &TemplateVars) -> String {
        self.render_in(vars, "fr")
    }

    /// Renders with the date and time written the way of the message's language (`fr`, `fr_falc`, `en`, `ar`):
    /// "lundi 3 mai 2027" / "14h30", "Monday 3 May 2027" / "14:30", "الاثنين 3 ماي 2027" / "14:30" — an English
    /// sentence never carries a French date.
    pub fn render_in(&self, vars: &TemplateVars, language: &str) -> String {
        let mut out = String::with_capacity(self.source.len() + 64);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => match v {
                    Variable::RdvHeure => {
                        out.push_str(&time_in(vars.starts_at_local.time(), language))
                    }
                    Variable::RdvDate => {
                        out.push_str(&date_in(vars.starts_at_local.date(), language))
                    }
                    Variable::LieuNom => out.push_str(&vars.place_name),
                    Variable::LieuAdresse => out.push_str(&vars.place_address),
                    Variable::LieuTelephone => out.push_str(&vars.place_phone),
                    Variable::LieuContact => out.push_str(&vars.place_contact),
                    Variable::LieuLienInfo => out.push_str(&vars.place_info_url),
                },
            }
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Template {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Template::parse(s)
    }
}

const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "lundi 3 mai 2027"; the first of the month is written "1er" as French typography requires.
pub fn french_date(date: NaiveDate) -> String {
    let weekday = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
    let month = MONTHS[date.month0() as usize];
    let day = match date.day() {
        1 => "1er".to_owned(),
        d => d.to_string(),
    };
    format!("{weekday} {day} {month} {}", date.year())
}

/// "14h30", "9h00".
pub fn french_time(time: NaiveTime) -> String {
    format!("{}h{:02}", time.hour(), time.minute())
}

pub const EN_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
pub const EN_MONTHS: [&str; 12] = [
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
pub const AR_DAYS: [&str; 7] = [
    "الاثنين",
    "الثلاثاء",
    "الأربعاء",
    "الخميس",
    "الجمعة",
    "السبت",
    "الأحد",
];
/// The month names used in the Maghreb and in France's Arabic-language public documents (messages and the person's
/// space use the same).
pub const AR_MONTHS: [&str; 12] = [
    "جانفي",
    "فيفري",
    "مارس",
    "أفريل",
    "ماي",
    "جوان",
    "جويلية",
    "أوت",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];

/// A date in the message's language: French (also easy-read French) "lundi 3 mai 2027", English
/// "Monday 3 May 2027", Arabic "الاثنين 3 ماي 2027".
pub fn date_in(date: NaiveDate, language: &str) -> String {
    let wd = date.weekday().num_days_from_monday() as usize;
    let m = date.month0() as usize;
    match language {
        "en" => format!(
            "{} {} {} {}",
            EN_DAYS[wd],
            date.day(),
            EN_MONTHS[m],
            date.year()
        ),
        "ar" => format!(
            "{} {} {} {}",
            AR_DAYS[wd],
            date.day(),
            AR_MONTHS[m],
            date.year()
        ),
        _ => french_date(date),
    }
}

/// A time in the message's language: "14h30" in French, "14:30" otherwise.
pub fn time_in(time: NaiveTime, language: &str) -> String {
    match language {
        "en" | "ar" => format!("{}:{:02}", time.hour(), time.minute()),
        _ => french_time(time),
    }
}

/// French name of a weekday, lowercase ("lundi").
pub fn french_weekday(weekday: Weekday) -> &'static str {
    WEEKDAYS[weekday.num_days_from_monday() as usize]
}

/// How an SMS is encoded on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmsEncoding {
    /// GSM 03.38 default alphabet, 7 bits per character.
    Gsm7,
    /// UCS-2 / UTF-16, as soon as one character is outside GSM 03.38.
    Ucs2,
}

/// Size of an SMS: `units` are septets (GSM-7) or UTF-16 code units (UCS-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SmsSegments {
    pub encoding: SmsEncoding,
    pub units: usize,
    /// Number of SMS billed; 0 for an empty text.
    pub segments: usize,
}

/// GSM 03.38 basic character set (the escape code 0x1B excluded).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table: each costs two septets (escape + code).
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

fn gsm7_cost(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The same text in the GSM-7 alphabet when every character outside it has a plain equivalent (ê → e, ç → c,
/// ’ → ', « » → ", — → -, … → ..., non-breaking spaces → space), so an SMS costs GSM-7 parts (153 characters)
/// instead of UCS-2 parts (67): a single "ê" in a French summons otherwise doubles or triples its price. `None`
/// when a character has no such equivalent (Arabic script, emoji…): the text is then sent as written, in UCS-2.
pub fn to_gsm7(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if gsm7_cost(c).is_some() {
            out.push(c);
            continue;
        }
        let plain = match c {
            '’' | '‘' | '‛' | '′' => "'",
            '“' | '”' | '«' | '»' | '„' => "\"",
            '—' | '–' | '‑' | '‐' => "-",
            '…' => "...",
            '\u{a0}' | '\u{202f}' | '\u{2009}' | '\u{2007}' => " ",
            'â' | 'á' | 'ã' | 'å' => "a",
            'ê' | 'ë' => "e",
            'î' | 'ï' | 'í' => "i",
            'ô' | 'ó' | 'õ' => "o",
            'û' | 'ú' => "u",
            'ç' => "c",
            'ÿ' => "y",
            'œ' => "oe",
            'À' | 'Â' | 'Á' | 'Ã' => "A",
            'È' | 'Ê' | 'Ë' => "E",
            'Î' | 'Ï' | 'Í' | 'Ì' => "I",
            'Ô' | 'Ó' | 'Ò' | 'Õ' => "O",
            'Û' | 'Ù' | 'Ú' => "U",
            'Œ' => "OE",
            'Ÿ' => "Y",
            _ => return None,
        };
        out.push_str(plain);
    }
    Some(out)
}

/// Counts parts greedily: a multi-unit character (escape pair, surrogate pair) is never split.
fn count_parts(costs: impl Iterator<Item = usize>, per_part: usize) -> usize {
    let mut parts = 1;
    let mut used = 0;
    for cost in costs {
        if used + cost > per_part {
            parts += 1;
            used = 0;
        }
        used += cost;
    }
    parts
}

/// Encoding, size and number of SMS parts of `text`.
///
/// GSM-7: 160 septets in one SMS, 153 per part when concatenated. Any character outside GSM 03.38
/// (ê, ç, the typographic apostrophe ’, « », emoji…) switches the whole message to UCS-2:
/// 70 units in one SMS, 67 per part.
pub fn sms_segments(text: &str) -> SmsSegments {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm7_cost).collect();
    let (encoding, costs, single, per_part) = match gsm {
        Some(costs) => (SmsEncoding::Gsm7, costs, 160, 153),
        None => (
            SmsEncoding::Ucs2,
            text.chars().map(char::len_utf16).collect(),
            70,
            67,
        ),
    };
    let units: usize = costs.iter().sum();
    let segments = match units {
        0 => 0,
        u if u <= single => 1,
        _ => count_parts(costs.into_iter(), per_part),
    };
    SmsSegments {
        encoding,
        units,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_written_the_way_of_the_message_language() {
        let t = Template::parse("on {rdv.date} at {rdv.heure}").unwrap();
        let v = vars();
        assert_eq!(t.render_in(&v, "en"), "on Monday 3 May 2027 at 14:30");
        assert_eq!(t.render_in(&v, "fr"), "on lundi 3 mai 2027 at 14h30");
        assert_eq!(t.render_in(&v, "fr_falc"), "on lundi 3 mai 2027 at 14h30");
        assert_eq!(t.render_in(&v, "ar"), "on الاثنين 3 ماي 2027 at 14:30");
        assert_eq!(t.render(&v), t.render_in(&v, "fr"));
    }

    #[test]
    fn french_text_is_transliterated_to_gsm7_and_arabic_is_left_alone() {
        let fr = "Vous êtes convoqué(e) le jeudi 12 août 2027 à 9h00 : SPIP 92 — Nanterre, « accueil ». L’agent…";
        assert_eq!(sms_segments(fr).encoding, SmsEncoding::Ucs2);
        let plain = to_gsm7(fr).unwrap();
        assert_eq!(
            plain,
            "Vous etes convoqué(e) le jeudi 12 aout 2027 à 9h00 : SPIP 92 - Nanterre, \" accueil \". L'agent..."
        );
        assert_eq!(sms_segments(&plain).encoding, SmsEncoding::Gsm7);
        assert_eq!(to_gsm7("موعد يوم الخميس"), None);
        assert_eq!(
            to_gsm7("Hélène Müller, 2 rue de l'Église"),
            Some("Hélène Müller, 2 rue de l'Église".into())
        );
    }

    fn vars() -> TemplateVars {
        TemplateVars {
            starts_at_local: NaiveDate::from_ymd_opt(2027, 5, 3)
                .unwrap()
                .and_hms_opt(14, 30, 0)
                .unwrap(),
            place_name: "SPIP des Hauts-de-Seine".into(),
            place_address: "179-191 avenue Joliot-Curie, 92000 Nanterre".into(),
            place_phone: "01 23 45 67 89".into(),
            place_contact: "spip92@justice.fr".into(),
            place_info_url: "https://example.fr/preparer".into(),
        }
    }

    #[test]
    fn every_variable_is_rendered() {
        let t = Template::parse(
            "Le {rdv.date} à {rdv.heure} : {lieu.nom}, {lieu.adresse}. Tél. {lieu.téléphone}, {lieu.contact}, {lieu.lien_info}",
        )
        .unwrap();
        let mut expected = Variable::ALL.to_vec();
        expected.swap(0, 1);
        assert_eq!(t.variables(), expected);
        assert_eq!(
            t.render(&vars()),
            "Le lundi 3 mai 2027 à 14h30 : SPIP des Hauts-de-Seine, 179-191 avenue Joliot-Curie, 92000 Nanterre. \
             Tél. 01 23 45 67 89, spip92@justice.fr, https://example.fr/preparer"
        );
    }

    #[test]
    fn each_variable_renders_its_own_value() {
        let expected = [
            "14h30",
            "lundi 3 mai 2027",
            "SPIP des Hauts-de-Seine",
            "179-191 avenue Joliot-Curie, 92000 Nanterre",
            "01 23 45 67 89",
            "spip92@justice.fr",
            "https://example.fr/preparer",
        ];
        for (var, value) in Variable::ALL.into_iter().zip(expected) {
            let t = Template::parse(&format!("[{{{}}}]", var.name())).unwrap();
            assert_eq!(t.render(&vars()), format!("[{value}]"), "{var:?}");
        }
    }

    #[test]
    fn telephone_without_accent_or_with_decomposed_accent_is_accepted() {
        for source in ["{lieu.telephone}", "{lieu.te\u{301}le\u{301}phone}"] {
            let t = Template::parse(source).unwrap();
            assert_eq!(t.variables(), vec![Variable::LieuTelephone]);
            assert_eq!(t.render(&vars()), "01 23 45 67 89");
        }
    }

    #[test]
    fn unknown_variable_is_refused_and_named() {
        let err = Template::parse("RDV au {rdv.lieu} le {rdv.date}").unwrap_err();
        assert_eq!(err, TemplateError::UnknownVariable("rdv.lieu".into()));
        assert!(err
            .to_string()
            .starts_with("Variable inconnue : {rdv.lieu}."));
        assert!(Template::parse("{}").is_err());
        assert!(Template::parse("{ rdv.date }").is_err());
    }

    #[test]
    fn unbalanced_braces_are_refused() {
        assert_eq!(
            Template::parse("RDV {rdv.date").unwrap_err(),
            TemplateError::UnclosedBrace(5)
        );
        assert_eq!(
            Template::parse("RDV {rdv.{date}").unwrap_err(),
            TemplateError::UnclosedBrace(5)
        );
        let err = Template::parse("RDV rdv.date}").unwrap_err();
        assert_eq!(err, TemplateError::UnexpectedClosingBrace(13));
        assert_eq!(
            err.to_string(),
            "Accolade fermante « } » sans accolade ouvrante « { » (caractère 13)."
        );
    }

    #[test]
    fn empty_template_is_refused() {
        assert_eq!(Template::parse("  ").unwrap_err(), TemplateError::Empty);
    }

    #[test]
    fn text_without_variables_renders_unchanged() {
        let t = Template::parse("Votre rendez-vous est annulé.").unwrap();
        assert!(t.variables().is_empty());
        assert_eq!(t.render(&vars()), "Votre rendez-vous est annulé.");
        assert_eq!(t.to_string(), "Votre rendez-vous est annulé.");
    }

    #[test]
    fn french_date_uses_lowercase_names_and_no_leading_zero() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(french_date(d(2027, 5, 3)), "lundi 3 mai 2027");
        assert_eq!(french_date(d(2025, 3, 3)), "lundi 3 mars 2025");
        assert_eq!(french_date(d(2027, 8, 15)), "dimanche 15 août 2027");
        assert_eq!(french_date(d(2027, 2, 9)), "mardi 9 février 2027");
        assert_eq!(french_date(d(2027, 12, 25)), "samedi 25 décembre 2027");
        assert_eq!(french_date(d(2027, 5, 1)), "samedi 1er mai 2027");
    }

    #[test]
    fn french_time_uses_h_and_two_digit_minutes() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(french_time(t(14, 30)), "14h30");
        assert_eq!(french_time(t(9, 0)), "9h00");
        assert_eq!(french_time(t(0, 5)), "0h05");
    }

    #[test]
    fn gsm7_basic_table_has_127_characters() {
        assert_eq!(GSM7_BASIC.chars().count(), 127);
        assert_eq!(GSM7_EXTENSION.chars().count(), 10);
    }

    #[test]
    fn accents_of_the_gsm_table_stay_in_gsm7() {
        let s = sms_segments("Rendez-vous confirmé à 9h00, où ? É è ù ì ò Ç");
        assert_eq!(s.encoding, SmsEncoding::Gsm7);
    }

    #[test]
    fn accents_outside_the_gsm_table_switch_to_ucs2() {
        for text in [
            "Vous êtes convoqué",
            "ça",
            "Île",
            "l’adresse",
            "« RDV »",
            "cœur",
            "â",
            "î",
            "ô",
            "û",
            "ë",
        ] {
            assert_eq!(sms_segments(text).encoding, SmsEncoding::Ucs2, "{text}");
        }
    }

    #[test]
    fn gsm7_boundary_is_160_then_153_per_part() {
        let at = |n: usize| sms_segments(&"a".repeat(n));
        assert_eq!(
            at(160),
            SmsSegments {
                encoding: SmsEncoding::Gsm7,
                units: 160,
                segments: 1
            }
        );
        assert_eq!(at(161).segments, 2);
        assert_eq!(at(306).segments, 2);
        assert_eq!(at(307).segments, 3);
        assert_eq!(sms_segments("").segments, 0);
    }

    #[test]
    fn extension_characters_count_twice() {
        let s = sms_segments("€[]{}~|^\\");
        assert_eq!(s.encoding, SmsEncoding::Gsm7);
        assert_eq!(s.units, 18);
        // 159 letters + one euro sign = 161 septets: two SMS.
        let over = sms_segments(&format!("{}€", "a".repeat(159)));
        assert_eq!((over.units, over.segments), (161, 2));
        // An escape pair is never split across parts: 152 + 2 does not fit in 153.
        let split = sms_segments(&format!("{}€{}", "a".repeat(152), "a".repeat(10)));
        assert_eq!(split.units, 164);
        assert_eq!(split.segments, 2);
        let tight = sms_segments(&format!("{}€{}", "a".repeat(152), "a".repeat(152)));
        assert_eq!(tight.units, 306);
        assert_eq!(tight.segments, 3);
    }

    #[test]
    fn ucs2_boundary_is_70_then_67_per_part() {
        let at = |n: usize| sms_segments(&format!("ê{}", "a".repeat(n - 1)));
        assert_eq!(
            at(70),
            SmsSegments {
                encoding: SmsEncoding::Ucs2,
                units: 70,
                segments: 1
            }
        );
        assert_eq!(at(71).segments, 2);
        assert_eq!(at(134).segments, 2);
        assert_eq!(at(135).segments, 3);
    }

    #[test]
    fn emoji_counts_two_utf16_units() {
        let s = sms_segments("RDV 👍");
        assert_eq!(s.encoding, SmsEncoding::Ucs2);
        assert_eq!(s.units, 6);
    }

    #[test]
    fn rendered_reminder_fits_in_known_segments() {
        let t = Template::parse("Rappel : RDV le {rdv.date} à {rdv.heure}, {lieu.nom}.").unwrap();
        let text = t.render(&vars());
        assert_eq!(
            text,
            "Rappel : RDV le lundi 3 mai 2027 à 14h30, SPIP des Hauts-de-Seine."
        );
        let s = sms_segments(&text);
        assert_eq!(s.encoding, SmsEncoding::Gsm7);
        assert_eq!(s.segments, 1);
    }
}
