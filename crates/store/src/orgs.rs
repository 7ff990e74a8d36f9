//! Organisations (SPIP and antennas, TJ, parquet, administrations and services) and the links between them.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit;
use crate::roles::OrgKind;
use crate::{Actor, Db, Result, Scope, StoreError};

#[derive(Clone, Debug)]
pub struct Organisation {
    pub id: String,
    pub kind: OrgKind,
    pub name: String,
    pub parent_id: Option<String>,
    pub departement: Option<String>,
    pub time_zone: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// SIREN of an administration or service (Info Parquet), checked by `domain::Siren`.
    pub siren: Option<String>,
    pub active: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct NewOrganisation {
    pub kind: OrgKind,
    pub name: String,
    pub parent_id: Option<String>,
    pub departement: Option<String>,
    pub time_zone: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

const COLUMNS: &str =
    "id, kind, name, parent_id, departement, time_zone, address, phone, email, siren, active, created_at";

fn from_row(r: &AnyRow) -> Organisation {
    Organisation {
        id: r.get("id"),
        kind: r
            .get::<String, _>("kind")
            .parse()
            .unwrap_or(OrgKind::Administration),
        name: r.get("name"),
        parent_id: r.get("parent_id"),
        departement: r.get("departement"),
        time_zone: r.get("time_zone"),
        address: r.get("address"),
        phone: r.get("phone"),
        email: r.get("email"),
        siren: r.get("siren"),
        active: crate::flag(r, "active"),
        created_at: r.get("created_at"),
    }
}

pub async fn create(db: &Db, actor: &Actor, new: &NewOrganisation) -> Result<Organisation> {
    let id = crate::new_id();
    let now = crate::now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO organisations (id, kind, name, parent_id, departement, time_zone, address, phone, email, \
         active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10)",
    )
    .bind(&id)
    .bind(new.kind.as_str())
    .bind(&new.name)
    .bind(new.parent_id.as_deref())
    .bind(new.departement.as_deref())
    .bind(&new.time_zone)
    .bind(new.address.as_deref())
    .bind(new.phone.as_deref())
    .bind(new.email.as_deref())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "organisation.create",
        "organisation",
        Some(&id),
        Some(serde_json::json!({"name": new.name, "kind": new.kind.as_str()})),
    )
    .await?;
    tx.commit().await?;
    get_unscoped(db, &id).await
}

/// Reads an organisation without scope: for session set-up and system jobs only.
pub async fn get_unscoped(db: &Db, id: &str) -> Result<Organisation> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM organisations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(from_row(&row))
}

pub async fn find_by_name(db: &Db, kind: OrgKind, name: &str) -> Result<Option<Organisation>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM organisations WHERE kind = $1 AND name = $2"
    ))
    .bind(kind.as_str())
    .bind(name)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.as_ref().map(from_row))
}

pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<Organisation> {
    if !scope.can_see(id) {
        return Err(StoreError::NotFound);
    }
    get_unscoped(db, id).await
}

/// Organisations visible to the scope, by kind then name.
pub async fn list(db: &Db, scope: &Scope) -> Result<Vec<Organisation>> {
    let (cond, binds) = scope.visible_filter("id", 1);
    let sql = format!("SELECT {COLUMNS} FROM organisations WHERE {cond} ORDER BY kind, name");
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    Ok(q.fetch_all(db.pool()).await?.iter().map(from_row).collect())
}

/// Organisations whose users the scope manages.
pub async fn list_managed(db: &Db, scope: &Scope) -> Result<Vec<Organisation>> {
    let (cond, binds) = scope.managed_filter("id", 1);
    let sql = format!("SELECT {COLUMNS} FROM organisations WHERE {cond} ORDER BY kind, name");
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    Ok(q.fetch_all(db.pool()).await?.iter().map(from_row).collect())
}

pub async fn link(db: &Db, actor: &Actor, a: &str, b: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO organisation_links (organisation_id, linked_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(a)
    .bind(b)
    .bind(crate::now())
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "organisation.link",
        "organisation",
        Some(a),
        Some(serde_json::json!({ "linked": b })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Names of the organisations linked to `id` (either direction).
pub async fn linked(db: &Db, id: &str) -> Result<Vec<Organisation>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM organisations WHERE id IN (SELECT linked_id FROM organisation_links WHERE \
         organisation_id = $1 UNION SELECT organisation_id FROM organisation_links WHERE linked_id = $1) \
         ORDER BY name"
    ))
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

pub async fn children(db: &Db, id: &str) -> Result<Vec<Organisation>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM organisations WHERE parent_id = $1 ORDER BY name"
    ))
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// The contact details of an organisation the national admin edits (Info Parquet administrations and services).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganisationDetails {
    pub name: String,
    pub siren: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

/// Changes the details of an organisation; the audit event lists the fields that changed (their new values:
/// these are an organisation's public contact details, not personal data). Nothing changed: no event.
/// A name already taken by an organisation of the same kind → `Conflict("name")`.
pub async fn update_details(
    db: &Db,
    actor: &Actor,
    id: &str,
    details: &OrganisationDetails,
    now: i64,
) -> Result<Organisation> {
    let before = get_unscoped(db, id).await?;
    let mut changed = serde_json::Map::new();
    let mut note = |k: &str, old: Option<&str>, new: Option<&str>| {
        if old != new {
            changed.insert(k.into(), serde_json::json!(new));
        }
    };
    note("name", Some(&before.name), Some(&details.name));
    note("siren", before.siren.as_deref(), details.siren.as_deref());
    note("email", before.email.as_deref(), details.email.as_deref());
    note("phone", before.phone.as_deref(), details.phone.as_deref());
    note(
        "address",
        before.address.as_deref(),
        details.address.as_deref(),
    );
    if changed.is_empty() {
        return Ok(before);
    }
    if before.name != details.name {
        let taken =
            sqlx::query("SELECT id FROM organisations WHERE kind = $1 AND name = $2 AND id <> $3")
                .bind(before.kind.as_str())
                .bind(&details.name)
                .bind(id)
                .fetch_optional(db.pool())
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict("name".into()));
        }
    }
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE organisations SET name = $2, siren = $3, email = $4, phone = $5, address = $6, updated_at = $7 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(&details.name)
    .bind(details.siren.as_deref())
    .bind(details.email.as_deref())
    .bind(details.phone.as_deref())
    .bind(details.address.as_deref())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "organisation.update",
        "organisation",
        Some(id),
        Some(serde_json::Value::Object(changed)),
    )
    .await?;
    tx.commit().await?;
    get_unscoped(db, id).await
}

/// Deactivates or reactivates an organisation. Deactivating also closes the open sessions of its users and of
/// the users of its children (a deactivated administration deactivates its services in effect, see
/// [`is_operational`]); their API tokens stop working through the same rule. Already in that state: no event.
pub async fn set_active(
    db: &Db,
    actor: &Actor,
    id: &str,
    active: bool,
    now: i64,
) -> Result<Organisation> {
    let before = get_unscoped(db, id).await?;
    if before.active == active {
        return Ok(before);
    }
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE organisations SET active = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(i64::from(active))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let mut closed = 0;
    if !active {
        closed = sqlx::query(
            "DELETE FROM sessions WHERE user_id IN (SELECT u.id FROM users u JOIN organisations o \
             ON o.id = u.organisation_id WHERE o.id = $1 OR o.parent_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    audit::record(
        &mut *tx,
        actor,
        if active {
            "organisation.reactivate"
        } else {
            "organisation.deactivate"
        },
        "organisation",
        Some(id),
        Some(serde_json::json!({ "name": before.name, "sessions_closed": closed })),
    )
    .await?;
    tx.commit().await?;
    get_unscoped(db, id).await
}

/// Whether the users of this organisation may work: it is active and so is its parent (a service of a
/// deactivated administration is closed too). Unknown → false.
pub async fn is_operational(db: &Db, id: &str) -> Result<bool> {
    let row = sqlx::query(
        "SELECT o.active AS own, COALESCE(p.active, 1) AS parent FROM organisations o \
         LEFT JOIN organisations p ON p.id = o.parent_id WHERE o.id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.is_some_and(|r| crate::flag(&r, "own") && crate::flag(&r, "parent")))
}
