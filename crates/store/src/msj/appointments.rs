//! Booking, cancelling, rebooking and recording the outcome of appointments, and the agents' work queue.
//!
//! Capacity is taken atomically: `UPDATE slots SET used = used + 1 WHERE … AND used < capacity`, and the booking
//! fails when no row changed. On PostgreSQL the second of two concurrent bookings waits on the row lock, then
//! re-checks the condition against the committed row; on SQLite the single connection serialises them.
//!
//! Each change returns the [`MessageEvent`]s it calls for; the `*_tx` variants let the messaging layer write its
//! outbox rows in the same transaction.

use domain::{transition, AppointmentAction, AppointmentState};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::places::{self, AppointmentType};
use super::ppsmj::{self, Ppsmj};
use super::{
    agendas, bind_all, history, role_books, MessageEvent, MessageKind, MsjError, MsjResult,
};
use crate::roles::RoleGroup;
use crate::{audit, Db, Result, Scope, StoreError, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appointment {
    pub id: String,
    pub ppsmj_id: String,
    pub agenda_id: String,
    pub place_id: String,
    /// Organisation of the agenda.
    pub organisation_id: String,
    pub slot_id: Option<String>,
    pub appointment_type_id: String,
    pub starts_at: i64,
    pub local_date: chrono::NaiveDate,
    pub state: AppointmentState,
    /// The appointment this one replaces (rebooking).
    pub previous_appointment_id: Option<String>,
    pub created_by: Option<String>,
    pub created_by_label: String,
    pub cancel_reason: Option<String>,
    pub canceled_at: Option<i64>,
    pub outcome_recorded_by: Option<String>,
    pub outcome_recorded_at: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "a.id, a.ppsmj_id, a.agenda_id, a.place_id, a.organisation_id, a.slot_id, \
    a.appointment_type_id, a.starts_at, a.local_date, a.state, a.previous_appointment_id, a.created_by, \
    a.created_by_label, a.cancel_reason, a.canceled_at, a.outcome_recorded_by, a.outcome_recorded_at, a.created_at";

fn from_row(r: &AnyRow) -> Result<Appointment> {
    let state: String = r.get("state");
    Ok(Appointment {
        id: r.get("id"),
        ppsmj_id: r.get("ppsmj_id"),
        agenda_id: r.get("agenda_id"),
        place_id: r.get("place_id"),
        organisation_id: r.get("organisation_id"),
        slot_id: r.get("slot_id"),
        appointment_type_id: r.get("appointment_type_id"),
        starts_at: r.get("starts_at"),
        local_date: super::parse_date(&r.get::<String, _>("local_date"))?,
        state: state
            .parse()
            .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?,
        previous_appointment_id: r.get("previous_appointment_id"),
        created_by: r.get("created_by"),
        created_by_label: r.get("created_by_label"),
        cancel_reason: r.get("cancel_reason"),
        canceled_at: r.get("canceled_at"),
        outcome_recorded_by: r.get("outcome_recorded_by"),
        outcome_recorded_at: r.get("outcome_recorded_at"),
        created_at: r.get("created_at"),
    })
}

/// When the appointment takes place: in a slot of the agenda, or at a free time (types without slots).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum When {
    Slot(String),
    At(i64),
}

#[derive(Clone, Debug)]
pub struct BookRequest {
    pub ppsmj_id: String,
    pub agenda_id: String,
    pub appointment_type_id: String,
    pub when: When,
    pub now: i64,
}

/// A booking (or rebooking) made.
#[derive(Clone, Debug)]
pub struct Booked {
    pub appointment: Appointment,
    /// Messages to send (summon, or reschedule for a rebooking).
    pub messages: Vec<MessageEvent>,
    /// Set when no SMS can reach the person: the agent hands over a paper convocation (docs/DOMAIN.md).
    pub sms_warning: Option<String>,
}

/// A change to an existing appointment.
#[derive(Clone, Debug)]
pub struct Changed {
    pub appointment: Appointment,
    pub messages: Vec<MessageEvent>,
}

/// Why no SMS can be sent to this person, in the words shown to the agent at booking.
pub fn sms_warning(p: &Ppsmj) -> Option<String> {
    let why = if p.no_phone {
        "la personne n'a pas de téléphone"
    } else if p.refused_phone {
        "la personne a refusé de communiquer son téléphone"
    } else if p.sms_opt_out_at.is_some() {
        "la personne a demandé à ne plus recevoir de SMS"
    } else if p.phone.is_none() {
        "aucun numéro de portable n'est enregistré"
    } else if !p.phone_mobile {
        "le numéro enregistré n'est pas un portable"
    } else {
        return None;
    };
    Some(format!(
        "Aucun SMS ne sera envoyé : {why}. Remettez-lui la convocation imprimée."
    ))
}

fn event(kind: MessageKind, a: &Appointment, p: &Ppsmj) -> MessageEvent {
    MessageEvent {
        kind,
        appointment_id: a.id.clone(),
        ppsmj_id: a.ppsmj_id.clone(),
        organisation_id: a.organisation_id.clone(),
        sms_possible: p.sms_possible(),
    }
}

/// Prosecutors (and anyone outside MSJ) read, but do not change appointments.
fn require_agent(scope: &Scope) -> MsjResult<()> {
    match scope.actor.role.map(|r| r.group()) {
        None
        | Some(RoleGroup::Bex)
        | Some(RoleGroup::Sap)
        | Some(RoleGroup::Spip)
        | Some(RoleGroup::LocalAdmin)
        | Some(RoleGroup::National) => Ok(()),
        Some(_) => Err(MsjError::Forbidden(
            "Votre rôle ne permet pas de modifier les rendez-vous.".into(),
        )),
    }
}

fn require_may_book(scope: &Scope, ty: &AppointmentType, organisation_id: &str) -> MsjResult<()> {
    let allowed = role_books(scope.actor.role, &ty.booked_by)
        // A local admin books any type, but only in its own organisation's agendas.
        && (scope.actor.role.map(|r| r.group()) != Some(RoleGroup::LocalAdmin)
            || scope.can_manage(organisation_id));
    if allowed {
        Ok(())
    } else {
        Err(MsjError::Forbidden(format!(
            "Votre rôle ne permet pas de planifier « {} ».",
            ty.label
        )))
    }
}

async fn org_tz(tx: &mut Tx<'_>, organisation_id: &str) -> Result<chrono_tz::Tz> {
    let tz: String = sqlx::query("SELECT time_zone FROM organisations WHERE id = $1")
        .bind(organisation_id)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
    super::parse_tz(&tz)
}

/// Books an appointment (one transaction).
pub async fn book(db: &Db, scope: &Scope, req: &BookRequest) -> MsjResult<Booked> {
    let mut tx = db.begin().await?;
    let booked = book_tx(&mut tx, scope, req, None).await?;
    tx.commit().await?;
    Ok(booked)
}

/// Books in the caller's transaction; `previous` links a rebooking to the appointment it replaces.
pub async fn book_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    req: &BookRequest,
    previous: Option<&str>,
) -> MsjResult<Booked> {
    require_agent(scope)?;
    let p = ppsmj::fetch_tx(tx, scope, &req.ppsmj_id).await?;
    if p.archived_at.is_some() {
        return Err(MsjError::Rule(
            "Ce dossier est archivé : restaurez-le avant de planifier un rendez-vous.".into(),
        ));
    }
    let agenda = agendas::get_tx(tx, scope, &req.agenda_id).await?;
    if !agenda.active {
        return Err(MsjError::Rule("Cet agenda n'est plus utilisé.".into()));
    }
    let ty = places::appointment_type_tx(tx, &req.appointment_type_id).await?;
    require_may_book(scope, &ty, &agenda.organisation_id)?;
    if !places::offers_tx(tx, &agenda.place_id, &ty.id).await? {
        return Err(MsjError::Rule(format!(
            "Ce lieu ne propose pas « {} ».",
            ty.label
        )));
    }
    let (slot_id, starts_at) = match &req.when {
        When::Slot(slot_id) => {
            let slot = agendas::slot_tx(tx, scope, slot_id).await?;
            if slot.agenda_id != agenda.id || slot.appointment_type_id != ty.id {
                return Err(MsjError::Rule(
                    "Ce créneau n'appartient pas à cet agenda ou à ce type de rendez-vous.".into(),
                ));
            }
            if slot.closed {
                return Err(MsjError::Rule(
                    "Ce créneau est fermé : choisissez un autre créneau.".into(),
                ));
            }
            (Some(slot.id), slot.starts_at)
        }
        When::At(_) if ty.uses_slots => {
            return Err(MsjError::Rule(format!(
                "« {} » se planifie dans un créneau de l'agenda.",
                ty.label
            )))
        }
        When::At(at) => (None, *at),
    };
    transition(
        AppointmentState::Created,
        AppointmentAction::Book,
        super::utc(starts_at),
        super::utc(req.now),
    )?;
    if let Some(slot_id) = &slot_id {
        let taken = sqlx::query(
            "UPDATE slots SET used = used + 1 WHERE id = $1 AND used < capacity AND closed = 0",
        )
        .bind(slot_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if taken == 0 {
            return Err(MsjError::SlotFull);
        }
    }
    let tz = org_tz(tx, &agenda.organisation_id).await?;
    let local_date = super::utc(starts_at).with_timezone(&tz).date_naive();
    let id = crate::new_id();
    sqlx::query(
        "INSERT INTO appointments (id, ppsmj_id, agenda_id, place_id, organisation_id, slot_id, appointment_type_id, \
         starts_at, local_date, state, previous_appointment_id, created_by, created_by_label, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'booked', $10, $11, $12, $13, $13)",
    )
    .bind(&id)
    .bind(&p.id)
    .bind(&agenda.id)
    .bind(&agenda.place_id)
    .bind(&agenda.organisation_id)
    .bind(slot_id.as_deref())
    .bind(&ty.id)
    .bind(starts_at)
    .bind(local_date.to_string())
    .bind(previous)
    .bind(scope.actor.user_id.as_deref())
    .bind(&scope.actor.label)
    .bind(req.now)
    .execute(&mut **tx)
    .await?;
    // The organisation whose agenda receives the PPSMJ follows them from now on (the SPIP after a BEX booking).
    ppsmj::add_following_tx(tx, scope, &p.id, &agenda.organisation_id, req.now).await?;
    ppsmj::touch(tx, &p.id, req.now).await?;
    let details = serde_json::json!({
        "appointment_type_id": ty.id, "agenda_id": agenda.id, "slot_id": slot_id, "starts_at": starts_at,
        "previous_appointment_id": previous,
    });
    let action = if previous.is_some() {
        "appointment.rebook"
    } else {
        "appointment.book"
    };
    history(
        &mut **tx,
        &scope.actor,
        &p.id,
        Some(&id),
        action,
        Some(details.clone()),
        req.now,
    )
    .await?;
    audit::record(
        &mut **tx,
        &scope.actor,
        action,
        "appointment",
        Some(&id),
        Some(details),
    )
    .await?;
    let appointment = get_tx(tx, scope, &id).await?;
    let kind = if previous.is_some() {
        MessageKind::Reschedule
    } else {
        MessageKind::Summon
    };
    Ok(Booked {
        messages: vec![event(kind, &appointment, &p)],
        sms_warning: sms_warning(&p),
        appointment,
    })
}

pub(crate) async fn get_tx(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> Result<Appointment> {
    let (cond, binds) = scope.visible_filter("a.organisation_id", 2);
    let sql = format!("SELECT {COLUMNS} FROM appointments a WHERE a.id = $1 AND {cond}");
    let row = bind_all(sqlx::query(&sql).bind(id), &binds)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

/// An appointment in an agenda of an organisation the scope sees.
pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<Appointment> {
    let mut tx = db.begin().await?;
    let a = get_tx(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(a)
}

/// Cancels a booked appointment and frees its place in the slot.
pub async fn cancel(
    db: &Db,
    scope: &Scope,
    id: &str,
    reason: &str,
    now: i64,
) -> MsjResult<Changed> {
    let mut tx = db.begin().await?;
    let changed = cancel_tx(&mut tx, scope, id, reason, now).await?;
    tx.commit().await?;
    Ok(changed)
}

pub async fn cancel_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    id: &str,
    reason: &str,
    now: i64,
) -> MsjResult<Changed> {
    require_agent(scope)?;
    let a = get_tx(tx, scope, id).await?;
    transition(
        a.state,
        AppointmentAction::Cancel,
        super::utc(a.starts_at),
        super::utc(now),
    )?;
    let reason = reason.trim();
    let changed = sqlx::query(
        "UPDATE appointments SET state = 'canceled', cancel_reason = $2, canceled_at = $3, updated_at = $3 \
         WHERE id = $1 AND state = 'booked'",
    )
    .bind(id)
    .bind((!reason.is_empty()).then_some(reason))
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(MsjError::Rule(
            "Ce rendez-vous vient d'être modifié par un autre agent : rechargez la page.".into(),
        ));
    }
    if let Some(slot_id) = &a.slot_id {
        sqlx::query("UPDATE slots SET used = used - 1 WHERE id = $1 AND used > 0")
            .bind(slot_id)
            .execute(&mut **tx)
            .await?;
    }
    ppsmj::touch(tx, &a.ppsmj_id, now).await?;
    // The reason may name personal circumstances: in the history (deleted with the record), not in the audit.
    history(
        &mut **tx,
        &scope.actor,
        &a.ppsmj_id,
        Some(id),
        "appointment.cancel",
        Some(serde_json::json!({ "reason": reason })),
        now,
    )
    .await?;
    audit::record(
        &mut **tx,
        &scope.actor,
        "appointment.cancel",
        "appointment",
        Some(id),
        None,
    )
    .await?;
    let appointment = get_tx(tx, scope, id).await?;
    let p = ppsmj::fetch_tx(tx, scope, &a.ppsmj_id).await;
    // Telling the person only makes sense before the time; the record may be out of scope after a divestment.
    let messages = match p {
        Ok(p) if a.starts_at > now => vec![event(MessageKind::Cancelation, &appointment, &p)],
        _ => vec![],
    };
    Ok(Changed {
        appointment,
        messages,
    })
}

/// Where and when the new appointment of a rebooking takes place.
#[derive(Clone, Debug)]
pub struct RebookRequest {
    pub agenda_id: String,
    pub appointment_type_id: String,
    pub when: When,
    pub reason: String,
    pub now: i64,
}

/// Rebooking: cancels `id` and books a new appointment linked to it, all or nothing. The old slot is freed first,
/// so moving within the same slot works. One "reschedule" message replaces the cancelation and the summon.
pub async fn rebook(db: &Db, scope: &Scope, id: &str, req: &RebookRequest) -> MsjResult<Booked> {
    let mut tx = db.begin().await?;
    let booked = rebook_tx(&mut tx, scope, id, req).await?;
    tx.commit().await?;
    Ok(booked)
}

pub async fn rebook_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    id: &str,
    req: &RebookRequest,
) -> MsjResult<Booked> {
    let reason = if req.reason.trim().is_empty() {
        "Rendez-vous replanifié"
    } else {
        req.reason.trim()
    };
    let old = cancel_tx(tx, scope, id, reason, req.now).await?;
    book_tx(
        tx,
        scope,
        &BookRequest {
            ppsmj_id: old.appointment.ppsmj_id.clone(),
            agenda_id: req.agenda_id.clone(),
            appointment_type_id: req.appointment_type_id.clone(),
            when: req.when.clone(),
            now: req.now,
        },
        Some(id),
    )
    .await
}

/// Plans the replacement of a missed appointment (absent or excused), linked to it by `previous_appointment_id`.
/// The missed one keeps its outcome; the person gets a summon for the new one. Refused from any other state, and
/// when a replacement already exists.
pub async fn book_replacement_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    missed_id: &str,
    req: &RebookRequest,
) -> MsjResult<Booked> {
    require_agent(scope)?;
    let missed = get_tx(tx, scope, missed_id).await?;
    if !matches!(
        missed.state,
        AppointmentState::NoShow | AppointmentState::Excused
    ) {
        return Err(MsjError::Rule(
            "Seul un rendez-vous manqué (absent ou excusé) peut être remplacé ainsi.".into(),
        ));
    }
    let existing: i64 = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM appointments WHERE previous_appointment_id = $1 AND state <> 'canceled'",
    )
    .bind(missed_id)
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    if existing > 0 {
        return Err(MsjError::Rule(
            "Un rendez-vous de remplacement est déjà planifié pour ce rendez-vous manqué.".into(),
        ));
    }
    let mut booked = book_tx(
        tx,
        scope,
        &BookRequest {
            ppsmj_id: missed.ppsmj_id.clone(),
            agenda_id: req.agenda_id.clone(),
            appointment_type_id: req.appointment_type_id.clone(),
            when: req.when.clone(),
            now: req.now,
        },
        Some(missed_id),
    )
    .await?;
    // Nothing was moved: the new appointment is a plain summons.
    for m in &mut booked.messages {
        m.kind = MessageKind::Summon;
    }
    Ok(booked)
}

/// The outcome of an appointment whose time has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Fulfilled,
    NoShow,
    Excused,
}

impl Outcome {
    fn action(self) -> AppointmentAction {
        match self {
            Outcome::Fulfilled => AppointmentAction::Fulfil,
            Outcome::NoShow => AppointmentAction::NoShow,
            Outcome::Excused => AppointmentAction::Excuse,
        }
    }
}

/// Records fulfilled / no-show / excused, only once the appointment time has come.
pub async fn record_outcome(
    db: &Db,
    scope: &Scope,
    id: &str,
    outcome: Outcome,
    now: i64,
) -> MsjResult<Changed> {
    let mut tx = db.begin().await?;
    let changed = record_outcome_tx(&mut tx, scope, id, outcome, now).await?;
    tx.commit().await?;
    Ok(changed)
}

pub async fn record_outcome_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    id: &str,
    outcome: Outcome,
    now: i64,
) -> MsjResult<Changed> {
    require_agent(scope)?;
    let a = get_tx(tx, scope, id).await?;
    let to = transition(
        a.state,
        outcome.action(),
        super::utc(a.starts_at),
        super::utc(now),
    )?;
    let changed = sqlx::query(
        "UPDATE appointments SET state = $2, outcome_recorded_by = $3, outcome_recorded_at = $4, updated_at = $4 \
         WHERE id = $1 AND state = 'booked'",
    )
    .bind(id)
    .bind(to.as_str())
    .bind(scope.actor.user_id.as_deref().unwrap_or(&scope.actor.label))
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(MsjError::Rule(
            "Ce rendez-vous vient d'être modifié par un autre agent : rechargez la page.".into(),
        ));
    }
    ppsmj::touch(tx, &a.ppsmj_id, now).await?;
    let details = serde_json::json!({ "state": to.as_str() });
    history(
        &mut **tx,
        &scope.actor,
        &a.ppsmj_id,
        Some(id),
        "appointment.outcome",
        Some(details.clone()),
        now,
    )
    .await?;
    audit::record(
        &mut **tx,
        &scope.actor,
        "appointment.outcome",
        "appointment",
        Some(id),
        Some(details),
    )
    .await?;
    let appointment = get_tx(tx, scope, id).await?;
    let messages = match (to, ppsmj::fetch_tx(tx, scope, &a.ppsmj_id).await) {
        (AppointmentState::NoShow, Ok(p)) => vec![event(MessageKind::NoShow, &appointment, &p)],
        _ => vec![],
    };
    Ok(Changed {
        appointment,
        messages,
    })
}

/// Appointments of a PPSMJ the scope sees, all of them (the person's timeline, whoever's agenda), newest first.
pub async fn list_for_ppsmj(db: &Db, scope: &Scope, ppsmj_id: &str) -> Result<Vec<Appointment>> {
    let mut tx = db.begin().await?;
    ppsmj::fetch_tx(&mut tx, scope, ppsmj_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM appointments a WHERE a.ppsmj_id = $1 ORDER BY a.starts_at DESC, a.id"
    ))
    .bind(ppsmj_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter().map(from_row).collect()
}

/// Appointments of an agenda on one local date (the agent's day), canceled ones included, by time.
pub async fn list_for_agenda_day(
    db: &Db,
    scope: &Scope,
    agenda_id: &str,
    date: chrono::NaiveDate,
) -> Result<Vec<Appointment>> {
    let mut tx = db.begin().await?;
    agendas::get_tx(&mut tx, scope, agenda_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM appointments a WHERE a.agenda_id = $1 AND a.local_date = $2 \
         ORDER BY a.starts_at, a.id"
    ))
    .bind(agenda_id)
    .bind(date.to_string())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter().map(from_row).collect()
}

/// One line of the work queue: a past appointment whose outcome was never recorded.
#[derive(Clone)]
pub struct QueueItem {
    pub appointment: Appointment,
    pub ppsmj_name: String,
    pub appointment_type_label: String,
    pub agenda_name: String,
}

impl std::fmt::Debug for QueueItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueItem")
            .field("appointment", &self.appointment.id)
            .finish_non_exhaustive()
    }
}

/// Past booked appointments without outcome in agendas the scope sees, oldest first.
pub async fn work_queue(db: &Db, scope: &Scope, now: i64, limit: i64) -> Result<Vec<QueueItem>> {
    let (cond, binds) = scope.visible_filter("a.organisation_id", 2);
    let sql = format!(
        "SELECT {COLUMNS}, p.last_name, p.first_name, t.label, ag.name AS agenda_name FROM appointments a \
         JOIN ppsmj p ON p.id = a.ppsmj_id JOIN appointment_types t ON t.id = a.appointment_type_id \
         JOIN agendas ag ON ag.id = a.agenda_id \
         WHERE a.state = 'booked' AND a.starts_at <= $1 AND {cond} ORDER BY a.starts_at, a.id LIMIT {}",
        limit.clamp(1, 1000)
    );
    let rows = bind_all(sqlx::query(&sql).bind(now), &binds)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(QueueItem {
                appointment: from_row(r)?,
                ppsmj_name: format!(
                    "{} {}",
                    r.get::<String, _>("last_name").to_uppercase(),
                    r.get::<String, _>("first_name")
                ),
                appointment_type_label: r.get("label"),
                agenda_name: r.get("agenda_name"),
            })
        })
        .collect()
}

/// Everything a message about an appointment needs: the person, the appointment, its place and type, and the
/// time zone and département of the hosting organisation (quiet hours, public holidays). Read in the caller's
/// transaction so that the outbox rows are written with the change.
#[derive(Clone, Debug)]
pub struct MessageContext {
    pub ppsmj: Ppsmj,
    pub appointment: Appointment,
    pub place: places::Place,
    pub appointment_type: AppointmentType,
    pub organisation_name: String,
    pub organisation_phone: Option<String>,
    pub time_zone: chrono_tz::Tz,
    /// The place's département if set, else its organisation's ('' when unknown).
    pub departement: String,
}

pub async fn message_context_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    appointment_id: &str,
) -> Result<MessageContext> {
    let appointment = get_tx(tx, scope, appointment_id).await?;
    let ppsmj = ppsmj::fetch_tx(tx, scope, &appointment.ppsmj_id).await?;
    let place = places::get_tx(tx, scope, &appointment.place_id).await?;
    let appointment_type =
        places::appointment_type_tx(tx, &appointment.appointment_type_id).await?;
    let org =
        sqlx::query("SELECT name, phone, time_zone, departement FROM organisations WHERE id = $1")
            .bind(&appointment.organisation_id)
            .fetch_one(&mut **tx)
            .await?;
    let departement = place
        .departement
        .clone()
        .or_else(|| org.get::<Option<String>, _>("departement"))
        .unwrap_or_default();
    Ok(MessageContext {
        time_zone: super::parse_tz(&org.get::<String, _>("time_zone"))?,
        organisation_name: org.get("name"),
        organisation_phone: org.get("phone"),
        departement,
        ppsmj,
        appointment,
        place,
        appointment_type,
    })
}
