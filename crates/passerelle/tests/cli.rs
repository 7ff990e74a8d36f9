//! The binary as an operator uses it: imports are all-or-nothing with a per-line report.

use std::process::Command;

fn passerelle(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(args)
        .env("PASSERELLE_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run passerelle")
}

#[test]
fn a_bad_juridictions_file_is_reported_by_line_and_imports_nothing() {
    let dir = store::testing::TempDir::new();
    let bad = dir.0.join("bad.csv");
    let mut bytes = b"code_insee;commune;cour_appel;tribunal_judiciaire\n92002;Antony;CA Versailles;TJ Nanterre\n".to_vec();
    bytes.extend_from_slice(b"9Z050;Nanterre;CA Versailles;TJ Nanterre\n");
    std::fs::write(&bad, &bytes).unwrap();
    let out = passerelle(&dir.0, &["import", "juridictions", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ligne 3"), "{stderr}");
    assert!(stderr.contains("Aucune ligne n'a été importée"), "{stderr}");

    let latin1 = dir.0.join("latin1.csv");
    std::fs::write(
        &latin1,
        b"code_insee;commune;cour_appel;tribunal_judiciaire\n92004;Asni\xE8res;CA;TJ\n",
    )
    .unwrap();
    let out = passerelle(
        &dir.0,
        &["import", "juridictions", latin1.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("UTF-8"));

    let missing = dir.0.join("missing.csv");
    std::fs::write(&missing, "code_insee;commune\n92004;Asnières\n").unwrap();
    let out = passerelle(
        &dir.0,
        &["import", "juridictions", missing.to_str().unwrap()],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("colonne(s) manquante(s)"));

    // Nothing was imported by the failed runs; the shipped sample then imports completely.
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/juridictions-92-echantillon.csv"
    );
    let out = passerelle(&dir.0, &["import", "juridictions", sample]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("36 communes"));
}

#[test]
fn user_create_prints_a_single_use_activation_link() {
    let dir = store::testing::TempDir::new();
    let out = passerelle(
        &dir.0,
        &[
            "user",
            "create",
            "--email",
            "Premier.Admin@justice.fr",
            "--first-name",
            "Ada",
            "--last-name",
            "Admin",
            "--role",
            "admin",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("premier.admin@justice.fr"));
    assert!(stdout.contains("/mot-de-passe/nouveau?jeton="));
    let again = passerelle(
        &dir.0,
        &[
            "user",
            "create",
            "--email",
            "premier.admin@justice.fr",
            "--first-name",
            "A",
            "--last-name",
            "B",
            "--role",
            "admin",
        ],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("existe déjà"));
}

/// The communes list travels inside the binary: run from a directory without `node_modules`, the import finds
/// every current commune (and the demo's commune search and routing work the same way).
#[test]
fn the_communes_import_works_from_any_directory_with_the_embedded_list() {
    let dir = store::testing::TempDir::new();
    let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["import", "communes"])
        .current_dir(&dir.0)
        .env("PASSERELLE_DATA_DIR", &dir.0)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run passerelle");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count: u64 = stdout
        .lines()
        .find_map(|l| l.strip_suffix(" communes importées."))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {stdout}"));
    // France has about 34,900 communes; a truncated or empty list would be far below.
    assert!((34_000..36_000).contains(&count), "{count}");
}

#[test]
fn a_bad_trusted_proxy_or_session_lifetime_refuses_to_start_and_names_the_variable() {
    let dir = std::env::temp_dir().join(format!("passerelle-cli-proxies-{}", std::process::id()));
    for (var, value) in [
        ("PASSERELLE_TRUSTED_PROXIES", "10.0.0.0/8, 10.0.0.0/33"),
        ("PASSERELLE_SESSION_MAX_HOURS", "douze"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .arg("migrate")
            .env("PASSERELLE_DATA_DIR", &dir)
            .env_remove("DATABASE_URL")
            .env(var, value)
            .output()
            .expect("run passerelle");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("variable d'environnement {var} invalide")),
            "{err}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("migrate")
        .env("PASSERELLE_DATA_DIR", &dir)
        .env_remove("DATABASE_URL")
        .env(
            "PASSERELLE_TRUSTED_PROXIES",
            "10.0.0.0/8, 192.168.1.10, fd00::/8",
        )
        .output()
        .expect("run passerelle");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
