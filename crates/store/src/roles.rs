//! Roles and organisation kinds. Access rules live next to the scoping they drive.

use std::fmt;
use std::str::FromStr;

/// What an organisation is. BEX, SAP and greffe offices are not organisations: they are the roles of a TJ's agents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrgKind {
    /// The Ministry's national administration (national admins).
    National,
    /// A probation service; antennas are SPIPs whose parent is the headquarters.
    Spip,
    /// A tribunal judiciaire (its BEX, SAP and greffe agents belong to it).
    Tj,
    /// The parquet of a TJ (its parent), receiving Info Parquet referrals.
    Parquet,
    /// A referring administration (inspection du travail, DGFiP, a mairie…).
    Administration,
    /// A service of an administration (its parent).
    Service,
}

impl OrgKind {
    pub const ALL: [OrgKind; 6] = [
        OrgKind::National,
        OrgKind::Spip,
        OrgKind::Tj,
        OrgKind::Parquet,
        OrgKind::Administration,
        OrgKind::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::National => "national",
            OrgKind::Spip => "spip",
            OrgKind::Tj => "tj",
            OrgKind::Parquet => "parquet",
            OrgKind::Administration => "administration",
            OrgKind::Service => "service",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgKind::National => "Administration nationale",
            OrgKind::Spip => "SPIP",
            OrgKind::Tj => "Tribunal judiciaire",
            OrgKind::Parquet => "Parquet",
            OrgKind::Administration => "Administration",
            OrgKind::Service => "Service d'une administration",
        }
    }
}

impl FromStr for OrgKind {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("valeur inconnue : {0}")]
pub struct UnknownValue(pub String);

macro_rules! roles {
    ($($variant:ident => $code:literal, $label:literal, $group:ident;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Role { $($variant),* }

        impl Role {
            pub const ALL: &'static [Role] = &[$(Role::$variant),*];
            pub fn as_str(self) -> &'static str { match self { $(Role::$variant => $code),* } }
            /// French label shown to users.
            pub fn label(self) -> &'static str { match self { $(Role::$variant => $label),* } }
            pub fn group(self) -> RoleGroup { match self { $(Role::$variant => RoleGroup::$group),* } }
        }
    };
}

roles! {
    Bex => "bex", "Agent du BEX", Bex;
    GreffCo => "greff_co", "Greffier correctionnel", Bex;
    GreffTpe => "greff_tpe", "Greffier du tribunal pour enfants", Bex;
    GreffCrpc => "greff_crpc", "Greffier CRPC", Bex;
    GreffCa => "greff_ca", "Greffier de cour d'appel", Bex;
    DirGreffBex => "dir_greff_bex", "Directeur de greffe (BEX)", Bex;
    Jap => "jap", "Juge de l'application des peines", Sap;
    GreffSap => "greff_sap", "Greffier du SAP", Sap;
    DirGreffSap => "dir_greff_sap", "Directeur de greffe (SAP)", Sap;
    SecretaryCourt => "secretary_court", "Secrétaire de juridiction", Sap;
    Cpip => "cpip", "Conseiller pénitentiaire d'insertion et de probation", Spip;
    Dpip => "dpip", "Directeur pénitentiaire d'insertion et de probation", Spip;
    SecretarySpip => "secretary_spip", "Secrétaire de SPIP", Spip;
    Educator => "educator", "Éducateur", Spip;
    Psychologist => "psychologist", "Psychologue", Spip;
    Overseer => "overseer", "Surveillant", Spip;
    Prosecutor => "prosecutor", "Magistrat du parquet (MSJ)", Court;
    LocalAdmin => "local_admin", "Administrateur local", LocalAdmin;
    Admin => "admin", "Administrateur national", National;
    AdminManager => "administration_manager", "Responsable (administration)", Administration;
    AdminAgent => "administration_agent", "Agent (administration)", Administration;
    ParquetMagistrate => "parquet_magistrate", "Procureur ou substitut", Parquet;
    ParquetGreffe => "parquet_greffe", "Greffe du parquet", Parquet;
    ParquetAdmin => "parquet_admin", "Administrateur du parquet", Parquet;
}

/// Which part of the product a role works in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleGroup {
    Bex,
    Sap,
    Spip,
    Court,
    LocalAdmin,
    National,
    Administration,
    Parquet,
}

impl Role {
    /// Organisation kinds a user with this role may belong to.
    pub fn allowed_org_kinds(self) -> &'static [OrgKind] {
        match self.group() {
            RoleGroup::Bex | RoleGroup::Sap | RoleGroup::Court => &[OrgKind::Tj],
            RoleGroup::Spip => &[OrgKind::Spip],
            RoleGroup::LocalAdmin => &[OrgKind::Spip, OrgKind::Tj],
            RoleGroup::National => &[OrgKind::National],
            RoleGroup::Administration => &[OrgKind::Administration, OrgKind::Service],
            RoleGroup::Parquet => &[OrgKind::Parquet],
        }
    }

    /// Roles that manage users of their own organisation (and its sub-units).
    pub fn manages_users(self) -> bool {
        matches!(
            self,
            Role::LocalAdmin | Role::Admin | Role::AdminManager | Role::ParquetAdmin
        )
    }

    pub fn is_national_admin(self) -> bool {
        self == Role::Admin
    }

    /// Works in Mon Suivi Justice (agents' back office).
    pub fn is_msj(self) -> bool {
        matches!(
            self.group(),
            RoleGroup::Bex
                | RoleGroup::Sap
                | RoleGroup::Spip
                | RoleGroup::Court
                | RoleGroup::LocalAdmin
        )
    }

    /// Works in Info Parquet.
    pub fn is_info_parquet(self) -> bool {
        matches!(self.group(), RoleGroup::Administration | RoleGroup::Parquet)
    }

    /// Roles a manager with role `self` may give to users it manages.
    pub fn assignable_roles(self) -> Vec<Role> {
        match self {
            Role::Admin => Role::ALL.to_vec(),
            Role::LocalAdmin => Role::ALL.iter().copied().filter(|r| r.is_msj()).collect(),
            Role::AdminManager => vec![Role::AdminManager, Role::AdminAgent],
            Role::ParquetAdmin => vec![
                Role::ParquetMagistrate,
                Role::ParquetGreffe,
                Role::ParquetAdmin,
            ],
            _ => vec![],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_code() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), *r);
        }
        assert!("chef".parse::<Role>().is_err());
    }

    #[test]
    fn a_local_admin_cannot_create_national_admins_or_parquet_users() {
        let roles = Role::LocalAdmin.assignable_roles();
        assert!(roles.contains(&Role::Cpip));
        assert!(!roles.contains(&Role::Admin));
        assert!(!roles.contains(&Role::ParquetMagistrate));
    }

    #[test]
    fn court_roles_belong_to_a_tj_and_probation_roles_to_a_spip() {
        assert_eq!(Role::Jap.allowed_org_kinds(), &[OrgKind::Tj]);
        assert_eq!(Role::Cpip.allowed_org_kinds(), &[OrgKind::Spip]);
        assert_eq!(
            Role::AdminAgent.allowed_org_kinds(),
            &[OrgKind::Administration, OrgKind::Service]
        );
    }
}
