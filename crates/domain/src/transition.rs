//! The error shared by the domain's state machines (appointments, referrals).

use crate::appointment::{AppointmentAction, AppointmentState};
use crate::referral::ReferralStatus;

/// A refused state change. Messages are French and can be shown as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error(
        "Action impossible : « {} » n'est pas possible pour un rendez-vous à l'état « {} ».",
        .action.label(),
        .from.label()
    )]
    Appointment {
        from: AppointmentState,
        action: AppointmentAction,
    },
    #[error("Seul un rendez-vous à venir peut être planifié : l'heure de ce rendez-vous est déjà passée.")]
    BookingInThePast,
    #[error("Le résultat ne peut être saisi qu'après l'heure du rendez-vous.")]
    OutcomeBeforeStart,
    #[error("Ce rendez-vous est passé : il ne peut plus être annulé. Indiquez plutôt s'il a été honoré, si la personne était absente ou excusée.")]
    CancelInThePast,
    #[error(
        "Le signalement ne peut pas passer de l'état « {} » à l'état « {} ».",
        .from.label(),
        .to.label()
    )]
    Referral {
        from: ReferralStatus,
        to: ReferralStatus,
    },
    #[error(
        "Le signalement est à l'état « {} », qui est définitif : il ne peut plus changer d'état.",
        .from.label()
    )]
    ReferralFinal { from: ReferralStatus },
}
