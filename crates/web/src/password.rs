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

/// How long a request waits for a hashing slot before it is answered 503 (`Retry-After`).
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// All hashing slots stayed taken for [`MAX_WAIT`].
#[derive(Debug)]
pub struct Busy;

/// Each argon2id hash holds ~19 MiB while it runs: at most one per core runs at once, so a login flood queues
/// (then gets 503) instead of growing the process without bound.
fn slots() -> &'static std::sync::Arc<tokio::sync::Semaphore> {
    static SLOTS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::sync::Arc::new(tokio::sync::Semaphore::new(cores))
    })
}

/// Runs one hash on the blocking pool once a slot is free; `Busy` after waiting [`MAX_WAIT`].
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
    let permit = tokio::time::timeout(MAX_WAIT, slots().clone().acquire_owned())
        .await
        .map_err(|_| Busy)?
        .map_err(|_| Busy)?;
    let joined = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await;
    match joined {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Busy),
    }
}

/// [`verify`] off the async threads, bounded by the hashing slots. The only way handlers check a password.
pub async fn verify_bounded(password: &str, stored: &str) -> Result<bool, Busy> {
    let (pw, stored) = (password.to_string(), stored.to_string());
    bounded(move || verify(&pw, &stored)).await
}

/// [`verify`] against [`dummy_hash`]: the same work when there is no account to check (timing reveals nothing).
pub async fn verify_dummy_bounded(password: &str) -> Result<bool, Busy> {
    verify_bounded(password, dummy_hash()).await
}

/// [`hash`] off the async threads, bounded by the hashing slots.
pub async fn hash_bounded(password: &str) -> Result<String, Busy> {
    let pw = password.to_string();
    bounded(move || hash(&pw)).await
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
