//! Agendas, weekly slot types and the slots generated from them.
//!
//! Slots are generated for the next six months by [`generate_all_slots`] (nightly job) and by every slot-type
//! change, with `domain::generate_slots`: weekends and the public holidays of the place's département are skipped,
//! and times are wall-clock times of the organisation's time zone. Generation is idempotent (one row per agenda,
//! type and start instant) and never touches a slot that is used, closed or whose capacity an agent changed.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use domain::{generate_slots, six_months_after, WeeklySlotType};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::places::{self, require_manage};
use super::{bind_all, FieldErrors, MsjError, MsjResult};
use crate::{audit, Actor, Db, Result, Scope, StoreError, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agenda {
    pub id: String,
    pub place_id: String,
    pub organisation_id: String,
    pub name: String,
    pub active: bool,
    pub created_at: i64,
}

const COLUMNS: &str = "ag.id, ag.place_id, ag.organisation_id, ag.name, ag.active, ag.created_at";

fn from_row(r: &AnyRow) -> Agenda {
    Agenda {
        id: r.get("id"),
        place_id: r.get("place_id"),
        organisation_id: r.get("organisation_id"),
        name: r.get("name"),
        active: crate::flag(r, "active"),
        created_at: r.get("created_at"),
    }
}

/// Creates an agenda in a place (e.g. one per counsellor or per room).
pub async fn create(
    db: &Db,
    scope: &Scope,
    place_id: &str,
    name: &str,
    now: i64,
) -> MsjResult<Agenda> {
    let mut tx = db.begin().await?;
    let place = places::get_tx(&mut tx, scope, place_id).await?;
    require_manage(scope, &place.organisation_id)?;
    if name.trim().is_empty() {
        let mut e = FieldErrors::default();
        e.push("name", "Veuillez saisir le nom de l'agenda.");
        return Err(MsjError::Invalid(e));
    }
    let id = crate::new_id();
    sqlx::query(
        "INSERT INTO agendas (id, place_id, organisation_id, name, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 1, $5, $5)",
    )
    .bind(&id)
    .bind(place_id)
    .bind(&place.organisation_id)
    .bind(name.trim())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "agenda.create",
        "agenda",
        Some(&id),
        Some(serde_json::json!({ "place_id": place_id, "name": name.trim() })),
    )
    .await?;
    let agenda = get_tx(&mut tx, scope, &id).await?;
    tx.commit().await?;
    Ok(agenda)
}

pub(crate) async fn get_tx(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> Result<Agenda> {
    let (cond, binds) = scope.visible_filter("ag.organisation_id", 2);
    let sql = format!("SELECT {COLUMNS} FROM agendas ag WHERE ag.id = $1 AND {cond}");
    let row = bind_all(sqlx::query(&sql).bind(id), &binds)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(from_row(&row))
}

/// An agenda of an organisation the scope sees.
pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<Agenda> {
    let mut tx = db.begin().await?;
    let a = get_tx(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(a)
}

/// Agendas the scope sees, optionally of one place, by name.
pub async fn list(db: &Db, scope: &Scope, place_id: Option<&str>) -> Result<Vec<Agenda>> {
    let (cond, binds) = scope.visible_filter("ag.organisation_id", 2);
    let sql = format!(
        "SELECT {COLUMNS} FROM agendas ag WHERE ($1 = '' OR ag.place_id = $1) AND {cond} ORDER BY ag.name"
    );
    let rows = bind_all(sqlx::query(&sql).bind(place_id.unwrap_or("")), &binds)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// A weekly recurring slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotType {
    pub id: String,
    pub agenda_id: String,
    pub appointment_type_id: String,
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub duration_minutes: i64,
    pub capacity: i64,
}

#[derive(Clone, Debug)]
pub struct SlotTypeInput {
    pub appointment_type_id: String,
    /// ISO weekday, 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    /// 'HH:MM', wall-clock time of the organisation.
    pub start: String,
    pub duration_minutes: i64,
    pub capacity: i64,
}

fn weekday_from_iso(n: i64) -> Option<Weekday> {
    u8::try_from(n - 1)
        .ok()
        .and_then(|d| Weekday::try_from(d).ok())
}

fn slot_type_from_row(r: &AnyRow) -> Result<SlotType> {
    let start: String = r.get("start_time");
    Ok(SlotType {
        id: r.get("id"),
        agenda_id: r.get("agenda_id"),
        appointment_type_id: r.get("appointment_type_id"),
        weekday: weekday_from_iso(r.get("weekday")).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Decode("weekday out of range".into()))
        })?,
        start: NaiveTime::parse_from_str(&start, "%H:%M")
            .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?,
        duration_minutes: r.get("duration_minutes"),
        capacity: r.get("capacity"),
    })
}

/// Adds a weekly slot type to an agenda and generates its slots at once.
pub async fn add_slot_type(
    db: &Db,
    scope: &Scope,
    agenda_id: &str,
    input: &SlotTypeInput,
    now: i64,
) -> MsjResult<SlotType> {
    let mut tx = db.begin().await?;
    let agenda = get_tx(&mut tx, scope, agenda_id).await?;
    require_manage(scope, &agenda.organisation_id)?;
    let id = insert_slot_type_tx(&mut tx, scope, &agenda, input, now).await?;
    generate_tx(&mut tx, agenda_id, now).await?;
    let row = sqlx::query(
        "SELECT id, agenda_id, appointment_type_id, weekday, start_time, duration_minutes, capacity \
         FROM slot_types WHERE id = $1",
    )
    .bind(&id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(slot_type_from_row(&row)?)
}

/// Adds several weekly slot types at once (a series: several weekdays, several start times), all or nothing, and
/// generates their slots.
pub async fn add_slot_types(
    db: &Db,
    scope: &Scope,
    agenda_id: &str,
    inputs: &[SlotTypeInput],
    now: i64,
) -> MsjResult<Vec<SlotType>> {
    let mut tx = db.begin().await?;
    let agenda = get_tx(&mut tx, scope, agenda_id).await?;
    require_manage(scope, &agenda.organisation_id)?;
    let mut ids = vec![];
    for input in inputs {
        ids.push(insert_slot_type_tx(&mut tx, scope, &agenda, input, now).await?);
    }
    generate_tx(&mut tx, agenda_id, now).await?;
    let mut out = vec![];
    for id in &ids {
        let row = sqlx::query(
            "SELECT id, agenda_id, appointment_type_id, weekday, start_time, duration_minutes, capacity \
             FROM slot_types WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        out.push(slot_type_from_row(&row)?);
    }
    tx.commit().await?;
    Ok(out)
}

/// Checks and inserts one slot type (no generation); returns its id.
async fn insert_slot_type_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    agenda: &Agenda,
    input: &SlotTypeInput,
    now: i64,
) -> MsjResult<String> {
    let agenda_id = agenda.id.as_str();
    let mut errors = FieldErrors::default();
    if weekday_from_iso(input.weekday).is_none() {
        errors.push("weekday", "Jour de la semaine invalide.");
    }
    let start = NaiveTime::parse_from_str(input.start.trim(), "%H:%M").ok();
    if start.is_none() {
        errors.push("start", "Heure invalide : saisissez-la au format hh:mm.");
    }
    if !(5..=480).contains(&input.duration_minutes) {
        errors.push(
            "duration_minutes",
            "La durée doit être comprise entre 5 minutes et 8 heures.",
        );
    }
    if !(1..=100).contains(&input.capacity) {
        errors.push("capacity", "La capacité doit être comprise entre 1 et 100.");
    }
    let ty = places::appointment_type_tx(tx, &input.appointment_type_id).await?;
    if !ty.uses_slots {
        errors.push(
            "appointment_type_id",
            format!("« {} » se planifie librement, sans créneaux.", ty.label),
        );
    } else if !places::offers_tx(tx, &agenda.place_id, &ty.id).await? {
        errors.push(
            "appointment_type_id",
            format!("Ce lieu ne propose pas « {} ».", ty.label),
        );
    }
    let Some(start) = start.filter(|_| errors.is_empty()) else {
        return Err(MsjError::Invalid(errors));
    };
    let id = crate::new_id();
    sqlx::query(
        "INSERT INTO slot_types (id, agenda_id, appointment_type_id, weekday, start_time, duration_minutes, \
         capacity, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(agenda_id)
    .bind(&ty.id)
    .bind(input.weekday)
    .bind(start.format("%H:%M").to_string())
    .bind(input.duration_minutes)
    .bind(input.capacity)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut **tx,
        &scope.actor,
        "slot_type.create",
        "agenda",
        Some(agenda_id),
        Some(
            serde_json::json!({ "slot_type_id": id, "appointment_type_id": ty.id,
            "weekday": input.weekday, "start": start.format("%H:%M").to_string(),
            "capacity": input.capacity }),
        ),
    )
    .await?;
    Ok(id)
}

/// Local date of the first future slot a slot type produced (the agenda page opens on that week, so the agent
/// sees at once what was generated), or `None` when it produced none (every such day a holiday, say).
pub async fn first_future_slot_of_type(
    db: &Db,
    scope: &Scope,
    slot_type: &SlotType,
    now: i64,
) -> Result<Option<NaiveDate>> {
    let mut tx = db.begin().await?;
    get_tx(&mut tx, scope, &slot_type.agenda_id).await?;
    let rows = sqlx::query(
        "SELECT local_date FROM slots WHERE agenda_id = $1 AND appointment_type_id = $2 AND local_start = $3 \
         AND starts_at > $4 ORDER BY starts_at",
    )
    .bind(&slot_type.agenda_id)
    .bind(&slot_type.appointment_type_id)
    .bind(slot_type.start.format("%H:%M").to_string())
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    // Another slot type of the same kind may start at the same time on other weekdays: keep this one's day.
    Ok(rows
        .iter()
        .filter_map(|r| NaiveDate::parse_from_str(&r.get::<String, _>(0), "%Y-%m-%d").ok())
        .find(|d| d.weekday() == slot_type.weekday))
}

/// Removes a slot type; its future slots disappear unless booked, closed or edited by hand.
pub async fn remove_slot_type(
    db: &Db,
    scope: &Scope,
    slot_type_id: &str,
    now: i64,
) -> MsjResult<()> {
    let mut tx = db.begin().await?;
    let agenda_id: String = sqlx::query("SELECT agenda_id FROM slot_types WHERE id = $1")
        .bind(slot_type_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .get(0);
    let agenda = get_tx(&mut tx, scope, &agenda_id).await?;
    require_manage(scope, &agenda.organisation_id)?;
    sqlx::query("DELETE FROM slot_types WHERE id = $1")
        .bind(slot_type_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "slot_type.delete",
        "agenda",
        Some(&agenda_id),
        Some(serde_json::json!({ "slot_type_id": slot_type_id })),
    )
    .await?;
    generate_tx(&mut tx, &agenda_id, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list_slot_types(db: &Db, scope: &Scope, agenda_id: &str) -> Result<Vec<SlotType>> {
    let mut tx = db.begin().await?;
    get_tx(&mut tx, scope, agenda_id).await?;
    let rows = sqlx::query(
        "SELECT id, agenda_id, appointment_type_id, weekday, start_time, duration_minutes, capacity \
         FROM slot_types WHERE agenda_id = $1 ORDER BY weekday, start_time",
    )
    .bind(agenda_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter().map(slot_type_from_row).collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub id: String,
    pub agenda_id: String,
    pub appointment_type_id: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// Wall-clock date and time ('HH:MM') in the organisation's time zone.
    pub local_date: NaiveDate,
    pub local_start: String,
    pub capacity: i64,
    pub used: i64,
    pub closed: bool,
}

impl Slot {
    pub fn is_full(&self) -> bool {
        self.used >= self.capacity
    }

    pub fn remaining(&self) -> i64 {
        (self.capacity - self.used).max(0)
    }
}

const SLOT_COLUMNS: &str =
    "s.id, s.agenda_id, s.appointment_type_id, s.starts_at, s.ends_at, s.local_date, \
    s.local_start, s.capacity, s.used, s.closed";

fn slot_from_row(r: &AnyRow) -> Result<Slot> {
    Ok(Slot {
        id: r.get("id"),
        agenda_id: r.get("agenda_id"),
        appointment_type_id: r.get("appointment_type_id"),
        starts_at: r.get("starts_at"),
        ends_at: r.get("ends_at"),
        local_date: super::parse_date(&r.get::<String, _>("local_date"))?,
        local_start: r.get("local_start"),
        capacity: r.get("capacity"),
        used: r.get("used"),
        closed: crate::flag(r, "closed"),
    })
}

/// Slots of an agenda between two local dates (inclusive), in time order.
pub async fn list_slots(
    db: &Db,
    scope: &Scope,
    agenda_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Slot>> {
    let mut tx = db.begin().await?;
    get_tx(&mut tx, scope, agenda_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {SLOT_COLUMNS} FROM slots s WHERE s.agenda_id = $1 AND s.local_date >= $2 AND s.local_date <= $3 \
         ORDER BY s.starts_at, s.appointment_type_id"
    ))
    .bind(agenda_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter().map(slot_from_row).collect()
}

/// Future slots of an agenda for a type that still have room, soonest first: what the booking form offers.
pub async fn available_slots(
    db: &Db,
    scope: &Scope,
    agenda_id: &str,
    appointment_type_id: &str,
    now: i64,
    limit: i64,
) -> Result<Vec<Slot>> {
    let mut tx = db.begin().await?;
    get_tx(&mut tx, scope, agenda_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {SLOT_COLUMNS} FROM slots s WHERE s.agenda_id = $1 AND s.appointment_type_id = $2 \
         AND s.starts_at > $3 AND s.closed = 0 AND s.used < s.capacity ORDER BY s.starts_at LIMIT {}",
        limit.clamp(1, 500)
    ))
    .bind(agenda_id)
    .bind(appointment_type_id)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter().map(slot_from_row).collect()
}

pub(crate) async fn slot_tx(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> Result<Slot> {
    let (cond, binds) = scope.visible_filter("ag.organisation_id", 2);
    let sql = format!(
        "SELECT {SLOT_COLUMNS} FROM slots s JOIN agendas ag ON ag.id = s.agenda_id WHERE s.id = $1 AND {cond}"
    );
    let row = bind_all(sqlx::query(&sql).bind(id), &binds)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    slot_from_row(&row)
}

/// Refuses a slot change by someone who sees the agenda but may not change it: only the agenda's own
/// organisation (and its sub-units' administrators), with a role that manages slots (`Action::ManageSlots`).
async fn require_slot_manager(tx: &mut Tx<'_>, scope: &Scope, slot: &Slot) -> MsjResult<()> {
    let org: String = sqlx::query("SELECT organisation_id FROM agendas WHERE id = $1")
        .bind(&slot.agenda_id)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
    if !scope.allows(crate::Action::ManageSlots, &org) {
        return Err(MsjError::Forbidden(
            "Seul le service de cet agenda peut modifier ses créneaux.".into(),
        ));
    }
    Ok(())
}

/// A slot of an agenda the scope sees.
pub async fn get_slot(db: &Db, scope: &Scope, id: &str) -> Result<Slot> {
    let mut tx = db.begin().await?;
    let s = slot_tx(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(s)
}

/// Closes (or reopens) a slot: no more booking in it; appointments already booked stay.
pub async fn set_slot_closed(
    db: &Db,
    scope: &Scope,
    slot_id: &str,
    closed: bool,
) -> MsjResult<Slot> {
    let mut tx = db.begin().await?;
    let slot = slot_tx(&mut tx, scope, slot_id).await?;
    require_slot_manager(&mut tx, scope, &slot).await?;
    sqlx::query("UPDATE slots SET closed = $2 WHERE id = $1")
        .bind(slot_id)
        .bind(i64::from(closed))
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        if closed { "slot.close" } else { "slot.reopen" },
        "slot",
        Some(slot_id),
        None,
    )
    .await?;
    let s = slot_tx(&mut tx, scope, slot_id).await?;
    tx.commit().await?;
    Ok(s)
}

/// Changes a slot's capacity (never below the places already booked); the nightly generation keeps it.
pub async fn set_slot_capacity(
    db: &Db,
    scope: &Scope,
    slot_id: &str,
    capacity: i64,
) -> MsjResult<Slot> {
    let mut tx = db.begin().await?;
    let slot = slot_tx(&mut tx, scope, slot_id).await?;
    require_slot_manager(&mut tx, scope, &slot).await?;
    if !(1..=100).contains(&capacity) {
        let mut e = FieldErrors::default();
        e.push("capacity", "La capacité doit être comprise entre 1 et 100.");
        return Err(MsjError::Invalid(e));
    }
    // The check and the change are one statement, so a booking landing in between cannot be overtaken.
    let changed = sqlx::query(
        "UPDATE slots SET capacity = $2, capacity_overridden = 1 WHERE id = $1 AND used <= $2",
    )
    .bind(slot_id)
    .bind(capacity)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        let mut e = FieldErrors::default();
        e.push(
            "capacity",
            "La capacité ne peut pas être inférieure au nombre de rendez-vous déjà pris dans ce créneau.",
        );
        return Err(MsjError::Invalid(e));
    }
    audit::record(
        &mut *tx,
        &scope.actor,
        "slot.capacity",
        "slot",
        Some(slot_id),
        Some(serde_json::json!({ "capacity": capacity })),
    )
    .await?;
    let s = slot_tx(&mut tx, scope, slot_id).await?;
    tx.commit().await?;
    Ok(s)
}

/// What a generation run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationReport {
    pub agendas: u64,
    pub created: u64,
    pub updated: u64,
    pub removed: u64,
}

impl std::ops::AddAssign for GenerationReport {
    fn add_assign(&mut self, o: Self) {
        self.agendas += o.agendas;
        self.created += o.created;
        self.updated += o.updated;
        self.removed += o.removed;
    }
}

/// Brings the slots of one agenda in line with its slot types, from today (organisation's time zone) to six
/// months ahead, in the caller's transaction.
pub(crate) async fn generate_tx(
    tx: &mut Tx<'_>,
    agenda_id: &str,
    now: i64,
) -> Result<GenerationReport> {
    let row = sqlx::query(
        "SELECT COALESCE(pl.departement, o.departement) AS departement, o.time_zone, ag.active \
         FROM agendas ag JOIN places pl ON pl.id = ag.place_id JOIN organisations o ON o.id = ag.organisation_id \
         WHERE ag.id = $1",
    )
    .bind(agenda_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    // Without a département the public holidays are unknown: national ones only, via a code matching none.
    let departement: String = row
        .get::<Option<String>, _>("departement")
        .unwrap_or_default();
    let tz = super::parse_tz(&row.get::<String, _>("time_zone"))?;
    let active = crate::flag(&row, "active");
    let type_rows = sqlx::query(
        "SELECT id, agenda_id, appointment_type_id, weekday, start_time, duration_minutes, capacity \
         FROM slot_types WHERE agenda_id = $1",
    )
    .bind(agenda_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_type: BTreeMap<String, Vec<WeeklySlotType>> = BTreeMap::new();
    if active {
        for r in &type_rows {
            let t = slot_type_from_row(r)?;
            by_type
                .entry(t.appointment_type_id)
                .or_default()
                .push(WeeklySlotType {
                    weekday: t.weekday,
                    start: t.start,
                    duration_minutes: u32::try_from(t.duration_minutes).unwrap_or(0),
                    capacity: u32::try_from(t.capacity).unwrap_or(0),
                });
        }
    }
    let today = super::utc(now).with_timezone(&tz).date_naive();
    let until = six_months_after(today);

    let existing: HashSet<(String, i64)> = sqlx::query(
        "SELECT appointment_type_id, starts_at FROM slots WHERE agenda_id = $1 AND starts_at > $2",
    )
    .bind(agenda_id)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
    .collect();

    let mut report = GenerationReport {
        agendas: 1,
        ..Default::default()
    };
    let mut wanted: HashSet<(String, i64)> = HashSet::new();
    for (type_id, weekly) in &by_type {
        for g in generate_slots(weekly, today, until, &departement, tz) {
            let starts_at = g.starts_at.timestamp();
            if starts_at <= now {
                continue;
            }
            wanted.insert((type_id.clone(), starts_at));
            let is_new = !existing.contains(&(type_id.clone(), starts_at));
            // An existing slot is only adjusted while nobody booked it, nobody closed it and nobody set its
            // capacity by hand; the extra condition keeps a re-run from rewriting identical rows.
            let affected = sqlx::query(
                "INSERT INTO slots (id, agenda_id, appointment_type_id, starts_at, ends_at, local_date, local_start, \
                 capacity, used, closed, capacity_overridden, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, 0, $9) \
                 ON CONFLICT (agenda_id, appointment_type_id, starts_at) DO UPDATE SET \
                 capacity = excluded.capacity, ends_at = excluded.ends_at \
                 WHERE slots.used = 0 AND slots.closed = 0 AND slots.capacity_overridden = 0 \
                 AND (slots.capacity <> excluded.capacity OR slots.ends_at <> excluded.ends_at)",
            )
            .bind(crate::new_id())
            .bind(agenda_id)
            .bind(type_id)
            .bind(starts_at)
            .bind(g.ends_at.timestamp())
            .bind(g.local_date.to_string())
            .bind(g.local_start.format("%H:%M").to_string())
            .bind(i64::from(g.capacity))
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if is_new {
                report.created += affected;
            } else {
                report.updated += affected;
            }
        }
    }
    // Future slots no slot type produces any more go, unless someone relies on them.
    let candidates = sqlx::query(
        "SELECT s.id, s.appointment_type_id, s.starts_at FROM slots s WHERE s.agenda_id = $1 AND s.starts_at > $2 \
         AND s.used = 0 AND s.closed = 0 AND s.capacity_overridden = 0 \
         AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id)",
    )
    .bind(agenda_id)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    for r in &candidates {
        let key = (r.get::<String, _>(1), r.get::<i64, _>(2));
        if !wanted.contains(&key) {
            report.removed += sqlx::query("DELETE FROM slots WHERE id = $1 AND used = 0")
                .bind(r.get::<String, _>(0))
                .execute(&mut **tx)
                .await?
                .rows_affected();
        }
    }
    Ok(report)
}

/// Regenerates one agenda's slots now (after a change of place, département or time zone).
pub async fn generate_slots_for_agenda(
    db: &Db,
    scope: &Scope,
    agenda_id: &str,
    now: i64,
) -> Result<GenerationReport> {
    let mut tx = db.begin().await?;
    get_tx(&mut tx, scope, agenda_id).await?;
    let report = generate_tx(&mut tx, agenda_id, now).await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "slots.generate",
        "agenda",
        Some(agenda_id),
        Some(report_json(&report)),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

fn report_json(r: &GenerationReport) -> serde_json::Value {
    serde_json::json!({ "agendas": r.agendas, "created": r.created, "updated": r.updated, "removed": r.removed })
}

/// The nightly job: every agenda, six months ahead. One transaction per agenda, so a broken agenda (an unknown
/// time zone) does not hold back the others; its error is logged and the run goes on. One audit event per run.
pub async fn generate_all_slots(db: &Db, now: i64) -> Result<GenerationReport> {
    let ids: Vec<String> = sqlx::query("SELECT id FROM agendas ORDER BY id")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut total = GenerationReport::default();
    let mut failed = 0u64;
    for id in &ids {
        let mut tx = db.begin().await?;
        match generate_tx(&mut tx, id, now).await {
            Ok(r) => {
                tx.commit().await?;
                total += r;
            }
            Err(e) => {
                tx.rollback().await?;
                failed += 1;
                tracing::error!(agenda_id = %id, error = %e, "slot generation failed");
            }
        }
    }
    let mut details = report_json(&total);
    details["failed"] = failed.into();
    audit::record(
        db.pool(),
        &Actor::system("génération des créneaux"),
        "slots.generate_all",
        "agenda",
        None,
        Some(details),
    )
    .await?;
    Ok(total)
}
