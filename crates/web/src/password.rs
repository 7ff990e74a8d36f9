//! Password hashing (argon2id, OWASP parameters) and the password policy.
//!
//! An argon2id hash works in ~19 MiB. Handlers hash through [`verify_bounded`] / [`hash_bounded`]: at most one
//! hash per core runs at once, on a fixed set of hashing threads that each reuse one work area, so the memory of a
//! login flood is bounded (one work area per core) instead of growing with the number of requests — freeing and
//! reallocating 19 MiB per hash on ever-changing threads left hundreds of MiB resident (bench/login_rss.sh).

use std::cell::RefCell;

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Minimum length of a password (ANSSI recommends 12+ characters for accounts with a second factor available).
pub const MIN_LENGTH: usize = 12;

thread_local! {
    /// The argon2 work area of this thread, kept between hashes.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Raw argon2 in this thread's reused work area.
fn raw_hash(argon: &Argon2, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        let n = params.block_count();
        if m.len() < n {
            m.resize(n, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut m[..n])
            .is_ok()
    })
}

/// A PHC string `$argon2id$v=19$m=19456,t=2,p=1$salt$hash` with the default (OWASP) parameters.
pub fn hash(password: &str) -> String {
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_buf)
        .expect("a generated salt decodes");
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    assert!(
        raw_hash(&argon, &params, password.as_bytes(), salt_bytes, &mut out),
        "argon2 hashing with default parameters cannot fail"
    );
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("default parameters encode"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).expect("32-byte output")),
    }
    .to_string()
}

/// Constant-time verification (any argon2 variant and parameters found in the stored hash); a malformed stored
/// hash never verifies.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Some(expected), Some(salt)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed.hash,
        parsed.salt,
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    raw_hash(&argon, &params, password.as_bytes(), salt, &mut out)
        && Output::new(&out).is_ok_and(|o| o == expected)
}

/// How long a request waits for a hashing slot before it is answered 503 (`Retry-After`).
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// All hashing slots stayed taken for [`MAX_WAIT`].
#[derive(Debug)]
pub struct Busy;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// One slot per hashing thread.
fn slots() -> &'static std::sync::Arc<tokio::sync::Semaphore> {
    static SLOTS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    SLOTS.get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(cores())))
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads (one per core), fed through a channel.
fn hashing_threads() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<Job>> {
    static THREADS: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    THREADS.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..cores() {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let job = rx.lock().map(|r| r.recv());
                    match job {
                        Ok(Ok(job)) => job(),
                        _ => break,
                    }
                })
                .expect("start a hashing thread");
        }
        std::sync::Mutex::new(tx)
    })
}

/// Runs one hash on a hashing thread once a slot is free; `Busy` after waiting [`MAX_WAIT`].
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
    let _permit = tokio::time::timeout(MAX_WAIT, slots().acquire())
        .await
        .map_err(|_| Busy)?
        .map_err(|_| Busy)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        let _ = tx.send(result);
    });
    hashing_threads()
        .lock()
        .map_err(|_| Busy)?
        .send(job)
        .map_err(|_| Busy)?;
    match rx.await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
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
    fn hashes_agree_with_the_argon2_crate_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // Stored by earlier versions (the crate's own hasher), and other parameters: still verified.
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default()
            .hash_password(b"mot de passe existant", &salt)
            .unwrap()
            .to_string();
        assert!(verify("mot de passe existant", &old));
        assert!(!verify("mot de passe existanT", &old));
        let params = Params::new(8192, 3, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
            .hash_password(b"autre", &salt)
            .unwrap()
            .to_string();
        assert!(verify("autre", &other));
        // Made here, checked by the crate.
        let new = hash("nouveau mot de passe");
        let parsed = PasswordHash::new(&new).unwrap();
        assert!(Argon2::default()
            .verify_password(b"nouveau mot de passe", &parsed)
            .is_ok());
        assert_eq!(parsed.params.get_decimal("m"), Some(19456));
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
