//! Loopback servers that speak the providers' protocols, for tests and the benchmark: an HTTP server answering
//! Brevo's and LINK Mobility's SMS APIs, and a minimal but real SMTP (RFC 5321) sink. They record what they get.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub api_key: Option<String>,
    pub authorization: Option<String>,
    pub json: Value,
}

#[derive(Default)]
pub struct ProviderState {
    pub requests: Mutex<Vec<Recorded>>,
    /// 0: answer success; else answer this HTTP status.
    pub fail_status: AtomicU16,
    /// Delay before answering, in milliseconds (to keep a batch in flight).
    pub delay_ms: AtomicU64,
    next_id: AtomicU64,
    /// When false, requests are counted but not kept (benchmark).
    pub keep: std::sync::atomic::AtomicBool,
    pub count: AtomicU64,
}

pub struct ProviderServer {
    pub base_url: String,
    pub state: Arc<ProviderState>,
}

impl ProviderServer {
    pub async fn start() -> ProviderServer {
        let state = Arc::new(ProviderState::default());
        state.keep.store(true, Ordering::SeqCst);
        state.next_id.store(1_511_882_900_000_000, Ordering::SeqCst);
        let app = Router::new()
            .route("/v3/transactionalSMS/sms", post(brevo))
            .route("/sms/send", post(linkmobility))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        ProviderServer {
            base_url: format!("http://{addr}"),
            state,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> u64 {
        self.state.count.load(Ordering::SeqCst)
    }
}

async fn record(
    state: &ProviderState,
    path: &str,
    headers: &HeaderMap,
    json: Value,
) -> Option<StatusCode> {
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    state.count.fetch_add(1, Ordering::SeqCst);
    if state.keep.load(Ordering::SeqCst) {
        let h = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        state.requests.lock().unwrap().push(Recorded {
            path: path.to_string(),
            api_key: h("api-key"),
            authorization: h("authorization"),
            json,
        });
    }
    match state.fail_status.load(Ordering::SeqCst) {
        0 => None,
        s => Some(StatusCode::from_u16(s).unwrap()),
    }
}

async fn brevo(
    State(state): State<Arc<ProviderState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if let Some(status) = record(&state, "/v3/transactionalSMS/sms", &headers, body).await {
        return (
            status,
            Json(json!({"code": "internal_error", "message": "boom"})),
        );
    }
    let id = state.next_id.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::CREATED,
        Json(
            json!({"reference": format!("ref{id}"), "messageId": id, "smsCount": 1, "usedCredits": 0.045, "remainingCredits": 1000.0}),
        ),
    )
}

async fn linkmobility(
    State(state): State<Arc<ProviderState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if let Some(status) = record(&state, "/sms/send", &headers, body).await {
        return (
            status,
            Json(json!({"resultCode": 1099, "description": "error"})),
        );
    }
    let id = state.next_id.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::OK,
        Json(json!({"messageId": format!("lm-{id}"), "resultCode": 1005, "description": "Queued"})),
    )
}

#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// A minimal SMTP server (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) that keeps each mail.
pub struct SmtpSink {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(socket, store).await;
                });
            }
        });
        SmtpSink { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn smtp_session(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Mail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write.write_all(b"250-sink.test greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n").await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = angle(&command[10..]);
            to.clear();
            write.write_all(b"250 2.1.0 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(angle(&command[8..]));
            write.write_all(b"250 2.1.5 OK\r\n").await?;
        } else if upper == "DATA" {
            if to.is_empty() {
                write.write_all(b"503 5.5.1 RCPT first\r\n").await?;
                continue;
            }
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(unstuffed);
            }
            store.lock().unwrap().push(Mail {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            write.write_all(b"250 2.0.0 queued\r\n").await?;
        } else if upper == "RSET" {
            to.clear();
            write.write_all(b"250 2.0.0 OK\r\n").await?;
        } else if upper == "NOOP" {
            write.write_all(b"250 2.0.0 OK\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            write
                .write_all(b"502 5.5.2 command not recognized\r\n")
                .await?;
        }
    }
}

fn angle(s: &str) -> String {
    let s = s.trim();
    let end = s.find('>').map(|i| i + 1).unwrap_or(s.len());
    s[..end]
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}
