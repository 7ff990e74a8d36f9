//! Fixed-window counters in the database, so that limits hold across processes.

use sqlx::Row;

use crate::{Db, Result};

/// Counts one hit for `key`; returns false when more than `max` hits fell in the current window.
pub async fn hit(db: &Db, key: &str, window_secs: i64, max: i64, now: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    // The write comes first so that SQLite takes its write lock before reading.
    sqlx::query(
        "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 0) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE rate_limits SET hits = CASE WHEN window_start <= $2 THEN 1 ELSE hits + 1 END, \
         window_start = CASE WHEN window_start <= $2 THEN $3 ELSE window_start END WHERE key = $1",
    )
    .bind(key)
    .bind(now - window_secs)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let hits: i64 = sqlx::query("SELECT hits FROM rate_limits WHERE key = $1")
        .bind(key)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    tx.commit().await?;
    Ok(hits <= max)
}
