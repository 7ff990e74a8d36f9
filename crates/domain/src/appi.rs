//! APPI case numbers (national software of the SPIP and SAP).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppiError {
    #[error(
        "Numéro APPI invalide : de 6 à 12 chiffres sont attendus, éventuellement précédés d'1 à 3 lettres (par exemple A12345678)."
    )]
    Invalid,
}

/// 6 to 12 digits, optionally preceded by 1 to 3 letters; stored without spaces, uppercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppiNumber(String);

impl AppiNumber {
    pub fn parse(input: &str) -> Result<AppiNumber, AppiError> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let letters = s.bytes().take_while(u8::is_ascii_uppercase).count();
        let digits = &s[letters..];
        if letters > 3
            || !(6..=12).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
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
    fn digits_with_an_optional_letter_prefix_are_accepted() {
        assert_eq!(AppiNumber::parse("123456").unwrap().as_str(), "123456");
        assert_eq!(
            AppiNumber::parse("a12345678").unwrap().as_str(),
            "A12345678"
        );
        assert_eq!(
            AppiNumber::parse(" AB 123 456 789 ").unwrap().as_str(),
            "AB123456789"
        );
        assert_eq!(
            AppiNumber::parse("ABC123456789012").unwrap().as_str(),
            "ABC123456789012"
        );
    }

    #[test]
    fn malformed_numbers_are_refused_with_a_french_message() {
        for input in [
            "",
            "12345",
            "1234567890123",
            "ABCD123456",
            "A12345B",
            "12345678A",
            "É123456",
            "A-123456",
        ] {
            let err = AppiNumber::parse(input).unwrap_err();
            assert!(
                err.to_string().starts_with("Numéro APPI invalide : "),
                "{input}"
            );
        }
    }
}
