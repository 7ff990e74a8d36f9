//! Mon Suivi Justice administration through the real router, on SQLite and PostgreSQL: PDFs (text extracted
//! with pdftotext), scoping (another organisation gets 404), statistics CSV, APPI import report.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::TimeZone;
use http_body_util::BodyExt;
use store::msj::agendas::{self, SlotTypeInput};
use store::msj::appointments::{self, BookRequest, Outcome, When};
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

fn config() -> Config {
    let mut c = Config::from_env(Mode::Demo).expect("demo config from a clean environment");
    c.public_url = "http://passerelle.test".into();
    c
}

async fn org(db: &Db, name: &str) -> orgs::Organisation {
    orgs::create(
        db,
        &Actor::system("test"),
        &NewOrganisation {
            kind: OrgKind::Spip,
            name: name.into(),
            parent_id: None,
            departement: Some("92".into()),
            time_zone: "Europe/Paris".into(),
            address: Some("1 place de la Justice, 92000 Nanterre".into()),
            phone: Some("+33140000000".into()),
            email: None,
        },
    )
    .await
    .unwrap()
}

async fn session(db: &Db, email: &str, role: Role, org_id: &str) -> String {
    let u = users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Camille".into(),
            last_name: "Test".into(),
            role,
            organisation_id: org_id.into(),
            password_hash: Some(web::password::hash("mot de passe de test")),
        },
    )
    .await
    .unwrap();
    let (token, _) = sessions::create(db, &u.id, Stage::Full, None, None, store::now())
        .await
        .unwrap();
    format!("passerelle_session={token}")
}

async fn send(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, body, headers)
}

fn get(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

struct Fixture {
    place_id: String,
    agenda_id: String,
    appointment_id: String,
    ppsmj_id: String,
    starts_at: i64,
    slot_date: chrono::NaiveDate,
}

/// A SPIP with a place, an agenda with a weekly slot, a PPSMJ and one appointment whose no-show is recorded.
async fn fixture(db: &Db, org_id: &str) -> Fixture {
    let sys = Scope::system("test");
    let now = store::now();
    let place = places::create(
        db,
        &sys,
        org_id,
        &PlaceInput {
            name: "SPIP 92 — antenne de Nanterre".into(),
            address: "12 rue de l'Église, 92000 Nanterre".into(),
            phone: "01 47 00 00 00".into(),
            email: "spip92@justice.fr".into(),
            accessibility: "Accès de plain-pied, ascenseur.".into(),
            documents_to_bring: "Justificatif de domicile\nBulletins de salaire".into(),
            preparation_url: "https://www.justice.fr/preparer".into(),
            departement: "92".into(),
            active: true,
        },
        now,
    )
    .await
    .unwrap();
    places::set_appointment_types(
        db,
        &sys,
        &place.id,
        &["convocation_suivi_spip", "sortie_audience_spip"],
    )
    .await
    .unwrap();
    let agenda = agendas::create(db, &sys, &place.id, "Bureau 3", now)
        .await
        .unwrap();
    agendas::add_slot_type(
        db,
        &sys,
        &agenda.id,
        &SlotTypeInput {
            appointment_type_id: "sortie_audience_spip".into(),
            weekday: 2,
            start: "10:00".into(),
            duration_minutes: 30,
            capacity: 3,
        },
        now,
    )
    .await
    .unwrap();
    let slot_date = agendas::list_slots(
        db,
        &sys,
        &agenda.id,
        chrono::Utc::now().date_naive(),
        chrono::Utc::now().date_naive() + chrono::Duration::days(60),
    )
    .await
    .unwrap()[0]
        .local_date;
    let p = ppsmj::create(
        db,
        &sys,
        org_id,
        &PpsmjInput {
            first_name: "Hélène".into(),
            last_name: "Lefèvre".into(),
            birth_date: "1990-03-02".into(),
            phone: "06 12 34 56 78".into(),
            address: "3 allée des Érables".into(),
            city: "92000 Nanterre".into(),
            appi_number: "20012345".into(),
            ..PpsmjInput::default()
        },
        now,
    )
    .await
    .unwrap();
    // Monday 3 May 2027, 14:30 in Paris.
    let starts_at = chrono_tz::Europe::Paris
        .with_ymd_and_hms(2027, 5, 3, 14, 30, 0)
        .unwrap()
        .timestamp();
    let booked = appointments::book(
        db,
        &sys,
        &BookRequest {
            ppsmj_id: p.id.clone(),
            agenda_id: agenda.id.clone(),
            appointment_type_id: "convocation_suivi_spip".into(),
            when: When::At(starts_at),
            now,
        },
    )
    .await
    .unwrap();
    Fixture {
        place_id: place.id,
        agenda_id: agenda.id,
        appointment_id: booked.appointment.id,
        ppsmj_id: p.id,
        starts_at,
        slot_date,
    }
}

fn pdf_text(bytes: &[u8]) -> Option<String> {
    web::pdf::extract_text_for_test(bytes).map(|t| web::pdf::normalize_ws(&t))
}

#[tokio::test]
async fn convocation_and_day_agenda_pdfs_carry_the_place_and_the_date_and_are_audited() {
    on_each_backend(|db| async move {
        let a = org(&db, "SPIP des Hauts-de-Seine").await;
        let fx = fixture(&db, &a.id).await;
        let cookie = session(&db, "cpip-a@test.fr", Role::Cpip, &a.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));

        let (status, body, headers) = send(
            &app,
            get(
                &format!("/msj/rendez-vous/{}/convocation.pdf", fx.appointment_id),
                &cookie,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
        assert!(body.starts_with(b"%PDF-1.4"));
        if let Some(text) = pdf_text(&body) {
            for needle in [
                "MINISTÈRE",
                "DE LA JUSTICE",
                "Liberté",
                "Convocation",
                "Convocation de suivi SPIP",
                "Hélène LEFÈVRE",
                "3 allée des Érables",
                "lundi 3 mai 2027 à 14h30",
                "SPIP 92 — antenne de Nanterre",
                "12 rue de l'Église, 92000 Nanterre",
                "01 47 00 00 00",
                "spip92@justice.fr",
                "Accès de plain-pied, ascenseur.",
                "Justificatif de domicile",
                "Bulletins de salaire",
                "https://www.justice.fr/preparer",
                "Si vous ne pouvez pas venir",
                "SPIP des Hauts-de-Seine",
            ] {
                assert!(text.contains(needle), "missing {needle:?} in {text}");
            }
        }

        let (status, body, _) = send(
            &app,
            get(
                &format!("/msj/agendas/{}/jour/2027-05-03.pdf", fx.agenda_id),
                &cookie,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        if let Some(text) = pdf_text(&body) {
            for needle in [
                "Agenda du lundi 3 mai 2027",
                "Bureau 3",
                "SPIP 92 — antenne de Nanterre",
                "14h30",
                "LEFÈVRE Hélène",
                "20012345",
                "Planifié",
            ] {
                assert!(text.contains(needle), "missing {needle:?} in {text}");
            }
        }
        // a day with a generated slot lists it
        let (status, body, _) = send(
            &app,
            get(
                &format!("/msj/agendas/{}/jour/{}.pdf", fx.agenda_id, fx.slot_date),
                &cookie,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        if let Some(text) = pdf_text(&body) {
            assert!(text.contains("10h00"), "{text}");
            assert!(text.contains("Sortie d'audience SPIP"), "{text}");
        }

        let events = store::audit::list(
            &db,
            &Scope::system("test"),
            &store::audit::AuditFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let actions: Vec<String> = events.iter().map(|e| e.action.clone()).collect();
        assert!(
            actions.iter().any(|a| a == "appointment.convocation_pdf"),
            "{actions:?}"
        );
        // The agenda of the day is one read: one event naming whose data the printout showed, not one
        // transaction per person.
        let day = events
            .iter()
            .find(|e| {
                e.action == "agenda.day_pdf"
                    && e.details
                        .as_deref()
                        .is_some_and(|d| d.contains("2027-05-03"))
            })
            .expect("the day's printout is audited");
        assert!(
            day.details.as_deref().unwrap().contains(&fx.ppsmj_id),
            "{:?}",
            day.details
        );
        // The only person read is the convocation's own; the day printouts add none of their own.
        assert_eq!(
            events.iter().filter(|e| e.action == "ppsmj.read").count(),
            1,
            "{actions:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn another_organisation_gets_404_on_every_place_agenda_and_pdf_url() {
    on_each_backend(|db| async move {
        let a = org(&db, "SPIP A").await;
        let b = org(&db, "SPIP B").await;
        let fx = fixture(&db, &a.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let own = session(&db, "admin-a@test.fr", Role::LocalAdmin, &a.id).await;
        for (email, role) in [
            ("admin-b@test.fr", Role::LocalAdmin),
            ("cpip-b@test.fr", Role::Cpip),
        ] {
            let other = session(&db, email, role, &b.id).await;
            for url in [
                format!("/msj/lieux/{}", fx.place_id),
                format!("/msj/agendas/{}", fx.agenda_id),
                format!("/msj/agendas/{}/jour/2027-05-03.pdf", fx.agenda_id),
                format!("/msj/rendez-vous/{}/convocation.pdf", fx.appointment_id),
                format!("/msj/personnes/{}/dessaisissement", fx.ppsmj_id),
            ] {
                let (status, _, _) = send(&app, get(&url, &own)).await;
                assert_eq!(status, StatusCode::OK, "{url} for its own organisation");
                let (status, _, _) = send(&app, get(&url, &other)).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{url} for {email}");
            }
            // and the lists do not show A's place
            let (status, body, _) = send(&app, get("/msj/lieux", &other)).await;
            assert_eq!(status, StatusCode::OK);
            assert!(!String::from_utf8_lossy(&body).contains("antenne de Nanterre"));
        }
    })
    .await;
}

#[tokio::test]
async fn statistics_csv_has_a_bom_semicolons_and_the_absenteeism_rate() {
    on_each_backend(|db| async move {
        let a = org(&db, "SPIP des Hauts-de-Seine").await;
        let fx = fixture(&db, &a.id).await;
        appointments::record_outcome(
            &db,
            &Scope::system("test"),
            &fx.appointment_id,
            Outcome::NoShow,
            fx.starts_at + 3600,
        )
        .await
        .unwrap();
        let cookie = session(&db, "dpip@test.fr", Role::Dpip, &a.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let (status, body, headers) = send(
            &app,
            get("/msj/statistiques.csv?du=2027-01-01&au=2027-12-31", &cookie),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
        assert!(body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
        let text = String::from_utf8(body[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "Mois;Service;Agenda;Type de rendez-vous;Honorés;Absents;Excusés;Issues enregistrées;Taux d'absentéisme (%)"
        );
        assert_eq!(
            lines[1],
            "2027-05;SPIP des Hauts-de-Seine;Bureau 3;Convocation de suivi SPIP;0;1;0;1;100,0"
        );
        assert_eq!(lines.len(), 2);

        // the page shows the chart and its table
        let (status, body, _) = send(
            &app,
            get("/msj/statistiques?du=2027-01-01&au=2027-12-31", &cookie),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("<bar-chart"), "chart");
        assert!(html.contains("mai 2027"));
        assert!(html.contains("100,0 %"));
        assert!(html.contains("/static/dsfr-chart/BarChart/BarChart.js"));
        let (status, _, _) = send(&app, get("/static/dsfr-chart/BarChart/BarChart.js", "")).await;
        assert_eq!(status, StatusCode::OK);

        // another SPIP's CSV is empty
        let b = org(&db, "SPIP B").await;
        let other = session(&db, "dpip-b@test.fr", Role::Dpip, &b.id).await;
        let (_, body, _) = send(
            &app,
            get("/msj/statistiques.csv?du=2027-01-01&au=2027-12-31", &other),
        )
        .await;
        assert_eq!(String::from_utf8_lossy(&body[3..]).lines().count(), 1);
    })
    .await;
}

#[tokio::test]
async fn appi_upload_with_a_bad_row_imports_nothing_and_reports_the_line() {
    on_each_backend(|db| async move {
        let a = org(&db, "SPIP des Hauts-de-Seine").await;
        let (token, s) = {
            let u = users::create(
                &db,
                &Actor::system("test"),
                &NewUser {
                    email: "la@test.fr".into(),
                    first_name: "Léa".into(),
                    last_name: "Admin".into(),
                    role: Role::LocalAdmin,
                    organisation_id: a.id.clone(),
                    password_hash: None,
                },
            )
            .await
            .unwrap();
            sessions::create(&db, &u.id, Stage::Full, None, None, store::now())
                .await
                .unwrap()
        };
        let cookie = format!("passerelle_session={token}");
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let upload = |csv: Vec<u8>, csrf: &str| {
            let boundary = "XyZ";
            let mut body = Vec::new();
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"organisation_id\"\r\n\r\n{}\r\n", a.id)
                    .as_bytes(),
            );
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"appi.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(&csv);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            Request::post(format!("/msj/import-appi?csrf_token={csrf}"))
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
                .body(Body::from(body))
                .unwrap()
        };
        // ISO-8859-1: "é" is 0xE9
        let bad = b"Num\xe9ro APPI;Nom;Pr\xe9nom;Date de naissance\n19912345;Martin;Paul;01/01/1990\n12;Durand;L\xe9a;01/01/1991\n".to_vec();
        let (status, body, _) = send(&app, upload(bad.clone(), "wrong")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "CSRF token required");
        let (status, body2, _) = send(&app, upload(bad, &s.csrf_token)).await;
        let _ = body;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = String::from_utf8_lossy(&body2);
        assert!(html.contains("aucun dossier n&#39;a été importé") || html.contains("aucun dossier n'a été importé"), "{html}");
        assert!(html.contains("<td>3</td>"), "line 3 reported");
        assert!(html.contains("Numéro APPI invalide"));
        let found = ppsmj::search(&db, &Scope::system("t"), "Martin", true, 10).await.unwrap();
        assert!(found.is_empty(), "nothing imported");

        let good = b"Num\xe9ro APPI;Nom;Pr\xe9nom;Date de naissance\n19912345;Martin;Paul;01/01/1990\n".to_vec();
        let (status, body, _) = send(&app, upload(good, &s.csrf_token)).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("1 dossier(s) créé(s)"), "{html}");
    })
    .await;
}

/// A session with its CSRF token.
async fn session_with_csrf(db: &Db, email: &str, role: Role, org_id: &str) -> (String, String) {
    let u = users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Camille".into(),
            last_name: "Test".into(),
            role,
            organisation_id: org_id.into(),
            password_hash: None,
        },
    )
    .await
    .unwrap();
    let (token, s) = sessions::create(db, &u.id, Stage::Full, None, None, store::now())
        .await
        .unwrap();
    (format!("passerelle_session={token}"), s.csrf_token)
}

fn post_form(uri: &str, cookie: &str, csrf: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf_token={csrf}&{body}")))
        .unwrap()
}

#[tokio::test]
async fn the_statistics_page_and_csv_compare_absenteeism_with_and_without_sms_reminders_before_and_after(
) {
    on_each_backend(|db| async move {
        let a = org(&db, "SPIP des Hauts-de-Seine").await;
        let fx = fixture(&db, &a.id).await;
        let sys = Scope::system("test");
        // Appointments in 2020 (past whatever the clock says), booked as they were then.
        let booked_on = chrono::Utc
            .with_ymd_and_hms(2020, 1, 2, 9, 0, 0)
            .unwrap()
            .timestamp();
        let no_phone = ppsmj::create(
            &db,
            &sys,
            &a.id,
            &PpsmjInput {
                first_name: "Léa".into(),
                last_name: "Petit".into(),
                birth_date: "1991-01-01".into(),
                no_phone: true,
                ..PpsmjInput::default()
            },
            booked_on,
        )
        .await
        .unwrap()
        .id;
        let plan: [(&str, u32, u32, Option<Outcome>); 8] = [
            (&fx.ppsmj_id, 3, 2, Some(Outcome::NoShow)),
            (&fx.ppsmj_id, 3, 3, Some(Outcome::Fulfilled)),
            (&no_phone, 3, 4, Some(Outcome::NoShow)),
            (&fx.ppsmj_id, 9, 1, Some(Outcome::Fulfilled)),
            (&fx.ppsmj_id, 9, 2, Some(Outcome::Fulfilled)),
            (&fx.ppsmj_id, 9, 3, None),
            (&no_phone, 9, 4, Some(Outcome::NoShow)),
            (&no_phone, 9, 7, Some(Outcome::Fulfilled)),
        ];
        for (who, m, d, outcome) in plan {
            let at = chrono_tz::Europe::Paris
                .with_ymd_and_hms(2020, m, d, 10, 0, 0)
                .unwrap()
                .timestamp();
            let b = appointments::book(
                &db,
                &sys,
                &BookRequest {
                    ppsmj_id: who.to_string(),
                    agenda_id: fx.agenda_id.clone(),
                    appointment_type_id: "convocation_suivi_spip".into(),
                    when: When::At(at),
                    now: booked_on,
                },
            )
            .await
            .unwrap();
            if let Some(o) = outcome {
                appointments::record_outcome(&db, &sys, &b.appointment.id, o, at + 3600)
                    .await
                    .unwrap();
            }
        }
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let (admin, admin_csrf) = session_with_csrf(&db, "la@test.fr", Role::LocalAdmin, &a.id).await;
        let (dpip, dpip_csrf) = session_with_csrf(&db, "dpip@test.fr", Role::Dpip, &a.id).await;
        let period = "du=2020-01-01&au=2020-12-31";

        // The start date: a bad one is refused with a French message, an agent may not set it, an admin may.
        let (status, body, _) = send(
            &app,
            post_form(
                "/msj/statistiques/debut-rappels",
                &admin,
                &admin_csrf,
                &format!("organisation={}&debut_rappels=2020-13-01&{period}", a.id),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("Saisissez une date valide"), "{html}");
        assert!(html.contains("value=\"2020-13-01\""), "the input is kept");
        let (status, _, _) = send(
            &app,
            post_form(
                "/msj/statistiques/debut-rappels",
                &dpip,
                &dpip_csrf,
                &format!("organisation={}&debut_rappels=2020-06-01", a.id),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, headers) = send(
            &app,
            post_form(
                "/msj/statistiques/debut-rappels",
                &admin,
                &admin_csrf,
                &format!("organisation={}&debut_rappels=2020-06-01&{period}", a.id),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let location = headers[header::LOCATION].to_str().unwrap().to_string();
        assert!(location.starts_with("/msj/statistiques?du=2020-01-01&au=2020-12-31&rappels=ok"));

        let (status, body, _) = send(&app, get(&location, &admin)).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("La date de début des rappels SMS a été enregistrée."));
        assert!(html.contains("Effet des rappels SMS"));
        assert!(html.contains("<li>SPIP des Hauts-de-Seine : lundi 1er juin 2020, date saisie</li>"), "{html}");
        // before: with SMS 1 no-show of 2, without 1 of 1; after: with 0 of 2 (1 not entered), without 1 of 2
        assert!(html.contains("<td>Avant le lundi 1er juin 2020</td>\n        <td>2</td><td>1</td><td class=\"pa-nowrap\">50,0 %</td>\n        <td>1</td><td>1</td><td class=\"pa-nowrap\">100,0 %</td>\n        <td>0</td>"), "{html}");
        assert!(html.contains("<td>Depuis le lundi 1er juin 2020</td>\n        <td>2</td><td>0</td><td class=\"pa-nowrap\">0,0 %</td>\n        <td>2</td><td>1</td><td class=\"pa-nowrap\">50,0 %</td>\n        <td>1</td>"), "{html}");
        assert!(html.contains("tabindex=\"0\" role=\"region\""));
        assert!(html.contains("id=\"debut_rappels\""), "the admin gets the form");
        let (_, body, _) = send(&app, get(&format!("/msj/statistiques?{period}"), &dpip)).await;
        assert!(!String::from_utf8_lossy(&body).contains("id=\"debut_rappels\""), "an agent does not");

        let (status, body, headers) =
            send(&app, get(&format!("/msj/statistiques/impact.csv?{period}"), &dpip)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
        assert!(body.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(body[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "Mois;Service;Type de rendez-vous;Groupe;Période;Début des rappels;Honorés;Absents;Excusés;Issues renseignées;Issues non renseignées;Taux d'absentéisme (%)",
                "2020-03;SPIP des Hauts-de-Seine;Convocation de suivi SPIP;Avec rappels SMS;Avant;2020-06-01;1;1;0;2;0;50,0",
                "2020-03;SPIP des Hauts-de-Seine;Convocation de suivi SPIP;Sans rappels SMS;Avant;2020-06-01;0;1;0;1;0;100,0",
                "2020-09;SPIP des Hauts-de-Seine;Convocation de suivi SPIP;Avec rappels SMS;Après;2020-06-01;2;0;0;2;1;0,0",
                "2020-09;SPIP des Hauts-de-Seine;Convocation de suivi SPIP;Sans rappels SMS;Après;2020-06-01;1;1;0;2;0;50,0",
            ]
        );

        // Another SPIP sees none of it and may not set its date.
        let b = org(&db, "SPIP B").await;
        let (other, other_csrf) = session_with_csrf(&db, "la-b@test.fr", Role::LocalAdmin, &b.id).await;
        let (_, body, _) =
            send(&app, get(&format!("/msj/statistiques/impact.csv?{period}"), &other)).await;
        assert_eq!(String::from_utf8_lossy(&body[3..]).lines().count(), 1);
        let (_, body, _) = send(&app, get(&format!("/msj/statistiques?{period}"), &other)).await;
        assert!(!String::from_utf8_lossy(&body).contains("Avant le lundi 1er juin 2020"));
        let (status, _, _) = send(
            &app,
            post_form(
                "/msj/statistiques/debut-rappels",
                &other,
                &other_csrf,
                &format!("organisation={}&debut_rappels=2021-01-01", a.id),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}
