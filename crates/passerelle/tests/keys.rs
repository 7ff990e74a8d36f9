//! Rotating the attachments' master key: new files under the newest key, older ones still readable, and
//! `passerelle keys rotate` moving every file to the newest key.

use std::path::Path;
use std::process::{Command, Output};

use files::{CryptoError, FileError, FileStore, Keyring};

const OLD: [u8; 32] = [7; 32];
const OLD_B64: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const NEW: [u8; 32] = [0x42; 32];
const NEW_B64: &str = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";

fn rotate(data_dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passerelle"));
    cmd.args(["keys", "rotate"])
        .env("PASSERELLE_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("PASSERELLE_ENCRYPTION_KEY")
        .env_remove("PASSERELLE_ENCRYPTION_OLD_KEYS")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run passerelle")
}

fn store(data_dir: &Path, keyring: Keyring) -> FileStore {
    FileStore::local(
        &data_dir.join("files"),
        keyring,
        None,
        files::DEFAULT_MAX_BYTES,
    )
    .unwrap()
}

async fn put(store: &FileStore, name: &str, content: &[u8]) -> String {
    store
        .put_stream(
            name,
            futures::stream::iter([Ok::<_, std::io::Error>(content.to_vec())]),
        )
        .await
        .unwrap()
        .key
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn after_a_rotation_every_attachment_reads_with_the_new_key_alone() {
    let dir = store::testing::TempDir::new();
    // Several 64 KiB chunks, so that the re-encryption streams.
    let big: Vec<u8> = "Procès-verbal de constatation, page suivante.\n"
        .repeat(6000)
        .into_bytes();
    let old_file = put(&store(&dir.0, Keyring::from_key(OLD)), "pv.txt", &big).await;

    // The service restarted with a new key and the old one kept for reading.
    let both = store(&dir.0, Keyring::from_keys(NEW, &[OLD]));
    let new_file = put(&both, "note.txt", b"Nouvelle note.").await;
    assert_eq!(
        both.key_id_of(&new_file).await.unwrap(),
        both.current_key_id()
    );
    assert_ne!(
        both.key_id_of(&old_file).await.unwrap(),
        both.current_key_id()
    );
    assert_eq!(both.read_all(&old_file).await.unwrap(), big);
    let new_only = store(&dir.0, Keyring::from_key(NEW));
    assert!(matches!(
        new_only.read_all(&old_file).await,
        Err(FileError::Crypto(CryptoError::UnknownKey))
    ));

    // Without the old key, the rotation cannot read the old file: it says which variable is missing.
    let out = rotate(&dir.0, &[("PASSERELLE_ENCRYPTION_KEY", NEW_B64)]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("PASSERELLE_ENCRYPTION_OLD_KEYS"),
        "{}",
        text(&out.stderr)
    );

    let env = [
        ("PASSERELLE_ENCRYPTION_KEY", NEW_B64),
        ("PASSERELLE_ENCRYPTION_OLD_KEYS", OLD_B64),
    ];
    let out = rotate(&dir.0, &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("1 pièce(s) jointe(s) rechiffrée(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("1 déjà à jour"), "{stdout}");

    // The old key is no longer needed; the old key alone reads nothing any more.
    assert_eq!(new_only.read_all(&old_file).await.unwrap(), big);
    assert_eq!(
        new_only.read_all(&new_file).await.unwrap(),
        b"Nouvelle note."
    );
    assert_eq!(
        new_only.keys().await.unwrap().len(),
        2,
        "no leftover object"
    );
    assert!(store(&dir.0, Keyring::from_key(OLD))
        .read_all(&old_file)
        .await
        .is_err());

    // Running it again changes nothing.
    let out = rotate(&dir.0, &env);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("0 pièce(s) jointe(s) rechiffrée(s)"));
    assert!(text(&out.stdout).contains("2 déjà à jour"));
}

#[test]
fn rotate_without_any_key_refuses_rather_than_inventing_one() {
    let dir = store::testing::TempDir::new();
    let out = rotate(&dir.0, &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("aucune clé de chiffrement"));
    assert!(!dir.0.join("encryption.key").exists());
}
