//! SIREN (company) and SIRET (establishment) numbers, checked with the Luhn key.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SirenError {
    #[error("Numéro SIREN invalide : il doit comporter exactement 9 chiffres.")]
    SirenLength,
    #[error("Numéro SIRET invalide : il doit comporter exactement 14 chiffres.")]
    SiretLength,
    #[error("Numéro SIREN invalide : la clé de contrôle ne correspond pas, vérifiez la saisie.")]
    SirenChecksum,
    #[error("Numéro SIRET invalide : la clé de contrôle ne correspond pas, vérifiez la saisie.")]
    SiretChecksum,
}

/// La Poste's SIREN: its establishments' SIRET numbers do not follow the Luhn key but have a sum
/// of digits that is a multiple of 5 (INSEE rule).
pub const LA_POSTE_SIREN: &str = "356000000";

fn only_digits(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\t'))
        .collect()
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

fn digit_sum(digits: &str) -> u32 {
    digits.bytes().map(|b| u32::from(b - b'0')).sum()
}

/// A company identifier: 9 digits with a valid Luhn key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Siren(String);

impl Siren {
    pub fn parse(input: &str) -> Result<Siren, SirenError> {
        let s = only_digits(input);
        if s.len() != 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SirenError::SirenLength);
        }
        if s != LA_POSTE_SIREN && !luhn_valid(&s) {
            return Err(SirenError::SirenChecksum);
        }
        Ok(Siren(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(Siren, SirenError);

/// An establishment identifier: SIREN + 5-digit NIC, valid Luhn key (La Poste: digit sum % 5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Siret(String);

impl Siret {
    pub fn parse(input: &str) -> Result<Siret, SirenError> {
        let s = only_digits(input);
        if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SirenError::SiretLength);
        }
        let valid = if s.starts_with(LA_POSTE_SIREN) {
            digit_sum(&s) % 5 == 0
        } else {
            luhn_valid(&s)
        };
        if !valid {
            return Err(SirenError::SiretChecksum);
        }
        Ok(Siret(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn siren(&self) -> Siren {
        Siren(self.0[..9].to_owned())
    }
}

string_newtype!(Siret, SirenError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_siren_is_accepted_with_spaces() {
        assert_eq!(Siren::parse("552 100 554").unwrap().as_str(), "552100554");
        assert!(Siren::parse("732829320").is_ok());
        assert!(Siren::parse("110 000 015").is_ok());
    }

    #[test]
    fn la_poste_siren_is_accepted() {
        assert!(Siren::parse("356 000 000").is_ok());
    }

    #[test]
    fn wrong_length_and_wrong_key_give_distinct_french_errors() {
        assert_eq!(
            Siren::parse("55210055").unwrap_err(),
            SirenError::SirenLength
        );
        assert_eq!(
            Siren::parse("5521005540").unwrap_err(),
            SirenError::SirenLength
        );
        assert_eq!(
            Siren::parse("55210055A").unwrap_err(),
            SirenError::SirenLength
        );
        let err = Siren::parse("552100555").unwrap_err();
        assert_eq!(err, SirenError::SirenChecksum);
        assert!(err.to_string().contains("clé de contrôle"));
    }

    #[test]
    fn siret_uses_luhn_except_for_la_poste_establishments() {
        let siret = Siret::parse("552 100 554 00013").unwrap();
        assert_eq!(siret.siren().as_str(), "552100554");
        assert_eq!(
            Siret::parse("55210055400015").unwrap_err(),
            SirenError::SiretChecksum
        );
        // La Poste: digit sum 3+5+6+0+0+0+0+0+0+0+0+0+0+1 = 15, a multiple of 5, Luhn invalid.
        assert!(!luhn_valid("35600000000001"));
        assert!(Siret::parse("35600000000001").is_ok());
        assert_eq!(
            Siret::parse("35600000000002").unwrap_err(),
            SirenError::SiretChecksum
        );
        assert_eq!(
            Siret::parse("3560000000000").unwrap_err(),
            SirenError::SiretLength
        );
    }
}
