//! `passerelle backup` while the service writes, and `passerelle restore` into an empty data directory.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use files::{FileStore, Keyring};
use store::roles::OrgKind;
use store::{Actor, Db};

const KEY: [u8; 32] = [7; 32];

fn passerelle(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passerelle"));
    cmd.args(args)
        .env("PASSERELLE_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("PASSERELLE_ENCRYPTION_KEY")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run passerelle")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn file_store(data_dir: &Path) -> FileStore {
    FileStore::local(
        &data_dir.join("files"),
        Keyring::from_key(KEY),
        None,
        files::DEFAULT_MAX_BYTES,
    )
    .unwrap()
}

async fn open(data_dir: &Path) -> Db {
    Db::connect(&format!(
        "sqlite://{}",
        data_dir.join("passerelle.db").display()
    ))
    .await
    .unwrap()
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

fn new_org(i: usize) -> store::orgs::NewOrganisation {
    store::orgs::NewOrganisation {
        kind: OrgKind::Administration,
        name: format!("Administration de test {i}"),
        parent_id: None,
        departement: None,
        time_zone: "Europe/Paris".into(),
        address: None,
        phone: None,
        email: None,
    }
}

const ORGS: &str = "SELECT COUNT(*) FROM organisations WHERE name LIKE 'Administration de test %'";
const ORG_EVENTS: &str = "SELECT COUNT(*) FROM audit_events WHERE action = 'organisation.create'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_service_writes_restores_consistently_with_its_attachments() {
    let live = store::testing::TempDir::new();
    let db = open(&live.0).await;
    db.migrate().await.unwrap();
    let stored = file_store(&live.0)
        .put_stream(
            "compte-rendu.txt",
            futures::stream::iter([Ok::<_, std::io::Error>(
                b"Compte rendu de l'entretien du 3 novembre.".to_vec(),
            )]),
        )
        .await
        .unwrap();
    // The demo's generated key sits in the data directory: it must not travel with the backup.
    std::fs::write(
        live.0.join("encryption.key"),
        "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
    )
    .unwrap();

    // The "service": a task creating organisations (each with its audit event, in one transaction) in a loop.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = tokio::spawn({
        let (db, stop, written) = (db.clone(), stop.clone(), written.clone());
        async move {
            let actor = Actor::system("test writer");
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                store::orgs::create(&db, &actor, &new_org(i)).await.unwrap();
                i += 1;
                written.store(i, Ordering::SeqCst);
            }
        }
    });
    while written.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = written.load(Ordering::SeqCst) as i64;
    let backup_dir = live.0.join("sauvegarde");
    let out = tokio::task::spawn_blocking({
        let (live, backup_dir) = (live.0.clone(), backup_dir.clone());
        move || passerelle(&live, &["backup", backup_dir.to_str().unwrap()], &[])
    })
    .await
    .unwrap();
    let during = written.load(Ordering::SeqCst) as i64;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        during > before,
        "the writer must have gone on during the backup"
    );
    assert!(text(&out.stdout).contains("PASSERELLE_ENCRYPTION_KEY"));

    // The note says where the key lives; neither the key file nor its content is in the backup.
    let note = std::fs::read_to_string(backup_dir.join("LISEZMOI.txt")).unwrap();
    assert!(note.contains("N'EST PAS dans cette sauvegarde"), "{note}");
    assert!(note.contains("encryption.key"), "{note}");
    assert!(!backup_dir.join("encryption.key").exists());
    assert!(!note.contains("BwcHBwcH"));

    // Restore into an empty data directory.
    let restored = store::testing::TempDir::new();
    let out = passerelle(&restored.0, &["restore", backup_dir.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rdb = open(&restored.0).await;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(rdb.pool())
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let orgs = count(&rdb, ORGS).await;
    assert!(
        (before..=during).contains(&orgs),
        "{orgs} organisations restored, {before}..={during} expected"
    );
    // Consistent: every organisation has its audit event, and no event lacks its organisation.
    assert_eq!(count(&rdb, ORG_EVENTS).await, orgs);
    rdb.close().await;
    // The attachment is readable with the same key, from the restored data directory.
    let bytes = file_store(&restored.0).read_all(&stored.key).await.unwrap();
    assert_eq!(bytes, b"Compte rendu de l'entretien du 3 novembre.");

    // A second restore over data that now exists is refused without --force, and keeps the old data with it.
    let again = passerelle(&restored.0, &["restore", backup_dir.to_str().unwrap()], &[]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
    let forced = passerelle(
        &restored.0,
        &["restore", "--force", backup_dir.to_str().unwrap()],
        &[],
    );
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(text(&forced.stdout).contains("avant-restauration"));
    let kept = std::fs::read_dir(&restored.0)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("passerelle.db.avant-restauration-")
        })
        .count();
    assert_eq!(kept, 1);
    let rdb = open(&restored.0).await;
    assert_eq!(count(&rdb, ORGS).await, orgs);
    rdb.close().await;
    db.close().await;
}

#[test]
fn restore_refuses_what_is_not_a_passerelle_backup() {
    let dir = store::testing::TempDir::new();
    let fake = dir.0.join("pas-une-sauvegarde");
    std::fs::create_dir_all(&fake).unwrap();
    let data = dir.0.join("data");

    let out = passerelle(&data, &["restore", fake.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("n'est pas une sauvegarde de Passerelle"));

    std::fs::write(
        fake.join("passerelle.db"),
        b"ceci n'est pas une base SQLite",
    )
    .unwrap();
    let out = passerelle(&data, &["restore", fake.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("n'est pas une base de données Passerelle"),
        "{}",
        text(&out.stderr)
    );
    assert!(!data.join("passerelle.db").exists(), "nothing restored");
}

#[test]
fn with_postgresql_backup_and_restore_point_to_pg_dump_and_fail() {
    let dir = store::testing::TempDir::new();
    let pg = [(
        "DATABASE_URL",
        "postgres://app:s3cret@db.invalid/passerelle",
    )];
    let out = passerelle(&dir.0, &["backup", dir.0.join("b").to_str().unwrap()], &pg);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("pg_dump --format=custom"), "{err}");
    assert!(!err.contains("s3cret"));
    let out = passerelle(&dir.0, &["restore", dir.0.to_str().unwrap()], &pg);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("pg_restore"));
}
