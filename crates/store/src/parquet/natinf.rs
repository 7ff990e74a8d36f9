//! The NATINF table (nature d'infraction): import of the national table and search by code or words,
//! accent-insensitive and ranked (exact code, code prefix, label prefix, words at word starts, words anywhere).

use domain::NatinfCode;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{audit, Actor, Db, Result};

/// One offence as imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatinfRow {
    pub code: NatinfCode,
    pub label: String,
    /// crime, délit, contravention de Ne classe.
    pub nature: Option<String>,
    /// Thematic family, for statistics.
    pub family: Option<String>,
    pub definition_refs: Option<String>,
    pub penalty_refs: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatinfEntry {
    pub code: String,
    pub label: String,
    pub nature: Option<String>,
    pub family: Option<String>,
    pub definition_refs: Option<String>,
    pub penalty_refs: Option<String>,
    pub active: bool,
}

fn from_row(r: &AnyRow) -> NatinfEntry {
    NatinfEntry {
        code: r.get("code"),
        label: r.get("label"),
        nature: r.get("nature"),
        family: r.get("family"),
        definition_refs: r.get("definition_refs"),
        penalty_refs: r.get("penalty_refs"),
        active: crate::flag(r, "active"),
    }
}

const COLUMNS: &str = "code, label, nature, family, definition_refs, penalty_refs, active";
const BATCH: usize = 200;

/// Inserts or updates offences in one transaction (all rows or none). Codes absent from `rows` are kept: a
/// referral may cite an offence that a later table no longer lists.
pub async fn import(db: &Db, actor: &Actor, rows: &[NatinfRow]) -> Result<usize> {
    let now = crate::now();
    let mut tx = db.begin().await?;
    for chunk in rows.chunks(BATCH) {
        let values: Vec<String> = (0..chunk.len())
            .map(|k| {
                let b = k * 8;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, 1, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO natinf (code, label, search_label, nature, family, definition_refs, penalty_refs, active, \
             imported_at) VALUES {} ON CONFLICT (code) DO UPDATE SET label = excluded.label, \
             search_label = excluded.search_label, nature = excluded.nature, family = excluded.family, \
             definition_refs = excluded.definition_refs, penalty_refs = excluded.penalty_refs, active = 1, \
             imported_at = excluded.imported_at",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.code.as_str())
                .bind(&r.label)
                .bind(crate::search_key(&r.label))
                .bind(r.nature.as_deref())
                .bind(r.family.as_deref())
                .bind(r.definition_refs.as_deref())
                .bind(r.penalty_refs.as_deref())
                .bind(now);
        }
        q.execute(&mut *tx).await?;
    }
    audit::record(
        &mut *tx,
        actor,
        "refdata.import_natinf",
        "natinf",
        None,
        Some(serde_json::json!({ "rows": rows.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Parses a `;`-separated NATINF export with a header line. Columns are found by their header (accents and case
/// ignored): code (`NATINF`, `code`), label (`qualification`, `libellé`), `nature`, family (`famille`, `thème`),
/// definition (`définie par`, `définition`), penalty (`réprimée par`, `peine`). Returns every bad line at once,
/// numbered from 1 as in an editor.
pub fn parse_csv(text: &str) -> std::result::Result<Vec<NatinfRow>, Vec<String>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(vec![
            "Fichier vide : une ligne d'en-tête est attendue.".into()
        ]);
    };
    let header: Vec<String> = split_line(header.trim_start_matches('\u{feff}'))
        .iter()
        .map(|h| crate::search_key(h))
        .collect();
    let find = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.iter().any(|n| h.contains(n)))
    };
    let code_col = find(&["natinf", "code"]);
    let label_col = find(&["qualification", "libelle", "label"]);
    let (Some(code_col), Some(label_col)) = (code_col, label_col) else {
        return Err(vec![
            "En-tête incomplet : les colonnes « NATINF » et « qualification » (ou « libellé ») sont attendues."
                .into(),
        ]);
    };
    let nature_col = find(&["nature"]);
    let family_col = find(&["famille", "theme"]);
    let def_col = find(&["definie", "definition"]);
    let pen_col = find(&["reprimee", "peine"]);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in lines {
        let cells = split_line(line);
        let cell = |c: Option<usize>| {
            c.and_then(|c| cells.get(c))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let code = match NatinfCode::parse(cell(Some(code_col)).as_deref().unwrap_or("")) {
            Ok(c) => c,
            Err(e) => {
                errors.push(format!("Ligne {} : {e}", i + 1));
                continue;
            }
        };
        let Some(label) = cell(Some(label_col)) else {
            errors.push(format!("Ligne {} : la qualification est vide.", i + 1));
            continue;
        };
        rows.push(NatinfRow {
            code,
            label,
            nature: cell(nature_col),
            family: cell(family_col),
            definition_refs: cell(def_col),
            penalty_refs: cell(pen_col),
        });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Splits one `;` line, honouring double quotes (`""` inside quotes is a quote).
fn split_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ';' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

pub async fn get(db: &Db, code: &NatinfCode) -> Result<Option<NatinfEntry>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM natinf WHERE code = $1"))
        .bind(code.as_str())
        .fetch_optional(db.pool())
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// Offences matching `q` (a code, a code prefix, or words in any order), best first.
pub async fn search(db: &Db, q: &str, limit: usize) -> Result<Vec<NatinfEntry>> {
    let key = crate::search_key(q);
    if key.is_empty() {
        return Ok(vec![]);
    }
    let words: Vec<&str> = key.split(' ').collect();
    let digits = key.bytes().all(|b| b.is_ascii_digit());
    let mut sql = format!("SELECT {COLUMNS}, search_label FROM natinf WHERE active = 1 AND (");
    let mut binds: Vec<String> = Vec::new();
    if digits {
        binds.push(key.trim_start_matches('0').to_string());
        binds.push(format!("{}%", key.trim_start_matches('0')));
        sql.push_str("code = $1 OR code LIKE $2 OR ");
    }
    let conds: Vec<String> = words
        .iter()
        .map(|w| {
            binds.push(format!("%{w}%"));
            format!("search_label LIKE ${}", binds.len())
        })
        .collect();
    sql.push_str(&format!("({}))", conds.join(" AND ")));
    // Candidates are ranked here rather than in SQL: the same code on both backends, and cheap (a few hundred).
    sql.push_str(" LIMIT 500");
    let mut query = sqlx::query(&sql);
    for b in &binds {
        query = query.bind(b);
    }
    let rows = query.fetch_all(db.pool()).await?;
    let mut ranked: Vec<(u8, NatinfEntry)> = rows
        .iter()
        .filter_map(|r| {
            let e = from_row(r);
            let label: String = r.get("search_label");
            rank(&key, &e.code, &label).map(|k| (k, e))
        })
        .collect();
    ranked.sort_by(|(ka, a), (kb, b)| {
        ka.cmp(kb).then(a.label.len().cmp(&b.label.len())).then(
            a.code
                .parse::<u32>()
                .unwrap_or(0)
                .cmp(&b.code.parse::<u32>().unwrap_or(0)),
        )
    });
    Ok(ranked.into_iter().take(limit).map(|(_, e)| e).collect())
}

/// Rank of an offence for a folded query (lower is better), `None` when it does not match.
pub fn rank(key: &str, code: &str, search_label: &str) -> Option<u8> {
    let numeric = key.trim_start_matches('0');
    if !numeric.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
        if code == numeric {
            return Some(0);
        }
        if code.starts_with(numeric) {
            return Some(1);
        }
    }
    if search_label.starts_with(key) {
        return Some(2);
    }
    let words: Vec<&str> = key.split(' ').collect();
    let label_words: Vec<&str> = search_label.split(' ').collect();
    if words
        .iter()
        .all(|w| label_words.iter().any(|l| l.starts_with(w)))
    {
        return Some(3);
    }
    if words.iter().all(|w| search_label.contains(w)) {
        return Some(4);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_code_then_prefix_then_label_then_word_starts_then_anywhere() {
        assert_eq!(rank("7875", "7875", "x"), Some(0));
        assert_eq!(rank("78", "7875", "x"), Some(1));
        assert_eq!(rank("travail dis", "1", "travail dissimule"), Some(2));
        assert_eq!(
            rank("dissimule trav", "1", "execution d un travail dissimule"),
            Some(3)
        );
        assert_eq!(rank("imul", "1", "travail dissimule"), Some(4));
        assert_eq!(rank("vol", "1", "travail dissimule"), None);
    }

    #[test]
    fn the_csv_export_is_read_by_its_headers_with_quotes() {
        let csv = "\u{feff}Numéro NATINF;Nature;Qualification simplifiée;Définie par;Réprimée par;Famille\n\
                   7875;Délit;\"Exécution d'un travail dissimulé; par personne morale\";ART.L.8221-1 C.TRAVAIL;\
                   ART.L.8224-5 C.TRAVAIL;Travail illégal\n\n\
                   007876;Délit;Emploi d'étranger sans titre;;;\n";
        let rows = parse_csv(csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].code.as_str(), "7875");
        assert_eq!(
            rows[0].label,
            "Exécution d'un travail dissimulé; par personne morale"
        );
        assert_eq!(rows[0].family.as_deref(), Some("Travail illégal"));
        assert_eq!(rows[1].code.as_str(), "7876");
        assert_eq!(rows[1].definition_refs, None);
    }

    #[test]
    fn bad_lines_are_all_reported_in_french() {
        let errs = parse_csv("NATINF;Qualification\nabc;Vol\n12;\n").unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(errs[0].starts_with("Ligne 2 : Code NATINF invalide"));
        assert_eq!(errs[1], "Ligne 3 : la qualification est vide.");
        assert!(parse_csv("x;y\n1;2").unwrap_err()[0].starts_with("En-tête incomplet"));
    }
}
