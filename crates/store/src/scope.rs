//! Who is acting, and which organisations' data they may read or manage.
//!
//! Every repository function that touches tenant data takes a [`Scope`]; the filter it adds is built here and
//! nowhere else. Data outside the scope is reported as absent (`StoreError::NotFound`), which the web layer turns
//! into a 404, so a URL with someone else's id reveals nothing.

use std::collections::BTreeSet;

use sqlx::Row;

use crate::roles::{OrgKind, Role};
use crate::{Db, Result};

/// The person (or process) behind a change, as written in the audit trail.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<String>,
    pub label: String,
    pub role: Option<Role>,
    pub organisation_id: Option<String>,
    pub ip: Option<String>,
}

impl Actor {
    /// A command-line or background action.
    pub fn system(label: &str) -> Actor {
        Actor {
            user_id: None,
            label: label.to_string(),
            role: None,
            organisation_id: None,
            ip: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Scope {
    pub actor: Actor,
    /// Organisations whose data the actor reads; `None` = every organisation (national admin, system).
    visible: Option<BTreeSet<String>>,
    /// Organisations whose users the actor manages; `None` = all; empty = none.
    managed: Option<BTreeSet<String>>,
}

impl Scope {
    /// Unrestricted scope for the CLI and background jobs, never for a web request of a non-admin.
    pub fn system(label: &str) -> Scope {
        Scope {
            actor: Actor::system(label),
            visible: None,
            managed: None,
        }
    }

    /// Computes the scope of a user: its organisation and sub-units (antennas, services); for Mon Suivi Justice
    /// roles also the organisations linked to it or to its parent (a TJ and the SPIPs it works with).
    pub async fn for_user(
        db: &Db,
        user_id: &str,
        label: &str,
        role: Role,
        organisation_id: &str,
        ip: Option<String>,
    ) -> Result<Scope> {
        let actor = Actor {
            user_id: Some(user_id.to_string()),
            label: label.to_string(),
            role: Some(role),
            organisation_id: Some(organisation_id.to_string()),
            ip,
        };
        if role.is_national_admin() {
            return Ok(Scope {
                actor,
                visible: None,
                managed: None,
            });
        }
        let own = with_descendants(db, [organisation_id.to_string()].into()).await?;
        let mut visible = own.clone();
        if role.is_msj() {
            let parent: Option<String> =
                sqlx::query("SELECT parent_id FROM organisations WHERE id = $1")
                    .bind(organisation_id)
                    .fetch_optional(db.pool())
                    .await?
                    .and_then(|r| r.get::<Option<String>, _>(0));
            let mut roots: Vec<String> = vec![organisation_id.to_string()];
            roots.extend(parent);
            let mut linked = BTreeSet::new();
            for root in roots {
                let rows = sqlx::query(
                    "SELECT linked_id FROM organisation_links WHERE organisation_id = $1 \
                     UNION SELECT organisation_id FROM organisation_links WHERE linked_id = $1",
                )
                .bind(&root)
                .fetch_all(db.pool())
                .await?;
                linked.extend(rows.iter().map(|r| r.get::<String, _>(0)));
            }
            visible.extend(with_descendants(db, linked).await?);
            // Mon Suivi Justice reaches probation services and courts only: a linked TJ's parquet (Info Parquet)
            // is not part of it.
            visible = only_kinds(db, visible, &[OrgKind::Spip, OrgKind::Tj]).await?;
        }
        let managed = if role.manages_users() {
            own
        } else {
            BTreeSet::new()
        };
        Ok(Scope {
            actor,
            visible: Some(visible),
            managed: Some(managed),
        })
    }

    /// Scope of a per-service API token (Info Parquet JSON API): reads and writes as an agent of that service,
    /// manages nobody. `actor` names the token (and the user who created it, to whom notices go).
    pub fn for_service_token(actor: Actor, service_id: &str) -> Scope {
        Scope {
            actor,
            visible: Some([service_id.to_string()].into()),
            managed: Some(BTreeSet::new()),
        }
    }

    pub fn is_national(&self) -> bool {
        self.visible.is_none()
    }

    pub fn can_see(&self, organisation_id: &str) -> bool {
        self.visible
            .as_ref()
            .is_none_or(|v| v.contains(organisation_id))
    }

    pub fn can_manage(&self, organisation_id: &str) -> bool {
        self.managed
            .as_ref()
            .is_none_or(|v| v.contains(organisation_id))
    }

    /// SQL condition restricting `column` to visible organisations, with its bind values, placeholders numbered
    /// from `first`.
    pub fn visible_filter(&self, column: &str, first: usize) -> (String, Vec<String>) {
        filter(&self.visible, column, first)
    }

    pub fn managed_filter(&self, column: &str, first: usize) -> (String, Vec<String>) {
        filter(&self.managed, column, first)
    }
}

fn filter(set: &Option<BTreeSet<String>>, column: &str, first: usize) -> (String, Vec<String>) {
    match set {
        None => ("1 = 1".to_string(), vec![]),
        Some(s) if s.is_empty() => ("1 = 0".to_string(), vec![]),
        Some(s) => (
            format!("{column} IN ({})", crate::placeholders(first, s.len())),
            s.iter().cloned().collect(),
        ),
    }
}

async fn with_descendants(db: &Db, roots: BTreeSet<String>) -> Result<BTreeSet<String>> {
    let mut all = roots.clone();
    let mut frontier: Vec<String> = roots.into_iter().collect();
    // Organisation trees are shallow (HQ → antenna, administration → service); the loop also guards cycles.
    while !frontier.is_empty() {
        let sql = format!(
            "SELECT id FROM organisations WHERE parent_id IN ({})",
            crate::placeholders(1, frontier.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &frontier {
            q = q.bind(id);
        }
        let rows = q.fetch_all(db.pool()).await?;
        frontier = rows
            .iter()
            .map(|r| r.get::<String, _>(0))
            .filter(|id| all.insert(id.clone()))
            .collect();
    }
    Ok(all)
}

async fn only_kinds(db: &Db, ids: BTreeSet<String>, kinds: &[OrgKind]) -> Result<BTreeSet<String>> {
    if ids.is_empty() {
        return Ok(ids);
    }
    let sql = format!(
        "SELECT id, kind FROM organisations WHERE id IN ({})",
        crate::placeholders(1, ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(db.pool()).await?;
    Ok(rows
        .iter()
        .filter(|r| {
            r.get::<String, _>(1)
                .parse::<OrgKind>()
                .is_ok_and(|k| kinds.contains(&k))
        })
        .map(|r| r.get::<String, _>(0))
        .collect())
}

/// Kind of an organisation, for rules that depend on it.
pub async fn org_kind(db: &Db, organisation_id: &str) -> Result<Option<OrgKind>> {
    let row = sqlx::query("SELECT kind FROM organisations WHERE id = $1")
        .bind(organisation_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.and_then(|r| r.get::<String, _>(0).parse().ok()))
}
