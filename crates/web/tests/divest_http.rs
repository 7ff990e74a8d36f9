//! Web tests of divestment answers (what the receiving service sees, the short refusal comment, immediate
//! acceptance told to the requester) and of the paged person page, on both backends. The service clock starts at
//! a fixed instant: nothing depends on the day the tests run.

mod support;

use chrono::TimeZone;
use store::msj::appointments::{self, BookRequest, When};
use store::msj::divestments::{self, DivestmentState};
use store::msj::measures::{self, MeasureInput};
use store::msj::ppsmj::{self, PpsmjInput};
use store::testing::on_each_backend;
use store::Scope;
use support::World;

/// Thursday 1 April 2027, 10:00 in Paris: the person's appointment (3 May 2027) is ahead.
fn start_clock() {
    store::clock::start_at(paris(2027, 4, 1, 10, 0));
}

fn paris(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    chrono_tz::Europe::Paris
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .timestamp()
}

/// SPIP A's agent asks SPIP B to take over A's person (who has an upcoming appointment): a pending request.
async fn pending_request(w: &World) -> String {
    let uri = format!("/msj/personnes/{}/dessaisissement", w.a.person);
    let (status, to) = w
        .post(
            Some("cpip_a"),
            &uri,
            &format!(
                "to_organisation_id={}&comment=D%C3%A9m%C3%A9nagement",
                w.spip_b
            ),
        )
        .await;
    assert_eq!(status.as_u16(), 303, "{to}");
    assert!(to.contains("ok=demande"), "{to}");
    let all = divestments::list(&w.db, &Scope::system("test"), None)
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].state, DivestmentState::Pending);
    all[0].id.clone()
}

#[tokio::test]
async fn a_refusal_comment_over_120_characters_gets_a_french_error_keeps_the_text_and_stores_nothing(
) {
    start_clock();
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let id = pending_request(&w).await;
        let answer = format!("/msj/dessaisissements/{id}/reponse");
        let long = "Ce service ne couvre pas la commune de la personne ".repeat(3);
        assert!(long.chars().count() > 120);
        let (status, page) = w
            .post(
                Some("cpip_b"),
                &answer,
                &format!("decision=refuser&comment={}", long.replace(' ', "+")),
            )
            .await;
        assert_eq!(status.as_u16(), 422);
        assert!(page.contains("limité à 120 caractères"), "{page}");
        assert!(page.contains("id=\"comment-erreur\""));
        assert!(page.contains(long.trim_end()), "the text typed is kept");
        let d = divestments::get(&w.db, &Scope::system("test"), &id)
            .await
            .unwrap();
        assert_eq!(d.state, DivestmentState::Pending);
        assert_eq!(d.answer_comment, None);
        // 120 characters are fine, and the requester reads them.
        let short = "é".repeat(120);
        let (status, to) = w
            .post(
                Some("cpip_b"),
                &answer,
                &format!("decision=refuser&comment={}", "%C3%A9".repeat(120)),
            )
            .await;
        assert_eq!(status.as_u16(), 303, "{to}");
        let (_, list) = w.get(Some("cpip_a"), "/msj/dessaisissements").await;
        assert!(list.contains(&format!("« {short} »")));
        assert!(list.contains("Refusée"));
    })
    .await;
}

#[tokio::test]
async fn the_receiving_service_sees_identity_measure_and_next_appointments_and_the_read_is_audited()
{
    start_clock();
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        measures::create(
            &w.db,
            &Scope::system("test"),
            &w.a.person,
            &MeasureInput {
                kind: "ddse".into(),
                start_date: "2027-01-15".into(),
                ..Default::default()
            },
            store::now(),
        )
        .await
        .unwrap();
        let id = pending_request(&w).await;
        let uri = format!("/msj/dessaisissements/{id}");
        // The list points the receiver to the decision page.
        let (_, list) = w.get(Some("cpip_b"), "/msj/dessaisissements").await;
        assert!(list.contains(&format!("href=\"{uri}\"")), "{list}");
        let (status, page) = w.get(Some("cpip_b"), &uri).await;
        assert_eq!(status.as_u16(), 200, "{page}");
        assert!(page.contains("Hélène"));
        assert!(page.contains("02/03/1990"));
        let ddse = domain::MeasureKind::parse("ddse").unwrap().label();
        assert!(page.contains(ddse), "{page}");
        assert!(page.contains("depuis le 15/01/2027"));
        assert!(page.contains("3 mai 2027"), "the next appointment");
        assert!(page.contains("14h30"));
        // Only what is needed to decide: no phone, address or APPI number.
        for private in ["06 12 34 56 78", "+33612345678", "Érables", "20012345A"] {
            assert!(!page.contains(private), "{private} shown");
        }
        let reads = store::audit::list(
            &w.db,
            &Scope::system("test"),
            &store::audit::AuditFilter {
                action: Some("divestment.read".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].target_id.as_deref(), Some(w.a.person.as_str()));
        // The requester, a court linked to the sender and an unrelated service do not get it.
        for who in ["cpip_a", "jap", "cpip_antenna"] {
            let (status, _) = w.get(Some(who), &uri).await;
            assert!([403, 404].contains(&status.as_u16()), "{who} got {status}");
        }
        // Still no access to the record itself before accepting.
        let (status, _) = w
            .get(Some("cpip_b"), &format!("/msj/personnes/{}", w.a.person))
            .await;
        assert_eq!(status.as_u16(), 404);
    })
    .await;
}

#[tokio::test]
async fn a_request_for_a_person_without_appointment_is_accepted_at_once_and_the_requester_is_told()
{
    start_clock();
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let p = ppsmj::create(
            &w.db,
            &Scope::system("test"),
            &w.spip_a,
            &PpsmjInput {
                first_name: "Noé".into(),
                last_name: "Bernard".into(),
                birth_date: "1985-06-05".into(),
                no_phone: true,
                ..Default::default()
            },
            store::now(),
        )
        .await
        .unwrap();
        let (status, to) = w
            .post(
                Some("cpip_a"),
                &format!("/msj/personnes/{}/dessaisissement", p.id),
                &format!("to_organisation_id={}", w.spip_b),
            )
            .await;
        assert_eq!(status.as_u16(), 303);
        assert!(to.contains("ok=immediat-sans-rdv"), "{to}");
        let (_, list) = w
            .get(Some("cpip_a"), "/msj/dessaisissements?ok=immediat-sans-rdv")
            .await;
        assert!(
            list.contains("acceptée immédiatement car la personne n&#39;a aucun rendez-vous")
                || list.contains("acceptée immédiatement car la personne n'a aucun rendez-vous")
        );
        let (status, _) = w
            .get(Some("cpip_b"), &format!("/msj/personnes/{}", p.id))
            .await;
        assert_eq!(status.as_u16(), 200, "the receiver follows the person now");
    })
    .await;
}

#[tokio::test]
async fn the_person_page_pages_past_appointments_and_history_by_twenty_keeping_the_other_section() {
    start_clock();
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let sys = Scope::system("test");
        // 21 canceled appointments on the weekdays of June 2027, at 14:30.
        let mut ids = vec![];
        let mut day = chrono::NaiveDate::from_ymd_opt(2027, 6, 1).unwrap();
        while ids.len() < 21 {
            use chrono::Datelike;
            if day.weekday().number_from_monday() <= 5 {
                let booked = appointments::book(
                    &w.db,
                    &sys,
                    &BookRequest {
                        ppsmj_id: w.a.person.clone(),
                        agenda_id: w.a.agenda.clone(),
                        appointment_type_id: "convocation_suivi_spip".into(),
                        when: When::At(paris(2027, 6, day.day(), 14, 30)),
                        now: store::now(),
                    },
                )
                .await
                .unwrap();
                appointments::cancel(&w.db, &sys, &booked.appointment.id, "Erreur", store::now())
                    .await
                    .unwrap();
                ids.push(booked.appointment.id);
            }
            day = day.succ_opt().unwrap();
        }
        let person = format!("/msj/personnes/{}", w.a.person);
        let (status, first) = w.get(Some("cpip_a"), &person).await;
        assert_eq!(status.as_u16(), 200);
        // Newest first: the oldest (the 21st) is on page 2 only.
        let oldest = format!("/msj/rendez-vous/{}\"", ids[0]);
        let newest = format!("/msj/rendez-vous/{}\"", ids[20]);
        assert!(first.contains(&newest));
        assert!(!first.contains(&oldest));
        assert!(
            first.contains("?passes=2&#38;historique=1#titre-passes"),
            "{first}"
        );
        assert!(first.contains("?passes=1&#38;historique=2#titre-historique"));
        let (status, second) = w
            .get(Some("cpip_a"), &format!("{person}?passes=2&historique=2"))
            .await;
        assert_eq!(status.as_u16(), 200);
        assert!(second.contains(&oldest));
        assert!(!second.contains(&newest));
        assert!(second.contains("Précédent"));
        // Each section's links keep the other section's page.
        assert!(second.contains("?passes=1&#38;historique=2#titre-passes"));
        assert!(second.contains("?passes=2&#38;historique=1#titre-historique"));
        // The upcoming appointment stays on every page.
        let upcoming = format!("/msj/rendez-vous/{}\"", w.a.appointment);
        assert!(first.contains(&upcoming) && second.contains(&upcoming));
        // A page number that is not one, or too far, never fails.
        for q in ["?passes=abc", "?passes=0&historique=-1", "?passes=999"] {
            let (status, _) = w.get(Some("cpip_a"), &format!("{person}{q}")).await;
            assert_eq!(status.as_u16(), 200, "{q}");
        }
        let (_, last) = w.get(Some("cpip_a"), &format!("{person}?passes=999")).await;
        assert!(last.contains(&oldest), "a page too far shows the last page");
        // Headings are not repeated as visible captions.
        assert!(first.contains("<caption class=\"fr-sr-only\">Rendez-vous à venir</caption>"));
        assert!(!first.contains("<caption>Rendez-vous"));
    })
    .await;
}
