//! NATINF offence codes (nature d'infraction): a number of 1 to 6 digits.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NatinfError {
    #[error("Code NATINF invalide : un nombre de 1 à 6 chiffres est attendu, par exemple 7875.")]
    Invalid,
}

/// Stored canonically without leading zeros (`"007875"` → `"7875"`), since the code is a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NatinfCode(String);

impl NatinfCode {
    pub fn parse(input: &str) -> Result<NatinfCode, NatinfError> {
        let s = input.trim();
        if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NatinfError::Invalid);
        }
        let canonical = s.trim_start_matches('0');
        if canonical.is_empty() {
            // No offence has code 0.
            return Err(NatinfError::Invalid);
        }
        Ok(NatinfCode(canonical.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn value(&self) -> u32 {
        self.0.parse().expect("validated at parse")
    }
}

impl PartialOrd for NatinfCode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Numeric order (`999` before `1000`).
impl Ord for NatinfCode {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value().cmp(&other.value())
    }
}

string_newtype!(NatinfCode, NatinfError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_six_digits_are_accepted() {
        assert_eq!(NatinfCode::parse("7").unwrap().as_str(), "7");
        assert_eq!(NatinfCode::parse(" 7875 ").unwrap().as_str(), "7875");
        assert_eq!(NatinfCode::parse("123456").unwrap().value(), 123_456);
    }

    #[test]
    fn leading_zeros_are_dropped_for_storage() {
        assert_eq!(NatinfCode::parse("007875").unwrap().as_str(), "7875");
        assert_eq!(
            NatinfCode::parse("007875").unwrap(),
            NatinfCode::parse("7875").unwrap()
        );
    }

    #[test]
    fn codes_sort_numerically() {
        assert!(NatinfCode::parse("999").unwrap() < NatinfCode::parse("1000").unwrap());
    }

    #[test]
    fn malformed_codes_are_refused_with_a_french_message() {
        for input in ["", "0", "000000", "1234567", "12a4", "-12", "12 34"] {
            let err = NatinfCode::parse(input).unwrap_err();
            assert!(
                err.to_string().starts_with("Code NATINF invalide"),
                "{input}"
            );
        }
    }
}
