//! Embeds the communes list (`@etalab/decoupage-administratif`, pinned by package-lock.json) in the binary,
//! compressed: only the current communes and the fields Passerelle reads, deflated (8.6 MB of JSON → ~0.5 MB), so
//! `passerelle demo` and `passerelle import communes` work from any directory without npm at run time.

use std::path::Path;

fn main() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../node_modules/@etalab/decoupage-administratif/data/communes.json");
    println!("cargo:rerun-if-changed={}", src.display());
    let bytes = std::fs::read(&src).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): run scripts/setup.sh (npm ci) before building",
            src.display()
        )
    });
    let all: Vec<serde_json::Value> =
        serde_json::from_slice(&bytes).expect("communes.json is a JSON array");
    let keep = ["code", "nom", "departement", "codesPostaux", "type"];
    let current: Vec<serde_json::Value> = all
        .into_iter()
        .filter(|c| c.get("type").and_then(|t| t.as_str()) == Some("commune-actuelle"))
        .map(|c| {
            let mut m = serde_json::Map::new();
            for k in keep {
                if let Some(v) = c.get(k) {
                    m.insert(k.to_string(), v.clone());
                }
            }
            serde_json::Value::Object(m)
        })
        .collect();
    let json = serde_json::to_vec(&current).expect("serialise communes");
    let deflated = miniz_oxide::deflate::compress_to_vec(&json, 9);
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("communes.json.deflate");
    std::fs::write(out, deflated).expect("write the embedded communes");
}
