//! Booking slots generated from weekly recurring slot types.

use chrono::Datelike;
use chrono::{DateTime, Months, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::holidays::is_working_day;

/// Default slot length when an agent does not say otherwise.
pub const DEFAULT_SLOT_DURATION_MINUTES: u32 = 30;

/// A slot that comes back every week, e.g. "Tuesday 09:00, 30 min, 3 persons".
/// `start` is a wall-clock time in the organisation's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WeeklySlotType {
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub duration_minutes: u32,
    pub capacity: u32,
}

/// One concrete slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GeneratedSlot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    pub local_start: NaiveTime,
    pub capacity: u32,
}

/// How far ahead slots are opened: six calendar months (31 August → 28/29 February).
pub fn six_months_after(date: NaiveDate) -> NaiveDate {
    date.checked_add_months(Months::new(6))
        .expect("date far from the end of the calendar")
}

/// Slots of `types` on every working day of `departement` from `from` to `until`, both included,
/// sorted by start.
///
/// Times are wall-clock times in `tz`. A local time that does not exist (spring-forward gap) is
/// skipped; one that exists twice (autumn fall-back) takes its earliest instant. Types with a zero
/// capacity or duration produce nothing.
pub fn generate_slots(
    types: &[WeeklySlotType],
    from: NaiveDate,
    until: NaiveDate,
    departement: &str,
    tz: Tz,
) -> Vec<GeneratedSlot> {
    let mut slots = Vec::new();
    for date in from.iter_days().take_while(|d| *d <= until) {
        if !is_working_day(date, departement) {
            continue;
        }
        for slot_type in types.iter().filter(|t| t.weekday == date.weekday()) {
            if slot_type.capacity == 0 || slot_type.duration_minutes == 0 {
                continue;
            }
            let Some(starts_at) = tz
                .from_local_datetime(&date.and_time(slot_type.start))
                .earliest()
            else {
                continue;
            };
            let starts_at = starts_at.with_timezone(&Utc);
            slots.push(GeneratedSlot {
                starts_at,
                ends_at: starts_at + TimeDelta::minutes(i64::from(slot_type.duration_minutes)),
                local_date: date,
                local_start: slot_type.start,
                capacity: slot_type.capacity,
            });
        }
    }
    slots.sort_by_key(|s| (s.starts_at, s.ends_at));
    slots
}

/// Why a series of slot start times is refused (French, shown under the field named by [`SeriesError::field`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    #[error("Indiquez un intervalle entre deux créneaux d'au moins 5 minutes.")]
    Interval,
    #[error("L'heure de fin doit être après l'heure de début.")]
    EndBeforeStart,
    #[error("La plage horaire est plus courte que l'intervalle : elle ne contient qu'un créneau. Laissez l'heure de fin vide pour un seul créneau.")]
    TooShort,
}

impl SeriesError {
    /// The form field the message belongs to.
    pub fn field(&self) -> &'static str {
        match self {
            SeriesError::Interval => "every",
            SeriesError::EndBeforeStart | SeriesError::TooShort => "end",
        }
    }
}

/// Start times of a series of slots: from `start`, every `every_minutes`, the last one starting at `end` at the
/// latest (so 09:00–11:00 every 30 minutes gives 09:00, 09:30, 10:00, 10:30 and 11:00). Without `end`, the single
/// `start`. Refused: an interval under 5 minutes, an end not after the start, a range shorter than one interval.
pub fn series_starts(
    start: NaiveTime,
    end: Option<NaiveTime>,
    every_minutes: i64,
) -> Result<Vec<NaiveTime>, SeriesError> {
    let Some(end) = end else {
        return Ok(vec![start]);
    };
    if every_minutes < 5 {
        return Err(SeriesError::Interval);
    }
    if end <= start {
        return Err(SeriesError::EndBeforeStart);
    }
    let step = TimeDelta::minutes(every_minutes);
    if end - start < step {
        return Err(SeriesError::TooShort);
    }
    let mut out = vec![];
    let mut t = start;
    while t <= end {
        out.push(t);
        let (next, wrapped) = t.overflowing_add_signed(step);
        if wrapped != 0 || next <= t {
            break;
        }
        t = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{Africa, America, Europe, Indian};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn every_weekday_at(h: u32) -> Vec<WeeklySlotType> {
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|weekday| WeeklySlotType {
            weekday,
            start: time(h, 0),
            duration_minutes: DEFAULT_SLOT_DURATION_MINUTES,
            capacity: 2,
        })
        .collect()
    }

    fn dates(slots: &[GeneratedSlot]) -> Vec<NaiveDate> {
        slots.iter().map(|s| s.local_date).collect()
    }

    #[test]
    fn good_friday_has_no_slots_in_metz_but_has_some_in_nanterre() {
        let types = every_weekday_at(9);
        let metz = generate_slots(
            &types,
            date(2027, 3, 22),
            date(2027, 3, 31),
            "57",
            Europe::Paris,
        );
        let nanterre = generate_slots(
            &types,
            date(2027, 3, 22),
            date(2027, 3, 31),
            "92",
            Europe::Paris,
        );
        assert!(!dates(&metz).contains(&date(2027, 3, 26)));
        assert!(dates(&nanterre).contains(&date(2027, 3, 26)));
        // Easter Monday 29 March and the weekend are skipped everywhere.
        for slots in [&metz, &nanterre] {
            assert!(!dates(slots).contains(&date(2027, 3, 29)));
            assert!(!dates(slots).contains(&date(2027, 3, 27)));
            assert!(!dates(slots).contains(&date(2027, 3, 28)));
        }
        assert_eq!(metz.len(), 4 + 2);
        assert_eq!(nanterre.len(), 5 + 2);
    }

    #[test]
    fn abolition_day_has_no_slots_in_saint_denis_de_la_reunion() {
        let types = every_weekday_at(9);
        let saint_denis = generate_slots(
            &types,
            date(2027, 12, 20),
            date(2027, 12, 20),
            "974",
            Indian::Reunion,
        );
        assert!(saint_denis.is_empty());
        let nanterre = generate_slots(
            &types,
            date(2027, 12, 20),
            date(2027, 12, 20),
            "92",
            Europe::Paris,
        );
        assert_eq!(nanterre.len(), 1);
    }

    #[test]
    fn ascension_and_whit_monday_have_no_slots() {
        let types = every_weekday_at(9);
        let slots = generate_slots(
            &types,
            date(2027, 5, 3),
            date(2027, 5, 21),
            "92",
            Europe::Paris,
        );
        assert!(!dates(&slots).contains(&date(2027, 5, 6)));
        assert!(!dates(&slots).contains(&date(2027, 5, 17)));
        assert!(dates(&slots).contains(&date(2027, 5, 7)));
    }

    #[test]
    fn reunion_nine_oclock_slot_is_five_utc() {
        let types = every_weekday_at(9);
        let slots = generate_slots(
            &types,
            date(2027, 6, 1),
            date(2027, 6, 1),
            "974",
            Indian::Reunion,
        );
        assert_eq!(slots.len(), 1);
        assert_eq!(slots[0].starts_at, utc(2027, 6, 1, 5, 0));
        assert_eq!(slots[0].ends_at, utc(2027, 6, 1, 5, 30));
        assert_eq!(slots[0].local_start, time(9, 0));
        assert_eq!(slots[0].capacity, 2);
    }

    #[test]
    fn guadeloupe_slot_is_four_hours_behind_utc() {
        let types = every_weekday_at(9);
        let slots = generate_slots(
            &types,
            date(2027, 6, 1),
            date(2027, 6, 1),
            "971",
            America::Guadeloupe,
        );
        assert_eq!(slots[0].starts_at, utc(2027, 6, 1, 13, 0));
    }

    #[test]
    fn paris_offset_follows_summer_and_winter_time() {
        let types = every_weekday_at(9);
        let winter = generate_slots(
            &types,
            date(2027, 1, 12),
            date(2027, 1, 12),
            "92",
            Europe::Paris,
        );
        let summer = generate_slots(
            &types,
            date(2027, 7, 12),
            date(2027, 7, 12),
            "92",
            Europe::Paris,
        );
        assert_eq!(winter[0].starts_at, utc(2027, 1, 12, 8, 0));
        assert_eq!(summer[0].starts_at, utc(2027, 7, 12, 7, 0));
        // Friday before and Tuesday after the spring change (28 March 2027).
        let around = generate_slots(
            &types,
            date(2027, 3, 26),
            date(2027, 3, 30),
            "92",
            Europe::Paris,
        );
        assert_eq!(around[0].starts_at, utc(2027, 3, 26, 8, 0));
        assert_eq!(around[1].starts_at, utc(2027, 3, 30, 7, 0));
    }

    #[test]
    fn nonexistent_local_time_is_skipped_and_ambiguous_takes_the_earliest() {
        // French zones change time on Sundays, when there are no slots; Egypt changes on
        // weekdays (2023: Friday 28 April 00:00 → 01:00, Thursday 26 October 24:00 → 23:00).
        let at = |weekday, h, m| WeeklySlotType {
            weekday,
            start: time(h, m),
            duration_minutes: 30,
            capacity: 1,
        };
        let gap = generate_slots(
            &[at(Weekday::Fri, 0, 30)],
            date(2023, 4, 28),
            date(2023, 4, 28),
            "92",
            Africa::Cairo,
        );
        assert!(gap.is_empty());
        let normal = generate_slots(
            &[at(Weekday::Fri, 0, 30)],
            date(2023, 5, 5),
            date(2023, 5, 5),
            "92",
            Africa::Cairo,
        );
        assert_eq!(normal.len(), 1);
        let twice = generate_slots(
            &[at(Weekday::Thu, 23, 30)],
            date(2023, 10, 26),
            date(2023, 10, 26),
            "92",
            Africa::Cairo,
        );
        assert_eq!(twice.len(), 1);
        assert_eq!(twice[0].starts_at, utc(2023, 10, 26, 20, 30));
    }

    #[test]
    fn slots_are_sorted_by_start_across_types() {
        let types = [
            WeeklySlotType {
                weekday: Weekday::Tue,
                start: time(14, 0),
                duration_minutes: 30,
                capacity: 1,
            },
            WeeklySlotType {
                weekday: Weekday::Mon,
                start: time(10, 0),
                duration_minutes: 30,
                capacity: 1,
            },
            WeeklySlotType {
                weekday: Weekday::Mon,
                start: time(9, 0),
                duration_minutes: 45,
                capacity: 1,
            },
        ];
        let slots = generate_slots(
            &types,
            date(2027, 6, 7),
            date(2027, 6, 8),
            "92",
            Europe::Paris,
        );
        let starts: Vec<_> = slots
            .iter()
            .map(|s| (s.local_date, s.local_start))
            .collect();
        assert_eq!(
            starts,
            vec![
                (date(2027, 6, 7), time(9, 0)),
                (date(2027, 6, 7), time(10, 0)),
                (date(2027, 6, 8), time(14, 0)),
            ]
        );
        assert_eq!(
            slots[0].ends_at - slots[0].starts_at,
            TimeDelta::minutes(45)
        );
    }

    #[test]
    fn zero_capacity_types_and_reversed_ranges_produce_nothing() {
        let closed = [WeeklySlotType {
            weekday: Weekday::Mon,
            start: time(9, 0),
            duration_minutes: 30,
            capacity: 0,
        }];
        assert!(generate_slots(
            &closed,
            date(2027, 6, 7),
            date(2027, 6, 7),
            "92",
            Europe::Paris
        )
        .is_empty());
        let types = every_weekday_at(9);
        assert!(generate_slots(
            &types,
            date(2027, 6, 8),
            date(2027, 6, 7),
            "92",
            Europe::Paris
        )
        .is_empty());
    }

    #[test]
    fn six_months_after_clamps_to_the_end_of_the_month() {
        assert_eq!(six_months_after(date(2027, 1, 15)), date(2027, 7, 15));
        assert_eq!(six_months_after(date(2027, 8, 31)), date(2028, 2, 29));
        assert_eq!(six_months_after(date(2026, 8, 31)), date(2027, 2, 28));
    }

    #[test]
    fn six_months_of_tuesday_slots_skip_holidays() {
        let types = [WeeklySlotType {
            weekday: Weekday::Tue,
            start: time(9, 0),
            duration_minutes: 30,
            capacity: 3,
        }];
        let from = date(2027, 1, 1);
        let slots = generate_slots(&types, from, six_months_after(from), "92", Europe::Paris);
        // 26 Tuesdays from 5 Jan to 29 Jun 2027; none is a holiday in 92.
        assert_eq!(slots.len(), 26);
        assert!(slots.iter().all(|s| s.local_date.weekday() == Weekday::Tue));
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn a_series_runs_from_start_to_end_every_n_minutes() {
        assert_eq!(
            series_starts(hm(9, 0), Some(hm(11, 0)), 30),
            Ok(vec![hm(9, 0), hm(9, 30), hm(10, 0), hm(10, 30), hm(11, 0)])
        );
        assert_eq!(
            series_starts(hm(9, 0), Some(hm(10, 50)), 45),
            Ok(vec![hm(9, 0), hm(9, 45), hm(10, 30)])
        );
        assert_eq!(series_starts(hm(9, 0), None, 0), Ok(vec![hm(9, 0)]));
        assert_eq!(
            series_starts(hm(23, 0), Some(hm(23, 59)), 30),
            Ok(vec![hm(23, 0), hm(23, 30)])
        );
    }

    #[test]
    fn a_zero_interval_an_end_before_the_start_or_a_too_short_range_is_refused() {
        assert_eq!(
            series_starts(hm(9, 0), Some(hm(11, 0)), 0),
            Err(SeriesError::Interval)
        );
        assert_eq!(
            series_starts(hm(11, 0), Some(hm(9, 0)), 30),
            Err(SeriesError::EndBeforeStart)
        );
        assert_eq!(
            series_starts(hm(9, 0), Some(hm(9, 10)), 30),
            Err(SeriesError::TooShort)
        );
        assert_eq!(SeriesError::TooShort.field(), "end");
    }
}
