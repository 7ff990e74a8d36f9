//! Administration: users (local admins, managers, national admin), organisations (national admin), audit trail.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use store::orgs::{self, NewOrganisation};
use store::outbox::{self, NewMessage};
use store::roles::{OrgKind, Role};
use store::users::{self, NewUser, User};
use store::{audit, sessions, StoreError};

use super::auth::INVITE_VALID_SECS;
use super::page;
use crate::error::AppResult;
use crate::session::Auth;
use crate::views::*;
use crate::AppState;

fn row(u: &User) -> UserRow {
    UserRow {
        id: u.id.clone(),
        name: u.display_name(),
        email: u.email.clone(),
        role: u.role.label(),
        organisation: u.organisation_name.clone(),
        active: u.active,
        invited: u.password_hash.is_none(),
        last_login: u
            .last_login_at
            .map(datetime_fr)
            .unwrap_or_else(|| "—".into()),
    }
}

async fn users_page(
    st: &AppState,
    auth: &Auth,
    form: InviteForm,
    errors: Vec<(String, String)>,
) -> AppResult<UsersPage> {
    let scope = auth.scope();
    let users = users::list_managed(&st.db, scope).await?;
    let orgs = orgs::list_managed(&st.db, scope).await?;
    Ok(UsersPage {
        ctx: PageCtx::new(&auth.1, "Utilisateurs"),
        users: users.iter().map(row).collect(),
        roles: auth
            .user()
            .role
            .assignable_roles()
            .into_iter()
            .map(|r| Choice {
                value: r.as_str().into(),
                label: r.label().into(),
                selected: r.as_str() == form.role,
            })
            .collect(),
        organisations: orgs
            .iter()
            .map(|o| Choice {
                value: o.id.clone(),
                label: format!("{} ({})", o.name, o.kind.label()),
                selected: o.id == form.organisation_id,
            })
            .collect(),
        form,
        errors,
    })
}

pub async fn users(auth: Auth, State(st): State<AppState>) -> AppResult<Response> {
    auth.require(auth.user().role.manages_users())?;
    page(users_page(&st, &auth, InviteForm::default(), vec![]).await?)
}

/// Invites a user: the account is created without a password and an activation link (7 days) is e-mailed.
pub async fn invite(
    auth: Auth,
    State(st): State<AppState>,
    Form(f): Form<InviteForm>,
) -> AppResult<Response> {
    auth.require(auth.user().role.manages_users())?;
    let scope = auth.scope();
    let mut errors: Vec<(String, String)> = vec![];
    let first_name = f.first_name.trim().to_string();
    let last_name = f.last_name.trim().to_string();
    for (field, value, missing) in [
        ("first_name", &first_name, "Saisissez le prénom."),
        ("last_name", &last_name, "Saisissez le nom."),
    ] {
        if value.is_empty() {
            errors.push((field.into(), missing.into()));
        } else if let Some(m) = domain::limits::too_long(value, domain::limits::NAME) {
            errors.push((field.into(), m));
        }
    }
    let email = match domain::limits::too_long(&f.email, domain::limits::EMAIL).map_or_else(
        || domain::Email::parse(&f.email).map_err(|e| e.to_string()),
        Err,
    ) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.push(("email".into(), e.to_string()));
            None
        }
    };
    let role = f
        .role
        .parse::<Role>()
        .ok()
        .filter(|r| auth.user().role.assignable_roles().contains(r));
    if role.is_none() {
        errors.push(("role".into(), "Choisissez un rôle dans la liste.".into()));
    }
    let org = if f.organisation_id.is_empty() || !scope.can_manage(&f.organisation_id) {
        errors.push((
            "organisation_id".into(),
            "Choisissez une organisation dans la liste.".into(),
        ));
        None
    } else {
        Some(orgs::get_unscoped(&st.db, &f.organisation_id).await?)
    };
    if let (Some(r), Some(o)) = (role, &org) {
        if !r.allowed_org_kinds().contains(&o.kind) {
            errors.push((
                "role".into(),
                format!(
                    "Le rôle « {} » n'existe pas dans une organisation de type « {} ».",
                    r.label(),
                    o.kind.label()
                ),
            ));
        }
    }
    let (Some(email), Some(role), Some(org), true) = (email, role, org, errors.is_empty()) else {
        return page(users_page(&st, &auth, f, errors).await?);
    };
    let created = send_invitation(
        &st,
        &scope.actor,
        &auth.user().display_name(),
        &NewUser {
            email: email.as_str().to_string(),
            first_name,
            last_name,
            role,
            organisation_id: org.id.clone(),
            password_hash: None,
        },
    )
    .await;
    let user = match created {
        Ok(u) => u,
        Err(StoreError::Conflict(_)) => {
            let errors = vec![(
                "email".into(),
                "Un compte existe déjà avec cette adresse e-mail.".into(),
            )];
            return page(users_page(&st, &auth, f, errors).await?);
        }
        Err(e) => return Err(e.into()),
    };
    let mut p = users_page(&st, &auth, InviteForm::default(), vec![]).await?;
    p.ctx = p
        .ctx
        .with_notice("success", format!("Invitation envoyée à {}.", user.email));
    page(p)
}

/// An invitation: the account is created without a password (`new.password_hash` is ignored), with an
/// activation link valid 7 days e-mailed through the outbox. An e-mail already in use is `StoreError::Conflict`.
pub(crate) async fn send_invitation(
    st: &AppState,
    actor: &store::Actor,
    inviter_name: &str,
    new: &NewUser,
) -> Result<User, StoreError> {
    let user = users::create(
        &st.db,
        actor,
        &NewUser {
            password_hash: None,
            ..new.clone()
        },
    )
    .await?;
    let now = store::now();
    let token =
        sessions::create_user_token(&st.db, &user.id, "invite", INVITE_VALID_SECS, now).await?;
    let link = format!(
        "{}/mot-de-passe/nouveau?jeton={token}",
        st.config.public_url
    );
    let body = format!(
        "Bonjour {},\n\n{} vous a créé un compte Passerelle ({}, {}).\n\n\
         Pour l'activer et choisir votre mot de passe, ouvrez ce lien (valable 7 jours) :\n{}\n\n\
         — Passerelle, ministère de la Justice",
        user.first_name,
        inviter_name,
        user.role.label(),
        user.organisation_name,
        outbox::LINK_PLACEHOLDER
    );
    // The link is kept out of the stored text (failure pages, lists): only the recipient gets it.
    outbox::enqueue_with_secret(
        st.db.pool(),
        &NewMessage {
            channel: "email".into(),
            kind: "invitation".into(),
            organisation_id: Some(user.organisation_id.clone()),
            recipient: user.email.clone(),
            subject: Some("Passerelle — activez votre compte".into()),
            body,
            due_at: now,
            related_type: Some("user".into()),
            related_id: Some(user.id.clone()),
        },
        Some(&link),
    )
    .await?;
    Ok(user)
}

fn role_choices(manager: Role, current: Role) -> Vec<Choice> {
    let mut roles = manager.assignable_roles();
    if !roles.contains(&current) {
        roles.insert(0, current);
    }
    roles
        .into_iter()
        .map(|r| Choice {
            value: r.as_str().into(),
            label: r.label().into(),
            selected: r == current,
        })
        .collect()
}

pub async fn user_edit(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = users::get_managed(&st.db, auth.scope(), &id).await?;
    page(UserEditPage {
        ctx: PageCtx::new(&auth.1, &user.display_name()),
        roles: role_choices(auth.user().role, user.role),
        user: row(&user),
    })
}

#[derive(Deserialize)]
pub struct AccessForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    active: String,
}

pub async fn user_update(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<AccessForm>,
) -> AppResult<Response> {
    let user = users::get_managed(&st.db, auth.scope(), &id).await?;
    let org = orgs::get_unscoped(&st.db, &user.organisation_id).await?;
    let role = f.role.parse::<Role>().ok().filter(|r| {
        (*r == user.role || auth.user().role.assignable_roles().contains(r))
            && r.allowed_org_kinds().contains(&org.kind)
    });
    let active = f.active != "false";
    let mut p = UserEditPage {
        ctx: PageCtx::new(&auth.1, &user.display_name()),
        roles: role_choices(auth.user().role, user.role),
        user: row(&user),
    };
    let Some(role) = role else {
        p.ctx = p.ctx.with_notice(
            "error",
            "Ce rôle ne peut pas être attribué dans cette organisation.",
        );
        return page(p);
    };
    if user.id == auth.user().id && !active {
        p.ctx = p.ctx.with_notice(
            "error",
            "Vous ne pouvez pas désactiver votre propre compte.",
        );
        return page(p);
    }
    let updated = users::update_access(&st.db, auth.scope(), &id, role, active).await?;
    p.user = row(&updated);
    p.roles = role_choices(auth.user().role, updated.role);
    p.ctx = p.ctx.with_notice("success", "Modifications enregistrées.");
    page(p)
}

/// A colleague's profile (same or linked organisation); anyone else's is a 404.
pub async fn user_profile(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = users::get(&st.db, auth.scope(), &id).await?;
    audit::record(
        st.db.pool(),
        &auth.scope().actor,
        "user.read",
        "user",
        Some(&user.id),
        None,
    )
    .await?;
    page(UserProfilePage {
        ctx: PageCtx::new(&auth.1, &user.display_name()),
        user: row(&user),
    })
}

pub const TIME_ZONES: &[(&str, &str)] = &[
    ("Europe/Paris", "Métropole (Europe/Paris)"),
    ("Indian/Reunion", "La Réunion (Indian/Reunion)"),
    ("Indian/Mayotte", "Mayotte (Indian/Mayotte)"),
    ("America/Guadeloupe", "Guadeloupe (America/Guadeloupe)"),
    ("America/Martinique", "Martinique (America/Martinique)"),
    ("America/Cayenne", "Guyane (America/Cayenne)"),
    ("Pacific/Noumea", "Nouvelle-Calédonie (Pacific/Noumea)"),
    ("Pacific/Tahiti", "Polynésie française (Pacific/Tahiti)"),
    (
        "America/Miquelon",
        "Saint-Pierre-et-Miquelon (America/Miquelon)",
    ),
];

async fn organisations_page(
    st: &AppState,
    auth: &Auth,
    error: Option<String>,
) -> AppResult<OrganisationsPage> {
    let all = orgs::list(&st.db, auth.scope()).await?;
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| all.iter().find(|o| &o.id == id))
            .map(|o| o.name.clone())
            .unwrap_or_default()
    };
    let mut rows = Vec::with_capacity(all.len());
    for o in &all {
        let links = orgs::linked(&st.db, &o.id).await?;
        rows.push(OrgRow {
            id: o.id.clone(),
            kind: o.kind.label(),
            name: o.name.clone(),
            parent: name_of(&o.parent_id),
            departement: o.departement.clone().unwrap_or_default(),
            time_zone: o.time_zone.clone(),
            links: links
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(OrganisationsPage {
        ctx: PageCtx::new(&auth.1, "Organisations"),
        orgs: rows,
        kinds: OrgKind::ALL
            .iter()
            .map(|k| Choice {
                value: k.as_str().into(),
                label: k.label().into(),
                selected: false,
            })
            .collect(),
        parents: all
            .iter()
            .map(|o| Choice {
                value: o.id.clone(),
                label: format!("{} ({})", o.name, o.kind.label()),
                selected: false,
            })
            .collect(),
        time_zones: TIME_ZONES
            .iter()
            .map(|(v, l)| Choice {
                value: (*v).into(),
                label: (*l).into(),
                selected: false,
            })
            .collect(),
        error,
    })
}

pub async fn organisations(auth: Auth, State(st): State<AppState>) -> AppResult<Response> {
    auth.require(auth.user().role.is_national_admin())?;
    page(organisations_page(&st, &auth, None).await?)
}

#[derive(Deserialize)]
pub struct OrgForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    departement: String,
    #[serde(default)]
    time_zone: String,
}

pub async fn organisation_create(
    auth: Auth,
    State(st): State<AppState>,
    Form(f): Form<OrgForm>,
) -> AppResult<Response> {
    auth.require(auth.user().role.is_national_admin())?;
    let name = f.name.trim();
    let kind = f.kind.parse::<OrgKind>().ok();
    let departement = f.departement.trim().to_uppercase();
    let dept_ok = departement.is_empty()
        || domain::InseeCode::parse(&format!("{departement:0<5}"))
            .is_ok_and(|c| c.departement() == departement);
    let error = if name.is_empty() || name.chars().count() > 200 {
        Some("Saisissez le nom de l'organisation (200 caractères au plus).")
    } else if kind.is_none() {
        Some("Choisissez un type d'organisation.")
    } else if !TIME_ZONES.iter().any(|(tz, _)| *tz == f.time_zone) {
        Some("Choisissez un fuseau horaire dans la liste.")
    } else if !dept_ok {
        Some("Département invalide : saisissez par exemple 92, 2A ou 974.")
    } else {
        None
    };
    if let Some(e) = error {
        return page(organisations_page(&st, &auth, Some(e.into())).await?);
    }
    let parent_id = (!f.parent_id.is_empty()).then(|| f.parent_id.clone());
    if let Some(p) = &parent_id {
        orgs::get(&st.db, auth.scope(), p).await?;
    }
    let created = orgs::create(
        &st.db,
        &auth.scope().actor,
        &NewOrganisation {
            kind: kind.unwrap_or(OrgKind::Spip),
            name: name.to_string(),
            parent_id,
            departement: (!departement.is_empty()).then_some(departement),
            time_zone: f.time_zone.clone(),
            address: None,
            phone: None,
            email: None,
        },
    )
    .await;
    match created {
        Ok(_) => Ok(Redirect::to("/admin/organisations").into_response()),
        Err(StoreError::Conflict(_)) => page(
            organisations_page(
                &st,
                &auth,
                Some("Une organisation de ce type porte déjà ce nom.".into()),
            )
            .await?,
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    a: String,
    #[serde(default)]
    b: String,
}

pub async fn organisation_link(
    auth: Auth,
    State(st): State<AppState>,
    Form(f): Form<LinkForm>,
) -> AppResult<Response> {
    auth.require(auth.user().role.is_national_admin())?;
    if f.a == f.b {
        return page(
            organisations_page(
                &st,
                &auth,
                Some("Choisissez deux organisations différentes.".into()),
            )
            .await?,
        );
    }
    orgs::get(&st.db, auth.scope(), &f.a).await?;
    orgs::get(&st.db, auth.scope(), &f.b).await?;
    orgs::link(&st.db, &auth.scope().actor, &f.a, &f.b).await?;
    Ok(Redirect::to("/admin/organisations").into_response())
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    acteur: String,
    #[serde(default)]
    cible: String,
    #[serde(default)]
    du: String,
    #[serde(default)]
    au: String,
}

fn parse_day(s: &str) -> Result<Option<i64>, ()> {
    if s.is_empty() {
        return Ok(None);
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ())?;
    use chrono::TimeZone;
    let t = chrono_tz::Europe::Paris
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).ok_or(())?)
        .earliest()
        .ok_or(())?;
    Ok(Some(t.timestamp()))
}

pub async fn audit_log(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    auth.require(auth.user().role.manages_users())?;
    let since = parse_day(&q.du);
    let until = parse_day(&q.au).map(|u| u.map(|t| t + 24 * 3600));
    let (error, since, until) = match (since, until) {
        (Ok(s), Ok(u)) => (None, s, u),
        _ => (
            Some("Date invalide : utilisez le format jj/mm/aaaa.".to_string()),
            None,
            None,
        ),
    };
    let events = audit::list(
        &st.db,
        auth.scope(),
        &audit::AuditFilter {
            action: Some(q.action.trim().to_string()),
            target_type: Some(q.cible.trim().to_string()),
            target_id: None,
            actor: Some(q.acteur.trim().to_string()),
            since,
            until,
            limit: 500,
        },
    )
    .await?;
    let rows = events
        .into_iter()
        .map(|e| AuditRow {
            at: datetime_fr(e.at),
            actor: e.actor_label,
            action: crate::labels::audit_action(&e.action),
            target: match e.target_id {
                Some(id) => format!("{} {}", crate::labels::audit_target(&e.target_type), id),
                None => crate::labels::audit_target(&e.target_type).to_string(),
            },
            ip: e.ip.unwrap_or_default(),
            details: crate::labels::audit_details(&e.details.unwrap_or_default()),
        })
        .collect();
    let actions = crate::labels::AUDIT_ACTIONS
        .iter()
        .map(|(value, label)| crate::views::FilterChoice {
            value,
            label,
            selected: *value == q.action.trim(),
        })
        .collect();
    let targets = [
        "user",
        "organisation",
        "ppsmj",
        "appointment",
        "agenda",
        "place",
        "slot",
        "referral",
        "attachment",
        "measure",
        "template",
    ]
    .into_iter()
    .map(|value| crate::views::FilterChoice {
        value,
        label: crate::labels::audit_target(value),
        selected: value == q.cible.trim(),
    })
    .collect();
    page(AuditPage {
        ctx: PageCtx::new(&auth.1, "Journal d'audit"),
        rows,
        actions,
        targets,
        action: q.action,
        actor: q.acteur,
        target_type: q.cible,
        since: q.du,
        until: q.au,
        error,
    })
}
