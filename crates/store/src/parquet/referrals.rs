//! The referral: the administration's wizard (a draft saved at every step), submission (routing, tracking number,
//! acknowledgement, urgent alerts), and the parquet's side of the lifecycle (acknowledge, register, assign,
//! investigate, decide, transfer).
//!
//! Every change runs in one transaction with its audit event, its status event and the e-mails it causes
//! (outbox): either all land or none. Every status change is checked by `domain::referral_transition`.

use chrono::{Datelike, NaiveDate};
use domain::{referral_transition, InseeCode, NatinfCode, ReferralDecision, ReferralStatus, Siren};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::access::{ReferralAccess, Visibility};
use super::notices::{self, StatusNotice};
use super::routing::{self, RoutingProposal};
use super::{FieldError, FieldErrorKind as K, PResult, ParquetError, Side};
use crate::outbox::{self, NewMessage};
use crate::roles::{OrgKind, Role};
use crate::{audit, Actor, Db, Result, Scope, StoreError, Tx};

pub const MAX_DESCRIPTION: usize = 20_000;
pub const MAX_TEXT: usize = 2_000;
pub const MAX_NAME: usize = 200;
pub const MAX_REFERENCE: usize = 100;
pub const MAX_CASE_NUMBER: usize = 50;
pub const MAX_PLACES: usize = 50;
pub const MAX_PERSONS: usize = 200;
pub const MAX_OFFENCES: usize = 50;

/// Time zone of the tracking number's year and of "today" for date checks: the Ministry works in Paris time.
const TZ: chrono_tz::Tz = chrono_tz::Europe::Paris;

// ---------------------------------------------------------------------------------------------------------------
// Read models

#[derive(Clone, Debug)]
pub struct Referral {
    pub id: String,
    pub tracking_number: Option<String>,
    pub administration_id: String,
    pub administration_name: String,
    pub service_id: Option<String>,
    pub service_name: Option<String>,
    pub author_user_id: Option<String>,
    pub api_token_id: Option<String>,
    pub internal_reference: Option<String>,
    pub urgent: bool,
    pub urgency_reason: Option<String>,
    pub facts_description: String,
    pub facts_start: Option<NaiveDate>,
    pub facts_end: Option<NaiveDate>,
    pub status: ReferralStatus,
    pub parquet_id: Option<String>,
    pub parquet_name: Option<String>,
    pub proposed_parquet_id: Option<String>,
    pub routing_basis: Option<String>,
    pub routing_insee: Option<String>,
    pub override_reason: Option<String>,
    pub parquet_case_number: Option<String>,
    pub magistrate_user_id: Option<String>,
    pub decision: Option<ReferralDecision>,
    pub decision_text: Option<String>,
    pub hearing_date: Option<NaiveDate>,
    pub art40_declaration: bool,
    pub sent_at: Option<i64>,
    pub registered_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub last_status_change_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Referral {
    /// How long the parquet took to acknowledge an urgent referral (shown next to it).
    pub fn acknowledgement_delay_secs(&self) -> Option<i64> {
        Some(self.acknowledged_at? - self.sent_at?)
    }

    /// Urgent and not yet acknowledged: kept on top of the inbox.
    pub fn awaits_acknowledgement(&self) -> bool {
        self.urgent
            && self.acknowledged_at.is_none()
            && !self.status.is_final()
            && self.status != ReferralStatus::Draft
    }

    fn visibility(&self) -> Visibility<'_> {
        Visibility {
            administration_id: &self.administration_id,
            service_id: self.service_id.as_deref(),
            parquet_id: self.parquet_id.as_deref(),
            is_draft: self.status == ReferralStatus::Draft,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub insee: String,
    pub commune_name: String,
    pub address: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonKind {
    Natural,
    Legal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonRole {
    Suspect,
    Victim,
    Witness,
}

impl PersonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonKind::Natural => "natural",
            PersonKind::Legal => "legal",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "natural" => Some(PersonKind::Natural),
            "legal" => Some(PersonKind::Legal),
            _ => None,
        }
    }
}

impl PersonRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonRole::Suspect => "suspect",
            PersonRole::Victim => "victim",
            PersonRole::Witness => "witness",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            PersonRole::Suspect => "Mis en cause",
            PersonRole::Victim => "Victime",
            PersonRole::Witness => "Témoin",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "suspect" => Some(PersonRole::Suspect),
            "victim" => Some(PersonRole::Victim),
            "witness" => Some(PersonRole::Witness),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub kind: PersonKind,
    pub role: PersonRole,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub legal_name: Option<String>,
    pub siren: Option<String>,
    pub residence_insee: Option<String>,
    /// Name of the residence commune (from the communes table), when known.
    pub residence_name: Option<String>,
    /// Street line of the postal address (its commune is `residence_insee`).
    pub address: Option<String>,
}

impl std::fmt::Debug for Person {
    // Names and birth dates are personal data: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("kind", &self.kind)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offence {
    pub code: String,
    pub label: String,
    pub family: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEvent {
    pub from: Option<ReferralStatus>,
    pub to: ReferralStatus,
    pub parquet_id: Option<String>,
    pub by_user_id: Option<String>,
    pub by_label: String,
    pub at: i64,
    pub comment: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ReferralDetail {
    pub referral: Referral,
    pub places: Vec<Place>,
    pub persons: Vec<Person>,
    pub offences: Vec<Offence>,
    pub events: Vec<StatusEvent>,
}

const SELECT: &str = "SELECT r.id, r.tracking_number, r.administration_id, a.name AS administration_name, \
    r.service_id, s.name AS service_name, r.author_user_id, r.api_token_id, r.internal_reference, r.urgent, \
    r.urgency_reason, r.facts_description, r.facts_start, r.facts_end, r.status, r.parquet_id, \
    p.name AS parquet_name, r.proposed_parquet_id, r.routing_basis, r.routing_insee, r.override_reason, \
    r.parquet_case_number, r.magistrate_user_id, r.decision_details, r.decision_text, r.hearing_date, \
    r.art40_declaration, r.sent_at, r.registered_at, r.decided_at, r.acknowledged_at, r.last_status_change_at, \
    r.created_at, r.updated_at \
    FROM referrals r JOIN organisations a ON a.id = r.administration_id \
    LEFT JOIN organisations s ON s.id = r.service_id LEFT JOIN organisations p ON p.id = r.parquet_id";

fn decode_err(what: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(what.to_string().into()))
}

fn date_col(r: &AnyRow, col: &str) -> Option<NaiveDate> {
    r.get::<Option<String>, _>(col)
        .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
}

fn from_row(r: &AnyRow) -> Result<Referral> {
    let status: String = r.get("status");
    let decision = r
        .get::<Option<String>, _>("decision_details")
        .map(|d| serde_json::from_str::<ReferralDecision>(&d))
        .transpose()
        .map_err(|e| decode_err(&format!("decision_details: {e}")))?;
    Ok(Referral {
        id: r.get("id"),
        tracking_number: r.get("tracking_number"),
        administration_id: r.get("administration_id"),
        administration_name: r.get("administration_name"),
        service_id: r.get("service_id"),
        service_name: r.get("service_name"),
        author_user_id: r.get("author_user_id"),
        api_token_id: r.get("api_token_id"),
        internal_reference: r.get("internal_reference"),
        urgent: crate::flag(r, "urgent"),
        urgency_reason: r.get("urgency_reason"),
        facts_description: r.get("facts_description"),
        facts_start: date_col(r, "facts_start"),
        facts_end: date_col(r, "facts_end"),
        status: status
            .parse()
            .map_err(|_| decode_err(&format!("unknown referral status {status}")))?,
        parquet_id: r.get("parquet_id"),
        parquet_name: r.get("parquet_name"),
        proposed_parquet_id: r.get("proposed_parquet_id"),
        routing_basis: r.get("routing_basis"),
        routing_insee: r.get("routing_insee"),
        override_reason: r.get("override_reason"),
        parquet_case_number: r.get("parquet_case_number"),
        magistrate_user_id: r.get("magistrate_user_id"),
        decision,
        decision_text: r.get("decision_text"),
        hearing_date: date_col(r, "hearing_date"),
        art40_declaration: crate::flag(r, "art40_declaration"),
        sent_at: r.get("sent_at"),
        registered_at: r.get("registered_at"),
        decided_at: r.get("decided_at"),
        acknowledged_at: r.get("acknowledged_at"),
        last_status_change_at: r.get("last_status_change_at"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

/// Reads one referral the access sees, locking its row on PostgreSQL when `lock` (SQLite's single connection
/// already serialises writers).
pub(crate) async fn fetch(
    conn: &mut sqlx::AnyConnection,
    access: &ReferralAccess,
    id: &str,
    lock: bool,
) -> Result<Referral> {
    let (cond, binds) = access.filter("r", 2);
    let lock = if lock && conn.backend_name() == "PostgreSQL" {
        " FOR UPDATE OF r"
    } else {
        ""
    };
    let sql = format!("{SELECT} WHERE r.id = $1 AND {cond}{lock}");
    let mut q = sqlx::query(&sql).bind(id);
    for b in &binds {
        q = q.bind(b);
    }
    let row = q
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let r = from_row(&row)?;
    debug_assert!(access.can_see(r.visibility()));
    Ok(r)
}

/// NotFound unless the access sees the referral.
pub(crate) async fn ensure_visible(
    conn: &mut sqlx::AnyConnection,
    access: &ReferralAccess,
    id: &str,
) -> Result<()> {
    let (cond, binds) = access.filter("r", 2);
    let sql = format!("SELECT r.id FROM referrals r WHERE r.id = $1 AND {cond}");
    let mut q = sqlx::query(&sql).bind(id);
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_optional(&mut *conn)
        .await?
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

/// A referral the scope sees (without its persons: not audited). NotFound otherwise.
pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<Referral> {
    let mut conn = db.pool().acquire().await?;
    let access = ReferralAccess::of(&mut conn, scope).await?;
    fetch(&mut conn, &access, id, false).await
}

/// A referral with its places, persons, offences and status history; the read is audited (`referral.read`)
/// since it shows persons.
pub async fn get_detail(db: &Db, scope: &Scope, id: &str) -> Result<ReferralDetail> {
    let mut conn = db.pool().acquire().await?;
    let access = ReferralAccess::of(&mut conn, scope).await?;
    let referral = fetch(&mut conn, &access, id, false).await?;
    let places = load_places(&mut conn, id).await?;
    let persons = load_persons(&mut conn, id).await?;
    let offences = load_offences(&mut conn, id).await?;
    let events = load_events(&mut conn, id).await?;
    audit::record(
        &mut *conn,
        &scope.actor,
        "referral.read",
        "referral",
        Some(id),
        Some(serde_json::json!({ "persons": persons.len() })),
    )
    .await?;
    Ok(ReferralDetail {
        referral,
        places,
        persons,
        offences,
        events,
    })
}

async fn load_places(conn: &mut sqlx::AnyConnection, id: &str) -> Result<Vec<Place>> {
    let rows = sqlx::query(
        "SELECT insee, commune_name, address FROM referral_places WHERE referral_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Place {
            insee: r.get("insee"),
            commune_name: r.get("commune_name"),
            address: r.get("address"),
        })
        .collect())
}

async fn load_persons(conn: &mut sqlx::AnyConnection, id: &str) -> Result<Vec<Person>> {
    let rows = sqlx::query(
        "SELECT p.kind, p.role, p.first_name, p.last_name, p.birth_date, p.legal_name, p.siren, \
         p.residence_insee, p.address, c.name AS residence_name FROM referral_persons p \
         LEFT JOIN communes c ON c.insee = p.residence_insee WHERE p.referral_id = $1 ORDER BY p.position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Person {
                kind: PersonKind::parse(&r.get::<String, _>("kind"))
                    .ok_or_else(|| decode_err("person kind"))?,
                role: PersonRole::parse(&r.get::<String, _>("role"))
                    .ok_or_else(|| decode_err("person role"))?,
                first_name: r.get("first_name"),
                last_name: r.get("last_name"),
                birth_date: date_col(r, "birth_date"),
                legal_name: r.get("legal_name"),
                siren: r.get("siren"),
                residence_insee: r.get("residence_insee"),
                residence_name: r.get("residence_name"),
                address: r.get("address"),
            })
        })
        .collect()
}

async fn load_offences(conn: &mut sqlx::AnyConnection, id: &str) -> Result<Vec<Offence>> {
    let rows = sqlx::query(
        "SELECT o.natinf_code, n.label, n.family FROM referral_offences o JOIN natinf n ON n.code = o.natinf_code \
         WHERE o.referral_id = $1 ORDER BY o.position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Offence {
            code: r.get("natinf_code"),
            label: r.get("label"),
            family: r.get("family"),
        })
        .collect())
}

async fn load_events(conn: &mut sqlx::AnyConnection, id: &str) -> Result<Vec<StatusEvent>> {
    let rows = sqlx::query(
        "SELECT from_status, to_status, parquet_id, by_user_id, by_label, at, comment FROM referral_events \
         WHERE referral_id = $1 ORDER BY at, id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let to: String = r.get("to_status");
            Ok(StatusEvent {
                from: r
                    .get::<Option<String>, _>("from_status")
                    .and_then(|s| s.parse().ok()),
                to: to.parse().map_err(|_| decode_err("event status"))?,
                parquet_id: r.get("parquet_id"),
                by_user_id: r.get("by_user_id"),
                by_label: r.get("by_label"),
                at: r.get("at"),
                comment: r.get("comment"),
            })
        })
        .collect()
}

#[derive(Clone, Debug, Default)]
pub struct ReferralFilter {
    pub status: Option<ReferralStatus>,
    pub urgent: Option<bool>,
    /// Searched, accent-insensitive, in the tracking number, the internal reference and the facts.
    pub q: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// The referrals the scope sees: for a parquet its inbox. Urgent referrals awaiting acknowledgement come first,
/// then by date of sending (oldest first), drafts last.
pub async fn list(db: &Db, scope: &Scope, f: &ReferralFilter) -> Result<Vec<Referral>> {
    let mut conn = db.pool().acquire().await?;
    let access = ReferralAccess::of(&mut conn, scope).await?;
    let (cond, mut binds) = access.filter("r", 1);
    let mut sql = format!("{SELECT} WHERE {cond}");
    if let Some(s) = f.status {
        binds.push(s.as_str().to_string());
        sql.push_str(&format!(" AND r.status = ${}", binds.len()));
    }
    if let Some(u) = f.urgent {
        sql.push_str(if u {
            " AND r.urgent = 1"
        } else {
            " AND r.urgent = 0"
        });
    }
    if let Some(q) =
        f.q.as_deref()
            .map(crate::search_key)
            .filter(|q| !q.is_empty())
    {
        for word in q.split(' ') {
            binds.push(format!("%{word}%"));
            sql.push_str(&format!(" AND r.search_text LIKE ${}", binds.len()));
        }
    }
    sql.push_str(&format!(
        " ORDER BY CASE WHEN r.urgent = 1 AND r.acknowledged_at IS NULL AND r.status NOT IN ('draft', 'decided') \
         THEN 0 ELSE 1 END, CASE WHEN r.sent_at IS NULL THEN 1 ELSE 0 END, r.sent_at, r.tracking_number, r.created_at DESC, r.id \
         LIMIT {} OFFSET {}",
        if f.limit <= 0 { 50 } else { f.limit.min(500) },
        f.offset.max(0)
    ));
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Wizard inputs and their validation (pure)

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FactsInput {
    pub description: String,
    /// `YYYY-MM-DD` or empty.
    pub start_date: String,
    pub end_date: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlaceInput {
    pub insee: String,
    pub address: String,
}

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonInput {
    /// `natural` or `legal`.
    pub kind: String,
    /// `suspect`, `victim` or `witness`.
    pub role: String,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: String,
    pub legal_name: String,
    pub siren: String,
    /// INSEE code of the commune of the postal address (residence), chosen from the communes list.
    pub residence_insee: String,
    /// Street line of the postal address (number and street), optional.
    pub address: String,
}

impl std::fmt::Debug for PersonInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonInput")
            .field("kind", &self.kind)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UrgencyInput {
    pub urgent: bool,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubmitInput {
    /// The author declares the facts are reported under art. 40 CPP.
    pub art40_declaration: bool,
    /// The parquet chosen by the agent: `None` keeps the proposed one.
    pub parquet_id: Option<String>,
    /// Required when `parquet_id` differs from the proposal.
    pub override_reason: String,
}

/// A whole referral in one go (JSON API), validated as the wizard's steps are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewReferral {
    pub internal_reference: String,
    pub facts: FactsInput,
    pub places: Vec<PlaceInput>,
    pub persons: Vec<PersonInput>,
    pub offences: Vec<String>,
    pub urgency: UrgencyInput,
    pub submit: SubmitInput,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    pub description: String,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

fn too_long(field: &str, max: usize) -> FieldError {
    FieldError::new(field, K::TooLong, domain::limits::message(max))
}

fn parse_date(
    field: &str,
    input: &str,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    let s = input.trim();
    if s.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if d > today => {
            errors.push(FieldError::new(
                field,
                K::Invalid,
                "La date ne peut pas être dans le futur.",
            ));
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                K::Invalid,
                "Date invalide : le format attendu est AAAA-MM-JJ, par exemple 2027-03-01.",
            ));
            None
        }
    }
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Facts of a draft: the description may still be empty, dates must be real, past, and in order.
pub fn check_facts(
    input: &FactsInput,
    today: NaiveDate,
) -> std::result::Result<Facts, Vec<FieldError>> {
    let mut errors = Vec::new();
    let description = input.description.trim().to_string();
    if description.chars().count() > MAX_DESCRIPTION {
        errors.push(too_long("facts.description", MAX_DESCRIPTION));
    }
    let start = parse_date("facts.start_date", &input.start_date, today, &mut errors);
    let end = parse_date("facts.end_date", &input.end_date, today, &mut errors);
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            errors.push(FieldError::new(
                "facts.end_date",
                K::Inconsistent,
                "La date de fin des faits ne peut pas précéder la date de début.",
            ));
        }
    }
    if errors.is_empty() {
        Ok(Facts {
            description,
            start,
            end,
        })
    } else {
        Err(errors)
    }
}

pub fn check_places(
    input: &[PlaceInput],
) -> std::result::Result<Vec<(InseeCode, Option<String>)>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    if input.len() > MAX_PLACES {
        errors.push(FieldError::new(
            "places",
            K::TooLong,
            format!("{MAX_PLACES} lieux au plus."),
        ));
    }
    for (i, p) in input.iter().enumerate() {
        match InseeCode::parse(&p.insee) {
            Ok(c) => {
                if out
                    .iter()
                    .any(|(o, a): &(InseeCode, Option<String>)| *o == c && *a == opt(&p.address))
                {
                    continue;
                }
                out.push((c, opt(&p.address)))
            }
            Err(e) => errors.push(FieldError::new(
                format!("places[{i}].insee"),
                K::Invalid,
                e.to_string(),
            )),
        }
        if p.address.chars().count() > 500 {
            errors.push(too_long(&format!("places[{i}].address"), 500));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

pub fn check_persons(
    input: &[PersonInput],
    today: NaiveDate,
) -> std::result::Result<Vec<Person>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    if input.len() > MAX_PERSONS {
        errors.push(FieldError::new(
            "persons",
            K::TooLong,
            format!("{MAX_PERSONS} personnes au plus."),
        ));
    }
    for (i, p) in input.iter().enumerate() {
        let f = |name: &str| format!("persons[{i}].{name}");
        let before = errors.len();
        let kind = PersonKind::parse(&p.kind);
        if kind.is_none() {
            errors.push(FieldError::new(
                f("kind"),
                K::Invalid,
                "Précisez s'il s'agit d'une personne physique ou d'une personne morale.",
            ));
        }
        let role = PersonRole::parse(&p.role);
        if role.is_none() {
            errors.push(FieldError::new(
                f("role"),
                K::Invalid,
                "Précisez le rôle de la personne : mis en cause, victime ou témoin.",
            ));
        }
        for (name, value) in [
            ("first_name", &p.first_name),
            ("last_name", &p.last_name),
            ("legal_name", &p.legal_name),
        ] {
            if value.chars().count() > MAX_NAME {
                errors.push(too_long(&f(name), MAX_NAME));
            }
        }
        let mut birth_date = None;
        let mut siren = None;
        match kind {
            Some(PersonKind::Natural) => {
                if p.last_name.trim().is_empty() {
                    errors.push(FieldError::new(
                        f("last_name"),
                        K::Missing,
                        "Le nom de la personne est obligatoire.",
                    ));
                }
                birth_date = parse_date(&f("birth_date"), &p.birth_date, today, &mut errors);
            }
            Some(PersonKind::Legal) => {
                if p.legal_name.trim().is_empty() {
                    errors.push(FieldError::new(
                        f("legal_name"),
                        K::Missing,
                        "La raison sociale est obligatoire.",
                    ));
                }
                if !p.siren.trim().is_empty() {
                    match Siren::parse(&p.siren) {
                        Ok(s) => siren = Some(s.as_str().to_string()),
                        Err(e) => {
                            errors.push(FieldError::new(f("siren"), K::Invalid, e.to_string()))
                        }
                    }
                }
            }
            None => {}
        }
        let residence = if p.residence_insee.trim().is_empty() {
            None
        } else {
            match InseeCode::parse(&p.residence_insee) {
                Ok(c) => Some(c.as_str().to_string()),
                Err(e) => {
                    errors.push(FieldError::new(
                        f("residence_insee"),
                        K::Invalid,
                        e.to_string(),
                    ));
                    None
                }
            }
        };
        if p.address.chars().count() > MAX_NAME {
            errors.push(too_long(&f("address"), MAX_NAME));
        }
        if errors.len() == before {
            let natural = kind == Some(PersonKind::Natural);
            out.push(Person {
                kind: kind.expect("checked"),
                role: role.expect("checked"),
                first_name: opt(&p.first_name).filter(|_| natural),
                last_name: opt(&p.last_name).filter(|_| natural),
                birth_date,
                legal_name: opt(&p.legal_name).filter(|_| !natural),
                siren,
                residence_insee: residence,
                residence_name: None,
                address: opt(&p.address),
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

pub fn check_offences(input: &[String]) -> std::result::Result<Vec<NatinfCode>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out: Vec<NatinfCode> = Vec::new();
    if input.len() > MAX_OFFENCES {
        errors.push(FieldError::new(
            "offences",
            K::TooLong,
            format!("{MAX_OFFENCES} infractions au plus."),
        ));
    }
    for (i, code) in input.iter().enumerate() {
        match NatinfCode::parse(code) {
            Ok(c) if !out.contains(&c) => out.push(c),
            Ok(_) => {}
            Err(e) => errors.push(FieldError::new(
                format!("offences[{i}]"),
                K::Invalid,
                e.to_string(),
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

pub fn check_urgency(input: &UrgencyInput) -> std::result::Result<Option<String>, Vec<FieldError>> {
    let reason = input.reason.trim();
    if !input.urgent {
        return Ok(None);
    }
    if reason.is_empty() {
        return Err(vec![FieldError::new(
            "urgency.reason",
            K::Missing,
            "Indiquez pourquoi le signalement est urgent.",
        )]);
    }
    if reason.chars().count() > MAX_TEXT {
        return Err(vec![too_long("urgency.reason", MAX_TEXT)]);
    }
    Ok(Some(reason.to_string()))
}

pub fn check_reference(input: &str) -> std::result::Result<Option<String>, Vec<FieldError>> {
    if input.trim().chars().count() > MAX_REFERENCE {
        return Err(vec![too_long("internal_reference", MAX_REFERENCE)]);
    }
    Ok(opt(input))
}

fn today(now: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .with_timezone(&TZ)
        .date_naive()
}

/// `IP-2027-000123`.
pub fn format_tracking_number(year: i32, value: i64) -> String {
    format!("IP-{year}-{value:06}")
}

// ---------------------------------------------------------------------------------------------------------------
// Administration side: drafts

/// Organisation ids (administration, service) of an author, or Forbidden.
async fn author_units(
    conn: &mut sqlx::AnyConnection,
    scope: &Scope,
) -> PResult<(String, Option<String>)> {
    let refuse = || {
        ParquetError::forbidden(
            "Seuls les agents d'une administration peuvent rédiger un signalement.",
        )
    };
    if !matches!(
        scope.actor.role,
        Some(Role::AdminAgent | Role::AdminManager)
    ) {
        return Err(refuse());
    }
    let org = scope.actor.organisation_id.as_deref().ok_or_else(refuse)?;
    let row = sqlx::query("SELECT kind, parent_id FROM organisations WHERE id = $1")
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(refuse)?;
    let kind: Option<OrgKind> = row.get::<String, _>("kind").parse().ok();
    match kind {
        Some(OrgKind::Administration) => Ok((org.to_string(), None)),
        Some(OrgKind::Service) => {
            let parent: Option<String> = row.get("parent_id");
            Ok((parent.ok_or_else(refuse)?, Some(org.to_string())))
        }
        _ => Err(refuse()),
    }
}

async fn create_draft_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    api_token_id: Option<&str>,
    now: i64,
) -> PResult<String> {
    let (administration_id, service_id) = author_units(tx, scope).await?;
    let id = crate::new_id();
    sqlx::query(
        "INSERT INTO referrals (id, administration_id, service_id, author_user_id, api_token_id, urgent, \
         facts_description, status, art40_declaration, search_text, last_status_change_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 0, '', 'draft', 0, '', $6, $6, $6)",
    )
    .bind(&id)
    .bind(&administration_id)
    .bind(service_id.as_deref())
    .bind(scope.actor.user_id.as_deref())
    .bind(api_token_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut **tx,
        &scope.actor,
        "referral.create_draft",
        "referral",
        Some(&id),
        Some(
            serde_json::json!({ "administration_id": administration_id, "service_id": service_id }),
        ),
    )
    .await?;
    Ok(id)
}

/// Starts a draft for the actor's service (or administration when attached to it directly).
pub async fn create_draft(db: &Db, scope: &Scope) -> PResult<Referral> {
    let mut tx = db.begin().await?;
    let id = create_draft_tx(&mut tx, scope, None, crate::now()).await?;
    tx.commit().await?;
    Ok(get(db, scope, &id).await?)
}

/// Opens the draft for a wizard step: visible (else NotFound), written from the administration side, and still a
/// draft (sent referrals are read-only: additions go through messages).
async fn editable_draft(tx: &mut Tx<'_>, access: &ReferralAccess, id: &str) -> PResult<Referral> {
    let r = fetch(tx, access, id, true).await?;
    if access.side() != Some(Side::Administration) {
        return Err(ParquetError::forbidden(
            "Seule l'administration qui rédige le signalement peut le modifier.",
        ));
    }
    if r.status != ReferralStatus::Draft {
        return Err(ParquetError::forbidden(
            "Ce signalement a été transmis : il ne peut plus être modifié. Ajoutez un message pour le compléter.",
        ));
    }
    Ok(r)
}

async fn refresh_search_text(conn: &mut sqlx::AnyConnection, id: &str) -> Result<()> {
    let row = sqlx::query(
        "SELECT tracking_number, internal_reference, facts_description FROM referrals WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let text = [
        row.get::<Option<String>, _>(0).unwrap_or_default(),
        row.get::<Option<String>, _>(1).unwrap_or_default(),
        row.get::<String, _>(2),
    ]
    .join(" ");
    sqlx::query("UPDATE referrals SET search_text = $2 WHERE id = $1")
        .bind(id)
        .bind(crate::search_key(&text))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Runs one wizard step on a draft in its own transaction, audited as `referral.<action>`.
macro_rules! step {
    ($db:expr, $scope:expr, $id:expr, $action:literal, $body:ident ( $($arg:expr),* )) => {{
        let mut tx = $db.begin().await?;
        let access = ReferralAccess::of(&mut tx, $scope).await?;
        editable_draft(&mut tx, &access, $id).await?;
        $body(&mut tx, $id, $($arg),*).await?;
        sqlx::query("UPDATE referrals SET updated_at = $2 WHERE id = $1")
            .bind($id)
            .bind(crate::now())
            .execute(&mut *tx)
            .await?;
        audit::record(&mut *tx, &$scope.actor, $action, "referral", Some($id), None).await?;
        tx.commit().await?;
        Ok(())
    }};
}

async fn facts_tx(tx: &mut Tx<'_>, id: &str, input: &FactsInput) -> PResult<()> {
    let facts = check_facts(input, today(crate::now())).map_err(ParquetError::Invalid)?;
    sqlx::query(
        "UPDATE referrals SET facts_description = $2, facts_start = $3, facts_end = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(&facts.description)
    .bind(facts.start.map(|d| d.to_string()))
    .bind(facts.end.map(|d| d.to_string()))
    .execute(&mut **tx)
    .await?;
    refresh_search_text(tx, id).await?;
    Ok(())
}

async fn places_tx(tx: &mut Tx<'_>, id: &str, input: &[PlaceInput]) -> PResult<()> {
    let places = check_places(input).map_err(ParquetError::Invalid)?;
    let mut errors = Vec::new();
    let mut named = Vec::new();
    for (i, (insee, address)) in places.iter().enumerate() {
        let name: Option<String> = sqlx::query(
            "SELECT name FROM communes WHERE insee = $1 \
             UNION ALL SELECT commune_name FROM juridictions WHERE insee = $1",
        )
        .bind(insee.as_str())
        .fetch_all(&mut **tx)
        .await?
        .first()
        .map(|r| r.get(0));
        match name {
            Some(n) => named.push((insee, address, n)),
            None => errors.push(FieldError::new(
                format!("places[{i}].insee"),
                K::Unknown,
                format!(
                    "Commune inconnue ({}) : choisissez-la dans la liste des communes.",
                    insee.as_str()
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ParquetError::Invalid(errors));
    }
    sqlx::query("DELETE FROM referral_places WHERE referral_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (pos, (insee, address, name)) in named.into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO referral_places (id, referral_id, position, insee, commune_name, address) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(crate::new_id())
        .bind(id)
        .bind(pos as i64)
        .bind(insee.as_str())
        .bind(name)
        .bind(address.as_deref())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn persons_tx(tx: &mut Tx<'_>, id: &str, input: &[PersonInput]) -> PResult<()> {
    let persons = check_persons(input, today(crate::now())).map_err(ParquetError::Invalid)?;
    sqlx::query("DELETE FROM referral_persons WHERE referral_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (pos, p) in persons.iter().enumerate() {
        sqlx::query(
            "INSERT INTO referral_persons (id, referral_id, position, kind, role, first_name, last_name, \
             birth_date, legal_name, siren, residence_insee, address) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(crate::new_id())
        .bind(id)
        .bind(pos as i64)
        .bind(p.kind.as_str())
        .bind(p.role.as_str())
        .bind(p.first_name.as_deref())
        .bind(p.last_name.as_deref())
        .bind(p.birth_date.map(|d| d.to_string()))
        .bind(p.legal_name.as_deref())
        .bind(p.siren.as_deref())
        .bind(p.residence_insee.as_deref())
        .bind(p.address.as_deref())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn offences_tx(tx: &mut Tx<'_>, id: &str, input: &[String]) -> PResult<()> {
    let codes = check_offences(input).map_err(ParquetError::Invalid)?;
    let mut errors = Vec::new();
    for (i, c) in codes.iter().enumerate() {
        let known = sqlx::query("SELECT code FROM natinf WHERE code = $1")
            .bind(c.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        if !known {
            errors.push(FieldError::new(
                format!("offences[{i}]"),
                K::Unknown,
                format!(
                    "Code NATINF inconnu : {}. Recherchez l'infraction par son code ou par des mots.",
                    c.as_str()
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ParquetError::Invalid(errors));
    }
    sqlx::query("DELETE FROM referral_offences WHERE referral_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (pos, c) in codes.iter().enumerate() {
        sqlx::query(
            "INSERT INTO referral_offences (referral_id, position, natinf_code) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(pos as i64)
        .bind(c.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn urgency_tx(tx: &mut Tx<'_>, id: &str, input: &UrgencyInput) -> PResult<()> {
    let reason = check_urgency(input).map_err(ParquetError::Invalid)?;
    sqlx::query("UPDATE referrals SET urgent = $2, urgency_reason = $3 WHERE id = $1")
        .bind(id)
        .bind(i64::from(input.urgent))
        .bind(reason.as_deref())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn reference_tx(tx: &mut Tx<'_>, id: &str, input: &str) -> PResult<()> {
    let reference = check_reference(input).map_err(ParquetError::Invalid)?;
    sqlx::query("UPDATE referrals SET internal_reference = $2 WHERE id = $1")
        .bind(id)
        .bind(reference.as_deref())
        .execute(&mut **tx)
        .await?;
    refresh_search_text(tx, id).await?;
    Ok(())
}

/// Wizard step « faits »: description and dates (the description may stay empty until submission).
pub async fn save_facts(db: &Db, scope: &Scope, id: &str, input: &FactsInput) -> PResult<()> {
    step!(db, scope, id, "referral.save_facts", facts_tx(input))
}

/// Wizard step « lieux »: replaces the places (communes from the communes list, optional address).
pub async fn save_places(db: &Db, scope: &Scope, id: &str, input: &[PlaceInput]) -> PResult<()> {
    step!(db, scope, id, "referral.save_places", places_tx(input))
}

/// Wizard step « personnes »: replaces the persons involved.
pub async fn save_persons(db: &Db, scope: &Scope, id: &str, input: &[PersonInput]) -> PResult<()> {
    step!(db, scope, id, "referral.save_persons", persons_tx(input))
}

/// Wizard step « infractions »: replaces the NATINF codes (each must be in the imported table).
pub async fn save_offences(db: &Db, scope: &Scope, id: &str, codes: &[String]) -> PResult<()> {
    step!(db, scope, id, "referral.save_offences", offences_tx(codes))
}

/// Wizard step « urgence »: an urgent referral needs a reason.
pub async fn save_urgency(db: &Db, scope: &Scope, id: &str, input: &UrgencyInput) -> PResult<()> {
    step!(db, scope, id, "referral.save_urgency", urgency_tx(input))
}

/// Wizard step « référence »: the administration's own reference.
pub async fn save_reference(db: &Db, scope: &Scope, id: &str, reference: &str) -> PResult<()> {
    step!(
        db,
        scope,
        id,
        "referral.save_reference",
        reference_tx(reference)
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Submission

async fn next_tracking_number(tx: &mut Tx<'_>, now: i64) -> Result<String> {
    let year = chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .with_timezone(&TZ)
        .year();
    // One statement, row-locked on PostgreSQL and serialised by the single connection on SQLite: two concurrent
    // submissions get consecutive values, and a rolled-back submission gives its value back.
    let value: i64 = sqlx::query(
        "INSERT INTO referral_counters (year, value) VALUES ($1, 1) \
         ON CONFLICT (year) DO UPDATE SET value = referral_counters.value + 1 RETURNING value",
    )
    .bind(i64::from(year))
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    Ok(format_tracking_number(year, value))
}

/// Inserts a status event and moves the referral's status.
/// One status change: the event row and the referral's new status.
struct Change<'a> {
    from: ReferralStatus,
    to: ReferralStatus,
    /// The parquet at which it happens (the sender for « transferred », the receiver for the new « sent »).
    parquet_id: Option<&'a str>,
    comment: Option<&'a str>,
}

async fn record_status(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: &str,
    c: Change<'_>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO referral_events (id, referral_id, from_status, to_status, parquet_id, by_user_id, by_label, \
         at, comment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(crate::new_id())
    .bind(id)
    .bind(c.from.as_str())
    .bind(c.to.as_str())
    .bind(c.parquet_id)
    .bind(actor.user_id.as_deref())
    .bind(&actor.label)
    .bind(now)
    .bind(c.comment)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE referrals SET status = $2, last_status_change_at = $3, last_reminder_at = NULL, updated_at = $3 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(c.to.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// E-mail to the author telling the referral's new status (art. 40-2), in the caller's transaction.
async fn notify_author(
    tx: &mut Tx<'_>,
    id: &str,
    transferred_from: Option<&str>,
    comment: Option<&str>,
    now: i64,
) -> Result<()> {
    let r = fetch(tx, &ReferralAccess::All, id, false).await?;
    let Some(email) = super::user_email(tx, r.author_user_id.as_deref()).await? else {
        tracing::warn!(referral = %id, "referral author has no active account: status notice not sent");
        return Ok(());
    };
    let (subject, body) = notices::status_notice(&StatusNotice {
        tracking_number: r.tracking_number.as_deref().unwrap_or(""),
        internal_reference: r.internal_reference.as_deref(),
        parquet_name: r.parquet_name.as_deref().unwrap_or("parquet"),
        status: r.status,
        decision: r.decision.as_ref(),
        decision_text: r.decision_text.as_deref(),
        transferred_from,
        comment,
    });
    outbox::enqueue(
        &mut **tx,
        &NewMessage {
            channel: "email".into(),
            kind: "referral_status".into(),
            organisation_id: Some(r.service_id.clone().unwrap_or(r.administration_id.clone())),
            recipient: email,
            subject: Some(subject),
            body,
            due_at: now,
            related_type: Some("referral".into()),
            related_id: Some(id.to_string()),
        },
    )
    .await?;
    Ok(())
}

/// E-mail and SMS to the parquet's duty contact (the parquet organisation's e-mail and phone) for an urgent
/// referral. Returns which channels could be used.
async fn alert_duty_contact(tx: &mut Tx<'_>, id: &str, now: i64) -> Result<serde_json::Value> {
    let r = fetch(tx, &ReferralAccess::All, id, false).await?;
    let parquet_id = r.parquet_id.clone().unwrap_or_default();
    let row = sqlx::query("SELECT email, phone FROM organisations WHERE id = $1")
        .bind(&parquet_id)
        .fetch_one(&mut **tx)
        .await?;
    let email: Option<String> = row.get("email");
    let phone: Option<String> = row.get("phone");
    let tn = r.tracking_number.clone().unwrap_or_default();
    let message =
        |channel: &str, recipient: String, subject: Option<String>, body: String| NewMessage {
            channel: channel.into(),
            kind: "referral_urgent".into(),
            organisation_id: Some(parquet_id.clone()),
            recipient,
            subject,
            body,
            due_at: now,
            related_type: Some("referral".into()),
            related_id: Some(id.to_string()),
        };
    if let Some(to) = email.clone().filter(|e| !e.trim().is_empty()) {
        let (subject, body) = notices::urgent_alert_email(
            &tn,
            &r.administration_name,
            r.urgency_reason.as_deref().unwrap_or(""),
        );
        outbox::enqueue(&mut **tx, &message("email", to, Some(subject), body)).await?;
    }
    if let Some(to) = phone.clone().filter(|p| !p.trim().is_empty()) {
        outbox::enqueue(
            &mut **tx,
            &message("sms", to, None, notices::urgent_alert_sms(&tn)),
        )
        .await?;
    }
    if email.is_none() || phone.is_none() {
        tracing::warn!(parquet = %parquet_id, "parquet without duty e-mail or phone: urgent alert incomplete");
    }
    Ok(serde_json::json!({ "email": email.is_some(), "sms": phone.is_some() }))
}

async fn is_active_parquet(conn: &mut sqlx::AnyConnection, id: &str) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT id FROM organisations WHERE id = $1 AND kind = 'parquet' AND active = 1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

async fn submit_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    access: &ReferralAccess,
    id: &str,
    input: &SubmitInput,
    now: i64,
) -> PResult<()> {
    let r = editable_draft(tx, access, id).await?;
    referral_transition(r.status, ReferralStatus::Sent)?;
    let mut errors = Vec::new();
    if !input.art40_declaration {
        errors.push(FieldError::new(
            "art40_declaration",
            K::Missing,
            "Cochez la déclaration : les faits sont signalés au titre de l'article 40 du code de procédure pénale.",
        ));
    }
    if r.facts_description.trim().is_empty() {
        errors.push(FieldError::new(
            "facts.description",
            K::Missing,
            "Décrivez les faits.",
        ));
    }
    if r.facts_start.is_none() {
        errors.push(FieldError::new(
            "facts.start_date",
            K::Missing,
            "Indiquez la date des faits, ou le début de la période.",
        ));
    }
    let places = load_places(tx, id).await?;
    if places.is_empty() {
        errors.push(FieldError::new(
            "places",
            K::Missing,
            "Indiquez au moins un lieu des faits.",
        ));
    }
    let offences: i64 =
        sqlx::query("SELECT COUNT(*) FROM referral_offences WHERE referral_id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?
            .get(0);
    if offences == 0 {
        errors.push(FieldError::new(
            "offences",
            K::Missing,
            "Indiquez au moins une infraction (code NATINF).",
        ));
    }
    let proposal: Option<RoutingProposal> = routing::propose_in(tx, id).await?;
    let chosen = input
        .parquet_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let override_reason = opt(&input.override_reason);
    let parquet_id: Option<String> = match (chosen, &proposal) {
        (None, Some(p)) => Some(p.parquet.id.clone()),
        (None, None) => {
            let message = match places.first() {
                Some(p) => format!(
                    "Aucun tribunal judiciaire n'est connu pour la commune « {} » ({}) : choisissez le parquet \
                     compétent.",
                    p.commune_name, p.insee
                ),
                None => "Choisissez le parquet compétent.".to_string(),
            };
            errors.push(FieldError::new("parquet_id", K::Missing, message));
            None
        }
        (Some(c), _) if !is_active_parquet(tx, c).await? => {
            errors.push(FieldError::new(
                "parquet_id",
                K::Unknown,
                "Parquet inconnu : choisissez-le dans la liste.",
            ));
            None
        }
        (Some(c), Some(p)) if c != p.parquet.id && override_reason.is_none() => {
            errors.push(FieldError::new(
                "override_reason",
                K::Missing,
                format!(
                    "Vous avez choisi un autre parquet que celui proposé ({}) : indiquez pourquoi.",
                    p.parquet.name
                ),
            ));
            None
        }
        (Some(c), _) => Some(c.to_string()),
    };
    if override_reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_TEXT)
    {
        errors.push(too_long("override_reason", MAX_TEXT));
    }
    if !errors.is_empty() {
        return Err(ParquetError::Invalid(errors));
    }
    let parquet_id = parquet_id.expect("checked above");
    let overridden = proposal
        .as_ref()
        .is_some_and(|p| p.parquet.id != parquet_id);
    let tracking = next_tracking_number(tx, now).await?;
    sqlx::query(
        "UPDATE referrals SET tracking_number = $2, parquet_id = $3, proposed_parquet_id = $4, routing_basis = $5, \
         routing_insee = $6, override_reason = $7, art40_declaration = 1, sent_at = $8 WHERE id = $1",
    )
    .bind(id)
    .bind(&tracking)
    .bind(&parquet_id)
    .bind(proposal.as_ref().map(|p| p.parquet.id.clone()))
    .bind(proposal.as_ref().map(|p| p.basis.as_str()))
    .bind(proposal.as_ref().map(|p| p.insee.clone()))
    .bind(if overridden || proposal.is_none() {
        override_reason.as_deref()
    } else {
        None
    })
    .bind(now)
    .execute(&mut **tx)
    .await?;
    refresh_search_text(tx, id).await?;
    record_status(
        tx,
        &scope.actor,
        id,
        Change {
            from: ReferralStatus::Draft,
            to: ReferralStatus::Sent,
            parquet_id: Some(&parquet_id),
            comment: None,
        },
        now,
    )
    .await?;
    notify_author(tx, id, None, None, now).await?;
    let alerts = if r.urgent {
        Some(alert_duty_contact(tx, id, now).await?)
    } else {
        None
    };
    audit::record(
        &mut **tx,
        &scope.actor,
        "referral.submit",
        "referral",
        Some(id),
        Some(serde_json::json!({
            "tracking_number": tracking, "parquet_id": parquet_id,
            "proposed_parquet_id": proposal.as_ref().map(|p| &p.parquet.id),
            "overridden": overridden, "urgent": r.urgent, "duty_alert": alerts,
        })),
    )
    .await?;
    Ok(())
}

/// Sends a draft: requires the art. 40 declaration, facts, a place, an offence and a parquet (the proposed one,
/// another with a reason, or the agent's pick when the commune maps to none). Assigns the tracking number,
/// e-mails the acknowledgement to the author and, when urgent, alerts the parquet's duty contact.
pub async fn submit(db: &Db, scope: &Scope, id: &str, input: &SubmitInput) -> PResult<Referral> {
    let mut tx = db.begin().await?;
    let access = ReferralAccess::of(&mut tx, scope).await?;
    submit_tx(&mut tx, scope, &access, id, input, crate::now()).await?;
    tx.commit().await?;
    Ok(get(db, scope, id).await?)
}

/// Origin of a referral created through the JSON API.
#[derive(Clone, Debug)]
pub struct ApiOrigin {
    pub token_id: String,
    /// `Idempotency-Key` header and a hash of the request body.
    pub idempotency: Option<(String, String)>,
}

/// Creates and submits a whole referral in one transaction (JSON API): every field error of every step is
/// reported at once and nothing is kept on error. With an idempotency key, a retry with the same body returns the
/// referral created first (`true` = replayed); the same key with another body is a conflict.
pub async fn create_submitted(
    db: &Db,
    scope: &Scope,
    input: &NewReferral,
    api: Option<&ApiOrigin>,
) -> PResult<(Referral, bool)> {
    let idem = api.and_then(|a| {
        a.idempotency
            .as_ref()
            .map(|(k, h)| (a.token_id.as_str(), k, h))
    });
    if let Some((token, key, hash)) = idem {
        if let Some(existing) = super::tokens::replay(db, token, key, hash).await? {
            return Ok((get(db, scope, &existing).await?, true));
        }
    }
    let now = crate::now();
    let mut tx = db.begin().await?;
    let access = ReferralAccess::of(&mut tx, scope).await?;
    let id = create_draft_tx(&mut tx, scope, api.map(|a| a.token_id.as_str()), now).await?;
    let mut errors = Vec::new();
    let mut keep = |r: PResult<()>| -> PResult<()> {
        match r {
            Err(ParquetError::Invalid(e)) => {
                errors.extend(e);
                Ok(())
            }
            other => other,
        }
    };
    keep(reference_tx(&mut tx, &id, &input.internal_reference).await)?;
    keep(facts_tx(&mut tx, &id, &input.facts).await)?;
    keep(places_tx(&mut tx, &id, &input.places).await)?;
    keep(persons_tx(&mut tx, &id, &input.persons).await)?;
    keep(offences_tx(&mut tx, &id, &input.offences).await)?;
    keep(urgency_tx(&mut tx, &id, &input.urgency).await)?;
    if !errors.is_empty() {
        return Err(ParquetError::Invalid(errors));
    }
    submit_tx(&mut tx, scope, &access, &id, &input.submit, now).await?;
    if let Some((token, key, hash)) = idem {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (token_id, idem_key, referral_id, request_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_id, idem_key) DO NOTHING",
        )
        .bind(token)
        .bind(key)
        .bind(&id)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // A concurrent request with the same key won: drop ours and answer as a retry would be answered.
            tx.rollback().await?;
            return match super::tokens::replay(db, token, key, hash).await? {
                Some(existing) => Ok((get(db, scope, &existing).await?, true)),
                None => Err(StoreError::Conflict("idempotency_key".into()).into()),
            };
        }
    }
    tx.commit().await?;
    Ok((get(db, scope, &id).await?, false))
}

// ---------------------------------------------------------------------------------------------------------------
// Parquet side

/// Opens a referral for a parquet action: visible (else NotFound), by a parquet role among `roles` (else
/// Forbidden), locked for the transaction.
async fn parquet_action(
    tx: &mut Tx<'_>,
    scope: &Scope,
    id: &str,
    roles: &[Role],
    refusal: &str,
) -> PResult<(ReferralAccess, Referral)> {
    let access = ReferralAccess::of(tx, scope).await?;
    let r = fetch(tx, &access, id, true).await?;
    let role_ok = scope.actor.role.is_some_and(|role| roles.contains(&role));
    if access.parquet_id().is_none() || !role_ok {
        return Err(ParquetError::forbidden(refusal));
    }
    Ok((access, r))
}

const PARQUET_ROLES: &[Role] = &[
    Role::ParquetMagistrate,
    Role::ParquetGreffe,
    Role::ParquetAdmin,
];

/// Confirms that the parquet has seen an urgent referral; the delay since sending is kept and shown. Idempotent.
pub async fn acknowledge_urgent(db: &Db, scope: &Scope, id: &str) -> PResult<Referral> {
    let now = crate::now();
    let mut tx = db.begin().await?;
    let (_, r) = parquet_action(
        &mut tx,
        scope,
        id,
        PARQUET_ROLES,
        "Seul le parquet destinataire peut accuser réception d'un signalement urgent.",
    )
    .await?;
    if !r.urgent {
        return Err(ParquetError::invalid(
            "urgent",
            K::Inconsistent,
            "Ce signalement n'est pas urgent : il n'y a pas de réception à confirmer.",
        ));
    }
    if r.acknowledged_at.is_none() {
        sqlx::query(
            "UPDATE referrals SET acknowledged_at = $2, acknowledged_by = $3, updated_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(scope.actor.user_id.as_deref())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            &scope.actor,
            "referral.acknowledge",
            "referral",
            Some(id),
            Some(serde_json::json!({ "delay_secs": r.sent_at.map(|s| now - s) })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(get(db, scope, id).await?)
}

/// Received → registered under the parquet's own case number (unique within the parquet).
pub async fn register(db: &Db, scope: &Scope, id: &str, case_number: &str) -> PResult<Referral> {
    let now = crate::now();
    let mut tx = db.begin().await?;
    let (access, r) = parquet_action(
        &mut tx,
        scope,
        id,
        PARQUET_ROLES,
        "Seul le parquet destinataire peut enregistrer ce signalement.",
    )
    .await?;
    referral_transition(r.status, ReferralStatus::Registered)?;
    let case_number = case_number.trim();
    if case_number.is_empty() {
        return Err(ParquetError::invalid(
            "case_number",
            K::Missing,
            "Indiquez le numéro d'enregistrement du parquet.",
        ));
    }
    if case_number.chars().count() > MAX_CASE_NUMBER {
        return Err(ParquetError::Invalid(vec![too_long(
            "case_number",
            MAX_CASE_NUMBER,
        )]));
    }
    sqlx::query("UPDATE referrals SET parquet_case_number = $2, registered_at = $3 WHERE id = $1")
        .bind(id)
        .bind(case_number)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => ParquetError::invalid(
                "case_number",
                K::Inconsistent,
                "Ce numéro d'enregistrement est déjà attribué à un autre signalement de ce parquet.",
            ),
            other => other.into(),
        })?;
    record_status(
        &mut tx,
        &scope.actor,
        id,
        Change {
            from: r.status,
            to: ReferralStatus::Registered,
            parquet_id: access.parquet_id(),
            comment: None,
        },
        now,
    )
    .await?;
    notify_author(&mut tx, id, None, None, now).await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "referral.register",
        "referral",
        Some(id),
        Some(serde_json::json!({ "case_number": case_number })),
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, scope, id).await?)
}

/// Registered → assigned to a magistrate of this parquet. On an already assigned referral (assigned or under
/// investigation), changes the magistrate without a status change.
pub async fn assign(
    db: &Db,
    scope: &Scope,
    id: &str,
    magistrate_user_id: &str,
) -> PResult<Referral> {
    let now = crate::now();
    let mut tx = db.begin().await?;
    let (access, r) = parquet_action(
        &mut tx,
        scope,
        id,
        PARQUET_ROLES,
        "Seul le parquet destinataire peut attribuer ce signalement.",
    )
    .await?;
    let reassign = matches!(
        r.status,
        ReferralStatus::Assigned | ReferralStatus::UnderInvestigation
    );
    if !reassign {
        referral_transition(r.status, ReferralStatus::Assigned)?;
    }
    let is_magistrate = sqlx::query(
        "SELECT id FROM users WHERE id = $1 AND organisation_id = $2 AND role = $3 AND active = 1",
    )
    .bind(magistrate_user_id)
    .bind(access.parquet_id())
    .bind(Role::ParquetMagistrate.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .is_some();
    if !is_magistrate {
        return Err(ParquetError::invalid(
            "magistrate_user_id",
            K::Unknown,
            "Choisissez un magistrat de ce parquet.",
        ));
    }
    sqlx::query("UPDATE referrals SET magistrate_user_id = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(magistrate_user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    if !reassign {
        record_status(
            &mut tx,
            &scope.actor,
            id,
            Change {
                from: r.status,
                to: ReferralStatus::Assigned,
                parquet_id: access.parquet_id(),
                comment: None,
            },
            now,
        )
        .await?;
        notify_author(&mut tx, id, None, None, now).await?;
    }
    audit::record(
        &mut *tx,
        &scope.actor,
        if reassign {
            "referral.reassign"
        } else {
            "referral.assign"
        },
        "referral",
        Some(id),
        Some(serde_json::json!({ "magistrate_user_id": magistrate_user_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, scope, id).await?)
}

/// Assigned → under investigation.
pub async fn start_investigation(db: &Db, scope: &Scope, id: &str) -> PResult<Referral> {
    let now = crate::now();
    let mut tx = db.begin().await?;
    let (access, r) = parquet_action(
        &mut tx,
        scope,
        id,
        PARQUET_ROLES,
        "Seul le parquet destinataire peut ouvrir une enquête sur ce signalement.",
    )
    .await?;
    referral_transition(r.status, ReferralStatus::UnderInvestigation)?;
    record_status(
        &mut tx,
        &scope.actor,
        id,
        Change {
            from: r.status,
            to: ReferralStatus::UnderInvestigation,
            parquet_id: access.parquet_id(),
            comment: None,
        },
        now,
    )
    .await?;
    notify_author(&mut tx, id, None, None, now).await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "referral.start_investigation",
        "referral",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, scope, id).await?)
}

/// The decision (art. 40-1): poursuites (with the hearing date if known), an alternative, or a classement sans
/// suite with its legal reason; only a magistrate of the parquet decides. The author is told the outcome, the
/// reason of a classement and the appeal right of art. 40-3.
pub async fn decide(
    db: &Db,
    scope: &Scope,
    id: &str,
    decision: &ReferralDecision,
    text: Option<&str>,
) -> PResult<Referral> {
    let now = crate::now();
    let mut tx = db.begin().await?;
    let (access, r) = parquet_action(
        &mut tx,
        scope,
        id,
        &[Role::ParquetMagistrate],
        "Seul un magistrat du parquet destinataire peut rendre la décision.",
    )
    .await?;
    referral_transition(r.status, ReferralStatus::Decided)?;
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > MAX_DESCRIPTION) {
        return Err(ParquetError::Invalid(vec![too_long(
            "decision_text",
            MAX_DESCRIPTION,
        )]));
    }
    let (reason, hearing) = match decision {
        ReferralDecision::Poursuites { court_date } => (None, court_date.map(|d| d.to_string())),
        ReferralDecision::AlternativeAuxPoursuites { alternative } => {
            (Some(alternative.as_str()), None)
        }
        ReferralDecision::ClassementSansSuite { reason } => (Some(reason.as_str()), None),
    };
    let details = serde_json::to_string(decision).expect("a decision serialises");
    sqlx::query(
        "UPDATE referrals SET decision_kind = $2, decision_details = $3, decision_reason = $4, decision_text = $5, \
         hearing_date = $6, decided_at = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(decision.kind().as_str())
    .bind(&details)
    .bind(reason)
    .bind(text)
    .bind(hearing)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    record_status(
        &mut tx,
        &scope.actor,
        id,
        Change {
            from: r.status,
            to: ReferralStatus::Decided,
            parquet_id: access.parquet_id(),
            comment: None,
        },
        now,
    )
    .await?;
    notify_author(&mut tx, id, None, None, now).await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "referral.decide",
        "referral",
        Some(id),
        Some(serde_json::from_str(&details).unwrap_or_default()),
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, scope, id).await?)
}

/// Sends the referral on to another parquet (this one is not competent), with a reason. The referral leaves
/// this parquet's inbox and arrives in the other's as a new « sent » one (case number, magistrate and urgent
/// acknowledgement start over); the author is told, and an urgent referral alerts the new duty contact.
pub async fn transfer(
    db: &Db,
    scope: &Scope,
    id: &str,
    target_parquet_id: &str,
    reason: &str,
) -> PResult<Referral> {
    let now = crate::now();
    let mut tx = db.begin().await?;
    let (access, r) = parquet_action(
        &mut tx,
        scope,
        id,
        PARQUET_ROLES,
        "Seul le parquet destinataire peut transmettre ce signalement.",
    )
    .await?;
    referral_transition(r.status, ReferralStatus::Transferred)?;
    let mut errors = Vec::new();
    let reason = reason.trim();
    if reason.is_empty() {
        errors.push(FieldError::new(
            "reason",
            K::Missing,
            "Indiquez pourquoi le signalement est transmis à un autre parquet.",
        ));
    } else if reason.chars().count() > MAX_TEXT {
        errors.push(too_long("reason", MAX_TEXT));
    }
    if Some(target_parquet_id) == access.parquet_id() {
        errors.push(FieldError::new(
            "target_parquet_id",
            K::Inconsistent,
            "Choisissez un autre parquet que le vôtre.",
        ));
    } else if !is_active_parquet(&mut tx, target_parquet_id).await? {
        errors.push(FieldError::new(
            "target_parquet_id",
            K::Unknown,
            "Parquet inconnu : choisissez-le dans la liste.",
        ));
    }
    if !errors.is_empty() {
        return Err(ParquetError::Invalid(errors));
    }
    let from_parquet = access.parquet_id().expect("parquet action").to_string();
    let from_name = r.parquet_name.clone().unwrap_or_default();
    record_status(
        &mut tx,
        &scope.actor,
        id,
        Change {
            from: r.status,
            to: ReferralStatus::Transferred,
            parquet_id: Some(&from_parquet),
            comment: Some(reason),
        },
        now,
    )
    .await?;
    sqlx::query(
        "UPDATE referrals SET parquet_id = $2, parquet_case_number = NULL, magistrate_user_id = NULL, \
         registered_at = NULL, acknowledged_at = NULL, acknowledged_by = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(target_parquet_id)
    .execute(&mut *tx)
    .await?;
    // The receiving parquet gets it as a new « sent » referral (domain: Transferred is final for the sender).
    record_status(
        &mut tx,
        &scope.actor,
        id,
        Change {
            from: ReferralStatus::Transferred,
            to: ReferralStatus::Sent,
            parquet_id: Some(target_parquet_id),
            comment: Some(&format!("Reçu par transmission du {from_name}")),
        },
        now,
    )
    .await?;
    notify_author(&mut tx, id, Some(&from_name), Some(reason), now).await?;
    let alerts = if r.urgent {
        Some(alert_duty_contact(&mut tx, id, now).await?)
    } else {
        None
    };
    audit::record(
        &mut *tx,
        &scope.actor,
        "referral.transfer",
        "referral",
        Some(id),
        Some(serde_json::json!({
            "from_parquet_id": from_parquet, "to_parquet_id": target_parquet_id, "reason": reason,
            "duty_alert": alerts,
        })),
    )
    .await?;
    tx.commit().await?;
    // The sender no longer sees it: answer with the system view of the new state.
    let mut conn = db.pool().acquire().await.map_err(StoreError::from)?;
    Ok(fetch(&mut conn, &ReferralAccess::All, id, false).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn tracking_numbers_have_six_digits() {
        assert_eq!(format_tracking_number(2027, 123), "IP-2027-000123");
        assert_eq!(format_tracking_number(2027, 1_234_567), "IP-2027-1234567");
    }

    #[test]
    fn facts_dates_must_be_real_past_and_in_order() {
        let today = d("2027-06-01");
        let errs = check_facts(
            &FactsInput {
                description: "x".into(),
                start_date: "2027-05-10".into(),
                end_date: "2027-05-01".into(),
            },
            today,
        )
        .unwrap_err();
        assert_eq!(errs[0].field, "facts.end_date");
        assert_eq!(errs[0].kind, K::Inconsistent);
        let errs = check_facts(
            &FactsInput {
                description: "".into(),
                start_date: "2027-02-30".into(),
                end_date: "2027-07-01".into(),
            },
            today,
        )
        .unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(errs[0].message.starts_with("Date invalide"));
        assert_eq!(errs[1].message, "La date ne peut pas être dans le futur.");
        let ok = check_facts(
            &FactsInput {
                description: " Travail dissimulé ".into(),
                start_date: "2027-01-01".into(),
                end_date: "".into(),
            },
            today,
        )
        .unwrap();
        assert_eq!(ok.description, "Travail dissimulé");
        assert_eq!(ok.end, None);
    }

    #[test]
    fn persons_are_checked_field_by_field_with_the_siren_key() {
        let errs = check_persons(
            &[
                PersonInput {
                    kind: "legal".into(),
                    role: "suspect".into(),
                    legal_name: "SARL Exemple".into(),
                    siren: "552100555".into(),
                    ..Default::default()
                },
                PersonInput {
                    kind: "natural".into(),
                    role: "boss".into(),
                    ..Default::default()
                },
            ],
            d("2027-06-01"),
        )
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "persons[0].siren",
                "persons[1].role",
                "persons[1].last_name"
            ]
        );
        assert!(errs[0].message.contains("clé de contrôle"));
        let ok = check_persons(
            &[PersonInput {
                kind: "legal".into(),
                role: "suspect".into(),
                legal_name: "SARL Exemple".into(),
                siren: "552 100 554".into(),
                first_name: "ignored".into(),
                ..Default::default()
            }],
            d("2027-06-01"),
        )
        .unwrap();
        assert_eq!(ok[0].siren.as_deref(), Some("552100554"));
        assert_eq!(ok[0].first_name, None);
    }

    #[test]
    fn urgency_needs_a_reason_and_offences_are_deduplicated() {
        assert_eq!(
            check_urgency(&UrgencyInput {
                urgent: true,
                reason: " ".into()
            })
            .unwrap_err()[0]
                .field,
            "urgency.reason"
        );
        assert_eq!(
            check_urgency(&UrgencyInput {
                urgent: false,
                reason: "ignored".into()
            }),
            Ok(None)
        );
        let codes = check_offences(&["7875".into(), "007875".into(), "11".into()]).unwrap();
        assert_eq!(codes.len(), 2);
        assert_eq!(
            check_offences(&["x".into()]).unwrap_err()[0].field,
            "offences[0]"
        );
        assert_eq!(
            check_places(&[PlaceInput {
                insee: "9205".into(),
                address: String::new()
            }])
            .unwrap_err()[0]
                .field,
            "places[0].insee"
        );
    }
}
