//! Appointment lifecycle: `created → booked`, then `booked → canceled | fulfilled | no_show | excused`.
//!
//! Rebooking is a cancel followed by a new booking linked to the old one, so it is not a
//! transition of its own.

use chrono::{DateTime, Utc};

pub use crate::transition::TransitionError;

code_enum! {
    /// State of an appointment.
    pub enum AppointmentState ("l'état du rendez-vous") {
        /// Being prepared, not yet in an agenda.
        Created => ("created", "Créé"),
        Booked => ("booked", "Planifié"),
        Canceled => ("canceled", "Annulé"),
        Fulfilled => ("fulfilled", "Honoré"),
        NoShow => ("no_show", "Absent (non excusé)"),
        Excused => ("excused", "Excusé"),
    }
}

impl AppointmentState {
    /// No further change is possible.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Self::Canceled | Self::Fulfilled | Self::NoShow | Self::Excused
        )
    }

    /// The outcome (fulfilled, no-show, excused) has been recorded.
    pub const fn is_outcome(self) -> bool {
        matches!(self, Self::Fulfilled | Self::NoShow | Self::Excused)
    }
}

code_enum! {
    /// What an agent does to an appointment.
    pub enum AppointmentAction ("l'action sur le rendez-vous") {
        Book => ("book", "Planifier"),
        Cancel => ("cancel", "Annuler"),
        Fulfil => ("fulfil", "Déclarer honoré"),
        NoShow => ("no_show", "Déclarer absent"),
        Excuse => ("excuse", "Déclarer excusé"),
    }
}

/// The state after `action`, or why it is refused.
///
/// Only a future appointment can be booked; the outcome can only be recorded once its time has
/// come; only a booked future appointment can be canceled (a past one gets an outcome instead).
pub fn transition(
    from: AppointmentState,
    action: AppointmentAction,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<AppointmentState, TransitionError> {
    use AppointmentAction as A;
    use AppointmentState as S;
    match (from, action) {
        (S::Created, A::Book) if starts_at > now => Ok(S::Booked),
        (S::Created, A::Book) => Err(TransitionError::BookingInThePast),
        (S::Booked, A::Cancel) if starts_at > now => Ok(S::Canceled),
        (S::Booked, A::Cancel) => Err(TransitionError::CancelInThePast),
        (S::Booked, A::Fulfil | A::NoShow | A::Excuse) if starts_at > now => {
            Err(TransitionError::OutcomeBeforeStart)
        }
        (S::Booked, A::Fulfil) => Ok(S::Fulfilled),
        (S::Booked, A::NoShow) => Ok(S::NoShow),
        (S::Booked, A::Excuse) => Ok(S::Excused),
        (from, action) => Err(TransitionError::Appointment { from, action }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};
    use AppointmentAction as A;
    use AppointmentState as S;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 6, 1, 10, 0, 0).unwrap()
    }
    fn future() -> DateTime<Utc> {
        now() + TimeDelta::hours(24)
    }
    fn past() -> DateTime<Utc> {
        now() - TimeDelta::minutes(1)
    }

    #[test]
    fn booking_a_created_future_appointment_books_it() {
        assert_eq!(
            transition(S::Created, A::Book, future(), now()),
            Ok(S::Booked)
        );
    }

    #[test]
    fn booking_a_past_or_current_appointment_is_refused() {
        assert_eq!(
            transition(S::Created, A::Book, past(), now()),
            Err(TransitionError::BookingInThePast)
        );
        assert_eq!(
            transition(S::Created, A::Book, now(), now()),
            Err(TransitionError::BookingInThePast)
        );
    }

    #[test]
    fn only_a_future_booked_appointment_can_be_canceled() {
        assert_eq!(
            transition(S::Booked, A::Cancel, future(), now()),
            Ok(S::Canceled)
        );
        assert_eq!(
            transition(S::Booked, A::Cancel, past(), now()),
            Err(TransitionError::CancelInThePast)
        );
    }

    #[test]
    fn outcome_is_recorded_once_the_time_has_come() {
        for starts_at in [past(), now()] {
            assert_eq!(
                transition(S::Booked, A::Fulfil, starts_at, now()),
                Ok(S::Fulfilled)
            );
            assert_eq!(
                transition(S::Booked, A::NoShow, starts_at, now()),
                Ok(S::NoShow)
            );
            assert_eq!(
                transition(S::Booked, A::Excuse, starts_at, now()),
                Ok(S::Excused)
            );
        }
    }

    #[test]
    fn outcome_before_the_appointment_time_is_refused_with_a_french_message() {
        for action in [A::Fulfil, A::NoShow, A::Excuse] {
            let err = transition(S::Booked, action, future(), now()).unwrap_err();
            assert_eq!(err, TransitionError::OutcomeBeforeStart);
            assert_eq!(
                err.to_string(),
                "Le résultat ne peut être saisi qu'après l'heure du rendez-vous."
            );
        }
    }

    #[test]
    fn every_other_state_action_pair_is_refused_whatever_the_time() {
        let allowed = [
            (S::Created, A::Book),
            (S::Booked, A::Cancel),
            (S::Booked, A::Fulfil),
            (S::Booked, A::NoShow),
            (S::Booked, A::Excuse),
        ];
        let mut refused = 0;
        for &from in S::ALL {
            for &action in A::ALL {
                if allowed.contains(&(from, action)) {
                    continue;
                }
                for starts_at in [past(), future()] {
                    assert_eq!(
                        transition(from, action, starts_at, now()),
                        Err(TransitionError::Appointment { from, action }),
                        "{from:?} {action:?}"
                    );
                }
                refused += 1;
            }
        }
        assert_eq!(refused, 6 * 5 - allowed.len());
    }

    #[test]
    fn refused_action_message_names_the_action_and_state_in_french() {
        let err = transition(S::Canceled, A::Fulfil, past(), now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Action impossible : « Déclarer honoré » n'est pas possible pour un rendez-vous à l'état « Annulé »."
        );
    }

    #[test]
    fn final_states_are_exactly_the_ones_without_exit() {
        for &from in S::ALL {
            let has_exit = A::ALL.iter().any(|&a| {
                transition(from, a, past(), now()).is_ok()
                    || transition(from, a, future(), now()).is_ok()
            });
            assert_eq!(from.is_final(), !has_exit, "{from:?}");
        }
    }

    #[test]
    fn states_round_trip_through_their_codes() {
        let codes: Vec<_> = S::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            codes,
            [
                "created",
                "booked",
                "canceled",
                "fulfilled",
                "no_show",
                "excused"
            ]
        );
        for &s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        for &a in A::ALL {
            assert_eq!(a.as_str().parse::<A>(), Ok(a));
        }
        let err = "honoré".parse::<S>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "Valeur inconnue pour l'état du rendez-vous : « honoré »."
        );
    }

    #[test]
    fn states_have_french_labels() {
        assert_eq!(S::Booked.label(), "Planifié");
        assert_eq!(S::Canceled.label(), "Annulé");
        assert_eq!(S::Fulfilled.label(), "Honoré");
        assert_eq!(S::NoShow.label(), "Absent (non excusé)");
        assert_eq!(S::Excused.label(), "Excusé");
    }
}
