//! Passerelle's domain model, kept **pure**: no I/O, no async, no clock reads, no global state.
//!
//! Everything that depends on the outside world is passed in: the current instant (`now`), the
//! time zone of the organisation (`chrono_tz::Tz`) and its département (for public holidays).
//! This keeps every rule here deterministic, cheap to test exhaustively and safe to fuzz.
//!
//! Values that cross the boundary of the application (phone numbers, e-mail addresses, INSEE,
//! NATINF, APPI and SIREN codes) are newtypes built by a `parse` constructor ("parse, don't
//! validate"): once a value exists it is valid, and its error carries a French message that can be
//! shown to the user as is.

#[macro_use]
mod code;

pub mod appi;
pub mod appointment;
pub mod email;
pub mod holidays;
pub mod insee;
pub mod limits;
pub mod measure;
pub mod names;
pub mod natinf;
pub mod opening;
pub mod phone;
pub mod referral;
pub mod siren;
pub mod slots;
pub mod template;
pub mod timing;
mod transition;

pub use appi::{AppiError, AppiNumber};
pub use appointment::{transition, AppointmentAction, AppointmentState};
pub use code::UnknownCode;
pub use email::{Email, EmailError};
pub use holidays::{easter_sunday, is_public_holiday, is_working_day, public_holidays};
pub use insee::{InseeCode, InseeError};
pub use measure::{Lang, MeasureKind, ObligationKind};
pub use natinf::{NatinfCode, NatinfError};
pub use opening::{check_free_time, OpeningHours, OpeningHoursError, SlotCheck};
pub use phone::{MobilePhone, PhoneError, PhoneKind, PhoneNumber, Territory};
pub use referral::{
    referral_transition, AlternativeKind, ClassementCategory, ClassementReason, DecisionKind,
    ReferralDecision, ReferralStatus,
};
pub use siren::{Siren, SirenError, Siret};
pub use slots::{
    generate_slots, series_starts, six_months_after, GeneratedSlot, SeriesError, WeeklySlotType,
};
pub use template::{
    french_date, french_time, sms_segments, to_gsm7, SmsEncoding, SmsSegments, Template,
    TemplateError, TemplateVars, Variable,
};
pub use timing::{
    earliest_allowed_at_or_after, immediate_send_time, is_allowed_at, latest_allowed_at_or_before,
    reminder_send_time, QuietHours,
};
pub use transition::TransitionError;
