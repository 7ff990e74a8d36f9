//! End-to-end tests of the messaging crate against real loopback servers (HTTP providers, SMTP), on SQLite and
//! PostgreSQL.

mod support;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use base64::Engine;
use chrono::{NaiveTime, TimeZone, Utc};
use messaging::{
    dispatch_once, parse_brevo_webhook, parse_linkmobility_webhook, schedule_for_booking,
    Attachment, Brevo, Channels, DeliveryStatus, EmailChannel, LinkMobility, ReminderPolicy,
    RenderFuture, Rendered, Renderer, Rendition, WebhookError, LEASE_SECS,
};
use store::outbox::{self, Message, NewMessage};
use store::testing::{on_each_backend, TestDb};
use store::{optout, templates, Db, Scope, StoreError};
use support::{ProviderServer, SmtpSink};

const NOW: i64 = 1_800_000_000;

fn sms(to: &str, body: &str, due_at: i64) -> NewMessage {
    NewMessage {
        channel: "sms".into(),
        kind: "reminder".into(),
        organisation_id: None,
        recipient: to.into(),
        subject: None,
        body: body.into(),
        due_at,
        related_type: Some("appointment".into()),
        related_id: Some("rdv-1".into()),
    }
}

fn brevo_channels(server: &ProviderServer) -> Channels {
    Channels::new(
        EmailChannel::demo(),
        Box::new(
            Brevo::new(&server.base_url, "key-123", "MINJUSTICE")
                .with_web_url("https://passerelle.test/webhooks/brevo"),
        ),
    )
}

async fn state_of(db: &Db, id: &str) -> Message {
    outbox::get_unscoped(db, id).await.unwrap()
}

#[tokio::test]
async fn an_sms_reaches_brevo_with_the_api_key_and_the_documented_json() {
    let server = ProviderServer::start().await;
    let ch = brevo_channels(&server);
    on_each_backend(|db| {
        let ch = &ch;
        let server = &server;
        async move {
            server.state.requests.lock().unwrap().clear();
            let id = outbox::enqueue(
                db.pool(),
                &sms("+262692123456", "Rappel : RDV demain à 9h00.", NOW),
            )
            .await
            .unwrap();
            let later = outbox::enqueue(db.pool(), &sms("+33612345678", "plus tard", NOW + 60))
                .await
                .unwrap();
            let stats = dispatch_once(&db, ch, NOW, 10).await.unwrap();
            assert_eq!((stats.claimed, stats.sent), (1, 1));
            let req = &server.requests()[0];
            assert_eq!(req.path, "/v3/transactionalSMS/sms");
            assert_eq!(req.api_key.as_deref(), Some("key-123"));
            assert_eq!(
                req.json["recipient"], "262692123456",
                "overseas number, country code, no +"
            );
            assert_eq!(req.json["sender"], "MINJUSTICE");
            assert_eq!(req.json["content"], "Rappel : RDV demain à 9h00.");
            assert_eq!(req.json["type"], "transactional");
            assert_eq!(req.json["unicodeEnabled"], false, "à is GSM-7");
            assert_eq!(req.json["webUrl"], "https://passerelle.test/webhooks/brevo");
            let m = state_of(&db, &id).await;
            assert_eq!(m.state, "sent");
            assert_eq!(m.provider.as_deref(), Some("brevo"));
            assert!(m
                .provider_message_id
                .as_deref()
                .unwrap()
                .parse::<u64>()
                .is_ok());
            assert_eq!(m.sent_at, Some(NOW));
            assert_eq!(
                state_of(&db, &later).await.state,
                "programmed",
                "not due yet"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_failing_provider_is_retried_with_backoff_then_the_message_fails_after_five_attempts() {
    let server = ProviderServer::start().await;
    server.state.fail_status.store(500, Ordering::SeqCst);
    let ch = brevo_channels(&server);
    on_each_backend(|db| {
        let ch = &ch;
        let server = &server;
        async move {
            let before = server.count();
            let id = outbox::enqueue(db.pool(), &sms("+33612345678", "x", NOW))
                .await
                .unwrap();
            let mut now = NOW;
            let mut dues = Vec::new();
            for attempt in 1..=5 {
                let stats = dispatch_once(&db, ch, now, 10).await.unwrap();
                assert_eq!(stats.claimed, 1, "attempt {attempt}");
                let m = state_of(&db, &id).await;
                assert_eq!(m.attempts, attempt);
                assert!(
                    m.last_error.as_deref().unwrap().contains("HTTP 500"),
                    "{:?}",
                    m.last_error
                );
                if attempt < 5 {
                    assert_eq!(m.state, "programmed");
                    assert_eq!(stats.retried, 1);
                    // Not before its back-off.
                    assert_eq!(
                        dispatch_once(&db, ch, m.due_at - 1, 10)
                            .await
                            .unwrap()
                            .claimed,
                        0
                    );
                    dues.push(m.due_at - now);
                    now = m.due_at;
                } else {
                    assert_eq!(m.state, "failed", "failed for good after 5 attempts");
                    assert_eq!(stats.failed, 1);
                }
            }
            assert_eq!(dues, vec![30, 60, 120, 240], "exponential back-off");
            assert_eq!(
                dispatch_once(&db, ch, now + 100_000, 10)
                    .await
                    .unwrap()
                    .claimed,
                0
            );
            assert_eq!(
                server.count() - before,
                5,
                "exactly five calls to the provider"
            );
            // Visible to agents, and an agent can retry it.
            let failed = outbox::list_failed(&db, &Scope::system("t"), 10)
                .await
                .unwrap();
            assert_eq!(failed.len(), 1);
            outbox::retry(&db, &Scope::system("t"), &id, now)
                .await
                .unwrap();
            let m = state_of(&db, &id).await;
            assert_eq!((m.state.as_str(), m.attempts), ("programmed", 0));
        }
    })
    .await;
}

#[tokio::test]
async fn an_invalid_number_refused_by_the_provider_fails_at_once() {
    let server = ProviderServer::start().await;
    server.state.fail_status.store(400, Ordering::SeqCst);
    let ch = brevo_channels(&server);
    on_each_backend(|db| {
        let ch = &ch;
        async move {
            let id = outbox::enqueue(db.pool(), &sms("+33612345678", "x", NOW))
                .await
                .unwrap();
            let stats = dispatch_once(&db, ch, NOW, 10).await.unwrap();
            assert_eq!(stats.failed, 1);
            let m = state_of(&db, &id).await;
            assert_eq!((m.state.as_str(), m.attempts), ("failed", 1));
            assert!(
                m.last_error.unwrap().contains("internal_error"),
                "provider code kept"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_delivery_webhook_with_the_right_secret_turns_sent_into_received_and_a_forged_one_is_refused(
) {
    let server = ProviderServer::start().await;
    let ch = brevo_channels(&server);
    on_each_backend(|db| {
        let ch = &ch;
        async move {
            let id = outbox::enqueue(db.pool(), &sms("+33612345678", "x", NOW))
                .await
                .unwrap();
            let failing = outbox::enqueue(db.pool(), &sms("+33712345678", "y", NOW))
                .await
                .unwrap();
            dispatch_once(&db, ch, NOW, 10).await.unwrap();
            let pmid = state_of(&db, &id).await.provider_message_id.unwrap();
            let body = format!(
                r#"{{"event":"delivered","messageId":{pmid},"ts_event":{}}}"#,
                NOW + 5
            );
            assert_eq!(
                parse_brevo_webhook(Some("wrong"), "hook-secret", body.as_bytes()),
                Err(WebhookError::Unauthorized)
            );
            assert_eq!(
                state_of(&db, &id).await.state,
                "sent",
                "a forged receipt changes nothing"
            );
            let report =
                parse_brevo_webhook(Some("hook-secret"), "hook-secret", body.as_bytes()).unwrap();
            assert_eq!(report.status, DeliveryStatus::Delivered);
            assert_eq!(
                messaging::apply_delivery_report(&db, &report, NOW + 6)
                    .await
                    .unwrap(),
                id
            );
            let m = state_of(&db, &id).await;
            assert_eq!(
                (m.state.as_str(), m.received_at),
                ("received", Some(NOW + 5))
            );
            assert_eq!(m.provider_status.as_deref(), Some("delivered"));
            // A late "sent" event does not downgrade.
            let late = format!(r#"{{"event":"sent","messageId":{pmid}}}"#);
            let report =
                parse_brevo_webhook(Some("hook-secret"), "hook-secret", late.as_bytes()).unwrap();
            messaging::apply_delivery_report(&db, &report, NOW + 7)
                .await
                .unwrap();
            assert_eq!(state_of(&db, &id).await.state, "received");
            // A hard bounce fails the other one.
            let pmid2 = state_of(&db, &failing).await.provider_message_id.unwrap();
            let bounce = format!(r#"{{"msg_status":"hard_bounce","messageId":{pmid2}}}"#);
            let report =
                parse_brevo_webhook(Some("hook-secret"), "hook-secret", bounce.as_bytes()).unwrap();
            messaging::apply_delivery_report(&db, &report, NOW + 8)
                .await
                .unwrap();
            assert_eq!(state_of(&db, &failing).await.state, "failed");
            // Unknown id: an error the caller turns into 404.
            let unknown = br#"{"event":"delivered","messageId":42}"#;
            let report = parse_brevo_webhook(Some("hook-secret"), "hook-secret", unknown).unwrap();
            assert!(matches!(
                messaging::apply_delivery_report(&db, &report, NOW).await,
                Err(StoreError::NotFound)
            ));
        }
    })
    .await;
}

#[tokio::test]
async fn linkmobility_gets_basic_auth_and_its_json_and_its_receipt_marks_received() {
    let server = ProviderServer::start().await;
    let ch = Channels::new(
        EmailChannel::demo(),
        Box::new(
            LinkMobility::new(
                &server.base_url,
                "user",
                "pass",
                "COMMON_API",
                "4242",
                "MINJUSTICE",
            )
            .with_delivery_gates(vec!["gate-1".into()]),
        ),
    );
    on_each_backend(|db| {
        let ch = &ch;
        let server = &server;
        async move {
            server.state.requests.lock().unwrap().clear();
            let id = outbox::enqueue(db.pool(), &sms("+596696123456", "Vous êtes convoqué.", NOW))
                .await
                .unwrap();
            assert_eq!(dispatch_once(&db, ch, NOW, 10).await.unwrap().sent, 1);
            let req = &server.requests()[0];
            assert_eq!(req.path, "/sms/send");
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("user:pass")
            );
            assert_eq!(req.authorization.as_deref(), Some(expected.as_str()));
            assert_eq!(req.json["destination"], "+596696123456");
            assert_eq!(req.json["source"], "MINJUSTICE");
            assert_eq!(req.json["sourceTON"], "ALPHANUMERIC");
            assert_eq!(req.json["userData"], "Vous êtes convoqué.");
            assert_eq!(req.json["platformId"], "COMMON_API");
            assert_eq!(req.json["platformPartnerId"], "4242");
            assert_eq!(req.json["useDeliveryReport"], true);
            assert_eq!(req.json["deliveryReportGates"][0], "gate-1");
            let m = state_of(&db, &id).await;
            assert_eq!(m.provider.as_deref(), Some("linkmobility"));
            let pmid = m.provider_message_id.unwrap();
            let dlr = format!(
                r#"{{"id":"{pmid}","refId":"r","resultCode":1001,"resultDescription":"Delivered"}}"#
            );
            assert!(parse_linkmobility_webhook(Some("x"), "gate-secret", dlr.as_bytes()).is_err());
            let report =
                parse_linkmobility_webhook(Some("gate-secret"), "gate-secret", dlr.as_bytes())
                    .unwrap();
            messaging::apply_delivery_report(&db, &report, NOW + 3)
                .await
                .unwrap();
            let m = state_of(&db, &id).await;
            assert_eq!(
                (m.state.as_str(), m.received_at),
                ("received", Some(NOW + 3))
            );
        }
    })
    .await;
}

/// Stands in for the appointments layer: renders the summon again at send time, with its invitation.
struct SummonRenderer;

impl Renderer for SummonRenderer {
    fn render<'a>(&'a self, _db: &'a Db, m: &'a Message) -> RenderFuture<'a> {
        Box::pin(async move {
            if m.related_id.as_deref() == Some("rdv-canceled") {
                return Ok(Rendered::Cancel("rendez-vous annulé".into()));
            }
            if m.channel != "email" {
                return Ok(Rendered::Keep);
            }
            let ics = messaging::IcsEvent {
                uid: format!("{}@passerelle", m.related_id.clone().unwrap_or_default()),
                sequence: 0,
                starts_at_utc: NOW + 86_400,
                ends_at_utc: NOW + 86_400 + 1800,
                summary: "Convocation au SPIP".into(),
                location: "SPIP 92, 179-191 avenue Joliot-Curie, 92000 Nanterre".into(),
                description: "Apportez une pièce d'identité; merci.".into(),
                organizer: Some(("SPIP 92".into(), "ne-pas-repondre@passerelle.test".into())),
                attendee: Some(m.recipient.clone()),
                stamp_utc: NOW,
            }
            .to_ics();
            Ok(Rendered::Replace(Rendition {
                subject: Some("Convocation : vendredi 15 janvier 2027 à 9h00".into()),
                body: "Vous êtes convoqué(e) au SPIP 92 le vendredi 15 janvier 2027 à 9h00.".into(),
                attachments: vec![Attachment::ics(ics)],
            }))
        })
    }
}

#[tokio::test]
async fn a_summon_email_arrives_at_a_real_smtp_server_with_a_valid_ics_invitation() {
    let sink = SmtpSink::start().await;
    let ch = Channels::new(
        EmailChannel::smtp(&sink.url(), "Passerelle <ne-pas-repondre@passerelle.test>").unwrap(),
        Box::new(messaging::DemoSms),
    )
    .with_renderer(Box::new(SummonRenderer));
    on_each_backend(|db| {
        let ch = &ch;
        let sink = &sink;
        async move {
            let before = sink.mails().len();
            let id = outbox::enqueue(
                db.pool(),
                &NewMessage {
                    channel: "email".into(),
                    kind: "summon".into(),
                    organisation_id: None,
                    recipient: "personne@exemple.test".into(),
                    subject: Some("texte périmé".into()),
                    body: "texte périmé".into(),
                    due_at: NOW,
                    related_type: Some("appointment".into()),
                    related_id: Some("rdv-42".into()),
                },
            )
            .await
            .unwrap();
            let stats = dispatch_once(&db, ch, NOW, 10).await.unwrap();
            assert_eq!(stats.sent, 1, "{stats:?}");
            let mails = sink.mails();
            assert_eq!(mails.len(), before + 1);
            let mail = mails.last().unwrap();
            assert_eq!(mail.from, "ne-pas-repondre@passerelle.test");
            assert_eq!(mail.to, vec!["personne@exemple.test".to_string()]);
            assert!(mail.data.contains("multipart/mixed"));
            let m = state_of(&db, &id).await;
            assert_eq!(m.provider.as_deref(), Some("smtp"));
            let message_id = m.provider_message_id.unwrap();
            assert!(
                mail.data.contains(&format!("Message-ID: {message_id}")),
                "the row keeps the Message-ID"
            );
            assert!(
                m.body.starts_with("Vous êtes convoqué(e)"),
                "the row records the text rendered at send time"
            );

            let ics = extract_ics(&mail.data);
            assert_valid_ics(&ics);
            assert!(ics.contains("UID:rdv-42@passerelle\r\n"));
            assert!(ics.contains("DTSTART:20270116T080000Z\r\n"));
            assert!(ics
                .replace("\r\n ", "")
                .contains("LOCATION:SPIP 92\\, 179-191 avenue Joliot-Curie\\, 92000 Nanterre"));
            assert!(
                ics.contains("ORGANIZER;CN=\"SPIP 92\":mailto:ne-pas-repondre@passerelle.test\r\n")
            );
        }
    })
    .await;
}

/// The base64 body of the text/calendar part of a MIME message.
fn extract_ics(data: &str) -> String {
    let start = data
        .find("Content-Type: text/calendar")
        .expect("a calendar part");
    let part = &data[start..];
    let body_start = part.find("\r\n\r\n").unwrap() + 4;
    let body_end = part[body_start..].find("\r\n--").unwrap() + body_start;
    assert!(part[..body_start].contains("Content-Transfer-Encoding: base64"));
    assert!(
        data.contains("attachment; filename=\"invitation.ics\""),
        "{data}"
    );
    let b64: String = part[body_start..body_end].split_whitespace().collect();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

/// Structural checks of RFC 5545 that calendar clients enforce.
fn assert_valid_ics(ics: &str) {
    assert!(ics.ends_with("\r\n"));
    assert!(
        !ics.replace("\r\n", "").contains('\n'),
        "CRLF line ends only"
    );
    let lines: Vec<&str> = ics.trim_end().split("\r\n").collect();
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"));
    assert_eq!(lines.last(), Some(&"END:VCALENDAR"));
    for l in &lines {
        assert!(l.len() <= 75, "folded at 75 octets: {l}");
    }
    let unfolded = ics.replace("\r\n ", "");
    for required in [
        "VERSION:2.0",
        "PRODID:",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        "UID:",
        "DTSTAMP:",
        "DTSTART:",
        "DTEND:",
        "SUMMARY:",
        "END:VEVENT",
    ] {
        assert!(
            unfolded.lines().any(|l| l.starts_with(required)),
            "missing {required}"
        );
    }
    let mut depth = Vec::new();
    for l in unfolded.trim_end().split("\r\n") {
        if let Some(name) = l.strip_prefix("BEGIN:") {
            depth.push(name.to_string());
        } else if let Some(name) = l.strip_prefix("END:") {
            assert_eq!(depth.pop().as_deref(), Some(name), "balanced components");
        } else {
            assert!(l.contains(':'), "content line name:value: {l}");
        }
    }
    assert!(depth.is_empty());
}

#[tokio::test]
async fn an_opted_out_number_gets_no_sms_and_the_message_is_unsent() {
    let server = ProviderServer::start().await;
    let ch = brevo_channels(&server);
    on_each_backend(|db| {
        let ch = &ch;
        let server = &server;
        async move {
            server.state.requests.lock().unwrap().clear();
            let token = optout::sms_opt_out_token(db.pool(), "+33611111111")
                .await
                .unwrap();
            assert_eq!(token.len(), 12);
            optout::check_token(&db, &token).await.unwrap();
            assert!(matches!(
                optout::check_token(&db, "nope").await,
                Err(StoreError::NotFound)
            ));
            optout::opt_out_by_token(&db, &token, NOW).await.unwrap();
            optout::opt_out_by_token(&db, &token, NOW).await.unwrap();
            assert_eq!(
                optout::opted_out_at(&db, "+33611111111").await.unwrap(),
                Some(NOW)
            );
            let stopped = outbox::enqueue(db.pool(), &sms("+33611111111", "x", NOW))
                .await
                .unwrap();
            let other = outbox::enqueue(db.pool(), &sms("+33622222222", "y", NOW))
                .await
                .unwrap();
            let stats = dispatch_once(&db, ch, NOW, 10).await.unwrap();
            assert_eq!((stats.sent, stats.unsent), (1, 1));
            assert_eq!(state_of(&db, &stopped).await.state, "unsent");
            assert_eq!(state_of(&db, &other).await.state, "sent");
            assert_eq!(server.requests().len(), 1);
            assert_eq!(server.requests()[0].json["recipient"], "33622222222");
            optout::opt_in(&db, "+33611111111").await.unwrap();
            assert_eq!(
                optout::opted_out_at(&db, "+33611111111").await.unwrap(),
                None
            );
        }
    })
    .await;
}

#[tokio::test]
async fn cancelling_an_appointment_cancels_its_pending_reminder_but_not_what_left() {
    let server = ProviderServer::start().await;
    let ch = brevo_channels(&server).with_renderer(Box::new(SummonRenderer));
    on_each_backend(|db| {
        let ch = &ch;
        async move {
            let mut tx = db.begin().await.unwrap();
            let summon = outbox::enqueue(
                &mut *tx,
                &NewMessage {
                    kind: "summon".into(),
                    ..sms("+33633333333", "s", NOW)
                },
            )
            .await
            .unwrap();
            let reminder = outbox::enqueue(&mut *tx, &sms("+33633333333", "r", NOW + 86_400))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            dispatch_once(&db, ch, NOW, 10).await.unwrap();
            assert_eq!(
                outbox::cancel_pending_reminders(db.pool(), "rdv-1", NOW + 10)
                    .await
                    .unwrap(),
                1
            );
            assert_eq!(state_of(&db, &summon).await.state, "sent");
            let r = state_of(&db, &reminder).await;
            assert_eq!(
                (r.state.as_str(), r.canceled_at),
                ("canceled", Some(NOW + 10))
            );
            assert_eq!(
                dispatch_once(&db, ch, NOW + 100_000, 10)
                    .await
                    .unwrap()
                    .claimed,
                0
            );
            // Canceled between enqueue and send: the render hook cancels it at send time.
            let late = outbox::enqueue(
                db.pool(),
                &NewMessage {
                    related_id: Some("rdv-canceled".into()),
                    ..sms("+33633333333", "r", NOW)
                },
            )
            .await
            .unwrap();
            assert_eq!(
                dispatch_once(&db, ch, NOW + 100_000, 10)
                    .await
                    .unwrap()
                    .canceled,
                1
            );
            assert_eq!(state_of(&db, &late).await.state, "canceled");
            let listed = outbox::list_for_related(&db, &Scope::system("t"), "appointment", "rdv-1")
                .await
                .unwrap();
            assert_eq!(listed.len(), 2);
        }
    })
    .await;
}

#[tokio::test]
async fn a_dispatcher_killed_mid_batch_loses_nothing_and_duplicates_only_what_was_in_flight() {
    let server = ProviderServer::start().await;
    server.state.delay_ms.store(50, Ordering::SeqCst);
    let ch = Arc::new(brevo_channels(&server));
    on_each_backend(|db| {
        let ch = ch.clone();
        let server = &server;
        async move {
            server.state.requests.lock().unwrap().clear();
            let start = server.count();
            let n = 120;
            let mut tx = db.begin().await.unwrap();
            for i in 0..n {
                outbox::enqueue(&mut *tx, &sms(&format!("+3361{i:07}"), "x", NOW))
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
            let batch = 80;
            let task = {
                let (db, ch) = (db.clone(), ch.clone());
                tokio::spawn(async move { dispatch_once(&db, &ch, NOW, batch).await })
            };
            // Kill it while its batch is with the provider.
            while server.count() < start + 10 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            task.abort();
            let _ = task.await;
            let reached_before_restart = server.requests().len();
            assert!(
                reached_before_restart >= 9 && reached_before_restart <= batch as usize,
                "{reached_before_restart}"
            );
            // Restarted before the lease ran out: only the unclaimed rest.
            let stats = dispatch_once(&db, &ch, NOW + 1, 500).await.unwrap();
            assert_eq!(stats.sent, n - batch as usize);
            // After the lease: the killed batch again.
            let stats = dispatch_once(&db, &ch, NOW + LEASE_SECS + 1, 500)
                .await
                .unwrap();
            assert_eq!(stats.sent, batch as usize);
            let counts = outbox::count_by_state(&db).await.unwrap();
            assert_eq!(counts, vec![("sent".to_string(), n as i64)]);
            let mut per_recipient: HashMap<String, usize> = HashMap::new();
            for r in server.requests() {
                *per_recipient
                    .entry(r.json["recipient"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
            assert_eq!(per_recipient.len(), n, "every message delivered");
            let duplicates: usize = per_recipient.values().map(|c| c - 1).sum();
            assert!(
                duplicates <= reached_before_restart,
                "duplicates only for what was in flight"
            );
            assert!(per_recipient.values().all(|c| *c <= 2));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dispatchers_on_postgresql_deliver_ten_thousand_messages_without_duplicate() {
    let Some(t) = TestDb::postgres().await else {
        return;
    };
    let server = ProviderServer::start().await;
    let n = 10_000;
    let mut tx = t.db.begin().await.unwrap();
    for i in 0..n {
        outbox::enqueue(&mut *tx, &sms(&format!("+3362{i:07}"), "Rappel", NOW))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let ch = Arc::new(brevo_channels(&server));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        // A separate pool each, as two processes would have.
        let db = Db::connect(&t.url()).await.unwrap();
        let ch = ch.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let stats = dispatch_once(&db, &ch, NOW, 100).await.unwrap();
                if stats.claimed == 0 {
                    break;
                }
                sent += stats.sent;
            }
            db.close().await;
            sent
        }));
    }
    let mut per_dispatcher = Vec::new();
    for task in tasks {
        per_dispatcher.push(task.await.unwrap());
    }
    assert_eq!(per_dispatcher.iter().sum::<usize>(), n);
    assert!(
        per_dispatcher.iter().all(|s| *s > 0),
        "both shared the work: {per_dispatcher:?}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), n, "no duplicate call to the provider");
    let unique: std::collections::HashSet<_> = requests
        .iter()
        .map(|r| r.json["recipient"].to_string())
        .collect();
    assert_eq!(unique.len(), n);
    assert_eq!(
        outbox::count_by_state(&t.db).await.unwrap(),
        vec![("sent".to_string(), n as i64)]
    );
    t.cleanup().await;
}

#[test]
fn booking_late_on_saturday_summons_monday_morning_and_drops_a_reminder_already_past() {
    let paris = chrono_tz::Europe::Paris;
    let at = |tz: chrono_tz::Tz, y, m, d, h, min| {
        tz.with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    // Saturday 5 June 2027 21:00 → appointment Monday 7 June 10:00.
    let s = schedule_for_booking(
        at(paris, 2027, 6, 5, 21, 0),
        at(paris, 2027, 6, 7, 10, 0),
        paris,
        "92",
        ReminderPolicy::default(),
        Default::default(),
    );
    assert_eq!(
        s.summon_at,
        at(paris, 2027, 6, 7, 8, 0),
        "no SMS on Sunday nor at night"
    );
    assert_eq!(
        s.reminder_at, None,
        "J-1 is Sunday, moved earlier to Saturday 10:00, already past; no allowed day is 12 h ahead"
    );

    // Booked Tuesday noon for Friday 14:00: summon now, reminder Thursday 10:00.
    let s = schedule_for_booking(
        at(paris, 2027, 6, 1, 12, 0),
        at(paris, 2027, 6, 4, 14, 0),
        paris,
        "92",
        ReminderPolicy::default(),
        Default::default(),
    );
    assert_eq!(s.summon_at, at(paris, 2027, 6, 1, 12, 0));
    assert_eq!(s.reminder_at, Some(at(paris, 2027, 6, 3, 10, 0)));

    // La Réunion, J-2 at 18:30 local for a Monday appointment: Saturday 18:30 Réunion time.
    let reunion = chrono_tz::Indian::Reunion;
    let s = schedule_for_booking(
        at(reunion, 2027, 6, 1, 9, 0),
        at(reunion, 2027, 6, 14, 9, 0),
        reunion,
        "974",
        ReminderPolicy {
            days_before: 2,
            hour: NaiveTime::from_hms_opt(18, 30, 0).unwrap(),
        },
        Default::default(),
    );
    assert_eq!(s.reminder_at, Some(at(reunion, 2027, 6, 12, 18, 30)));

    // Reminder hour in quiet hours (21:00) on a weekday: a daytime hour instead (10:00), never 19:59.
    let s = schedule_for_booking(
        at(paris, 2027, 6, 1, 9, 0),
        at(paris, 2027, 6, 10, 9, 0),
        paris,
        "92",
        ReminderPolicy {
            days_before: 1,
            hour: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
        },
        Default::default(),
    );
    assert_eq!(s.reminder_at, Some(at(paris, 2027, 6, 9, 10, 0)));
}

#[tokio::test]
async fn templates_fall_back_to_the_national_default_and_an_unknown_variable_is_refused() {
    on_each_backend(|db| async move {
        let sys = Scope::system("admin national");
        // Every seeded text is a valid template.
        let all = templates::list(&db, &sys, None).await.unwrap();
        assert!(all.len() >= 17, "{}", all.len());
        for t in &all {
            t.template().unwrap_or_else(|e| {
                panic!("{} {} {}: {e}", t.appointment_type, t.kind, t.language)
            });
        }
        for kind in templates::KINDS {
            let t = templates::effective(&db, None, "convocation_suivi_spip", kind, "fr")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (t.appointment_type.as_str(), t.language.as_str()),
                ("*", "fr")
            );
        }
        for lang in ["fr_falc", "en", "ar"] {
            for kind in ["summon", "reminder"] {
                let t = templates::effective(&db, None, "x", kind, lang)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(t.language, lang);
            }
        }
        // Every kind has an Arabic text now (migration 17); a language without texts gets French rather than
        // nothing.
        let t = templates::effective(&db, None, "x", "cancelation", "ar")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t.language, "ar");
        let t = templates::effective(&db, None, "x", "cancelation", "es")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t.language, "fr");
        // A type with its own national text.
        let t = templates::effective(&db, None, "visite_domicile", "summon", "fr")
            .await
            .unwrap()
            .unwrap();
        assert!(t.body.contains("domicile"));

        let org = store::orgs::create(
            &db,
            &store::Actor::system("t"),
            &store::orgs::NewOrganisation {
                kind: store::roles::OrgKind::Spip,
                name: "SPIP 92".into(),
                parent_id: None,
                departement: Some("92".into()),
                time_zone: "Europe/Paris".into(),
                address: None,
                phone: None,
                email: None,
            },
        )
        .await
        .unwrap();
        let err = templates::save(
            &db,
            &sys,
            Some(&org.id),
            "*",
            "reminder",
            "fr",
            None,
            "RDV le {rdv.jour}",
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Variable inconnue : {rdv.jour}."),
            "{err}"
        );
        let saved = templates::save(
            &db,
            &sys,
            Some(&org.id),
            "*",
            "reminder",
            "fr",
            None,
            "SPIP 92 : RDV le {rdv.date} à {rdv.heure}.",
        )
        .await
        .unwrap();
        let t = templates::effective(
            &db,
            Some(&org.id),
            "convocation_suivi_spip",
            "reminder",
            "fr",
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(t.id, saved.id, "the organisation's override wins");
        let other = templates::effective(&db, None, "convocation_suivi_spip", "reminder", "fr")
            .await
            .unwrap()
            .unwrap();
        assert!(
            other.organisation_id.is_none(),
            "other organisations keep the national text"
        );
        // Saving again updates in place.
        let again = templates::save(
            &db,
            &sys,
            Some(&org.id),
            "*",
            "reminder",
            "fr",
            None,
            "SPIP 92 : {rdv.date}.",
        )
        .await
        .unwrap();
        assert_eq!(again.id, saved.id);
        templates::delete_override(&db, &sys, &saved.id)
            .await
            .unwrap();
        let t = templates::effective(&db, Some(&org.id), "x", "reminder", "fr")
            .await
            .unwrap()
            .unwrap();
        assert!(t.organisation_id.is_none());
        assert!(matches!(
            templates::save(&db, &sys, None, "*", "birthday", "fr", None, "x").await,
            Err(templates::SaveError::Field(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn a_receipt_arriving_before_the_send_is_recorded_is_applied_when_it_is() {
    on_each_backend(|db| async move {
        let id = outbox::enqueue(db.pool(), &sms("+33644444444", "x", NOW))
            .await
            .unwrap();
        let claimed = outbox::claim_due(&db, NOW, 10, LEASE_SECS).await.unwrap();
        assert_eq!(claimed.len(), 1);
        // The provider delivered and called the webhook before the dispatcher committed its batch.
        let early = outbox::apply_delivery_report(
            &db,
            "brevo",
            "777",
            DeliveryStatus::Delivered,
            "delivered",
            NOW + 2,
        )
        .await;
        assert!(matches!(early, Err(StoreError::NotFound)));
        outbox::record_outcomes(
            &db,
            &[outbox::Outcome::Sent {
                id: id.clone(),
                provider: "brevo".into(),
                provider_message_id: Some("777".into()),
                subject: None,
                body: None,
            }],
            NOW + 3,
        )
        .await
        .unwrap();
        let m = state_of(&db, &id).await;
        assert_eq!(
            (m.state.as_str(), m.received_at),
            ("received", Some(NOW + 2))
        );
    })
    .await;
}

#[tokio::test]
async fn a_message_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    on_each_backend(|db| async move {
        let mut tx = db.begin().await.unwrap();
        outbox::enqueue(&mut *tx, &sms("+33655555555", "x", NOW))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert!(outbox::count_by_state(&db).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_worker_sends_due_messages_and_stops_on_shutdown() {
    let server = ProviderServer::start().await;
    let ch = Arc::new(brevo_channels(&server));
    on_each_backend(|db| {
        let ch = ch.clone();
        async move {
            let id = outbox::enqueue(db.pool(), &sms("+33666666666", "x", store::now()))
                .await
                .unwrap();
            let (stop, shutdown) = tokio::sync::watch::channel(false);
            let worker = tokio::spawn(messaging::run_worker(
                db.clone(),
                ch,
                std::time::Duration::from_millis(20),
                shutdown,
            ));
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while state_of(&db, &id).await.state != "sent" {
                assert!(std::time::Instant::now() < deadline, "sent by the worker");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            stop.send(true).unwrap();
            tokio::time::timeout(std::time::Duration::from_secs(5), worker)
                .await
                .expect("the worker stops on shutdown")
                .unwrap();
        }
    })
    .await;
}

/// The worker process of the SIGKILL test: this same test binary, started again by the parent with the database
/// and the provider in its environment.
#[tokio::test]
#[ignore = "child process of a_worker_process_killed_with_sigkill_mid_batch_loses_nothing"]
async fn child_worker_process() {
    let (Ok(url), Ok(base)) = (
        std::env::var("PASSERELLE_CHILD_DB"),
        std::env::var("PASSERELLE_CHILD_PROVIDER"),
    ) else {
        return;
    };
    let db = Db::connect(&url).await.unwrap();
    let ch = Channels::new(
        EmailChannel::demo(),
        Box::new(Brevo::new(&base, "k", "MINJUSTICE")),
    );
    loop {
        dispatch_once(&db, &ch, store::now(), 50).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_killed_with_sigkill_mid_batch_loses_nothing() {
    let server = ProviderServer::start().await;
    server.state.delay_ms.store(100, Ordering::SeqCst);
    let mut backends = vec![TestDb::sqlite().await];
    backends.extend(TestDb::postgres().await);
    for t in backends {
        server.state.requests.lock().unwrap().clear();
        let start = server.count();
        let n = 200;
        let now = store::now();
        let mut tx = t.db.begin().await.unwrap();
        for i in 0..n {
            outbox::enqueue(&mut *tx, &sms(&format!("+3363{i:07}"), "x", now))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_worker_process",
                "--ignored",
                "--test-threads=1",
            ])
            .env("PASSERELLE_CHILD_DB", t.url())
            .env("PASSERELLE_CHILD_PROVIDER", &server.base_url)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while server.count() < start + 10 {
            assert!(
                std::time::Instant::now() < deadline,
                "the child worker sends"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        child.kill().await.unwrap(); // SIGKILL
        let in_flight_at_kill = server.count() - start;
        // Restarted once the dead worker's lease ran out.
        let ch = brevo_channels(&server);
        let later = store::now() + LEASE_SECS + 1;
        while dispatch_once(&t.db, &ch, later, 500).await.unwrap().claimed > 0 {}
        assert_eq!(
            outbox::count_by_state(&t.db).await.unwrap(),
            vec![("sent".to_string(), n as i64)]
        );
        let mut per_recipient: HashMap<String, usize> = HashMap::new();
        for r in server.requests() {
            *per_recipient
                .entry(r.json["recipient"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        assert_eq!(per_recipient.len(), n, "every message delivered");
        let duplicates: usize = per_recipient.values().map(|c| c - 1).sum();
        // At most one batch (50) was in flight; requests still arriving after the kill were already sent.
        assert!(
            duplicates <= 50,
            "{duplicates} duplicates, {in_flight_at_kill} reached before the kill"
        );
        t.cleanup().await;
    }
}
