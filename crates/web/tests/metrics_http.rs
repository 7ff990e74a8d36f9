//! `/metrics` through the real router, on SQLite and PostgreSQL: counted requests by route pattern (never an id),
//! the outbox by channel and state, refused to addresses outside `PASSERELLE_METRICS_ALLOW`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use store::outbox::{self, NewMessage};
use store::testing::on_each_backend;
use tower::ServiceExt;
use web::{AppState, Config, Mode};

async fn get(app: &axum::Router, uri: &str, from: &str) -> (StatusCode, String) {
    let mut req = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let peer: SocketAddr = format!("{from}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_the_outbox_and_only_answer_allowed_addresses() {
    on_each_backend(|db| async move {
        let config = Config::from_env(Mode::Demo).expect("demo config");
        let app = web::router(AppState::with_local_files(db.clone(), config));
        outbox::enqueue(
            db.pool(),
            &NewMessage {
                channel: "sms".into(),
                kind: "summon".into(),
                organisation_id: None,
                recipient: "+33612345678".into(),
                subject: None,
                body: "Convocation".into(),
                due_at: 0,
                related_type: None,
                related_id: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(get(&app, "/healthz", "127.0.0.1").await.0, StatusCode::OK);
        assert_eq!(get(&app, "/healthz", "127.0.0.1").await.0, StatusCode::OK);
        // An id in the URL is counted under its route pattern.
        let (status, _) = get(&app, "/msj/personnes/0190abcd", "127.0.0.1").await;
        assert_eq!(status, StatusCode::SEE_OTHER);

        let (status, body) = get(&app, "/metrics", "203.0.113.9").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

        let (status, body) = get(&app, "/metrics", "127.0.0.1").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains(
                "passerelle_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2"
            ),
            "{body}"
        );
        assert!(
            body.contains("route=\"/msj/personnes/{id}\",method=\"GET\",status=\"303\"} 1"),
            "{body}"
        );
        assert!(!body.contains("0190abcd"), "{body}");
        assert!(
            body.contains("passerelle_http_request_duration_seconds_count{route=\"/healthz\",method=\"GET\"} 2"),
            "{body}"
        );
        assert!(
            body.contains("passerelle_outbox_messages{channel=\"sms\",state=\"programmed\"} 1"),
            "{body}"
        );
        assert!(body.contains("passerelle_db_pool_connections{state=\"open\"}"), "{body}");
    })
    .await;
}
