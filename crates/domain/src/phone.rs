//! French phone numbers, metropolitan and overseas (DROM), normalised to E.164.
//!
//! Overseas numbers are part of the French national numbering plan (`0692…` is dialled from Paris)
//! but have their own country code abroad (`+262 692…`). The earlier system only accepted
//! `+33 6/7` and so rejected every overseas mobile: here each range maps to its real country code.

use std::fmt;

/// What a number can be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    /// Mobile: can receive SMS.
    Mobile,
    /// Geographic or VoIP landline (01–05, 09, overseas 0262, 0590…).
    Landline,
    /// Special-rate or freephone service (08).
    Special,
}

/// The territory a number belongs to, which decides its country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Territory {
    /// Metropolitan France (+33).
    Metropole,
    /// La Réunion and Mayotte (+262).
    ReunionMayotte,
    /// Guadeloupe, Saint-Martin, Saint-Barthélemy (+590).
    Guadeloupe,
    /// Martinique (+596).
    Martinique,
    /// Guyane (+594).
    Guyane,
}

impl Territory {
    /// Country calling code, without the `+`.
    pub const fn country_code(self) -> &'static str {
        match self {
            Territory::Metropole => "33",
            Territory::ReunionMayotte => "262",
            Territory::Guadeloupe => "590",
            Territory::Martinique => "596",
            Territory::Guyane => "594",
        }
    }
}

/// Country codes accepted, longest first is not needed: none is a prefix of another.
const SUPPORTED_COUNTRY_CODES: [&str; 5] = ["33", "262", "590", "594", "596"];

/// Why a phone number was refused. Messages are French and can be shown as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("Veuillez saisir un numéro de téléphone.")]
    Empty,
    #[error("Numéro de téléphone invalide : {0}.")]
    Invalid(&'static str),
    #[error("Ce numéro est un fixe : les SMS ne peuvent être envoyés qu'à un téléphone portable.")]
    Landline,
    #[error(
        "Ce numéro est un numéro spécial (08) : les SMS ne peuvent être envoyés qu'à un téléphone portable."
    )]
    NotMobile,
    #[error(
        "Les numéros étrangers ne sont pas pris en charge : seuls les numéros français sont acceptés \
         (métropole, Guadeloupe, Martinique, Guyane, La Réunion, Mayotte)."
    )]
    UnsupportedCountry,
}

const TEN_DIGITS: &str = "10 chiffres sont attendus, par exemple 06 12 34 56 78";

/// A valid French phone number (any kind), stored in E.164 (`+33612345678`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    territory: Territory,
    kind: PhoneKind,
}

impl PhoneNumber {
    /// Parses the ways people write French numbers: `06 12 34 56 78`, `06.12.34.56.78`,
    /// `+33 6 12 34 56 78`, `0033612345678`, `+33 (0)6 12 34 56 78`, `0692 12 34 56`,
    /// `+262 692 12 34 56`…
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        // "(0)" is the trunk prefix some people keep after the country code; other
        // parentheses are only grouping.
        let without_trunk = trimmed.replace("(0)", "");
        let mut cleaned = String::with_capacity(without_trunk.len());
        for c in without_trunk.chars() {
            match c {
                '0'..='9' | '+' => cleaned.push(c),
                ' ' | '.' | '-' | '/' | '(' | ')' | '\t' | '\u{a0}' | '\u{202f}' => {}
                _ => {
                    return Err(PhoneError::Invalid(
                        "seuls les chiffres, les espaces, les points, les tirets et le signe + sont acceptés",
                    ))
                }
            }
        }
        if cleaned.rfind('+').is_some_and(|i| i > 0) {
            return Err(PhoneError::Invalid(
                "le signe + ne peut figurer qu'au début du numéro",
            ));
        }
        if cleaned.is_empty() {
            return Err(PhoneError::Invalid(TEN_DIGITS));
        }

        if let Some(international) = cleaned
            .strip_prefix('+')
            .or_else(|| cleaned.strip_prefix("00"))
        {
            return Self::parse_international(international);
        }
        if cleaned.len() != 10 || !cleaned.starts_with('0') {
            return Err(PhoneError::Invalid(TEN_DIGITS));
        }
        Self::from_significant(&cleaned[1..])
    }

    fn parse_international(digits: &str) -> Result<PhoneNumber, PhoneError> {
        if digits.is_empty() {
            return Err(PhoneError::Invalid(TEN_DIGITS));
        }
        let Some(code) = SUPPORTED_COUNTRY_CODES
            .into_iter()
            .find(|code| digits.starts_with(code))
        else {
            return Err(PhoneError::UnsupportedCountry);
        };
        let mut rest = &digits[code.len()..];
        // "+33 06 12 34 56 78": the national trunk 0 written after the country code.
        if rest.len() == 10 && rest.starts_with('0') {
            rest = &rest[1..];
        }
        if rest.len() != 9 {
            return Err(PhoneError::Invalid(
                "après l'indicatif, 9 chiffres sont attendus, par exemple +33 6 12 34 56 78",
            ));
        }
        let number = Self::from_significant(rest)?;
        // +33 followed by an overseas range is the same national number: normalise it to its
        // real country code. Other codes must match the range.
        if code != "33" && number.territory.country_code() != code {
            return Err(PhoneError::Invalid(
                "ce numéro ne correspond pas à l'indicatif saisi",
            ));
        }
        Ok(number)
    }

    /// Builds from the 9-digit national significant number (the national number without its 0).
    fn from_significant(nsn: &str) -> Result<PhoneNumber, PhoneError> {
        debug_assert_eq!(nsn.len(), 9);
        if !nsn.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::Invalid(TEN_DIGITS));
        }
        let (territory, kind) = match &nsn[..3] {
            "692" | "693" | "639" => (Territory::ReunionMayotte, PhoneKind::Mobile),
            "262" | "263" | "269" => (Territory::ReunionMayotte, PhoneKind::Landline),
            "690" | "691" => (Territory::Guadeloupe, PhoneKind::Mobile),
            "590" => (Territory::Guadeloupe, PhoneKind::Landline),
            "696" | "697" => (Territory::Martinique, PhoneKind::Mobile),
            "596" => (Territory::Martinique, PhoneKind::Landline),
            "694" => (Territory::Guyane, PhoneKind::Mobile),
            "594" => (Territory::Guyane, PhoneKind::Landline),
            _ => match nsn.as_bytes()[0] {
                b'6' | b'7' => (Territory::Metropole, PhoneKind::Mobile),
                b'1'..=b'5' | b'9' => (Territory::Metropole, PhoneKind::Landline),
                b'8' => (Territory::Metropole, PhoneKind::Special),
                _ => {
                    return Err(PhoneError::Invalid(
                        "un numéro français commence par 01 à 09",
                    ))
                }
            },
        };
        Ok(PhoneNumber {
            e164: format!("+{}{}", territory.country_code(), nsn),
            territory,
            kind,
        })
    }

    /// E.164 form, e.g. `+33612345678` or `+262692123456`.
    pub fn as_e164(&self) -> &str {
        &self.e164
    }

    /// Same as [`PhoneNumber::as_e164`]; the canonical stored form.
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// National form grouped by pairs, as the French write it: `06 12 34 56 78`, `06 92 12 34 56`.
    pub fn national_display(&self) -> String {
        let national = format!("0{}", self.significant_number());
        let mut out = String::with_capacity(14);
        for (i, c) in national.chars().enumerate() {
            if i > 0 && i % 2 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }

    /// The 9 digits after the country code.
    pub fn significant_number(&self) -> &str {
        &self.e164[1 + self.territory.country_code().len()..]
    }

    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    pub fn territory(&self) -> Territory {
        self.territory
    }

    /// Whether SMS can be sent to this number.
    pub fn is_mobile(&self) -> bool {
        self.kind == PhoneKind::Mobile
    }
}

string_newtype!(PhoneNumber, PhoneError);

/// Masked: a phone number is personal data and `Debug` ends up in logs.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", mask(self))
    }
}

fn mask(number: &PhoneNumber) -> String {
    let last_two = &number.e164[number.e164.len() - 2..];
    format!("+{}******{}", number.territory.country_code(), last_two)
}

/// A phone number that can receive SMS (metropolitan or overseas mobile).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MobilePhone(PhoneNumber);

impl MobilePhone {
    /// Parses like [`PhoneNumber::parse`], then refuses landlines and special numbers.
    pub fn parse(input: &str) -> Result<MobilePhone, PhoneError> {
        MobilePhone::try_from(PhoneNumber::parse(input)?)
    }

    pub fn as_e164(&self) -> &str {
        self.0.as_e164()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_e164()
    }

    pub fn national_display(&self) -> String {
        self.0.national_display()
    }

    pub fn as_phone(&self) -> &PhoneNumber {
        &self.0
    }

    pub fn into_phone(self) -> PhoneNumber {
        self.0
    }
}

impl TryFrom<PhoneNumber> for MobilePhone {
    type Error = PhoneError;

    fn try_from(number: PhoneNumber) -> Result<Self, Self::Error> {
        match number.kind {
            PhoneKind::Mobile => Ok(MobilePhone(number)),
            PhoneKind::Landline => Err(PhoneError::Landline),
            PhoneKind::Special => Err(PhoneError::NotMobile),
        }
    }
}

impl From<MobilePhone> for PhoneNumber {
    fn from(mobile: MobilePhone) -> Self {
        mobile.0
    }
}

string_newtype!(MobilePhone, PhoneError);

impl fmt::Debug for MobilePhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MobilePhone({})", mask(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(input: &str) -> String {
        PhoneNumber::parse(input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .as_e164()
            .to_owned()
    }

    #[test]
    fn metropolitan_mobile_formats_all_normalise_to_e164() {
        for input in [
            "06 12 34 56 78",
            "0612345678",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "  06 12 34 56 78  ",
            "+33 6 12 34 56 78",
            "+33612345678",
            "0033612345678",
            "00 33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "+33 (0) 6 12 34 56 78",
            "+33 06 12 34 56 78",
            "06\u{a0}12\u{a0}34\u{a0}56\u{a0}78",
        ] {
            assert_eq!(e164(input), "+33612345678", "{input}");
        }
    }

    #[test]
    fn seven_series_is_a_mobile() {
        let n = PhoneNumber::parse("07 81 23 45 67").unwrap();
        assert_eq!(n.as_e164(), "+33781234567");
        assert!(n.is_mobile());
    }

    #[test]
    fn overseas_reunion_mobile_is_accepted() {
        for input in [
            "0692 12 34 56",
            "06 92 12 34 56",
            "+262 692 12 34 56",
            "00262692123456",
        ] {
            let n = MobilePhone::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.as_e164(), "+262692123456", "{input}");
        }
        assert_eq!(e164("0693 00 11 22"), "+262693001122");
    }

    #[test]
    fn overseas_mayotte_mobile_is_accepted() {
        assert_eq!(
            MobilePhone::parse("0639 12 34 56").unwrap().as_e164(),
            "+262639123456"
        );
        assert_eq!(
            MobilePhone::parse("+262 639 12 34 56").unwrap().as_e164(),
            "+262639123456"
        );
    }

    #[test]
    fn overseas_antilles_and_guyane_mobiles_are_accepted() {
        let cases = [
            ("0690 12 34 56", "+590690123456", Territory::Guadeloupe),
            ("0691 12 34 56", "+590691123456", Territory::Guadeloupe),
            ("+590 690 12 34 56", "+590690123456", Territory::Guadeloupe),
            ("0696 12 34 56", "+596696123456", Territory::Martinique),
            ("0697 12 34 56", "+596697123456", Territory::Martinique),
            ("+596 696 12 34 56", "+596696123456", Territory::Martinique),
            ("0694 12 34 56", "+594694123456", Territory::Guyane),
            ("+594 694 12 34 56", "+594694123456", Territory::Guyane),
        ];
        for (input, expected, territory) in cases {
            let n = MobilePhone::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.as_e164(), expected, "{input}");
            assert_eq!(n.as_phone().territory(), territory, "{input}");
        }
    }

    #[test]
    fn overseas_range_written_with_plus_33_is_normalised_to_its_country_code() {
        assert_eq!(e164("+33 6 92 12 34 56"), "+262692123456");
        assert_eq!(e164("+33 5 90 12 34 56"), "+590590123456");
    }

    #[test]
    fn overseas_number_with_the_wrong_country_code_is_invalid() {
        assert!(matches!(
            PhoneNumber::parse("+590 692 12 34 56"),
            Err(PhoneError::Invalid(_))
        ));
        assert!(matches!(
            PhoneNumber::parse("+262 6 12 34 56 78"),
            Err(PhoneError::Invalid(_))
        ));
    }

    #[test]
    fn landlines_parse_but_are_not_mobiles() {
        for (input, expected) in [
            ("01 23 45 67 89", "+33123456789"),
            ("02 99 00 00 00", "+33299000000"),
            ("03 87 00 00 00", "+33387000000"),
            ("04 91 00 00 00", "+33491000000"),
            ("05 56 00 00 00", "+33556000000"),
            ("09 70 00 00 00", "+33970000000"),
            ("0262 12 34 56", "+262262123456"),
            ("0269 61 00 00", "+262269610000"),
            ("0590 12 34 56", "+590590123456"),
            ("0596 12 34 56", "+596596123456"),
            ("0594 12 34 56", "+594594123456"),
        ] {
            let n = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.as_e164(), expected, "{input}");
            assert!(!n.is_mobile(), "{input}");
            assert_eq!(n.kind(), PhoneKind::Landline, "{input}");
        }
    }

    #[test]
    fn mobile_phone_refuses_a_landline_with_a_french_message() {
        let err = MobilePhone::parse("01 23 45 67 89").unwrap_err();
        assert_eq!(err, PhoneError::Landline);
        assert_eq!(
            err.to_string(),
            "Ce numéro est un fixe : les SMS ne peuvent être envoyés qu'à un téléphone portable."
        );
        assert_eq!(
            MobilePhone::parse("0262 12 34 56").unwrap_err(),
            PhoneError::Landline
        );
    }

    #[test]
    fn special_rate_numbers_parse_but_cannot_receive_sms() {
        let n = PhoneNumber::parse("0800 00 00 00").unwrap();
        assert_eq!(n.kind(), PhoneKind::Special);
        assert_eq!(
            MobilePhone::parse("0800 00 00 00").unwrap_err(),
            PhoneError::NotMobile
        );
    }

    #[test]
    fn empty_input_is_refused() {
        assert_eq!(PhoneNumber::parse("   ").unwrap_err(), PhoneError::Empty);
        assert_eq!(PhoneNumber::parse("").unwrap_err(), PhoneError::Empty);
    }

    #[test]
    fn malformed_numbers_are_invalid_with_a_french_message() {
        for input in [
            "06 12 34 56",
            "06 12 34 56 78 9",
            "6 12 34 56 78",
            "06 12 34 56 7a",
            "06+12345678",
            "+",
            "+33",
            "+33 6 12",
            "téléphone",
        ] {
            let err = PhoneNumber::parse(input).unwrap_err();
            assert!(matches!(err, PhoneError::Invalid(_)), "{input}: {err:?}");
            assert!(
                err.to_string()
                    .starts_with("Numéro de téléphone invalide : "),
                "{input}"
            );
        }
    }

    #[test]
    fn foreign_numbers_are_refused_as_unsupported_country() {
        for input in [
            "+44 7700 900123",
            "+1 202 555 0143",
            "0049 151 23456789",
            "+32 470 12 34 56",
            "+687 75 12 34",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap_err(),
                PhoneError::UnsupportedCountry,
                "{input}"
            );
        }
    }

    #[test]
    fn national_display_groups_digits_by_pairs() {
        assert_eq!(
            PhoneNumber::parse("+33612345678")
                .unwrap()
                .national_display(),
            "06 12 34 56 78"
        );
        assert_eq!(
            PhoneNumber::parse("+262692123456")
                .unwrap()
                .national_display(),
            "06 92 12 34 56"
        );
    }

    #[test]
    fn display_is_e164_and_debug_is_masked() {
        let n = PhoneNumber::parse("06 12 34 56 78").unwrap();
        assert_eq!(n.to_string(), "+33612345678");
        assert_eq!(format!("{n:?}"), "PhoneNumber(+33******78)");
        let m = MobilePhone::parse("0692 12 34 56").unwrap();
        assert_eq!(format!("{m:?}"), "MobilePhone(+262******56)");
        assert!(!format!("{:?}", Some(&m)).contains("692"));
    }

    #[test]
    fn from_str_and_serde_round_trip_as_a_string() {
        let n: PhoneNumber = "06 12 34 56 78".parse().unwrap();
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"+33612345678\"");
        let back: PhoneNumber = serde_json::from_str(&json).unwrap();
        assert_eq!(back, n);
        let m: MobilePhone = serde_json::from_str("\"0690 12 34 56\"").unwrap();
        assert_eq!(m.as_e164(), "+590690123456");
        assert!(serde_json::from_str::<MobilePhone>("\"01 23 45 67 89\"").is_err());
    }
}
