//! Who sees which referral. The only place where the rule is written; every query on referrals (and on their
//! persons, messages and attachments) goes through [`ReferralAccess::filter`].
//!
//! - an `administration_agent` sees the referrals of its own unit: its service, or its administration when it is
//!   attached to the administration itself (then only the referrals filed without a service);
//! - an `administration_manager` attached to an administration sees every referral of the administration and of
//!   its services; attached to a service, that service's only (same reach as its user management);
//! - parquet roles see the referrals whose *current* parquet is theirs, never a draft;
//! - the national admin and system jobs see everything; any other role sees nothing.
//!
//! Out of reach is reported as absent (`StoreError::NotFound`): a URL with someone else's id reveals nothing.

use sqlx::Row;

use super::Side;
use crate::roles::{OrgKind, Role, RoleGroup};
use crate::{Result, Scope};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferralAccess {
    All,
    /// Referrals whose unit (`service_id`, else `administration_id`) is this organisation.
    Unit(String),
    /// Every referral of this administration, whatever the service.
    Administration(String),
    /// Non-draft referrals currently in this parquet's inbox.
    Parquet(String),
    Nothing,
}

/// The columns a visibility decision needs.
#[derive(Clone, Copy, Debug)]
pub struct Visibility<'a> {
    pub administration_id: &'a str,
    pub service_id: Option<&'a str>,
    pub parquet_id: Option<&'a str>,
    pub is_draft: bool,
}

/// The rule, pure: `national` is true for the national admin and system scopes.
pub fn referral_access(
    national: bool,
    role: Option<Role>,
    org_id: Option<&str>,
    org_kind: Option<OrgKind>,
) -> ReferralAccess {
    if national {
        return ReferralAccess::All;
    }
    let (Some(role), Some(org)) = (role, org_id) else {
        return ReferralAccess::Nothing;
    };
    let org = org.to_string();
    match (role, org_kind) {
        (Role::AdminAgent, Some(OrgKind::Administration | OrgKind::Service)) => {
            ReferralAccess::Unit(org)
        }
        (Role::AdminManager, Some(OrgKind::Administration)) => ReferralAccess::Administration(org),
        (Role::AdminManager, Some(OrgKind::Service)) => ReferralAccess::Unit(org),
        (r, Some(OrgKind::Parquet)) if r.group() == RoleGroup::Parquet => {
            ReferralAccess::Parquet(org)
        }
        _ => ReferralAccess::Nothing,
    }
}

impl ReferralAccess {
    /// Reads the kind of the actor's organisation (in the caller's transaction) and applies [`referral_access`].
    pub async fn of(conn: &mut sqlx::AnyConnection, scope: &Scope) -> Result<ReferralAccess> {
        let kind = match scope.actor.organisation_id.as_deref() {
            Some(org) if !scope.is_national() => {
                sqlx::query("SELECT kind FROM organisations WHERE id = $1")
                    .bind(org)
                    .fetch_optional(&mut *conn)
                    .await?
                    .and_then(|r| r.get::<String, _>(0).parse().ok())
            }
            _ => None,
        };
        Ok(referral_access(
            scope.is_national(),
            scope.actor.role,
            scope.actor.organisation_id.as_deref(),
            kind,
        ))
    }

    /// SQL condition on the referrals table aliased `alias`, placeholders numbered from `first`.
    pub fn filter(&self, alias: &str, first: usize) -> (String, Vec<String>) {
        match self {
            ReferralAccess::All => ("1 = 1".into(), vec![]),
            ReferralAccess::Nothing => ("1 = 0".into(), vec![]),
            ReferralAccess::Unit(org) => (
                format!("COALESCE({alias}.service_id, {alias}.administration_id) = ${first}"),
                vec![org.clone()],
            ),
            ReferralAccess::Administration(org) => (
                format!("{alias}.administration_id = ${first}"),
                vec![org.clone()],
            ),
            ReferralAccess::Parquet(org) => (
                format!("({alias}.parquet_id = ${first} AND {alias}.status <> 'draft')"),
                vec![org.clone()],
            ),
        }
    }

    /// The same rule on one referral's columns (kept next to `filter` and tested against it).
    pub fn can_see(&self, v: Visibility<'_>) -> bool {
        match self {
            ReferralAccess::All => true,
            ReferralAccess::Nothing => false,
            ReferralAccess::Unit(org) => v.service_id.unwrap_or(v.administration_id) == org,
            ReferralAccess::Administration(org) => v.administration_id == org,
            ReferralAccess::Parquet(org) => !v.is_draft && v.parquet_id == Some(org.as_str()),
        }
    }

    /// The side the actor writes from, if any (the national admin reads but takes no part in the exchange).
    pub fn side(&self) -> Option<Side> {
        match self {
            ReferralAccess::Unit(_) | ReferralAccess::Administration(_) => {
                Some(Side::Administration)
            }
            ReferralAccess::Parquet(_) => Some(Side::Parquet),
            _ => None,
        }
    }

    /// The parquet of a parquet actor.
    pub fn parquet_id(&self) -> Option<&str> {
        match self {
            ReferralAccess::Parquet(p) => Some(p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v<'a>(
        admin: &'a str,
        service: Option<&'a str>,
        parquet: Option<&'a str>,
        draft: bool,
    ) -> Visibility<'a> {
        Visibility {
            administration_id: admin,
            service_id: service,
            parquet_id: parquet,
            is_draft: draft,
        }
    }

    #[test]
    fn an_agent_sees_its_service_only() {
        let a = referral_access(
            false,
            Some(Role::AdminAgent),
            Some("S1"),
            Some(OrgKind::Service),
        );
        assert_eq!(a, ReferralAccess::Unit("S1".into()));
        assert!(a.can_see(v("A", Some("S1"), None, true)));
        assert!(!a.can_see(v("A", Some("S2"), None, false)), "other service");
        assert!(
            !a.can_see(v("A", None, None, false)),
            "filed at the administration"
        );
        assert!(!a.can_see(v("B", Some("S9"), Some("P"), false)));
    }

    #[test]
    fn an_agent_attached_to_the_administration_sees_referrals_filed_without_a_service() {
        let a = referral_access(
            false,
            Some(Role::AdminAgent),
            Some("A"),
            Some(OrgKind::Administration),
        );
        assert!(a.can_see(v("A", None, None, false)));
        assert!(!a.can_see(v("A", Some("S1"), None, false)));
    }

    #[test]
    fn a_manager_sees_the_whole_administration() {
        let a = referral_access(
            false,
            Some(Role::AdminManager),
            Some("A"),
            Some(OrgKind::Administration),
        );
        assert!(a.can_see(v("A", Some("S1"), None, true)));
        assert!(a.can_see(v("A", None, None, false)));
        assert!(!a.can_see(v("B", None, None, false)));
        let on_service = referral_access(
            false,
            Some(Role::AdminManager),
            Some("S1"),
            Some(OrgKind::Service),
        );
        assert_eq!(on_service, ReferralAccess::Unit("S1".into()));
    }

    #[test]
    fn a_parquet_sees_its_current_referrals_but_never_drafts() {
        for role in [
            Role::ParquetMagistrate,
            Role::ParquetGreffe,
            Role::ParquetAdmin,
        ] {
            let a = referral_access(false, Some(role), Some("P"), Some(OrgKind::Parquet));
            assert!(a.can_see(v("A", None, Some("P"), false)));
            assert!(!a.can_see(v("A", None, Some("P"), true)), "draft");
            assert!(!a.can_see(v("A", None, Some("Q"), false)), "other parquet");
            assert_eq!(a.side(), Some(Side::Parquet));
        }
    }

    #[test]
    fn other_roles_or_mismatched_organisations_see_nothing() {
        assert_eq!(
            referral_access(false, Some(Role::Cpip), Some("X"), Some(OrgKind::Spip)),
            ReferralAccess::Nothing
        );
        assert_eq!(
            referral_access(
                false,
                Some(Role::AdminAgent),
                Some("P"),
                Some(OrgKind::Parquet)
            ),
            ReferralAccess::Nothing
        );
        assert_eq!(
            referral_access(
                false,
                Some(Role::ParquetGreffe),
                Some("T"),
                Some(OrgKind::Tj)
            ),
            ReferralAccess::Nothing
        );
        assert_eq!(
            referral_access(false, None, None, None),
            ReferralAccess::Nothing
        );
        let n = ReferralAccess::Nothing;
        assert!(!n.can_see(v("A", None, Some("P"), false)));
        assert_eq!(n.filter("r", 1).0, "1 = 0");
    }

    #[test]
    fn the_national_admin_sees_everything() {
        let a = referral_access(true, Some(Role::Admin), Some("N"), None);
        assert_eq!(a, ReferralAccess::All);
        assert!(a.can_see(v("A", None, None, true)));
        assert_eq!(a.filter("r", 3), ("1 = 1".to_string(), vec![]));
        assert_eq!(a.side(), None);
    }

    #[test]
    fn filters_bind_the_organisation_at_the_given_placeholder() {
        let (sql, binds) = ReferralAccess::Parquet("P".into()).filter("r", 4);
        assert_eq!(sql, "(r.parquet_id = $4 AND r.status <> 'draft')");
        assert_eq!(binds, vec!["P".to_string()]);
        let (sql, _) = ReferralAccess::Unit("S".into()).filter("x", 1);
        assert_eq!(sql, "COALESCE(x.service_id, x.administration_id) = $1");
    }
}
