//! Web Push end to end: a loopback HTTP server plays the push service; the test holds the browser's keys, decrypts
//! the aes128gcm payload the dispatcher posted and reads the reminder. On SQLite and PostgreSQL.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use messaging::{dispatch_once, generate_vapid_private_key, Channels, PushChannel};
use store::outbox::{self, NewMessage};
use store::testing::on_each_backend;
use store::Db;
use tokio::net::TcpListener;

const NOW: i64 = 1_800_000_000;

#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

#[derive(Clone, Default)]
struct PushService {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<u16>>,
}

async fn accept(
    State(s): State<PushService>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    s.received.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        headers,
        body: body.to_vec(),
    });
    StatusCode::from_u16(*s.status.lock().unwrap()).unwrap()
}

/// A push service on loopback answering `status` to every message; returns its base URL.
async fn push_service(status: u16) -> (PushService, String) {
    let s = PushService::default();
    *s.status.lock().unwrap() = status;
    let app = Router::new()
        .route("/push/{token}", post(accept))
        .with_state(s.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (s, format!("http://{addr}"))
}

/// What a browser keeps when it subscribes: its P-256 key pair and auth secret; it hands out the public half.
struct Browser {
    keys: ece::EcKeyComponents,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Browser {
        let (pair, auth) = ece::generate_keypair_and_auth_secret().unwrap();
        Browser {
            keys: pair.raw_components().unwrap(),
            auth,
        }
    }
    fn p256dh(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.keys.public_key())
    }
    fn auth(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.auth)
    }
    fn read(&self, body: &[u8]) -> serde_json::Value {
        let clear =
            ece::decrypt(&self.keys, &self.auth, body).expect("decrypts with the browser's keys");
        serde_json::from_slice(&clear).unwrap()
    }
}

async fn person(db: &Db, id: &str) {
    sqlx::query(
        "INSERT INTO organisations (id, kind, name, created_at, updated_at) VALUES ($1, 'spip', $1, 0, 0) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind("org-push")
    .execute(db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO ppsmj (id, organisation_id, first_name, last_name, first_name_key, last_name_key, \
         birth_date, source, last_activity_at, created_at, updated_at) \
         VALUES ($1, 'org-push', 'Léa', 'Martin', 'lea', 'martin', '1990-01-01', 'agent', 0, 0, 0)",
    )
    .bind(id)
    .execute(db.pool())
    .await
    .unwrap();
}

fn push_row(subscription_id: &str, body: &str) -> NewMessage {
    NewMessage {
        channel: "push".into(),
        kind: "reminder".into(),
        organisation_id: None,
        recipient: subscription_id.into(),
        subject: Some("Rappel de rendez-vous".into()),
        body: body.into(),
        due_at: NOW,
        related_type: Some("appointment".into()),
        related_id: Some("rdv-1".into()),
    }
}

fn channels(key: &str) -> Channels {
    Channels::demo().with_push(PushChannel::new(key, "mailto:contact@passerelle.test").unwrap())
}

fn jwt_claims(authorization: &str) -> serde_json::Value {
    let t = authorization
        .split([' ', ','])
        .find_map(|p| p.strip_prefix("t="))
        .expect("vapid t=");
    let claims = t.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap()
}

#[tokio::test]
async fn a_push_reminder_reaches_the_push_service_encrypted_and_only_the_browser_reads_it() {
    let (service, base) = push_service(201).await;
    let key = generate_vapid_private_key();
    let ch = channels(&key);
    on_each_backend(|db| {
        let (ch, service, base) = (&ch, &service, &base);
        async move {
            service.received.lock().unwrap().clear();
            person(&db, "p-lea").await;
            let browser = Browser::new();
            let endpoint = format!("{base}/push/lea-phone");
            let sub = store::push::subscribe(
                &db,
                "p-lea",
                &endpoint,
                &browser.p256dh(),
                &browser.auth(),
                NOW,
            )
            .await
            .unwrap();
            let text = "Rappel : RDV demain à 9h00, SPIP de Saint-Denis.";
            let id = outbox::enqueue(db.pool(), &push_row(&sub.id, text))
                .await
                .unwrap();

            let stats = dispatch_once(&db, ch, NOW, 10).await.unwrap();
            assert_eq!((stats.claimed, stats.sent), (1, 1));

            let got = service.received.lock().unwrap().clone();
            assert_eq!(got.len(), 1);
            let r = &got[0];
            assert_eq!(r.path, "/push/lea-phone");
            assert_eq!(r.headers["content-encoding"], "aes128gcm");
            assert_eq!(r.headers["ttl"], "86400");
            assert!(
                !String::from_utf8_lossy(&r.body).contains("Rappel"),
                "the push service never sees the text"
            );
            let payload = browser.read(&r.body);
            assert_eq!(payload["body"], text);
            assert_eq!(payload["title"], "Rappel de rendez-vous");

            // VAPID: the server's public key and a token for this push service's origin, naming our contact.
            let authorization = r.headers["authorization"].to_str().unwrap();
            assert!(authorization.starts_with("vapid "));
            assert!(
                authorization.contains(&format!("k={}", ch.push.as_ref().unwrap().public_key()))
            );
            let claims = jwt_claims(authorization);
            assert_eq!(claims["aud"], base.as_str());
            assert_eq!(claims["sub"], "mailto:contact@passerelle.test");

            // Another browser's keys cannot read it.
            let stranger = Browser::new();
            assert!(ece::decrypt(&stranger.keys, &stranger.auth, &r.body).is_err());

            let m = outbox::get_unscoped(&db, &id).await.unwrap();
            assert_eq!(m.state, "sent");
            assert_eq!(m.provider.as_deref(), Some("webpush"));
        }
    })
    .await;
}

#[tokio::test]
async fn a_subscription_the_push_service_says_is_gone_is_forgotten() {
    let (service, base) = push_service(410).await;
    let ch = channels(&generate_vapid_private_key());
    on_each_backend(|db| {
        let (ch, service, base) = (&ch, &service, &base);
        async move {
            service.received.lock().unwrap().clear();
            person(&db, "p-lea").await;
            let browser = Browser::new();
            let sub = store::push::subscribe(
                &db,
                "p-lea",
                &format!("{base}/push/old-phone"),
                &browser.p256dh(),
                &browser.auth(),
                NOW,
            )
            .await
            .unwrap();
            let id = outbox::enqueue(db.pool(), &push_row(&sub.id, "Rappel"))
                .await
                .unwrap();
            let stats = dispatch_once(&db, ch, NOW, 10).await.unwrap();
            assert_eq!(stats.failed, 1, "not retried");
            let m = outbox::get_unscoped(&db, &id).await.unwrap();
            assert_eq!(m.state, "failed");
            assert!(m.last_error.unwrap().contains("410"));
            assert_eq!(store::push::get(&db, &sub.id).await.unwrap(), None);
            assert!(store::push::for_person(&db, "p-lea")
                .await
                .unwrap()
                .is_empty());
        }
    })
    .await;
}

#[tokio::test]
async fn a_reminder_to_a_browser_whose_notifications_were_turned_off_is_canceled_unsent() {
    let (service, base) = push_service(201).await;
    let ch = channels(&generate_vapid_private_key());
    on_each_backend(|db| {
        let (ch, service, base) = (&ch, &service, &base);
        async move {
            service.received.lock().unwrap().clear();
            person(&db, "p-lea").await;
            let browser = Browser::new();
            let endpoint = format!("{base}/push/lea-phone");
            let sub = store::push::subscribe(
                &db,
                "p-lea",
                &endpoint,
                &browser.p256dh(),
                &browser.auth(),
                NOW,
            )
            .await
            .unwrap();
            let id = outbox::enqueue(db.pool(), &push_row(&sub.id, "Rappel"))
                .await
                .unwrap();
            assert!(store::push::unsubscribe(&db, "p-lea", &endpoint)
                .await
                .unwrap());
            let stats = dispatch_once(&db, ch, NOW, 10).await.unwrap();
            assert_eq!(stats.canceled, 1);
            assert_eq!(
                outbox::get_unscoped(&db, &id).await.unwrap().state,
                "canceled"
            );
            assert!(service.received.lock().unwrap().is_empty(), "nothing left");
        }
    })
    .await;
}

#[tokio::test]
async fn a_person_can_only_remove_their_own_subscription_and_a_browser_serves_one_person() {
    on_each_backend(|db| async move {
        person(&db, "p-lea").await;
        person(&db, "p-tom").await;
        let b = Browser::new();
        let lea = "https://push.example/lea";
        store::push::subscribe(&db, "p-lea", lea, &b.p256dh(), &b.auth(), NOW)
            .await
            .unwrap();
        assert!(
            !store::push::unsubscribe(&db, "p-tom", lea).await.unwrap(),
            "Tom cannot turn off Léa's notifications"
        );
        assert_eq!(
            store::push::for_person(&db, "p-lea").await.unwrap().len(),
            1
        );
        // The same browser subscribed again by Tom (shared phone) now reminds Tom only.
        store::push::subscribe(&db, "p-tom", lea, &b.p256dh(), &b.auth(), NOW + 1)
            .await
            .unwrap();
        assert!(store::push::for_person(&db, "p-lea")
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store::push::for_person(&db, "p-tom").await.unwrap().len(),
            1
        );
    })
    .await;
}

#[test]
fn a_vapid_key_that_is_not_a_p256_key_is_refused() {
    assert!(PushChannel::new("not a key", "mailto:x@y.test").is_err());
    assert!(PushChannel::new(&URL_SAFE_NO_PAD.encode([0u8; 32]), "mailto:x@y.test").is_err());
    let ch = PushChannel::new(&generate_vapid_private_key(), "mailto:x@y.test").unwrap();
    // Uncompressed P-256 point: 65 bytes starting with 4.
    let public = URL_SAFE_NO_PAD.decode(ch.public_key()).unwrap();
    assert_eq!((public.len(), public[0]), (65, 4));
}
