pub mod admin;
pub mod api;
pub mod auth;
pub mod files;
pub mod home;
pub mod messages;
pub mod misc;
pub mod msj;
pub mod msj_admin;
pub mod parquet;
pub mod satisfaction;
pub mod space;
pub mod space_help;
pub mod space_measure;
pub mod templates;

use axum::response::{Html, IntoResponse, Response};

use crate::error::AppResult;

/// Renders an askama page as an HTML response.
pub fn page<T: askama::Template>(t: T) -> AppResult<Response> {
    Ok(Html(t.render()?).into_response())
}
