//! The message templates editor through the real router, on SQLite and PostgreSQL: validation in French with
//! nothing saved, an override picked by the send-time renderer, scoping (another organisation: 404; a CPIP: 403)
//! and the JSON preview's SMS counts.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::TimeZone;
use http_body_util::BodyExt;
use messaging::{Rendered, Renderer};
use store::msj::agendas;
use store::msj::appointments::{self, BookRequest, When};
use store::msj::places::{self, PlaceInput};
use store::msj::ppsmj::{self, PpsmjInput};
use store::orgs::{self, NewOrganisation};
use store::roles::{OrgKind, Role};
use store::sessions::{self, Stage};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{templates, Actor, Db, Scope};
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

/// A logged-in session: (cookie header, csrf token).
async fn session(db: &Db, email: &str, role: Role, org_id: &str) -> (String, String) {
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
    let (token, s) = sessions::create(db, &u.id, Stage::Full, None, None, store::now())
        .await
        .unwrap();
    (format!("passerelle_session={token}"), s.csrf_token)
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn post_form(uri: &str, cookie: &str, fields: &[(&str, &str)]) -> Request<Body> {
    Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
        .unwrap()
}

fn post_json(uri: &str, cookie: &str, csrf: &str, body: serde_json::Value) -> Request<Body> {
    Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-csrf-token", csrf)
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// The organisation's own texts (not the national ones).
async fn overrides(db: &Db, org_id: &str) -> Vec<templates::MessageTemplate> {
    templates::list(db, &Scope::system("test"), Some(org_id))
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.organisation_id.is_some())
        .collect()
}

const SUMMON: &str = "/msj/modeles/*/summon/fr";

#[tokio::test]
async fn an_unknown_variable_is_refused_in_french_keeps_the_input_and_saves_nothing() {
    on_each_backend(|db| async move {
        let spip = org(&db, "SPIP 92").await;
        let (cookie, csrf) = session(&db, "admin@spip92.test", Role::LocalAdmin, &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));

        let (status, body) = send(&app, get("/msj/modeles", &cookie)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Modèles de messages"));
        assert!(body.contains(&format!("href=\"{SUMMON}\"")), "{body}");

        let text = "RDV le {rdv.date} au {rdv.lieu}";
        let (status, body) = send(
            &app,
            post_form(
                SUMMON,
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("subject", "Convocation"),
                    ("body", text),
                    ("action", "enregistrer"),
                ],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body.contains("id=\"body-erreur\">Variable inconnue : {rdv.lieu}."),
            "{body}"
        );
        assert!(body.contains("aria-describedby=\"body-erreur\""));
        assert!(body.contains(&format!(">{text}</textarea>")), "input kept");
        // An unbalanced brace too.
        let (status, body) = send(
            &app,
            post_form(
                SUMMON,
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("body", "RDV le {rdv.date"),
                    ("action", "enregistrer"),
                ],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Accolade ouvrante"), "{body}");
        assert!(overrides(&db, &spip.id).await.is_empty(), "nothing saved");

        // "Prévisualiser" renders on the sample appointment without saving.
        let (status, body) = send(
            &app,
            post_form(
                SUMMON,
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("body", "RDV le {rdv.date} à {rdv.heure}"),
                    ("action", "apercu"),
                ],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("RDV le lundi 3 mai 2027 à 14h30"), "{body}");
        assert!(body.contains("GSM-7"));
        assert!(
            overrides(&db, &spip.id).await.is_empty(),
            "a preview saves nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn a_saved_override_is_used_by_the_send_time_renderer_then_reverted() {
    on_each_backend(|db| async move {
        let spip = org(&db, "SPIP 92").await;
        let (cookie, csrf) = session(&db, "admin@spip92.test", Role::LocalAdmin, &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let sys = Scope::system("test");
        let now = store::now();
        let place = places::create(
            &db,
            &sys,
            &spip.id,
            &PlaceInput {
                name: "Antenne de Nanterre".into(),
                address: "12 rue de l'Église, 92000 Nanterre".into(),
                phone: "01 47 00 00 00".into(),
                active: true,
                ..PlaceInput::default()
            },
            now,
        )
        .await
        .unwrap();
        places::set_appointment_types(&db, &sys, &place.id, &["convocation_suivi_spip"])
            .await
            .unwrap();
        let agenda = agendas::create(&db, &sys, &place.id, "Bureau 3", now).await.unwrap();
        let p = ppsmj::create(
            &db,
            &sys,
            &spip.id,
            &PpsmjInput {
                first_name: "Hélène".into(),
                last_name: "Lefèvre".into(),
                birth_date: "1990-03-02".into(),
                phone: "06 12 34 56 78".into(),
                // The renderer sends only to the person's current address (see render.rs).
                email: "helene@example.fr".into(),
                ..PpsmjInput::default()
            },
            now,
        )
        .await
        .unwrap();
        let starts_at = chrono_tz::Europe::Paris
            .with_ymd_and_hms(2027, 5, 3, 14, 30, 0)
            .unwrap()
            .timestamp();
        let booked = appointments::book(
            &db,
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

        let text = "Bonjour, RDV le {rdv.date} à {rdv.heure}, {lieu.nom}. Tel {lieu.telephone}";
        let (status, _) = send(
            &app,
            post_form(
                SUMMON,
                &cookie,
                &[("csrf_token", &csrf), ("subject", "Votre convocation"), ("body", text), ("action", "enregistrer")],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, page) = send(&app, get(&format!("{SUMMON}?ok=1"), &cookie)).await;
        assert!(page.contains("Modèle enregistré"));
        assert!(page.contains("Revenir au texte national"));
        let own = overrides(&db, &spip.id).await;
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].body, text);

        // The save is audited (by the store, in the same transaction).
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'template.save' AND target_id = $1",
        )
        .bind(&own[0].id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(n, 1);

        // The renderer of the dispatcher picks the organisation's text for the appointment.
        let message = store::outbox::Message {
            id: "m1".into(),
            channel: "email".into(),
            kind: "summon".into(),
            organisation_id: Some(spip.id.clone()),
            recipient: "helene@example.fr".into(),
            subject: Some("ancien objet".into()),
            body: "ancien texte".into(),
            state: "programmed".into(),
            attempts: 0,
            due_at: now,
            sent_at: None,
            last_error: None,
            related_type: Some("appointment".into()),
            related_id: Some(booked.appointment.id.clone()),
            created_at: now,
            received_at: None,
            provider: None,
            provider_message_id: None,
            provider_status: None,
            canceled_at: None,
            updated_at: now,
            secret: None,
        };
        let renderer = web::render::AppointmentRenderer {
            public_url: "http://passerelle.test".into(),
        };
        match Renderer::render(&renderer, &db, &message).await.unwrap() {
            Rendered::Replace(r) => {
                assert_eq!(
                    r.body,
                    "Bonjour, RDV le lundi 3 mai 2027 à 14h30, Antenne de Nanterre. Tel 01 47 00 00 00"
                );
                assert_eq!(r.subject.as_deref(), Some("Votre convocation"));
            }
            _ => panic!("the appointment message should be rendered again"),
        }

        // Back to the national text: the override is gone and the renderer uses the national text.
        let (status, _) = send(
            &app,
            post_form(&format!("{SUMMON}/national"), &cookie, &[("csrf_token", &csrf)]),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(overrides(&db, &spip.id).await.is_empty());
        match Renderer::render(&renderer, &db, &message).await.unwrap() {
            Rendered::Replace(r) => assert!(r.body.starts_with("Convocation le lundi 3 mai 2027"), "{}", r.body),
            _ => panic!("rendered"),
        }
    })
    .await;
}

#[tokio::test]
async fn another_organisation_gets_404_and_a_cpip_403() {
    on_each_backend(|db| async move {
        let spip = org(&db, "SPIP 92").await;
        let other = org(&db, "SPIP 75").await;
        let (cookie, csrf) = session(&db, "admin@spip92.test", Role::LocalAdmin, &spip.id).await;
        let (cookie75, csrf75) =
            session(&db, "admin@spip75.test", Role::LocalAdmin, &other.id).await;
        let (cpip, cpip_csrf) = session(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let secret = "Texte secret du 92 le {rdv.date}";
        let (status, _) = send(
            &app,
            post_form(
                SUMMON,
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("body", secret),
                    ("action", "enregistrer"),
                ],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);

        // The other SPIP's admin sees its own (national) text, never the 92's, and cannot address the 92's.
        let (status, body) = send(&app, get(SUMMON, &cookie75)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!body.contains("Texte secret"));
        let q = format!("?organisation={}", spip.id);
        for uri in [format!("{SUMMON}{q}"), format!("/msj/modeles{q}")] {
            let (status, body) = send(&app, get(&uri, &cookie75)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            assert!(!body.contains("Texte secret"));
        }
        let (status, _) = send(
            &app,
            post_form(
                &format!("{SUMMON}{q}"),
                &cookie75,
                &[
                    ("csrf_token", &csrf75),
                    ("body", "Pirate {rdv.date}"),
                    ("action", "enregistrer"),
                ],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = send(
            &app,
            post_form(
                &format!("{SUMMON}/national{q}"),
                &cookie75,
                &[("csrf_token", &csrf75)],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let own = overrides(&db, &spip.id).await;
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].body, secret);
        assert!(overrides(&db, &other.id).await.is_empty());

        // A CPIP may not open the editor at all, nor use the preview.
        for uri in ["/msj/modeles", SUMMON] {
            let (status, _) = send(&app, get(uri, &cpip)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
        }
        let (status, _) = send(
            &app,
            post_form(
                SUMMON,
                &cpip,
                &[
                    ("csrf_token", &cpip_csrf),
                    ("body", "x {rdv.date}"),
                    ("action", "enregistrer"),
                ],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = send(
            &app,
            post_json(
                "/msj/modeles/apercu",
                &cpip,
                &cpip_csrf,
                serde_json::json!({"body": "x"}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(overrides(&db, &spip.id).await.len(), 1);
        // Unknown kind, language or type: 404.
        for uri in [
            "/msj/modeles/*/birthday/fr",
            "/msj/modeles/*/summon/de",
            "/msj/modeles/nope/summon/fr",
        ] {
            let (status, _) = send(&app, get(uri, &cookie)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_json_preview_counts_gsm7_and_ucs2_segments() {
    on_each_backend(|db| async move {
        let spip = org(&db, "SPIP 92").await;
        let (cookie, csrf) = session(&db, "admin@spip92.test", Role::LocalAdmin, &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let preview = |body: String| {
            let app = app.clone();
            let (cookie, csrf) = (cookie.clone(), csrf.clone());
            async move {
                let (status, text) = send(
                    &app,
                    post_json(
                        "/msj/modeles/apercu",
                        &cookie,
                        &csrf,
                        serde_json::json!({ "body": body }),
                    ),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{text}");
                serde_json::from_str::<serde_json::Value>(&text).unwrap()
            }
        };
        let v = preview("a".repeat(160)).await;
        assert_eq!(
            (
                v["encoding"].as_str(),
                v["units"].as_u64(),
                v["segments"].as_u64()
            ),
            (Some("GSM-7"), Some(160), Some(1))
        );
        let v = preview("a".repeat(161)).await;
        assert_eq!(
            (
                v["encoding"].as_str(),
                v["units"].as_u64(),
                v["segments"].as_u64()
            ),
            (Some("GSM-7"), Some(161), Some(2))
        );
        assert!(v["error"].is_null());
        // One ê switches the whole text to UCS-2: 70 per SMS, 67 per part.
        let v = preview(format!("ê{}", "a".repeat(70))).await;
        assert_eq!(
            (
                v["encoding"].as_str(),
                v["units"].as_u64(),
                v["segments"].as_u64()
            ),
            (Some("UCS-2"), Some(71), Some(2))
        );
        assert_eq!(v["special"], "ê");
        let v = preview("Le {rdv.date} à {rdv.heure}".into()).await;
        assert_eq!(v["rendered"], "Le lundi 3 mai 2027 à 14h30");
        assert_eq!(v["encoding"], "GSM-7");
        assert_eq!(v["segments"], 1);
        assert!(v["segments_with_stop"].as_u64().unwrap() >= 1);
        // The sample place is the organisation's (no place yet: the organisation itself).
        let v = preview("{lieu.nom}, {lieu.téléphone}".into()).await;
        assert_eq!(v["rendered"], "SPIP 92, 01 40 00 00 00");
        let v = preview("RDV {rdv.lieu}".into()).await;
        assert!(v["rendered"].is_null());
        assert!(v["error"]
            .as_str()
            .unwrap()
            .starts_with("Variable inconnue : {rdv.lieu}."));
        // Without the CSRF header: refused.
        let (status, _) = send(
            &app,
            Request::post("/msj/modeles/apercu")
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"body":"x"}"#))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}
