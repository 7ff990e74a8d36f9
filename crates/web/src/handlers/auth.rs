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

/// Only local paths are followed after login (no open redirect).
fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && next.len() < 512)
        .then_some(next)
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
        let pw = f.password.clone();
        tokio::task::spawn_blocking(move || password::verify(&pw, password::dummy_hash()))
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        return page(login_page(
            &ctx,
            &email,
            Some(GENERIC_LOGIN_ERROR.into()),
            &f.suivant,
        ));
    };
    let actor = actor_for(&user, &ctx);
    if user.is_locked(now) {
        audit::record(
            st.db.pool(),
            &actor,
            "auth.login_refused_locked",
            "user",
            Some(&user.id),
            None,
        )
        .await?;
        return page(login_page(
            &ctx,
            &email,
            Some(LOCKED_ERROR.into()),
            &f.suivant,
        ));
    }
    let hash = user.password_hash.clone().unwrap_or_default();
    let pw = f.password.clone();
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    if !ok {
        let locked = users::record_failed_login(&st.db, &user.id, now).await?;
        audit::record(
            st.db.pool(),
            &actor,
            "auth.login_failed",
            "user",
            Some(&user.id),
            None,
        )
        .await?;
        let msg = if locked.is_some() {
            LOCKED_ERROR
        } else {
            GENERIC_LOGIN_ERROR
        };
        return page(login_page(&ctx, &email, Some(msg.into()), &f.suivant));
    }
    users::record_login_success(&st.db, &user.id, now).await?;
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
    if user.is_locked(now) {
        return err(LOCKED_ERROR);
    }
    let code = f.code.trim();
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let ok = if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
        user.totp_secret
            .as_deref()
            .is_some_and(|s| totp::check(s, &digits, now as u64))
    } else {
        let normalised = totp::normalise_recovery_code(code);
        !normalised.is_empty()
            && users::use_recovery_code(&st.db, &user.id, &store::sha256_hex(&normalised)).await?
    };
    if !ok {
        let locked = users::record_failed_login(&st.db, &user.id, now).await?;
        audit::record(
            st.db.pool(),
            &actor,
            "auth.totp_failed",
            "user",
            Some(&user.id),
            None,
        )
        .await?;
        if locked.is_some() {
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
    let Some(user_id) = sessions::consume_user_token(&st.db, &f.jeton, purpose, now).await? else {
        return Ok(Redirect::to("/mot-de-passe/nouveau").into_response());
    };
    let user = users::get_unscoped(&st.db, &user_id).await?;
    let pw = f.password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
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
        recovery_codes: vec![],
    }
}

pub async fn totp_setup_form(ctx: Ctx) -> AppResult<Response> {
    let Some(cu) = ctx.current.clone() else {
        return Ok(Redirect::to("/connexion").into_response());
    };
    match cu.session.stage {
        Stage::Totp => Ok(Redirect::to("/connexion/totp").into_response()),
        stage => page(setup_page(
            &ctx,
            &cu.user,
            totp::new_secret(),
            None,
            stage == Stage::TotpSetup,
        )),
    }
}

#[derive(Deserialize)]
pub struct TotpSetupForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
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
    let mandatory = cu.session.stage == Stage::TotpSetup;
    let secret_ok = f.secret.len() >= 26 && f.secret.chars().all(|c| c.is_ascii_alphanumeric());
    if !secret_ok {
        return page(setup_page(
            &ctx,
            &cu.user,
            totp::new_secret(),
            Some("Clé invalide : recommencez.".into()),
            mandatory,
        ));
    }
    if !totp::check(&f.secret, &f.code, store::now() as u64) {
        return page(setup_page(
            &ctx,
            &cu.user,
            f.secret,
            Some("Code incorrect : vérifiez la saisie et l'heure de votre téléphone.".into()),
            mandatory,
        ));
    }
    let codes = totp::recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| store::sha256_hex(&totp::normalise_recovery_code(c)))
        .collect();
    users::enable_totp(
        &st.db,
        &actor_for(&cu.user, &ctx),
        &cu.user.id,
        &f.secret,
        &hashes,
    )
    .await?;
    let mut p = setup_page(&ctx, &cu.user, String::new(), None, false);
    p.recovery_codes = codes;
    if mandatory {
        let cookie = open_session(&st, &ctx, &cu.user.id, Stage::Full).await?;
        let html = askama::Template::render(&p)?;
        return Ok(([(header::SET_COOKIE, cookie)], axum::response::Html(html)).into_response());
    }
    page(p)
}
