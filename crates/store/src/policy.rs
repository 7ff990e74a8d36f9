//! The one permission model: "may this principal do this action on this object?", answered from the principal's
//! role and the relation between its organisation and the object's — nothing else. Pure (no I/O): the relation is
//! computed by [`crate::Scope::relation`] from the organisation tree and links, then handlers and repositories
//! ask [`allows`] (usually through [`crate::Scope::allows`]).
//!
//! "Sees" and "manages" are different relations: a SPIP sees the TJ it is linked to (`Linked`) but administers
//! only its own organisation and its antennas (`Own`, `OwnSubUnit`). The national admin administers every
//! organisation (`Managed`). A sub-unit of another service family (the parquet under a TJ) is never `OwnSubUnit`.
//!
//! The rule table is written out in docs/ARCHITECTURE.md ("Permissions") and tested exhaustively below.

use crate::roles::{Role, RoleGroup};

/// How the object's organisation (or the object itself, for an account) relates to the principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relation {
    /// The principal's own organisation.
    Own,
    /// An antenna or service under the principal's organisation, of the same service family.
    OwnSubUnit,
    /// An organisation the principal administers without belonging to it (the national admin: all of them).
    Managed,
    /// An organisation linked to the principal's (a SPIP and the TJ it works with): seen, never administered.
    Linked,
    /// Anything else: reported as absent (404).
    Other,
    /// The object is the principal: their own account, messages sent to their own address.
    ThePersonThemself,
}

impl Relation {
    pub const ALL: [Relation; 6] = [
        Relation::Own,
        Relation::OwnSubUnit,
        Relation::Managed,
        Relation::Linked,
        Relation::Other,
        Relation::ThePersonThemself,
    ];
}

/// What a principal wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read Mon Suivi Justice records: persons, appointments, places, agendas, divestment trail, statistics.
    ReadRecords,
    /// Work on a person's file: edit, archive, book, cancel, record an outcome — in the agent's own organisation
    /// and in linked ones (a BEX books the SPIP's first convocation after the hearing).
    WorkOnFile,
    /// Decide where a file goes: ask another service to take it over (divestment). The owner only.
    ManageFile,
    /// Day-to-day agenda changes: close, reopen or resize a slot.
    ManageSlots,
    /// Configure places, agendas, weekly slot types and message templates.
    ConfigureAgenda,
    /// List, invite, edit, deactivate and reactivate accounts.
    ManageUsers,
    /// Read the audit journal (events of the organisations one administers).
    ReadAudit,
    /// Read messages about persons (failed summons and reminders) and put them back in the queue.
    FollowMessages,
    /// See that an account message (password reset, invitation) exists and failed — its text, never its link.
    ReadAccountMessage,
    /// Read the link of an account message: only the recipient.
    ReadSecret,
    /// Open a user's profile page (name, role, organisation): anyone who sees the organisation.
    ReadProfile,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Action::ReadRecords,
        Action::WorkOnFile,
        Action::ManageFile,
        Action::ManageSlots,
        Action::ConfigureAgenda,
        Action::ManageUsers,
        Action::ReadAudit,
        Action::FollowMessages,
        Action::ReadAccountMessage,
        Action::ReadSecret,
        Action::ReadProfile,
    ];
}

/// Who asks, and how they relate to the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub relation: Relation,
}

/// Roles that change persons' files (the prosecutor's Mon Suivi Justice role only reads).
pub fn manages_files(role: Role) -> bool {
    matches!(
        role.group(),
        RoleGroup::Spip | RoleGroup::Bex | RoleGroup::Sap | RoleGroup::LocalAdmin
    )
}

/// Roles that close, reopen and resize slots of their organisation's agendas: its agents (docs/DOMAIN.md: "agents can
/// close a slot"), not the prosecutor's read-only role; never another organisation's, even a linked one that books
/// in them.
pub fn manages_slots(role: Role) -> bool {
    manages_files(role)
}

/// The rule table: role × relation → allowed, per action.
pub fn allows(p: Principal, action: Action) -> bool {
    use Relation::*;
    let role = p.role;
    let rel = p.relation;
    // Your own account and your own messages.
    if rel == ThePersonThemself {
        return matches!(action, Action::ReadAccountMessage | Action::ReadSecret);
    }
    if rel == Other || action == Action::ReadSecret {
        return false;
    }
    // The national admin administers every organisation; it never reads another person's link.
    if role.is_national_admin() {
        return true;
    }
    let own = matches!(rel, Own | OwnSubUnit);
    match action {
        Action::ReadRecords | Action::FollowMessages => role.is_msj() && (own || rel == Linked),
        Action::WorkOnFile => manages_files(role) && (own || rel == Linked),
        Action::ManageFile => manages_files(role) && own,
        Action::ManageSlots => manages_slots(role) && own,
        Action::ConfigureAgenda => role == Role::LocalAdmin && own,
        Action::ManageUsers | Action::ReadAudit | Action::ReadAccountMessage => {
            role.manages_users() && own
        }
        Action::ReadSecret => false,
        Action::ReadProfile => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn may(role: Role, relation: Relation, action: Action) -> bool {
        allows(Principal { role, relation }, action)
    }

    /// The expected answer written independently of `allows`, case by case.
    fn expected(role: Role, rel: Relation, action: Action) -> bool {
        use Relation::*;
        let own = rel == Own || rel == OwnSubUnit;
        let national = role == Role::Admin;
        match action {
            Action::ReadSecret => rel == ThePersonThemself,
            Action::ReadAccountMessage => {
                rel == ThePersonThemself
                    || (rel != Other
                        && (national
                            || (own
                                && matches!(
                                    role,
                                    Role::LocalAdmin | Role::AdminManager | Role::ParquetAdmin
                                ))))
            }
            _ if rel == ThePersonThemself || rel == Other => false,
            _ if national => true,
            Action::ReadRecords | Action::FollowMessages => {
                role.is_msj() && matches!(rel, Own | OwnSubUnit | Linked)
            }
            Action::WorkOnFile => {
                matches!(rel, Own | OwnSubUnit | Linked)
                    && role.is_msj()
                    && role != Role::Prosecutor
            }
            Action::ManageFile => own && role.is_msj() && role != Role::Prosecutor,
            Action::ManageSlots => own && role.is_msj() && role != Role::Prosecutor,
            Action::ReadProfile => true,
            Action::ConfigureAgenda => own && role == Role::LocalAdmin,
            Action::ManageUsers | Action::ReadAudit => {
                own && matches!(
                    role,
                    Role::LocalAdmin | Role::AdminManager | Role::ParquetAdmin
                )
            }
        }
    }

    #[test]
    fn every_role_relation_and_action_follows_the_table() {
        let mut checked = 0;
        for role in Role::ALL {
            for rel in Relation::ALL {
                for action in Action::ALL {
                    assert_eq!(
                        may(*role, rel, action),
                        expected(*role, rel, action),
                        "{role:?} {rel:?} {action:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, Role::ALL.len() * 6 * 11);
    }

    #[test]
    fn seeing_a_linked_organisation_is_not_managing_it() {
        for action in [
            Action::ManageFile,
            Action::ManageSlots,
            Action::ConfigureAgenda,
            Action::ManageUsers,
            Action::ReadAudit,
            Action::ReadAccountMessage,
        ] {
            for role in Role::ALL.iter().filter(|r| !r.is_national_admin()) {
                assert!(!may(*role, Relation::Linked, action), "{role:?} {action:?}");
            }
        }
        assert!(may(Role::Cpip, Relation::Linked, Action::ReadRecords));
    }

    #[test]
    fn a_court_agent_cannot_divest_or_change_slots_of_a_linked_spip() {
        for role in [Role::Jap, Role::Bex, Role::Prosecutor, Role::DirGreffBex] {
            assert!(!may(role, Relation::Linked, Action::ManageFile));
            assert!(!may(role, Relation::Linked, Action::ManageSlots));
        }
        assert!(!may(Role::Prosecutor, Relation::Own, Action::ManageFile));
        assert!(may(Role::Cpip, Relation::Own, Action::ManageFile));
        assert!(may(Role::Cpip, Relation::Own, Action::ManageSlots));
        assert!(!may(Role::Prosecutor, Relation::Own, Action::ManageSlots));
        assert!(may(Role::Dpip, Relation::OwnSubUnit, Action::ManageSlots));
    }

    #[test]
    fn nobody_but_the_recipient_reads_a_link() {
        for role in Role::ALL {
            for rel in Relation::ALL {
                assert_eq!(
                    may(*role, rel, Action::ReadSecret),
                    rel == Relation::ThePersonThemself
                );
            }
        }
        assert!(may(
            Role::Admin,
            Relation::Managed,
            Action::ReadAccountMessage
        ));
        assert!(may(
            Role::LocalAdmin,
            Relation::Own,
            Action::ReadAccountMessage
        ));
        assert!(!may(Role::Cpip, Relation::Own, Action::ReadAccountMessage));
    }

    #[test]
    fn nothing_is_allowed_on_an_unrelated_organisation() {
        for role in Role::ALL {
            for action in Action::ALL {
                assert!(!may(*role, Relation::Other, action), "{role:?} {action:?}");
            }
        }
    }
}
