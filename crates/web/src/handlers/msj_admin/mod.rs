//! Mon Suivi Justice administration: places, agendas, slots, statistics, imports, PDF, divestments.

use axum::Router;
use store::roles::Role;

use crate::views::Tile;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// Menu entries of this area for a role.
pub fn nav(_role: Role) -> Vec<(&'static str, &'static str)> {
    vec![]
}

/// Home-page tiles of this area for a role.
pub fn tiles(_role: Role) -> Vec<Tile> {
    vec![]
}
