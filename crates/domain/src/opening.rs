//! Opening hours of an organisation and the check of a free-time appointment against them.
//!
//! A free-time appointment ("horaire libre") must fall on a day the organisation is open, within its opening hours,
//! and not on a public holiday of the place's département. Saturdays are possible but unusual: the agent confirms
//! them explicitly.

use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};

use crate::holidays::public_holidays;

/// Days and hours an organisation receives people (local wall-clock time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpeningHours {
    pub opens: NaiveTime,
    pub closes: NaiveTime,
    /// Monday first.
    pub days: [bool; 7],
}

impl Default for OpeningHours {
    /// 08:00–19:00, Monday to Saturday.
    fn default() -> Self {
        Self {
            opens: NaiveTime::from_hms_opt(8, 0, 0).expect("valid"),
            closes: NaiveTime::from_hms_opt(19, 0, 0).expect("valid"),
            days: [true, true, true, true, true, true, false],
        }
    }
}

/// Why opening hours typed by an admin are refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpeningHoursError {
    #[error("Saisissez l'heure d'ouverture au format hh:mm.")]
    Opens,
    #[error("Saisissez l'heure de fermeture au format hh:mm.")]
    Closes,
    #[error("L'heure de fermeture doit être après l'heure d'ouverture.")]
    Order,
    #[error("Cochez au moins un jour d'ouverture.")]
    NoDay,
}

impl OpeningHours {
    /// Parses "HH:MM" times and the open days.
    pub fn parse(opens: &str, closes: &str, days: [bool; 7]) -> Result<Self, OpeningHoursError> {
        let opens = NaiveTime::parse_from_str(opens.trim(), "%H:%M")
            .map_err(|_| OpeningHoursError::Opens)?;
        let closes = NaiveTime::parse_from_str(closes.trim(), "%H:%M")
            .map_err(|_| OpeningHoursError::Closes)?;
        if closes <= opens {
            return Err(OpeningHoursError::Order);
        }
        if !days.iter().any(|d| *d) {
            return Err(OpeningHoursError::NoDay);
        }
        Ok(Self {
            opens,
            closes,
            days,
        })
    }

    /// The open days as stored: "1234560" style, one digit per open day (1 = Monday … 7 = Sunday).
    pub fn days_code(&self) -> String {
        (0..7)
            .filter(|i| self.days[*i])
            .map(|i| char::from(b'1' + i as u8))
            .collect()
    }

    /// Reads the stored form back (unknown characters are ignored).
    pub fn from_stored(opens: &str, closes: &str, days_code: &str) -> Option<Self> {
        let mut days = [false; 7];
        for c in days_code.chars() {
            if let Some(d) = c.to_digit(10).filter(|d| (1..=7).contains(d)) {
                days[d as usize - 1] = true;
            }
        }
        Self::parse(opens, closes, days).ok()
    }

    pub fn is_open_on(&self, day: Weekday) -> bool {
        self.days[day.num_days_from_monday() as usize]
    }
}

/// The verdict on a free-time appointment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotCheck {
    Ok,
    /// Impossible: the French reason shown to the agent.
    Refused(String),
    /// Possible once the agent confirms (a Saturday): the French warning.
    NeedsConfirmation(String),
}

const WEEKDAYS_FR: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

/// Checks a free-time appointment at `at` in the organisation's `tz`, for a place in `departement`.
pub fn check_free_time(
    at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    departement: &str,
    hours: &OpeningHours,
) -> SlotCheck {
    let local = at.with_timezone(&tz).naive_local();
    let date = local.date();
    if let Some((_, name)) = public_holidays(date.year(), departement)
        .into_iter()
        .find(|(d, _)| *d == date)
    {
        return SlotCheck::Refused(format!(
            "Ce jour est férié ({name}) : choisissez un autre jour."
        ));
    }
    let day = date.weekday();
    if !hours.is_open_on(day) {
        return SlotCheck::Refused(format!(
            "Le service est fermé le {} : choisissez un autre jour.",
            WEEKDAYS_FR[day.num_days_from_monday() as usize]
        ));
    }
    let time = local.time();
    if time < hours.opens || time >= hours.closes {
        return SlotCheck::Refused(format!(
            "Choisissez une heure pendant les horaires d'ouverture, de {} à {}.",
            crate::french_time(hours.opens),
            crate::french_time(hours.closes)
        ));
    }
    if day == Weekday::Sat {
        return SlotCheck::NeedsConfirmation(
            "Ce rendez-vous tombe un samedi : cochez la case pour confirmer.".into(),
        );
    }
    SlotCheck::Ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Paris;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Paris
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_weekday_within_opening_hours_is_accepted() {
        // Tuesday 2 March 2027, 14:30.
        let r = check_free_time(
            at(2027, 3, 2, 14, 30),
            Paris,
            "92",
            &OpeningHours::default(),
        );
        assert_eq!(r, SlotCheck::Ok);
    }

    #[test]
    fn a_public_holiday_of_the_departement_is_refused() {
        // 1 May 2027 everywhere; 26 December only in Moselle / Alsace.
        let h = OpeningHours::default();
        assert!(matches!(
            check_free_time(at(2027, 5, 1, 10, 0), Paris, "92", &h),
            SlotCheck::Refused(m) if m.contains("férié")
        ));
        assert!(matches!(
            check_free_time(at(2028, 12, 26, 10, 0), Paris, "57", &h),
            SlotCheck::Refused(_)
        ));
        assert_eq!(
            check_free_time(at(2028, 12, 26, 10, 0), Paris, "92", &h),
            SlotCheck::Ok
        );
    }

    #[test]
    fn sundays_and_night_hours_are_refused() {
        let h = OpeningHours::default();
        // Sunday 7 March 2027.
        assert!(matches!(
            check_free_time(at(2027, 3, 7, 10, 0), Paris, "92", &h),
            SlotCheck::Refused(m) if m.contains("dimanche")
        ));
        for (hh, mm) in [(3, 0), (7, 59), (19, 0), (22, 30)] {
            assert!(
                matches!(
                    check_free_time(at(2027, 3, 2, hh, mm), Paris, "92", &h),
                    SlotCheck::Refused(m) if m.contains("8h00") || m.contains("08h00")
                ),
                "{hh}:{mm}"
            );
        }
        assert_eq!(
            check_free_time(at(2027, 3, 2, 8, 0), Paris, "92", &h),
            SlotCheck::Ok
        );
    }

    #[test]
    fn a_saturday_needs_confirmation_unless_closed() {
        let mut h = OpeningHours::default();
        assert!(matches!(
            check_free_time(at(2027, 3, 6, 10, 0), Paris, "92", &h),
            SlotCheck::NeedsConfirmation(_)
        ));
        h.days[5] = false;
        assert!(matches!(
            check_free_time(at(2027, 3, 6, 10, 0), Paris, "92", &h),
            SlotCheck::Refused(_)
        ));
    }

    #[test]
    fn local_time_is_that_of_the_organisation() {
        // 09:00 in Réunion is 06:00 in Paris: open there.
        let reunion = chrono_tz::Indian::Reunion;
        let t = reunion
            .with_ymd_and_hms(2027, 3, 2, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            check_free_time(t, reunion, "974", &OpeningHours::default()),
            SlotCheck::Ok
        );
    }

    #[test]
    fn typed_hours_are_checked_and_stored_as_day_digits() {
        let days = [true, true, true, true, true, false, false];
        let h = OpeningHours::parse("09:00", "17:30", days).unwrap();
        assert_eq!(h.days_code(), "12345");
        assert_eq!(
            OpeningHours::from_stored("09:00", "17:30", "12345"),
            Some(h)
        );
        assert_eq!(
            OpeningHours::parse("18:00", "09:00", days),
            Err(OpeningHoursError::Order)
        );
        assert_eq!(
            OpeningHours::parse("9h", "17:00", days),
            Err(OpeningHoursError::Opens)
        );
        assert_eq!(
            OpeningHours::parse("09:00", "17:00", [false; 7]),
            Err(OpeningHoursError::NoDay)
        );
    }
}
