//! Import of PPSMJ records from an APPI CSV export: ISO-8859-1, `;`-separated, one header line.
//!
//! Two steps: [`parse_appi_csv`] (pure: decoding, columns, formats, duplicates inside the file) and
//! [`import_appi`] (rules needing the date and the database, then every insert in one transaction). Any refused
//! row refuses the whole file, with every problem listed by line, so nothing is ever half-imported.
//!
//! Columns are found by their header, in any order, accents and case ignored. Required: "Numéro APPI", "Nom",
//! "Prénom", "Date de naissance" (jj/mm/aaaa or aaaa-mm-jj). Optional: "Téléphone" (or "Portable"), "Courriel",
//! "Adresse", "Code postal", "Ville" (or "Commune"). Other columns are ignored.

use std::collections::HashMap;

use domain::AppiNumber;
use sqlx::Row;

use super::ppsmj::{self, parse_french_date, PpsmjInput};
use super::MsjError;
use crate::{audit, Db, Scope, StoreError};

/// Beyond this, the file is not an export of one service: refuse rather than hold a huge transaction.
pub const MAX_ROWS: usize = 20_000;

/// A row of the file, checked for format. `line` is the line in the file (the header is line 1).
#[derive(Clone)]
pub struct AppiRow {
    pub line: u64,
    pub appi_number: AppiNumber,
    pub input: PpsmjInput,
}

/// A row as read, with the format problems found in it: the import goes on checking such rows (phone, e-mail,
/// age…) so that the agent gets every problem of every line in one report, not a second batch after a fix.
#[derive(Clone)]
struct ParsedRow {
    line: u64,
    appi_number: Option<AppiNumber>,
    input: PpsmjInput,
    /// Format problems, with the record field each concerns (so the later checks do not repeat them).
    problems: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for AppiRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppiRow")
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// A refused row (or the whole file, line 0 or 1), with the French message shown in the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

fn file_error(message: impl Into<String>) -> Vec<RowError> {
    vec![RowError {
        line: 1,
        message: message.into(),
    }]
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Column {
    Appi,
    LastName,
    FirstName,
    BirthDate,
    Phone,
    Email,
    Address,
    PostalCode,
    City,
}

fn column_of(header: &str) -> Option<Column> {
    let key = crate::search_key(header.trim_start_matches('\u{feff}'));
    let key = key.replace(['°', '.', '_'], " ");
    let key = key.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(match key.as_str() {
        "numero appi" | "n appi" | "no appi" | "appi" | "numero" => Column::Appi,
        "nom" | "nom de famille" | "nom d usage" => Column::LastName,
        "prenom" | "prenoms" => Column::FirstName,
        "date de naissance" | "ne le" | "naissance" => Column::BirthDate,
        "telephone" | "portable" | "telephone portable" | "tel" | "mobile" => Column::Phone,
        "courriel" | "email" | "e mail" | "adresse electronique" => Column::Email,
        "adresse" => Column::Address,
        "code postal" | "cp" => Column::PostalCode,
        "ville" | "commune" => Column::City,
        _ => return None,
    })
}

/// Decodes the export: ISO-8859-1 as APPI writes it (read as windows-1252, its superset, as browsers do), or
/// UTF-8 when the file carries a BOM or is valid UTF-8 (a file re-saved by a spreadsheet).
fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// Parses an APPI export; every problem of the file is reported, by line.
pub fn parse_appi_csv(bytes: &[u8]) -> Result<Vec<AppiRow>, Vec<RowError>> {
    let parsed = parse_rows(bytes)?;
    let errors: Vec<RowError> = parsed
        .iter()
        .filter(|r| !r.problems.is_empty())
        .map(|r| RowError {
            line: r.line,
            message: join_problems(&r.problems),
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(parsed
        .into_iter()
        .map(|r| AppiRow {
            line: r.line,
            appi_number: r
                .appi_number
                .expect("a row without problems has its APPI number"),
            input: r.input,
        })
        .collect())
}

fn join_problems(problems: &[(&'static str, String)]) -> String {
    problems
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads every row; `Err` only for what refuses the file as a whole (unreadable, columns missing, too long, empty).
fn parse_rows(bytes: &[u8]) -> Result<Vec<ParsedRow>, Vec<RowError>> {
    // Windows line ends (APPI runs on Windows) confuse the csv crate's line count: report lines as the agent
    // sees them in a text editor.
    let text = decode(bytes).replace("\r\n", "\n");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| file_error(format!("Fichier illisible : {e}.")))?
        .clone();
    let mut columns: HashMap<Column, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(c) = column_of(h) {
            columns.entry(c).or_insert(i);
        }
    }
    let missing: Vec<&str> = [
        (Column::Appi, "Numéro APPI"),
        (Column::LastName, "Nom"),
        (Column::FirstName, "Prénom"),
        (Column::BirthDate, "Date de naissance"),
    ]
    .into_iter()
    .filter(|(c, _)| !columns.contains_key(c))
    .map(|(_, name)| name)
    .collect();
    if !missing.is_empty() {
        return Err(file_error(format!(
            "Colonnes obligatoires absentes de la première ligne : {}. Vérifiez qu'il s'agit d'un export APPI \
             séparé par des points-virgules.",
            missing.join(", ")
        )));
    }

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen_appi: HashMap<String, u64> = HashMap::new();
    let mut seen_identity: HashMap<(String, String, String), u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(RowError {
                    line,
                    message: format!("Ligne illisible : {e}."),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() + errors.len() >= MAX_ROWS {
            return Err(file_error(format!(
                "Le fichier dépasse {MAX_ROWS} lignes : découpez-le en plusieurs imports."
            )));
        }
        let get = |c: Column| -> String {
            columns
                .get(&c)
                .and_then(|&i| record.get(i))
                .unwrap_or("")
                .to_string()
        };
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        let appi = match AppiNumber::parse(&get(Column::Appi)) {
            Ok(a) => Some(a),
            Err(e) => {
                problems.push(("appi_number", e.to_string()));
                None
            }
        };
        let last_name = get(Column::LastName);
        let first_name = get(Column::FirstName);
        if last_name.is_empty() {
            problems.push(("last_name", "Nom absent.".to_string()));
        }
        if first_name.is_empty() {
            problems.push(("first_name", "Prénom absent.".to_string()));
        }
        let birth_raw = get(Column::BirthDate);
        let birth = parse_french_date(&birth_raw);
        if birth.is_none() {
            problems.push((
                "birth_date",
                format!("Date de naissance « {birth_raw} » invalide : jj/mm/aaaa attendu."),
            ));
        }
        if let Some(a) = &appi {
            if let Some(first) = seen_appi.get(a.as_str()) {
                problems.push((
                    "appi_number",
                    format!("Numéro APPI {a} déjà présent ligne {first} du fichier."),
                ));
            } else {
                seen_appi.insert(a.as_str().to_string(), line);
            }
        }
        if let Some(b) = birth {
            let identity = (
                crate::search_key(&last_name),
                crate::search_key(&first_name),
                b.to_string(),
            );
            if let Some(first) = seen_identity.get(&identity) {
                problems.push((
                    "identity",
                    format!(
                        "Même personne (nom, prénom, date de naissance) que ligne {first} du fichier."
                    ),
                ));
            } else {
                seen_identity.insert(identity, line);
            }
        }
        let city = match (get(Column::PostalCode), get(Column::City)) {
            (cp, city) if cp.is_empty() => city,
            (cp, city) => format!("{cp} {city}").trim().to_string(),
        };
        rows.push(ParsedRow {
            line,
            input: PpsmjInput {
                first_name,
                last_name,
                birth_date: birth.map(|b| b.to_string()).unwrap_or(birth_raw),
                phone: get(Column::Phone),
                email: get(Column::Email),
                appi_number: appi
                    .as_ref()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_else(|| get(Column::Appi)),
                address: get(Column::Address),
                city,
                ..Default::default()
            },
            appi_number: appi,
            problems,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if rows.is_empty() {
        return Err(file_error(
            "Le fichier ne contient aucune ligne à importer.",
        ));
    }
    Ok(rows)
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    /// Rows whose APPI number already belongs to a record of the same person: nothing to do (a re-import).
    pub already_present: u64,
    /// Imported rows that look like an existing record without the same APPI number: (line, existing record id),
    /// for the agent to check.
    pub possible_duplicates: Vec<(u64, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} ligne(s) refusée(s) : rien n'a été importé.", .0.len())]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Other(#[from] MsjError),
}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        ImportError::Other(e.into())
    }
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Other(e.into())
    }
}

/// Imports parsed rows as records of `organisation_id`, all or nothing.
pub async fn import_appi(
    db: &Db,
    scope: &Scope,
    organisation_id: &str,
    rows: &[AppiRow],
    now: i64,
) -> Result<ImportReport, ImportError> {
    let rows: Vec<ParsedRow> = rows
        .iter()
        .map(|r| ParsedRow {
            line: r.line,
            appi_number: Some(r.appi_number.clone()),
            input: r.input.clone(),
            problems: Vec::new(),
        })
        .collect();
    import_rows(db, scope, organisation_id, &rows, now).await
}

/// Checks every row (format problems found while reading included) and writes them only when none is refused.
async fn import_rows(
    db: &Db,
    scope: &Scope,
    organisation_id: &str,
    rows: &[ParsedRow],
    now: i64,
) -> Result<ImportReport, ImportError> {
    if !scope.can_see(organisation_id) {
        return Err(StoreError::NotFound.into());
    }
    let mut tx = db.begin().await?;
    let today = ppsmj::org_today(&mut tx, organisation_id, now).await?;
    let mut report = ImportReport::default();
    let mut errors = Vec::new();
    let mut hidden: Vec<String> = Vec::new();
    for row in rows {
        let v = match ppsmj::validate_with(&row.input, today, ppsmj::PhoneChoice::Unknown) {
            Ok(v) if row.problems.is_empty() => v,
            Ok(_) => {
                errors.push(RowError {
                    line: row.line,
                    message: join_problems(&row.problems),
                });
                continue;
            }
            Err(fields) => {
                // The record's own rules, minus what reading the file already said about the same field.
                let mut problems = row.problems.clone();
                for f in fields.0 {
                    if !row.problems.iter().any(|(field, _)| *field == f.field) {
                        problems.push((f.field, f.message));
                    }
                }
                errors.push(RowError {
                    line: row.line,
                    message: join_problems(&problems),
                });
                continue;
            }
        };
        let Some(appi_number) = &row.appi_number else {
            continue;
        };
        let existing = sqlx::query(
            "SELECT id, last_name_key, first_name_key, birth_date FROM ppsmj WHERE appi_number = $1",
        )
        .bind(appi_number.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        // A record outside the agent's scope: say nothing about it (neither "already present" nor "different",
        // which would confirm a name and a birth date), and leave a trace for the national admin.
        if let Some(e) = &existing {
            if !ppsmj::sees_record(&mut tx, scope, &e.get::<String, _>("id")).await? {
                hidden.push("appi_number".to_string());
                errors.push(RowError {
                    line: row.line,
                    message: format!("Numéro APPI {} : {}", appi_number, ppsmj::HIDDEN_CONFLICT),
                });
                continue;
            }
        }
        if let Some(e) = existing {
            let same = e.get::<String, _>("last_name_key") == crate::search_key(&v.last_name)
                && e.get::<String, _>("first_name_key") == crate::search_key(&v.first_name)
                && e.get::<String, _>("birth_date") == v.birth_date.to_string();
            if same {
                report.already_present += 1;
            } else {
                errors.push(RowError {
                    line: row.line,
                    message: format!(
                        "Le numéro APPI {} est déjà celui d'un autre dossier (nom ou date de naissance différents).",
                        appi_number
                    ),
                });
            }
            continue;
        }
        // Checked before inserting: on PostgreSQL a failed statement would abort the whole transaction, and the
        // agent wants every refused line at once, not the first.
        if let Err(e) = ppsmj::check_uniques(&mut tx, scope, &v, None).await {
            hidden.extend(ppsmj::hidden_fields(&e));
            match e {
                MsjError::Invalid(fields) => errors.push(RowError {
                    line: row.line,
                    message: fields.to_string(),
                }),
                other => return Err(other.into()),
            }
            continue;
        }
        if !errors.is_empty() {
            // Already refused: keep checking the other lines, but stop writing.
            continue;
        }
        let look_alikes = ppsmj::possible_duplicates_tx(&mut tx, scope, &row.input, None).await?;
        ppsmj::insert_tx(&mut tx, scope, organisation_id, &v, "appi_import", now).await?;
        report.imported += 1;
        if let Some(d) = look_alikes.first() {
            report
                .possible_duplicates
                .push((row.line, d.record.id.clone()));
        }
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        ppsmj::audit_hidden_conflicts(db, scope, &hidden).await?;
        return Err(ImportError::Rows(errors));
    }
    audit::record(
        &mut *tx,
        &scope.actor,
        "ppsmj.import_appi",
        "organisation",
        Some(organisation_id),
        Some(serde_json::json!({
            "rows": rows.len(), "imported": report.imported, "already_present": report.already_present,
            "possible_duplicates": report.possible_duplicates.len(),
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// Parses then imports: what the upload form calls.
pub async fn import_appi_file(
    db: &Db,
    scope: &Scope,
    organisation_id: &str,
    bytes: &[u8],
    now: i64,
) -> Result<ImportReport, ImportError> {
    let rows = parse_rows(bytes).map_err(ImportError::Rows)?;
    import_rows(db, scope, organisation_id, &rows, now).await
}

/// Convenience for callers that want one error type.
pub fn rows_error_message(errors: &[RowError]) -> String {
    errors
        .iter()
        .map(|e| format!("Ligne {} : {}", e.line, e.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latin1(s: &str) -> Vec<u8> {
        encoding_rs::WINDOWS_1252.encode(s).0.into_owned()
    }

    #[test]
    fn an_iso_8859_1_export_is_decoded_and_its_columns_found_by_header() {
        let file = latin1(
            "Ville;Numéro APPI;Nom;Prénom;Date de naissance;Téléphone;Adresse;Code postal\r\n\
             Nanterre;20012345;Lefèvre;Gaëlle;02/03/1990;06 12 34 56 78;1 rue de l'Église;92000\r\n",
        );
        let rows = parse_appi_csv(&file).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].appi_number.as_str(), "20012345");
        assert_eq!(rows[0].input.last_name, "Lefèvre");
        assert_eq!(rows[0].input.first_name, "Gaëlle");
        assert_eq!(rows[0].input.birth_date, "1990-03-02");
        assert_eq!(rows[0].input.city, "92000 Nanterre");
        assert_eq!(rows[0].input.address, "1 rue de l'Église");
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let file = latin1(
            "Numéro APPI;Nom;Prénom;Date de naissance\n\
             19912345;Martin;Paul;01/01/1990\n\
             12;Durand;Léa;01/01/1991\n\
             19912345;Bernard;Noé;31/02/1992\n",
        );
        let errors = parse_appi_csv(&file).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 3);
        assert!(errors[0].message.starts_with("Numéro APPI invalide"));
        assert_eq!(errors[1].line, 4);
        assert!(errors[1].message.contains("déjà présent ligne 2"));
        assert!(errors[1].message.contains("Date de naissance"));
    }

    #[test]
    fn a_file_without_the_required_columns_is_refused_as_a_whole() {
        let errors = parse_appi_csv(b"nom,prenom\nMartin,Paul\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0]
            .message
            .starts_with("Colonnes obligatoires absentes"));
    }
}
