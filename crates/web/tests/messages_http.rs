//! Delivery webhooks and the STOP link through the real router, on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use store::outbox::{self, NewMessage};
use store::testing::on_each_backend;
use tower::ServiceExt;
use web::config::SmsConfig;
use web::{AppState, Config, Mode};

fn config() -> Config {
    let mut c = Config::from_env(Mode::Demo).expect("demo config");
    c.sms = SmsConfig::Brevo {
        base_url: "http://127.0.0.1:9".into(),
        api_key: "k".into(),
        sender: "JUSTICE".into(),
        webhook_secret: "s3cret-webhook".into(),
    };
    c
}

async fn call(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, String, axum::http::HeaderMap) {
    let res = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), headers)
}

#[tokio::test]
async fn a_delivery_receipt_needs_the_secret_and_turns_sent_into_received() {
    on_each_backend(|db| async move {
        let id = outbox::enqueue(
            db.pool(),
            &NewMessage {
                channel: "sms".into(),
                kind: "summon".into(),
                organisation_id: None,
                recipient: "+262692123456".into(),
                subject: None,
                body: "Convocation".into(),
                due_at: 0,
                related_type: None,
                related_id: None,
            },
        )
        .await
        .unwrap();
        outbox::claim_due(&db, store::now(), 10, 60).await.unwrap();
        outbox::mark_sent(&db, &id, Some("brevo-42"), store::now())
            .await
            .unwrap();
        sqlx::query("UPDATE outbox SET provider = 'brevo' WHERE id = $1")
            .bind(&id)
            .execute(db.pool())
            .await
            .unwrap();
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let hook = |auth: &str| {
            Request::post("/webhooks/sms/brevo")
                .header(header::AUTHORIZATION, auth)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"messageId":"brevo-42","msg_status":"delivered"}"#,
                ))
                .unwrap()
        };
        let (status, body, headers) = call(&app, hook("Bearer forged")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert!(body.contains("Secret invalide"));
        assert_eq!(outbox::get_unscoped(&db, &id).await.unwrap().state, "sent");

        let (status, _, _) = call(&app, hook("Bearer s3cret-webhook")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            outbox::get_unscoped(&db, &id).await.unwrap().state,
            "received"
        );

        // The secret in the URL is not accepted (it would be written in access logs): header only.
        let in_url = Request::post("/webhooks/sms/brevo?secret=s3cret-webhook")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                r#"{"messageId":"brevo-42","msg_status":"delivered"}"#,
            ))
            .unwrap();
        assert_eq!(call(&app, in_url).await.0, StatusCode::UNAUTHORIZED);
        // A receipt for a message nobody sent is refused (and kept for later, in case it arrived early).
        let unknown = Request::post("/webhooks/sms/brevo")
            .header(header::AUTHORIZATION, "Bearer s3cret-webhook")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                r#"{"messageId":"nope","msg_status":"delivered"}"#,
            ))
            .unwrap();
        assert_eq!(call(&app, unknown).await.0, StatusCode::NOT_FOUND);
        // The demo provider has no webhook.
        let other = Request::post("/webhooks/sms/linkmobility")
            .body(Body::from("{}"))
            .unwrap();
        assert_eq!(call(&app, other).await.0, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn the_stop_link_confirms_then_stops_sms_for_that_number() {
    on_each_backend(|db| async move {
        let token = store::optout::sms_opt_out_token(db.pool(), "+33612345678")
            .await
            .unwrap();
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let (status, body, headers) = call(
            &app,
            Request::get(format!("/stop/{token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("vos rendez-vous restent obligatoires"));
        assert!(
            store::optout::opted_out_at(&db, "+33612345678")
                .await
                .unwrap()
                .is_none(),
            "a GET changes nothing"
        );
        let cookie = headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = cookie.split('=').nth(1).unwrap();
        let post = Request::post(format!("/stop/{token}"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf_token={csrf}")))
            .unwrap();
        let (status, body, _) = call(&app, post).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("C&#39;est noté") || body.contains("C'est noté"),
            "{body}"
        );
        assert!(store::optout::opted_out_at(&db, "+33612345678")
            .await
            .unwrap()
            .is_some());

        let (status, _, _) = call(
            &app,
            Request::get("/stop/forged").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

/// Info Parquet e-mails link to the referral's page on the public URL (added at send time, where the URL is
/// known); SMS stay as written.
#[tokio::test]
async fn referral_emails_link_to_the_referral_page_at_send_time() {
    on_each_backend(|db| async move {
        let enqueue = |channel: &str| NewMessage {
            channel: channel.into(),
            kind: "referral_status".into(),
            organisation_id: None,
            recipient: if channel == "email" {
                "agent@inspection.test".into()
            } else {
                "+33612345678".into()
            },
            subject: Some("Signalement IP-2027-000001 enregistré par le parquet".into()),
            body: "Bonjour,\n\nLe Parquet de Nanterre a enregistré votre signalement IP-2027-000001.\n\n\
                   Signalement IP-2027-000001 — statut : Enregistré.\n\nVous pouvez suivre ce signalement \
                   depuis Passerelle.\nCe message est envoyé automatiquement, merci de ne pas y répondre."
                .into(),
            due_at: 0,
            related_type: Some("referral".into()),
            related_id: Some("0190-referral-id".into()),
        };
        let renderer = web::render::AppointmentRenderer {
            public_url: "https://passerelle.example.gouv.fr".into(),
        };
        for channel in ["email", "sms"] {
            let id = outbox::enqueue(db.pool(), &enqueue(channel)).await.unwrap();
            let m = outbox::get_unscoped(&db, &id).await.unwrap();
            let rendered = messaging::Renderer::render(&renderer, &db, &m).await.unwrap();
            match (channel, rendered) {
                ("email", messaging::Rendered::Replace(r)) => {
                    assert!(
                        r.body.contains(
                            "Consulter le signalement : https://passerelle.example.gouv.fr/info-parquet/signalements/0190-referral-id\n"
                        ),
                        "{}",
                        r.body
                    );
                    assert!(r.body.ends_with("merci de ne pas y répondre."), "{}", r.body);
                    assert!(r.body.contains("statut : Enregistré."));
                }
                ("sms", messaging::Rendered::Keep) => {}
                (c, other) => panic!("{c}: {other:?}"),
            }
        }
    })
    .await;
}
