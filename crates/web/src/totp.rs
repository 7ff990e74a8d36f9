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

/// A new random secret (160 bits), base32.
pub fn new_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

/// Checks a 6-digit code at `unix_time`, accepting one step of clock skew either way.
pub fn check(secret_b32: &str, code: &str, unix_time: u64) -> bool {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    totp(secret_b32, "agent").is_some_and(|t| t.check(&code, unix_time))
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
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise_ignoring_dashes() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), 10);
        assert_eq!(normalise_recovery_code(" AbCd-EfGh "), "abcdefgh");
    }
}
