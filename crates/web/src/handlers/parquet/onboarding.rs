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

pub struct AdministrationRow {
    pub name: String,
    pub departement: String,
    pub services: Vec<String>,
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
            name: a.name.clone(),
            departement: a.departement.clone().unwrap_or_default(),
            services: services.iter().map(|s| s.name.clone()).collect(),
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
