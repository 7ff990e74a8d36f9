//! `passerelle import natinf FILE`: all-or-nothing with a per-line report; Latin-1 exports are read too.

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
fn natinf_import_reports_bad_lines_and_reads_latin1() {
    let dir = store::testing::TempDir::new();
    let bad = dir.0.join("bad.csv");
    std::fs::write(
        &bad,
        "NATINF;Qualification\n7875;Exécution d'un travail dissimulé\nABC;Vol\n7151;\n",
    )
    .unwrap();
    let out = passerelle(&dir.0, &["import", "natinf", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Ligne 3"), "{stderr}");
    assert!(stderr.contains("Ligne 4"), "{stderr}");
    assert!(stderr.contains("Aucune ligne n'a été importée"), "{stderr}");

    let latin1 = dir.0.join("latin1.csv");
    std::fs::write(
        &latin1,
        b"NATINF;Qualification\n7875;Ex\xE9cution d'un travail dissimul\xE9\n",
    )
    .unwrap();
    let out = passerelle(&dir.0, &["import", "natinf", latin1.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 infraction(s) NATINF importée(s)"));

    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/natinf-echantillon.csv"
    );
    let out = passerelle(&dir.0, &["import", "natinf", sample]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 infraction(s) NATINF importée(s)"));
}
