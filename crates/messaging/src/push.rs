//! Web Push (RFC 8030) with VAPID (RFC 8292) and the aes128gcm payload encryption of RFC 8291, through the
//! `web-push` crate's message builder; the request goes out with this crate's own HTTP client (reqwest, rustls),
//! not the `web-push` clients (isahc/hyper-tls would bring a second TLS stack).
//!
//! A push outbox row names a subscription id (`store::push`) as its recipient: the endpoint and keys are read at
//! send time, so a person who turned notifications off gets nothing more. The payload is JSON
//! `{"title": …, "body": …}`, shown by the service worker (`/mon-espace/sw.js`).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use store::push::Subscription;
use web_push::{
    ContentEncoding, PartialVapidSignatureBuilder, SubscriptionInfo, VapidSignatureBuilder,
    WebPushMessageBuilder,
};

use crate::SendError;

/// How long a push service keeps a message for an offline browser: a reminder is useless after a day.
pub const PUSH_TTL_SECS: u32 = 24 * 3600;

/// Why a push did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// The push service says the subscription no longer exists (HTTP 404 or 410): forget it.
    Gone(u16),
    Send(SendError),
}

/// The push channel: the server's VAPID key pair and the contact the push services may reach (`sub` claim).
pub struct PushChannel {
    private_key: String,
    public_key: String,
    subject: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for PushChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushChannel")
            .field("public_key", &self.public_key)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

fn vapid(private_key: &str) -> Result<PartialVapidSignatureBuilder, String> {
    VapidSignatureBuilder::from_base64_no_sub(private_key.trim()).map_err(|_| {
        "clé privée VAPID invalide (32 octets P-256 en base64url sans remplissage)".into()
    })
}

/// A new VAPID private key: 32 random bytes that are a valid P-256 scalar, base64url without padding.
pub fn generate_vapid_private_key() -> String {
    use rand::RngCore;
    loop {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let encoded = URL_SAFE_NO_PAD.encode(bytes);
        if vapid(&encoded).is_ok() {
            return encoded;
        }
    }
}

/// `scheme://host[:port]` of an endpoint.
fn origin(endpoint: &str) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

impl PushChannel {
    /// `private_key`: the VAPID private key, base64url (as `PASSERELLE_VAPID_PRIVATE_KEY` or `vapid.key`);
    /// `subject`: `mailto:` or `https:` contact of the operator.
    pub fn new(private_key: &str, subject: &str) -> Result<PushChannel, String> {
        let public_key = URL_SAFE_NO_PAD.encode(vapid(private_key)?.get_public_key());
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("client HTTP : {e}"))?;
        Ok(PushChannel {
            private_key: private_key.trim().to_string(),
            public_key,
            subject: subject.to_string(),
            client,
        })
    }

    /// The public key the browser subscribes with (`applicationServerKey`), base64url.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Encrypts `{title, body}` for the subscription and posts it to its endpoint.
    pub async fn send(&self, sub: &Subscription, title: &str, body: &str) -> Result<(), PushError> {
        let permanent =
            |what: &str| PushError::Send(SendError::Permanent(format!("push : {what}")));
        let info = SubscriptionInfo::new(
            sub.endpoint.as_str(),
            sub.p256dh.as_str(),
            sub.auth.as_str(),
        );
        let payload = serde_json::json!({ "title": title, "body": body }).to_string();
        let mut builder = WebPushMessageBuilder::new(&info);
        builder.set_ttl(PUSH_TTL_SECS);
        builder.set_payload(ContentEncoding::Aes128Gcm, payload.as_bytes());
        let signature = vapid(&self.private_key)
            .map_err(|e| permanent(&e))?
            .add_sub_info(&info);
        let mut signature = signature;
        signature.add_claim("sub", self.subject.as_str());
        // RFC 8292: the audience is the push service's origin, port included (the crate leaves the port out).
        if let Some(origin) = origin(&sub.endpoint) {
            signature.add_claim("aud", origin);
        }
        let signature = signature.build().map_err(|_| {
            permanent("signature VAPID impossible (adresse d'abonnement invalide ?)")
        })?;
        builder.set_vapid_signature(signature);
        let message = builder
            .build()
            .map_err(|_| permanent("chiffrement impossible (clés d'abonnement invalides)"))?;
        let request = web_push::request_builder::build_request::<Vec<u8>>(message);
        let mut out = self.client.post(request.uri().to_string());
        for (name, value) in request.headers() {
            if let Ok(v) = value.to_str() {
                out = out.header(name.as_str(), v);
            }
        }
        let response = out.body(request.into_body()).send().await.map_err(|e| {
            let what = if e.is_timeout() {
                "délai dépassé"
            } else if e.is_connect() {
                "connexion impossible"
            } else {
                "erreur réseau"
            };
            PushError::Send(SendError::Transient(format!("push : {what}")))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
            return Err(PushError::Gone(status.as_u16()));
        }
        Err(PushError::Send(crate::http_error("push", status, None)))
    }
}
