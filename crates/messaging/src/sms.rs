//! SMS providers behind one interface. Each adapter takes a base URL so tests and the demo point it at a loopback
//! server that speaks the provider's API.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::{json, Value};

use crate::{http_error, SendError};

/// What `send` returns: the provider's message id (matched later by delivery receipts).
pub type SendFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<String>, SendError>> + Send + 'a>>;

/// An SMS provider. Object-safe (no `async fn` in the trait) so the channel set can hold `Box<dyn SmsProvider>`.
pub trait SmsProvider: Send + Sync {
    /// Recorded as the outbox row's `provider`, and the key receipts are matched with.
    fn name(&self) -> &'static str;
    /// Sends `text` to `to_e164` (`+33612345678`).
    fn send<'a>(&'a self, to_e164: &'a str, text: &'a str) -> SendFuture<'a>;
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(64)
        .build()
        .expect("HTTP client with rustls")
}

fn trim_base(url: &str) -> String {
    url.trim_end_matches('/').to_string()
}

/// A provider's message id may be a JSON number (Brevo) or a string (LinkMobility).
pub(crate) fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn transport_error(provider: &str, e: reqwest::Error) -> SendError {
    // reqwest's message may contain the URL but never the body; the URL has no personal data.
    let what = if e.is_timeout() {
        "délai dépassé"
    } else if e.is_connect() {
        "connexion impossible"
    } else {
        "erreur réseau"
    };
    SendError::Transient(format!("{provider} : {what}"))
}

/// Brevo transactional SMS: `POST {base}/v3/transactionalSMS/sms`, header `api-key`, JSON
/// `{sender, recipient, content, type: "transactional", unicodeEnabled, webUrl?}`; answer `{messageId, …}` with a
/// numeric id. `webUrl` asks Brevo to post this message's delivery events to our webhook.
pub struct Brevo {
    base_url: String,
    api_key: String,
    sender: String,
    web_url: Option<String>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Brevo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Brevo")
            .field("base_url", &self.base_url)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// Brevo's production API.
pub const BREVO_BASE_URL: &str = "https://api.brevo.com";

impl Brevo {
    /// `sender`: up to 11 alphanumeric characters (or a number), as registered with Brevo.
    pub fn new(base_url: &str, api_key: &str, sender: &str) -> Brevo {
        Brevo {
            base_url: trim_base(base_url),
            api_key: api_key.to_string(),
            sender: sender.to_string(),
            web_url: None,
            client: client(),
        }
    }

    /// The webhook URL Brevo calls with each message's events (carry the secret in it or configure it in Brevo).
    pub fn with_web_url(mut self, url: &str) -> Brevo {
        self.web_url = Some(url.to_string());
        self
    }
}

impl SmsProvider for Brevo {
    fn name(&self) -> &'static str {
        "brevo"
    }

    fn send<'a>(&'a self, to_e164: &'a str, text: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let unicode = domain::sms_segments(text).encoding == domain::SmsEncoding::Ucs2;
            let mut body = json!({
                "sender": self.sender,
                // Brevo wants the number with its country code and no "+".
                "recipient": to_e164.trim_start_matches('+'),
                "content": text,
                "type": "transactional",
                "unicodeEnabled": unicode,
            });
            if let Some(url) = &self.web_url {
                body["webUrl"] = json!(url);
            }
            let response = self
                .client
                .post(format!("{}/v3/transactionalSMS/sms", self.base_url))
                .header("api-key", &self.api_key)
                .header("accept", "application/json")
                .json(&body)
                .send()
                .await;
            let response = match response {
                Ok(r) => r,
                Err(e) => return Err(transport_error("brevo", e)),
            };
            let status = response.status();
            let payload: Value = response.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                // Brevo errors are `{code, message}`; only the code is kept (the message may quote the number).
                let code = payload
                    .get("code")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                return Err(http_error("brevo", status, code));
            }
            match payload.get("messageId").and_then(id_of) {
                Some(id) => Ok(Some(id)),
                None => Err(SendError::Transient(
                    "brevo : réponse sans messageId".into(),
                )),
            }
        })
    }
}

/// LINK Mobility "Common Platform" REST API (the JSON gateway used across its European platforms):
/// `POST {base}/sms/send` with HTTP Basic authentication and JSON `{source, destination, userData, platformId,
/// platformPartnerId, useDeliveryReport, deliveryReportGates}`; answer `{messageId, resultCode, description}`.
/// Delivery reports are posted by LINK to a "gate" (a URL configured on their side) — see
/// [`crate::parse_linkmobility_webhook`]. Assumed from LINK's public documentation of that API; a French account
/// on another LINK platform would need a sibling adapter behind the same trait.
pub struct LinkMobility {
    base_url: String,
    username: String,
    password: String,
    platform_id: String,
    platform_partner_id: String,
    sender: String,
    gate_ids: Vec<String>,
    client: reqwest::Client,
}

impl std::fmt::Debug for LinkMobility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkMobility")
            .field("base_url", &self.base_url)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// LINK Mobility's Common Platform endpoint.
pub const LINKMOBILITY_BASE_URL: &str = "https://wsx.sp247.net";

impl LinkMobility {
    pub fn new(
        base_url: &str,
        username: &str,
        password: &str,
        platform_id: &str,
        platform_partner_id: &str,
        sender: &str,
    ) -> LinkMobility {
        LinkMobility {
            base_url: trim_base(base_url),
            username: username.to_string(),
            password: password.to_string(),
            platform_id: platform_id.to_string(),
            platform_partner_id: platform_partner_id.to_string(),
            sender: sender.to_string(),
            gate_ids: Vec::new(),
            client: client(),
        }
    }

    /// Gates (delivery-report callbacks configured by LINK) to report this account's messages to.
    pub fn with_delivery_gates(mut self, gates: Vec<String>) -> LinkMobility {
        self.gate_ids = gates;
        self
    }
}

/// Result codes of the send answer that mean "accepted" (1005 queued; 1000/1001 also seen as success).
const LINK_ACCEPTED: [i64; 3] = [1000, 1001, 1005];

impl SmsProvider for LinkMobility {
    fn name(&self) -> &'static str {
        "linkmobility"
    }

    fn send<'a>(&'a self, to_e164: &'a str, text: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let mut body = json!({
                "source": self.sender,
                // Alphanumeric sender, MSISDN destination with its "+".
                "sourceTON": if self.sender.chars().all(|c| c.is_ascii_digit() || c == '+') { "MSISDN" } else { "ALPHANUMERIC" },
                "destination": to_e164,
                "userData": text,
                "platformId": self.platform_id,
                "platformPartnerId": self.platform_partner_id,
                "useDeliveryReport": !self.gate_ids.is_empty(),
            });
            if !self.gate_ids.is_empty() {
                body["deliveryReportGates"] = json!(self.gate_ids);
            }
            let response = self
                .client
                .post(format!("{}/sms/send", self.base_url))
                .basic_auth(&self.username, Some(&self.password))
                .json(&body)
                .send()
                .await;
            let response = match response {
                Ok(r) => r,
                Err(e) => return Err(transport_error("linkmobility", e)),
            };
            let status = response.status();
            let payload: Value = response.json().await.unwrap_or(Value::Null);
            let code = payload.get("resultCode").and_then(Value::as_i64);
            if !status.is_success() {
                return Err(http_error(
                    "linkmobility",
                    status,
                    code.map(|c| c.to_string()),
                ));
            }
            if let Some(code) = code {
                if !LINK_ACCEPTED.contains(&code) {
                    // A 2xx with a refusal code: the request itself was wrong (number, sender, content).
                    return Err(SendError::Permanent(format!(
                        "linkmobility resultCode {code}"
                    )));
                }
            }
            match payload.get("messageId").and_then(id_of) {
                Some(id) => Ok(Some(id)),
                None => Err(SendError::Transient(
                    "linkmobility : réponse sans messageId".into(),
                )),
            }
        })
    }
}

/// Demo and tests: sends nothing, answers a fake id. What "would have been sent" is the outbox row itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct DemoSms;

impl SmsProvider for DemoSms {
    fn name(&self) -> &'static str {
        "demo"
    }

    fn send<'a>(&'a self, _to_e164: &'a str, _text: &'a str) -> SendFuture<'a> {
        Box::pin(async move { Ok(Some(format!("demo-{}", uuid::Uuid::now_v7()))) })
    }
}
