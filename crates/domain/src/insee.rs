//! INSEE commune codes (code officiel géographique).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InseeError {
    #[error(
        "Code INSEE invalide : 5 caractères sont attendus (des chiffres, ou 2A / 2B suivis de 3 chiffres pour la Corse), par exemple 92050."
    )]
    Invalid,
}

/// A commune code: 5 digits, or `2A`/`2B` + 3 digits for Corsica.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InseeCode(String);

impl InseeCode {
    pub fn parse(input: &str) -> Result<InseeCode, InseeError> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 5 {
            return Err(InseeError::Invalid);
        }
        let corsica = b[0] == b'2' && (b[1] == b'A' || b[1] == b'B');
        let head_ok = corsica || (b[0].is_ascii_digit() && b[1].is_ascii_digit());
        if !head_ok || !b[2..].iter().all(u8::is_ascii_digit) {
            return Err(InseeError::Invalid);
        }
        Ok(InseeCode(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Département code: `"92"`, `"2A"`, or 3 digits overseas (`"974"` for `97411`, `"988"`…).
    pub fn departement(&self) -> &str {
        if self.0.starts_with("97") || self.0.starts_with("98") {
            &self.0[..3]
        } else {
            &self.0[..2]
        }
    }
}

string_newtype!(InseeCode, InseeError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metropolitan_code_gives_a_two_digit_departement() {
        let c = InseeCode::parse("92050").unwrap();
        assert_eq!(c.as_str(), "92050");
        assert_eq!(c.departement(), "92");
        assert_eq!(InseeCode::parse("01001").unwrap().departement(), "01");
    }

    #[test]
    fn corsican_codes_are_accepted_and_uppercased() {
        assert_eq!(InseeCode::parse("2A004").unwrap().departement(), "2A");
        let c = InseeCode::parse(" 2b033 ").unwrap();
        assert_eq!(c.as_str(), "2B033");
        assert_eq!(c.departement(), "2B");
    }

    #[test]
    fn overseas_codes_give_a_three_digit_departement() {
        assert_eq!(InseeCode::parse("97411").unwrap().departement(), "974");
        assert_eq!(InseeCode::parse("97611").unwrap().departement(), "976");
        assert_eq!(InseeCode::parse("98818").unwrap().departement(), "988");
    }

    #[test]
    fn malformed_codes_are_refused_with_a_french_message() {
        for input in ["", "9205", "920500", "2C004", "A2004", "92O50", "2A00B"] {
            let err = InseeCode::parse(input).unwrap_err();
            assert!(
                err.to_string().starts_with("Code INSEE invalide"),
                "{input}"
            );
        }
    }
}
