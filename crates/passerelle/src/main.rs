//! `passerelle`: one binary for Mon Suivi Justice and Info Parquet. Thin: parse the command line and the
//! configuration, then hand over to the library crates.

mod backup;
mod demo;
mod demo_measures;
mod demo_msj;
mod demo_parquet;
mod imports;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use store::roles::{OrgKind, Role};
use store::{Actor, Db};
use web::{Config, Mode};

#[derive(Parser)]
#[command(
    name = "passerelle",
    version,
    about = "Passerelle — Mon Suivi Justice and Info Parquet (French Ministry of Justice)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run pending migrations, then serve HTTP and the background worker.
    Serve {
        /// Serve HTTP only (run `passerelle worker` elsewhere).
        #[arg(long)]
        no_worker: bool,
    },
    /// Run the background worker only (outbox dispatch, scheduled jobs).
    Worker,
    /// Create (idempotently) the demo data set, then serve like `serve`, with messages kept in a demo outbox.
    Demo {
        #[arg(long)]
        no_worker: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Import reference data; the whole file or nothing, bad rows reported by line.
    Import {
        #[command(subcommand)]
        what: ImportKind,
    },
    /// Back up a SQLite database and the attachments into a new directory, while the service runs (with
    /// PostgreSQL: explains pg_dump). The encryption key is not copied: back it up separately.
    Backup {
        /// A new (or empty) directory.
        dir: PathBuf,
    },
    /// Restore a backup made by `passerelle backup` (service stopped). Refuses to replace a database holding data
    /// without --force; what it replaces is kept aside, renamed `….avant-restauration-<date>`.
    Restore {
        dir: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// Attachments' encryption keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Manage agents' accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Subcommand)]
enum ImportKind {
    /// Communes (INSEE) from `@etalab/decoupage-administratif` (default: the list embedded in the binary).
    Communes { file: Option<PathBuf> },
    /// The Ministry's « juridictions compétentes pour les communes » CSV (`;`, UTF-8).
    Juridictions { file: PathBuf },
    /// The national NATINF table (offences): `;`-separated with a header line (UTF-8, or Latin-1 as exported).
    Natinf { file: PathBuf },
    /// PPSMJ records from an APPI export (CSV `;`, ISO-8859-1) into a SPIP or TJ; all or nothing.
    Appi {
        file: PathBuf,
        /// Organisation name or id (a SPIP or a TJ).
        #[arg(long)]
        organisation: String,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Re-encrypt every attachment still under an older key (PASSERELLE_ENCRYPTION_OLD_KEYS) with the current key
    /// (PASSERELLE_ENCRYPTION_KEY). Can run while the service runs; run it again after an interruption.
    Rotate,
}

#[derive(Subcommand)]
enum UserAction {
    /// Create an account. Without --password-stdin, prints a single-use activation link (valid 7 days).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        /// Role code, e.g. admin, cpip, bex, jap, local_admin, administration_agent, parquet_magistrate.
        #[arg(long)]
        role: String,
        /// Organisation name or id; defaults to the national administration for `admin`.
        #[arg(long)]
        organisation: Option<String>,
        /// Read the password from standard input instead of sending an activation link.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,hyper=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("erreur : {e:#}");
            ExitCode::FAILURE
        }
    };
    // After a forced stop, tasks still running are abandoned rather than awaited.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

/// SIGTERM (sent by systemd, Docker, Kubernetes and every PaaS to stop a process) and SIGINT (ctrl-c). The
/// handlers are installed at once, so a signal arriving before anybody waits is not lost.
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> Result<StopSignals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(StopSignals {
            term: signal(SignalKind::terminate()).context("signal SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("signal SIGINT")?,
        })
    }

    /// The name of the next signal received.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// Runs `work` until it ends or a stop signal arrives. At the signal, `stop` is set: `work` must then stop taking
/// new work (HTTP listener closed, no new outbox batch) and finish what it holds. It gets `grace` for that; the
/// exit code is 0 when it finished in time, 1 when the process had to give up on it (or a second signal came).
async fn run_until_signal(
    mut signals: StopSignals,
    work: tokio::task::JoinHandle<Result<()>>,
    stop: tokio::sync::watch::Sender<bool>,
    grace: std::time::Duration,
) -> Result<ExitCode> {
    let mut work = work;
    let signal = tokio::select! {
        done = &mut work => {
            // Ended on its own (an error, since serving and the worker loop run until stopped).
            let _ = stop.send(true);
            done.context("tâche interrompue")??;
            return Ok(ExitCode::SUCCESS);
        }
        signal = signals.next() => signal,
    };
    tracing::info!(
        signal,
        grace_secs = grace.as_secs(),
        "stopping: no new requests, finishing those in flight and the current outbox batch"
    );
    let _ = stop.send(true);
    tokio::select! {
        done = &mut work => {
            done.context("tâche interrompue")??;
            tracing::info!("stopped cleanly");
            Ok(ExitCode::SUCCESS)
        }
        _ = tokio::time::sleep(grace) => {
            eprintln!(
                "Arrêt forcé : le travail en cours n'était pas terminé après {} s (PASSERELLE_SHUTDOWN_SECS).",
                grace.as_secs()
            );
            Ok(ExitCode::FAILURE)
        }
        again = signals.next() => {
            eprintln!("Arrêt immédiat : second signal {again} reçu pendant l'arrêt.");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn open_db(config: &Config) -> Result<Db> {
    if config.database_url.expose().starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "impossible de créer le dossier de données {}",
                config.data_dir.display()
            )
        })?;
    }
    let db = Db::connect(config.database_url.expose())
        .await
        .with_context(|| {
            format!(
                "connexion à la base de données impossible ({})",
                store::redact_url(config.database_url.expose())
            )
        })?;
    let applied = db
        .migrate()
        .await
        .context("échec de la migration de la base de données : le service ne démarre pas")?;
    for m in applied {
        tracing::info!(migration = %m, "migration applied");
    }
    Ok(db)
}

/// `PASSERELLE_NOW` starts the service's clock at a chosen instant: honoured by `demo` only (demonstrations and
/// the browser tests, which must see the same calendar on any day they run); any other command refuses to start
/// with it, so a production process can never run on a shifted clock.
fn apply_clock(demo: bool) -> Result<()> {
    let Some(value) = std::env::var("PASSERELLE_NOW")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(());
    };
    if !demo {
        anyhow::bail!(
            "variable d'environnement PASSERELLE_NOW invalide : réservée à `passerelle demo` (démonstration et tests)"
        );
    }
    let instant = store::clock::parse_instant(&value).ok_or_else(|| {
        anyhow::anyhow!(
            "variable d'environnement PASSERELLE_NOW invalide : instant RFC 3339 attendu, par exemple 2026-12-01T10:00:00+01:00"
        )
    })?;
    store::clock::start_at(instant);
    tracing::warn!(now = %value, "demo clock started at a chosen instant (PASSERELLE_NOW)");
    Ok(())
}

async fn run(cli: Cli) -> Result<ExitCode> {
    apply_clock(matches!(cli.command, Command::Demo { .. }))?;
    match cli.command {
        Command::Serve { no_worker } => {
            let config = Config::from_env(Mode::Serve)?;
            let db = open_db(&config).await?;
            return serve(db, config, !no_worker).await;
        }
        Command::Demo { no_worker } => {
            let config = Config::from_env(Mode::Demo)?;
            let db = open_db(&config).await?;
            let orgs = demo::seed(&db).await?;
            load_demo_refdata(&db).await?;
            demo_msj::seed(&db, &orgs).await?;
            demo_parquet::seed(&db, &orgs).await?;
            demo_measures::seed_demo_measures(&db, store::now()).await?;
            return serve(db, config, !no_worker).await;
        }
        Command::Worker => {
            let config = Config::from_env(Mode::Serve)?;
            let grace = grace_from_env()?;
            let db = open_db(&config).await?;
            let signals = StopSignals::install()?;
            let (stop, rx) = tokio::sync::watch::channel(false);
            let work = tokio::spawn({
                let db = db.clone();
                async move { worker(db, config, rx).await }
            });
            let code = run_until_signal(signals, work, stop, grace).await?;
            if code == ExitCode::SUCCESS {
                db.close().await;
            }
            return Ok(code);
        }
        Command::Migrate => {
            let config = Config::from_env(Mode::Demo)?;
            open_db(&config).await?;
            println!("Base de données à jour.");
        }
        Command::Import { what } => {
            let config = Config::from_env(Mode::Demo)?;
            let db = open_db(&config).await?;
            return import(&db, what).await;
        }
        Command::Backup { dir } => {
            let config = Config::from_env(Mode::Demo)?;
            return backup::backup(&config, &dir).await;
        }
        Command::Restore { dir, force } => {
            let config = Config::from_env(Mode::Demo)?;
            return backup::restore(&config, &dir, force).await;
        }
        Command::Keys {
            action: KeysAction::Rotate,
        } => {
            let config = Config::from_env(Mode::Demo)?;
            return rotate_keys(&config).await;
        }
        Command::User { action } => {
            let config = Config::from_env(Mode::Demo)?;
            let db = open_db(&config).await?;
            user_command(&db, &config, action).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn grace_from_env() -> Result<std::time::Duration> {
    Ok(std::time::Duration::from_secs(
        web::config::shutdown_secs_from_env()?,
    ))
}

/// Serves HTTP (and the worker unless `--no-worker`) until SIGTERM or SIGINT, then stops gracefully: the listener
/// is closed at once, requests in flight and the current outbox batch get `PASSERELLE_SHUTDOWN_SECS` to finish.
async fn serve(db: Db, config: Config, with_worker: bool) -> Result<ExitCode> {
    let grace = grace_from_env()?;
    // Before the worker starts, so that the demo's key file is written once.
    let push = push_channel(&config)?;
    let signals = StopSignals::install()?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("impossible d'écouter sur {}", config.bind))?;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let worker_handle = with_worker.then(|| {
        let (db, config, rx) = (db.clone(), config.clone(), stop_rx.clone());
        tokio::spawn(async move {
            if let Err(e) = worker(db, config, rx).await {
                tracing::error!(error = %e, "worker stopped");
            }
        })
    });
    let url = config.public_url.clone();
    let mode = config.mode;
    let files = files::FileStore::from_env(&config.data_dir, config.is_demo())
        .context("stockage des pièces jointes")?;
    if !files.scanning() {
        tracing::warn!(
            "PASSERELLE_CLAMD not set: attachments are stored NOT scanned (demo mode only)"
        );
    }
    let mut state = web::AppState::new(db.clone(), config, Arc::new(files));
    if let Some(push) = &push {
        state = state.with_push_key(push.public_key());
    }
    let app = web::router(state);
    println!(
        "Passerelle écoute sur {url} ({}, base {})",
        if mode == Mode::Demo {
            "démonstration"
        } else {
            "production"
        },
        db.backend().as_str()
    );
    let mut http_stop = stop_rx;
    let work = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = http_stop.wait_for(|stopping| *stopping).await;
        })
        .await?;
        if let Some(h) = worker_handle {
            let _ = h.await;
        }
        Ok(())
    });
    let code = run_until_signal(signals, work, stop, grace).await?;
    if code == ExitCode::SUCCESS {
        // After a forced stop a request may still hold the connection: closing would wait for it.
        db.close().await;
    }
    Ok(code)
}

/// The channels messages leave through, from the configuration.
fn channels(config: &Config) -> Result<messaging::Channels> {
    let email = match &config.smtp_url {
        Some(url) => messaging::EmailChannel::smtp(url.expose(), &config.mail_from)
            .map_err(|e| anyhow::anyhow!("PASSERELLE_SMTP_URL invalide : {e}"))?,
        None => messaging::EmailChannel::demo(),
    };
    let sms: Box<dyn messaging::SmsProvider> = match &config.sms {
        web::config::SmsConfig::Demo => Box::new(messaging::DemoSms),
        web::config::SmsConfig::Brevo {
            base_url,
            api_key,
            sender,
            ..
        } => Box::new(messaging::Brevo::new(base_url, api_key.expose(), sender)),
        web::config::SmsConfig::LinkMobility {
            base_url,
            username,
            password,
            platform_id,
            platform_partner_id,
            sender,
            ..
        } => Box::new(messaging::LinkMobility::new(
            base_url,
            username,
            password.expose(),
            platform_id,
            platform_partner_id,
            sender,
        )),
    };
    let renderer = web::render::AppointmentRenderer {
        public_url: config.public_url.clone(),
    };
    let mut channels = messaging::Channels::new(email, sms).with_renderer(Box::new(renderer));
    if let Some(push) = push_channel(config)? {
        channels = channels.with_push(push);
    }
    Ok(channels)
}

/// The file of the demo's VAPID private key, in the data directory.
const VAPID_KEY_FILE: &str = "vapid.key";

/// Web Push: the VAPID private key of `PASSERELLE_VAPID_PRIVATE_KEY` (base64url, 32 bytes), else
/// `<data dir>/vapid.key`, which `demo` generates. Without either, push is simply not offered.
fn vapid_private_key(config: &Config) -> Result<Option<String>> {
    if let Ok(v) = std::env::var("PASSERELLE_VAPID_PRIVATE_KEY") {
        if !v.trim().is_empty() {
            return Ok(Some(v.trim().to_string()));
        }
    }
    let path = config.data_dir.join(VAPID_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) => return Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("lecture de {}", path.display())),
    }
    if !config.is_demo() {
        return Ok(None);
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("création de {}", config.data_dir.display()))?;
    let key = messaging::generate_vapid_private_key();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(&path) {
        Ok(mut f) => {
            use std::io::Write;
            writeln!(f, "{key}").with_context(|| format!("écriture de {}", path.display()))?;
            Ok(Some(key))
        }
        // Another process of the demo wrote it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Some(
            std::fs::read_to_string(&path)
                .with_context(|| format!("lecture de {}", path.display()))?
                .trim()
                .to_string(),
        )),
        Err(e) => Err(e).with_context(|| format!("écriture de {}", path.display())),
    }
}

/// The push channel when a VAPID key is configured. Its contact (`sub` claim) is `PASSERELLE_VAPID_SUBJECT`, else
/// the sender address of the e-mails.
fn push_channel(config: &Config) -> Result<Option<messaging::PushChannel>> {
    let Some(key) = vapid_private_key(config)? else {
        return Ok(None);
    };
    let subject = std::env::var("PASSERELLE_VAPID_SUBJECT").unwrap_or_else(|_| {
        let from = config.mail_from.as_str();
        let address = from
            .rsplit_once('<')
            .map_or(from, |(_, a)| a.trim_end_matches('>'));
        format!("mailto:{}", address.trim())
    });
    messaging::PushChannel::new(&key, &subject)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("PASSERELLE_VAPID_PRIVATE_KEY ou {VAPID_KEY_FILE} : {e}"))
}

/// Days without a status change after which a referral is chased (90 days, docs/DOMAIN.md#deadline-reminders).
const REFERRAL_REMINDER_DAYS: i64 = 90;

/// Background work: the outbox dispatcher, and the daily jobs (slot generation, divestment auto-acceptance,
/// retention, referral deadlines) — at start, then every 24 hours. Every job is idempotent, so several worker
/// processes may run them.
async fn worker(
    db: Db,
    config: Config,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let ch = std::sync::Arc::new(channels(&config)?);
    let poll = std::time::Duration::from_secs(config.worker_poll_secs);
    let dispatcher = tokio::spawn(messaging::run_worker(
        db.clone(),
        ch,
        poll,
        shutdown.clone(),
    ));
    let mut stop = shutdown;
    loop {
        let report = web::jobs::run_nightly(&db).await;
        tracing::info!(?report, "daily jobs run");
        match store::parquet::reminders::run_deadline_reminders(
            &db,
            store::now(),
            REFERRAL_REMINDER_DAYS,
        )
        .await
        {
            Ok(n) => tracing::info!(reminders = n, "referral deadline reminders"),
            Err(e) => tracing::error!(error = %e, "referral deadline reminders failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(24 * 3600)) => {}
            _ = stop.changed() => break,
        }
    }
    let _ = dispatcher.await;
    Ok(())
}

fn progress(len: usize, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}")
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

fn report(errors: &[imports::RowError]) -> ExitCode {
    eprintln!(
        "Import refusé : {} erreur(s). Aucune ligne n'a été importée.",
        errors.len()
    );
    for e in errors.iter().take(200) {
        eprintln!("  {e}");
    }
    if errors.len() > 200 {
        eprintln!("  … et {} autres erreurs", errors.len() - 200);
    }
    ExitCode::FAILURE
}

async fn import(db: &Db, what: ImportKind) -> Result<ExitCode> {
    let actor = Actor::system("passerelle import");
    match what {
        ImportKind::Communes { file } => {
            // Without a file: the list embedded in the binary at build time.
            let bytes = match file {
                Some(path) => std::fs::read(&path)
                    .with_context(|| format!("lecture de {}", path.display()))?,
                None => imports::embedded_communes_json(),
            };
            let rows = match imports::parse_communes_json(&bytes) {
                Ok(r) => r,
                Err(errors) => return Ok(report(&errors)),
            };
            let pb = progress(rows.len(), "Communes");
            let n = store::refdata::upsert_communes(db, &actor, &rows, &|done| {
                pb.set_position(done as u64)
            })
            .await?;
            pb.finish_and_clear();
            println!("{n} communes importées.");
        }
        ImportKind::Juridictions { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("lecture de {}", file.display()))?;
            let rows = match imports::parse_juridictions(&bytes) {
                Ok(r) => r,
                Err(errors) => return Ok(report(&errors)),
            };
            let pb = progress(rows.len(), "Juridictions");
            let source = file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let n = store::refdata::replace_juridictions(db, &actor, &rows, &source, &|d| {
                pb.set_position(d as u64)
            })
            .await?;
            pb.finish_and_clear();
            println!("{n} communes rattachées à leurs juridictions.");
        }
        ImportKind::Natinf { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("lecture de {}", file.display()))?;
            let rows = match store::parquet::natinf::parse_csv(&decode_text(&bytes)) {
                Ok(r) => r,
                Err(errors) => {
                    eprintln!(
                        "Import refusé : {} erreur(s). Aucune ligne n'a été importée.",
                        errors.len()
                    );
                    for e in errors.iter().take(200) {
                        eprintln!("  {e}");
                    }
                    if errors.len() > 200 {
                        eprintln!("  … et {} autres erreurs", errors.len() - 200);
                    }
                    return Ok(ExitCode::FAILURE);
                }
            };
            // One transaction for the whole table (all or nothing); the bar follows the batches sent.
            let pb = progress(rows.len(), "NATINF");
            let mut n = 0;
            for chunk in rows.chunks(rows.len().max(1)) {
                n += store::parquet::natinf::import(db, &actor, chunk).await?;
                pb.set_position(n as u64);
            }
            pb.finish_and_clear();
            println!("{n} infraction(s) NATINF importée(s).");
        }
        ImportKind::Appi { file, organisation } => {
            return import_appi(db, &file, &organisation).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// UTF-8 text (a BOM is dropped), or Windows-1252 when the file is not valid UTF-8 (spreadsheet exports).
fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// `passerelle import appi`: the same all-or-nothing import and row report as the web page.
async fn import_appi(db: &Db, file: &Path, organisation: &str) -> Result<ExitCode> {
    use store::msj::appi_import::{self, ImportError};
    let bytes = std::fs::read(file).with_context(|| format!("lecture de {}", file.display()))?;
    let all = store::orgs::list(db, &store::Scope::system("cli")).await?;
    let org = all
        .into_iter()
        .find(|x| x.id == organisation || x.name == organisation)
        .ok_or_else(|| anyhow::anyhow!("organisation introuvable : « {organisation} »"))?;
    if !matches!(org.kind, OrgKind::Spip | OrgKind::Tj) {
        bail!(
            "« {} » n'est ni un SPIP ni un tribunal judiciaire",
            org.name
        );
    }
    let scope = store::Scope::system("passerelle import appi");
    match appi_import::import_appi_file(db, &scope, &org.id, &bytes, store::now()).await {
        Ok(r) => {
            println!(
                "Import terminé dans « {} » : {} dossier(s) créé(s), {} déjà présent(s), {} doublon(s) possible(s) à vérifier.",
                org.name,
                r.imported,
                r.already_present,
                r.possible_duplicates.len()
            );
            for (line, id) in &r.possible_duplicates {
                println!("  ligne {line} : ressemble au dossier existant {id}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportError::Rows(errors)) => {
            eprintln!(
                "Import refusé : {} ligne(s) refusée(s). Aucune ligne n'a été importée.",
                errors.len()
            );
            for e in errors.iter().take(200) {
                eprintln!("  ligne {} : {}", e.line, e.message);
            }
            if errors.len() > 200 {
                eprintln!("  … et {} autres erreurs", errors.len() - 200);
            }
            Ok(ExitCode::FAILURE)
        }
        Err(ImportError::Other(e)) => Err(anyhow::anyhow!("{e}")),
    }
}

/// `passerelle keys rotate`: every object still under an older master key is encrypted again under the current one.
async fn rotate_keys(config: &Config) -> Result<ExitCode> {
    let key_set = std::env::var(files::crypto::KEY_ENV).is_ok_and(|v| !v.trim().is_empty());
    if !key_set && !config.data_dir.join(files::crypto::KEY_FILE).is_file() {
        bail!(
            "aucune clé de chiffrement : définissez {} (la nouvelle clé) et {} (les anciennes)",
            files::crypto::KEY_ENV,
            files::crypto::OLD_KEYS_ENV
        );
    }
    let store = files::FileStore::from_env(&config.data_dir, true)
        .context("stockage des pièces jointes")?;
    let keys = store.keys().await?;
    let pb = progress(keys.len(), "Rechiffrement");
    let (mut rewritten, mut current, mut failed) = (0usize, 0usize, Vec::new());
    for (i, key) in keys.iter().enumerate() {
        match store.reencrypt(key).await {
            Ok(true) => rewritten += 1,
            Ok(false) => current += 1,
            Err(e) => failed.push((key, e)),
        }
        pb.set_position(i as u64 + 1);
    }
    pb.finish_and_clear();
    println!(
        "{rewritten} pièce(s) jointe(s) rechiffrée(s) avec la clé actuelle (identifiant {}), {current} déjà à jour.",
        store.current_key_id()
    );
    if failed.is_empty() {
        println!(
            "Toutes les pièces jointes utilisent la clé actuelle. Gardez les anciennes clés dans {} : les secrets de double authentification enregistrés avant la rotation et les sauvegardes en ont encore besoin.",
            files::crypto::OLD_KEYS_ENV
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{} pièce(s) jointe(s) non rechiffrée(s) :", failed.len());
    for (key, e) in failed.iter().take(200) {
        eprintln!("  {key} : {e}");
    }
    if failed
        .iter()
        .any(|(_, e)| matches!(e, files::FileError::Crypto(files::CryptoError::UnknownKey)))
    {
        eprintln!(
            "Une clé inconnue signifie que l'ancienne clé manque : ajoutez-la à {}, puis relancez la commande.",
            files::crypto::OLD_KEYS_ENV
        );
    }
    Ok(ExitCode::FAILURE)
}

/// The demo needs the Hauts-de-Seine sample of the jurisdictions table and the communes list (embedded).
async fn load_demo_refdata(db: &Db) -> Result<()> {
    use store::refdata::{count, RefTable};
    let actor = Actor::system("demo");
    if count(db, RefTable::Juridictions).await? == 0 {
        let rows = imports::parse_juridictions(include_bytes!(
            "../../../data/juridictions-92-echantillon.csv"
        ))
        .map_err(|e| anyhow::anyhow!("échantillon de juridictions invalide : {}", e[0]))?;
        store::refdata::replace_juridictions(
            db,
            &actor,
            &rows,
            "juridictions-92-echantillon.csv",
            &|_| {},
        )
        .await?;
    }
    if count(db, RefTable::Communes).await? == 0 {
        let rows = imports::parse_communes_json(&imports::embedded_communes_json())
            .map_err(|e| anyhow::anyhow!("liste des communes embarquée invalide : {}", e[0]))?;
        store::refdata::upsert_communes(db, &actor, &rows, &|_| {}).await?;
    }
    Ok(())
}

async fn user_command(db: &Db, config: &Config, action: UserAction) -> Result<()> {
    let UserAction::Create {
        email,
        first_name,
        last_name,
        role,
        organisation,
        password_stdin,
    } = action;
    let role: Role = role.parse().map_err(|_| {
        anyhow::anyhow!(
            "rôle inconnu « {role} » ; rôles : {}",
            Role::ALL
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let email = domain::Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let actor = Actor::system("passerelle user create");
    let org = match organisation {
        Some(o) => {
            let all = store::orgs::list(db, &store::Scope::system("cli")).await?;
            all.into_iter()
                .find(|x| x.id == o || x.name == o)
                .ok_or_else(|| anyhow::anyhow!("organisation introuvable : « {o} »"))?
        }
        None if role == Role::Admin => {
            let name = "Ministère de la Justice — administration nationale";
            match store::orgs::find_by_name(db, OrgKind::National, name).await? {
                Some(o) => o,
                None => {
                    store::orgs::create(
                        db,
                        &actor,
                        &store::orgs::NewOrganisation {
                            kind: OrgKind::National,
                            name: name.into(),
                            parent_id: None,
                            departement: None,
                            time_zone: "Europe/Paris".into(),
                            address: None,
                            phone: None,
                            email: None,
                        },
                    )
                    .await?
                }
            }
        }
        None => bail!("--organisation est obligatoire pour ce rôle"),
    };
    if !role.allowed_org_kinds().contains(&org.kind) {
        bail!(
            "le rôle {} n'existe pas dans une organisation de type {}",
            role.as_str(),
            org.kind.label()
        );
    }
    let password_hash = if password_stdin {
        let mut pw = String::new();
        std::io::stdin().read_to_string(&mut pw)?;
        let pw = pw.trim_end_matches(['\n', '\r']).to_string();
        web::password::check_policy(&pw, &pw).map_err(|e| anyhow::anyhow!(e))?;
        Some(web::password::hash(&pw))
    } else {
        None
    };
    let has_password = password_hash.is_some();
    let user = store::users::create(
        db,
        &actor,
        &store::users::NewUser {
            email: email.as_str().to_string(),
            first_name,
            last_name,
            role,
            organisation_id: org.id.clone(),
            password_hash,
        },
    )
    .await
    .map_err(|e| match e {
        store::StoreError::Conflict(_) => {
            anyhow::anyhow!("un compte existe déjà avec cette adresse e-mail")
        }
        e => e.into(),
    })?;
    if has_password {
        println!(
            "Compte créé : {} ({}, {}).",
            user.email,
            role.label(),
            org.name
        );
    } else {
        let token =
            store::sessions::create_user_token(db, &user.id, "invite", 7 * 24 * 3600, store::now())
                .await?;
        println!(
            "Compte créé : {}. Lien d'activation (valable 7 jours, à usage unique) :\n{}/mot-de-passe/nouveau?jeton={token}",
            user.email, config.public_url
        );
    }
    Ok(())
}
