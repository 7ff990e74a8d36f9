//! APPI case numbers (national software of the SPIP and SAP).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppiError {
    #[error(
        "Numéro APPI invalide : saisissez 199 ou 200 suivi de 5 chiffres (par exemple 20012345), ou 200, 201 ou 202 suivi de 9 chiffres (par exemple 201123456789), avec éventuellement une lettre à la fin."
    )]
    Invalid,
}

/// An APPI identifier as the APPI application issues them: "199" or "200" followed by 5 digits, or "200", "201"
/// or "202" followed by 9 digits, optionally ending with one letter. Spaces are ignored and the letter is stored
/// upper-cased (docs/DOMAIN.md#people-followed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppiNumber(String);

impl AppiNumber {
    pub fn parse(input: &str) -> Result<AppiNumber, AppiError> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let digits = s
            .strip_suffix(|c: char| c.is_ascii_uppercase())
            .unwrap_or(&s);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppiError::Invalid);
        }
        let valid = match digits.len() {
            8 => matches!(&digits[..3], "199" | "200"),
            12 => matches!(&digits[..3], "200" | "201" | "202"),
            _ => false,
        };
        if !valid {
            return Err(AppiError::Invalid);
        }
        Ok(AppiNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(AppiNumber, AppiError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_appi_forms_are_accepted_trimmed_and_upper_cased() {
        for (input, stored) in [
            ("19912345", "19912345"),
            ("20012345", "20012345"),
            ("200123456789", "200123456789"),
            ("201123456789", "201123456789"),
            ("202123456789", "202123456789"),
            (" 20012345b ", "20012345B"),
            ("202 123 456 789 z", "202123456789Z"),
            ("19900000A", "19900000A"),
        ] {
            assert_eq!(
                AppiNumber::parse(input).unwrap().as_str(),
                stored,
                "{input}"
            );
        }
    }

    #[test]
    fn other_numbers_are_refused_with_a_french_message_naming_the_form() {
        for input in [
            "",
            "123456",
            "A123456",
            "19812345",     // 198 is no APPI prefix
            "20112345",     // 201 only with 9 digits
            "199123456789", // 199 only with 5 digits
            "2001234",      // too short
            "200123456",    // neither 5 nor 9 digits
            "2001234567890",
            "20012345AB", // one letter at most
            "A20012345",  // the letter ends the number
            "2001234É",
            "200-12345",
        ] {
            let err = AppiNumber::parse(input).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("Numéro APPI invalide : saisissez 199 ou 200 suivi de 5 chiffres"),
                "{input}"
            );
        }
    }
}
