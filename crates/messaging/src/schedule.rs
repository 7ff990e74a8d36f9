//! When the messages of a booking leave, from the pure rules of `domain::timing`: the summon at once (or at the next
//! allowed instant, quiet hours), the reminder J-1 or J-2 at the organisation's reminder hour, moved *earlier* when
//! that falls in quiet hours, never after the appointment.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use domain::timing::{immediate_send_time, reminder_send_time, QuietHours};

/// Per appointment type: how many days ahead (1 or 2) and at which local hour (default 10:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReminderPolicy {
    pub days_before: u32,
    pub hour: NaiveTime,
}

impl Default for ReminderPolicy {
    fn default() -> Self {
        ReminderPolicy {
            days_before: 1,
            hour: domain::timing::default_reminder_hour(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookingSchedule {
    pub summon_at: DateTime<Utc>,
    /// None when the reminder's moment has passed or would not come after the summon (booked the day before).
    pub reminder_at: Option<DateTime<Utc>>,
}

/// Due instants of the summon and the reminder of an appointment booked at `now`, in the organisation's time zone
/// and département (public holidays).
pub fn schedule_for_booking(
    now: DateTime<Utc>,
    appointment_start: DateTime<Utc>,
    tz: Tz,
    departement: &str,
    reminder: ReminderPolicy,
    quiet: QuietHours,
) -> BookingSchedule {
    let summon_at = immediate_send_time(now, tz, departement, quiet, appointment_start);
    let reminder_at = reminder_send_time(
        appointment_start,
        reminder.days_before,
        reminder.hour,
        tz,
        departement,
        quiet,
        now,
    )
    .filter(|r| *r > summon_at);
    BookingSchedule {
        summon_at,
        reminder_at,
    }
}
