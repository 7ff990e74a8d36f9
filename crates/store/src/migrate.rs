//! Versioned migrations, written once for both databases where the dialects agree; where they differ, the same
//! numbered step has a `.sqlite.sql` and a `.postgres.sql` part applied after the common one, in one transaction.

use sqlx::Row;

use crate::{Backend, Db, Result, StoreError};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub common: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

macro_rules! migration {
    ($version:expr, $file:literal) => {
        Migration {
            version: $version,
            name: $file,
            common: include_str!(concat!("../migrations/", $file, ".sql")),
            sqlite: include_str!(concat!("../migrations/", $file, ".sqlite.sql")),
            postgres: include_str!(concat!("../migrations/", $file, ".postgres.sql")),
        }
    };
}

pub static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_foundation"),
    migration!(2, "0002_msj"),
    migration!(3, "0003_messaging"),
    migration!(4, "0004_info_parquet"),
    migration!(5, "0005_account_security"),
    migration!(6, "0006_permissions"),
    migration!(7, "0007_person_space"),
    migration!(8, "0008_measures"),
    migration!(9, "0009_booking_rules"),
    migration!(11, "0011_impact"),
    migration!(12, "0012_search_indexes"),
    migration!(13, "0013_frugal_sms"),
    migration!(15, "0015_parquet_admin"),
    migration!(16, "0016_push"),
    migration!(17, "0017_message_languages"),
];

impl Migration {
    /// SHA-256 of the step's three parts: the same on both databases, so a change of any part is seen on both.
    pub fn checksum(&self) -> String {
        crate::sha256_hex(&format!(
            "{}\u{0}{}\u{0}{}",
            self.common, self.sqlite, self.postgres
        ))
    }
}

/// Key of the PostgreSQL advisory lock that keeps two starting processes from migrating at once.
const MIGRATION_LOCK: i64 = 7_262_019_040;

pub(crate) async fn run(db: &Db) -> Result<Vec<String>> {
    let mut conn = db.pool.acquire().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let result = run_locked(db, &mut conn).await;
    if db.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn run_locked(db: &Db, conn: &mut sqlx::AnyConnection) -> Result<Vec<String>> {
    use sqlx::Connection;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    // Databases created before checksums were recorded get the column, and their rows the current checksums.
    let has_checksum = match db.backend {
        Backend::Sqlite => sqlx::query(
            "SELECT COUNT(*) FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'",
        ),
        Backend::Postgres => sqlx::query(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'schema_migrations' \
             AND column_name = 'checksum' AND table_schema = current_schema()",
        ),
    }
    .fetch_one(&mut *conn)
    .await?
    .get::<i64, _>(0)
        > 0;
    if !has_checksum {
        sqlx::raw_sql("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT")
            .execute(&mut *conn)
            .await?;
    }
    let rows = sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await?;
    let mut applied: Vec<i64> = Vec::new();
    for r in &rows {
        let version: i64 = r.get(0);
        let recorded: Option<String> = r.get(1);
        applied.push(version);
        let Some(m) = MIGRATIONS.iter().find(|m| m.version == version) else {
            continue; // applied by a newer binary: its own start checks it
        };
        match recorded {
            None => {
                sqlx::query("UPDATE schema_migrations SET checksum = $1 WHERE version = $2")
                    .bind(m.checksum())
                    .bind(version)
                    .execute(&mut *conn)
                    .await?;
            }
            Some(c) if c != m.checksum() => {
                return Err(StoreError::MigrationChanged {
                    version,
                    name: m.name,
                    applied: c,
                    expected: m.checksum(),
                });
            }
            Some(_) => {}
        }
    }
    let mut done = Vec::new();
    for m in MIGRATIONS {
        if applied.contains(&m.version) {
            continue;
        }
        let err = |source| StoreError::Migration {
            version: m.version,
            name: m.name,
            source,
        };
        let mut tx = conn.begin().await.map_err(err)?;
        sqlx::raw_sql(m.common)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let dialect = match db.backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        if !dialect.trim().is_empty() {
            sqlx::raw_sql(dialect)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(crate::now())
        .bind(m.checksum())
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        done.push(m.name.to_string());
    }
    Ok(done)
}
