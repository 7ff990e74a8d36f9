//! Home pages by role.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use store::roles::RoleGroup;

use super::page;
use crate::error::AppResult;
use crate::session::{Auth, Ctx};
use crate::views::{HomePage, PageCtx, Tile};
use crate::AppState;

pub async fn root(ctx: Ctx) -> Response {
    if ctx.current.is_some() {
        Redirect::to("/accueil").into_response()
    } else {
        Redirect::to("/connexion").into_response()
    }
}

#[derive(Deserialize, Default)]
pub struct HomeQuery {
    #[serde(default)]
    satisfaction: String,
}

pub async fn home(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<HomeQuery>,
) -> AppResult<Response> {
    let prompt = super::satisfaction::prompt_for(&st, &auth, store::now()).await?;
    let notice = (q.satisfaction == "merci").then(|| {
        (
            "success",
            "Merci pour votre réponse : elle nous aide à améliorer le service.".to_string(),
        )
    });
    home_page(&auth, prompt, notice)
}

/// The home page, with the monthly satisfaction question when `satisfaction` is set.
pub fn home_page(
    auth: &Auth,
    satisfaction: Option<super::satisfaction::Prompt>,
    notice: Option<(&'static str, String)>,
) -> AppResult<Response> {
    let u = auth.user();
    let mut tiles = super::msj::tiles(u.role);
    tiles.extend(super::msj_admin::tiles(u.role));
    tiles.extend(super::parquet::tiles(u.role));
    tiles.extend(super::templates::tiles(u.role));
    tiles.push(Tile {
        title: "Mon compte",
        text: "Vos informations et la sécurité de votre compte.",
        href: "/compte",
    });
    if u.role.manages_users() {
        tiles.push(Tile {
            title: "Utilisateurs",
            text: "Inviter des agents, changer un rôle, désactiver un compte.",
            href: "/admin/utilisateurs",
        });
        tiles.push(Tile {
            title: "Journal d'audit",
            text: "Qui a fait quoi, et quand.",
            href: "/admin/journal",
        });
    }
    if u.role.is_national_admin() {
        tiles.push(Tile {
            title: "Organisations",
            text: "SPIP, tribunaux, parquets et administrations.",
            href: "/admin/organisations",
        });
    }
    if auth.1.demo {
        tiles.push(Tile {
            title: "Messages envoyés (démo)",
            text: "Les SMS et e-mails qui seraient partis.",
            href: "/demo/messages",
        });
    }
    let space = match u.role.group() {
        RoleGroup::Spip => "Mon Suivi Justice — service pénitentiaire d'insertion et de probation",
        RoleGroup::Bex => "Mon Suivi Justice — bureau de l'exécution des peines",
        RoleGroup::Sap => "Mon Suivi Justice — service de l'application des peines",
        RoleGroup::Court => "Mon Suivi Justice — juridiction",
        RoleGroup::LocalAdmin => "Administration locale",
        RoleGroup::National => "Administration nationale",
        RoleGroup::Administration => "Info Parquet — signalements au procureur",
        RoleGroup::Parquet => "Info Parquet — signalements reçus",
    };
    let mut ctx = PageCtx::new(&auth.1, "Accueil");
    if let Some((kind, text)) = notice {
        ctx = ctx.with_notice(kind, text);
    }
    page(HomePage {
        ctx,
        satisfaction,
        greeting: format!("Bonjour {}", u.first_name),
        role: u.role.label(),
        organisation: format!("{} · {space}", u.organisation_name),
        tiles,
        totp_enabled: u.totp_enabled,
    })
}
