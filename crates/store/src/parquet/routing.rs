//! Routing (art. 43 CPP): the competent procureur is the one of the place of the facts, or of the residence of a
//! suspect. The commune → tribunal judiciaire mapping comes from the imported `juridictions` table; the TJ is
//! matched to its organisation by name (« Tribunal judiciaire de Nanterre » and « TJ de Nanterre » are the same),
//! and the TJ's parquet is its child organisation of kind `parquet`.

use std::collections::HashMap;

use sqlx::Row;

use super::access::ReferralAccess;
use super::PResult;
use crate::{Db, Result, Scope, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutingBasis {
    /// The commune of the first place of the facts.
    Place,
    /// The residence commune of a suspect (no place of the facts maps to a TJ).
    SuspectResidence,
}

impl RoutingBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingBasis::Place => "place",
            RoutingBasis::SuspectResidence => "suspect_residence",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParquetRef {
    pub id: String,
    pub name: String,
    pub tj_id: String,
    pub tj_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingProposal {
    pub basis: RoutingBasis,
    pub insee: String,
    pub tj_name: String,
    pub parquet: ParquetRef,
}

/// Why a commune of the facts cannot be routed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MissingReason {
    /// The juridictions table has no row for the commune.
    NoJuridiction,
    /// The table names a TJ that has no organisation, or whose organisation has no parquet.
    NoParquet { tj_name: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingMapping {
    pub insee: String,
    pub commune_name: String,
    pub reason: MissingReason,
    pub referrals: i64,
    pub last_seen_at: i64,
}

/// Folds a TJ's name so that the dataset's and the organisation's spellings compare equal.
pub fn tj_key(name: &str) -> String {
    let k = crate::search_key(name);
    match k.strip_prefix("tribunal judiciaire ") {
        Some(rest) => format!("tj {rest}"),
        None => k,
    }
}

/// The parquet of the TJ named `tj_name`, if both organisations exist.
pub(crate) async fn parquet_of_tj(
    conn: &mut sqlx::AnyConnection,
    tj_name: &str,
) -> Result<Option<ParquetRef>> {
    let key = tj_key(tj_name);
    let tjs = sqlx::query("SELECT id, name FROM organisations WHERE kind = 'tj' AND active = 1")
        .fetch_all(&mut *conn)
        .await?;
    let Some(tj) = tjs
        .iter()
        .find(|r| tj_key(&r.get::<String, _>("name")) == key)
    else {
        return Ok(None);
    };
    let tj_id: String = tj.get("id");
    let tj_name: String = tj.get("name");
    let parquet = sqlx::query(
        "SELECT id, name FROM organisations WHERE kind = 'parquet' AND parent_id = $1 AND active = 1 \
         ORDER BY created_at LIMIT 1",
    )
    .bind(&tj_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(parquet.map(|p| ParquetRef {
        id: p.get("id"),
        name: p.get("name"),
        tj_id,
        tj_name,
    }))
}

/// The TJ named by the juridictions table for a commune (read in the caller's transaction; same data as
/// `refdata::juridiction_for`, which reads through the pool and cannot be called inside a transaction on SQLite).
pub(crate) async fn tj_for_commune(
    conn: &mut sqlx::AnyConnection,
    insee: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query("SELECT tribunal_judiciaire FROM juridictions WHERE insee = $1")
            .bind(insee)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.get(0)),
    )
}

/// The parquet competent for a commune, if the mapping is complete.
pub(crate) async fn parquet_for_commune(
    conn: &mut sqlx::AnyConnection,
    insee: &str,
) -> Result<Option<(String, ParquetRef)>> {
    let Some(tj) = tj_for_commune(conn, insee).await? else {
        return Ok(None);
    };
    Ok(parquet_of_tj(conn, &tj).await?.map(|p| (tj, p)))
}

/// The proposal for a referral: the first place of the facts that maps to a parquet, else the residence of a
/// suspect. `None` when nothing maps (the agent must then pick the parquet).
pub(crate) async fn propose_in(
    conn: &mut sqlx::AnyConnection,
    referral_id: &str,
) -> Result<Option<RoutingProposal>> {
    let places: Vec<String> =
        sqlx::query("SELECT insee FROM referral_places WHERE referral_id = $1 ORDER BY position")
            .bind(referral_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
    let residences: Vec<String> = sqlx::query(
        "SELECT residence_insee FROM referral_persons WHERE referral_id = $1 AND role = 'suspect' \
         AND residence_insee IS NOT NULL ORDER BY position",
    )
    .bind(referral_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    let candidates = places.into_iter().map(|i| (RoutingBasis::Place, i)).chain(
        residences
            .into_iter()
            .map(|i| (RoutingBasis::SuspectResidence, i)),
    );
    for (basis, insee) in candidates {
        if let Some((tj_name, parquet)) = parquet_for_commune(conn, &insee).await? {
            return Ok(Some(RoutingProposal {
                basis,
                insee,
                tj_name,
                parquet,
            }));
        }
    }
    Ok(None)
}

/// The parquet proposed for a referral the scope sees (NotFound otherwise).
pub async fn propose_parquet(
    db: &Db,
    scope: &Scope,
    referral_id: &str,
) -> PResult<Option<RoutingProposal>> {
    let mut conn = db.pool().acquire().await.map_err(StoreError::from)?;
    let access = ReferralAccess::of(&mut conn, scope).await?;
    super::referrals::ensure_visible(&mut conn, &access, referral_id).await?;
    Ok(propose_in(&mut conn, referral_id).await?)
}

/// Every parquet with its TJ, for the agent's picker (override or missing mapping).
pub async fn list_parquets(db: &Db) -> Result<Vec<ParquetRef>> {
    let rows = sqlx::query(
        "SELECT p.id, p.name, t.id AS tj_id, t.name AS tj_name FROM organisations p \
         JOIN organisations t ON t.id = p.parent_id AND t.kind = 'tj' \
         WHERE p.kind = 'parquet' AND p.active = 1 ORDER BY t.name",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| ParquetRef {
            id: r.get("id"),
            name: r.get("name"),
            tj_id: r.get("tj_id"),
            tj_name: r.get("tj_name"),
        })
        .collect())
}

/// Communes of the facts (of the referrals the scope sees: all for the national admin) that do not lead to a
/// parquet, most recent first: the list the national admin works through to complete the reference data.
pub async fn missing_mappings(db: &Db, scope: &Scope) -> Result<Vec<MissingMapping>> {
    let mut conn = db.pool().acquire().await?;
    let access = ReferralAccess::of(&mut conn, scope).await?;
    let (cond, binds) = access.filter("r", 1);
    let sql = format!(
        "SELECT p.insee, MAX(p.commune_name) AS commune_name, j.tribunal_judiciaire, \
         COUNT(DISTINCT p.referral_id) AS referrals, MAX(r.updated_at) AS last_seen_at \
         FROM referral_places p JOIN referrals r ON r.id = p.referral_id \
         LEFT JOIN juridictions j ON j.insee = p.insee WHERE {cond} \
         GROUP BY p.insee, j.tribunal_judiciaire ORDER BY MAX(r.updated_at) DESC, p.insee"
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut known: HashMap<String, bool> = HashMap::new();
    let mut out = Vec::new();
    for r in &rows {
        let tj: Option<String> = r.get("tribunal_judiciaire");
        let reason = match tj {
            None => MissingReason::NoJuridiction,
            Some(tj_name) => {
                let has = match known.get(&tj_name) {
                    Some(h) => *h,
                    None => {
                        let h = parquet_of_tj(&mut conn, &tj_name).await?.is_some();
                        known.insert(tj_name.clone(), h);
                        h
                    }
                };
                if has {
                    continue;
                }
                MissingReason::NoParquet { tj_name }
            }
        };
        out.push(MissingMapping {
            insee: r.get("insee"),
            commune_name: r.get("commune_name"),
            reason,
            referrals: r.get("referrals"),
            last_seen_at: r.get("last_seen_at"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::tj_key;

    #[test]
    fn the_dataset_and_organisation_spellings_of_a_tj_match() {
        assert_eq!(
            tj_key("Tribunal judiciaire de Nanterre"),
            tj_key("TJ de Nanterre")
        );
        assert_eq!(tj_key("tribunal judiciaire de Nanterre"), "tj de nanterre");
        assert_ne!(tj_key("TJ de Nanterre"), tj_key("TJ de Paris"));
    }
}
