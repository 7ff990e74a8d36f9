//! Delivery receipts posted by the SMS providers. A receipt is authenticated by a per-provider secret (compared in
//! constant time) before its body is even parsed; a refused or unknown receipt is logged by the caller and
//! answered 401 / 400 / 404.
//!
//! How the secret reaches us depends on the provider's set-up, always in a header (never in the URL, which ends
//! up in access logs): for Brevo, the webhook authentication sends it as a bearer token; for LINK
//! Mobility, the gate is configured with HTTP Basic authentication whose password is the secret. The web layer
//! extracts it and passes it as `headers_secret`.

use serde_json::Value;
use subtle::ConstantTimeEq;

use store::outbox::DeliveryStatus;
use store::{Db, StoreError};

use crate::sms::id_of;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryReport {
    pub provider: &'static str,
    pub provider_message_id: String,
    pub status: DeliveryStatus,
    /// The provider's own word for it (`delivered`, `hard_bounce`, `1001`…), kept for agents.
    pub raw_status: String,
    /// When the provider says it happened (unix seconds), if it says.
    pub at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong secret (or no secret configured): 401, logged.
    #[error("accusé de réception refusé : secret absent ou invalide")]
    Unauthorized,
    /// Not a receipt we can read: 400, logged.
    #[error("accusé de réception illisible : {0}")]
    Malformed(String),
}

fn check_secret(given: Option<&str>, expected: &str) -> Result<(), WebhookError> {
    // An empty configured secret would accept an empty header: refuse everything instead.
    let given = given.ok_or(WebhookError::Unauthorized)?;
    if expected.is_empty() {
        return Err(WebhookError::Unauthorized);
    }
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(WebhookError::Unauthorized)
    }
}

fn parse_json(body: &[u8]) -> Result<Value, WebhookError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("JSON invalide ({e})")))?;
    if !v.is_object() {
        return Err(WebhookError::Malformed("objet JSON attendu".into()));
    }
    Ok(v)
}

/// A Brevo transactional SMS event: `{messageId, msg_status | event, ts_event?, …}`. Brevo's names vary between
/// API generations (`soft_bounce`, `softBounce`, `soft bounce`), so they are compared without case or separators.
pub fn parse_brevo_webhook(
    headers_secret: Option<&str>,
    expected_secret: &str,
    body: &[u8],
) -> Result<DeliveryReport, WebhookError> {
    check_secret(headers_secret, expected_secret)?;
    let v = parse_json(body)?;
    let id = ["messageId", "message_id", "message-id"]
        .iter()
        .find_map(|k| v.get(*k).and_then(id_of))
        .ok_or_else(|| WebhookError::Malformed("messageId absent".into()))?;
    let raw = ["msg_status", "event", "status"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .ok_or_else(|| WebhookError::Malformed("statut absent".into()))?
        .to_string();
    let key: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let status = match key.as_str() {
        "delivered" => DeliveryStatus::Delivered,
        "hardbounce" | "hardbounced" | "softbounce" | "softbounced" | "rejected" | "blocked"
        | "blacklisted" | "invalid" | "invalidnumber" | "error" | "failed" | "expired"
        | "undelivered" | "notdelivered" => DeliveryStatus::Failed,
        // sent, accepted, queued, replied, unsubscribed (the STOP reply is handled by the caller)…
        _ => DeliveryStatus::Pending,
    };
    let at = v
        .get("ts_event")
        .or_else(|| v.get("ts"))
        .and_then(Value::as_i64);
    Ok(DeliveryReport {
        provider: "brevo",
        provider_message_id: id,
        status,
        raw_status: raw,
        at,
    })
}

/// A LINK Mobility delivery report (Common Platform gate): `{id, refId?, resultCode, resultDescription?,
/// timestamp?}`. Assumed codes: 1001 delivered; 1000, 1005 and 1007 intermediate (accepted, queued, sent to the
/// operator); every other code a final failure (expired, unknown subscriber, barred…).
pub fn parse_linkmobility_webhook(
    headers_secret: Option<&str>,
    expected_secret: &str,
    body: &[u8],
) -> Result<DeliveryReport, WebhookError> {
    check_secret(headers_secret, expected_secret)?;
    let v = parse_json(body)?;
    let id = ["id", "messageId"]
        .iter()
        .find_map(|k| v.get(*k).and_then(id_of))
        .ok_or_else(|| WebhookError::Malformed("id absent".into()))?;
    let code = v
        .get("resultCode")
        .and_then(|c| {
            c.as_i64()
                .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
        })
        .ok_or_else(|| WebhookError::Malformed("resultCode absent".into()))?;
    let status = match code {
        1001 => DeliveryStatus::Delivered,
        1000 | 1005 | 1007 => DeliveryStatus::Pending,
        _ => DeliveryStatus::Failed,
    };
    let description = v
        .get("resultDescription")
        .and_then(Value::as_str)
        .unwrap_or("");
    let at = v.get("timestamp").and_then(|t| {
        t.as_i64().or_else(|| {
            t.as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.timestamp())
        })
    });
    Ok(DeliveryReport {
        provider: "linkmobility",
        provider_message_id: id,
        status,
        raw_status: if description.is_empty() {
            code.to_string()
        } else {
            format!("{code} {description}")
        },
        at,
    })
}

/// Applies a parsed receipt: `sent` → `received` / `failed`. `StoreError::NotFound` when no message of this
/// provider has that id (the caller answers 404 and logs it; the receipt is kept and applied if the message's own
/// record of the send lands later).
pub async fn apply_delivery_report(
    db: &Db,
    report: &DeliveryReport,
    now: i64,
) -> Result<String, StoreError> {
    store::outbox::apply_delivery_report(
        db,
        report.provider,
        &report.provider_message_id,
        report.status,
        &report.raw_status,
        report.at.unwrap_or(now),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brevo_events_map_to_received_or_failed() {
        let parse = |status: &str| {
            parse_brevo_webhook(
                Some("s3cret"),
                "s3cret",
                format!(r#"{{"messageId": 1511882900176220, "msg_status": "{status}", "ts_event": 1800000000}}"#)
                    .as_bytes(),
            )
            .unwrap()
        };
        let r = parse("delivered");
        assert_eq!(r.provider_message_id, "1511882900176220");
        assert_eq!(r.status, DeliveryStatus::Delivered);
        assert_eq!(r.at, Some(1_800_000_000));
        for s in ["hard_bounce", "softBounce", "rejected", "blacklisted"] {
            assert_eq!(parse(s).status, DeliveryStatus::Failed, "{s}");
        }
        for s in ["sent", "accepted", "replied"] {
            assert_eq!(parse(s).status, DeliveryStatus::Pending, "{s}");
        }
    }

    #[test]
    fn a_wrong_missing_or_unconfigured_secret_is_refused_before_parsing() {
        let body = br#"{"messageId": 1, "event": "delivered"}"#;
        assert_eq!(
            parse_brevo_webhook(Some("nope"), "s3cret", body),
            Err(WebhookError::Unauthorized)
        );
        assert_eq!(
            parse_brevo_webhook(None, "s3cret", body),
            Err(WebhookError::Unauthorized)
        );
        assert_eq!(
            parse_brevo_webhook(Some(""), "", body),
            Err(WebhookError::Unauthorized)
        );
        assert_eq!(
            parse_linkmobility_webhook(Some("s3cre"), "s3cret", b"garbage"),
            Err(WebhookError::Unauthorized)
        );
        assert!(matches!(
            parse_brevo_webhook(Some("s3cret"), "s3cret", b"garbage"),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            parse_brevo_webhook(Some("s3cret"), "s3cret", br#"{"event": "delivered"}"#),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn linkmobility_codes_map_to_received_or_failed() {
        let parse = |code: i64| {
            parse_linkmobility_webhook(
                Some("k"),
                "k",
                format!(r#"{{"id": "abc-1", "refId": "x", "resultCode": {code}, "resultDescription": "d"}}"#).as_bytes(),
            )
            .unwrap()
        };
        assert_eq!(parse(1001).status, DeliveryStatus::Delivered);
        assert_eq!(parse(1005).status, DeliveryStatus::Pending);
        assert_eq!(parse(1006).status, DeliveryStatus::Failed);
        assert_eq!(parse(1001).provider_message_id, "abc-1");
        assert_eq!(parse(1001).raw_status, "1001 d");
    }
}
