//! The audit trail: every change and every read of a person's record. Append-only: this module has no update
//! or delete, and database triggers refuse them (migration 0001).

use sqlx::{Any, Executor, Row};

use crate::{Actor, Db, Result, Scope};

#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub id: String,
    pub at: i64,
    pub actor_user_id: Option<String>,
    pub actor_label: String,
    pub organisation_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub details: Option<String>,
}

/// Writes one event, in the caller's transaction when it passes one, so the change and its trace land together.
pub async fn record<'c, E>(
    exec: E,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: Option<&str>,
    details: Option<serde_json::Value>,
) -> Result<()>
where
    E: Executor<'c, Database = Any>,
{
    sqlx::query(
        "INSERT INTO audit_events (id, at, actor_user_id, actor_label, organisation_id, action, target_type, \
         target_id, ip, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(crate::new_id())
    .bind(crate::now())
    .bind(actor.user_id.as_deref())
    .bind(&actor.label)
    .bind(actor.organisation_id.as_deref())
    .bind(action)
    .bind(target_type)
    .bind(target_id)
    .bind(actor.ip.as_deref())
    .bind(details.map(|d| d.to_string()))
    .execute(exec)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub actor: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub limit: i64,
}

/// Events of the organisations the scope administers (the policy's `ReadAudit`: a local admin's own organisation
/// and sub-units, never a linked one it merely sees; all for a national admin), newest first.
pub async fn list(db: &Db, scope: &Scope, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
    let (org_sql, org_binds) = scope.action_filter(crate::Action::ReadAudit, "organisation_id", 1);
    let mut sql = format!(
        "SELECT id, at, actor_user_id, actor_label, organisation_id, action, target_type, target_id, ip, details \
         FROM audit_events WHERE {org_sql}"
    );
    let mut binds: Vec<String> = org_binds;
    let mut ints: Vec<(usize, i64)> = Vec::new();
    let mut push = |sql: &mut String, cond: &str, value: String| {
        binds.push(value);
        sql.push_str(&format!(" AND {cond} ${}", binds.len()));
    };
    if let Some(a) = f.action.as_deref().filter(|s| !s.is_empty()) {
        push(&mut sql, "action =", a.to_string());
    }
    if let Some(t) = f.target_type.as_deref().filter(|s| !s.is_empty()) {
        push(&mut sql, "target_type =", t.to_string());
    }
    if let Some(t) = f.target_id.as_deref().filter(|s| !s.is_empty()) {
        push(&mut sql, "target_id =", t.to_string());
    }
    if let Some(a) = f.actor.as_deref().filter(|s| !s.is_empty()) {
        push(
            &mut sql,
            "LOWER(actor_label) LIKE",
            format!("%{}%", a.to_lowercase()),
        );
    }
    let mut n = binds.len();
    if let Some(s) = f.since {
        n += 1;
        ints.push((n, s));
        sql.push_str(&format!(" AND at >= ${n}"));
    }
    if let Some(u) = f.until {
        n += 1;
        ints.push((n, u));
        sql.push_str(&format!(" AND at < ${n}"));
    }
    sql.push_str(&format!(
        " ORDER BY at DESC, id DESC LIMIT {}",
        f.limit.clamp(1, 1000)
    ));
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    for (_, v) in &ints {
        q = q.bind(*v);
    }
    let rows = q.fetch_all(db.pool()).await?;
    Ok(rows
        .iter()
        .map(|r| AuditEvent {
            id: r.get("id"),
            at: r.get("at"),
            actor_user_id: r.get("actor_user_id"),
            actor_label: r.get("actor_label"),
            organisation_id: r.get("organisation_id"),
            action: r.get("action"),
            target_type: r.get("target_type"),
            target_id: r.get("target_id"),
            ip: r.get("ip"),
            details: r.get("details"),
        })
        .collect())
}
