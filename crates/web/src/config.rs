//! Configuration, read once from the environment at start (12-factor) and passed down in the state.

use std::net::SocketAddr;
use std::path::PathBuf;

/// A configuration secret (API key, password, webhook secret): `Debug` prints `***` and there is no `Display`, so
/// neither `{:?}` of the configuration nor a log line can show it; the code that needs the value calls
/// [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_string())
    }
}

/// A URL that may carry a password (database, SMTP): `Debug` prints it with the password replaced by `***`
/// ([`store::redact_url`]); [`SecretUrl::expose`] gives the whole URL to the code that connects.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", store::redact_url(&self.0))
    }
}

impl From<String> for SecretUrl {
    fn from(s: String) -> SecretUrl {
        SecretUrl(s)
    }
}

impl From<&str> for SecretUrl {
    fn from(s: &str) -> SecretUrl {
        SecretUrl(s.to_string())
    }
}

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
    pub database_url: SecretUrl,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// Base URL used in links sent by e-mail and SMS.
    pub public_url: String,
    /// `smtp://user:pass@host:port` (STARTTLS required), `smtps://…` (TLS), or `smtp://host:port?tls=none` for a
    /// relay on loopback. None in demo mode = demo outbox only.
    pub smtp_url: Option<SecretUrl>,
    pub mail_from: String,
    pub secure_cookies: bool,
    pub session_idle_secs: i64,
    /// Absolute lifetime of a session, however active (`PASSERELLE_SESSION_MAX_HOURS`, default 12).
    pub session_max_secs: i64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`PASSERELLE_TRUSTED_PROXIES`, CIDRs; default none).
    pub trusted_proxies: Vec<crate::client_ip::Cidr>,
    /// Who may read `/metrics` (`PASSERELLE_METRICS_ALLOW`, CIDRs; default loopback only).
    pub metrics_allow: Vec<crate::client_ip::Cidr>,
    pub totp_required_for_admins: bool,
    /// Seconds between two polls of the outbox by the worker.
    pub worker_poll_secs: u64,
    pub sms: SmsConfig,
    /// Hours when no notice leaves (default 20:00–08:00, local time of the organisation, plus Sundays and public
    /// holidays). `None` (`PASSERELLE_QUIET_HOURS=aucune`): notices leave at once at any hour.
    pub quiet_hours: Option<domain::QuietHours>,
}

/// Which SMS provider sends, and the secret its delivery webhook must present.
#[derive(Clone, Debug)]
pub enum SmsConfig {
    /// Nothing leaves the machine; messages are shown in the demo outbox.
    Demo,
    Brevo {
        base_url: String,
        api_key: Secret,
        sender: String,
        webhook_secret: Secret,
    },
    LinkMobility {
        base_url: String,
        username: String,
        password: Secret,
        platform_id: String,
        platform_partner_id: String,
        sender: String,
        webhook_secret: Secret,
    },
}

impl SmsConfig {
    pub fn webhook_secret(&self, provider: &str) -> Option<&str> {
        match (self, provider) {
            (SmsConfig::Brevo { webhook_secret, .. }, "brevo") => Some(webhook_secret.expose()),
            (SmsConfig::LinkMobility { webhook_secret, .. }, "linkmobility") => {
                Some(webhook_secret.expose())
            }
            _ => None,
        }
    }
}

fn quiet_hours_from_env() -> Result<Option<domain::QuietHours>, ConfigError> {
    let err = || ConfigError {
        var: "PASSERELLE_QUIET_HOURS",
        reason: "« HH:MM-HH:MM » (par exemple 20:00-08:00) ou « aucune » attendu".into(),
    };
    match var("PASSERELLE_QUIET_HOURS").as_deref() {
        None => Ok(Some(domain::QuietHours::default())),
        Some("aucune") | Some("none") => Ok(None),
        Some(v) => {
            let (a, b) = v.split_once('-').ok_or_else(err)?;
            let parse =
                |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| err());
            let (start, end) = (parse(a)?, parse(b)?);
            // The quiet period spans midnight (domain::timing assumes it).
            if end >= start {
                return Err(err());
            }
            Ok(Some(domain::QuietHours { start, end }))
        }
    }
}

/// After SIGTERM/SIGINT: seconds left to in-flight requests and the current outbox batch before the process gives
/// up on them (`PASSERELLE_SHUTDOWN_SECS`, default 30). Read by the binary only, so it is not a [`Config`] field.
pub fn shutdown_secs_from_env() -> Result<u64, ConfigError> {
    match var("PASSERELLE_SHUTDOWN_SECS") {
        None => Ok(30),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .ok_or(ConfigError {
                var: "PASSERELLE_SHUTDOWN_SECS",
                reason: "nombre entier de secondes entre 1 et 3600 attendu".into(),
            }),
    }
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    var(name).ok_or(ConfigError {
        var: name,
        reason: "obligatoire avec ce fournisseur de SMS".into(),
    })
}

fn sms_from_env(mode: Mode) -> Result<SmsConfig, ConfigError> {
    match var("PASSERELLE_SMS_PROVIDER").as_deref() {
        None if mode == Mode::Demo => Ok(SmsConfig::Demo),
        Some("demo") => Ok(SmsConfig::Demo),
        Some("brevo") => Ok(SmsConfig::Brevo {
            base_url: var("PASSERELLE_BREVO_URL").unwrap_or_else(|| "https://api.brevo.com".into()),
            api_key: required("PASSERELLE_BREVO_API_KEY")?.into(),
            sender: var("PASSERELLE_SMS_SENDER").unwrap_or_else(|| "JUSTICE".into()),
            webhook_secret: required("PASSERELLE_SMS_WEBHOOK_SECRET")?.into(),
        }),
        Some("linkmobility") => Ok(SmsConfig::LinkMobility {
            base_url: required("PASSERELLE_LINKMOBILITY_URL")?,
            username: required("PASSERELLE_LINKMOBILITY_USERNAME")?,
            password: required("PASSERELLE_LINKMOBILITY_PASSWORD")?.into(),
            platform_id: required("PASSERELLE_LINKMOBILITY_PLATFORM_ID")?,
            platform_partner_id: required("PASSERELLE_LINKMOBILITY_PARTNER_ID")?,
            sender: var("PASSERELLE_SMS_SENDER").unwrap_or_else(|| "JUSTICE".into()),
            webhook_secret: required("PASSERELLE_SMS_WEBHOOK_SECRET")?.into(),
        }),
        None => Err(ConfigError {
            var: "PASSERELLE_SMS_PROVIDER",
            reason: "obligatoire avec `serve` : brevo, linkmobility (ou demo pour ne rien envoyer)"
                .into(),
        }),
        Some(other) => Err(ConfigError {
            var: "PASSERELLE_SMS_PROVIDER",
            reason: format!("« {other} » inconnu : brevo, linkmobility ou demo"),
        }),
    }
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
        let smtp_url = var("PASSERELLE_SMTP_URL").map(SecretUrl::from);
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
        let session_max_secs = match var("PASSERELLE_SESSION_MAX_HOURS") {
            Some(v) => {
                v.parse::<i64>()
                    .ok()
                    .filter(|h| (1..=24 * 30).contains(h))
                    .ok_or(ConfigError {
                        var: "PASSERELLE_SESSION_MAX_HOURS",
                        reason: "nombre entier d'heures attendu (entre 1 et 720)".into(),
                    })?
                    * 3600
            }
            None => store::sessions::DEFAULT_MAX_SECS,
        };
        let metrics_allow = crate::client_ip::parse_list(
            &var("PASSERELLE_METRICS_ALLOW").unwrap_or_else(|| "127.0.0.0/8,::1/128".into()),
        )
        .map_err(|bad| ConfigError {
            var: "PASSERELLE_METRICS_ALLOW",
            reason: format!("« {bad} » n'est pas un réseau CIDR (liste séparée par des virgules)"),
        })?;
        let trusted_proxies = crate::client_ip::parse_list(
            &var("PASSERELLE_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|bad| ConfigError {
            var: "PASSERELLE_TRUSTED_PROXIES",
            reason: format!(
                "« {bad} » n'est pas un réseau CIDR (liste séparée par des virgules, par exemple 10.0.0.0/8,192.168.1.10)"
            ),
        })?;
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
            database_url: database_url.into(),
            bind,
            data_dir,
            public_url,
            smtp_url,
            mail_from: var("PASSERELLE_MAIL_FROM").unwrap_or_else(|| {
                "Passerelle <ne-pas-repondre@passerelle.justice.gouv.fr>".into()
            }),
            secure_cookies,
            session_idle_secs,
            session_max_secs,
            trusted_proxies,
            metrics_allow,
            totp_required_for_admins: mode == Mode::Serve,
            worker_poll_secs: 1,
            sms: sms_from_env(mode)?,
            quiet_hours: quiet_hours_from_env()?,
        })
    }

    pub fn is_demo(&self) -> bool {
        self.mode == Mode::Demo
    }
}
