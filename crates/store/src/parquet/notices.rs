//! Texts of the e-mails and SMS of Info Parquet, pure. They name the referral by its tracking number and the
//! administration's own reference, never the persons involved: a mailbox or a phone is not the place for them.

use domain::{ReferralDecision, ReferralStatus};

/// What a status notice needs to say.
#[derive(Clone, Debug)]
pub struct StatusNotice<'a> {
    pub tracking_number: &'a str,
    pub internal_reference: Option<&'a str>,
    pub parquet_name: &'a str,
    pub status: ReferralStatus,
    pub decision: Option<&'a ReferralDecision>,
    pub decision_text: Option<&'a str>,
    /// For a transfer: the parquet that received it and the reason given.
    pub transferred_from: Option<&'a str>,
    pub comment: Option<&'a str>,
}

fn reference_line(reference: Option<&str>) -> String {
    match reference {
        Some(r) if !r.trim().is_empty() => format!(" (votre référence : {r})"),
        _ => String::new(),
    }
}

/// Subject and body of the e-mail telling the author of a referral that its status changed (art. 40-2 CPP for a
/// decision, with the reasons of a classement and the appeal right of art. 40-3).
pub fn status_notice(n: &StatusNotice<'_>) -> (String, String) {
    let tn = n.tracking_number;
    let reference = reference_line(n.internal_reference);
    let greeting = "Bonjour,\n\n";
    let footer =
        "\n\nVous pouvez suivre ce signalement et échanger avec le parquet depuis Passerelle.\n\
                  Ce message est envoyé automatiquement, merci de ne pas y répondre.";
    let (subject, text) = match n.status {
        ReferralStatus::Sent => match n.transferred_from {
            Some(from) => (
                format!("Signalement {tn} transmis à un autre parquet"),
                format!(
                    "Le {from} a transmis votre signalement {tn}{reference} au {}, compétent pour le traiter.{}",
                    n.parquet_name,
                    n.comment
                        .map(|c| format!("\nMotif : {c}"))
                        .unwrap_or_default()
                ),
            ),
            None => (
                format!("Accusé de réception de votre signalement {tn}"),
                format!(
                    "Votre signalement{reference} a bien été transmis au {} ; le numéro de suivi {tn} lui a \
                     été attribué.",
                    n.parquet_name
                ),
            ),
        },
        ReferralStatus::Registered => (
            format!("Signalement {tn} enregistré par le parquet"),
            format!(
                "Le {} a enregistré votre signalement {tn}{reference}.",
                n.parquet_name
            ),
        ),
        ReferralStatus::Assigned => (
            format!("Signalement {tn} attribué à un magistrat"),
            format!(
                "Votre signalement {tn}{reference} a été attribué à un magistrat du {}.",
                n.parquet_name
            ),
        ),
        ReferralStatus::UnderInvestigation => (
            format!("Signalement {tn} : enquête en cours"),
            format!(
                "Le {} a ouvert une enquête à la suite de votre signalement {tn}{reference}.",
                n.parquet_name
            ),
        ),
        ReferralStatus::Decided => (
            format!("Signalement {tn} : décision du parquet"),
            decision_text(n, &reference),
        ),
        ReferralStatus::Transferred | ReferralStatus::Draft => (
            format!("Signalement {tn} : {}", n.status.label()),
            format!(
                "Votre signalement {tn}{reference} est à l'état « {} ».",
                n.status.label()
            ),
        ),
    };
    let status = format!("\n\nSignalement {tn} — statut : {}.", n.status.label());
    (subject, format!("{greeting}{text}{status}{footer}"))
}

fn decision_text(n: &StatusNotice<'_>, reference: &str) -> String {
    let tn = n.tracking_number;
    let mut out = format!(
        "Le {} a rendu sa décision sur votre signalement {tn}{reference}.\n\n",
        n.parquet_name
    );
    match n.decision {
        Some(ReferralDecision::Poursuites { court_date }) => {
            out.push_str("Décision : Poursuites.");
            if let Some(d) = court_date {
                out.push_str(&format!("\nDate d'audience : {}.", domain::french_date(*d)));
            }
        }
        Some(ReferralDecision::AlternativeAuxPoursuites { alternative }) => {
            out.push_str(&format!(
                "Décision : Alternative aux poursuites.\nMesure : {}.",
                alternative.label()
            ));
        }
        Some(ReferralDecision::ClassementSansSuite { reason }) => {
            out.push_str(&format!(
                "Décision : Classement sans suite.\nMotif : {}.",
                reason.label()
            ));
        }
        None => out.push_str("Décision rendue."),
    }
    if let Some(t) = n.decision_text.filter(|t| !t.trim().is_empty()) {
        out.push_str(&format!("\n\nPrécisions du parquet : {t}"));
    }
    if let Some(notice) = n.decision.and_then(|d| d.appeal_notice()) {
        out.push_str("\n\n");
        out.push_str(notice);
    }
    out
}

/// E-mail to a parquet's duty contact for an urgent referral.
pub fn urgent_alert_email(
    tracking_number: &str,
    administration: &str,
    reason: &str,
) -> (String, String) {
    (
        format!("URGENT — signalement {tracking_number} à traiter"),
        format!(
            "Bonjour,\n\nUn signalement urgent ({tracking_number}) vient d'être transmis à votre parquet par \
             {administration}.\nMotif de l'urgence : {reason}\n\nMerci d'en accuser réception sans délai dans \
             Passerelle : il reste en tête de la liste tant que la réception n'est pas confirmée."
        ),
    )
}

/// SMS to a parquet's duty contact (short: one or two segments).
pub fn urgent_alert_sms(tracking_number: &str) -> String {
    format!(
        "Passerelle : signalement URGENT {tracking_number} transmis à votre parquet. Accusez-en réception dans \
         Passerelle."
    )
}

/// Reminder to the parquet about a referral without any status change for `days` days.
pub fn reminder_parquet(
    tracking_number: &str,
    status: ReferralStatus,
    days: i64,
) -> (String, String) {
    (
        format!("Relance : signalement {tracking_number} sans évolution"),
        format!(
            "Bonjour,\n\nLe signalement {tracking_number} est à l'état « {} » sans changement depuis {days} jours.\n\
             Merci de le traiter ou d'en actualiser l'état dans Passerelle.",
            status.label()
        ),
    )
}

/// Notice to the author that its referral has not moved for `days` days and that the parquet was reminded.
pub fn reminder_author(
    tracking_number: &str,
    internal_reference: Option<&str>,
    status: ReferralStatus,
    days: i64,
) -> (String, String) {
    (
        format!("Suivi de votre signalement {tracking_number}"),
        format!(
            "Bonjour,\n\nVotre signalement {tracking_number}{} est à l'état « {} » sans changement depuis {days} \
             jours. Le parquet a été relancé.\nVous pouvez lui écrire depuis Passerelle.",
            reference_line(internal_reference),
            status.label()
        ),
    )
}

/// E-mail telling one side that the other wrote on a referral.
pub fn new_message(
    tracking_number: &str,
    status: ReferralStatus,
    complement_request: bool,
) -> (String, String) {
    let status = format!(
        "\n\nSignalement {tracking_number} — statut : {}.",
        status.label()
    );
    if complement_request {
        (
            format!("Demande de complément sur le signalement {tracking_number}"),
            format!(
                "Bonjour,\n\nLe parquet demande un complément d'information sur le signalement {tracking_number}.\n\
                 Merci d'y répondre depuis Passerelle.{status}"
            ),
        )
    } else {
        (
            format!("Nouveau message sur le signalement {tracking_number}"),
            format!(
                "Bonjour,\n\nUn nouveau message a été déposé sur le signalement {tracking_number}.\n\
                 Vous pouvez le lire dans Passerelle.{status}"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::referral::CLASSEMENT_APPEAL_NOTICE;
    use domain::{AlternativeKind, ClassementReason};

    fn notice(status: ReferralStatus, decision: Option<&ReferralDecision>) -> StatusNotice<'_> {
        StatusNotice {
            tracking_number: "IP-2027-000123",
            internal_reference: Some("DREETS-42"),
            parquet_name: "Parquet de Nanterre",
            status,
            decision,
            decision_text: None,
            transferred_from: None,
            comment: None,
        }
    }

    #[test]
    fn a_classement_notice_gives_the_reason_and_the_appeal_right() {
        let d = ReferralDecision::ClassementSansSuite {
            reason: ClassementReason::AuteurInconnu,
        };
        let (subject, body) = status_notice(&notice(ReferralStatus::Decided, Some(&d)));
        assert_eq!(subject, "Signalement IP-2027-000123 : décision du parquet");
        assert!(body.contains("Décision : Classement sans suite.\nMotif : Auteur inconnu."));
        assert!(body.contains(CLASSEMENT_APPEAL_NOTICE));
        assert!(body.contains("(votre référence : DREETS-42)"));
    }

    #[test]
    fn prosecution_and_alternatives_carry_no_appeal_notice() {
        let d = ReferralDecision::Poursuites {
            court_date: chrono::NaiveDate::from_ymd_opt(2027, 3, 1),
        };
        let (_, body) = status_notice(&notice(ReferralStatus::Decided, Some(&d)));
        assert!(body.contains("Décision : Poursuites.\nDate d'audience : lundi 1er mars 2027."));
        assert!(!body.contains("40-3"));
        let d = ReferralDecision::AlternativeAuxPoursuites {
            alternative: AlternativeKind::Mediation,
        };
        let (_, body) = status_notice(&notice(ReferralStatus::Decided, Some(&d)));
        assert!(body.contains("Mesure : Médiation pénale."));
        assert!(!body.contains("40-3"));
    }

    #[test]
    fn the_acknowledgement_names_the_parquet_and_the_tracking_number() {
        let (subject, body) = status_notice(&notice(ReferralStatus::Sent, None));
        assert_eq!(
            subject,
            "Accusé de réception de votre signalement IP-2027-000123"
        );
        assert!(body.contains(
            "Votre signalement (votre référence : DREETS-42) a bien été transmis au Parquet de Nanterre ; \
             le numéro de suivi IP-2027-000123 lui a été attribué."
        ));
    }

    #[test]
    fn the_urgent_sms_fits_in_one_segment_budget() {
        assert!(urgent_alert_sms("IP-2027-000123").chars().count() <= 160);
    }
}
