//! E-mail addresses, trimmed and lowercased.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Veuillez saisir une adresse e-mail.")]
    Empty,
    #[error("Adresse e-mail invalide (exemple attendu : prenom.nom@exemple.fr).")]
    Invalid,
}

/// Maximum length of an address (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Maximum length of the local part (RFC 5321).
const MAX_LOCAL_LEN: usize = 64;

/// A plausible e-mail address: one `@`, a non-empty local part, a dotted domain, no spaces.
///
/// Deliverability is only proven by sending a code, which the application does; this type only
/// catches typing mistakes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > MAX_EMAIL_LEN
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
        {
            return Err(EmailError::Invalid);
        }
        let (local, domain) = s.split_once('@').ok_or(EmailError::Invalid)?;
        if local.is_empty() || local.len() > MAX_LOCAL_LEN || domain.contains('@') {
            return Err(EmailError::Invalid);
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err(EmailError::Invalid);
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

string_newtype!(Email, EmailError);

/// Masked: an address is personal data and `Debug` ends up in logs.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.0.chars().next().unwrap_or('*');
        write!(f, "Email({first}***@{})", self.domain())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_is_trimmed_and_lowercased() {
        let e = Email::parse("  Jeanne.Dupont@Justice.GOUV.fr ").unwrap();
        assert_eq!(e.as_str(), "jeanne.dupont@justice.gouv.fr");
        assert_eq!(e.domain(), "justice.gouv.fr");
    }

    #[test]
    fn plus_addressing_and_subdomains_are_accepted() {
        assert!(Email::parse("a+spip@mail.interieur.gouv.fr").is_ok());
        assert!(Email::parse("x@y.fr").is_ok());
    }

    #[test]
    fn empty_address_is_refused() {
        assert_eq!(Email::parse("  ").unwrap_err(), EmailError::Empty);
    }

    #[test]
    fn malformed_addresses_are_refused_with_a_french_message() {
        for input in [
            "jeanne",
            "jeanne@",
            "@justice.fr",
            "jeanne@justice",
            "jeanne@@justice.fr",
            "jeanne@a@justice.fr",
            "jeanne dupont@justice.fr",
            "jeanne@justice..fr",
            "jeanne@.justice.fr",
            "jeanne@justice.fr.",
            "<jeanne@justice.fr>",
        ] {
            let err = Email::parse(input).unwrap_err();
            assert_eq!(err, EmailError::Invalid, "{input}");
            assert!(err.to_string().starts_with("Adresse e-mail invalide"));
        }
    }

    #[test]
    fn address_longer_than_254_characters_is_refused() {
        let domain = format!("{}.fr", "d".repeat(250));
        assert_eq!(
            Email::parse(&format!("a@{domain}")).unwrap_err(),
            EmailError::Invalid
        );
        let ok = format!("a@{}.fr", "d".repeat(249));
        assert_eq!(ok.len(), 254);
        assert!(Email::parse(&ok).is_ok());
    }

    #[test]
    fn debug_masks_the_local_part() {
        let e = Email::parse("jeanne@justice.fr").unwrap();
        assert_eq!(format!("{e:?}"), "Email(j***@justice.fr)");
    }

    #[test]
    fn serde_round_trips_as_a_string() {
        let e: Email = serde_json::from_str("\"A@B.FR\"").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"a@b.fr\"");
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }
}
