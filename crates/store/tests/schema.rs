//! The two databases carry the same schema: the migrations written once (plus their per-dialect parts) must give
//! SQLite and PostgreSQL the same tables, the same columns and the same indexes, so that no code path works on
//! one and breaks on the other (the drift atuin #3145 describes).

use std::collections::BTreeSet;

use sqlx::Row;
use store::testing::TestDb;

async fn sqlite_schema(db: &store::Db) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    let mut columns = BTreeSet::new();
    for t in &tables {
        for r in sqlx::query(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .fetch_all(db.pool())
            .await
            .unwrap()
        {
            columns.insert((t.clone(), r.get::<String, _>(0)));
        }
    }
    let indexes = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    (columns, indexes)
}

async fn postgres_schema(db: &store::Db) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let columns = sqlx::query(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = 'public'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
    .collect();
    // Primary keys and UNIQUE constraints have implicit indexes on both sides (named differently): compare the
    // indexes the migrations name.
    let indexes = sqlx::query(
        "SELECT CAST(i.indexname AS TEXT) FROM pg_indexes i WHERE i.schemaname = 'public' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    (columns, indexes)
}

#[tokio::test]
async fn sqlite_and_postgresql_migrations_give_the_same_tables_columns_and_indexes() {
    let lite = TestDb::sqlite().await;
    let Some(pg) = TestDb::postgres().await else {
        return; // PASSERELLE_TEST_ALLOW_SKIP=1 without PostgreSQL: nothing to compare with
    };
    let (lite_cols, lite_idx) = sqlite_schema(&lite.db).await;
    let (pg_cols, pg_idx) = postgres_schema(&pg.db).await;
    lite.cleanup().await;
    pg.cleanup().await;

    let only_sqlite: Vec<_> = lite_cols.difference(&pg_cols).collect();
    let only_pg: Vec<_> = pg_cols.difference(&lite_cols).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "columns only on SQLite: {only_sqlite:?}; only on PostgreSQL: {only_pg:?}"
    );
    assert!(
        lite_cols.len() > 100,
        "{} columns: schema not migrated?",
        lite_cols.len()
    );

    // Prefix-search indexes differ by design: PostgreSQL's `text_pattern_ops` (`*_pattern`) and SQLite's NOCASE
    // collation (`*_nocase`) — each must have its counterpart on the other side.
    let counterpart = |name: &String| -> String {
        match (name.strip_suffix("_pattern"), name.strip_suffix("_nocase")) {
            (Some(base), _) | (_, Some(base)) => format!("{base}_prefix-search"),
            _ => name.clone(),
        }
    };
    let lite_idx: BTreeSet<String> = lite_idx.iter().map(counterpart).collect();
    let pg_idx: BTreeSet<String> = pg_idx.iter().map(counterpart).collect();
    let only_sqlite: Vec<_> = lite_idx.difference(&pg_idx).collect();
    let only_pg: Vec<_> = pg_idx.difference(&lite_idx).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "indexes only on SQLite: {only_sqlite:?}; only on PostgreSQL: {only_pg:?}"
    );
}

/// A migration edited after it ran would leave a database whose schema the code no longer describes: the start
/// stops and says which step changed. Databases from before checksums get theirs filled in at the next start.
#[tokio::test]
async fn a_changed_applied_migration_stops_the_start_and_old_databases_get_checksums() {
    store::testing::on_each_backend(|db| async move {
        // As a database migrated before checksums existed: no checksum recorded.
        sqlx::query("UPDATE schema_migrations SET checksum = NULL")
            .execute(db.pool())
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let missing: i64 =
            sqlx::query("SELECT COUNT(*) FROM schema_migrations WHERE checksum IS NULL")
                .fetch_one(db.pool())
                .await
                .unwrap()
                .get(0);
        assert_eq!(missing, 0);

        // As if 0002 had been edited since it ran here.
        sqlx::query("UPDATE schema_migrations SET checksum = 'abc' WHERE version = 2")
            .execute(db.pool())
            .await
            .unwrap();
        let err = db.migrate().await.unwrap_err();
        assert!(
            matches!(err, store::StoreError::MigrationChanged { version: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("0002_msj"), "{err}");
    })
    .await;
}

/// Every message kind has a national text in every language of the person's messages, so nobody who reads
/// English, Arabic or easy-read French gets a French notice by fallback; and each text parses.
#[tokio::test]
async fn every_message_kind_has_a_national_text_in_every_language() {
    store::testing::on_each_backend(|db| async move {
        for kind in store::templates::KINDS {
            for language in ["fr", "fr_falc", "en", "ar"] {
                let t = store::templates::effective(
                    &db,
                    None,
                    "convocation_suivi_spip",
                    kind,
                    language,
                )
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("no text for {kind} in {language}"));
                assert_eq!(t.language, language, "{kind} falls back to {}", t.language);
                assert!(
                    domain::Template::parse(&t.body).is_ok(),
                    "{kind}/{language}"
                );
            }
        }
    })
    .await;
}
