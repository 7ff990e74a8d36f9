//! `passerelle backup DIR` and `passerelle restore DIR` (SQLite only; PostgreSQL has pg_dump / pg_restore).
//!
//! A backup is a directory, readable with ordinary tools and easy to archive (`tar czf`):
//!
//! ```text
//! DIR/passerelle.db    the database, copied with `VACUUM INTO` (a consistent snapshot while the service writes)
//! DIR/files/…          the attachments' object store (encrypted objects, copied as they are)
//! DIR/LISEZMOI.txt     what the backup holds, and where the encryption key lives (it is NOT in the backup)
//! ```
//!
//! Order matters: the database snapshot is taken first, then the objects are copied. An object is written before
//! the row that references it is committed, and objects are never modified, so every attachment the snapshot knows
//! is already on disk when the copy starts; objects uploaded after the snapshot are copied too and stay unused.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};
use web::Config;

pub const DB_FILE: &str = "passerelle.db";
pub const FILES_DIR: &str = "files";
pub const NOTE_FILE: &str = "LISEZMOI.txt";

const PG_BACKUP: &str = "\
La commande `passerelle backup` ne sauvegarde qu'une base SQLite. Avec PostgreSQL, utilisez pg_dump, par exemple :

  pg_dump --format=custom --file=passerelle-$(date +%F).dump \"$DATABASE_URL\"

(pg_dump donne une copie cohérente pendant que le service fonctionne ; restauration : pg_restore --clean
--if-exists --no-owner --dbname=\"$DATABASE_URL\" FICHIER.dump). Sauvegardez aussi le dossier des pièces jointes
(PASSERELLE_DATA_DIR/files) après le pg_dump, et, séparément, la clé de chiffrement PASSERELLE_ENCRYPTION_KEY.";

const PG_RESTORE: &str = "\
La commande `passerelle restore` ne restaure qu'une base SQLite. Avec PostgreSQL, arrêtez le service puis utilisez
pg_restore, par exemple :

  pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" FICHIER.dump

et recopiez le dossier des pièces jointes sauvegardé dans PASSERELLE_DATA_DIR/files.";

/// The file of a `sqlite:` database URL; None for PostgreSQL or an in-memory database.
pub fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

async fn open(path: &Path, read_only: bool) -> Result<SqliteConnection> {
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .read_only(read_only)
        .busy_timeout(std::time::Duration::from_secs(30));
    SqliteConnection::connect_with(&opts)
        .await
        .with_context(|| format!("ouverture de {}", path.display()))
}

/// What a checked database holds.
#[derive(Debug)]
pub struct Checked {
    pub schema_version: i64,
    pub organisations: i64,
    pub users: i64,
    pub attachments: i64,
}

/// Checks that `path` is a sound Passerelle SQLite database this binary can run: readable as SQLite, `PRAGMA
/// integrity_check` answers ok, `schema_migrations` exists and names no migration newer than this binary knows.
pub async fn check(path: &Path) -> Result<Checked> {
    let not_ours = || {
        anyhow::anyhow!(
            "{} n'est pas une base de données Passerelle (SQLite avec une table schema_migrations)",
            path.display()
        )
    };
    let mut conn = open(path, true).await?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|_| not_ours())?;
    if integrity != "ok" {
        bail!(
            "{} est endommagée (contrôle d'intégrité : {integrity})",
            path.display()
        );
    }
    let has_migrations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
    )
    .fetch_one(&mut conn)
    .await?;
    if has_migrations == 0 {
        return Err(not_ours());
    }
    let schema_version: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_one(&mut conn)
            .await?;
    let known = store::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    if schema_version > known {
        bail!(
            "{} vient d'une version plus récente de Passerelle (schéma {schema_version}, cette version connaît \
             jusqu'au schéma {known}) : utilisez la version qui a fait la sauvegarde",
            path.display()
        );
    }
    let organisations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organisations")
        .fetch_one(&mut conn)
        .await?;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut conn)
        .await?;
    let attachments: i64 = match sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%storage_key%' LIMIT 1",
    )
    .fetch_optional(&mut conn)
    .await?
    {
        Some(row) => {
            let table: String = row.get("name");
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{table}\""))
                .fetch_one(&mut conn)
                .await?
        }
        None => 0,
    };
    conn.close().await.ok();
    Ok(Checked {
        schema_version,
        organisations,
        users,
        attachments,
    })
}

/// Whether a database file holds anything worth keeping: any organisation, account or audit event (the rows
/// migrations insert by themselves do not count), or any table at all when it is not a Passerelle database.
async fn holds_data(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("lecture de {}", path.display())),
        Ok(m) if m.len() == 0 => return Ok(false),
        Ok(_) => {}
    }
    let mut conn = open(path, true).await?;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .with_context(|| format!("{} n'est pas une base SQLite lisible", path.display()))?;
    let ours = ["organisations", "users", "audit_events"];
    if !ours.iter().all(|t| tables.iter().any(|x| x == t)) {
        return Ok(!tables.is_empty());
    }
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM organisations) + (SELECT COUNT(*) FROM users) \
         + (SELECT COUNT(*) FROM audit_events)",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await.ok();
    Ok(rows > 0)
}

/// Every regular file under `root`, as paths relative to it. Staging files of uploads in progress (object_store's
/// local store names them `<key>#<n>`) are left out: they are not objects yet.
fn object_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !root.exists() {
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("lecture de {}", dir.display()))?
        {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && !entry.file_name().to_string_lossy().contains('#') {
                out.push(path.strip_prefix(root).expect("under root").to_path_buf());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Copies the objects of `from` into `to` (created), with a progress bar; returns how many were copied.
fn copy_objects(from: &Path, to: &Path) -> Result<usize> {
    let files = object_files(from)?;
    std::fs::create_dir_all(to).with_context(|| format!("création de {}", to.display()))?;
    let pb = crate::progress(files.len(), "Pièces jointes");
    for (i, rel) in files.iter().enumerate() {
        let target = to.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::copy(from.join(rel), &target) {
            Ok(_) => {}
            // Deleted (retention) between the listing and the copy: nothing references it any more.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("copie de {}", from.join(rel).display()))
            }
        }
        pb.set_position(i as u64 + 1);
    }
    pb.finish_and_clear();
    Ok(files.len())
}

fn key_note(config: &Config) -> String {
    format!(
        "La clé de chiffrement des pièces jointes N'EST PAS dans cette sauvegarde (une sauvegarde volée ne doit pas \
         suffire à lire les pièces jointes). Elle se trouve dans la variable d'environnement \
         PASSERELLE_ENCRYPTION_KEY du service (production ; pendant un changement de clé, les anciennes sont dans \
         PASSERELLE_ENCRYPTION_OLD_KEYS) ou, en démonstration sans cette variable, dans le fichier {}. Sauvegardez-la séparément, dans un coffre à secrets, et jamais au même endroit que cette sauvegarde : \
         sans elle, les pièces jointes restaurées sont illisibles.",
        config.data_dir.join(files::crypto::KEY_FILE).display()
    )
}

/// `passerelle backup DIR`.
pub async fn backup(config: &Config, dest: &Path) -> Result<ExitCode> {
    let Some(db_path) = sqlite_file(config.database_url.expose()) else {
        eprintln!("{PG_BACKUP}");
        return Ok(ExitCode::FAILURE);
    };
    if !db_path.is_file() {
        bail!(
            "aucune base de données à sauvegarder : {} n'existe pas (vérifiez PASSERELLE_DATA_DIR ou DATABASE_URL)",
            db_path.display()
        );
    }
    if dest.exists()
        && (!dest.is_dir()
            || std::fs::read_dir(dest)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true))
    {
        bail!(
            "{} existe déjà et n'est pas un dossier vide : indiquez un nouveau dossier de sauvegarde",
            dest.display()
        );
    }
    std::fs::create_dir_all(dest).with_context(|| format!("création de {}", dest.display()))?;
    let db_copy = dest.join(DB_FILE);
    // VACUUM INTO reads the database in one read transaction: a consistent snapshot, while the service goes on
    // writing (WAL mode lets readers and the writer work at the same time).
    let mut conn = open(&db_path, false).await?;
    sqlx::query("VACUUM INTO $1")
        .bind(db_copy.display().to_string())
        .execute(&mut conn)
        .await
        .context("copie de la base de données (VACUUM INTO)")?;
    conn.close().await.ok();
    let checked = check(&db_copy)
        .await
        .context("la copie de la base de données n'a pas pu être vérifiée")?;
    let objects = copy_objects(&config.data_dir.join(FILES_DIR), &dest.join(FILES_DIR))?;
    let note = format!(
        "Sauvegarde de Passerelle (version {version}), faite le {date}.\n\n\
         - {DB_FILE} : la base de données SQLite (schéma {schema}, {orgs} organisation(s), {users} compte(s), \
         {att} pièce(s) jointe(s) référencée(s)).\n\
         - {FILES_DIR}/ : les pièces jointes, chiffrées ({objects} objet(s)).\n\n\
         {key}\n\n\
         Restauration, service arrêté : passerelle restore <ce dossier> (avec les mêmes PASSERELLE_DATA_DIR et \
         clé de chiffrement que le service).\n",
        version = env!("CARGO_PKG_VERSION"),
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"),
        schema = checked.schema_version,
        orgs = checked.organisations,
        users = checked.users,
        att = checked.attachments,
        key = key_note(config),
    );
    std::fs::write(dest.join(NOTE_FILE), note)?;
    println!(
        "Sauvegarde terminée dans {} : base de données vérifiée (schéma {}, {} organisation(s), {} compte(s)) et {} \
         pièce(s) jointe(s).",
        dest.display(),
        checked.schema_version,
        checked.organisations,
        checked.users,
        objects
    );
    println!("Attention : {}", key_note(config));
    Ok(ExitCode::SUCCESS)
}

/// Renames `from` to `to` when it exists; returns the new name.
fn move_aside(from: &Path, to: PathBuf) -> Result<Option<PathBuf>> {
    if !from.exists() {
        return Ok(None);
    }
    std::fs::rename(from, &to)
        .with_context(|| format!("impossible de renommer {}", from.display()))?;
    Ok(Some(to))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `passerelle restore DIR [--force]`. The service must be stopped.
pub async fn restore(config: &Config, src: &Path, force: bool) -> Result<ExitCode> {
    let Some(db_path) = sqlite_file(config.database_url.expose()) else {
        eprintln!("{PG_RESTORE}");
        return Ok(ExitCode::FAILURE);
    };
    let backup_db = src.join(DB_FILE);
    if !backup_db.is_file() {
        bail!(
            "{} n'est pas une sauvegarde de Passerelle : le fichier {DB_FILE} n'y est pas",
            src.display()
        );
    }
    let checked = check(&backup_db).await?;
    let files_dir = config.data_dir.join(FILES_DIR);
    let has_objects = !object_files(&files_dir)?.is_empty();
    if !force && (holds_data(&db_path).await? || has_objects) {
        bail!(
            "la base de données {} ou le dossier des pièces jointes {} n'est pas vide. Pour les remplacer, \
             arrêtez le service et relancez avec --force : l'ancienne base et l'ancien dossier seront gardés à \
             côté, renommés « ….avant-restauration-<date> »",
            db_path.display(),
            files_dir.display()
        );
    }
    if let Some(parent) = db_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::create_dir_all(&config.data_dir)?;
    // Copy first, under a temporary name in the same directory, so that the switch is a rename.
    let tmp = with_suffix(&db_path, ".restauration");
    std::fs::copy(&backup_db, &tmp).with_context(|| format!("copie vers {}", tmp.display()))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    // Fold the old database's write-ahead log into it, so that the copy kept aside is whole by itself.
    if db_path.is_file() {
        if let Ok(mut conn) = open(&db_path, false).await {
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut conn)
                .await;
            conn.close().await.ok();
        }
    }
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
    let aside = with_suffix(&db_path, &format!(".avant-restauration-{stamp}"));
    let mut kept = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        // `x.db-wal` goes to `x.db.avant-restauration-<stamp>-wal`: SQLite pairs it with the kept database.
        kept.extend(move_aside(
            &with_suffix(&db_path, suffix),
            with_suffix(&aside, suffix),
        )?);
    }
    if has_objects {
        kept.extend(move_aside(
            &files_dir,
            with_suffix(&files_dir, &format!(".avant-restauration-{stamp}")),
        )?);
    }
    std::fs::rename(&tmp, &db_path)?;
    let objects = copy_objects(&src.join(FILES_DIR), &files_dir)?;
    println!(
        "Restauration terminée : {} (schéma {}, {} organisation(s), {} compte(s), {} pièce(s) jointe(s) \
         référencée(s)) et {} objet(s) dans {}.",
        db_path.display(),
        checked.schema_version,
        checked.organisations,
        checked.users,
        checked.attachments,
        objects,
        files_dir.display()
    );
    for k in kept {
        println!("Ancienne version conservée : {}", k.display());
    }
    println!(
        "Le service doit utiliser la même clé de chiffrement qu'au moment de la sauvegarde (PASSERELLE_ENCRYPTION_KEY) \
         pour lire les pièces jointes. Les migrations manquantes seront appliquées au prochain démarrage."
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sqlite_files_are_backed_up_by_the_command() {
        assert_eq!(
            sqlite_file("sqlite://./passerelle-data/passerelle.db?mode=rwc"),
            Some(PathBuf::from("./passerelle-data/passerelle.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:/var/lib/passerelle/p.db"),
            Some(PathBuf::from("/var/lib/passerelle/p.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://app:pw@db/passerelle"), None);
    }
}
