//! E-mail through SMTP (lettre), or nowhere in demo mode (the outbox row is what the demo outbox page shows).
//!
//! URLs: `smtp://[user:pass@]host[:587]` requires STARTTLS; `smtps://[user:pass@]host[:465]` is implicit TLS;
//! `smtp://host:port?tls=none` (plain text) is accepted only for a loopback host (a local relay or a test sink),
//! so a typo cannot send personal data in clear over a network.

use std::net::IpAddr;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment as MailAttachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::SendError;

/// A file joined to an e-mail (the .ics invitation of a summon).
#[derive(Clone, Debug)]
pub struct Attachment {
    pub filename: String,
    /// e.g. `text/calendar; method=REQUEST; charset=UTF-8`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// The invitation of [`crate::ics_invitation`] as an attachment Outlook and Google recognise.
    pub fn ics(ics: String) -> Attachment {
        Attachment {
            filename: "invitation.ics".into(),
            content_type: "text/calendar; method=REQUEST; charset=UTF-8".into(),
            bytes: ics.into_bytes(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration SMTP invalide : {0}")]
pub struct EmailConfigError(pub String);

pub struct EmailChannel {
    inner: Inner,
}

enum Inner {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    Demo,
}

impl std::fmt::Debug for EmailChannel {
    // Never prints the SMTP credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Smtp { .. } => f.write_str("EmailChannel::Smtp"),
            Inner::Demo => f.write_str("EmailChannel::Demo"),
        }
    }
}

const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

impl EmailChannel {
    /// An SMTP channel from a URL (see the module doc) and a sender (`Nom <adresse>` or `adresse`).
    pub fn smtp(url: &str, from: &str) -> Result<EmailChannel, EmailConfigError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| EmailConfigError(format!("expéditeur « {from} » : {e}")))?;
        let parsed =
            url::Url::parse(url).map_err(|e| EmailConfigError(format!("URL illisible ({e})")))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| EmailConfigError("hôte manquant".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let mut tls = "required";
        for (k, v) in parsed.query_pairs() {
            match (k.as_ref(), v.as_ref()) {
                ("tls", "none") => tls = "none",
                ("tls", "required") | ("tls", "starttls") => tls = "required",
                (k, _) => {
                    return Err(EmailConfigError(format!(
                        "paramètre inconnu « {k} » (seul tls=none est accepté, pour un hôte local)"
                    )))
                }
            }
        }
        let builder = match (parsed.scheme(), tls) {
            ("smtp", "none") => {
                if !is_loopback(&host) {
                    return Err(EmailConfigError(
                        "tls=none n'est accepté que pour un serveur local (127.0.0.1, ::1, localhost)".into(),
                    ));
                }
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                    .port(parsed.port().unwrap_or(25))
            }
            ("smtp", _) => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
                .map_err(|e| EmailConfigError(format!("STARTTLS : {e}")))?
                .port(parsed.port().unwrap_or(587)),
            ("smtps", "none") => {
                return Err(EmailConfigError(
                    "smtps:// et tls=none sont contradictoires".into(),
                ))
            }
            ("smtps", _) => AsyncSmtpTransport::<Tokio1Executor>::relay(&host)
                .map_err(|e| EmailConfigError(format!("TLS : {e}")))?
                .port(parsed.port().unwrap_or(465)),
            (other, _) => {
                return Err(EmailConfigError(format!(
                    "schéma « {other} » : smtp:// ou smtps:// attendu"
                )))
            }
        };
        let builder = builder.timeout(Some(SMTP_TIMEOUT));
        let builder = if parsed.username().is_empty() {
            builder
        } else {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let user = decode(parsed.username());
            let pass = decode(parsed.password().unwrap_or(""));
            builder.credentials(Credentials::new(user, pass))
        };
        Ok(EmailChannel {
            inner: Inner::Smtp {
                transport: Box::new(builder.build()),
                from,
            },
        })
    }

    /// Sends nothing: in demo mode the outbox row is what the demo outbox page shows.
    pub fn demo() -> EmailChannel {
        EmailChannel { inner: Inner::Demo }
    }

    pub fn is_demo(&self) -> bool {
        matches!(self.inner, Inner::Demo)
    }

    /// Name recorded as the outbox row's provider.
    pub fn provider_name(&self) -> &'static str {
        match self.inner {
            Inner::Smtp { .. } => "smtp",
            Inner::Demo => "demo",
        }
    }

    /// The sender's address, e.g. for the ORGANIZER of an invitation.
    pub fn from_address(&self) -> Option<String> {
        match &self.inner {
            Inner::Smtp { from, .. } => Some(from.email.to_string()),
            Inner::Demo => None,
        }
    }

    /// Sends a plain-text e-mail with attachments; returns the Message-ID given to it.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        text: &str,
        attachments: &[Attachment],
    ) -> Result<Option<String>, SendError> {
        let (transport, from) = match &self.inner {
            Inner::Demo => return Ok(Some(format!("demo-{}", uuid::Uuid::now_v7()))),
            Inner::Smtp { transport, from } => (transport, from),
        };
        let to: Mailbox = to
            .parse()
            .map_err(|_| SendError::Permanent("adresse e-mail du destinataire invalide".into()))?;
        let message_id = format!("<{}@{}>", uuid::Uuid::now_v7(), from.email.domain());
        let builder = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(message_id.clone()));
        let text_part = SinglePart::plain(text.to_string());
        let message = if attachments.is_empty() {
            builder.singlepart(text_part)
        } else {
            let mut parts = MultiPart::mixed().singlepart(text_part);
            for a in attachments {
                let content_type = ContentType::parse(&a.content_type).map_err(|_| {
                    SendError::Permanent(format!(
                        "type de pièce jointe invalide : {}",
                        a.content_type
                    ))
                })?;
                // Base64 always: a calendar file must reach the client byte for byte (CRLF, long lines).
                let body =
                    Body::new_with_encoding(a.bytes.clone(), ContentTransferEncoding::Base64)
                        .map_err(|_| SendError::Permanent("pièce jointe non encodable".into()))?;
                parts = parts
                    .singlepart(MailAttachment::new(a.filename.clone()).body(body, content_type));
            }
            builder.multipart(parts)
        }
        .map_err(|e| SendError::Permanent(format!("message non constructible : {e}")))?;
        match transport.send(message).await {
            Ok(_) => Ok(Some(message_id)),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!(
                "SMTP refus définitif {}",
                e.status().map(|c| c.to_string()).unwrap_or_default()
            ))),
            Err(e) => Err(SendError::Transient(format!(
                "SMTP {}",
                e.status()
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "connexion ou délai".into())
            ))),
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_is_refused_for_a_remote_host() {
        let err = EmailChannel::smtp("smtp://mail.example.fr:25?tls=none", "a@b.fr").unwrap_err();
        assert!(err.0.contains("serveur local"));
        assert!(EmailChannel::smtp("smtp://127.0.0.1:2525?tls=none", "a@b.fr").is_ok());
        assert!(EmailChannel::smtp("smtp://[::1]:2525?tls=none", "a@b.fr").is_ok());
        assert!(EmailChannel::smtp("smtp://localhost:2525?tls=none", "a@b.fr").is_ok());
    }

    #[test]
    fn tls_urls_and_credentials_are_accepted() {
        let c = EmailChannel::smtp(
            "smtp://user%40x:p%2Fss@mail.example.fr:587",
            "Passerelle <ne-pas-repondre@passerelle.justice.gouv.fr>",
        )
        .unwrap();
        assert_eq!(c.provider_name(), "smtp");
        assert_eq!(
            c.from_address().as_deref(),
            Some("ne-pas-repondre@passerelle.justice.gouv.fr")
        );
        assert!(EmailChannel::smtp("smtps://u:p@mail.example.fr", "a@b.fr").is_ok());
        assert!(EmailChannel::smtp("http://x", "a@b.fr").is_err());
        assert!(EmailChannel::smtp("smtp://x?foo=bar", "a@b.fr").is_err());
        assert!(EmailChannel::smtp("smtp://x", "pas une adresse").is_err());
        assert_eq!(format!("{c:?}"), "EmailChannel::Smtp");
    }
}
