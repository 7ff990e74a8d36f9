//! Reference data: communes (INSEE) and the competent jurisdictions of each commune.

use sqlx::Row;

use crate::{audit, Actor, Db, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commune {
    pub insee: String,
    pub name: String,
    pub departement: String,
    pub postcodes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Juridiction {
    pub insee: String,
    pub commune_name: String,
    pub cour_appel: String,
    pub tribunal_judiciaire: String,
    pub tribunal_proximite: Option<String>,
    pub conseil_prudhommes: Option<String>,
}

const BATCH: usize = 200;

/// Inserts or updates communes, all in one transaction: either every row lands or none.
pub async fn upsert_communes(
    db: &Db,
    actor: &Actor,
    rows: &[Commune],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<usize> {
    let mut tx = db.begin().await?;
    for (i, chunk) in rows.chunks(BATCH).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|k| {
                let b = k * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO communes (insee, name, search_name, departement, postcodes) VALUES {} \
             ON CONFLICT (insee) DO UPDATE SET name = excluded.name, search_name = excluded.search_name, \
             departement = excluded.departement, postcodes = excluded.postcodes",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q
                .bind(&c.insee)
                .bind(&c.name)
                .bind(crate::search_key(&c.name))
                .bind(&c.departement)
                .bind(c.postcodes.join(" "));
        }
        q.execute(&mut *tx).await?;
        progress((i * BATCH + chunk.len()).min(rows.len()));
    }
    audit::record(
        &mut *tx,
        actor,
        "refdata.import_communes",
        "communes",
        None,
        Some(serde_json::json!({ "rows": rows.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Replaces the jurisdiction table by the rows given (one row per commune), in one transaction.
pub async fn replace_juridictions(
    db: &Db,
    actor: &Actor,
    rows: &[Juridiction],
    source: &str,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<usize> {
    let now = crate::now();
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM juridictions")
        .execute(&mut *tx)
        .await?;
    for (i, chunk) in rows.chunks(BATCH).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|k| {
                let b = k * 8;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
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
            "INSERT INTO juridictions (insee, commune_name, cour_appel, tribunal_judiciaire, tribunal_proximite, \
             conseil_prudhommes, source, imported_at) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for j in chunk {
            q = q
                .bind(&j.insee)
                .bind(&j.commune_name)
                .bind(&j.cour_appel)
                .bind(&j.tribunal_judiciaire)
                .bind(j.tribunal_proximite.as_deref())
                .bind(j.conseil_prudhommes.as_deref())
                .bind(source)
                .bind(now);
        }
        q.execute(&mut *tx).await?;
        progress((i * BATCH + chunk.len()).min(rows.len()));
    }
    audit::record(
        &mut *tx,
        actor,
        "refdata.import_juridictions",
        "juridictions",
        None,
        Some(serde_json::json!({ "rows": rows.len(), "source": source })),
    )
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// The jurisdictions competent for a commune, if the table knows it.
pub async fn juridiction_for(db: &Db, insee: &str) -> Result<Option<Juridiction>> {
    let row = sqlx::query(
        "SELECT insee, commune_name, cour_appel, tribunal_judiciaire, tribunal_proximite, conseil_prudhommes \
         FROM juridictions WHERE insee = $1",
    )
    .bind(insee)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| Juridiction {
        insee: r.get("insee"),
        commune_name: r.get("commune_name"),
        cour_appel: r.get("cour_appel"),
        tribunal_judiciaire: r.get("tribunal_judiciaire"),
        tribunal_proximite: r.get("tribunal_proximite"),
        conseil_prudhommes: r.get("conseil_prudhommes"),
    }))
}

/// Communes whose name starts with `q` (accent- and case-insensitive) or whose INSEE code or postcode is `q`.
pub async fn search_communes(db: &Db, q: &str, limit: i64) -> Result<Vec<Commune>> {
    let key = crate::search_key(q);
    if key.is_empty() {
        return Ok(vec![]);
    }
    let rows = sqlx::query(
        "SELECT insee, name, departement, postcodes FROM communes WHERE search_name LIKE $1 OR insee = $2 \
         OR postcodes LIKE $3 ORDER BY CASE WHEN search_name = $2 THEN 0 ELSE 1 END, LENGTH(name), name LIMIT $4",
    )
    .bind(format!("{key}%"))
    .bind(&key)
    .bind(format!("%{key}%"))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| Commune {
            insee: r.get("insee"),
            name: r.get("name"),
            departement: r.get("departement"),
            postcodes: r
                .get::<String, _>("postcodes")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        })
        .collect())
}

pub async fn count(db: &Db, table: RefTable) -> Result<i64> {
    let sql = match table {
        RefTable::Communes => "SELECT COUNT(*) FROM communes",
        RefTable::Juridictions => "SELECT COUNT(*) FROM juridictions",
    };
    Ok(sqlx::query(sql).fetch_one(db.pool()).await?.get(0))
}

#[derive(Clone, Copy, Debug)]
pub enum RefTable {
    Communes,
    Juridictions,
}
