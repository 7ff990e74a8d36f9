//! French public holidays (jours fériés), per département.
//!
//! Code du travail L3133-1 lists the eleven national holidays. Alsace-Moselle (57, 67, 68) keeps
//! Good Friday and 26 December from its local law; overseas territories add the commemoration of
//! the abolition of slavery (loi 83-550 and décret 83-1003), each on its own date.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Easter Sunday of the Gregorian calendar (anonymous computus, Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("computus yields a valid date")
}

/// Day of the abolition of slavery, for the territories that have one.
fn abolition_of_slavery(departement: &str) -> Option<(u32, u32)> {
    match departement {
        "971" => Some((5, 27)),  // Guadeloupe
        "972" => Some((5, 22)),  // Martinique
        "973" => Some((6, 10)),  // Guyane
        "974" => Some((12, 20)), // La Réunion
        "976" => Some((4, 27)),  // Mayotte
        "977" => Some((10, 9)),  // Saint-Barthélemy
        "978" => Some((5, 28)),  // Saint-Martin
        _ => None,
    }
}

fn is_alsace_moselle(departement: &str) -> bool {
    matches!(departement, "57" | "67" | "68")
}

/// Public holidays of `year` in `departement` ("92", "2A", "974"…), sorted by date, with their
/// French names.
pub fn public_holidays(year: i32, departement: &str) -> Vec<(NaiveDate, &'static str)> {
    let departement = departement.trim();
    let ymd = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d).expect("fixed holiday exists");
    let easter = easter_sunday(year);
    let after_easter = |days: u64| easter.checked_add_days(Days::new(days)).expect("in range");

    let mut days = vec![
        (ymd(1, 1), "Jour de l'an"),
        (after_easter(1), "Lundi de Pâques"),
        (ymd(5, 1), "Fête du Travail"),
        (ymd(5, 8), "Victoire 1945"),
        (after_easter(39), "Ascension"),
        (after_easter(50), "Lundi de Pentecôte"),
        (ymd(7, 14), "Fête nationale"),
        (ymd(8, 15), "Assomption"),
        (ymd(11, 1), "Toussaint"),
        (ymd(11, 11), "Armistice 1918"),
        (ymd(12, 25), "Noël"),
    ];
    if is_alsace_moselle(departement) {
        let good_friday = easter.checked_sub_days(Days::new(2)).expect("in range");
        days.push((good_friday, "Vendredi saint"));
        days.push((ymd(12, 26), "Saint-Étienne"));
    }
    if let Some((m, d)) = abolition_of_slavery(departement) {
        days.push((ymd(m, d), "Abolition de l'esclavage"));
    }
    days.sort_by_key(|(date, _)| *date);
    days
}

pub fn is_public_holiday(date: NaiveDate, departement: &str) -> bool {
    public_holidays(date.year(), departement)
        .iter()
        .any(|(d, _)| *d == date)
}

/// Not a Saturday, not a Sunday, not a public holiday of the département.
pub fn is_working_day(date: NaiveDate, departement: &str) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_public_holiday(date, departement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_sunday_matches_known_dates() {
        assert_eq!(easter_sunday(2024), date(2024, 3, 31));
        assert_eq!(easter_sunday(2025), date(2025, 4, 20));
        assert_eq!(easter_sunday(2026), date(2026, 4, 5));
        assert_eq!(easter_sunday(2027), date(2027, 3, 28));
        assert_eq!(easter_sunday(2038), date(2038, 4, 25));
        assert_eq!(easter_sunday(2019), date(2019, 4, 21));
        assert_eq!(easter_sunday(2008), date(2008, 3, 23));
        assert_eq!(easter_sunday(2000), date(2000, 4, 23));
    }

    #[test]
    fn ascension_and_whit_monday_2027_are_not_working_days_anywhere() {
        for dept in [
            "92", "75", "57", "67", "68", "2A", "971", "972", "973", "974", "976",
        ] {
            assert!(
                !is_working_day(date(2027, 5, 6), dept),
                "Ascension in {dept}"
            );
            assert!(
                !is_working_day(date(2027, 5, 17), dept),
                "Whit Monday in {dept}"
            );
            assert!(
                !is_working_day(date(2027, 3, 29), dept),
                "Easter Monday in {dept}"
            );
        }
    }

    #[test]
    fn good_friday_is_a_holiday_in_moselle_but_a_working_day_in_hauts_de_seine() {
        assert!(is_public_holiday(date(2027, 3, 26), "57"));
        assert!(!is_working_day(date(2027, 3, 26), "57"));
        assert!(is_public_holiday(date(2027, 3, 26), "67"));
        assert!(is_public_holiday(date(2027, 3, 26), "68"));
        assert!(!is_public_holiday(date(2027, 3, 26), "92"));
        assert!(is_working_day(date(2027, 3, 26), "92"));
    }

    #[test]
    fn saint_etienne_is_a_holiday_only_in_alsace_moselle() {
        assert!(is_public_holiday(date(2028, 12, 26), "68"));
        assert!(!is_public_holiday(date(2028, 12, 26), "92"));
    }

    #[test]
    fn abolition_of_slavery_is_a_holiday_on_each_territorys_own_date() {
        assert!(is_public_holiday(date(2027, 12, 20), "974"));
        assert!(!is_public_holiday(date(2027, 12, 20), "92"));
        assert!(is_working_day(date(2027, 12, 20), "92"));
        assert!(is_public_holiday(date(2027, 5, 27), "971"));
        assert!(!is_public_holiday(date(2027, 5, 27), "972"));
        assert!(is_public_holiday(date(2027, 5, 22), "972"));
        assert!(is_public_holiday(date(2027, 6, 10), "973"));
        assert!(is_public_holiday(date(2027, 4, 27), "976"));
        assert!(!is_public_holiday(date(2027, 4, 27), "974"));
    }

    #[test]
    fn national_list_has_eleven_days_sorted_with_french_names() {
        let days = public_holidays(2027, "92");
        assert_eq!(days.len(), 11);
        assert!(days.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(days[0], (date(2027, 1, 1), "Jour de l'an"));
        assert_eq!(days[1], (date(2027, 3, 29), "Lundi de Pâques"));
        assert_eq!(days[3], (date(2027, 5, 6), "Ascension"));
        assert_eq!(days[4], (date(2027, 5, 8), "Victoire 1945"));
        assert_eq!(days[5], (date(2027, 5, 17), "Lundi de Pentecôte"));
        assert_eq!(days[10], (date(2027, 12, 25), "Noël"));
        assert_eq!(public_holidays(2027, "57").len(), 13);
        assert_eq!(public_holidays(2027, "974").len(), 12);
    }

    #[test]
    fn weekends_are_not_working_days() {
        assert!(!is_working_day(date(2027, 3, 27), "92"));
        assert!(!is_working_day(date(2027, 3, 28), "92"));
        assert!(is_working_day(date(2027, 3, 30), "92"));
    }
}
