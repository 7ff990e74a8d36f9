//! Web Push subscriptions of the people followed (opt-in from /mon-espace). A subscription is a browser's push
//! service endpoint and its keys (`p256dh`, the browser's P-256 public key, and `auth`, its 16-byte secret, both
//! base64url as the browser gives them). Every function that a person's request reaches is scoped to that person:
//! one person never reads or removes another's subscription.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Db, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub ppsmj_id: String,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, ppsmj_id, endpoint, p256dh, auth, created_at";

fn row(r: &AnyRow) -> Subscription {
    Subscription {
        id: r.get(0),
        ppsmj_id: r.get(1),
        endpoint: r.get(2),
        p256dh: r.get(3),
        auth: r.get(4),
        created_at: r.get(5),
    }
}

/// Records (or renews) the subscription of a browser for `ppsmj_id`. An endpoint is one browser: subscribing it
/// again replaces its keys, and a browser handed to another person now reminds only that person.
pub async fn subscribe(
    db: &Db,
    ppsmj_id: &str,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
    now: i64,
) -> Result<Subscription> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1")
        .bind(endpoint)
        .execute(&mut *tx)
        .await?;
    let s = Subscription {
        id: crate::new_id(),
        ppsmj_id: ppsmj_id.to_string(),
        endpoint: endpoint.to_string(),
        p256dh: p256dh.to_string(),
        auth: auth.to_string(),
        created_at: now,
    };
    sqlx::query(&format!(
        "INSERT INTO push_subscriptions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(&s.id)
    .bind(&s.ppsmj_id)
    .bind(&s.endpoint)
    .bind(&s.p256dh)
    .bind(&s.auth)
    .bind(s.created_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(s)
}

/// Removes the subscription of `endpoint` if it is `ppsmj_id`'s; true when one was removed.
pub async fn unsubscribe(db: &Db, ppsmj_id: &str, endpoint: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM push_subscriptions WHERE ppsmj_id = $1 AND endpoint = $2")
        .bind(ppsmj_id)
        .bind(endpoint)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The subscriptions of one person, oldest first.
pub async fn for_person(db: &Db, ppsmj_id: &str) -> Result<Vec<Subscription>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM push_subscriptions WHERE ppsmj_id = $1 ORDER BY created_at, id"
    ))
    .bind(ppsmj_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(row).collect())
}

/// One subscription by id (the recipient of a push outbox row); None once it was removed.
pub async fn get(db: &Db, id: &str) -> Result<Option<Subscription>> {
    let r = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM push_subscriptions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(r.as_ref().map(row))
}

/// Forgets a subscription the push service declared gone (HTTP 404 or 410).
pub async fn remove(db: &Db, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The subscription ids of a person, in the caller's transaction (a reminder being written).
pub async fn ids_for_person_tx(tx: &mut crate::Tx<'_>, ppsmj_id: &str) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT id FROM push_subscriptions WHERE ppsmj_id = $1 ORDER BY created_at, id",
    )
    .bind(ppsmj_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
