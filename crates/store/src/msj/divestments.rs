//! Divestment ("dessaisissement"): an organisation asks another to take over a PPSMJ. The receiver accepts or
//! refuses with a comment; without an answer the request is accepted automatically after 10 days. On acceptance
//! the record's owner moves and the sender stops following it (so loses access, unless it sees the record through
//! another following organisation). Both sides keep seeing the requests themselves: the trail.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{bind_all, history, ppsmj, MsjError, MsjResult};
use crate::{audit, Actor, Db, Result, Scope, StoreError, Tx};

/// Days without answer after which a request is accepted (docs/DOMAIN.md).
pub const AUTO_ACCEPT_DAYS: i64 = 10;

/// A request is accepted at once when the person's last appointment is older than this ("more than 6 months":
/// 183 days, counted from the appointment's start).
pub const IDLE_DAYS: i64 = 183;

/// Longest refusal comment (characters): it is shown to the requester as a short reason.
pub const ANSWER_COMMENT_MAX_CHARS: usize = 120;

/// Why a request was accepted at once, without waiting for the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImmediateReason {
    Archived,
    NoAppointment,
    Idle,
}

impl ImmediateReason {
    /// Written as the answer comment, so both sides read it in the trail.
    pub fn text(self) -> &'static str {
        match self {
            ImmediateReason::Archived => "Acceptée immédiatement : le dossier est archivé.",
            ImmediateReason::NoAppointment => {
                "Acceptée immédiatement : la personne n'a aucun rendez-vous."
            }
            ImmediateReason::Idle => {
                "Acceptée immédiatement : le dernier rendez-vous date de plus de 6 mois."
            }
        }
    }

    pub fn parse_text(s: &str) -> Option<Self> {
        [
            ImmediateReason::Archived,
            ImmediateReason::NoAppointment,
            ImmediateReason::Idle,
        ]
        .into_iter()
        .find(|r| r.text() == s)
    }
}

/// Whether a request for this person is accepted at once: archived record, no appointment (canceled ones do not
/// count), or a last appointment that started more than `IDLE_DAYS` before `now`.
async fn immediate_reason(
    tx: &mut Tx<'_>,
    p: &ppsmj::Ppsmj,
    now: i64,
) -> Result<Option<ImmediateReason>> {
    if p.archived_at.is_some() {
        return Ok(Some(ImmediateReason::Archived));
    }
    let last: Option<i64> = sqlx::query(
        "SELECT MAX(starts_at) FROM appointments WHERE ppsmj_id = $1 AND state <> 'canceled'",
    )
    .bind(&p.id)
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    Ok(match last {
        None => Some(ImmediateReason::NoAppointment),
        Some(at) if at < now - IDLE_DAYS * 86_400 => Some(ImmediateReason::Idle),
        Some(_) => None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DivestmentState {
    Pending,
    Accepted,
    Refused,
    AutoAccepted,
}

impl DivestmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            DivestmentState::Pending => "pending",
            DivestmentState::Accepted => "accepted",
            DivestmentState::Refused => "refused",
            DivestmentState::AutoAccepted => "auto_accepted",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DivestmentState::Pending => "En attente de réponse",
            DivestmentState::Accepted => "Acceptée",
            DivestmentState::Refused => "Refusée",
            DivestmentState::AutoAccepted => "Acceptée automatiquement",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            DivestmentState::Pending,
            DivestmentState::Accepted,
            DivestmentState::Refused,
            DivestmentState::AutoAccepted,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divestment {
    pub id: String,
    pub ppsmj_id: String,
    pub from_organisation_id: String,
    pub to_organisation_id: String,
    pub state: DivestmentState,
    pub request_comment: Option<String>,
    pub answer_comment: Option<String>,
    pub requested_by_label: String,
    pub answered_by_label: Option<String>,
    pub created_at: i64,
    pub answered_at: Option<i64>,
}

const COLUMNS: &str = "d.id, d.ppsmj_id, d.from_organisation_id, d.to_organisation_id, d.state, \
    d.request_comment, d.answer_comment, d.requested_by_label, d.answered_by_label, d.created_at, d.answered_at";

fn from_row(r: &AnyRow) -> Result<Divestment> {
    let state: String = r.get("state");
    Ok(Divestment {
        id: r.get("id"),
        ppsmj_id: r.get("ppsmj_id"),
        from_organisation_id: r.get("from_organisation_id"),
        to_organisation_id: r.get("to_organisation_id"),
        state: DivestmentState::parse(&state).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Decode(
                format!("unknown divestment state {state}").into(),
            ))
        })?,
        request_comment: r.get("request_comment"),
        answer_comment: r.get("answer_comment"),
        requested_by_label: r.get("requested_by_label"),
        answered_by_label: r.get("answered_by_label"),
        created_at: r.get("created_at"),
        answered_at: r.get("answered_at"),
    })
}

/// Requests divestment of a record owned by an organisation of the scope to `to_organisation_id` (a SPIP or a TJ
/// anywhere in France: the receiver need not be linked).
pub async fn request(
    db: &Db,
    scope: &Scope,
    ppsmj_id: &str,
    to_organisation_id: &str,
    comment: &str,
    now: i64,
) -> MsjResult<Divestment> {
    let mut tx = db.begin().await?;
    let p = ppsmj::fetch_tx(&mut tx, scope, ppsmj_id).await?;
    // Seeing the record (a linked TJ does) is not owning it: only the owner, with a role that manages files.
    if !scope.allows(crate::Action::ManageFile, &p.organisation_id) {
        return Err(MsjError::Forbidden(
            "Seul le service en charge du dossier peut demander un dessaisissement.".into(),
        ));
    }
    let kind: Option<String> =
        sqlx::query("SELECT kind FROM organisations WHERE id = $1 AND active = 1")
            .bind(to_organisation_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get(0));
    match kind.as_deref() {
        Some("spip") | Some("tj") => {}
        _ => {
            return Err(MsjError::Rule(
                "Le service destinataire doit être un SPIP ou un tribunal judiciaire actif.".into(),
            ))
        }
    }
    if to_organisation_id == p.organisation_id {
        return Err(MsjError::Rule(
            "Ce service est déjà en charge du dossier.".into(),
        ));
    }
    let id = crate::new_id();
    let comment = comment.trim();
    sqlx::query(
        "INSERT INTO divestments (id, ppsmj_id, from_organisation_id, to_organisation_id, state, request_comment, \
         requested_by, requested_by_label, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(ppsmj_id)
    .bind(&p.organisation_id)
    .bind(to_organisation_id)
    .bind((!comment.is_empty()).then_some(comment))
    .bind(scope.actor.user_id.as_deref())
    .bind(&scope.actor.label)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => MsjError::Rule(
            "Une demande de dessaisissement est déjà en cours pour ce dossier.".into(),
        ),
        other => other.into(),
    })?;
    let details = serde_json::json!({ "divestment_id": id, "from": p.organisation_id, "to": to_organisation_id });
    history(
        &mut *tx,
        &scope.actor,
        ppsmj_id,
        None,
        "divestment.request",
        Some(details.clone()),
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "divestment.request",
        "ppsmj",
        Some(ppsmj_id),
        Some(details),
    )
    .await?;
    let d = fetch_tx(&mut tx, scope, &id).await?;
    let d = match immediate_reason(&mut tx, &p, now).await? {
        Some(reason) => {
            let actor = Actor::system("acceptation immédiate des dessaisissements");
            settle_tx(
                &mut tx,
                &actor,
                &d,
                DivestmentState::AutoAccepted,
                reason.text(),
                now,
            )
            .await?;
            fetch_tx(&mut tx, scope, &id).await?
        }
        None => d,
    };
    tx.commit().await?;
    Ok(d)
}

async fn fetch_tx(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> Result<Divestment> {
    let (from_cond, mut binds) = scope.visible_filter("d.from_organisation_id", 2);
    let (to_cond, to_binds) = scope.visible_filter("d.to_organisation_id", 2 + binds.len());
    binds.extend(to_binds);
    let sql = format!(
        "SELECT {COLUMNS} FROM divestments d WHERE d.id = $1 AND ({from_cond} OR {to_cond})"
    );
    let row = bind_all(sqlx::query(&sql).bind(id), &binds)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

/// A request seen by either side.
pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<Divestment> {
    let mut tx = db.begin().await?;
    let d = fetch_tx(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(d)
}

/// Requests sent or received by organisations the scope sees, optionally of one record, newest first. Both sides
/// keep seeing them after the record has moved.
pub async fn list(db: &Db, scope: &Scope, ppsmj_id: Option<&str>) -> Result<Vec<Divestment>> {
    let (from_cond, mut binds) = scope.visible_filter("d.from_organisation_id", 2);
    let (to_cond, to_binds) = scope.visible_filter("d.to_organisation_id", 2 + binds.len());
    binds.extend(to_binds);
    let sql = format!(
        "SELECT {COLUMNS} FROM divestments d WHERE ($1 = '' OR d.ppsmj_id = $1) AND ({from_cond} OR {to_cond}) \
         ORDER BY d.created_at DESC, d.id"
    );
    let rows = bind_all(sqlx::query(&sql).bind(ppsmj_id.unwrap_or("")), &binds)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// The receiver accepts or refuses (a refusal needs a comment). Only an agent of the receiving organisation (or
/// of one of its antennas) answers, not one of a merely linked organisation.
pub async fn answer(
    db: &Db,
    scope: &Scope,
    id: &str,
    accept: bool,
    comment: &str,
    now: i64,
) -> MsjResult<Divestment> {
    let mut tx = db.begin().await?;
    let d = fetch_tx(&mut tx, scope, id).await?;
    if !may_answer_tx(&mut tx, scope, &d).await? {
        return Err(MsjError::Forbidden(
            "Seul le service destinataire peut répondre à cette demande.".into(),
        ));
    }
    if d.state != DivestmentState::Pending {
        return Err(MsjError::Rule(
            "Cette demande a déjà reçu une réponse.".into(),
        ));
    }
    if !accept && comment.trim().is_empty() {
        let mut e = super::FieldErrors::default();
        e.push("comment", "Indiquez le motif du refus.");
        return Err(MsjError::Invalid(e));
    }
    if comment.trim().chars().count() > ANSWER_COMMENT_MAX_CHARS {
        let mut e = super::FieldErrors::default();
        e.push(
            "comment",
            format!(
                "Le commentaire est limité à {ANSWER_COMMENT_MAX_CHARS} caractères : raccourcissez-le."
            ),
        );
        return Err(MsjError::Invalid(e));
    }
    let state = if accept {
        DivestmentState::Accepted
    } else {
        DivestmentState::Refused
    };
    settle_tx(&mut tx, &scope.actor, &d, state, comment, now).await?;
    if !accept {
        // Linked requests: the other pending requests for the same person (this record, or another record of
        // the same name and birth date) addressed to the same receiving service. It refuses them all at once.
        for other in linked_pending_tx(&mut tx, &d).await? {
            settle_tx(&mut tx, &scope.actor, &other, state, comment, now).await?;
        }
    }
    let d = fetch_tx(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(d)
}

/// The receiving service (or one of its antennas), with a role that manages files (not the prosecutor's
/// read-only role); a national scope too.
async fn may_answer_tx(tx: &mut Tx<'_>, scope: &Scope, d: &Divestment) -> Result<bool> {
    if scope.is_national() {
        return Ok(true);
    }
    let actor_org = scope.actor.organisation_id.as_deref().unwrap_or("");
    let receiver =
        sqlx::query("SELECT 1 FROM organisations WHERE id = $1 AND (id = $2 OR parent_id = $2)")
            .bind(actor_org)
            .bind(&d.to_organisation_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(receiver.is_some() && scope.actor.role.is_some_and(crate::policy::manages_files))
}

/// The other pending requests for the same person (same record, or a record with the same names and birth date)
/// to the same receiving service.
async fn linked_pending_tx(tx: &mut Tx<'_>, d: &Divestment) -> Result<Vec<Divestment>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM divestments d JOIN ppsmj p ON p.id = d.ppsmj_id \
         JOIN ppsmj q ON q.id = $2 \
         WHERE d.state = 'pending' AND d.id <> $1 AND d.to_organisation_id = $3 \
         AND (p.id = q.id OR (p.last_name_key = q.last_name_key AND p.first_name_key = q.first_name_key \
         AND p.birth_date = q.birth_date)) ORDER BY d.created_at, d.id"
    ))
    .bind(&d.id)
    .bind(&d.ppsmj_id)
    .bind(&d.to_organisation_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(from_row).collect()
}

/// What the receiving service sees of the person before deciding: identity, measures, next appointments.
#[derive(Clone, Debug)]
pub struct DecisionView {
    pub divestment: Divestment,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: chrono::NaiveDate,
    /// Measures, oldest start first.
    pub measures: Vec<DecisionMeasure>,
    /// Booked appointments from `now`, soonest first.
    pub next_appointments: Vec<DecisionAppointment>,
}

#[derive(Clone, Debug)]
pub struct DecisionMeasure {
    pub kind: domain::MeasureKind,
    pub start_date: chrono::NaiveDate,
    pub end_date: Option<chrono::NaiveDate>,
}

#[derive(Clone, Debug)]
pub struct DecisionAppointment {
    pub starts_at: i64,
    pub type_label: String,
    /// Organisation of the agenda, for its time zone.
    pub organisation_id: String,
}

/// The data needed to decide on a pending request, for the agents who may answer it (403 otherwise, 404 when the
/// request is not visible). Each read is written to the audit journal.
pub async fn decision_view(db: &Db, scope: &Scope, id: &str, now: i64) -> MsjResult<DecisionView> {
    let mut tx = db.begin().await?;
    let d = fetch_tx(&mut tx, scope, id).await?;
    if d.state != DivestmentState::Pending {
        return Err(MsjError::Rule(
            "Cette demande a déjà reçu une réponse.".into(),
        ));
    }
    if !may_answer_tx(&mut tx, scope, &d).await? {
        return Err(MsjError::Forbidden(
            "Seul le service destinataire peut consulter ces informations.".into(),
        ));
    }
    let r = sqlx::query("SELECT first_name, last_name, birth_date FROM ppsmj WHERE id = $1")
        .bind(&d.ppsmj_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let birth: String = r.get("birth_date");
    let birth_date = chrono::NaiveDate::parse_from_str(&birth, "%Y-%m-%d").map_err(|_| {
        StoreError::Database(sqlx::Error::Decode(
            format!("bad birth date {birth}").into(),
        ))
    })?;
    let measures = super::measures::measures_of(&mut tx, &d.ppsmj_id)
        .await?
        .into_iter()
        .map(|m| DecisionMeasure {
            kind: m.kind,
            start_date: m.start_date,
            end_date: m.end_date,
        })
        .collect();
    let next_appointments = sqlx::query(
        "SELECT a.starts_at, a.organisation_id, t.label FROM appointments a \
         JOIN appointment_types t ON t.id = a.appointment_type_id \
         WHERE a.ppsmj_id = $1 AND a.state = 'booked' AND a.starts_at >= $2 ORDER BY a.starts_at LIMIT 10",
    )
    .bind(&d.ppsmj_id)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| DecisionAppointment {
        starts_at: r.get("starts_at"),
        type_label: r.get("label"),
        organisation_id: r.get("organisation_id"),
    })
    .collect();
    audit::record(
        &mut *tx,
        &scope.actor,
        "divestment.read",
        "ppsmj",
        Some(&d.ppsmj_id),
        Some(serde_json::json!({ "divestment_id": d.id })),
    )
    .await?;
    tx.commit().await?;
    Ok(DecisionView {
        divestment: d,
        first_name: r.get("first_name"),
        last_name: r.get("last_name"),
        birth_date,
        measures,
        next_appointments,
    })
}

/// Closes a pending request; on acceptance moves the record to the receiver.
async fn settle_tx(
    tx: &mut Tx<'_>,
    actor: &Actor,
    d: &Divestment,
    state: DivestmentState,
    comment: &str,
    now: i64,
) -> MsjResult<()> {
    let comment = comment.trim();
    let changed = sqlx::query(
        "UPDATE divestments SET state = $2, answer_comment = $3, answered_by = $4, answered_by_label = $5, \
         answered_at = $6 WHERE id = $1 AND state = 'pending'",
    )
    .bind(&d.id)
    .bind(state.as_str())
    .bind((!comment.is_empty()).then_some(comment))
    .bind(actor.user_id.as_deref())
    .bind(&actor.label)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(MsjError::Rule(
            "Cette demande a déjà reçu une réponse.".into(),
        ));
    }
    if state != DivestmentState::Refused {
        // The referent CPIP belonged to the sender: the receiver names its own.
        sqlx::query(
            "UPDATE ppsmj SET organisation_id = $2, referent_user_id = NULL, updated_at = $3, \
             last_activity_at = $3 WHERE id = $1",
        )
        .bind(&d.ppsmj_id)
        .bind(&d.to_organisation_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM ppsmj_organisations WHERE ppsmj_id = $1 AND organisation_id = $2")
            .bind(&d.ppsmj_id)
            .bind(&d.from_organisation_id)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO ppsmj_organisations (ppsmj_id, organisation_id, since) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&d.ppsmj_id)
        .bind(&d.to_organisation_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    let action = format!("divestment.{}", state.as_str());
    let details = serde_json::json!({ "divestment_id": d.id, "from": d.from_organisation_id,
        "to": d.to_organisation_id });
    history(
        &mut **tx,
        actor,
        &d.ppsmj_id,
        None,
        &action,
        Some(details.clone()),
        now,
    )
    .await?;
    audit::record(
        &mut **tx,
        actor,
        &action,
        "ppsmj",
        Some(&d.ppsmj_id),
        Some(details),
    )
    .await?;
    Ok(())
}

/// Nightly job: accepts every request left unanswered for 10 days, all in one transaction. Returns how many.
pub async fn auto_accept_expired(db: &Db, now: i64) -> MsjResult<u64> {
    let actor = Actor::system("acceptation automatique des dessaisissements");
    let mut tx = db.begin().await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM divestments d WHERE d.state = 'pending' AND d.created_at <= $1 ORDER BY d.created_at"
    ))
    .bind(now - AUTO_ACCEPT_DAYS * 86_400)
    .fetch_all(&mut *tx)
    .await?;
    let due = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    for d in &due {
        settle_tx(
            &mut tx,
            &actor,
            d,
            DivestmentState::AutoAccepted,
            "Sans réponse sous 10 jours.",
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(due.len() as u64)
}
