//! How people's names are written in a record: first names with each part capitalised ("jean-pierre" →
//! "Jean-Pierre"), last names upper-cased, both trimmed with inner spaces collapsed — the way court and probation
//! documents write them, so the same person reads the same everywhere (lists, PDFs, SMS).

/// "  jean-pierre " → "Jean-Pierre", "marie  claire" → "Marie Claire", "ÉLODIE" → "Élodie".
pub fn first_name(input: &str) -> String {
    let collapsed = collapse_spaces(input);
    let mut out = String::with_capacity(collapsed.len());
    let mut start_of_part = true;
    for c in collapsed.chars() {
        if start_of_part {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start_of_part = c == ' ' || c == '-';
    }
    out
}

/// " le  gall " → "LE GALL", "nguyễn" → "NGUYỄN".
pub fn last_name(input: &str) -> String {
    collapse_spaces(input).to_uppercase()
}

fn collapse_spaces(input: &str) -> String {
    input.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_names_get_each_part_capitalised() {
        assert_eq!(first_name("jean-pierre "), "Jean-Pierre");
        assert_eq!(first_name("marie claire"), "Marie Claire");
        assert_eq!(first_name("  MARIE   CLAIRE  "), "Marie Claire");
        assert_eq!(first_name("élodie"), "Élodie");
        assert_eq!(first_name("ANNE-SOPHIE"), "Anne-Sophie");
        assert_eq!(first_name("çağla"), "Çağla");
        assert_eq!(first_name(""), "");
    }

    #[test]
    fn last_names_are_upper_cased_trimmed_and_collapsed() {
        assert_eq!(last_name(" le  gall "), "LE GALL");
        assert_eq!(last_name("Lefèvre"), "LEFÈVRE");
        assert_eq!(last_name("nguyễn"), "NGUYỄN");
        assert_eq!(last_name("de la\tFontaine"), "DE LA FONTAINE");
    }
}
