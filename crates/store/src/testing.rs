//! Test harness: a fresh database per test, on SQLite and on PostgreSQL, created and dropped here.
//!
//! PostgreSQL is found at `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`). When it cannot
//! be reached, the test fails: a skipped half counts as a failure, unless the run explicitly allows it with
//! `PASSERELLE_TEST_ALLOW_SKIP=1` (a laptop without PostgreSQL), never set by CI.

use std::future::Future;

use crate::{Backend, Db};

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A migrated, empty database that disappears when dropped (SQLite file) or with `cleanup` (PostgreSQL).
pub struct TestDb {
    pub db: Db,
    pg_name: Option<String>,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = TempDir::new();
        let url = format!("sqlite://{}/test.db", dir.0.display());
        let db = Db::connect(&url).await.expect("sqlite connect");
        db.migrate().await.expect("sqlite migrate");
        TestDb {
            db,
            pg_name: None,
            _dir: Some(dir),
        }
    }

    /// None when PostgreSQL is unreachable and `PASSERELLE_TEST_ALLOW_SKIP=1`.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = admin_url();
        let admin = match Db::connect(&admin_url).await {
            Ok(db) => db,
            Err(e) => {
                if std::env::var("PASSERELLE_TEST_ALLOW_SKIP").as_deref() != Ok("1") {
                    panic!(
                        "PostgreSQL is unreachable at {admin_url}: {e} \
                         (PASSERELLE_TEST_ALLOW_SKIP=1 skips the PostgreSQL halves instead)"
                    );
                }
                eprintln!(
                    "warning: PostgreSQL unreachable ({e}); PostgreSQL half of the test skipped \
                     (PASSERELLE_TEST_ALLOW_SKIP=1)"
                );
                return None;
            }
        };
        let name = format!("passerelle_t_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(admin.pool())
            .await
            .expect("create test database");
        admin.close().await;
        let url = replace_db_name(&admin_url, &name);
        let db = Db::connect(&url).await.expect("postgres connect");
        db.migrate().await.expect("postgres migrate");
        Some(TestDb {
            db,
            pg_name: Some(name),
            _dir: None,
        })
    }

    pub async fn cleanup(mut self) {
        self.db.close().await;
        if let Some(name) = self.pg_name.take() {
            drop_pg_database(&name).await;
        }
    }

    /// The URL of this database, to hand to a child process.
    pub fn url(&self) -> String {
        match (&self.pg_name, &self._dir) {
            (Some(name), _) => replace_db_name(&admin_url(), name),
            (None, Some(dir)) => format!("sqlite://{}/test.db", dir.0.display()),
            _ => unreachable!("a TestDb is either SQLite or PostgreSQL"),
        }
    }
}

async fn drop_pg_database(name: &str) {
    if let Ok(admin) = Db::connect(&admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(admin.pool())
            .await;
        admin.close().await;
    }
}

/// A test that panics never reaches `cleanup`: its PostgreSQL database is dropped here instead (on a thread of its
/// own, since `Drop` cannot await and the test's runtime is unwinding), so failed runs leave no database behind.
impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_pg_database(&name));
                }
            })
            .join();
        }
    }
}

/// Runs `test` on a fresh SQLite database, then on a fresh PostgreSQL database.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let t = TestDb::sqlite().await;
    test(t.db.clone()).await;
    t.cleanup().await;
    if let Some(t) = TestDb::postgres().await {
        assert_eq!(t.db.backend(), Backend::Postgres);
        test(t.db.clone()).await;
        t.cleanup().await;
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let slash = base.rfind('/').expect("database URL with a path");
    format!("{}/{}{}", &base[..slash], name, query)
}

/// A temporary directory removed on drop (avoids a dependency for one struct).
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let p =
            std::env::temp_dir().join(format!("passerelle-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
