//! Info Parquet referrals (signalements, art. 40 of the code de procédure pénale) and the
//! parquet's decision on them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use crate::transition::TransitionError;

code_enum! {
    /// Where a referral stands, as both sides see it.
    pub enum ReferralStatus ("l'état du signalement") {
        /// Being written by the administration; only its author's service sees it.
        Draft => ("draft", "Brouillon"),
        /// Sent to a parquet, not yet registered.
        Sent => ("sent", "Transmis au parquet"),
        /// Registered by the greffe under the parquet's own case number.
        Registered => ("registered", "Enregistré"),
        /// Assigned to a magistrate.
        Assigned => ("assigned", "Attribué à un magistrat"),
        UnderInvestigation => ("under_investigation", "Enquête en cours"),
        Decided => ("decided", "Décision rendue"),
        /// Sent on to another parquet, which receives it as `Sent`.
        Transferred => ("transferred", "Transmis à un autre parquet"),
    }
}

impl ReferralStatus {
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Decided | Self::Transferred)
    }

    /// Statuses reachable from `self`.
    pub const fn next(self) -> &'static [ReferralStatus] {
        use ReferralStatus as S;
        match self {
            S::Draft => &[S::Sent],
            S::Sent => &[S::Registered, S::Transferred],
            S::Registered => &[S::Assigned, S::Decided, S::Transferred],
            S::Assigned => &[S::UnderInvestigation, S::Decided, S::Transferred],
            S::UnderInvestigation => &[S::Decided],
            S::Decided | S::Transferred => &[],
        }
    }
}

/// Whether a referral may go from `from` to `to`.
///
/// A decision can be taken right at registration (e.g. an obvious classement) or after
/// assignment. Once under investigation the case stays with its parquet until decided.
/// `Decided` and `Transferred` are final; the receiving parquet gets a transferred referral as a
/// new `Sent` one.
pub fn referral_transition(
    from: ReferralStatus,
    to: ReferralStatus,
) -> Result<(), TransitionError> {
    if from.is_final() {
        return Err(TransitionError::ReferralFinal { from });
    }
    if from.next().contains(&to) {
        Ok(())
    } else {
        Err(TransitionError::Referral { from, to })
    }
}

code_enum! {
    /// The three answers of the parquet (art. 40-1 CPP).
    pub enum DecisionKind ("le type de décision") {
        Poursuites => ("poursuites", "Poursuites"),
        AlternativeAuxPoursuites => ("alternative_aux_poursuites", "Alternative aux poursuites"),
        ClassementSansSuite => ("classement_sans_suite", "Classement sans suite"),
    }
}

/// Whether a dismissal rests on the law (the case cannot be prosecuted) or on the prosecutor's
/// judgement of expediency (opportunité des poursuites).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassementCategory {
    /// Motif juridique: prosecution is not possible.
    Juridique,
    /// Motif d'opportunité: prosecution is possible but not pursued.
    Opportunite,
}

code_enum! {
    /// Reason of a classement sans suite, told to the referrer (art. 40-2 CPP).
    pub enum ClassementReason ("le motif de classement") {
        AbsenceInfraction => ("absence_infraction", "Absence d'infraction"),
        InfractionInsuffisammentCaracterisee => (
            "infraction_insuffisamment_caracterisee",
            "Infraction insuffisamment caractérisée"
        ),
        AuteurInconnu => ("auteur_inconnu", "Auteur inconnu"),
        Prescription => ("prescription", "Prescription de l'action publique"),
        DecesAuteur => ("deces_auteur", "Décès de l'auteur"),
        IrregulariteProcedure => ("irregularite_procedure", "Irrégularité de la procédure"),
        ImmuniteAuteur => ("immunite_auteur", "Immunité de l'auteur"),
        RecherchesInfructueuses => (
            "recherches_infructueuses",
            "Recherches infructueuses (auteur non retrouvé)"
        ),
        DesistementPlaignant => ("desistement_plaignant", "Désistement du plaignant"),
        CarencePlaignant => ("carence_plaignant", "Carence du plaignant"),
        EtatMentalDeficient => ("etat_mental_deficient", "État mental déficient de l'auteur"),
        RegularisationOffice => ("regularisation_office", "Régularisation d'office de la situation"),
        ReparationPrejudice => ("reparation_prejudice", "Préjudice réparé (victime désintéressée)"),
        PrejudicePeuImportant => (
            "prejudice_peu_important",
            "Préjudice ou trouble peu important causé par l'infraction"
        ),
        ResponsabiliteVictime => ("responsabilite_victime", "Comportement ou responsabilité de la victime"),
        AutresPoursuitesOuSanctions => (
            "autres_poursuites_ou_sanctions",
            "Autres poursuites ou sanctions de nature non pénale"
        ),
        InopportunitePoursuites => ("inopportunite_poursuites", "Inopportunité des poursuites (autre motif)"),
    }
}

impl ClassementReason {
    pub const fn category(self) -> ClassementCategory {
        use ClassementReason as R;
        match self {
            R::AbsenceInfraction
            | R::InfractionInsuffisammentCaracterisee
            | R::Prescription
            | R::DecesAuteur
            | R::IrregulariteProcedure
            | R::ImmuniteAuteur => ClassementCategory::Juridique,
            R::AuteurInconnu
            | R::RecherchesInfructueuses
            | R::DesistementPlaignant
            | R::CarencePlaignant
            | R::EtatMentalDeficient
            | R::RegularisationOffice
            | R::ReparationPrejudice
            | R::PrejudicePeuImportant
            | R::ResponsabiliteVictime
            | R::AutresPoursuitesOuSanctions
            | R::InopportunitePoursuites => ClassementCategory::Opportunite,
        }
    }
}

code_enum! {
    /// Alternatives to prosecution (art. 41-1 and 41-2 CPP).
    pub enum AlternativeKind ("l'alternative aux poursuites") {
        /// Replaced the rappel à la loi on 1 January 2023 (loi du 22 décembre 2021).
        AvertissementPenalProbatoire => (
            "avertissement_penal_probatoire",
            "Avertissement pénal probatoire (ex-rappel à la loi)"
        ),
        OrientationStructure => (
            "orientation_structure",
            "Orientation vers une structure sanitaire, sociale ou professionnelle"
        ),
        Stage => ("stage", "Stage ou formation"),
        Regularisation => (
            "regularisation",
            "Classement sous condition de régularisation de la situation"
        ),
        Reparation => ("reparation", "Réparation du dommage"),
        Mediation => ("mediation", "Médiation pénale"),
        EloignementDomicile => (
            "eloignement_domicile",
            "Éloignement du domicile ou de la résidence du couple"
        ),
        InterdictionParaitre => ("interdiction_paraitre", "Interdiction de paraître ou de rencontrer la victime"),
        CompositionPenale => ("composition_penale", "Composition pénale"),
        TransactionPenale => ("transaction_penale", "Transaction pénale (administration)"),
    }
}

/// The decision told to the referrer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReferralDecision {
    Poursuites { court_date: Option<NaiveDate> },
    AlternativeAuxPoursuites { alternative: AlternativeKind },
    ClassementSansSuite { reason: ClassementReason },
}

/// Art. 40-3 CPP: told to the referrer with every classement sans suite.
pub const CLASSEMENT_APPEAL_NOTICE: &str = "Conformément à l'article 40-3 du code de procédure pénale, \
vous pouvez former un recours contre cette décision de classement sans suite auprès du procureur général \
près la cour d'appel.";

impl ReferralDecision {
    pub const fn kind(&self) -> DecisionKind {
        match self {
            Self::Poursuites { .. } => DecisionKind::Poursuites,
            Self::AlternativeAuxPoursuites { .. } => DecisionKind::AlternativeAuxPoursuites,
            Self::ClassementSansSuite { .. } => DecisionKind::ClassementSansSuite,
        }
    }

    /// The notice of art. 40-3 when it applies (only for a classement sans suite).
    pub const fn appeal_notice(&self) -> Option<&'static str> {
        match self {
            Self::ClassementSansSuite { .. } => Some(CLASSEMENT_APPEAL_NOTICE),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReferralStatus as S;

    const ALLOWED: [(S, S); 10] = [
        (S::Draft, S::Sent),
        (S::Sent, S::Registered),
        (S::Sent, S::Transferred),
        (S::Registered, S::Assigned),
        (S::Registered, S::Transferred),
        (S::Registered, S::Decided),
        (S::Assigned, S::UnderInvestigation),
        (S::Assigned, S::Decided),
        (S::Assigned, S::Transferred),
        (S::UnderInvestigation, S::Decided),
    ];

    #[test]
    fn each_allowed_transition_is_accepted() {
        for (from, to) in ALLOWED {
            assert_eq!(referral_transition(from, to), Ok(()), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn every_other_pair_is_refused() {
        let mut refused = 0;
        for &from in S::ALL {
            for &to in S::ALL {
                if ALLOWED.contains(&(from, to)) {
                    continue;
                }
                let err = referral_transition(from, to).unwrap_err();
                if from.is_final() {
                    assert_eq!(err, TransitionError::ReferralFinal { from });
                } else {
                    assert_eq!(err, TransitionError::Referral { from, to });
                }
                refused += 1;
            }
        }
        assert_eq!(refused, 7 * 7 - ALLOWED.len());
    }

    #[test]
    fn decided_and_transferred_are_final() {
        for &to in S::ALL {
            assert!(referral_transition(S::Decided, to).is_err());
            assert!(referral_transition(S::Transferred, to).is_err());
        }
        let err = referral_transition(S::Decided, S::Sent).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Le signalement est à l'état « Décision rendue », qui est définitif : il ne peut plus changer d'état."
        );
    }

    #[test]
    fn case_under_investigation_cannot_be_transferred() {
        assert!(referral_transition(S::UnderInvestigation, S::Transferred).is_err());
    }

    #[test]
    fn refused_transition_message_is_in_french() {
        let err = referral_transition(S::Draft, S::Decided).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Le signalement ne peut pas passer de l'état « Brouillon » à l'état « Décision rendue »."
        );
    }

    #[test]
    fn statuses_round_trip_through_snake_case_codes() {
        let codes: Vec<_> = S::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            codes,
            [
                "draft",
                "sent",
                "registered",
                "assigned",
                "under_investigation",
                "decided",
                "transferred"
            ]
        );
        for &s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
        }
        assert!("received".parse::<S>().is_err());
    }

    #[test]
    fn reference_lists_have_unique_codes_and_french_labels() {
        fn check<T: Copy + std::fmt::Debug>(
            all: &[T],
            code: fn(T) -> &'static str,
            label: fn(T) -> &'static str,
        ) {
            let mut codes: Vec<_> = all.iter().map(|&v| code(v)).collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), all.len());
            assert!(all.iter().all(|&v| !label(v).is_empty()));
        }
        check(DecisionKind::ALL, DecisionKind::as_str, DecisionKind::label);
        check(
            ClassementReason::ALL,
            ClassementReason::as_str,
            ClassementReason::label,
        );
        check(
            AlternativeKind::ALL,
            AlternativeKind::as_str,
            AlternativeKind::label,
        );
        for &r in ClassementReason::ALL {
            assert_eq!(r.as_str().parse::<ClassementReason>(), Ok(r));
        }
        for &a in AlternativeKind::ALL {
            assert_eq!(a.as_str().parse::<AlternativeKind>(), Ok(a));
        }
        assert_eq!(
            DecisionKind::ClassementSansSuite.label(),
            "Classement sans suite"
        );
        assert_eq!(
            ClassementReason::InfractionInsuffisammentCaracterisee.label(),
            "Infraction insuffisamment caractérisée"
        );
        assert_eq!(
            ClassementReason::Prescription.category(),
            ClassementCategory::Juridique
        );
        assert_eq!(
            ClassementReason::DesistementPlaignant.category(),
            ClassementCategory::Opportunite
        );
    }

    #[test]
    fn only_a_classement_carries_the_appeal_notice() {
        let classement = ReferralDecision::ClassementSansSuite {
            reason: ClassementReason::AuteurInconnu,
        };
        assert_eq!(classement.kind(), DecisionKind::ClassementSansSuite);
        assert!(classement.appeal_notice().unwrap().contains("40-3"));
        let poursuites = ReferralDecision::Poursuites { court_date: None };
        assert_eq!(poursuites.appeal_notice(), None);
        let json = serde_json::to_string(&classement).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"classement_sans_suite","reason":"auteur_inconnu"}"#
        );
    }
}
