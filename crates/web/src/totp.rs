//! Time-based one-time passwords (RFC 6238) for the agents' second factor.

use totp_rs::{Algorithm, Secret, TOTP};

fn totp(secret_b32: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().ok()?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some("Passerelle".to_string()),
        account.to_string(),
    )
    .ok()
}

/// Prefix of a TOTP secret stored encrypted; values without it are secrets stored in clear by earlier versions,
/// still accepted (and re-encrypted at the next enrolment).
const SEALED_PREFIX: &str = "enc1:";

fn context(user_id: &str) -> String {
    format!("totp:{user_id}")
}

/// The secret as stored in the database: encrypted with the master key, bound to the user.
pub fn seal(keyring: &files::Keyring, user_id: &str, secret_b32: &str) -> String {
    format!(
        "{SEALED_PREFIX}{}",
        keyring.seal(secret_b32.as_bytes(), &context(user_id))
    )
}

/// The base32 secret from its stored form (encrypted, or in clear from an earlier version).
pub fn open(keyring: &files::Keyring, user_id: &str, stored: &str) -> Option<String> {
    match stored.strip_prefix(SEALED_PREFIX) {
        Some(sealed) => keyring
            .open(sealed, &context(user_id))
            .and_then(|b| String::from_utf8(b).ok()),
        None => Some(stored.to_string()),
    }
}

/// A new random secret (160 bits), base32.
pub fn new_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

/// Checks a 6-digit code at `unix_time`, accepting one step of clock skew either way.
pub fn check(secret_b32: &str, code: &str, unix_time: u64) -> bool {
    matching_step(secret_b32, code, unix_time).is_some()
}

/// The time step (unix time / 30) whose code this is, within one step of clock skew either way; the caller
/// refuses a step already used (`store::users::accept_totp_step`), so a code works once.
pub fn matching_step(secret_b32: &str, code: &str, unix_time: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret_b32, "agent")?;
    let now_step = unix_time / 30;
    // Every candidate is compared (constant time per comparison), the latest match wins.
    let mut found = None;
    for step in [now_step.saturating_sub(1), now_step, now_step + 1] {
        let expected = t.generate(step * 30);
        let same = expected
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same {
            found = Some(step as i64);
        }
    }
    found
}

pub fn otpauth_url(secret_b32: &str, account: &str) -> Option<String> {
    totp(secret_b32, account).map(|t| t.get_url())
}

/// The code for `unix_time` (tests and the enrolment page's self-check).
pub fn code_at(secret_b32: &str, unix_time: u64) -> Option<String> {
    totp(secret_b32, "agent").map(|t| t.generate(unix_time))
}

/// Ten single-use recovery codes, shown once (format `xxxx-xxxx`).
pub fn recovery_codes() -> Vec<String> {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..10)
        .map(|_| {
            let mut s = String::with_capacity(9);
            for i in 0..8 {
                if i == 4 {
                    s.push('-');
                }
                s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
            }
            s
        })
        .collect()
}

/// Recovery codes are compared in a normalised form (case, spaces and dashes ignored).
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_valid_in_its_window_and_the_next_but_not_later() {
        let s = new_secret();
        let t = 1_800_000_000;
        let c = code_at(&s, t).unwrap();
        assert!(check(&s, &c, t));
        assert!(check(&s, &c, t + 30));
        assert!(!check(&s, &c, t + 120));
        assert!(!check(&s, "000000x", t));
        assert_eq!(matching_step(&s, &c, t + 30), Some((t / 30) as i64));
        let next = code_at(&s, t + 30).unwrap();
        assert_eq!(matching_step(&s, &next, t), Some((t / 30 + 1) as i64));
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise_ignoring_dashes() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), 10);
        assert_eq!(normalise_recovery_code(" AbCd-EfGh "), "abcdefgh");
    }

    #[test]
    fn stored_secrets_are_encrypted_and_clear_ones_still_read() {
        let k = files::Keyring::random();
        let s = new_secret();
        let stored = seal(&k, "u1", &s);
        assert!(stored.starts_with("enc1:") && !stored.contains(&s));
        assert_eq!(open(&k, "u1", &stored), Some(s.clone()));
        assert_eq!(open(&k, "u2", &stored), None);
        assert_eq!(open(&k, "u1", &s), Some(s));
    }
}
