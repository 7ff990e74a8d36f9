//! Database tests of measures (agents' side and the person's own reading) and of the satisfaction question, each
//! run on a fresh SQLite and a fresh PostgreSQL database.

use chrono::{NaiveDate, TimeZone, Utc};
use domain::{AppointmentState, MeasureKind, ObligationKind};
use store::msj::appointments::{self, BookRequest, Outcome, When};
use store::msj::measures::{self, MeasureInput};
use store::msj::places::{self, PlaceInput};
use store::msj::ppsmj::{self, PpsmjInput};
use store::msj::{agendas, MsjError};
use store::orgs::{self, NewOrganisation};
use store::roles::{OrgKind, Role};
use store::satisfaction::{self, Respondent};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{audit, Actor, Db, Scope, StoreError};

const DAY: i64 = 86_400;

/// Monday 3 May 2027, 10:00 in Paris.
fn now() -> i64 {
    Utc.with_ymd_and_hms(2027, 5, 3, 8, 0, 0)
        .unwrap()
        .timestamp()
}

async fn org(db: &Db, kind: OrgKind, name: &str) -> String {
    orgs::create(
        db,
        &Actor::system("test"),
        &NewOrganisation {
            kind,
            name: name.into(),
            parent_id: None,
            departement: Some("92".into()),
            time_zone: "Europe/Paris".into(),
            address: None,
            phone: None,
            email: None,
        },
    )
    .await
    .unwrap()
    .id
}

async fn agent(db: &Db, email: &str, role: Role, org_id: &str) -> Scope {
    let u = users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Camille".into(),
            last_name: "Agent".into(),
            role,
            organisation_id: org_id.into(),
            password_hash: None,
        },
    )
    .await
    .unwrap();
    Scope::for_user(db, &u.id, &u.email, u.role, &u.organisation_id, None)
        .await
        .unwrap()
}

struct World {
    spip92: String,
    cpip92: Scope,
    cpip75: Scope,
    prosecutor: Scope,
    person: String,
}

async fn world(db: &Db) -> World {
    let spip92 = org(db, OrgKind::Spip, "SPIP 92").await;
    let tj = org(db, OrgKind::Tj, "TJ de Nanterre").await;
    let spip75 = org(db, OrgKind::Spip, "SPIP 75").await;
    orgs::link(db, &Actor::system("test"), &tj, &spip92)
        .await
        .unwrap();
    let cpip92 = agent(db, "cpip@spip92.test", Role::Cpip, &spip92).await;
    let cpip75 = agent(db, "cpip@spip75.test", Role::Cpip, &spip75).await;
    let prosecutor = agent(db, "pr@tj92.test", Role::Prosecutor, &tj).await;
    let person = ppsmj::create(
        db,
        &cpip92,
        &spip92,
        &PpsmjInput {
            first_name: "Jean".into(),
            last_name: "Martin".into(),
            birth_date: "14/07/1990".into(),
            phone: "06 12 34 56 78".into(),
            ..Default::default()
        },
        now(),
    )
    .await
    .unwrap()
    .id;
    World {
        spip92,
        cpip92,
        cpip75,
        prosecutor,
        person,
    }
}

fn sursis() -> MeasureInput {
    MeasureInput {
        kind: "sursis_probatoire".into(),
        decision_date: "2027-01-10".into(),
        start_date: "2027-01-15".into(),
        end_date: "2029-01-15".into(),
        court: "Tribunal judiciaire de Nanterre".into(),
        obligations: vec!["activite".into(), "soins".into(), "pas_de_lieu".into()],
        details: [("pas_de_lieu".to_string(), "Gennevilliers".to_string())].into(),
    }
}

#[tokio::test]
async fn another_spip_sees_no_measure_and_a_prosecutor_only_reads() {
    on_each_backend(|db| async move {
        let w = world(&db).await;
        let m = measures::create(&db, &w.cpip92, &w.person, &sursis(), now())
            .await
            .unwrap();
        assert_eq!(m.organisation_id, w.spip92);
        assert_eq!(m.obligations.len(), 3);

        // Another SPIP: the person and the measure do not exist for it.
        assert!(matches!(
            measures::list_for_ppsmj(&db, &w.cpip75, &w.person).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            measures::get(&db, &w.cpip75, &m.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            measures::update(&db, &w.cpip75, &m.id, &sursis(), now()).await,
            Err(MsjError::Store(StoreError::NotFound))
        ));
        assert!(matches!(
            measures::delete(&db, &w.cpip75, &m.id, now()).await,
            Err(MsjError::Store(StoreError::NotFound))
        ));
        assert!(matches!(
            measures::create(&db, &w.cpip75, &w.person, &sursis(), now()).await,
            Err(MsjError::Store(StoreError::NotFound))
        ));

        // The prosecutor of the linked court reads, and may not change.
        assert_eq!(
            measures::list_for_ppsmj(&db, &w.prosecutor, &w.person)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(matches!(
            measures::create(&db, &w.prosecutor, &w.person, &sursis(), now()).await,
            Err(MsjError::Forbidden(_))
        ));
        assert!(matches!(
            measures::delete(&db, &w.prosecutor, &m.id, now()).await,
            Err(MsjError::Forbidden(_))
        ));
        assert_eq!(
            measures::list_for_ppsmj(&db, &w.cpip92, &w.person)
                .await
                .unwrap()
                .len(),
            1,
            "nothing was removed"
        );
    })
    .await;
}

#[tokio::test]
async fn editing_a_measure_replaces_its_obligations_and_every_change_is_audited_without_free_text()
{
    on_each_backend(|db| async move {
        let w = world(&db).await;
        let m = measures::create(&db, &w.cpip92, &w.person, &sursis(), now())
            .await
            .unwrap();
        let bad = measures::update(
            &db,
            &w.cpip92,
            &m.id,
            &MeasureInput {
                end_date: "2026-12-31".into(),
                ..sursis()
            },
            now(),
        )
        .await;
        let Err(MsjError::Invalid(errors)) = bad else {
            panic!("refused expected")
        };
        assert_eq!(
            errors.get("end_date"),
            Some("La date de fin doit être après la date de début.")
        );
        let edited = measures::update(
            &db,
            &w.cpip92,
            &m.id,
            &MeasureInput {
                kind: "tig".into(),
                obligations: vec!["stage".into()],
                details: Default::default(),
                ..sursis()
            },
            now() + 60,
        )
        .await
        .unwrap();
        assert_eq!(edited.kind, MeasureKind::Tig);
        assert_eq!(
            edited
                .obligations
                .iter()
                .map(|o| o.kind)
                .collect::<Vec<_>>(),
            [ObligationKind::Stage]
        );
        measures::delete(&db, &w.cpip92, &m.id, now() + 120)
            .await
            .unwrap();
        assert!(measures::list_for_ppsmj(&db, &w.cpip92, &w.person)
            .await
            .unwrap()
            .is_empty());
        let events = audit::list(
            &db,
            &Scope::system("test"),
            &audit::AuditFilter {
                target_type: Some("measure".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["measure.delete", "measure.update", "measure.create"]
        );
        for e in &events {
            let d = e.details.clone().unwrap_or_default();
            assert!(
                !d.contains("Gennevilliers") && !d.contains("Nanterre"),
                "{d}"
            );
        }
        let history = ppsmj::history_of(&db, &w.cpip92, &w.person).await.unwrap();
        assert!(history.iter().any(|h| h.action == "measure.create"));

        // An archived record gets no new measure.
        ppsmj::archive(&db, &w.cpip92, &w.person, now() + 180)
            .await
            .unwrap();
        let refused = measures::create(&db, &w.cpip92, &w.person, &sursis(), now() + 240).await;
        assert!(matches!(refused, Err(MsjError::Rule(m)) if m.contains("archivé")));
    })
    .await;
}

#[tokio::test]
async fn the_person_reads_their_measures_with_honoured_and_upcoming_appointments() {
    on_each_backend(|db| async move {
        let w = world(&db).await;
        let sys = Scope::system("test");
        let place = places::create(
            &db,
            &sys,
            &w.spip92,
            &PlaceInput {
                name: "SPIP 92 — Nanterre".into(),
                address: "10 rue des Trois Fontanot, 92000 Nanterre".into(),
                phone: "01 47 29 50 00".into(),
                active: true,
                ..Default::default()
            },
            now(),
        )
        .await
        .unwrap();
        places::set_appointment_types(&db, &sys, &place.id, &["convocation_suivi_spip"])
            .await
            .unwrap();
        let agenda = agendas::create(&db, &sys, &place.id, "Agenda", now())
            .await
            .unwrap();
        let book = |at: i64, at_now: i64| BookRequest {
            ppsmj_id: w.person.clone(),
            agenda_id: agenda.id.clone(),
            appointment_type_id: "convocation_suivi_spip".into(),
            when: When::At(at),
            now: at_now,
        };
        let past = appointments::book(&db, &w.cpip92, &book(now() + DAY, now()))
            .await
            .unwrap();
        appointments::record_outcome(
            &db,
            &w.cpip92,
            &past.appointment.id,
            Outcome::Fulfilled,
            now() + 2 * DAY,
        )
        .await
        .unwrap();
        let missed = appointments::book(&db, &w.cpip92, &book(now() + 3 * DAY, now()))
            .await
            .unwrap();
        appointments::record_outcome(
            &db,
            &w.cpip92,
            &missed.appointment.id,
            Outcome::NoShow,
            now() + 4 * DAY,
        )
        .await
        .unwrap();
        let next = appointments::book(&db, &w.cpip92, &book(now() + 20 * DAY, now()))
            .await
            .unwrap();
        measures::create(&db, &w.cpip92, &w.person, &sursis(), now())
            .await
            .unwrap();

        let mine = measures::for_person(&db, &w.person, now() + 5 * DAY)
            .await
            .unwrap();
        assert_eq!(mine.measures.len(), 1);
        assert_eq!(
            mine.measures[0].end_date,
            NaiveDate::from_ymd_opt(2029, 1, 15)
        );
        assert_eq!(
            mine.measures[0].obligations[2].detail.as_deref(),
            Some("Gennevilliers")
        );
        assert_eq!(
            mine.honoured.len(),
            1,
            "only the honoured appointment is behind"
        );
        assert_eq!(mine.honoured[0].id, past.appointment.id);
        assert_eq!(mine.honoured[0].state, AppointmentState::Fulfilled);
        assert_eq!(mine.upcoming.len(), 1);
        assert_eq!(mine.upcoming[0].id, next.appointment.id);
        assert_eq!(mine.upcoming[0].place_name, "SPIP 92 — Nanterre");

        assert!(matches!(
            measures::for_person(&db, "inconnu", now()).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn satisfaction_is_answered_once_a_month_and_only_the_national_admin_reads_results() {
    on_each_backend(|db| async move {
        let w = world(&db).await;
        let t = now();
        assert!(!satisfaction::has_answered(&db, Respondent::Agent, "u1", t)
            .await
            .unwrap());
        satisfaction::record(
            &db,
            Respondent::Agent,
            "u1",
            Some(&w.spip92),
            "4",
            "Très utile",
            t,
        )
        .await
        .unwrap();
        assert!(satisfaction::has_answered(&db, Respondent::Agent, "u1", t)
            .await
            .unwrap());
        let again = satisfaction::record(&db, Respondent::Agent, "u1", None, "1", "", t + 60).await;
        assert!(matches!(again, Err(MsjError::Rule(m)) if m.contains("déjà répondu")));
        let bad = satisfaction::record(&db, Respondent::Agent, "u2", None, "9", "", t).await;
        assert!(matches!(bad, Err(MsjError::Invalid(_))));
        satisfaction::record(&db, Respondent::Agent, "u2", None, "2", "", t)
            .await
            .unwrap();
        satisfaction::record(&db, Respondent::Person, "p1", Some(&w.spip92), "5", "", t)
            .await
            .unwrap();
        // Next month, the same agent is asked again.
        assert!(
            !satisfaction::has_answered(&db, Respondent::Agent, "u1", t + 31 * DAY)
                .await
                .unwrap()
        );
        satisfaction::record(&db, Respondent::Agent, "u1", None, "5", "", t + 31 * DAY)
            .await
            .unwrap();

        assert!(matches!(
            satisfaction::results(&db, &w.cpip92).await,
            Err(StoreError::NotFound)
        ));
        let results = satisfaction::results(&db, &Scope::system("test"))
            .await
            .unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].month, "2027-06");
        let may_agents = results
            .iter()
            .find(|r| r.month == "2027-05" && r.respondent == Respondent::Agent)
            .unwrap();
        assert_eq!(may_agents.count, 2);
        assert_eq!(may_agents.distribution, [0, 1, 0, 1, 0]);
        assert!((may_agents.average() - 3.0).abs() < 1e-9);
        assert_eq!(may_agents.comments, ["Très utile"]);
    })
    .await;
}
