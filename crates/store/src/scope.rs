//! Who is acting, and which organisations' data they may read or manage.
//!
//! Every repository function that touches tenant data takes a [`Scope`]; the filter it adds is built here and
//! nowhere else. Data outside the scope is reported as absent (`StoreError::NotFound`), which the web layer turns
//! into a 404, so a URL with someone else's id reveals nothing.

use std::collections::BTreeSet;

use sqlx::Row;

use crate::policy::{self, Action, Principal, Relation};
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
    /// The actor's organisation and its sub-units of the same service family (`None` for the system).
    own: Option<BTreeSet<String>>,
}

impl Scope {
    /// Unrestricted scope for the CLI and background jobs, never for a web request of a non-admin.
    pub fn system(label: &str) -> Scope {
        Scope {
            actor: Actor::system(label),
            visible: None,
            managed: None,
            own: None,
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
                own: Some([organisation_id.to_string()].into()),
            });
        }
        // Sub-units of the same service family only: a TJ's parquet is not the TJ's (it has its own
        // administrators), an administration's services are the administration's.
        let own = with_descendants(db, [organisation_id.to_string()].into()).await?;
        let own = match org_kind(db, organisation_id).await? {
            Some(kind) => {
                let mut same = only_kinds(db, own, family(kind)).await?;
                same.insert(organisation_id.to_string());
                same
            }
            None => [organisation_id.to_string()].into(),
        };
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
            own.clone()
        } else {
            BTreeSet::new()
        };
        Ok(Scope {
            actor,
            visible: Some(visible),
            managed: Some(managed),
            own: Some(own),
        })
    }

    /// Scope of a per-service API token (Info Parquet JSON API): reads and writes as an agent of that service,
    /// manages nobody. `actor` names the token (and the user who created it, to whom notices go).
    pub fn for_service_token(actor: Actor, service_id: &str) -> Scope {
        Scope {
            actor,
            visible: Some([service_id.to_string()].into()),
            managed: Some(BTreeSet::new()),
            own: Some([service_id.to_string()].into()),
        }
    }

    /// How an organisation relates to the actor (see [`crate::policy`]). The system is `Managed` everywhere.
    pub fn relation(&self, organisation_id: &str) -> Relation {
        if self.actor.organisation_id.as_deref() == Some(organisation_id) {
            return Relation::Own;
        }
        if self
            .own
            .as_ref()
            .is_some_and(|o| o.contains(organisation_id))
        {
            return Relation::OwnSubUnit;
        }
        if self
            .managed
            .as_ref()
            .is_none_or(|m| m.contains(organisation_id))
        {
            return Relation::Managed;
        }
        if self.can_see(organisation_id) {
            return Relation::Linked;
        }
        Relation::Other
    }

    /// Asks the permission model whether the actor may do `action` on an object of `organisation_id`. The system
    /// (CLI, jobs) may do anything.
    pub fn allows(&self, action: Action, organisation_id: &str) -> bool {
        match self.actor.role {
            None => true,
            Some(role) => policy::allows(
                Principal {
                    role,
                    relation: self.relation(organisation_id),
                },
                action,
            ),
        }
    }

    /// Same question about an object related to the actor in a way the caller computed (e.g. an account message
    /// sent to the actor's own address: `Relation::ThePersonThemself`).
    pub fn allows_as(&self, action: Action, relation: Relation) -> bool {
        match self.actor.role {
            None => true,
            Some(role) => policy::allows(Principal { role, relation }, action),
        }
    }

    /// The actor's organisation and its same-family sub-units; `None` for the system.
    pub fn own_organisations(&self) -> Option<&BTreeSet<String>> {
        self.own.as_ref()
    }

    /// SQL condition restricting `column` to the organisations the actor may do `action` on, among those it
    /// manages or sees (the policy decides per organisation).
    pub fn action_filter(
        &self,
        action: Action,
        column: &str,
        first: usize,
    ) -> (String, Vec<String>) {
        if self.actor.role.is_none() || self.is_national() {
            return filter(&None, column, first);
        }
        let candidates: BTreeSet<String> = self
            .visible
            .iter()
            .chain(self.managed.iter())
            .chain(self.own.iter())
            .flatten()
            .filter(|o| self.allows(action, o))
            .cloned()
            .collect();
        filter(&Some(candidates), column, first)
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

/// Organisation kinds of one service family: sub-units of another family are not administered from above.
fn family(kind: OrgKind) -> &'static [OrgKind] {
    match kind {
        OrgKind::National => &OrgKind::ALL,
        OrgKind::Spip => &[OrgKind::Spip],
        OrgKind::Tj => &[OrgKind::Tj],
        OrgKind::Parquet => &[OrgKind::Parquet],
        OrgKind::Administration | OrgKind::Service => &[OrgKind::Administration, OrgKind::Service],
    }
}

/// Kind of an organisation, for rules that depend on it.
pub async fn org_kind(db: &Db, organisation_id: &str) -> Result<Option<OrgKind>> {
    let row = sqlx::query("SELECT kind FROM organisations WHERE id = $1")
        .bind(organisation_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.and_then(|r| r.get::<String, _>(0).parse().ok()))
}
