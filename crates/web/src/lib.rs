//! HTTP layer: axum routers per area, sessions and CSRF, security headers, DSFR pages (askama, escaped by
//! default) and the assets embedded in the binary.

pub mod assets;
pub mod client_ip;
pub mod config;
pub mod error;
pub mod handlers;
pub mod jobs;
pub mod labels;
pub mod metrics;
pub mod password;
pub mod pdf;
pub mod render;
pub mod routes;
pub mod security;
pub mod session;
pub(crate) mod statistics;
pub mod totp;
pub mod views;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use store::Db;

pub use config::{Config, Mode};
pub use routes::{route_table, RouteSpec};

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// Attachments' bytes (encrypted object store, antivirus).
    pub files: Arc<files::FileStore>,
    /// Request counters of this process, for `/metrics`.
    pub metrics: Arc<metrics::Registry>,
    /// VAPID public key (base64url) when Web Push is offered to people (`passerelle` sets it); None: no push.
    pub push_public_key: Option<Arc<str>>,
}

impl AppState {
    pub fn new(db: Db, config: Config, files: Arc<files::FileStore>) -> AppState {
        AppState {
            db,
            config: Arc::new(config),
            files,
            metrics: Arc::default(),
            push_public_key: None,
        }
    }

    pub fn with_push_key(mut self, public_key: &str) -> AppState {
        self.push_public_key = Some(public_key.into());
        self
    }

    /// State whose attachments go to a fresh local directory with a random key and no antivirus (files are
    /// marked "not scanned"): for tests that do not exercise attachments.
    pub fn with_local_files(db: Db, config: Config) -> AppState {
        let dir = std::env::temp_dir().join(format!(
            "passerelle-files-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let store = files::FileStore::local(&dir, files::Keyring::random(), None, 1 << 30)
            .expect("a temporary directory for attachments");
        AppState::new(db, config, Arc::new(store))
    }
}

pub fn router(state: AppState) -> Router {
    use handlers::{admin, auth, home, misc};
    Router::new()
        .route("/", get(home::root))
        .route("/accueil", get(home::home))
        .route("/connexion", get(auth::login_form).post(auth::login))
        .route(
            "/connexion/totp",
            get(auth::totp_form).post(auth::totp_submit),
        )
        .route("/deconnexion", post(auth::logout))
        .route(
            "/mot-de-passe-oublie",
            get(auth::forgot_form).post(auth::forgot_submit),
        )
        .route(
            "/mot-de-passe/nouveau",
            get(auth::reset_form).post(auth::reset_submit),
        )
        .route("/compte", get(auth::account))
        .route(
            "/compte/double-authentification",
            get(auth::totp_setup_form).post(auth::totp_setup_submit),
        )
        .route("/utilisateurs/{id}", get(admin::user_profile))
        .route("/admin/utilisateurs", get(admin::users).post(admin::invite))
        .route(
            "/admin/utilisateurs/{id}",
            get(admin::user_edit).post(admin::user_update),
        )
        .route(
            "/admin/organisations",
            get(admin::organisations).post(admin::organisation_create),
        )
        .route("/admin/organisations/liens", post(admin::organisation_link))
        .route("/admin/journal", get(admin::audit_log))
        .route("/demo/messages", get(misc::demo_outbox))
        .route("/healthz", get(misc::healthz))
        .route("/metrics", get(metrics::handler))
        .route("/api/v1/openapi.json", get(misc::openapi))
        .route("/accessibilite", get(misc::accessibility))
        .route("/mentions-legales", get(misc::legal))
        .route("/donnees-personnelles", get(misc::privacy))
        .route("/static/{*path}", get(assets::serve))
        .merge(handlers::msj::routes())
        .merge(handlers::msj_admin::routes())
        .merge(handlers::parquet::routes())
        .merge(handlers::api::routes())
        .merge(handlers::messages::routes())
        .merge(handlers::files::routes())
        .merge(handlers::templates::routes())
        .merge(handlers::space_help::routes())
        .merge(handlers::satisfaction::routes())
        .merge(handlers::space::routes())
        .fallback(misc::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(2 * 1024 * 1024))
        .with_state(state)
}
