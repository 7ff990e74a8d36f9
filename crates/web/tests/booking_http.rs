//! Booking rules seen through the agents' forms, on both backends: impossible free times refused (holidays,
//! closed days, night hours; Saturdays confirmed), a form submitted twice acts once, missed appointments replaced,
//! past appointments not canceled, and a cancellation without telling the person.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
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

const TYPE: &str = "convocation_suivi_spip";

struct Fx {
    st: AppState,
    scope: Scope,
    token: String,
    csrf: String,
    person: String,
    agenda: String,
}

struct Agent {
    scope: Scope,
    token: String,
    csrf: String,
}

async fn agent(db: &Db, email: &str, role: Role, org_id: &str) -> Agent {
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
    let scope = Scope::for_user(db, &u.id, &u.email, u.role, &u.organisation_id, None)
        .await
        .unwrap();
    let (token, session) = sessions::create(db, &u.id, Stage::Full, None, None, store::now())
        .await
        .unwrap();
    Agent {
        scope,
        token,
        csrf: session.csrf_token,
    }
}

async fn fixture(db: &Db) -> (Fx, String) {
    let now = store::now();
    let org = orgs::create(
        db,
        &Actor::system("test"),
        &NewOrganisation {
            kind: OrgKind::Spip,
            name: "SPIP 92".into(),
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
    .id;
    let a = agent(db, "cpip@spip92.test", Role::Cpip, &org).await;
    let sys = Scope::system("test");
    let place = places::create(
        db,
        &sys,
        &org,
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
    places::set_appointment_types(db, &sys, &place.id, &[TYPE, "sortie_audience_spip"])
        .await
        .unwrap();
    let agenda = agendas::create(db, &sys, &place.id, "Agenda", now)
        .await
        .unwrap();
    let p = ppsmj::create(
        db,
        &a.scope,
        &org,
        &PpsmjInput {
            first_name: "Élodie".into(),
            last_name: "Martin".into(),
            birth_date: "1990-04-02".into(),
            phone: "06 12 34 56 78".into(),
            ..Default::default()
        },
        now,
    )
    .await
    .unwrap();
    let st = AppState::with_local_files(db.clone(), {
        let mut c = Config::from_env(Mode::Demo).expect("demo config from a clean environment");
        c.database_url = Default::default();
        c.bind = "127.0.0.1:0".parse().unwrap();
        c.data_dir = std::env::temp_dir();
        c.public_url = "http://localhost".into();
        c.smtp_url = None;
        c.mail_from = "test@localhost".into();
        c.secure_cookies = false;
        c.session_idle_secs = 3600;
        c.totp_required_for_admins = false;
        c.worker_poll_secs = 60;
        c.sms = web::config::SmsConfig::Demo;
        c.quiet_hours = Some(domain::QuietHours::default());
        c
    });
    (
        Fx {
            st,
            scope: a.scope,
            token: a.token,
            csrf: a.csrf,
            person: p.id,
            agenda: agenda.id,
        },
        org,
    )
}

/// Status, Location header and body of a request.
async fn send(st: &AppState, req: Request<Body>) -> (StatusCode, String, String) {
    let res = web::router(st.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        location,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

async fn post(
    st: &AppState,
    token: &str,
    csrf: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, String, String) {
    let req = Request::post(uri)
        .header(header::COOKIE, format!("passerelle_session={token}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf_token={csrf}&{body}")))
        .unwrap();
    send(st, req).await
}

async fn get(st: &AppState, token: &str, uri: &str) -> (StatusCode, String, String) {
    let req = Request::get(uri)
        .header(header::COOKIE, format!("passerelle_session={token}"))
        .body(Body::empty())
        .unwrap();
    send(st, req).await
}

impl Fx {
    async fn book(&self, date: &str, time: &str, extra: &str) -> (StatusCode, String, String) {
        post(
            &self.st,
            &self.token,
            &self.csrf,
            &format!("/msj/personnes/{}/rendez-vous/nouveau", self.person),
            &format!(
                "type={TYPE}&agenda={}&date={date}&time={}{extra}",
                self.agenda,
                time.replace(':', "%3A")
            ),
        )
        .await
    }

    async fn appointments(&self) -> Vec<appointments::Appointment> {
        appointments::list_for_ppsmj(&self.st.db, &self.scope, &self.person)
            .await
            .unwrap()
    }

    async fn messages(&self, kind: &str) -> usize {
        let ids: Vec<String> = self
            .appointments()
            .await
            .into_iter()
            .map(|a| a.id)
            .collect();
        store::outbox::list_related(&self.st.db, "appointment", &ids)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == kind && m.state != "canceled")
            .count()
    }
}

#[tokio::test]
async fn a_free_time_on_a_holiday_a_sunday_or_at_night_is_refused_and_sends_nothing() {
    on_each_backend(|db| async move {
        let (fx, org) = fixture(&db).await;
        // Wednesday 1 May 2030 (public holiday), Sunday 3 March 2030, Tuesday 5 March 2030 at 03:00 and 19:30.
        for (date, time, says) in [
            ("2030-05-01", "10:00", "férié"),
            ("2030-03-03", "10:00", "fermé le dimanche"),
            ("2030-03-05", "03:00", "horaires d&#39;ouverture"),
            ("2030-03-05", "19:30", "horaires d&#39;ouverture"),
        ] {
            let (status, _, body) = fx.book(date, time, "").await;
            assert_eq!(status, StatusCode::OK, "{date} {time}");
            assert!(body.contains(says), "{date} {time}: {body}");
            // The input is kept.
            assert!(body.contains(&format!("value=\"{date}\"")), "{date}");
        }
        assert!(fx.appointments().await.is_empty());
        assert_eq!(fx.messages("summon").await, 0);

        // A Saturday asks for a confirmation, then books.
        let (status, _, body) = fx.book("2030-03-09", "10:00", "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("samedi") && body.contains("name=\"samedi\""));
        assert!(fx.appointments().await.is_empty());
        let (status, _, _) = fx.book("2030-03-09", "10:00", "&samedi=oui").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(fx.appointments().await.len(), 1);
        // A weekday within the hours books at once.
        let (status, _, _) = fx.book("2030-03-05", "14:00", "").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(fx.appointments().await.len(), 2);

        // The local admin narrows the hours; an agent may not change them.
        let admin = agent(&db, "admin@spip92.test", Role::LocalAdmin, &org).await;
        let hours = "opens=09%3A00&closes=12%3A00&j1=oui&j2=oui&j3=oui&j4=oui&j5=oui";
        let (status, _, _) = post(&fx.st, &fx.token, &fx.csrf, "/msj/horaires", hours).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, body) = post(
            &fx.st,
            &admin.token,
            &admin.csrf,
            "/msj/horaires",
            "opens=12%3A00&closes=09%3A00&j1=oui",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("L&#39;heure de fermeture doit être après"));
        let (status, location, _) =
            post(&fx.st, &admin.token, &admin.csrf, "/msj/horaires", hours).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
        let (_, _, body) = get(&fx.st, &admin.token, "/msj/horaires").await;
        assert!(body.contains("value=\"12:00\""));
        let (status, _, body) = fx.book("2030-03-12", "14:00", "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("de 9h00 à 12h00"), "{body}");
        let (status, _, body) = fx.book("2030-03-09", "10:00", "&samedi=oui").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("fermé le samedi"));
        assert_eq!(fx.appointments().await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn the_same_booking_form_posted_twice_books_once_and_shows_the_first_booking() {
    on_each_backend(|db| async move {
        let (fx, _) = fixture(&db).await;
        let (status, first, _) = fx.book("2030-03-05", "14:00", "&jeton=abc123").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(first.starts_with(&format!("/msj/personnes/{}", fx.person)));
        let (status, second, _) = fx.book("2030-03-05", "14:00", "&jeton=abc123").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let booked = fx.appointments().await;
        assert_eq!(booked.len(), 1);
        assert_eq!(second, format!("/msj/rendez-vous/{}", booked[0].id));
        // One summons by SMS (no e-mail on this record).
        assert_eq!(fx.messages("summon").await, 1);
        // Another token is another booking.
        let (status, _, _) = fx.book("2030-03-05", "15:00", "&jeton=def456").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(fx.appointments().await.len(), 2);

        // Cancel twice with the same token: one cancellation message.
        let id = booked[0].id.clone();
        for _ in 0..2 {
            let (status, _, _) = post(
                &fx.st,
                &fx.token,
                &fx.csrf,
                &format!("/msj/rendez-vous/{id}/annuler"),
                "reason=Erreur&jeton=cancel1&prevenir_choix=1&prevenir=oui",
            )
            .await;
            assert_eq!(status, StatusCode::SEE_OTHER);
        }
        assert_eq!(fx.messages("cancelation").await, 1);
    })
    .await;
}

#[tokio::test]
async fn canceling_without_telling_the_person_writes_no_cancelation() {
    on_each_backend(|db| async move {
        let (fx, _) = fixture(&db).await;
        fx.book("2030-03-05", "14:00", "").await;
        let id = fx.appointments().await[0].id.clone();
        let (status, _, _) = post(
            &fx.st,
            &fx.token,
            &fx.csrf,
            &format!("/msj/rendez-vous/{id}/annuler"),
            "reason=Erreur&prevenir_choix=1",
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(
            fx.appointments().await[0].state,
            domain::AppointmentState::Canceled
        );
        assert_eq!(fx.messages("cancelation").await, 0);
        // The reminder is withdrawn either way.
        assert_eq!(fx.messages("reminder").await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_past_appointment_is_not_canceled_and_a_missed_one_is_replaced_with_a_link() {
    on_each_backend(|db| async move {
        let (fx, _) = fixture(&db).await;
        let now = store::now();
        let starts = now - 3_600;
        let booked = appointments::book(
            &db,
            &fx.scope,
            &BookRequest {
                ppsmj_id: fx.person.clone(),
                agenda_id: fx.agenda.clone(),
                appointment_type_id: TYPE.into(),
                when: When::At(starts),
                now: starts - 86_400,
            },
        )
        .await
        .unwrap();
        let missed = booked.appointment.id;
        let (status, _, body) = post(
            &fx.st,
            &fx.token,
            &fx.csrf,
            &format!("/msj/rendez-vous/{missed}/annuler"),
            "reason=Trop+tard",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Ce rendez-vous est passé"), "{body}");
        let (status, _, _) = post(
            &fx.st,
            &fx.token,
            &fx.csrf,
            &format!("/msj/rendez-vous/{missed}/resultat"),
            "outcome=no_show",
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, page) = get(&fx.st, &fx.token, &format!("/msj/rendez-vous/{missed}")).await;
        assert!(page.contains("Planifier le rendez-vous de remplacement"));

        let (status, _, body) = fx
            .book("2030-03-05", "14:00", &format!("&remplace={missed}"))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let all = fx.appointments().await;
        let old = all.iter().find(|a| a.id == missed).unwrap();
        assert_eq!(old.state, domain::AppointmentState::NoShow);
        let new = all.iter().find(|a| a.id != missed).unwrap();
        assert_eq!(
            new.previous_appointment_id.as_deref(),
            Some(missed.as_str())
        );
        assert_eq!(new.state, domain::AppointmentState::Booked);
        let rows = store::outbox::list_related(&db, "appointment", std::slice::from_ref(&new.id))
            .await
            .unwrap();
        assert!(rows.iter().any(|m| m.kind == "summon"));
        assert!(!rows.iter().any(|m| m.kind == "reschedule"));
        // Once replaced, no second replacement.
        let (_, _, page) = get(&fx.st, &fx.token, &format!("/msj/rendez-vous/{missed}")).await;
        assert!(!page.contains("Planifier le rendez-vous de remplacement"));
        let (status, _, body) = fx
            .book("2030-03-12", "14:00", &format!("&remplace={missed}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("déjà planifié"));
        assert_eq!(fx.appointments().await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn slot_types_are_created_in_bulk_over_weekdays_and_a_time_range() {
    on_each_backend(|db| async move {
        let (fx, org) = fixture(&db).await;
        let admin = agent(&db, "admin@spip92.test", Role::LocalAdmin, &org).await;
        let uri = format!("/msj/agendas/{}/types-creneaux", fx.agenda);
        let series = |extra: &str| {
            format!(
                "appointment_type_id=sortie_audience_spip&weekday_1=oui&weekday_2=oui&start=09%3A00\
                 &duration_minutes=30&capacity=1{extra}"
            )
        };
        // An agent may not.
        let (status, _, _) = post(&fx.st, &fx.token, &fx.csrf, &uri, &series("&end=11%3A00&every=30")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Refused with the input kept.
        for (extra, says) in [
            ("&end=11%3A00&every=0", "intervalle"),
            ("&end=08%3A00&every=30", "L&#39;heure de fin doit être après"),
            ("&end=09%3A10&every=30", "plus courte que l&#39;intervalle"),
        ] {
            let (status, _, body) = post(&fx.st, &admin.token, &admin.csrf, &uri, &series(extra)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{extra}");
            assert!(body.contains(says), "{extra}");
            assert!(body.contains("id=\"weekday-2\" name=\"weekday_2\" value=\"oui\" checked"));
            assert!(body.contains("value=\"09:00\""));
        }
        let (status, _, body) = post(
            &fx.st,
            &admin.token,
            &admin.csrf,
            &uri,
            "appointment_type_id=sortie_audience_spip&start=09%3A00&duration_minutes=30&capacity=1",
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Cochez au moins un jour"));
        assert!(agendas::list_slot_types(&db, &admin.scope, &fx.agenda)
            .await
            .unwrap()
            .is_empty());

        // Monday and Tuesday, 09:00 to 11:00 every 30 minutes: ten weekly slots.
        let (status, location, _) = post(
            &fx.st,
            &admin.token,
            &admin.csrf,
            &uri,
            &series("&end=11%3A00&every=30"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.contains("ok=creneau&semaine="), "{location}");
        let types = agendas::list_slot_types(&db, &admin.scope, &fx.agenda)
            .await
            .unwrap();
        assert_eq!(types.len(), 10);
        assert!(types.iter().all(|t| t.duration_minutes == 30));
        // The week shown holds the first generated slot.
        let week: chrono::NaiveDate = location.rsplit('=').next().unwrap().parse().unwrap();
        let first = types
            .iter()
            .map(|t| t.weekday)
            .collect::<std::collections::HashSet<_>>();
        assert!(first.contains(&chrono::Datelike::weekday(&week)));

        // The single form still works (one weekday, no end).
        let (status, _, _) = post(
            &fx.st,
            &admin.token,
            &admin.csrf,
            &uri,
            "appointment_type_id=sortie_audience_spip&weekday=3&start=14%3A00&duration_minutes=30&capacity=2",
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(
            agendas::list_slot_types(&db, &admin.scope, &fx.agenda)
                .await
                .unwrap()
                .len(),
            11
        );
    })
    .await;
}

#[tokio::test]
async fn an_outcome_posted_twice_is_recorded_once_and_the_forms_carry_a_token() {
    on_each_backend(|db| async move {
        let (fx, _) = fixture(&db).await;
        let starts = store::now() - 3_600;
        let booked = appointments::book(
            &db,
            &fx.scope,
            &BookRequest {
                ppsmj_id: fx.person.clone(),
                agenda_id: fx.agenda.clone(),
                appointment_type_id: TYPE.into(),
                when: When::At(starts),
                now: starts - 86_400,
            },
        )
        .await
        .unwrap();
        let id = booked.appointment.id;
        let (_, _, queue) = get(&fx.st, &fx.token, "/msj/a-traiter").await;
        assert!(queue.contains("name=\"jeton\""));
        let (_, _, page) = get(&fx.st, &fx.token, &format!("/msj/rendez-vous/{id}")).await;
        assert!(page.contains("name=\"jeton\""));
        let (status, first, _) = post(
            &fx.st,
            &fx.token,
            &fx.csrf,
            &format!("/msj/rendez-vous/{id}/resultat"),
            "outcome=no_show&jeton=o1&retour=a-traiter",
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        // The second click says "excused" but changes nothing: the first result is shown.
        let (status, second, body) = post(
            &fx.st,
            &fx.token,
            &fx.csrf,
            &format!("/msj/rendez-vous/{id}/resultat"),
            "outcome=excused&jeton=o1&retour=a-traiter",
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(first, second);
        assert_eq!(
            fx.appointments().await[0].state,
            domain::AppointmentState::NoShow
        );
        assert_eq!(fx.messages("no_show").await, 1);
    })
    .await;
}
