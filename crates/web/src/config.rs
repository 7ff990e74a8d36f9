//! Configuration, read once from the environment at start (12-factor) and passed down in the state.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Production: secrets required, second factor mandatory for admins.
    Serve,
    /// Demo data set: secrets generated in the data dir, messages go to the demo outbox unless SMTP is set.
    Demo,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    pub database_url: String,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// Base URL used in links sent by e-mail and SMS.
    pub public_url: String,
    /// `smtp://user:pass@host:port` (STARTTLS required), `smtps://…` (TLS), or `smtp://host:port?tls=none` for a
    /// relay on loopback. None in demo mode = demo outbox only.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub secure_cookies: bool,
    pub session_idle_secs: i64,
    pub totp_required_for_admins: bool,
    /// Seconds between two polls of the outbox by the worker.
    pub worker_poll_secs: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("variable d'environnement {var} invalide : {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_env(mode: Mode) -> Result<Config, ConfigError> {
        let data_dir =
            PathBuf::from(var("PASSERELLE_DATA_DIR").unwrap_or_else(|| "./passerelle-data".into()));
        let bind: SocketAddr = var("PASSERELLE_BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|e| ConfigError {
                var: "PASSERELLE_BIND",
                reason: format!("adresse:port attendu ({e})"),
            })?;
        let database_url = match var("DATABASE_URL") {
            Some(u) => {
                if !(u.starts_with("sqlite:")
                    || u.starts_with("postgres://")
                    || u.starts_with("postgresql://"))
                {
                    return Err(ConfigError {
                        var: "DATABASE_URL",
                        reason: "sqlite://… ou postgres://… attendu".into(),
                    });
                }
                u
            }
            None => format!("sqlite://{}", data_dir.join("passerelle.db").display()),
        };
        let public_url = var("PASSERELLE_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError {
                var: "PASSERELLE_PUBLIC_URL",
                reason: "URL http(s) attendue".into(),
            });
        }
        let smtp_url = var("PASSERELLE_SMTP_URL");
        if mode == Mode::Serve && smtp_url.is_none() {
            return Err(ConfigError {
                var: "PASSERELLE_SMTP_URL",
                reason:
                    "obligatoire avec `serve` (les liens de réinitialisation partent par e-mail)"
                        .into(),
            });
        }
        let session_idle_secs = match var("PASSERELLE_SESSION_IDLE_MINUTES") {
            Some(v) => {
                v.parse::<i64>()
                    .ok()
                    .filter(|m| *m > 0)
                    .ok_or(ConfigError {
                        var: "PASSERELLE_SESSION_IDLE_MINUTES",
                        reason: "nombre entier de minutes attendu".into(),
                    })?
                    * 60
            }
            None => 60 * 60,
        };
        let secure_cookies = match var("PASSERELLE_SECURE_COOKIES").as_deref() {
            Some("false") | Some("0") => false,
            Some("true") | Some("1") | None => true,
            Some(_) => {
                return Err(ConfigError {
                    var: "PASSERELLE_SECURE_COOKIES",
                    reason: "true ou false attendu".into(),
                })
            }
        };
        Ok(Config {
            mode,
            database_url,
            bind,
            data_dir,
            public_url,
            smtp_url,
            mail_from: var("PASSERELLE_MAIL_FROM").unwrap_or_else(|| {
                "Passerelle <ne-pas-repondre@passerelle.justice.gouv.fr>".into()
            }),
            secure_cookies,
            session_idle_secs,
            totp_required_for_admins: mode == Mode::Serve,
            worker_poll_secs: 1,
        })
    }

    pub fn is_demo(&self) -> bool {
        self.mode == Mode::Demo
    }
}
