//! Places (where appointments happen), the appointment types they offer, and the national list of types.
//! Local admins configure their organisation's places; every agent who sees the organisation reads them.

use domain::{Email, PhoneNumber};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{bind_all, FieldErrors, MsjError, MsjResult};
use crate::{audit, Db, Result, Scope, StoreError, Tx};

/// An appointment type of the national list (seeded by migration 0002).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppointmentType {
    /// Stable code, e.g. `sortie_audience_spip`.
    pub id: String,
    pub label: String,
    /// Role group that books it: `bex`, `sap` or `spip`.
    pub booked_by: String,
    /// Kind of organisation hosting it: `spip` or `tj`.
    pub host_kind: String,
    pub uses_slots: bool,
    /// Reminder sent 1 or 2 days before.
    pub reminder_days_before: i64,
}

const TYPE_COLUMNS: &str =
    "t.id, t.label, t.booked_by, t.host_kind, t.uses_slots, t.reminder_days_before";

fn type_from_row(r: &AnyRow) -> AppointmentType {
    AppointmentType {
        id: r.get("id"),
        label: r.get("label"),
        booked_by: r.get("booked_by"),
        host_kind: r.get("host_kind"),
        uses_slots: crate::flag(r, "uses_slots"),
        reminder_days_before: r.get("reminder_days_before"),
    }
}

/// The national list of appointment types, in display order (reference data: no scope).
pub async fn appointment_types(db: &Db) -> Result<Vec<AppointmentType>> {
    let rows = sqlx::query(&format!(
        "SELECT {TYPE_COLUMNS} FROM appointment_types t ORDER BY t.position"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(type_from_row).collect())
}

pub(crate) async fn appointment_type_tx(tx: &mut Tx<'_>, id: &str) -> Result<AppointmentType> {
    let row = sqlx::query(&format!(
        "SELECT {TYPE_COLUMNS} FROM appointment_types t WHERE t.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(type_from_row(&row))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub id: String,
    pub organisation_id: String,
    pub name: String,
    pub address: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub accessibility: Option<String>,
    pub documents_to_bring: Option<String>,
    pub preparation_url: Option<String>,
    pub departement: Option<String>,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Default)]
pub struct PlaceInput {
    pub name: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub accessibility: String,
    pub documents_to_bring: String,
    /// "How to prepare" link, https only.
    pub preparation_url: String,
    /// Only when the place's département differs from its organisation's (public holidays).
    pub departement: String,
    pub active: bool,
}

struct ValidPlace {
    name: String,
    address: String,
    phone: Option<String>,
    email: Option<String>,
    accessibility: Option<String>,
    documents_to_bring: Option<String>,
    preparation_url: Option<String>,
    departement: Option<String>,
    active: bool,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn validate(input: &PlaceInput) -> Result<ValidPlace, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = opt(&input.name);
    if name.is_none() {
        errors.push("name", "Veuillez saisir le nom du lieu.");
    }
    let address = opt(&input.address);
    if address.is_none() {
        errors.push("address", "Veuillez saisir l'adresse du lieu.");
    }
    let phone = opt(&input.phone).and_then(|p| match PhoneNumber::parse(&p) {
        Ok(p) => Some(p.as_e164().to_string()),
        Err(e) => {
            errors.push("phone", e.to_string());
            None
        }
    });
    let email = opt(&input.email).and_then(|e| match Email::parse(&e) {
        Ok(e) => Some(e.as_str().to_string()),
        Err(e) => {
            errors.push("email", e.to_string());
            None
        }
    });
    let preparation_url = opt(&input.preparation_url);
    if preparation_url
        .as_deref()
        .is_some_and(|u| !u.starts_with("https://") || u.contains(char::is_whitespace))
    {
        errors.push(
            "preparation_url",
            "Le lien doit être une adresse web sécurisée commençant par https://.",
        );
    }
    let departement = opt(&input.departement);
    if departement.as_deref().is_some_and(|d| {
        !(d.len() == 2 || d.len() == 3) || !d.chars().all(|c| c.is_ascii_alphanumeric())
    }) {
        errors.push(
            "departement",
            "Département invalide (exemples : 92, 2A, 974).",
        );
    }
    match (name, address) {
        (Some(name), Some(address)) if errors.is_empty() => Ok(ValidPlace {
            name,
            address,
            phone,
            email,
            accessibility: opt(&input.accessibility),
            documents_to_bring: opt(&input.documents_to_bring),
            preparation_url,
            departement,
            active: input.active,
        }),
        _ => Err(errors),
    }
}

const COLUMNS: &str = "pl.id, pl.organisation_id, pl.name, pl.address, pl.phone, pl.email, pl.accessibility, \
    pl.documents_to_bring, pl.preparation_url, pl.departement, pl.active, pl.created_at, pl.updated_at";

fn from_row(r: &AnyRow) -> Place {
    Place {
        id: r.get("id"),
        organisation_id: r.get("organisation_id"),
        name: r.get("name"),
        address: r.get("address"),
        phone: r.get("phone"),
        email: r.get("email"),
        accessibility: r.get("accessibility"),
        documents_to_bring: r.get("documents_to_bring"),
        preparation_url: r.get("preparation_url"),
        departement: r.get("departement"),
        active: crate::flag(r, "active"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

/// Refuses a configuration change by someone who sees the organisation but does not administer it.
pub(crate) fn require_manage(scope: &Scope, organisation_id: &str) -> MsjResult<()> {
    if !scope.can_see(organisation_id) {
        return Err(StoreError::NotFound.into());
    }
    if !scope.allows(crate::Action::ConfigureAgenda, organisation_id) {
        return Err(MsjError::Forbidden(
            "Seul un administrateur local de ce service peut modifier sa configuration.".into(),
        ));
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    scope: &Scope,
    organisation_id: &str,
    input: &PlaceInput,
    now: i64,
) -> MsjResult<Place> {
    require_manage(scope, organisation_id)?;
    let v = validate(input).map_err(MsjError::Invalid)?;
    let id = crate::new_id();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO places (id, organisation_id, name, address, phone, email, accessibility, documents_to_bring, \
         preparation_url, departement, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(&id)
    .bind(organisation_id)
    .bind(&v.name)
    .bind(&v.address)
    .bind(v.phone.as_deref())
    .bind(v.email.as_deref())
    .bind(v.accessibility.as_deref())
    .bind(v.documents_to_bring.as_deref())
    .bind(v.preparation_url.as_deref())
    .bind(v.departement.as_deref())
    .bind(i64::from(v.active))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "place.create",
        "place",
        Some(&id),
        Some(serde_json::json!({ "organisation_id": organisation_id, "name": v.name })),
    )
    .await?;
    let place = get_tx(&mut tx, scope, &id).await?;
    tx.commit().await?;
    Ok(place)
}

pub async fn update(
    db: &Db,
    scope: &Scope,
    id: &str,
    input: &PlaceInput,
    now: i64,
) -> MsjResult<Place> {
    let mut tx = db.begin().await?;
    let before = get_tx(&mut tx, scope, id).await?;
    require_manage(scope, &before.organisation_id)?;
    let v = validate(input).map_err(MsjError::Invalid)?;
    sqlx::query(
        "UPDATE places SET name = $2, address = $3, phone = $4, email = $5, accessibility = $6, \
         documents_to_bring = $7, preparation_url = $8, departement = $9, active = $10, updated_at = $11 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(&v.name)
    .bind(&v.address)
    .bind(v.phone.as_deref())
    .bind(v.email.as_deref())
    .bind(v.accessibility.as_deref())
    .bind(v.documents_to_bring.as_deref())
    .bind(v.preparation_url.as_deref())
    .bind(v.departement.as_deref())
    .bind(i64::from(v.active))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "place.update",
        "place",
        Some(id),
        None,
    )
    .await?;
    let place = get_tx(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(place)
}

pub(crate) async fn get_tx(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> Result<Place> {
    let (cond, binds) = scope.visible_filter("pl.organisation_id", 2);
    let sql = format!("SELECT {COLUMNS} FROM places pl WHERE pl.id = $1 AND {cond}");
    let row = bind_all(sqlx::query(&sql).bind(id), &binds)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(from_row(&row))
}

/// A place of an organisation the scope sees.
pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<Place> {
    let (cond, binds) = scope.visible_filter("pl.organisation_id", 2);
    let sql = format!("SELECT {COLUMNS} FROM places pl WHERE pl.id = $1 AND {cond}");
    let row = bind_all(sqlx::query(&sql).bind(id), &binds)
        .fetch_optional(db.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(from_row(&row))
}

/// Places the scope sees, optionally of one organisation, by name.
pub async fn list(db: &Db, scope: &Scope, organisation_id: Option<&str>) -> Result<Vec<Place>> {
    let (cond, binds) = scope.visible_filter("pl.organisation_id", 2);
    let sql = format!(
        "SELECT {COLUMNS} FROM places pl WHERE ($1 = '' OR pl.organisation_id = $1) AND {cond} ORDER BY pl.name"
    );
    let rows = bind_all(
        sqlx::query(&sql).bind(organisation_id.unwrap_or("")),
        &binds,
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Sets which appointment types a place offers (replaces the previous set). A type must be hosted by the kind of
/// organisation the place belongs to (SPIP types in SPIP places, court types in TJ places).
pub async fn set_appointment_types(
    db: &Db,
    scope: &Scope,
    place_id: &str,
    type_ids: &[&str],
) -> MsjResult<()> {
    let mut tx = db.begin().await?;
    let place = get_tx(&mut tx, scope, place_id).await?;
    require_manage(scope, &place.organisation_id)?;
    let kind: String = sqlx::query("SELECT kind FROM organisations WHERE id = $1")
        .bind(&place.organisation_id)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    for t in type_ids {
        let ty = appointment_type_tx(&mut tx, t).await?;
        if ty.host_kind != kind {
            return Err(MsjError::Rule(format!(
                "« {} » n'a pas lieu dans ce type de service.",
                ty.label
            )));
        }
    }
    sqlx::query("DELETE FROM place_appointment_types WHERE place_id = $1")
        .bind(place_id)
        .execute(&mut *tx)
        .await?;
    for t in type_ids {
        sqlx::query(
            "INSERT INTO place_appointment_types (place_id, appointment_type_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(place_id)
        .bind(*t)
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut *tx,
        &scope.actor,
        "place.set_appointment_types",
        "place",
        Some(place_id),
        Some(serde_json::json!({ "types": type_ids })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Appointment types a place offers, in display order.
pub async fn offered_types(db: &Db, scope: &Scope, place_id: &str) -> Result<Vec<AppointmentType>> {
    let mut tx = db.begin().await?;
    get_tx(&mut tx, scope, place_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {TYPE_COLUMNS} FROM appointment_types t JOIN place_appointment_types pt \
         ON pt.appointment_type_id = t.id WHERE pt.place_id = $1 ORDER BY t.position"
    ))
    .bind(place_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.iter().map(type_from_row).collect())
}

pub(crate) async fn offers_tx(tx: &mut Tx<'_>, place_id: &str, type_id: &str) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 FROM place_appointment_types WHERE place_id = $1 AND appointment_type_id = $2",
    )
    .bind(place_id)
    .bind(type_id)
    .fetch_optional(&mut **tx)
    .await?
    .is_some())
}
