//! When to send messages: reminders ahead of an appointment, and quiet hours.
//!
//! A message is only sent at an *allowed* local time: not on a Sunday, not on a public holiday of
//! the département, and within the day window `[quiet.end, quiet.start)` (08:00–20:00 by default).
//! Saturdays are allowed: a reminder for a Monday appointment goes out on Saturday evening rather
//! than not at all.

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::holidays::is_public_holiday;

/// Quiet period, spanning midnight: from `start` (20:00) to `end` (08:00) the next morning.
///
/// `end` must be earlier than `start`; the allowed window is `[end, start)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            start: NaiveTime::from_hms_opt(20, 0, 0).expect("valid time"),
            end: NaiveTime::from_hms_opt(8, 0, 0).expect("valid time"),
        }
    }
}

impl QuietHours {
    /// Last allowed minute of a day (19:59 by default).
    fn last_allowed_minute(self) -> NaiveTime {
        self.start - TimeDelta::minutes(1)
    }

    fn allows_time(self, time: NaiveTime) -> bool {
        time >= self.end && time < self.start
    }
}

/// Default hour of reminders, local time.
pub fn default_reminder_hour() -> NaiveTime {
    NaiveTime::from_hms_opt(10, 0, 0).expect("valid time")
}

/// Longest run of days without an allowed day we search through (Sunday + holidays is at most a
/// few days; this only guards against a nonsensical configuration).
const MAX_SEARCH_DAYS: usize = 31;

fn day_allowed(date: NaiveDate, departement: &str) -> bool {
    date.weekday() != Weekday::Sun && !is_public_holiday(date, departement)
}

fn local_allowed(local: NaiveDateTime, departement: &str, quiet: QuietHours) -> bool {
    day_allowed(local.date(), departement) && quiet.allows_time(local.time())
}

/// Whether a message may be sent at `t`.
pub fn is_allowed_at(t: DateTime<Utc>, tz: Tz, departement: &str, quiet: QuietHours) -> bool {
    local_allowed(t.with_timezone(&tz).naive_local(), departement, quiet)
}

/// Instant of a local time; a time in a DST gap moves by whole minutes in `direction` until it
/// exists, an ambiguous one takes its earliest instant.
fn resolve(tz: Tz, local: NaiveDateTime, forward: bool) -> DateTime<Utc> {
    let step = if forward {
        TimeDelta::minutes(1)
    } else {
        TimeDelta::minutes(-1)
    };
    let mut candidate = local;
    for _ in 0..(24 * 60) {
        if let Some(t) = tz.from_local_datetime(&candidate).earliest() {
            return t.with_timezone(&Utc);
        }
        candidate += step;
    }
    // No zone has a day-long gap; fall back to reading the time as UTC.
    Utc.from_utc_datetime(&local)
}

/// `t` if allowed, else the last allowed minute before it (e.g. Sunday 10:00 → Saturday 19:59,
/// 21:30 → 19:59 the same day, Monday 07:00 → Saturday 19:59).
pub fn latest_allowed_at_or_before(
    t: DateTime<Utc>,
    tz: Tz,
    departement: &str,
    quiet: QuietHours,
) -> DateTime<Utc> {
    let local = t.with_timezone(&tz).naive_local();
    if local_allowed(local, departement, quiet) {
        return t;
    }
    let date = local.date();
    if day_allowed(date, departement) && local.time() >= quiet.start {
        return resolve(tz, date.and_time(quiet.last_allowed_minute()), false).min(t);
    }
    let mut day = date;
    for _ in 0..MAX_SEARCH_DAYS {
        let Some(previous) = day.pred_opt() else {
            break;
        };
        day = previous;
        if day_allowed(day, departement) {
            return resolve(tz, day.and_time(quiet.last_allowed_minute()), false).min(t);
        }
    }
    t
}

/// `t` if allowed, else the first allowed instant after it (e.g. 21:30 → next allowed day 08:00).
pub fn earliest_allowed_at_or_after(
    t: DateTime<Utc>,
    tz: Tz,
    departement: &str,
    quiet: QuietHours,
) -> DateTime<Utc> {
    let local = t.with_timezone(&tz).naive_local();
    if local_allowed(local, departement, quiet) {
        return t;
    }
    let date = local.date();
    if day_allowed(date, departement) && local.time() < quiet.end {
        return resolve(tz, date.and_time(quiet.end), true).max(t);
    }
    let mut day = date;
    for _ in 0..MAX_SEARCH_DAYS {
        let Some(next) = day.succ_opt() else { break };
        day = next;
        if day_allowed(day, departement) {
            return resolve(tz, day.and_time(quiet.end), true).max(t);
        }
    }
    t
}

/// A short-notice reminder must still leave the person this much time before the appointment.
pub const SHORT_NOTICE_MIN_HOURS: i64 = 12;

/// When to send the reminder `days_before` days ahead of an appointment, or `None` when there is no good moment.
///
/// - Usually: `reminder_hour` local time on the appointment's local date minus `days_before`. When that day is not
///   allowed (a Sunday, a public holiday of the département) the reminder moves to the closest allowed day
///   *before* it, at the same daytime hour (Saturday 10:00 for a Monday appointment — a reminder early beats one
///   late, and a reminder at 19:59 is read by nobody).
/// - Short notice: when that moment has already passed at booking (a Thursday appointment booked on Tuesday
///   afternoon with J-2), the reminder goes at the reminder hour of the next allowed day after the booking that is
///   still at least [`SHORT_NOTICE_MIN_HOURS`] before the appointment; none when there is no such day (the summons
///   just sent then stands in for it).
///
/// A `reminder_hour` inside quiet hours is read as the default reminder hour (or the end of quiet hours).
pub fn reminder_send_time(
    appointment_start: DateTime<Utc>,
    days_before: u32,
    reminder_hour: NaiveTime,
    tz: Tz,
    departement: &str,
    quiet: QuietHours,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let hour = if quiet.allows_time(reminder_hour) {
        reminder_hour
    } else if quiet.allows_time(default_reminder_hour()) {
        default_reminder_hour()
    } else {
        quiet.end
    };
    let at_hour = |day: NaiveDate| resolve(tz, day.and_time(hour), true);
    let appointment_date = appointment_start.with_timezone(&tz).date_naive();
    let target_date = appointment_date.checked_sub_days(Days::new(u64::from(days_before)))?;

    // The usual moment: the reminder day, or the closest allowed day before it, strictly before the appointment.
    let mut day = target_date;
    for _ in 0..MAX_SEARCH_DAYS {
        if day_allowed(day, departement) && at_hour(day) < appointment_start {
            break;
        }
        day = day.pred_opt()?;
    }
    let usual = at_hour(day);
    if usual > now && usual < appointment_start {
        return Some(usual);
    }

    // Short notice: the next allowed day after the booking, far enough ahead of the appointment.
    let latest = appointment_start - TimeDelta::hours(SHORT_NOTICE_MIN_HOURS);
    let mut day = now.with_timezone(&tz).date_naive().succ_opt()?;
    while day <= appointment_date {
        if day_allowed(day, departement) {
            let t = at_hour(day);
            if t > latest {
                return None;
            }
            if t > now {
                return Some(t);
            }
        }
        day = day.succ_opt()?;
    }
    None
}

/// When to send a message due now (summon, cancelation…): `now` if allowed, else the next allowed
/// instant — unless that is not before the appointment, in which case an urgent notice beats quiet
/// hours and it goes out `now`.
pub fn immediate_send_time(
    now: DateTime<Utc>,
    tz: Tz,
    departement: &str,
    quiet: QuietHours,
    appointment_start: DateTime<Utc>,
) -> DateTime<Utc> {
    let next = earliest_allowed_at_or_after(now, tz, departement, quiet);
    if next >= appointment_start {
        now
    } else {
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;
    use chrono_tz::{America, Europe, Indian};

    fn local(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn offset_hours(t: DateTime<Utc>, tz: Tz) -> i32 {
        use chrono::Offset;
        let fixed: FixedOffset = t.with_timezone(&tz).offset().fix();
        fixed.local_minus_utc() / 3600
    }

    const PARIS: Tz = Europe::Paris;
    const Q: QuietHours = QuietHours {
        start: NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
    };

    fn ten() -> NaiveTime {
        default_reminder_hour()
    }

    fn long_ago() -> DateTime<Utc> {
        utc(2020, 1, 1, 0, 0)
    }

    #[test]
    fn default_quiet_hours_are_twenty_to_eight() {
        assert_eq!(QuietHours::default(), Q);
    }

    #[test]
    fn allowed_window_is_eight_inclusive_to_twenty_exclusive_except_sundays_and_holidays() {
        // Tuesday 1 June 2027.
        assert!(!is_allowed_at(
            local(PARIS, 2027, 6, 1, 7, 59),
            PARIS,
            "92",
            Q
        ));
        assert!(is_allowed_at(
            local(PARIS, 2027, 6, 1, 8, 0),
            PARIS,
            "92",
            Q
        ));
        assert!(is_allowed_at(
            local(PARIS, 2027, 6, 1, 19, 59),
            PARIS,
            "92",
            Q
        ));
        assert!(!is_allowed_at(
            local(PARIS, 2027, 6, 1, 20, 0),
            PARIS,
            "92",
            Q
        ));
        // Saturday yes, Sunday no, Ascension no.
        assert!(is_allowed_at(
            local(PARIS, 2027, 6, 5, 10, 0),
            PARIS,
            "92",
            Q
        ));
        assert!(!is_allowed_at(
            local(PARIS, 2027, 6, 6, 10, 0),
            PARIS,
            "92",
            Q
        ));
        assert!(!is_allowed_at(
            local(PARIS, 2027, 5, 6, 10, 0),
            PARIS,
            "92",
            Q
        ));
    }

    #[test]
    fn latest_allowed_moves_sunday_to_saturday_evening() {
        let sunday = local(PARIS, 2027, 6, 6, 10, 0);
        assert_eq!(
            latest_allowed_at_or_before(sunday, PARIS, "92", Q),
            local(PARIS, 2027, 6, 5, 19, 59)
        );
    }

    #[test]
    fn latest_allowed_moves_late_evening_to_nineteen_fifty_nine_same_day() {
        let evening = local(PARIS, 2027, 6, 1, 21, 30);
        assert_eq!(
            latest_allowed_at_or_before(evening, PARIS, "92", Q),
            local(PARIS, 2027, 6, 1, 19, 59)
        );
    }

    #[test]
    fn latest_allowed_moves_monday_early_morning_to_saturday() {
        let monday = local(PARIS, 2027, 6, 7, 7, 0);
        assert_eq!(
            latest_allowed_at_or_before(monday, PARIS, "92", Q),
            local(PARIS, 2027, 6, 5, 19, 59)
        );
    }

    #[test]
    fn allowed_instants_are_kept_as_is() {
        let t = local(PARIS, 2027, 6, 1, 12, 34);
        assert_eq!(latest_allowed_at_or_before(t, PARIS, "92", Q), t);
        assert_eq!(earliest_allowed_at_or_after(t, PARIS, "92", Q), t);
    }

    #[test]
    fn earliest_allowed_moves_late_evening_to_next_morning() {
        let evening = local(PARIS, 2027, 6, 1, 21, 30);
        assert_eq!(
            earliest_allowed_at_or_after(evening, PARIS, "92", Q),
            local(PARIS, 2027, 6, 2, 8, 0)
        );
        let early = local(PARIS, 2027, 6, 2, 6, 0);
        assert_eq!(
            earliest_allowed_at_or_after(early, PARIS, "92", Q),
            local(PARIS, 2027, 6, 2, 8, 0)
        );
    }

    #[test]
    fn earliest_allowed_skips_sunday_and_a_holiday() {
        // Saturday 15 May 2027 21:00 → Sunday 16 → Whit Monday 17 → Tuesday 18 08:00.
        let saturday = local(PARIS, 2027, 5, 15, 21, 0);
        assert_eq!(
            earliest_allowed_at_or_after(saturday, PARIS, "92", Q),
            local(PARIS, 2027, 5, 18, 8, 0)
        );
    }

    #[test]
    fn reminder_one_day_before_is_at_ten_local() {
        let appointment = local(PARIS, 2027, 6, 2, 14, 0); // Wednesday
        assert_eq!(
            reminder_send_time(appointment, 1, ten(), PARIS, "92", Q, long_ago()),
            Some(local(PARIS, 2027, 6, 1, 10, 0))
        );
    }

    #[test]
    fn reminder_two_days_before_is_at_ten_local() {
        let appointment = local(PARIS, 2027, 6, 3, 9, 0); // Thursday
        assert_eq!(
            reminder_send_time(appointment, 2, ten(), PARIS, "92", Q, long_ago()),
            Some(local(PARIS, 2027, 6, 1, 10, 0))
        );
    }

    #[test]
    fn monday_appointment_reminder_the_day_before_goes_out_saturday_morning() {
        let monday = local(PARIS, 2027, 6, 7, 9, 0);
        assert_eq!(
            reminder_send_time(monday, 1, ten(), PARIS, "92", Q, long_ago()),
            Some(local(PARIS, 2027, 6, 5, 10, 0))
        );
    }

    #[test]
    fn reminder_falling_on_sunday_moves_to_saturday_at_the_usual_hour() {
        let tuesday = local(PARIS, 2027, 6, 8, 9, 0);
        assert_eq!(
            reminder_send_time(tuesday, 2, ten(), PARIS, "92", Q, long_ago()),
            Some(local(PARIS, 2027, 6, 5, 10, 0))
        );
    }

    #[test]
    fn reminder_falling_on_ascension_moves_to_the_day_before() {
        let friday = local(PARIS, 2027, 5, 7, 9, 0);
        assert_eq!(
            reminder_send_time(friday, 1, ten(), PARIS, "92", Q, long_ago()),
            Some(local(PARIS, 2027, 5, 5, 10, 0))
        );
    }

    #[test]
    fn reminder_falling_on_good_friday_moves_only_in_alsace_moselle() {
        // Monday 29 March 2027 is Easter Monday, so use Saturday 27 March 10:00 with J-1.
        let saturday = local(PARIS, 2027, 3, 27, 10, 0);
        assert_eq!(
            reminder_send_time(saturday, 1, ten(), PARIS, "57", Q, long_ago()),
            Some(local(PARIS, 2027, 3, 25, 10, 0))
        );
        assert_eq!(
            reminder_send_time(saturday, 1, ten(), PARIS, "92", Q, long_ago()),
            Some(local(PARIS, 2027, 3, 26, 10, 0))
        );
    }

    #[test]
    fn reunion_reminder_uses_reunion_time_and_its_abolition_day() {
        let tz = Indian::Reunion;
        let appointment = local(tz, 2027, 6, 2, 9, 0);
        let sent = reminder_send_time(appointment, 1, ten(), tz, "974", Q, long_ago()).unwrap();
        assert_eq!(sent, utc(2027, 6, 1, 6, 0));
        // Tuesday 21 December 2027, J-1 = 20 December (abolition day in 974) → Saturday 18, 10:00.
        let appointment = local(tz, 2027, 12, 21, 9, 0);
        let sent = reminder_send_time(appointment, 1, ten(), tz, "974", Q, long_ago()).unwrap();
        assert_eq!(sent, local(tz, 2027, 12, 18, 10, 0));
        assert_eq!(sent, utc(2027, 12, 18, 6, 0));
    }

    #[test]
    fn guadeloupe_reminder_on_abolition_day_moves_to_the_day_before() {
        let tz = America::Guadeloupe;
        let friday = local(tz, 2027, 5, 28, 9, 0);
        let sent = reminder_send_time(friday, 1, ten(), tz, "971", Q, long_ago()).unwrap();
        // 26 May 10:00 in Guadeloupe (UTC−4) is 14:00 UTC.
        assert_eq!(sent, utc(2027, 5, 26, 14, 0));
        // Same appointment in Paris (92): 27 May is an ordinary Thursday.
        let paris = local(PARIS, 2027, 5, 28, 9, 0);
        assert_eq!(
            reminder_send_time(paris, 1, ten(), PARIS, "92", Q, long_ago()),
            Some(utc(2027, 5, 27, 8, 0))
        );
    }

    #[test]
    fn reminder_across_the_spring_time_change_uses_winter_offset_on_saturday() {
        // Summer time starts Sunday 28 March 2027 (also Easter); Easter Monday is a holiday, so
        // take Tuesday 30 March 10:00 (UTC+2).
        let tuesday = local(PARIS, 2027, 3, 30, 10, 0);
        assert_eq!(tuesday, utc(2027, 3, 30, 8, 0));
        // J-1 Easter Monday, Sunday, → Saturday 27 March 10:00 at UTC+1.
        let j1 = reminder_send_time(tuesday, 1, ten(), PARIS, "92", Q, long_ago()).unwrap();
        assert_eq!(j1, utc(2027, 3, 27, 9, 0));
        assert_eq!(offset_hours(j1, PARIS), 1);
        // J-2 is the Sunday of the change → same Saturday.
        let j2 = reminder_send_time(tuesday, 2, ten(), PARIS, "92", Q, long_ago()).unwrap();
        assert_eq!(j2, utc(2027, 3, 27, 9, 0));
        // Wednesday 31 March, J-1 Tuesday 30 at 10:00 summer time = 08:00 UTC.
        let wednesday = local(PARIS, 2027, 3, 31, 10, 0);
        let j1 = reminder_send_time(wednesday, 1, ten(), PARIS, "92", Q, long_ago()).unwrap();
        assert_eq!(j1, utc(2027, 3, 30, 8, 0));
        assert_eq!(offset_hours(j1, PARIS), 2);
    }

    #[test]
    fn reminder_across_the_autumn_time_change_uses_summer_offset_on_saturday() {
        // Winter time starts Sunday 31 October 2027; 1 November is Toussaint.
        let tuesday = local(PARIS, 2027, 11, 2, 10, 0);
        assert_eq!(tuesday, utc(2027, 11, 2, 9, 0));
        for days_before in [1, 2] {
            let sent = reminder_send_time(tuesday, days_before, ten(), PARIS, "92", Q, long_ago())
                .unwrap();
            assert_eq!(sent, utc(2027, 10, 30, 8, 0), "J-{days_before}");
            assert_eq!(offset_hours(sent, PARIS), 2);
        }
        // Wednesday 3 November, J-1 Tuesday 2 at 10:00 winter time = 09:00 UTC.
        let wednesday = local(PARIS, 2027, 11, 3, 10, 0);
        let sent = reminder_send_time(wednesday, 1, ten(), PARIS, "92", Q, long_ago()).unwrap();
        assert_eq!(sent, utc(2027, 11, 2, 9, 0));
        assert_eq!(offset_hours(sent, PARIS), 1);
    }

    #[test]
    fn reminder_already_past_is_not_sent() {
        let appointment = local(PARIS, 2027, 6, 2, 14, 0);
        let target = local(PARIS, 2027, 6, 1, 10, 0);
        assert_eq!(
            reminder_send_time(appointment, 1, ten(), PARIS, "92", Q, target),
            None
        );
        assert_eq!(
            reminder_send_time(
                appointment,
                1,
                ten(),
                PARIS,
                "92",
                Q,
                target - TimeDelta::seconds(1)
            ),
            Some(target)
        );
    }

    #[test]
    fn reminder_is_never_after_the_appointment() {
        // Same-day reminder at 10:00 for a 09:00 appointment: the day before, at the usual hour.
        let appointment = local(PARIS, 2027, 6, 2, 9, 0);
        let sent = reminder_send_time(appointment, 0, ten(), PARIS, "92", Q, long_ago()).unwrap();
        assert!(sent < appointment);
        assert_eq!(sent, local(PARIS, 2027, 6, 1, 10, 0));
    }

    #[test]
    fn reminder_hour_inside_quiet_hours_becomes_a_daytime_hour() {
        let appointment = local(PARIS, 2027, 6, 3, 9, 0);
        let late = NaiveTime::from_hms_opt(21, 0, 0).unwrap();
        assert_eq!(
            reminder_send_time(appointment, 1, late, PARIS, "92", Q, long_ago()),
            Some(local(PARIS, 2027, 6, 2, 10, 0))
        );
    }

    #[test]
    fn a_short_notice_booking_gets_its_reminder_the_next_allowed_day_at_least_twelve_hours_ahead() {
        // Sortie d'audience booked Tuesday 1 June 2027 at 15:00 for Thursday 3 June 09:00, J-2 reminders: J-2 (the
        // Tuesday 10:00) has passed; Wednesday 10:00 is 23 h ahead.
        let thursday = local(PARIS, 2027, 6, 3, 9, 0);
        let booked = local(PARIS, 2027, 6, 1, 15, 0);
        assert_eq!(
            reminder_send_time(thursday, 2, ten(), PARIS, "92", Q, booked),
            Some(local(PARIS, 2027, 6, 2, 10, 0))
        );
        // Booked Tuesday 15:00 for Wednesday 16:00: Wednesday 10:00 is only 6 h ahead → no reminder.
        let wednesday = local(PARIS, 2027, 6, 2, 16, 0);
        assert_eq!(
            reminder_send_time(wednesday, 1, ten(), PARIS, "92", Q, booked),
            None
        );
        // Booked Saturday 5 June 15:00 for Tuesday 8 June 09:00 with J-2: Sunday is skipped, Monday 10:00 is
        // 23 h ahead.
        let tuesday = local(PARIS, 2027, 6, 8, 9, 0);
        let saturday = local(PARIS, 2027, 6, 5, 15, 0);
        assert_eq!(
            reminder_send_time(tuesday, 2, ten(), PARIS, "92", Q, saturday),
            Some(local(PARIS, 2027, 6, 7, 10, 0))
        );
        // Booked Friday 14 May 2027 at 18:00 for Monday 17 May (Whit Monday is a holiday but the appointment
        // was booked anyway) 14:00: Saturday 15 May 10:00 is the next allowed day.
        let whit_monday = local(PARIS, 2027, 5, 17, 14, 0);
        let friday = local(PARIS, 2027, 5, 14, 18, 0);
        assert_eq!(
            reminder_send_time(whit_monday, 2, ten(), PARIS, "92", Q, friday),
            Some(local(PARIS, 2027, 5, 15, 10, 0))
        );
    }

    #[test]
    fn immediate_send_is_now_when_allowed() {
        let now = local(PARIS, 2027, 6, 1, 15, 0);
        let appointment = local(PARIS, 2027, 6, 10, 9, 0);
        assert_eq!(immediate_send_time(now, PARIS, "92", Q, appointment), now);
    }

    #[test]
    fn immediate_send_waits_for_the_morning_when_the_appointment_is_later() {
        let now = local(PARIS, 2027, 6, 5, 21, 30); // Saturday evening
        let appointment = local(PARIS, 2027, 6, 7, 9, 0); // Monday
        assert_eq!(
            immediate_send_time(now, PARIS, "92", Q, appointment),
            local(PARIS, 2027, 6, 7, 8, 0)
        );
    }

    #[test]
    fn urgent_notice_beats_quiet_hours_when_the_appointment_comes_first() {
        let now = local(PARIS, 2027, 6, 1, 21, 30);
        let appointment = local(PARIS, 2027, 6, 2, 8, 0);
        assert_eq!(immediate_send_time(now, PARIS, "92", Q, appointment), now);
        let early = local(PARIS, 2027, 6, 2, 7, 30);
        assert_eq!(immediate_send_time(now, PARIS, "92", Q, early), now);
    }

    #[test]
    fn immediate_send_in_reunion_follows_reunion_nights() {
        let tz = Indian::Reunion;
        // 17:30 UTC is 21:30 in Réunion, though only 19:30 in Paris.
        let now = utc(2027, 6, 1, 17, 30);
        let appointment = local(tz, 2027, 6, 4, 9, 0);
        assert_eq!(
            immediate_send_time(now, tz, "974", Q, appointment),
            local(tz, 2027, 6, 2, 8, 0)
        );
        assert_eq!(immediate_send_time(now, PARIS, "92", Q, appointment), now);
    }
}
