//! Push notifications from the person's space: the browser subscribes with the server's VAPID
//! public key (`/static/app/push.js`, button on /mon-espace/coordonnees) and posts its subscription here; the
//! service worker (`/mon-espace/sw.js`, scope /mon-espace/) shows the reminders. JSON in, CSRF token in the
//! `X-CSRF-Token` header; every change is scoped to the signed-in person.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use super::Person;
use crate::error::AppResult;
use crate::AppState;

/// The service worker, served under /mon-espace/ so that its scope is the person's space.
const SERVICE_WORKER: &str = include_str!("../../../static/sw.js");

#[derive(Deserialize)]
struct Keys {
    #[serde(default)]
    p256dh: String,
    #[serde(default)]
    auth: String,
}

/// `PushSubscription.toJSON()` as the browser gives it.
#[derive(Deserialize)]
struct SubscriptionJson {
    #[serde(default)]
    endpoint: String,
    keys: Option<Keys>,
}

fn problem(status: StatusCode, detail: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::json!({ "title": "Abonnement refusé", "status": status.as_u16(), "detail": detail })
            .to_string(),
    )
        .into_response()
}

fn decoded_len(value: &str) -> Option<(usize, u8)> {
    let bytes = URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok()?;
    Some((bytes.len(), *bytes.first()?))
}

/// An endpoint a push service gave: https, a host, no credentials, of a sensible length.
fn valid_endpoint(endpoint: &str) -> bool {
    let Some(rest) = endpoint.strip_prefix("https://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    endpoint.len() <= 2000
        && !authority.is_empty()
        && !authority.contains('@')
        && endpoint.bytes().all(|b| b.is_ascii_graphic())
}

pub async fn subscribe(
    Person(p, _ctx): Person,
    State(st): State<AppState>,
    body: Bytes,
) -> AppResult<Response> {
    if st.push_public_key.is_none() {
        return Ok(problem(
            StatusCode::NOT_FOUND,
            "Les notifications ne sont pas proposées par ce service.",
        ));
    }
    let Ok(sub) = serde_json::from_slice::<SubscriptionJson>(&body) else {
        return Ok(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Abonnement illisible.",
        ));
    };
    let keys = sub.keys.unwrap_or(Keys {
        p256dh: String::new(),
        auth: String::new(),
    });
    let key_ok = decoded_len(&keys.p256dh) == Some((65, 4));
    let auth_ok = decoded_len(&keys.auth).is_some_and(|(n, _)| n == 16);
    if !valid_endpoint(&sub.endpoint) || !key_ok || !auth_ok {
        return Ok(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Adresse ou clés d'abonnement invalides.",
        ));
    }
    store::push::subscribe(
        &st.db,
        &p.ppsmj_id,
        &sub.endpoint,
        keys.p256dh.trim_end_matches('='),
        keys.auth.trim_end_matches('='),
        store::now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn unsubscribe(
    Person(p, _ctx): Person,
    State(st): State<AppState>,
    body: Bytes,
) -> AppResult<Response> {
    let Ok(sub) = serde_json::from_slice::<SubscriptionJson>(&body) else {
        return Ok(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Abonnement illisible.",
        ));
    };
    // Someone else's endpoint is simply not found among this person's: nothing changes, nothing is told.
    store::push::unsubscribe(&st.db, &p.ppsmj_id, &sub.endpoint).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SERVICE_WORKER,
    )
        .into_response()
}
