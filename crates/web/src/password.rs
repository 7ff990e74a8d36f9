//! Password hashing (argon2id, OWASP parameters) and the password policy.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// Minimum length of a password (ANSSI recommends 12+ characters for accounts with a second factor available).
pub const MIN_LENGTH: usize = 12;

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with default parameters cannot fail")
        .to_string()
}

/// Constant-time verification; a malformed stored hash never verifies.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash that matches no password, verified when the account does not exist so that timing reveals nothing.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("aucun compte ne porte ce mot de passe"))
}

/// French message when the new password does not meet the policy.
pub fn check_policy(password: &str, confirmation: &str) -> Result<(), &'static str> {
    if password.chars().count() < MIN_LENGTH {
        return Err("Le mot de passe doit contenir au moins 12 caractères.");
    }
    if password.chars().count() > 256 {
        return Err("Le mot de passe ne doit pas dépasser 256 caractères.");
    }
    if password != confirmation {
        return Err("Les deux mots de passe ne sont pas identiques.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_is_argon2id() {
        let h = hash("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterz", &h));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn short_or_mismatched_passwords_are_refused_in_french() {
        assert_eq!(
            check_policy("court", "court"),
            Err("Le mot de passe doit contenir au moins 12 caractères.")
        );
        assert!(check_policy("assez long mot", "assez long mot!").is_err());
        assert!(check_policy("assez long mot", "assez long mot").is_ok());
    }
}
