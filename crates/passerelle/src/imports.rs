//! Parsers of the reference files. Each returns every row or, when any row is invalid, the list of bad rows with
//! their line number and a French reason: an import is all-or-nothing.

use std::collections::{HashMap, HashSet};

use domain::InseeCode;
use store::refdata::{Commune, Juridiction};

#[derive(Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line of the file (the header is line 1).
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "fichier : {}", self.message)
        } else {
            write!(f, "ligne {} : {}", self.line, self.message)
        }
    }
}

fn file_error(message: impl Into<String>) -> Vec<RowError> {
    vec![RowError {
        line: 0,
        message: message.into(),
    }]
}

/// Header names compared without case, accents, spaces, quotes, dashes or underscores.
fn header_key(s: &str) -> String {
    store::search_key(s)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Parses the Ministry's « juridictions compétentes pour les communes » CSV (UTF-8, `;`).
pub fn parse_juridictions(bytes: &[u8]) -> Result<Vec<Juridiction>, Vec<RowError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Report every line that is not valid UTF-8 (a file saved as Latin-1 by a spreadsheet, typically).
    let bad_lines: Vec<RowError> = bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| std::str::from_utf8(l).is_err())
        .map(|(i, _)| RowError {
            line: i + 1,
            message: "caractères illisibles : le fichier doit être encodé en UTF-8 (réenregistrez-le en « CSV UTF-8 »)"
                .into(),
        })
        .collect();
    if !bad_lines.is_empty() {
        return Err(bad_lines);
    }
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .from_reader(bytes);
    let headers = rdr
        .headers()
        .map_err(|e| file_error(format!("en-tête illisible ({e})")))?
        .clone();
    let index: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (header_key(h), i))
        .collect();
    let find = |aliases: &[&str]| aliases.iter().find_map(|a| index.get(*a).copied());
    let insee = find(&["codeinsee", "insee", "codecommune", "codeinseecommune"]);
    let name = find(&["commune", "nomcommune", "nom", "libellecommune"]);
    let ca = find(&["courappel", "courdappel", "ca"]);
    let tj = find(&["tribunaljudiciaire", "tj"]);
    let tprox = find(&["tribunalproximite", "tribunaldeproximite", "tprox"]);
    let cph = find(&["conseilprudhommes", "conseildeprudhommes", "cph"]);
    let mut missing = vec![];
    for (col, label) in [
        (insee, "code INSEE"),
        (name, "commune"),
        (ca, "cour d'appel"),
        (tj, "tribunal judiciaire"),
    ] {
        if col.is_none() {
            missing.push(label);
        }
    }
    if !missing.is_empty() {
        return Err(file_error(format!(
            "colonne(s) manquante(s) dans l'en-tête : {} (en-tête lu : « {} »)",
            missing.join(", "),
            headers.iter().collect::<Vec<_>>().join(";")
        )));
    }
    let (insee, name, ca, tj) = (
        insee.unwrap_or(0),
        name.unwrap_or(0),
        ca.unwrap_or(0),
        tj.unwrap_or(0),
    );
    let mut rows = vec![];
    let mut errors = vec![];
    let mut seen = HashSet::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    line,
                    message: format!("ligne illisible ({e})"),
                });
                continue;
            }
        };
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |c: usize| rec.get(c).map(str::trim).unwrap_or("");
        let opt = |c: Option<usize>| c.map(get).filter(|s| !s.is_empty()).map(str::to_string);
        let code = match InseeCode::parse(get(insee)) {
            Ok(c) => c,
            Err(e) => {
                errors.push(RowError {
                    line,
                    message: format!("{e} (« {} »)", get(insee)),
                });
                continue;
            }
        };
        let mut problems = vec![];
        if get(name).is_empty() {
            problems.push("nom de commune vide");
        }
        if get(ca).is_empty() {
            problems.push("cour d'appel vide");
        }
        if get(tj).is_empty() {
            problems.push("tribunal judiciaire vide");
        }
        if !seen.insert(code.as_str().to_string()) {
            problems.push("commune déjà présente plus haut dans le fichier");
        }
        if !problems.is_empty() {
            errors.push(RowError {
                line,
                message: problems.join(", "),
            });
            continue;
        }
        rows.push(Juridiction {
            insee: code.as_str().to_string(),
            commune_name: get(name).to_string(),
            cour_appel: get(ca).to_string(),
            tribunal_judiciaire: get(tj).to_string(),
            tribunal_proximite: opt(tprox),
            conseil_prudhommes: opt(cph),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if rows.is_empty() {
        return Err(file_error("aucune ligne de données"));
    }
    Ok(rows)
}

#[derive(serde::Deserialize)]
struct RawCommune {
    code: String,
    nom: String,
    departement: Option<String>,
    #[serde(rename = "codesPostaux", default)]
    codes_postaux: Vec<String>,
    #[serde(rename = "type", default)]
    kind: String,
}

/// The current communes of `@etalab/decoupage-administratif` (the version pinned by package-lock.json), embedded
/// in the binary by build.rs.
pub fn embedded_communes_json() -> Vec<u8> {
    static DEFLATED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/communes.json.deflate"));
    miniz_oxide::inflate::decompress_to_vec(DEFLATED)
        .expect("the communes embedded at build time inflate")
}

/// Parses `communes.json` of `@etalab/decoupage-administratif`, keeping current communes only.
pub fn parse_communes_json(bytes: &[u8]) -> Result<Vec<Commune>, Vec<RowError>> {
    let raw: Vec<RawCommune> =
        serde_json::from_slice(bytes).map_err(|e| file_error(format!("JSON invalide ({e})")))?;
    let mut rows = vec![];
    let mut errors = vec![];
    for (i, c) in raw.into_iter().enumerate() {
        if c.kind != "commune-actuelle" {
            continue;
        }
        match InseeCode::parse(&c.code) {
            Ok(code) => rows.push(Commune {
                departement: c
                    .departement
                    .unwrap_or_else(|| code.departement().to_string()),
                insee: code.as_str().to_string(),
                name: c.nom,
                postcodes: c.codes_postaux,
            }),
            Err(e) => errors.push(RowError {
                line: i + 1,
                message: format!("entrée {} : {e}", i + 1),
            }),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../../data/juridictions-92-echantillon.csv");

    #[test]
    fn the_shipped_sample_maps_all_36_communes_of_hauts_de_seine_to_nanterre() {
        let rows = parse_juridictions(SAMPLE.as_bytes()).unwrap();
        assert_eq!(rows.len(), 36);
        assert!(rows
            .iter()
            .all(|r| r.tribunal_judiciaire == "Tribunal judiciaire de Nanterre"));
        assert!(rows
            .iter()
            .any(|r| r.insee == "92050" && r.commune_name == "Nanterre"));
    }

    #[test]
    fn a_latin1_file_is_refused_with_the_lines_to_fix() {
        let mut bytes = b"code_insee;commune;cour_appel;tribunal_judiciaire\n92002;Antony;CA Versailles;TJ Nanterre\n".to_vec();
        bytes.extend_from_slice(b"92004;Asni\xE8res-sur-Seine;CA Versailles;TJ Nanterre\n");
        let errs = parse_juridictions(&bytes).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 3);
        assert!(errs[0].message.contains("UTF-8"));
    }

    #[test]
    fn a_missing_column_is_named() {
        let errs =
            parse_juridictions(b"code_insee;commune;cour_appel\n92002;Antony;CA\n").unwrap_err();
        assert!(
            errs[0].message.contains("tribunal judiciaire"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn every_bad_row_is_reported_and_nothing_is_returned() {
        let csv = "Code INSEE;Commune;Cour d'appel;Tribunal judiciaire\n\
                   92002;Antony;CA Versailles;TJ Nanterre\n\
                   9Z050;Nanterre;CA Versailles;TJ Nanterre\n\
                   92012;Boulogne;;TJ Nanterre\n\
                   92002;Antony;CA Versailles;TJ Nanterre\n";
        let errs = parse_juridictions(csv.as_bytes()).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(errs[1].message.contains("cour d'appel vide"));
        assert!(errs[2].message.contains("déjà présente"));
    }

    #[test]
    fn communes_json_keeps_current_communes_only() {
        let json = br#"[{"code":"92050","nom":"Nanterre","departement":"92","codesPostaux":["92000"],"type":"commune-actuelle"},
                        {"code":"92051","nom":"X","type":"commune-deleguee"}]"#;
        let rows = parse_communes_json(json).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].postcodes, vec!["92000"]);
    }
}
