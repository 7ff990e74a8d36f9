//! The person's own space ("Mon espace"): sign-in by one-time code, the person's sessions, their appointments
//! (confirm, ask for a change), their contacts and their contact details.
//!
//! A person is a principal of its own: nothing here takes a [`Scope`]; every function takes the `ppsmj_id` of the
//! signed-in person (from their session, never from a URL) and filters on it, so another person's appointment id
//! is simply `NotFound`. The agents' side of change requests (listing, refusing) does take the agent's scope.
//!
//! Codes: 6 digits, valid 10 minutes, 5 tries, at most 3 per identifier per hour and a per-IP limit. The browser
//! keeps a random flow token; the database keeps SHA-256(flow) and SHA-256(flow ":" code), never the code. An
//! identifier that matches nobody — or that must not sign in (a number shared by two active records, archived or
//! "refused to give a phone" records) — follows the same path, with a row whose code can never match and no
//! message sent, so the answer does not tell whether a number is known.

use domain::PhoneNumber;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::ppsmj::Language;
use super::{bind_all, history, ppsmj_visible, FieldErrors, MsjError, MsjResult};
use crate::outbox::{self, NewMessage};
use crate::{audit, Actor, Db, Result, Scope, StoreError, Tx};

/// How long a code stays valid.
pub const CODE_VALID_SECS: i64 = 10 * 60;
/// Wrong codes after which a code is dead.
pub const CODE_MAX_ATTEMPTS: i64 = 5;
/// Codes per identifier per hour.
pub const CODES_PER_HOUR: i64 = 3;
/// Code requests per IP address per hour (a hostel or an association may share one address).
pub const CODES_PER_IP_PER_HOUR: i64 = 30;
/// A person's session ends after 30 minutes without activity…
pub const SESSION_IDLE_SECS: i64 = 30 * 60;
/// …and 12 hours after sign-in whatever happens.
pub const SESSION_MAX_SECS: i64 = 12 * 3600;
/// Longest reason of a change request.
pub const REASON_MAX_CHARS: usize = 500;

/// What the person typed to sign in: a phone number (E.164) or an e-mail address (lower case).
#[derive(Clone, PartialEq, Eq)]
pub enum Identifier {
    Phone(String),
    Email(String),
}

impl std::fmt::Debug for Identifier {
    // Personal data: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identifier(..)")
    }
}

impl Identifier {
    /// A phone number in any usual form (06…, +33…, overseas) or an e-mail address; `None` if it is neither.
    pub fn parse(raw: &str) -> Option<Identifier> {
        let raw = raw.trim();
        if raw.contains('@') {
            return domain::Email::parse(raw)
                .ok()
                .map(|e| Identifier::Email(e.as_str().to_string()));
        }
        PhoneNumber::parse(raw)
            .ok()
            .map(|p| Identifier::Phone(p.as_e164().to_string()))
    }

    fn key_hash(&self) -> String {
        match self {
            Identifier::Phone(p) => crate::sha256_hex(&format!("tel:{p}")),
            Identifier::Email(e) => crate::sha256_hex(&format!("mail:{e}")),
        }
    }

    fn channel(&self) -> &'static str {
        match self {
            Identifier::Phone(_) => "sms",
            Identifier::Email(_) => "email",
        }
    }

    fn value(&self) -> &str {
        match self {
            Identifier::Phone(v) | Identifier::Email(v) => v,
        }
    }
}

/// The audit actor of a person acting in their space.
pub fn person_actor(ppsmj_id: &str, organisation_id: Option<&str>, ip: Option<&str>) -> Actor {
    Actor {
        user_id: None,
        label: format!("personne:{ppsmj_id}"),
        role: None,
        organisation_id: organisation_id.map(str::to_string),
        ip: ip.map(str::to_string),
    }
}

fn new_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

fn code_hash(flow: &str, code: &str) -> String {
    crate::sha256_hex(&format!("{flow}:{code}"))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The record an identifier may sign in to, if any: exactly one active record with that number (not marked
/// "refused to give a phone"), or exactly one active record with that e-mail.
async fn signin_target(tx: &mut Tx<'_>, ident: &Identifier) -> Result<Option<(String, String)>> {
    let rows = match ident {
        Identifier::Phone(p) => {
            sqlx::query(
                "SELECT id, organisation_id, refused_phone FROM ppsmj WHERE phone = $1 AND archived_at IS NULL",
            )
            .bind(p)
            .fetch_all(&mut **tx)
            .await?
        }
        Identifier::Email(e) => {
            sqlx::query(
                "SELECT id, organisation_id, 0 AS refused_phone FROM ppsmj WHERE LOWER(email) = $1 \
                 AND archived_at IS NULL",
            )
            .bind(e)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    if rows.len() != 1 || rows[0].get::<i64, _>("refused_phone") != 0 {
        return Ok(None);
    }
    Ok(Some((rows[0].get("id"), rows[0].get("organisation_id"))))
}

/// The answer to a code request: the same for known and unknown identifiers.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeRequest {
    /// A code row exists for this flow token (a message went out only if the identifier may sign in).
    Started { flow_token: String },
    /// Too many codes for this identifier or this address in the last hour.
    TooMany,
}

fn sms_code_text(code: &str) -> String {
    // GSM-7 only (no accents outside the GSM alphabet, no curly quotes): one SMS part.
    format!(
        "Mon Suivi Justice : votre code est {code}. Il est valable 10 minutes. Ne le donnez a personne."
    )
}

async fn enqueue_code(
    tx: &mut Tx<'_>,
    channel: &str,
    recipient: &str,
    organisation_id: &str,
    code: &str,
    row_id: &str,
    now: i64,
) -> Result<()> {
    let (subject, body) = if channel == "sms" {
        (None, sms_code_text(code))
    } else {
        (
            Some("Votre code Mon Suivi Justice".to_string()),
            format!(
                "Bonjour,\n\nVotre code pour Mon Suivi Justice est : {code}\n\nIl est valable 10 minutes. Ne le donnez à personne.\nSi vous n'avez rien demandé, ignorez ce message."
            ),
        )
    };
    outbox::enqueue(
        &mut **tx,
        &NewMessage {
            channel: channel.into(),
            kind: "space_code".into(),
            organisation_id: Some(organisation_id.into()),
            recipient: recipient.into(),
            subject,
            body,
            due_at: now,
            related_type: Some("person_code".into()),
            related_id: Some(row_id.into()),
        },
    )
    .await?;
    Ok(())
}

/// Starts a sign-in: rate limits, then a code row and (only for a record that may sign in) the message.
pub async fn request_signin_code(
    db: &Db,
    ident: &Identifier,
    ip: Option<&str>,
    now: i64,
) -> Result<CodeRequest> {
    let key = ident.key_hash();
    if let Some(ip) = ip {
        if !crate::ratelimit::hit(
            db,
            &format!("space-ip:{ip}"),
            3600,
            CODES_PER_IP_PER_HOUR,
            now,
        )
        .await?
        {
            return Ok(CodeRequest::TooMany);
        }
    }
    if !crate::ratelimit::hit(db, &format!("space-code:{key}"), 3600, CODES_PER_HOUR, now).await? {
        return Ok(CodeRequest::TooMany);
    }
    let flow = crate::random_token();
    let code = new_code();
    let mut tx = db.begin().await?;
    let target = signin_target(&mut tx, ident).await?;
    let id = crate::new_id();
    // Unknown identifier: a hash no code can produce (the flow token is unrelated to it).
    let stored_hash = match &target {
        Some(_) => code_hash(&flow, &code),
        None => crate::sha256_hex(&crate::random_token()),
    };
    sqlx::query(
        "INSERT INTO person_codes (id, flow_hash, purpose, ppsmj_id, identifier_hash, code_hash, channel, \
         attempts, expires_at, created_at) VALUES ($1, $2, 'signin', $3, $4, $5, $6, 0, $7, $8)",
    )
    .bind(&id)
    .bind(crate::sha256_hex(&flow))
    .bind(target.as_ref().map(|t| t.0.clone()))
    .bind(&key)
    .bind(&stored_hash)
    .bind(ident.channel())
    .bind(now + CODE_VALID_SECS)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if let Some((ppsmj_id, org)) = &target {
        enqueue_code(
            &mut tx,
            ident.channel(),
            ident.value(),
            org,
            &code,
            &id,
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            &person_actor(ppsmj_id, Some(org), ip),
            "person.code_sent",
            "ppsmj",
            Some(ppsmj_id),
            Some(serde_json::json!({ "channel": ident.channel(), "purpose": "signin" })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(CodeRequest::Started { flow_token: flow })
}

/// The outcome of a typed code.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right code: the record it signs in to (sign-in) or the record whose contact changed (contact).
    Valid {
        ppsmj_id: String,
    },
    /// Wrong code; tries left.
    Wrong {
        left: i64,
    },
    /// Five wrong tries, or already used: a new code is needed.
    Dead,
    Expired,
    /// No such flow (cookie lost or forged).
    Unknown,
}

struct CodeRow {
    id: String,
    ppsmj_id: Option<String>,
    code_hash: String,
    channel: String,
    new_value: Option<String>,
    attempts: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

async fn check_code(
    tx: &mut Tx<'_>,
    purpose: &str,
    flow: &str,
    code: &str,
    now: i64,
) -> Result<(CodeCheck, Option<CodeRow>)> {
    let row = sqlx::query(
        "SELECT id, ppsmj_id, code_hash, channel, new_value, attempts, expires_at, used_at FROM person_codes \
         WHERE flow_hash = $1 AND purpose = $2",
    )
    .bind(crate::sha256_hex(flow))
    .bind(purpose)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(r) = row else {
        return Ok((CodeCheck::Unknown, None));
    };
    let c = CodeRow {
        id: r.get("id"),
        ppsmj_id: r.get("ppsmj_id"),
        code_hash: r.get("code_hash"),
        channel: r.get("channel"),
        new_value: r.get("new_value"),
        attempts: r.get("attempts"),
        expires_at: r.get("expires_at"),
        used_at: r.get("used_at"),
    };
    if c.used_at.is_some() || c.attempts >= CODE_MAX_ATTEMPTS {
        return Ok((CodeCheck::Dead, None));
    }
    if c.expires_at <= now {
        return Ok((CodeCheck::Expired, None));
    }
    // Counting the try first (and only while tries are left) makes concurrent guesses share the five tries.
    let counted = sqlx::query(
        "UPDATE person_codes SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 AND used_at IS NULL",
    )
    .bind(&c.id)
    .bind(CODE_MAX_ATTEMPTS)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if counted == 0 {
        return Ok((CodeCheck::Dead, None));
    }
    let right = constant_time_eq(&code_hash(flow, code), &c.code_hash);
    match &c.ppsmj_id {
        Some(p) if right => {
            sqlx::query("UPDATE person_codes SET used_at = $2 WHERE id = $1")
                .bind(&c.id)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            Ok((
                CodeCheck::Valid {
                    ppsmj_id: p.clone(),
                },
                Some(c),
            ))
        }
        _ => {
            let left = CODE_MAX_ATTEMPTS - (c.attempts + 1);
            Ok((
                if left <= 0 {
                    CodeCheck::Dead
                } else {
                    CodeCheck::Wrong { left }
                },
                None,
            ))
        }
    }
}

/// Checks a sign-in code. On success the caller opens a person session.
pub async fn verify_signin_code(
    db: &Db,
    flow: &str,
    code: &str,
    ip: Option<&str>,
    now: i64,
) -> Result<CodeCheck> {
    let mut tx = db.begin().await?;
    let (check, _) = check_code(&mut tx, "signin", flow, code, now).await?;
    if let CodeCheck::Valid { ppsmj_id } = &check {
        // The record may have been archived since the code left.
        let org: Option<String> =
            sqlx::query("SELECT organisation_id FROM ppsmj WHERE id = $1 AND archived_at IS NULL")
                .bind(ppsmj_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.get(0));
        let Some(org) = org else {
            tx.commit().await?;
            return Ok(CodeCheck::Dead);
        };
        audit::record(
            &mut *tx,
            &person_actor(ppsmj_id, Some(&org), ip),
            "person.signin",
            "ppsmj",
            Some(ppsmj_id),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(check)
}

/// A person's live session.
#[derive(Clone, Debug)]
pub struct PersonSession {
    pub ppsmj_id: String,
    pub organisation_id: String,
    pub csrf_token: String,
    pub created_at: i64,
}

/// Opens a person session; returns the raw token for the cookie.
pub async fn create_session(
    db: &Db,
    ppsmj_id: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
    now: i64,
) -> Result<String> {
    let token = crate::random_token();
    sqlx::query(
        "INSERT INTO person_sessions (id_hash, ppsmj_id, csrf_token, created_at, last_seen_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $4, $5, $6)",
    )
    .bind(crate::sha256_hex(&token))
    .bind(ppsmj_id)
    .bind(crate::random_token())
    .bind(now)
    .bind(ip)
    .bind(user_agent.map(|s| s.chars().take(300).collect::<String>()))
    .execute(db.pool())
    .await?;
    Ok(token)
}

/// The live session behind a cookie: idle for less than 30 minutes, opened less than 12 hours ago, and the record
/// still active. Anything else is deleted and `None`.
pub async fn find_session(db: &Db, token: &str, now: i64) -> Result<Option<PersonSession>> {
    let hash = crate::sha256_hex(token);
    let row = sqlx::query(
        "SELECT s.ppsmj_id, s.csrf_token, s.created_at, s.last_seen_at, p.organisation_id, p.archived_at \
         FROM person_sessions s JOIN ppsmj p ON p.id = s.ppsmj_id WHERE s.id_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let created_at: i64 = r.get("created_at");
    let last_seen_at: i64 = r.get("last_seen_at");
    let archived: Option<i64> = r.get("archived_at");
    if last_seen_at + SESSION_IDLE_SECS < now
        || created_at + SESSION_MAX_SECS < now
        || archived.is_some()
    {
        delete_session(db, token).await?;
        return Ok(None);
    }
    if now - last_seen_at >= 60 {
        sqlx::query("UPDATE person_sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(&hash)
            .bind(now)
            .execute(db.pool())
            .await?;
    }
    Ok(Some(PersonSession {
        ppsmj_id: r.get("ppsmj_id"),
        organisation_id: r.get("organisation_id"),
        csrf_token: r.get("csrf_token"),
        created_at,
    }))
}

pub async fn delete_session(db: &Db, token: &str) -> Result<()> {
    sqlx::query("DELETE FROM person_sessions WHERE id_hash = $1")
        .bind(crate::sha256_hex(token))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Records that the person opened a page of their space (reads of a record are audited).
pub async fn audit_read(db: &Db, s: &PersonSession, ip: Option<&str>, page: &str) -> Result<()> {
    audit::record(
        db.pool(),
        &person_actor(&s.ppsmj_id, Some(&s.organisation_id), ip),
        "person.read",
        "ppsmj",
        Some(&s.ppsmj_id),
        Some(serde_json::json!({ "page": page })),
    )
    .await
}

/// What the person sees of their own record.
#[derive(Clone)]
pub struct Me {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub language: Language,
    pub email_reminders: bool,
    pub organisation_id: String,
}

impl std::fmt::Debug for Me {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Me")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

pub async fn me(db: &Db, ppsmj_id: &str) -> Result<Me> {
    let r = sqlx::query(
        "SELECT id, first_name, last_name, phone, email, language, email_reminders, organisation_id FROM ppsmj \
         WHERE id = $1 AND archived_at IS NULL",
    )
    .bind(ppsmj_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(Me {
        id: r.get("id"),
        first_name: r.get("first_name"),
        last_name: r.get("last_name"),
        phone: r.get("phone"),
        email: r.get("email"),
        language: Language::parse(&r.get::<String, _>("language")).unwrap_or_default(),
        email_reminders: crate::flag(&r, "email_reminders"),
        organisation_id: r.get("organisation_id"),
    })
}

/// Whether e-mail reminders are on for a record (the message renderer asks at send time).
pub async fn email_reminders_on(db: &Db, ppsmj_id: &str) -> Result<bool> {
    let r = sqlx::query("SELECT email_reminders FROM ppsmj WHERE id = $1")
        .bind(ppsmj_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(r.is_none_or(|r| crate::flag(&r, "email_reminders")))
}

/// A change request (or confirmation) and its answer.
#[derive(Clone, Debug)]
pub struct Request {
    pub id: String,
    pub appointment_id: String,
    pub ppsmj_id: String,
    pub kind: String,
    pub reason: Option<String>,
    /// `open`, `refused`, or `done` (the agent rebooked, or the appointment changed otherwise).
    pub state: String,
    pub answer: Option<String>,
    pub answered_at: Option<i64>,
    pub created_at: i64,
}

const REQUEST_COLUMNS: &str = "r.id, r.appointment_id, r.ppsmj_id, r.kind, r.reason, \
    CASE WHEN r.state = 'open' AND a.state <> 'booked' THEN 'done' ELSE r.state END AS state, r.answer, \
    r.answered_at, r.created_at";

fn request_from_row(r: &AnyRow) -> Request {
    Request {
        id: r.get("id"),
        appointment_id: r.get("appointment_id"),
        ppsmj_id: r.get("ppsmj_id"),
        kind: r.get("kind"),
        reason: r.get("reason"),
        state: r.get("state"),
        answer: r.get("answer"),
        answered_at: r.get("answered_at"),
        created_at: r.get("created_at"),
    }
}

/// An appointment as the person sees it.
#[derive(Clone, Debug)]
pub struct MyAppointment {
    pub id: String,
    pub starts_at: i64,
    pub state: domain::AppointmentState,
    pub type_id: String,
    pub type_label: String,
    pub place_name: String,
    pub place_address: String,
    pub place_phone: Option<String>,
    pub place_email: Option<String>,
    pub accessibility: Option<String>,
    pub documents_to_bring: Option<String>,
    pub preparation_url: Option<String>,
    pub organisation_id: String,
    pub organisation_name: String,
    pub organisation_phone: Option<String>,
    pub time_zone: chrono_tz::Tz,
    /// The referent's name when the appointment is in the referent's organisation.
    pub meets: Option<String>,
    pub confirmed: bool,
    /// The latest change request, if any.
    pub change: Option<Request>,
    /// The appointment that replaced this one (rebooking).
    pub replaced_by: Option<String>,
}

const MY_COLUMNS: &str = "a.id, a.starts_at, a.state, a.appointment_type_id, t.label AS type_label, \
    pl.name AS place_name, pl.address AS place_address, pl.phone AS place_phone, pl.email AS place_email, \
    pl.accessibility, pl.documents_to_bring, pl.preparation_url, a.organisation_id, o.name AS org_name, \
    o.phone AS org_phone, o.time_zone, \
    CASE WHEN u.organisation_id = a.organisation_id THEN u.first_name || ' ' || u.last_name ELSE NULL END AS meets, \
    (SELECT COUNT(*) FROM appointment_requests rc WHERE rc.appointment_id = a.id AND rc.kind = 'confirm') AS confirmations, \
    (SELECT n.id FROM appointments n WHERE n.previous_appointment_id = a.id ORDER BY n.created_at DESC LIMIT 1) AS replaced_by";

const MY_FROM: &str = "FROM appointments a JOIN ppsmj p ON p.id = a.ppsmj_id \
    JOIN appointment_types t ON t.id = a.appointment_type_id JOIN places pl ON pl.id = a.place_id \
    JOIN organisations o ON o.id = a.organisation_id LEFT JOIN users u ON u.id = p.referent_user_id";

fn my_from_row(r: &AnyRow) -> Result<MyAppointment> {
    let state: String = r.get("state");
    Ok(MyAppointment {
        id: r.get("id"),
        starts_at: r.get("starts_at"),
        state: state
            .parse()
            .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?,
        type_id: r.get("appointment_type_id"),
        type_label: r.get("type_label"),
        place_name: r.get("place_name"),
        place_address: r.get("place_address"),
        place_phone: r.get("place_phone"),
        place_email: r.get("place_email"),
        accessibility: r.get("accessibility"),
        documents_to_bring: r.get("documents_to_bring"),
        preparation_url: r.get("preparation_url"),
        organisation_id: r.get("organisation_id"),
        organisation_name: r.get("org_name"),
        organisation_phone: r.get("org_phone"),
        time_zone: super::parse_tz(&r.get::<String, _>("time_zone"))?,
        meets: r.get("meets"),
        confirmed: r.get::<i64, _>("confirmations") > 0,
        change: None,
        replaced_by: r.get("replaced_by"),
    })
}

async fn attach_changes(db: &Db, ppsmj_id: &str, list: &mut [MyAppointment]) -> Result<()> {
    let rows = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM appointment_requests r JOIN appointments a ON a.id = r.appointment_id \
         WHERE r.ppsmj_id = $1 AND r.kind = 'change' ORDER BY r.created_at, r.id"
    ))
    .bind(ppsmj_id)
    .fetch_all(db.pool())
    .await?;
    for r in rows.iter().map(request_from_row) {
        if let Some(a) = list.iter_mut().find(|a| a.id == r.appointment_id) {
            a.change = Some(r);
        }
    }
    Ok(())
}

/// The person's appointments, soonest first.
pub async fn my_appointments(db: &Db, ppsmj_id: &str) -> Result<Vec<MyAppointment>> {
    let rows = sqlx::query(&format!(
        "SELECT {MY_COLUMNS} {MY_FROM} WHERE a.ppsmj_id = $1 ORDER BY a.starts_at, a.id"
    ))
    .bind(ppsmj_id)
    .fetch_all(db.pool())
    .await?;
    let mut list = rows.iter().map(my_from_row).collect::<Result<Vec<_>>>()?;
    attach_changes(db, ppsmj_id, &mut list).await?;
    Ok(list)
}

/// One of the person's appointments; another person's is `NotFound`.
pub async fn my_appointment(db: &Db, ppsmj_id: &str, id: &str) -> Result<MyAppointment> {
    let row = sqlx::query(&format!(
        "SELECT {MY_COLUMNS} {MY_FROM} WHERE a.id = $1 AND a.ppsmj_id = $2"
    ))
    .bind(id)
    .bind(ppsmj_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(StoreError::NotFound)?;
    let mut list = vec![my_from_row(&row)?];
    attach_changes(db, ppsmj_id, &mut list).await?;
    Ok(list.remove(0))
}

async fn upcoming_booked(
    tx: &mut Tx<'_>,
    ppsmj_id: &str,
    id: &str,
    now: i64,
) -> MsjResult<(String, i64)> {
    let r = sqlx::query(
        "SELECT organisation_id, state, starts_at FROM appointments WHERE id = $1 AND ppsmj_id = $2",
    )
    .bind(id)
    .bind(ppsmj_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    let state: String = r.get("state");
    let starts_at: i64 = r.get("starts_at");
    if state != "booked" || starts_at <= now {
        return Err(MsjError::Rule("not_upcoming".into()));
    }
    Ok((r.get("organisation_id"), starts_at))
}

/// "Je viendrai": recorded once per appointment (a second click changes nothing).
pub async fn confirm(
    db: &Db,
    ppsmj_id: &str,
    id: &str,
    ip: Option<&str>,
    now: i64,
) -> MsjResult<()> {
    let mut tx = db.begin().await?;
    let (org, _) = upcoming_booked(&mut tx, ppsmj_id, id, now).await?;
    let exists = sqlx::query(
        "SELECT id FROM appointment_requests WHERE appointment_id = $1 AND kind = 'confirm'",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if exists.is_none() {
        sqlx::query(
            "INSERT INTO appointment_requests (id, appointment_id, ppsmj_id, organisation_id, kind, state, created_at) \
             VALUES ($1, $2, $3, $4, 'confirm', 'done', $5)",
        )
        .bind(crate::new_id())
        .bind(id)
        .bind(ppsmj_id)
        .bind(&org)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let actor = person_actor(ppsmj_id, Some(&org), ip);
        history(
            &mut *tx,
            &actor,
            ppsmj_id,
            Some(id),
            "appointment.person_confirm",
            None,
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            &actor,
            "appointment.person_confirm",
            "appointment",
            Some(id),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// "Je demande un changement": one open request at a time per appointment. The reason is required.
pub async fn request_change(
    db: &Db,
    ppsmj_id: &str,
    id: &str,
    reason: &str,
    ip: Option<&str>,
    now: i64,
) -> MsjResult<()> {
    let reason = reason.trim();
    let mut errors = FieldErrors::default();
    if reason.is_empty() {
        errors.push("reason", "reason_required");
    } else if reason.chars().count() > REASON_MAX_CHARS {
        errors.push("reason", "reason_too_long");
    }
    if !errors.is_empty() {
        return Err(MsjError::Invalid(errors));
    }
    let mut tx = db.begin().await?;
    let (org, _) = upcoming_booked(&mut tx, ppsmj_id, id, now).await?;
    let open = sqlx::query(
        "SELECT id FROM appointment_requests WHERE appointment_id = $1 AND kind = 'change' AND state = 'open'",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if open.is_some() {
        return Err(MsjError::Rule("already_open".into()));
    }
    let rid = crate::new_id();
    sqlx::query(
        "INSERT INTO appointment_requests (id, appointment_id, ppsmj_id, organisation_id, kind, reason, state, \
         created_at) VALUES ($1, $2, $3, $4, 'change', $5, 'open', $6)",
    )
    .bind(&rid)
    .bind(id)
    .bind(ppsmj_id)
    .bind(&org)
    .bind(reason)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let actor = person_actor(ppsmj_id, Some(&org), ip);
    // The reason may be personal: in the history (deleted with the record), not in the audit trail.
    history(
        &mut *tx,
        &actor,
        ppsmj_id,
        Some(id),
        "appointment.person_change_request",
        Some(serde_json::json!({ "reason": reason })),
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &actor,
        "appointment.person_change_request",
        "appointment",
        Some(id),
        Some(serde_json::json!({ "request_id": rid })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A change request as an agent sees it.
#[derive(Clone, Debug)]
pub struct AgentRequest {
    pub request: Request,
    pub person_name: String,
    pub appointment_starts_at: i64,
    pub appointment_type_id: String,
    pub appointment_type_label: String,
    pub organisation_id: String,
    pub time_zone: String,
}

fn agent_request_from_row(r: &AnyRow) -> AgentRequest {
    AgentRequest {
        request: request_from_row(r),
        person_name: format!(
            "{} {}",
            r.get::<String, _>("last_name").to_uppercase(),
            r.get::<String, _>("first_name")
        ),
        appointment_starts_at: r.get("starts_at"),
        appointment_type_id: r.get("appointment_type_id"),
        appointment_type_label: r.get("type_label"),
        organisation_id: r.get("organisation_id"),
        time_zone: r.get("time_zone"),
    }
}

const AGENT_SELECT: &str = "SELECT r.id, r.appointment_id, r.ppsmj_id, r.kind, r.reason, \
    CASE WHEN r.state = 'open' AND a.state <> 'booked' THEN 'done' ELSE r.state END AS state, r.answer, \
    r.answered_at, r.created_at, p.last_name, p.first_name, a.starts_at, a.appointment_type_id, \
    t.label AS type_label, a.organisation_id, o.time_zone FROM appointment_requests r \
    JOIN appointments a ON a.id = r.appointment_id JOIN ppsmj p ON p.id = r.ppsmj_id \
    JOIN appointment_types t ON t.id = a.appointment_type_id JOIN organisations o ON o.id = a.organisation_id";

/// Confirmations and change requests of a record the scope sees, newest first.
pub async fn requests_for_ppsmj(
    db: &Db,
    scope: &Scope,
    ppsmj_id: &str,
) -> Result<Vec<AgentRequest>> {
    let (cond, binds) = ppsmj_visible(scope, 2);
    let sql =
        format!("{AGENT_SELECT} WHERE r.ppsmj_id = $1 AND {cond} ORDER BY r.created_at DESC, r.id");
    let rows = bind_all(sqlx::query(&sql).bind(ppsmj_id), &binds)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.iter().map(agent_request_from_row).collect())
}

/// Open change requests on appointments of organisations the scope sees (the work queue), oldest first.
pub async fn open_change_requests(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<AgentRequest>> {
    let (cond, binds) = scope.visible_filter("a.organisation_id", 1);
    let sql = format!(
        "{AGENT_SELECT} WHERE r.kind = 'change' AND r.state = 'open' AND a.state = 'booked' AND {cond} \
         ORDER BY r.created_at, r.id LIMIT {}",
        limit.clamp(1, 1000)
    );
    let rows = bind_all(sqlx::query(&sql), &binds)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.iter().map(agent_request_from_row).collect())
}

/// The agent refuses a change request with a message; the person is told by SMS and e-mail and sees the answer
/// in their space.
pub async fn refuse_change(
    db: &Db,
    scope: &Scope,
    request_id: &str,
    message: &str,
    now: i64,
) -> MsjResult<()> {
    let message = message.trim();
    let mut tx = db.begin().await?;
    let (cond, binds) = scope.visible_filter("a.organisation_id", 2);
    let sql = format!(
        "SELECT r.ppsmj_id, r.appointment_id, a.organisation_id FROM appointment_requests r \
         JOIN appointments a ON a.id = r.appointment_id WHERE r.id = $1 AND r.kind = 'change' AND {cond}"
    );
    let row = bind_all(sqlx::query(&sql).bind(request_id), &binds)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let ppsmj_id: String = row.get("ppsmj_id");
    let appointment_id: String = row.get("appointment_id");
    let org: String = row.get("organisation_id");
    // Rights first (answering is working on the person's file), then the message.
    if !scope.allows(crate::Action::WorkOnFile, &org) {
        return Err(MsjError::Forbidden(
            "Votre rôle ne permet pas de répondre aux demandes de ce service.".into(),
        ));
    }
    if message.is_empty() || message.chars().count() > REASON_MAX_CHARS {
        let mut errors = FieldErrors::default();
        errors.push(
            "answer",
            if message.is_empty() {
                "Écrivez un message pour expliquer le refus à la personne."
            } else {
                "Votre message est trop long (500 caractères au plus)."
            },
        );
        return Err(MsjError::Invalid(errors));
    }
    let changed = sqlx::query(
        "UPDATE appointment_requests SET state = 'refused', answer = $2, answered_by_label = $3, answered_at = $4 \
         WHERE id = $1 AND state = 'open'",
    )
    .bind(request_id)
    .bind(message)
    .bind(&scope.actor.label)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(MsjError::Rule(
            "Cette demande a déjà reçu une réponse.".into(),
        ));
    }
    history(
        &mut *tx,
        &scope.actor,
        &ppsmj_id,
        Some(&appointment_id),
        "appointment.change_refused",
        Some(serde_json::json!({ "answer": message })),
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "appointment.change_refused",
        "appointment",
        Some(&appointment_id),
        Some(serde_json::json!({ "request_id": request_id })),
    )
    .await?;
    let p = sqlx::query(
        "SELECT phone, phone_mobile, no_phone, refused_phone, sms_opt_out_at, email FROM ppsmj WHERE id = $1",
    )
    .bind(&ppsmj_id)
    .fetch_one(&mut *tx)
    .await?;
    let phone: Option<String> = p.get("phone");
    let sms_ok = phone.is_some()
        && crate::flag(&p, "phone_mobile")
        && !crate::flag(&p, "no_phone")
        && !crate::flag(&p, "refused_phone")
        && p.get::<Option<i64>, _>("sms_opt_out_at").is_none();
    let email: Option<String> = p.get("email");
    let text = "Mon Suivi Justice : votre demande de changement de rendez-vous a recu une reponse. Consultez votre espace ou appelez votre SPIP.";
    let mut targets = vec![];
    if let (true, Some(phone)) = (sms_ok, phone) {
        targets.push(("sms", phone, None));
    }
    if let Some(email) = email {
        targets.push((
            "email",
            email,
            Some("Réponse à votre demande de changement de rendez-vous".to_string()),
        ));
    }
    for (channel, recipient, subject) in targets {
        let body = if channel == "sms" {
            text.to_string()
        } else {
            format!(
                "Bonjour,\n\nVotre demande de changement de rendez-vous n'a pas pu être acceptée. Message de votre conseiller :\n\n{message}\n\nVotre rendez-vous est maintenu. Vous pouvez le voir dans votre espace Mon Suivi Justice."
            )
        };
        outbox::enqueue(
            &mut *tx,
            &NewMessage {
                channel: channel.into(),
                kind: "space_answer".into(),
                organisation_id: Some(org.clone()),
                recipient,
                subject,
                body,
                due_at: now,
                related_type: Some("appointment_request".into()),
                related_id: Some(request_id.into()),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Who follows the person, with how to reach them.
#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    pub kind: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Referent {
    pub name: String,
    pub email: String,
    pub organisation_name: String,
    pub organisation_phone: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Contacts {
    pub referent: Option<Referent>,
    pub services: Vec<Service>,
}

pub async fn contacts(db: &Db, ppsmj_id: &str) -> Result<Contacts> {
    let referent = sqlx::query(
        "SELECT u.first_name, u.last_name, u.email, o.name AS org_name, o.phone AS org_phone FROM ppsmj p \
         JOIN users u ON u.id = p.referent_user_id JOIN organisations o ON o.id = u.organisation_id \
         WHERE p.id = $1 AND u.active = 1",
    )
    .bind(ppsmj_id)
    .fetch_optional(db.pool())
    .await?
    .map(|r| Referent {
        name: format!(
            "{} {}",
            r.get::<String, _>("first_name"),
            r.get::<String, _>("last_name")
        ),
        email: r.get("email"),
        organisation_name: r.get("org_name"),
        organisation_phone: r.get("org_phone"),
    });
    let rows = sqlx::query(
        "SELECT o.name, o.kind, o.address, o.phone, o.email FROM ppsmj_organisations f \
         JOIN organisations o ON o.id = f.organisation_id WHERE f.ppsmj_id = $1 ORDER BY f.since, o.name",
    )
    .bind(ppsmj_id)
    .fetch_all(db.pool())
    .await?;
    Ok(Contacts {
        referent,
        services: rows
            .iter()
            .map(|r| Service {
                name: r.get("name"),
                kind: r.get("kind"),
                address: r.get("address"),
                phone: r.get("phone"),
                email: r.get("email"),
            })
            .collect(),
    })
}

/// Why a new contact detail cannot be used (keys the web layer translates).
#[derive(Debug, PartialEq, Eq)]
pub enum ContactRequest {
    Started {
        flow_token: String,
    },
    TooMany,
    /// The same as the current one.
    Unchanged,
    /// Another active record uses this number.
    Taken,
}

/// Starts a change of phone or e-mail: a code goes to the NEW number or address.
pub async fn request_contact_change(
    db: &Db,
    ppsmj_id: &str,
    ident: &Identifier,
    ip: Option<&str>,
    now: i64,
) -> Result<ContactRequest> {
    let current = me(db, ppsmj_id).await?;
    let unchanged = match ident {
        Identifier::Phone(p) => current.phone.as_deref() == Some(p),
        Identifier::Email(e) => current.email.as_deref() == Some(e),
    };
    if unchanged {
        return Ok(ContactRequest::Unchanged);
    }
    if let Identifier::Phone(p) = ident {
        let taken = sqlx::query(
            "SELECT id FROM ppsmj WHERE phone = $1 AND id <> $2 AND archived_at IS NULL",
        )
        .bind(p)
        .bind(ppsmj_id)
        .fetch_optional(db.pool())
        .await?;
        if taken.is_some() {
            return Ok(ContactRequest::Taken);
        }
    }
    if !crate::ratelimit::hit(
        db,
        &format!("space-contact:{ppsmj_id}"),
        3600,
        CODES_PER_HOUR,
        now,
    )
    .await?
    {
        return Ok(ContactRequest::TooMany);
    }
    let flow = crate::random_token();
    let code = new_code();
    let id = crate::new_id();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO person_codes (id, flow_hash, purpose, ppsmj_id, identifier_hash, code_hash, channel, new_value, \
         attempts, expires_at, created_at) VALUES ($1, $2, 'contact', $3, $4, $5, $6, $7, 0, $8, $9)",
    )
    .bind(&id)
    .bind(crate::sha256_hex(&flow))
    .bind(ppsmj_id)
    .bind(ident.key_hash())
    .bind(code_hash(&flow, &code))
    .bind(ident.channel())
    .bind(ident.value())
    .bind(now + CODE_VALID_SECS)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    enqueue_code(
        &mut tx,
        ident.channel(),
        ident.value(),
        &current.organisation_id,
        &code,
        &id,
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &person_actor(ppsmj_id, Some(&current.organisation_id), ip),
        "person.code_sent",
        "ppsmj",
        Some(ppsmj_id),
        Some(serde_json::json!({ "channel": ident.channel(), "purpose": "contact" })),
    )
    .await?;
    tx.commit().await?;
    Ok(ContactRequest::Started { flow_token: flow })
}

/// Checks the code sent to the new number or address and, if right, updates the record at once: messages not yet
/// sent to the old number or address are redirected to the new one (the renderer also refuses to send to a
/// recipient that is no longer the person's).
pub async fn verify_contact_change(
    db: &Db,
    ppsmj_id: &str,
    flow: &str,
    code: &str,
    ip: Option<&str>,
    now: i64,
) -> MsjResult<CodeCheck> {
    let mut tx = db.begin().await?;
    let (check, row) = check_code(&mut tx, "contact", flow, code, now).await?;
    let (CodeCheck::Valid { ppsmj_id: owner }, Some(row)) = (&check, row) else {
        tx.commit().await?;
        return Ok(check);
    };
    if owner != ppsmj_id {
        // A flow cookie of another person's session: nothing to change here.
        tx.rollback().await?;
        return Ok(CodeCheck::Unknown);
    }
    let new_value = row.new_value.clone().unwrap_or_default();
    let before = sqlx::query("SELECT phone, email, organisation_id FROM ppsmj WHERE id = $1")
        .bind(ppsmj_id)
        .fetch_one(&mut *tx)
        .await?;
    let org: String = before.get("organisation_id");
    let (field, old): (&str, Option<String>) = if row.channel == "sms" {
        let phone = PhoneNumber::parse(&new_value)
            .map_err(|_| MsjError::Rule("invalid stored phone".into()))?;
        let taken = sqlx::query(
            "SELECT id FROM ppsmj WHERE phone = $1 AND id <> $2 AND archived_at IS NULL",
        )
        .bind(phone.as_e164())
        .bind(ppsmj_id)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            tx.rollback().await?;
            return Ok(CodeCheck::Dead);
        }
        sqlx::query(
            "UPDATE ppsmj SET phone = $2, phone_key = $3, phone_mobile = $4, no_phone = 0, refused_phone = 0, \
             phone_shared = 0, sms_opt_out_at = NULL, updated_at = $5, last_activity_at = $5 WHERE id = $1",
        )
        .bind(ppsmj_id)
        .bind(phone.as_e164())
        .bind(phone.national_display().replace(' ', ""))
        .bind(i64::from(phone.is_mobile()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        ("phone", before.get("phone"))
    } else {
        sqlx::query(
            "UPDATE ppsmj SET email = $2, updated_at = $3, last_activity_at = $3 WHERE id = $1",
        )
        .bind(ppsmj_id)
        .bind(&new_value)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        ("email", before.get("email"))
    };
    if let Some(old) = old {
        sqlx::query(
            "UPDATE outbox SET recipient = $1, updated_at = $4 WHERE recipient = $2 AND channel = $3 \
             AND state IN ('programmed', 'created') AND related_type = 'appointment' \
             AND related_id IN (SELECT id FROM appointments WHERE ppsmj_id = $5)",
        )
        .bind(&new_value)
        .bind(&old)
        .bind(&row.channel)
        .bind(now)
        .bind(ppsmj_id)
        .execute(&mut *tx)
        .await?;
    }
    let actor = person_actor(ppsmj_id, Some(&org), ip);
    let details = serde_json::json!({ "changed": [field], "by": "person" });
    record_person_update(&mut tx, &actor, ppsmj_id, details, now).await?;
    tx.commit().await?;
    Ok(check)
}

/// Language of messages and e-mail reminders on/off.
pub async fn set_preferences(
    db: &Db,
    ppsmj_id: &str,
    language: Language,
    email_reminders: bool,
    ip: Option<&str>,
    now: i64,
) -> Result<()> {
    let before = me(db, ppsmj_id).await?;
    let mut changed = vec![];
    if before.language != language {
        changed.push("language");
    }
    if before.email_reminders != email_reminders {
        changed.push("email_reminders");
    }
    if changed.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE ppsmj SET language = $2, email_reminders = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(ppsmj_id)
    .bind(language.as_str())
    .bind(i64::from(email_reminders))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let actor = person_actor(ppsmj_id, Some(&before.organisation_id), ip);
    let details = serde_json::json!({ "changed": changed, "by": "person" });
    record_person_update(&mut tx, &actor, ppsmj_id, details, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A change the person made to their own record: a line in the record's history (seen by agents) and the same
/// event in the audit trail, in the caller's transaction.
async fn record_person_update(
    tx: &mut Tx<'_>,
    actor: &Actor,
    ppsmj_id: &str,
    details: serde_json::Value,
    now: i64,
) -> crate::Result<()> {
    history(
        &mut **tx,
        actor,
        ppsmj_id,
        None,
        "ppsmj.update",
        Some(details.clone()),
        now,
    )
    .await?;
    audit::record(
        &mut **tx,
        actor,
        "ppsmj.update",
        "ppsmj",
        Some(ppsmj_id),
        Some(details),
    )
    .await
}

/// How long the link of a summons SMS prefills the number.
pub const LINK_VALID_SECS: i64 = 180 * 86_400;

/// A new short opaque token (10 characters, ~59 bits) for the link to the space in an SMS.
pub async fn new_link_token(db: &Db, ppsmj_id: &str, now: i64) -> Result<String> {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    let token: String = (0..10)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    sqlx::query("INSERT INTO person_links (token_hash, ppsmj_id, created_at) VALUES ($1, $2, $3)")
        .bind(crate::sha256_hex(&token))
        .bind(ppsmj_id)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(token)
}

/// The number to prefill for a link token (E.164), if the token is recent and its record may sign in by phone.
pub async fn link_prefill(db: &Db, token: &str, now: i64) -> Result<Option<String>> {
    if token.is_empty() || token.len() > 16 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT p.phone FROM person_links l JOIN ppsmj p ON p.id = l.ppsmj_id WHERE l.token_hash = $1 \
         AND l.created_at > $2 AND p.archived_at IS NULL AND p.refused_phone = 0",
    )
    .bind(crate::sha256_hex(token))
    .bind(now - LINK_VALID_SECS)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(|r| r.get::<Option<String>, _>(0)))
}

/// Largest proof a person may send.
pub const DOCUMENT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// What a phone camera or a scanner produces; checked by extension, then by content (crates/files).
pub const DOCUMENT_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "pdf", "heic"];

/// A proof sent by the person about an appointment.
#[derive(Clone, Debug)]
pub struct Document {
    pub id: String,
    pub appointment_id: String,
    pub ppsmj_id: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub storage_key: String,
    /// `clean` or `not_scanned` (no antivirus configured, demo only).
    pub scan_status: String,
    pub seen_at: Option<i64>,
    pub seen_by_label: Option<String>,
    pub created_at: i64,
}

/// What the file store kept.
#[derive(Clone, Debug)]
pub struct NewDocument {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub scan_status: String,
}

const DOC_COLUMNS: &str =
    "d.id, d.appointment_id, d.ppsmj_id, d.filename, d.content_type, d.size_bytes, \
    d.storage_key, d.scan_status, d.seen_at, d.seen_by_label, d.created_at";

fn doc_from_row(r: &AnyRow) -> Document {
    Document {
        id: r.get("id"),
        appointment_id: r.get("appointment_id"),
        ppsmj_id: r.get("ppsmj_id"),
        filename: r.get("filename"),
        content_type: r.get("content_type"),
        size_bytes: r.get("size_bytes"),
        storage_key: r.get("storage_key"),
        scan_status: r.get("scan_status"),
        seen_at: r.get("seen_at"),
        seen_by_label: r.get("seen_by_label"),
        created_at: r.get("created_at"),
    }
}

/// The organisation of one of the person's appointments (`NotFound` for anyone else's): checked before a byte of
/// an upload is read.
pub async fn my_appointment_organisation(
    db: &Db,
    ppsmj_id: &str,
    appointment_id: &str,
) -> Result<String> {
    Ok(
        sqlx::query("SELECT organisation_id FROM appointments WHERE id = $1 AND ppsmj_id = $2")
            .bind(appointment_id)
            .bind(ppsmj_id)
            .fetch_optional(db.pool())
            .await?
            .ok_or(StoreError::NotFound)?
            .get(0),
    )
}

/// Records a proof already stored by the file store.
pub async fn add_document(
    db: &Db,
    ppsmj_id: &str,
    appointment_id: &str,
    d: &NewDocument,
    ip: Option<&str>,
    now: i64,
) -> Result<String> {
    let org = my_appointment_organisation(db, ppsmj_id, appointment_id).await?;
    let id = crate::new_id();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO appointment_documents (id, appointment_id, ppsmj_id, organisation_id, filename, content_type, \
         size_bytes, sha256, storage_key, scan_status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(appointment_id)
    .bind(ppsmj_id)
    .bind(&org)
    .bind(&d.filename)
    .bind(&d.content_type)
    .bind(d.size_bytes)
    .bind(&d.sha256)
    .bind(&d.storage_key)
    .bind(&d.scan_status)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let actor = person_actor(ppsmj_id, Some(&org), ip);
    history(
        &mut *tx,
        &actor,
        ppsmj_id,
        Some(appointment_id),
        "appointment.person_document",
        Some(serde_json::json!({ "document_id": id })),
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &actor,
        "appointment.person_document",
        "appointment",
        Some(appointment_id),
        Some(serde_json::json!({ "document_id": id, "size": d.size_bytes, "sha256": d.sha256 })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The proofs the person sent about one of their appointments, oldest first.
pub async fn my_documents(db: &Db, ppsmj_id: &str, appointment_id: &str) -> Result<Vec<Document>> {
    let rows = sqlx::query(&format!(
        "SELECT {DOC_COLUMNS} FROM appointment_documents d WHERE d.appointment_id = $1 AND d.ppsmj_id = $2 \
         ORDER BY d.created_at, d.id"
    ))
    .bind(appointment_id)
    .bind(ppsmj_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(doc_from_row).collect())
}

/// The proofs of an appointment the scope sees (agents), oldest first.
pub async fn documents_for_appointment(
    db: &Db,
    scope: &Scope,
    appointment_id: &str,
) -> Result<Vec<Document>> {
    let (cond, binds) = scope.visible_filter("d.organisation_id", 2);
    let sql = format!(
        "SELECT {DOC_COLUMNS} FROM appointment_documents d WHERE d.appointment_id = $1 AND {cond} \
         ORDER BY d.created_at, d.id"
    );
    let rows = bind_all(sqlx::query(&sql).bind(appointment_id), &binds)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.iter().map(doc_from_row).collect())
}

/// One proof, for an agent who sees its appointment's organisation; the read is audited.
pub async fn document_for_agent(db: &Db, scope: &Scope, id: &str) -> Result<Document> {
    let (cond, binds) = scope.visible_filter("d.organisation_id", 2);
    let sql =
        format!("SELECT {DOC_COLUMNS} FROM appointment_documents d WHERE d.id = $1 AND {cond}");
    let d = bind_all(sqlx::query(&sql).bind(id), &binds)
        .fetch_optional(db.pool())
        .await?
        .map(|r| doc_from_row(&r))
        .ok_or(StoreError::NotFound)?;
    audit::record(
        db.pool(),
        &scope.actor,
        "appointment_document.read",
        "appointment",
        Some(&d.appointment_id),
        Some(serde_json::json!({ "document_id": id })),
    )
    .await?;
    Ok(d)
}

/// The agent marks a proof "vu"; returns its appointment id.
pub async fn mark_document_seen(db: &Db, scope: &Scope, id: &str, now: i64) -> Result<String> {
    let (cond, binds) = scope.visible_filter("organisation_id", 4);
    let sql = format!(
        "UPDATE appointment_documents SET seen_at = $2, seen_by_label = $3 WHERE id = $1 AND seen_at IS NULL \
         AND {cond}"
    );
    let mut tx = db.begin().await?;
    let marked = bind_all(
        sqlx::query(&sql)
            .bind(id)
            .bind(now)
            .bind(&scope.actor.label),
        &binds,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let (cond, binds) = scope.visible_filter("organisation_id", 2);
    let sql = format!(
        "SELECT appointment_id, ppsmj_id FROM appointment_documents WHERE id = $1 AND {cond}"
    );
    let row = bind_all(sqlx::query(&sql).bind(id), &binds)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let appointment_id: String = row.get("appointment_id");
    let ppsmj_id: String = row.get("ppsmj_id");
    if marked == 0 {
        // Already seen: nothing to record again.
        tx.commit().await?;
        return Ok(appointment_id);
    }
    history(
        &mut *tx,
        &scope.actor,
        &ppsmj_id,
        Some(&appointment_id),
        "appointment.document_seen",
        Some(serde_json::json!({ "document_id": id })),
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "appointment.document_seen",
        "appointment",
        Some(&appointment_id),
        Some(serde_json::json!({ "document_id": id })),
    )
    .await?;
    tx.commit().await?;
    Ok(appointment_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_phones_in_any_form_or_emails() {
        assert_eq!(
            Identifier::parse("06 12 34 56 78"),
            Some(Identifier::Phone("+33612345678".into()))
        );
        assert_eq!(
            Identifier::parse("+33 6 12 34 56 78"),
            Some(Identifier::Phone("+33612345678".into()))
        );
        assert_eq!(
            Identifier::parse("0692 12 34 56"),
            Some(Identifier::Phone("+262692123456".into()))
        );
        assert_eq!(
            Identifier::parse(" Personne@Demo.Passerelle.fr "),
            Some(Identifier::Email("personne@demo.passerelle.fr".into()))
        );
        assert_eq!(Identifier::parse("bonjour"), None);
    }

    #[test]
    fn the_code_sms_is_short_and_gsm7() {
        let t = sms_code_text("123456");
        assert!(t.len() <= 160, "{}", t.len());
        assert!(t.is_ascii());
    }
}
