//! What people receive, as snapshots reviewed like code (`insta`): the summons and reminder SMS as they leave
//! (rendered at send time, GSM-7, with the links to the space and to STOP), the calendar invitation, and the
//! Info Parquet status notices. A change of wording shows up as a snapshot diff in review. Random tokens and the
//! DTSTAMP of the invitation are masked.
//! Update after an intended change: `INSTA_UPDATE=always cargo test -p web --test snapshots`, then review the diff.

mod support;

use messaging::{Rendered, Renderer};
use store::outbox::{self, NewMessage};
use store::roles::OrgKind;
use store::testing::on_each_backend;

fn mask_tokens(body: &str) -> String {
    body.lines()
        .map(|l| match (l.find("?n="), l.find("/stop/")) {
            (Some(i), _) => format!("{}?n=[jeton]", &l[..i]),
            (_, Some(i)) => format!("{}/stop/[jeton]", &l[..i]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn rendered_sms(db: &store::Db, kind: &str, org: &str, appointment: &str) -> String {
    let id = outbox::enqueue(
        db.pool(),
        &NewMessage {
            channel: "sms".into(),
            kind: kind.into(),
            organisation_id: Some(org.into()),
            recipient: "+33612345678".into(),
            subject: None,
            body: "texte provisoire".into(),
            due_at: 0,
            related_type: Some("appointment".into()),
            related_id: Some(appointment.into()),
        },
    )
    .await
    .unwrap();
    let m = outbox::get_unscoped(db, &id).await.unwrap();
    let renderer = web::render::AppointmentRenderer {
        public_url: "https://passerelle.justice.gouv.fr".into(),
    };
    match renderer.render(db, &m).await.unwrap() {
        Rendered::Replace(r) => mask_tokens(&r.body),
        other => panic!("{kind}: {other:?}"),
    }
}

#[tokio::test]
async fn the_sms_a_person_receives_read_as_reviewed() {
    on_each_backend(|db| async move {
        let spip = support::org(&db, OrgKind::Spip, "SPIP des Hauts-de-Seine", None).await;
        // A person followed with an appointment on Monday 3 May 2027 at 14:30 (Paris), at "Antenne de Nanterre".
        let o = support::objects(&db, &spip, "06 12 34 56 78", "20012345A").await;
        insta::assert_snapshot!(
            "summon_sms_fr",
            rendered_sms(&db, "summon", &spip, &o.appointment).await
        );
        insta::assert_snapshot!(
            "reminder_sms_fr",
            rendered_sms(&db, "reminder", &spip, &o.appointment).await
        );
    })
    .await;
}

#[test]
fn the_calendar_invitation_reads_as_reviewed() {
    // Monday 3 May 2027, 14:30–15:00 in Paris (12:30 UTC).
    let ics = messaging::ics_invitation(
        "rdv-1@passerelle.justice.gouv.fr",
        1_809_347_400,
        1_809_349_200,
        "Convocation de suivi SPIP",
        "Antenne de Nanterre, 12 rue de l'Église, 92000 Nanterre",
        "Convocation le lundi 3 mai 2027 à 14h30 : Antenne de Nanterre, 12 rue de l'Église, 92000 Nanterre.",
    );
    let masked: String = ics
        .split("\r\n")
        .map(|l| {
            if l.starts_with("DTSTAMP:") {
                "DTSTAMP:[instant de l'envoi]"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("summon_ics", masked);
}

#[test]
fn the_notices_an_administration_receives_read_as_reviewed() {
    use domain::{ClassementReason, ReferralDecision, ReferralStatus};
    use store::parquet::notices::{status_notice, StatusNotice};
    let notice = |status, decision: Option<&ReferralDecision>| {
        let (subject, body) = status_notice(&StatusNotice {
            tracking_number: "IP-2027-000123",
            internal_reference: Some("DREETS-42"),
            parquet_name: "Parquet de Nanterre",
            status,
            decision,
            decision_text: Some("Les faits ont été régularisés."),
            transferred_from: None,
            comment: None,
        });
        format!("Objet : {subject}\n\n{body}")
    };
    insta::assert_snapshot!("referral_sent", notice(ReferralStatus::Sent, None));
    let classement = ReferralDecision::ClassementSansSuite {
        reason: ClassementReason::ALL[0],
    };
    insta::assert_snapshot!(
        "referral_decided_classement",
        notice(ReferralStatus::Decided, Some(&classement))
    );
}
