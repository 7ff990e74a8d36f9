//! Maximum lengths of free-text fields, and the one French message that says so.
//!
//! The database repeats the main ones as constraints (migration 0005), so a field can be neither longer in a form
//! nor in a row written by another path.

/// First and last names of agents and of people followed.
pub const NAME: usize = 100;
/// An e-mail address (RFC 5321 path limit).
pub const EMAIL: usize = 254;
/// A postal address line.
pub const ADDRESS: usize = 300;
/// A city name.
pub const CITY: usize = 100;
/// A reference such as a prosecutor's case number.
pub const REFERENCE: usize = 50;

/// `Some("Ce champ est limité à N caractères.")` when `value` (trimmed) is longer than `max` characters.
pub fn too_long(value: &str, max: usize) -> Option<String> {
    (value.trim().chars().count() > max).then(|| message(max))
}

/// The message for a field limited to `max` characters.
pub fn message(max: usize) -> String {
    format!("Ce champ est limité à {max} caractères.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert_eq!(too_long(&"é".repeat(100), NAME), None);
        assert_eq!(
            too_long(&"é".repeat(101), NAME).as_deref(),
            Some("Ce champ est limité à 100 caractères.")
        );
        assert_eq!(too_long("  court  ", 5), None);
    }
}
