//! The database: one code path for SQLite (embedded default) and PostgreSQL (production).
//!
//! Every query goes through [`sqlx::Any`] with `$N` placeholders, which both SQLite and PostgreSQL accept.
//! Portable column types only: ids are TEXT (UUIDv7 made here), instants are BIGINT unix seconds (UTC), flags
//! BOOLEAN. Repository functions that read tenant data take a [`Scope`], so a query without a tenant filter
//! cannot be written by accident. See docs/ARCHITECTURE.md, "Storage".

pub mod audit;
mod migrate;
pub mod msj;
pub mod optout;
pub mod orgs;
pub mod outbox;
pub mod parquet;
pub mod policy;
pub mod push;
pub mod ratelimit;
pub mod refdata;
pub mod roles;
pub mod satisfaction;
pub mod scope;
pub mod sessions;
pub mod templates;
pub mod testing;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use migrate::MIGRATIONS;
pub use policy::{Action, Relation};
pub use scope::{Actor, Scope};

/// A transaction on either backend.
pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Absent, or not visible to this actor: callers answer 404 either way.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the string names the rule for the caller to explain.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: sqlx::Error,
    },
    /// An applied migration's text changed afterwards: the schema may not be what the code expects.
    #[error(
        "migration {version} ({name}) changed after it was applied to this database (checksum {applied} in the \
         database, {expected} in this binary): restore the original migration and add a new one instead"
    )]
    MigrationChanged {
        version: i64,
        name: &'static str,
        applied: String,
        expected: String,
    },
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.constraint().unwrap_or("unique").to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connects to `sqlite://path` (file created on demand, WAL) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let url = if backend == Backend::Sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            // SQLite allows one writer at a time; one connection serialises all work in-process and rules out
            // SQLITE_BUSY on lock upgrades. It is the embedded, single-process default (see ARCHITECTURE.md).
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?
            }
        };
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn begin(&self) -> Result<Tx<'static>> {
        Ok(self.pool.begin().await?)
    }

    /// Applies pending migrations; returns the names of those applied now.
    pub async fn migrate(&self) -> Result<Vec<String>> {
        migrate::run(self).await
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Hides the password of a database URL before it is shown or logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The service's current instant in unix seconds: the wall clock, shifted when demo or test mode set a starting
/// instant (see [`clock`]). Repository functions never call it: they take `now` from their caller.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp() + clock::offset()
}

/// [`now`] as a `DateTime`, for the callers that need a calendar date (the agenda's week, a statistics period).
pub fn now_utc() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(now(), 0).unwrap_or_else(chrono::Utc::now)
}

/// The one switch on the service's clock. `passerelle demo` (and so the browser tests) may start the clock at a
/// chosen instant (`PASSERELLE_NOW`), so that a test suite sees the same calendar on any day it runs: set once at
/// start, before anything reads the time, and never changed afterwards; `serve` refuses the setting.
pub mod clock {
    use std::sync::OnceLock;

    static OFFSET: OnceLock<i64> = OnceLock::new();

    /// Seconds added to the wall clock; 0 unless [`start_at`] was called.
    pub fn offset() -> i64 {
        OFFSET.get().copied().unwrap_or(0)
    }

    /// Makes [`crate::now`] read `instant` now and run on from there at the wall clock's pace. Returns false (and
    /// changes nothing) when the clock was already set.
    pub fn start_at(instant: i64) -> bool {
        OFFSET.set(instant - chrono::Utc::now().timestamp()).is_ok()
    }

    /// Parses `PASSERELLE_NOW`: an RFC 3339 instant (`2026-12-01T10:00:00+01:00`).
    pub fn parse_instant(value: &str) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(value.trim())
            .ok()
            .map(|d| d.timestamp())
    }
}

/// New time-ordered identifier.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A random token (256 bits, hex) for cookies, links and codes; only its hash is stored.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn sha256_hex(value: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(value.as_bytes()))
}

/// `$first, $first+1, …` placeholders for an IN list.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lower-case, accent-free form used for prefix search on both backends.
pub fn search_key(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let folded = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
                'a'
            }
            'ç' | 'Ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
            'ñ' | 'Ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
            'ý' | 'ÿ' | 'Ý' => 'y',
            'œ' | 'Œ' => {
                out.push_str("oe");
                continue;
            }
            'æ' | 'Æ' => {
                out.push_str("ae");
                continue;
            }
            '-' | '\'' | '’' => ' ',
            c => c.to_ascii_lowercase(),
        };
        out.extend(folded.to_lowercase());
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads a 0/1 flag column (see the migration header for why flags are integers).
pub(crate) fn flag(row: &sqlx::any::AnyRow, column: &str) -> bool {
    use sqlx::Row;
    row.get::<i64, _>(column) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_key_folds_accents_case_and_hyphens() {
        assert_eq!(search_key("Boulogne-Billancourt"), "boulogne billancourt");
        assert_eq!(search_key("  ÉLODIE  Cœur "), "elodie coeur");
    }

    #[test]
    fn redacted_url_hides_the_password_only() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://data/p.db"), "sqlite://data/p.db");
    }
}
