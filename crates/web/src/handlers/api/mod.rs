//! JSON API v1 (token-authenticated, problem+json errors), documented in `/api/v1/openapi.json`.

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
