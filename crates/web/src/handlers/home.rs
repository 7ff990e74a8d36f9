//! Home pages by role.

use axum::response::{IntoResponse, Redirect, Response};
use store::roles::RoleGroup;

use super::page;
use crate::error::AppResult;
use crate::session::{Auth, Ctx};
use crate::views::{HomePage, PageCtx, Tile};

pub async fn root(ctx: Ctx) -> Response {
    if ctx.current.is_some() {
        Redirect::to("/accueil").into_response()
    } else {
        Redirect::to("/connexion").into_response()
    }
}

pub async fn home(auth: Auth) -> AppResult<Response> {
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
    page(HomePage {
        ctx: PageCtx::new(&auth.1, "Accueil"),
        greeting: format!("Bonjour {}", u.first_name),
        role: u.role.label(),
        organisation: format!("{} · {space}", u.organisation_name),
        tiles,
        totp_enabled: u.totp_enabled,
    })
}
