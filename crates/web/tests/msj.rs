//! Web tests of Mon Suivi Justice (agents' side) on both backends: scoping of PPSMJ and appointment URLs, and the
//! outbox rows written with a booking and a cancellation.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use store::msj::agendas;
use store::msj::appointments::{self, BookRequest, When};
use store::msj::places::{self, PlaceInput};
use store::msj::ppsmj::{self, PpsmjInput};
use store::orgs::{self, NewOrganisation};
use store::roles::{OrgKind, Role};
use store::sessions::{self, Stage};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{Actor, Db, Scope};
use tower::ServiceExt;
use web::{AppState, Config, Mode};

async fn org(db: &Db, name: &str, dep: &str) -> String {
    orgs::create(
        db,
        &Actor::system("test"),
        &NewOrganisation {
            kind: OrgKind::Spip,
            name: name.into(),
            parent_id: None,
            departement: Some(dep.into()),
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

async fn user(db: &Db, email: &str, org_id: &str) -> (Scope, String, String) {
    let u = users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Camille".into(),
            last_name: "Agent".into(),
            role: Role::Cpip,
            organisation_id: org_id.into(),
            password_hash: None,
        },
    )
    .await
    .unwrap();
    let scope = Scope::for_user(db, &u.id, &u.email, u.role, &u.organisation_id, None)
        .await
        .unwrap();
    let (token, session) = sessions::create(db, &u.id, Stage::Full, None, None, store::now())
        .await
        .unwrap();
    (scope, token, session.csrf_token)
}

fn state(db: &Db) -> AppState {
    AppState::with_local_files(db.clone(), {
        let mut c = Config::from_env(Mode::Demo).expect("demo config from a clean environment");
        c.database_url = Default::default();
        c.bind = "127.0.0.1:0".parse().unwrap();
        c.data_dir = std::env::temp_dir();
        c.public_url = "http://localhost".into();
        c.smtp_url = None;
        c.mail_from = "test@localhost".into();
        c.secure_cookies = false;
        c.session_idle_secs = 3600;
        c.session_max_secs = 12 * 3600;
        c.trusted_proxies = vec![];
        c.totp_required_for_admins = false;
        c.worker_poll_secs = 60;
        c.sms = web::config::SmsConfig::Demo;
        c.quiet_hours = Some(domain::QuietHours::default());
        c
    })
}

async fn get(st: &AppState, token: &str, uri: &str) -> StatusCode {
    let req = Request::get(uri)
        .header(header::COOKIE, format!("passerelle_session={token}"))
        .body(Body::empty())
        .unwrap();
    web::router(st.clone()).oneshot(req).await.unwrap().status()
}

async fn post(st: &AppState, token: &str, csrf: &str, uri: &str, body: &str) -> StatusCode {
    let req = Request::post(uri)
        .header(header::COOKIE, format!("passerelle_session={token}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf_token={csrf}&{body}")))
        .unwrap();
    web::router(st.clone()).oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn an_agent_of_another_spip_gets_404_on_people_and_appointments() {
    on_each_backend(|db| async move {
        let now = store::now();
        let spip92 = org(&db, "SPIP 92", "92").await;
        let spip75 = org(&db, "SPIP 75", "75").await;
        let (cpip92, token92, csrf92) = user(&db, "cpip@spip92.test", &spip92).await;
        let (_, token75, csrf75) = user(&db, "cpip@spip75.test", &spip75).await;
        let sys = Scope::system("test");
        let place = places::create(
            &db,
            &sys,
            &spip92,
            &PlaceInput {
                name: "SPIP 92 — Nanterre".into(),
                address: "1 rue de l'Exemple, 92000 Nanterre".into(),
                phone: "01 40 00 00 00".into(),
                active: true,
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
        places::set_appointment_types(&db, &sys, &place.id, &["convocation_suivi_spip"])
            .await
            .unwrap();
        let agenda = agendas::create(&db, &sys, &place.id, "Agenda", now)
            .await
            .unwrap();
        let p = ppsmj::create(
            &db,
            &cpip92,
            &spip92,
            &PpsmjInput {
                first_name: "Élodie".into(),
                last_name: "Martin".into(),
                birth_date: "1990-04-02".into(),
                phone: "0692 12 34 56".into(),
                email: "elodie@example.org".into(),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
        // Booking with its messages in one transaction, as the booking handler does.
        let mut tx = db.begin().await.unwrap();
        let booked = appointments::book_tx(
            &mut tx,
            &cpip92,
            &BookRequest {
                ppsmj_id: p.id.clone(),
                agenda_id: agenda.id.clone(),
                appointment_type_id: "convocation_suivi_spip".into(),
                when: When::At(now + 10 * 86_400),
                now,
            },
            None,
        )
        .await
        .unwrap();
        let written = web::handlers::msj::notify::enqueue_for(
            &mut tx,
            &cpip92,
            &booked.messages,
            None,
            now,
            Some(domain::QuietHours::default()),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // Summon and reminder, each by SMS (overseas mobile) and e-mail.
        assert_eq!(written, 4);
        let a = booked.appointment.id.clone();
        let rows = store::outbox::list_related(&db, "appointment", std::slice::from_ref(&a))
            .await
            .unwrap();
        assert!(rows.iter().any(|m| m.kind == "summon"
            && m.channel == "sms"
            && m.recipient == "+262692123456"
            && m.body.starts_with("Convocation le ")));
        assert!(rows
            .iter()
            .any(|m| m.kind == "reminder" && m.channel == "email"));

        let st = state(&db);
        let urls = [
            format!("/msj/personnes/{}", p.id),
            format!("/msj/personnes/{}/modifier", p.id),
            format!("/msj/personnes/{}/rendez-vous/nouveau", p.id),
            format!("/msj/rendez-vous/{a}"),
        ];
        for u in &urls {
            assert_eq!(get(&st, &token92, u).await, StatusCode::OK, "{u}");
            assert_eq!(get(&st, &token75, u).await, StatusCode::NOT_FOUND, "{u}");
        }
        for (u, body) in [
            (format!("/msj/rendez-vous/{a}/annuler"), "reason=x"),
            (format!("/msj/rendez-vous/{a}/resultat"), "outcome=no_show"),
            (format!("/msj/personnes/{}/archiver", p.id), ""),
        ] {
            assert_eq!(
                post(&st, &token75, &csrf75, &u, body).await,
                StatusCode::NOT_FOUND,
                "{u}"
            );
        }
        // The owner cancels: the pending reminders are canceled with it, the cancelation is programmed.
        let status = post(
            &st,
            &token92,
            &csrf92,
            &format!("/msj/rendez-vous/{a}/annuler"),
            "reason=D%C3%A9m%C3%A9nagement",
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let rows = store::outbox::list_related(&db, "appointment", std::slice::from_ref(&a))
            .await
            .unwrap();
        assert!(rows
            .iter()
            .filter(|m| m.kind == "reminder")
            .all(|m| m.state == "canceled"));
        assert!(rows
            .iter()
            .any(|m| m.kind == "cancelation" && m.state == "programmed"));
    })
    .await;
}
