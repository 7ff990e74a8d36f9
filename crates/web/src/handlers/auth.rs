//! Agents' login: password (argon2id), lockout, second factor (TOTP + recovery codes), logout, password reset and
//! invitation links.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use store::outbox::{self, NewMessage};
use store::roles::Role;
use store::sessions::{self, Stage};
use store::users::{self, User};
use store::{audit, ratelimit, Actor};

use super::page;
use crate::error::{AppError, AppResult};
use crate::session::{open_session, Auth, Ctx, SESSION_COOKIE};
use crate::views::*;
use crate::{password, totp, AppState};

const GENERIC_LOGIN_ERROR: &str = "Adresse e-mail ou mot de passe incorrect.";
/// Shown only to whoever gave the right password (a stranger gets the generic answer).
pub const ORGANISATION_INACTIVE_ERROR: &str = "Votre service a été désactivé : vous ne pouvez plus vous connecter à Passerelle. Si vous pensez qu'il s'agit d'une erreur, adressez-vous à votre responsable ou à l'administrateur national d'Info Parquet.";
const LOCKED_ERROR: &str =
    "Votre compte est verrouillé pendant 15 minutes après 10 tentatives infructueuses. \
    Réessayez plus tard ou choisissez un nouveau mot de passe avec « Mot de passe oublié ».";
const RESET_VALID_SECS: i64 = 3600;
pub const INVITE_VALID_SECS: i64 = 7 * 24 * 3600;

/// The demo accounts listed on the login page in demo mode (DESIGN.md section 2).
pub const DEMO_ACCOUNTS: &[(&str, &str)] = &[
    ("admin@demo.passerelle.fr", "administrateur national"),
    ("cpip@demo.passerelle.fr", "CPIP, SPIP 92"),
    (
        "greffe-bex@demo.passerelle.fr",
        "greffe du BEX, TJ de Nanterre",
    ),
    ("jap@demo.passerelle.fr", "JAP, TJ de Nanterre"),
    (
        "agent@demo-inspection.passerelle.fr",
        "agent d'une administration",
    ),
    ("parquet@demo.passerelle.fr", "parquet de Nanterre"),
];

fn actor_for(user: &User, ctx: &Ctx) -> Actor {
    Actor {
        user_id: Some(user.id.clone()),
        label: user.email.clone(),
        role: Some(user.role),
        organisation_id: Some(user.organisation_id.clone()),
        ip: ctx.ip.clone(),
    }
}

/// Only local paths are followed after login (no open redirect). The value must be printable ASCII starting with a
/// single '/', and, once percent-decoded, still start with a single '/' and hold no backslash, control character or
/// whitespace (browsers drop tabs and newlines from URLs, so `/%09/example.org` would become `//example.org`).
pub fn safe_next(next: &str) -> Option<&str> {
    fn local(p: &[u8]) -> bool {
        p.first() == Some(&b'/') && p.get(1) != Some(&b'/')
    }
    if next.len() >= 512 || !next.bytes().all(|b| b.is_ascii_graphic()) || !local(next.as_bytes()) {
        return None;
    }
    let decoded = percent_decode(next.as_bytes());
    let clean = decoded
        .iter()
        .all(|b| *b != b'\\' && !b.is_ascii_control() && !b.is_ascii_whitespace() && *b != 0x7f);
    // A path without authority: `http::Uri` must read it as path and query only.
    let parses = next
        .parse::<axum::http::Uri>()
        .is_ok_and(|u| u.scheme().is_none() && u.authority().is_none());
    (clean && local(&decoded) && parses).then_some(next)
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match (
            s[i],
            s.get(i + 1).copied().and_then(hex),
            s.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Tells the owner of an account that it has just been locked (the login page does not say it, so that it reveals
/// nothing about which addresses have an account).
async fn notify_lock(st: &AppState, user: &User, actor: &Actor, now: i64) -> AppResult<()> {
    let body = format!(
        "Bonjour {},\n\nÀ la suite de 10 tentatives de connexion infructueuses, votre compte Passerelle est verrouillé \
         pendant 15 minutes.\n\nSi c'était vous, patientez puis réessayez, ou choisissez un nouveau mot de passe avec \
         « Mot de passe oublié » :\n{}/mot-de-passe-oublie\n\nSi ce n'était pas vous, quelqu'un essaie peut-être \
         d'accéder à votre compte : prévenez l'administrateur local de votre service.\n\n— Passerelle, ministère de la \
         Justice",
        user.first_name, st.config.public_url
    );
    let mut tx = st.db.begin().await?;
    outbox::enqueue(
        &mut *tx,
        &NewMessage {
            channel: "email".into(),
            kind: "account_locked".into(),
            organisation_id: Some(user.organisation_id.clone()),
            recipient: user.email.clone(),
            subject: Some("Passerelle — votre compte est verrouillé pendant 15 minutes".into()),
            body,
            due_at: now,
            related_type: Some("user".into()),
            related_id: Some(user.id.clone()),
        },
    )
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "auth.account_locked",
        "user",
        Some(&user.id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    suivant: String,
    #[serde(default)]
    message: String,
}

fn login_page(ctx: &Ctx, email: &str, error: Option<String>, next: &str) -> LoginPage {
    LoginPage {
        ctx: PageCtx::new(ctx, "Connexion"),
        email: email.to_string(),
        error,
        next: next.to_string(),
        demo_accounts: if ctx.demo {
            DEMO_ACCOUNTS.to_vec()
        } else {
            vec![]
        },
    }
}

pub async fn login_form(ctx: Ctx, Query(q): Query<LoginQuery>) -> AppResult<Response> {
    if ctx
        .current
        .as_ref()
        .is_some_and(|c| c.session.stage == Stage::Full)
    {
        return Ok(Redirect::to("/accueil").into_response());
    }
    let mut p = login_page(&ctx, "", None, &q.suivant);
    p.ctx = match q.message.as_str() {
        "deconnecte" => p.ctx.with_notice("info", "Vous êtes déconnecté."),
        "mot-de-passe-enregistre" => p.ctx.with_notice(
            "success",
            "Votre mot de passe est enregistré. Vous pouvez vous connecter.",
        ),
        _ => p.ctx,
    };
    page(p)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    suivant: String,
}

pub async fn login(
    ctx: Ctx,
    State(st): State<AppState>,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    let now = store::now();
    let email = f.email.trim().to_lowercase();
    let ip = ctx.ip.clone().unwrap_or_else(|| "local".into());
    // Per-address limit against password spraying; the per-account lockout handles guessing on one account.
    if !ratelimit::hit(&st.db, &format!("login:ip:{ip}"), 600, 100, now).await? {
        return Err(AppError::TooManyRequests);
    }
    if email.is_empty() || f.password.is_empty() {
        let err = "Saisissez votre adresse e-mail et votre mot de passe.".to_string();
        return page(login_page(&ctx, &email, Some(err), &f.suivant));
    }
    let user = users::find_by_email(&st.db, &email).await?;
    let Some(user) = user.filter(|u| u.active && u.password_hash.is_some()) else {
        password::verify_dummy_bounded(&f.password).await?;
        return page(login_page(
            &ctx,
            &email,
            Some(GENERIC_LOGIN_ERROR.into()),
            &f.suivant,
        ));
    };
    let actor = actor_for(&user, &ctx);
    // The attempt is counted before the password is checked (atomic, refused when locked): parallel guesses
    // cannot slip past the lock check.
    let attempt = users::claim_attempt(&st.db, &user.id, now).await?;
    let users::Attempt::Counted { locks, .. } = attempt else {
        // Same work as a real check, so that timing says nothing either.
        password::verify_dummy_bounded(&f.password).await?;
        audit::record(
            st.db.pool(),
            &actor,
            "auth.login_refused_locked",
            "user",
            Some(&user.id),
            None,
        )
        .await?;
        // The same answer as a wrong password or an unknown address: the page never tells whether an account
        // exists or is locked (its owner is told by e-mail when the lock starts).
        return page(login_page(
            &ctx,
            &email,
            Some(GENERIC_LOGIN_ERROR.into()),
            &f.suivant,
        ));
    };
    let hash = user.password_hash.clone().unwrap_or_default();
    let ok = match password::verify_bounded(&f.password, &hash).await {
        Ok(ok) => ok,
        Err(busy) => {
            // Not checked: not counted.
            users::release_attempt(&st.db, &user.id).await?;
            return Err(busy.into());
        }
    };
    if !ok {
        audit::record(
            st.db.pool(),
            &actor,
            "auth.login_failed",
            "user",
            Some(&user.id),
            None,
        )
        .await?;
        if locks {
            notify_lock(&st, &user, &actor, now).await?;
        }
        return page(login_page(
            &ctx,
            &email,
            Some(GENERIC_LOGIN_ERROR.into()),
            &f.suivant,
        ));
    }
    // Only after the right password: the page may then say why, without telling a stranger anything.
    if !store::orgs::is_operational(&st.db, &user.organisation_id).await? {
        users::release_attempt(&st.db, &user.id).await?;
        audit::record(
            st.db.pool(),
            &actor,
            "auth.login_refused_organisation_inactive",
            "user",
            Some(&user.id),
            None,
        )
        .await?;
        return page(login_page(
            &ctx,
            &email,
            Some(ORGANISATION_INACTIVE_ERROR.into()),
            &f.suivant,
        ));
    }
    if user.totp_enabled {
        // The failure count is not reset before the second factor: wrong codes keep adding up to the lockout.
        users::release_attempt(&st.db, &user.id).await?;
    } else {
        users::record_login_success(&st.db, &user.id, now).await?;
    }
    let stage = if user.totp_enabled {
        Stage::Totp
    } else if user.role == Role::Admin && st.config.totp_required_for_admins {
        Stage::TotpSetup
    } else {
        Stage::Full
    };
    audit::record(
        st.db.pool(),
        &actor,
        "auth.login_password_ok",
        "user",
        Some(&user.id),
        Some(serde_json::json!({ "next_step": stage.as_str() })),
    )
    .await?;
    let cookie = open_session(&st, &ctx, &user.id, stage).await?;
    let target = match stage {
        Stage::Totp => "/connexion/totp".to_string(),
        Stage::TotpSetup => "/compte/double-authentification".to_string(),
        Stage::Full => safe_next(&f.suivant).unwrap_or("/accueil").to_string(),
    };
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&target)).into_response())
}

pub async fn totp_form(ctx: Ctx) -> AppResult<Response> {
    match &ctx.current {
        Some(c) if c.session.stage == Stage::Totp => page(TotpPage {
            ctx: PageCtx::new(&ctx, "Double authentification"),
            error: None,
        }),
        Some(_) => Ok(Redirect::to("/accueil").into_response()),
        None => Ok(Redirect::to("/connexion").into_response()),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn totp_submit(
    ctx: Ctx,
    State(st): State<AppState>,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let Some(cu) = ctx
        .current
        .clone()
        .filter(|c| c.session.stage == Stage::Totp)
    else {
        return Ok(Redirect::to("/connexion").into_response());
    };
    let now = store::now();
    let user = &cu.user;
    let actor = actor_for(user, &ctx);
    let err = |msg: &str| {
        page(TotpPage {
            ctx: PageCtx::new(&ctx, "Double authentification"),
            error: Some(msg.to_string()),
        })
    };
    // The code step has limits of its own besides the lockout (per account and per address).
    let ip = ctx.ip.clone().unwrap_or_else(|| "local".into());
    if !ratelimit::hit(&st.db, &format!("totp:user:{}", user.id), 600, 20, now).await?
        || !ratelimit::hit(&st.db, &format!("totp:ip:{ip}"), 600, 100, now).await?
    {
        return Err(AppError::TooManyRequests);
    }
    // Every code checked counts towards the lockout until it proves right (atomic, refused when locked).
    let users::Attempt::Counted { locks, .. } = users::claim_attempt(&st.db, &user.id, now).await?
    else {
        sessions::delete(&st.db, &cu.token).await?;
        return err(LOCKED_ERROR);
    };
    let code = f.code.trim();
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let ok = if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
        match user
            .totp_secret
            .as_deref()
            .and_then(|s| totp::open(st.files.keyring(), &user.id, s))
            .and_then(|s| totp::matching_step(&s, &digits, now as u64))
        {
            // A code already used (here or in another session) is refused.
            Some(step) => users::accept_totp_step(&st.db, &user.id, step).await?,
            None => false,
        }
    } else {
        let normalised = totp::normalise_recovery_code(code);
        !normalised.is_empty()
            && users::use_recovery_code(&st.db, &user.id, &store::sha256_hex(&normalised)).await?
    };
    if !ok {
        audit::record(
            st.db.pool(),
            &actor,
            "auth.totp_failed",
            "user",
            Some(&user.id),
            None,
        )
        .await?;
        if locks {
            notify_lock(&st, user, &actor, now).await?;
            sessions::delete(&st.db, &cu.token).await?;
            return err(LOCKED_ERROR);
        }
        return err("Code incorrect ou expiré. Vérifiez l'heure de votre téléphone et réessayez.");
    }
    users::record_login_success(&st.db, &user.id, now).await?;
    audit::record(
        st.db.pool(),
        &actor,
        "auth.login",
        "user",
        Some(&user.id),
        None,
    )
    .await?;
    let cookie = open_session(&st, &ctx, &user.id, Stage::Full).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/accueil")).into_response())
}

pub async fn logout(ctx: Ctx, State(st): State<AppState>) -> AppResult<Response> {
    if let Some(cu) = &ctx.current {
        sessions::delete(&st.db, &cu.token).await?;
        audit::record(
            st.db.pool(),
            &actor_for(&cu.user, &ctx),
            "auth.logout",
            "user",
            Some(&cu.user.id),
            None,
        )
        .await?;
    }
    Ok((
        [(header::SET_COOKIE, ctx.expired_cookie(SESSION_COOKIE))],
        Redirect::to("/connexion?message=deconnecte"),
    )
        .into_response())
}

pub async fn forgot_form(ctx: Ctx) -> AppResult<Response> {
    page(ForgotPage {
        ctx: PageCtx::new(&ctx, "Mot de passe oublié"),
        sent: false,
        error: None,
    })
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot_submit(
    ctx: Ctx,
    State(st): State<AppState>,
    Form(f): Form<EmailForm>,
) -> AppResult<Response> {
    let now = store::now();
    let ip = ctx.ip.clone().unwrap_or_else(|| "local".into());
    if !ratelimit::hit(&st.db, &format!("reset:ip:{ip}"), 3600, 20, now).await? {
        return Err(AppError::TooManyRequests);
    }
    let email = match domain::Email::parse(&f.email) {
        Ok(e) => e,
        Err(e) => {
            return page(ForgotPage {
                ctx: PageCtx::new(&ctx, "Mot de passe oublié"),
                sent: false,
                error: Some(e.to_string()),
            })
        }
    };
    // Same answer whether the account exists or not; at most 3 links an hour per account.
    if let Some(user) = users::find_by_email(&st.db, email.as_str())
        .await?
        .filter(|u| u.active)
    {
        if ratelimit::hit(&st.db, &format!("reset:user:{}", user.id), 3600, 3, now).await? {
            let token =
                sessions::create_user_token(&st.db, &user.id, "reset", RESET_VALID_SECS, now)
                    .await?;
            let link = format!(
                "{}/mot-de-passe/nouveau?jeton={token}",
                st.config.public_url
            );
            let body = format!(
                "Bonjour {},\n\nUne demande de réinitialisation du mot de passe de votre compte Passerelle a été faite.\n\n\
                 Pour choisir un nouveau mot de passe, ouvrez ce lien (valable une heure, utilisable une seule fois) :\n{}\n\n\
                 Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe actuel reste valable.\n\n\
                 — Passerelle, ministère de la Justice",
                user.first_name,
                outbox::LINK_PLACEHOLDER
            );
            let mut tx = st.db.begin().await?;
            // The link is kept out of the stored text (failure pages, lists): only the recipient gets it.
            outbox::enqueue_with_secret(
                &mut *tx,
                &NewMessage {
                    channel: "email".into(),
                    kind: "password_reset".into(),
                    organisation_id: Some(user.organisation_id.clone()),
                    recipient: user.email.clone(),
                    subject: Some("Passerelle — réinitialisation de votre mot de passe".into()),
                    body,
                    due_at: now,
                    related_type: Some("user".into()),
                    related_id: Some(user.id.clone()),
                },
                Some(&link),
            )
            .await?;
            audit::record(
                &mut *tx,
                &actor_for(&user, &ctx),
                "auth.password_reset_requested",
                "user",
                Some(&user.id),
                None,
            )
            .await?;
            tx.commit().await?;
        }
    }
    page(ForgotPage {
        ctx: PageCtx::new(&ctx, "Mot de passe oublié"),
        sent: true,
        error: None,
    })
}

#[derive(Deserialize, Default)]
pub struct TokenQuery {
    #[serde(default)]
    jeton: String,
}

async fn token_purpose(
    st: &AppState,
    token: &str,
    now: i64,
) -> AppResult<Option<(&'static str, String)>> {
    for purpose in ["reset", "invite"] {
        if let Some(uid) = sessions::peek_user_token(&st.db, token, purpose, now).await? {
            return Ok(Some((purpose, uid)));
        }
    }
    Ok(None)
}

pub async fn reset_form(
    ctx: Ctx,
    State(st): State<AppState>,
    Query(q): Query<TokenQuery>,
) -> AppResult<Response> {
    let found = token_purpose(&st, &q.jeton, store::now()).await?;
    let invitation = matches!(found, Some(("invite", _)));
    page(ResetPage {
        ctx: PageCtx::new(
            &ctx,
            if invitation {
                "Activer votre compte"
            } else {
                "Nouveau mot de passe"
            },
        ),
        token: q.jeton,
        valid: found.is_some(),
        error: None,
        invitation,
    })
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    jeton: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
}

pub async fn reset_submit(
    ctx: Ctx,
    State(st): State<AppState>,
    Form(f): Form<ResetForm>,
) -> AppResult<Response> {
    let now = store::now();
    let Some((purpose, _)) = token_purpose(&st, &f.jeton, now).await? else {
        return page(ResetPage {
            ctx: PageCtx::new(&ctx, "Nouveau mot de passe"),
            token: String::new(),
            valid: false,
            error: None,
            invitation: false,
        });
    };
    if let Err(msg) = password::check_policy(&f.password, &f.confirmation) {
        return page(ResetPage {
            ctx: PageCtx::new(&ctx, "Nouveau mot de passe"),
            token: f.jeton,
            valid: true,
            error: Some(msg.to_string()),
            invitation: purpose == "invite",
        });
    }
    // Hashed before the link is consumed, so that a busy server (503) leaves the link usable.
    let hash = password::hash_bounded(&f.password).await?;
    let Some(user_id) = sessions::consume_user_token(&st.db, &f.jeton, purpose, now).await? else {
        return Ok(Redirect::to("/mot-de-passe/nouveau").into_response());
    };
    let user = users::get_unscoped(&st.db, &user_id).await?;
    users::set_password(&st.db, &actor_for(&user, &ctx), &user_id, &hash).await?;
    // A new password ends every open session of the account.
    sessions::delete_for_user(&st.db, &user_id).await?;
    Ok(Redirect::to("/connexion?message=mot-de-passe-enregistre").into_response())
}

pub async fn account(auth: Auth) -> AppResult<Response> {
    let u = auth.user();
    page(AccountPage {
        ctx: PageCtx::new(&auth.1, "Mon compte"),
        name: u.display_name(),
        email: u.email.clone(),
        role: u.role.label(),
        organisation: u.organisation_name.clone(),
        totp_enabled: u.totp_enabled,
        last_login: u
            .last_login_at
            .map(datetime_fr)
            .unwrap_or_else(|| "—".into()),
    })
}

fn qr_data_uri(text: &str) -> String {
    use base64::Engine;
    let svg = qrcode::QrCode::new(text.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

fn setup_page(
    ctx: &Ctx,
    user: &User,
    secret: String,
    error: Option<String>,
    mandatory: bool,
) -> TotpSetupPage {
    let otpauth = totp::otpauth_url(&secret, &user.email).unwrap_or_default();
    TotpSetupPage {
        ctx: PageCtx::new(ctx, "Double authentification"),
        qr_svg_data_uri: qr_data_uri(&otpauth),
        otpauth,
        secret,
        error,
        mandatory,
        ask_password: !mandatory,
        ask_current_code: user.totp_enabled,
        recovery_codes: vec![],
    }
}

/// Shows a new secret, generated here and kept (encrypted) in the session row until it is confirmed: the secret
/// enrolled is always the server's, never one sent by the browser.
async fn new_setup_page(
    st: &AppState,
    ctx: &Ctx,
    cu: &crate::session::CurrentUser,
    error: Option<String>,
) -> AppResult<Response> {
    let secret = totp::new_secret();
    let sealed = totp::seal(st.files.keyring(), &cu.user.id, &secret);
    sessions::set_pending_totp_secret(&st.db, &cu.token, Some(&sealed)).await?;
    page(setup_page(
        ctx,
        &cu.user,
        secret,
        error,
        cu.session.stage == Stage::TotpSetup,
    ))
}

pub async fn totp_setup_form(ctx: Ctx, State(st): State<AppState>) -> AppResult<Response> {
    let Some(cu) = ctx.current.clone() else {
        return Ok(Redirect::to("/connexion").into_response());
    };
    match cu.session.stage {
        Stage::Totp => Ok(Redirect::to("/connexion/totp").into_response()),
        _ => new_setup_page(&st, &ctx, &cu, None).await,
    }
}

#[derive(Deserialize)]
pub struct TotpSetupForm {
    #[serde(default)]
    code: String,
    /// The current password (asked from a full session).
    #[serde(default)]
    password: String,
    /// The code of the second factor already enrolled (when re-enrolling).
    #[serde(default)]
    code_actuel: String,
}

pub async fn totp_setup_submit(
    ctx: Ctx,
    State(st): State<AppState>,
    Form(f): Form<TotpSetupForm>,
) -> AppResult<Response> {
    let Some(cu) = ctx
        .current
        .clone()
        .filter(|c| c.session.stage != Stage::Totp)
    else {
        return Ok(Redirect::to("/connexion").into_response());
    };
    let now = store::now();
    let user = &cu.user;
    let actor = actor_for(user, &ctx);
    let keyring = st.files.keyring();
    let mandatory = cu.session.stage == Stage::TotpSetup;
    let pending = cu
        .session
        .pending_totp_secret
        .as_deref()
        .and_then(|s| totp::open(keyring, &user.id, s));
    let Some(secret) = pending else {
        return new_setup_page(&st, &ctx, &cu, Some("Clé expirée : recommencez.".into())).await;
    };
    let again = |msg: &str| {
        page(setup_page(
            &ctx,
            user,
            secret.clone(),
            Some(msg.to_string()),
            mandatory,
        ))
    };
    let Some(step) = totp::matching_step(&secret, &f.code, now as u64) else {
        return again("Code incorrect : vérifiez la saisie et l'heure de votre téléphone.");
    };
    // A session left open must not be enough to change the second factor: the password is asked (a session at
    // the mandatory enrolment step has just given it), and the current code when one is enrolled. Both count
    // towards the lockout like a login.
    if !mandatory || user.totp_enabled {
        let users::Attempt::Counted { .. } = users::claim_attempt(&st.db, &user.id, now).await?
        else {
            sessions::delete_for_user(&st.db, &user.id).await?;
            return Ok(Redirect::to("/connexion").into_response());
        };
        if !mandatory {
            let hash = user.password_hash.clone().unwrap_or_default();
            let ok = password::verify_bounded(&f.password, &hash).await?;
            if !ok {
                audit::record(
                    st.db.pool(),
                    &actor,
                    "auth.totp_setup_refused",
                    "user",
                    Some(&user.id),
                    None,
                )
                .await?;
                return again("Mot de passe actuel incorrect.");
            }
        }
        if user.totp_enabled {
            let current = user
                .totp_secret
                .as_deref()
                .and_then(|s| totp::open(keyring, &user.id, s))
                .and_then(|s| totp::matching_step(&s, &f.code_actuel, now as u64));
            let ok = match current {
                Some(step) => users::accept_totp_step(&st.db, &user.id, step).await?,
                None => false,
            };
            if !ok {
                audit::record(
                    st.db.pool(),
                    &actor,
                    "auth.totp_setup_refused",
                    "user",
                    Some(&user.id),
                    None,
                )
                .await?;
                return again("Code actuel incorrect : saisissez le code affiché aujourd'hui par votre application.");
            }
        }
        users::release_attempt(&st.db, &user.id).await?;
    }
    let codes = totp::recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| store::sha256_hex(&totp::normalise_recovery_code(c)))
        .collect();
    let sealed = totp::seal(keyring, &user.id, &secret);
    users::enable_totp(&st.db, &actor, &user.id, &sealed, step, &hashes).await?;
    sessions::set_pending_totp_secret(&st.db, &cu.token, None).await?;
    let mut p = setup_page(&ctx, user, String::new(), None, false);
    p.recovery_codes = codes;
    if mandatory {
        let cookie = open_session(&st, &ctx, &user.id, Stage::Full).await?;
        let html = askama::Template::render(&p)?;
        return Ok(([(header::SET_COOKIE, cookie)], axum::response::Html(html)).into_response());
    }
    page(p)
}
