//! Onboarding of a referring administration by the national admin (`/info-parquet/administrations`): the
//! administration, its services and its first manager, invited like any user (account without password,
//! activation link by e-mail). The manager then invites the agents from `/admin/utilisateurs`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::Form;
use store::orgs::{self, NewOrganisation};
use store::roles::{OrgKind, Role};
use store::users::{self, NewUser};
use store::StoreError;

use super::Errors;
use crate::error::AppResult;
use crate::handlers::admin::{send_invitation, TIME_ZONES};
use crate::handlers::page;
use crate::session::Auth;
use crate::views::{Choice, PageCtx};
use crate::AppState;

/// At most this many services are created in one go.
const MAX_SERVICES: usize = 30;

pub struct ServiceLink {
    pub id: String,
    pub name: String,
    pub active: bool,
}

pub struct AdministrationRow {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub departement: String,
    pub services: Vec<ServiceLink>,
    pub managers: Vec<String>,
    pub agents: usize,
}

#[derive(Template)]
#[template(path = "parquet/administrations.html")]
pub struct AdministrationsPage {
    pub ctx: PageCtx,
    pub rows: Vec<AdministrationRow>,
    pub errors: Errors,
    pub form: HashMap<String, String>,
    pub time_zones: Vec<Choice>,
    /// For the "add a service" form.
    pub administrations: Vec<Choice>,
}

impl AdministrationsPage {
    pub fn value(&self, field: &str) -> &str {
        self.form.get(field).map(String::as_str).unwrap_or("")
    }
}

async fn build(
    st: &AppState,
    auth: &Auth,
    errors: Errors,
    form: HashMap<String, String>,
) -> AppResult<AdministrationsPage> {
    let all = orgs::list(&st.db, auth.scope()).await?;
    let users = users::list_managed(&st.db, auth.scope()).await?;
    let mut rows = vec![];
    for a in all.iter().filter(|o| o.kind == OrgKind::Administration) {
        let services: Vec<&orgs::Organisation> = all
            .iter()
            .filter(|s| s.kind == OrgKind::Service && s.parent_id.as_deref() == Some(&a.id))
            .collect();
        let in_admin = |org: &str| org == a.id || services.iter().any(|s| s.id == org);
        let members: Vec<&users::User> = users
            .iter()
            .filter(|u| in_admin(&u.organisation_id))
            .collect();
        rows.push(AdministrationRow {
            id: a.id.clone(),
            name: a.name.clone(),
            active: a.active,
            departement: a.departement.clone().unwrap_or_default(),
            services: services
                .iter()
                .map(|s| ServiceLink {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    active: s.active,
                })
                .collect(),
            managers: members
                .iter()
                .filter(|u| u.role == Role::AdminManager)
                .map(|u| {
                    let pending = if u.password_hash.is_none() {
                        " — invitation en attente"
                    } else {
                        ""
                    };
                    format!("{} ({}){pending}", u.display_name(), u.email)
                })
                .collect(),
            agents: members
                .iter()
                .filter(|u| u.role == Role::AdminAgent)
                .count(),
        });
    }
    let tz = form
        .get("time_zone")
        .cloned()
        .unwrap_or_else(|| "Europe/Paris".into());
    let chosen_admin = form.get("administration_id").cloned().unwrap_or_default();
    Ok(AdministrationsPage {
        ctx: PageCtx::new(&auth.1, "Administrations"),
        time_zones: TIME_ZONES
            .iter()
            .map(|(v, l)| Choice {
                value: (*v).into(),
                label: (*l).into(),
                selected: *v == tz,
            })
            .collect(),
        administrations: all
            .iter()
            .filter(|o| o.kind == OrgKind::Administration)
            .map(|o| Choice {
                value: o.id.clone(),
                label: o.name.clone(),
                selected: o.id == chosen_admin,
            })
            .collect(),
        rows,
        errors,
        form,
    })
}

fn require_national(auth: &Auth) -> AppResult<()> {
    auth.require(auth.user().role.is_national_admin())
}

pub async fn list(auth: Auth, State(st): State<AppState>) -> AppResult<Response> {
    require_national(&auth)?;
    page(build(&st, &auth, Errors::default(), HashMap::new()).await?)
}

fn invalid(p: AdministrationsPage) -> AppResult<Response> {
    let mut resp = page(p)?;
    *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

/// Service names of the textarea: one a line, trimmed, blank lines ignored.
fn service_names(raw: &str) -> Vec<String> {
    raw.lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn check_departement(d: &str) -> bool {
    d.is_empty()
        || domain::InseeCode::parse(&format!("{d:0<5}")).is_ok_and(|c| c.departement() == d)
}

/// Service names: each given, not too long, distinct, and not already taken by another service (names of
/// services are unique nationally).
async fn check_services(
    st: &AppState,
    names: &[String],
    field: &str,
    errors: &mut Errors,
) -> AppResult<()> {
    if names.len() > MAX_SERVICES {
        errors.push(
            field,
            format!("Créez au plus {MAX_SERVICES} services à la fois."),
        );
        return Ok(());
    }
    for (i, n) in names.iter().enumerate() {
        if n.chars().count() > 200 {
            errors.push(field, format!("« {n} » : 200 caractères au plus."));
        } else if names[..i].contains(n) {
            errors.push(field, format!("« {n} » figure deux fois."));
        } else if orgs::find_by_name(&st.db, OrgKind::Service, n)
            .await?
            .is_some()
        {
            errors.push(
                field,
                format!(
                    "Un service « {n} » existe déjà : précisez le nom (par exemple avec la ville)."
                ),
            );
        }
    }
    Ok(())
}

/// `POST /info-parquet/administrations`: the administration, its services and the invitation of its manager.
/// Everything is checked before anything is created.
pub async fn create(
    auth: Auth,
    State(st): State<AppState>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    require_national(&auth)?;
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let mut errors = Errors::default();
    let name = get("name");
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(
            "name",
            "Saisissez le nom de l'administration (200 caractères au plus).",
        );
    } else if orgs::find_by_name(&st.db, OrgKind::Administration, &name)
        .await?
        .is_some()
    {
        errors.push("name", "Une administration porte déjà ce nom.");
    }
    let departement = get("departement").to_uppercase();
    if !check_departement(&departement) {
        errors.push(
            "departement",
            "Département invalide : saisissez par exemple 92, 2A ou 974, ou laissez vide.",
        );
    }
    let time_zone = get("time_zone");
    if !TIME_ZONES.iter().any(|(tz, _)| *tz == time_zone) {
        errors.push("time_zone", "Choisissez un fuseau horaire dans la liste.");
    }
    let services = service_names(f.get("services").map(String::as_str).unwrap_or(""));
    check_services(&st, &services, "services", &mut errors).await?;
    let first_name = get("first_name");
    let last_name = get("last_name");
    if first_name.is_empty() || first_name.chars().count() > 100 {
        errors.push(
            "first_name",
            "Saisissez le prénom du responsable (100 caractères au plus).",
        );
    }
    if last_name.is_empty() || last_name.chars().count() > 100 {
        errors.push(
            "last_name",
            "Saisissez le nom du responsable (100 caractères au plus).",
        );
    }
    let email = match domain::Email::parse(&get("email")) {
        Ok(e) => {
            if users::find_by_email(&st.db, e.as_str()).await?.is_some() {
                errors.push("email", "Un compte existe déjà avec cette adresse e-mail.");
            }
            Some(e)
        }
        Err(e) => {
            errors.push("email", e.to_string());
            None
        }
    };
    let (Some(email), false) = (email, errors.any()) else {
        return invalid(build(&st, &auth, errors, f).await?);
    };

    let actor = &auth.scope().actor;
    let org = |kind, name: &str, parent_id: Option<String>| NewOrganisation {
        kind,
        name: name.to_string(),
        parent_id,
        departement: (!departement.is_empty()).then(|| departement.clone()),
        time_zone: time_zone.clone(),
        address: None,
        phone: None,
        email: None,
    };
    let administration =
        match orgs::create(&st.db, actor, &org(OrgKind::Administration, &name, None)).await {
            Ok(a) => a,
            Err(StoreError::Conflict(_)) => {
                errors.push("name", "Une administration porte déjà ce nom.");
                return invalid(build(&st, &auth, errors, f).await?);
            }
            Err(e) => return Err(e.into()),
        };
    for s in &services {
        orgs::create(
            &st.db,
            actor,
            &org(OrgKind::Service, s, Some(administration.id.clone())),
        )
        .await?;
    }
    let invited = send_invitation(
        &st,
        actor,
        &auth.user().display_name(),
        &NewUser {
            email: email.as_str().to_string(),
            first_name,
            last_name,
            role: Role::AdminManager,
            organisation_id: administration.id.clone(),
            password_hash: None,
        },
    )
    .await;
    let notice = match invited {
        Ok(u) => format!(
            "Administration « {} » créée avec {} service(s). Invitation envoyée à {} : son lien d'activation est valable 7 jours.",
            administration.name,
            services.len(),
            u.email
        ),
        // Taken between the check and now: the administration exists, the manager can be invited again.
        Err(StoreError::Conflict(_)) => {
            let mut p = build(&st, &auth, Errors::default(), HashMap::new()).await?;
            p.ctx = p.ctx.with_notice(
                "warning",
                format!(
                    "Administration « {} » créée, mais l'adresse {} vient d'être prise : invitez son responsable depuis « Utilisateurs ».",
                    administration.name, email.as_str()
                ),
            );
            return page(p);
        }
        Err(e) => return Err(e.into()),
    };
    let mut p = build(&st, &auth, Errors::default(), HashMap::new()).await?;
    p.ctx = p.ctx.with_notice("success", notice);
    page(p)
}

/// `POST /info-parquet/administrations/services`: services added to an existing administration.
pub async fn add_services(
    auth: Auth,
    State(st): State<AppState>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    require_national(&auth)?;
    let mut errors = Errors::default();
    let admin_id = f.get("administration_id").cloned().unwrap_or_default();
    let administration = match orgs::get(&st.db, auth.scope(), &admin_id).await {
        Ok(o) if o.kind == OrgKind::Administration => Some(o),
        Ok(_) | Err(StoreError::NotFound) => {
            errors.push(
                "administration_id",
                "Choisissez une administration dans la liste.",
            );
            None
        }
        Err(e) => return Err(e.into()),
    };
    let services = service_names(f.get("new_services").map(String::as_str).unwrap_or(""));
    if services.is_empty() {
        errors.push("new_services", "Saisissez au moins un nom de service.");
    }
    check_services(&st, &services, "new_services", &mut errors).await?;
    let (Some(administration), false) = (administration, errors.any()) else {
        return invalid(build(&st, &auth, errors, f).await?);
    };
    for s in &services {
        orgs::create(
            &st.db,
            &auth.scope().actor,
            &NewOrganisation {
                kind: OrgKind::Service,
                name: s.clone(),
                parent_id: Some(administration.id.clone()),
                departement: administration.departement.clone(),
                time_zone: administration.time_zone.clone(),
                address: None,
                phone: None,
                email: None,
            },
        )
        .await?;
    }
    let mut p = build(&st, &auth, Errors::default(), HashMap::new()).await?;
    p.ctx = p.ctx.with_notice(
        "success",
        format!(
            "{} service(s) ajouté(s) à « {} ».",
            services.len(),
            administration.name
        ),
    );
    page(p)
}

/// The edit page of one administration or service.
#[derive(Template)]
#[template(path = "parquet/administration.html")]
pub struct OrganisationPage {
    pub ctx: PageCtx,
    pub org: orgs::Organisation,
    /// "L'administration" or "Le service".
    pub what: &'static str,
    pub parent: Option<orgs::Organisation>,
    pub services: Vec<orgs::Organisation>,
    /// Active accounts attached to it (and, for an administration, to its services).
    pub users: usize,
    pub errors: Errors,
    pub form: HashMap<String, String>,
}

impl OrganisationPage {
    pub fn value(&self, field: &str) -> &str {
        self.form.get(field).map(String::as_str).unwrap_or("")
    }
}

/// An administration or a service, for the national admin only; any other organisation (or none) → 404.
async fn load_org(st: &AppState, auth: &Auth, id: &str) -> AppResult<orgs::Organisation> {
    require_national(auth)?;
    match orgs::get(&st.db, auth.scope(), id).await {
        Ok(o) if matches!(o.kind, OrgKind::Administration | OrgKind::Service) => Ok(o),
        Ok(_) | Err(StoreError::NotFound) => Err(crate::error::AppError::NotFound),
        Err(e) => Err(e.into()),
    }
}

async fn org_page(
    st: &AppState,
    auth: &Auth,
    org: orgs::Organisation,
    errors: Errors,
    form: Option<HashMap<String, String>>,
) -> AppResult<OrganisationPage> {
    let parent = match &org.parent_id {
        Some(p) => Some(orgs::get_unscoped(&st.db, p).await?),
        None => None,
    };
    let services = if org.kind == OrgKind::Administration {
        orgs::children(&st.db, &org.id).await?
    } else {
        vec![]
    };
    let users = users::list_managed(&st.db, auth.scope())
        .await?
        .iter()
        .filter(|u| {
            u.active
                && (u.organisation_id == org.id
                    || services.iter().any(|s| s.id == u.organisation_id))
        })
        .count();
    let form = form.unwrap_or_else(|| {
        HashMap::from([
            ("name".to_string(), org.name.clone()),
            ("siren".into(), org.siren.clone().unwrap_or_default()),
            ("email".into(), org.email.clone().unwrap_or_default()),
            (
                "phone".into(),
                org.phone
                    .as_deref()
                    .and_then(|p| domain::PhoneNumber::parse(p).ok())
                    .map(|p| p.national_display())
                    .unwrap_or_else(|| org.phone.clone().unwrap_or_default()),
            ),
            ("address".into(), org.address.clone().unwrap_or_default()),
        ])
    });
    let what = if org.kind == OrgKind::Administration {
        "L'administration"
    } else {
        "Le service"
    };
    Ok(OrganisationPage {
        ctx: PageCtx::new(&auth.1, &org.name),
        what,
        org,
        parent,
        services,
        users,
        errors,
        form,
    })
}

/// `GET /info-parquet/administrations/{id}`: the details and the status of an administration or service.
pub async fn show(
    auth: Auth,
    State(st): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<Response> {
    let org = load_org(&st, &auth, &id).await?;
    page(org_page(&st, &auth, org, Errors::default(), None).await?)
}

/// `POST /info-parquet/administrations/{id}`: name, SIREN, contact e-mail, phone and address (audited).
pub async fn update(
    auth: Auth,
    State(st): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let org = load_org(&st, &auth, &id).await?;
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let mut errors = Errors::default();
    let name = get("name");
    if name.is_empty() || name.chars().count() > 200 {
        errors.push("name", "Saisissez le nom (200 caractères au plus).");
    }
    let siren = match get("siren").as_str() {
        "" => None,
        raw => match domain::Siren::parse(raw) {
            Ok(s) => Some(s.as_str().to_string()),
            Err(e) => {
                errors.push("siren", e.to_string());
                None
            }
        },
    };
    let email = match get("email").as_str() {
        "" => None,
        raw => match domain::Email::parse(raw) {
            Ok(e) => Some(e.as_str().to_string()),
            Err(e) => {
                errors.push("email", e.to_string());
                None
            }
        },
    };
    let phone = match get("phone").as_str() {
        "" => None,
        raw => match domain::PhoneNumber::parse(raw) {
            Ok(p) => Some(p.as_str().to_string()),
            Err(e) => {
                errors.push("phone", format!("Numéro de téléphone invalide : {e}."));
                None
            }
        },
    };
    let address = get("address");
    if address.chars().count() > 300 {
        errors.push("address", "L'adresse fait 300 caractères au plus.");
    }
    if errors.any() {
        return invalid_org(org_page(&st, &auth, org, errors, Some(f)).await?);
    }
    let details = orgs::OrganisationDetails {
        name,
        siren,
        email,
        phone,
        address: (!address.is_empty()).then_some(address),
    };
    match orgs::update_details(&st.db, &auth.scope().actor, &org.id, &details, store::now()).await {
        Ok(updated) => {
            let mut p = org_page(&st, &auth, updated, Errors::default(), None).await?;
            p.ctx = p.ctx.with_notice("success", "Modifications enregistrées.");
            page(p)
        }
        Err(StoreError::Conflict(_)) => {
            errors.push("name", "Une organisation du même type porte déjà ce nom.");
            invalid_org(org_page(&st, &auth, org, errors, Some(f)).await?)
        }
        Err(e) => Err(e.into()),
    }
}

fn invalid_org(p: OrganisationPage) -> AppResult<Response> {
    let mut resp = page(p)?;
    *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

/// `POST /info-parquet/administrations/{id}/statut` with `active=0` (deactivate) or `active=1` (reactivate).
/// Deactivated: its users (and those of its services) cannot sign in, their sessions are closed and their API
/// tokens refused; its referrals stay with their parquet.
pub async fn set_status(
    auth: Auth,
    State(st): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let org = load_org(&st, &auth, &id).await?;
    let active = match f.get("active").map(String::as_str) {
        Some("1") => true,
        Some("0") => false,
        _ => {
            let mut errors = Errors::default();
            errors.push("active", "Choisissez de désactiver ou de réactiver.");
            return invalid_org(org_page(&st, &auth, org, errors, None).await?);
        }
    };
    let updated =
        orgs::set_active(&st.db, &auth.scope().actor, &org.id, active, store::now()).await?;
    let notice = match (active, updated.kind) {
        (false, OrgKind::Administration) => format!(
            "« {} » est désactivée : ses agents et ceux de ses services ne peuvent plus se connecter ni utiliser leurs jetons d'API. Ses signalements restent consultables par les parquets.",
            updated.name
        ),
        (false, _) => format!(
            "« {} » est désactivé : ses agents ne peuvent plus se connecter ni utiliser leurs jetons d'API. Ses signalements restent consultables par les parquets.",
            updated.name
        ),
        (true, _) => format!("« {} » est de nouveau actif : ses agents peuvent se reconnecter.", updated.name),
    };
    let mut p = org_page(&st, &auth, updated, Errors::default(), None).await?;
    p.ctx = p.ctx.with_notice("success", notice);
    page(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_lines_are_trimmed_and_blank_lines_ignored() {
        assert_eq!(
            service_names(" Unité 92 \r\n\n  \nUnité 75"),
            ["Unité 92", "Unité 75"]
        );
        assert!(check_departement(""));
        assert!(check_departement("92"));
        assert!(check_departement("2A"));
        assert!(!check_departement("X9"));
    }
}
