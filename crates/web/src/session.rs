//! Sessions and CSRF.
//!
//! The middleware resolves the session cookie into a [`CurrentUser`] (user, session and [`store::Scope`]) and
//! checks the CSRF token of every state-changing request before any handler runs, so no form can forget it.
//! Logged-in forms carry the session's token; anonymous forms (login, password reset) a double-submit cookie.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use store::sessions::{self, Session, Stage};
use store::users::{self, User};
use store::Scope;

use crate::error::AppError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "passerelle_session";
pub const CSRF_COOKIE: &str = "passerelle_csrf";
/// Largest urlencoded form accepted (every text field has its own, much smaller, limit): 256 KiB.
pub const MAX_FORM_BYTES: usize = 256 * 1024;
/// The session cookie of a person followed in their space (`/mon-espace`): another principal, another cookie.
pub const PERSON_COOKIE: &str = "passerelle_personne";

pub struct CurrentUser {
    pub user: User,
    pub session: Session,
    pub token: String,
    pub scope: Scope,
}

/// What every handler may need about the request.
#[derive(Clone)]
pub struct Ctx {
    pub csrf: String,
    pub current: Option<Arc<CurrentUser>>,
    /// A person signed in to their space; only resolved under `/mon-espace`, never a way into agents' pages.
    pub person: Option<Arc<store::msj::space::PersonSession>>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub path: String,
    pub demo: bool,
    pub secure_cookies: bool,
}

impl Ctx {
    pub fn cookie(&self, name: &str, value: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}")
    }

    pub fn expired_cookie(&self, name: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("session layer missing")))
    }
}

/// A fully logged-in agent. Anyone else is sent to the login page (or to the second factor step).
pub struct Auth(pub Arc<CurrentUser>, pub Ctx);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        match &ctx.current {
            Some(cu) if cu.session.stage == Stage::Full => Ok(Auth(cu.clone(), ctx)),
            Some(cu) if cu.session.stage == Stage::Totp => {
                Err(Redirect::to("/connexion/totp").into_response())
            }
            Some(_) if parts.uri.path() == "/compte/double-authentification" => Err(
                AppError::Internal(anyhow::anyhow!("enrolment is handled by PartialAuth"))
                    .into_response(),
            ),
            Some(_) => Err(Redirect::to("/compte/double-authentification").into_response()),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .filter(|p| p.starts_with('/') && !p.starts_with("//"))
                    .unwrap_or("/accueil");
                let target = format!("/connexion?suivant={}", urlencode(next));
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

impl Auth {
    pub fn user(&self) -> &User {
        &self.0.user
    }
    pub fn scope(&self) -> &Scope {
        &self.0.scope
    }
    /// Refuses with 403 when the role lacks a capability.
    pub fn require(&self, allowed: bool) -> Result<(), AppError> {
        if allowed {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn cookie_value(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match resolve(&state, req).await {
        Ok((req, set_cookie)) => {
            let mut res = next.run(req).await;
            if let Some(c) = set_cookie {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            res
        }
        Err(e) => e.into_response(),
    }
}

async fn resolve(state: &AppState, req: Request) -> Result<(Request, Option<String>), AppError> {
    let now = store::now();
    let path = req.uri().path().to_string();
    let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| {
        crate::client_ip::client_ip(c.0.ip(), req.headers(), &state.config.trusted_proxies)
            .to_string()
    });
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_static = path.starts_with("/static/") || path == "/healthz";

    let mut current = None;
    if !is_static {
        if let Some(token) = cookie_value(&req, SESSION_COOKIE) {
            if let Some(session) = sessions::find_bounded(
                &state.db,
                &token,
                now,
                state.config.session_idle_secs,
                state.config.session_max_secs,
            )
            .await?
            {
                let user = match users::get_unscoped(&state.db, &session.user_id).await {
                    // A user of a deactivated organisation (or of a service of a deactivated administration)
                    // loses its sessions like a deactivated user.
                    Ok(u) if u.active => {
                        if store::orgs::is_operational(&state.db, &u.organisation_id).await? {
                            Ok(u)
                        } else {
                            Err(store::StoreError::NotFound)
                        }
                    }
                    other => other,
                };
                match user {
                    Ok(user) if user.active => {
                        let scope = Scope::for_user(
                            &state.db,
                            &user.id,
                            &user.email,
                            user.role,
                            &user.organisation_id,
                            ip.clone(),
                        )
                        .await?;
                        current = Some(Arc::new(CurrentUser {
                            user,
                            session,
                            token,
                            scope,
                        }));
                    }
                    Ok(_) | Err(store::StoreError::NotFound) => {
                        sessions::delete(&state.db, &token).await?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }

    let mut person = None;
    if path == "/mon-espace" || path.starts_with("/mon-espace/") {
        if let Some(token) = cookie_value(&req, PERSON_COOKIE) {
            person = store::msj::space::find_session(&state.db, &token, now)
                .await?
                .map(Arc::new);
        }
    }

    let mut set_cookie = None;
    let anon_cookie = cookie_value(&req, CSRF_COOKIE);
    let csrf = match (&person, &current, &anon_cookie) {
        (Some(p), _, _) => p.csrf_token.clone(),
        (None, Some(cu), _) => cu.session.csrf_token.clone(),
        (None, None, Some(c)) => c.clone(),
        (None, None, None) => {
            let t = store::random_token();
            let secure = if state.config.secure_cookies {
                "; Secure"
            } else {
                ""
            };
            set_cookie = Some(format!(
                "{CSRF_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict{secure}"
            ));
            t
        }
    };

    let ctx = Ctx {
        csrf: csrf.clone(),
        current,
        person,
        ip,
        user_agent,
        path: path.clone(),
        demo: state.config.is_demo(),
        secure_cookies: state.config.secure_cookies,
    };

    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // The JSON API authenticates with tokens and webhooks with provider secrets: no cookies, no CSRF.
    let exempt = path.starts_with("/api/") || path.starts_with("/webhooks/");
    let mut req = req;
    if unsafe_method && !exempt {
        let (parts, body) = req.into_parts();
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let is_form = content_type.starts_with("application/x-www-form-urlencoded");
        let is_multipart = content_type.starts_with("multipart/form-data");
        let header_token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (submitted, body) = if is_form {
            let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|_| AppError::TooLarge)?;
            let token = form_urlencoded_value(&bytes, "csrf_token");
            (token, Body::from(bytes))
        } else if is_multipart && header_token.is_none() {
            // Uploads are streamed to the handler, never buffered here; a plain HTML upload form cannot set a
            // header, so it carries the token in its action URL (`?csrf_token=`; Referrer-Policy is no-referrer).
            let query = parts.uri.query().unwrap_or("");
            (form_urlencoded_value(query.as_bytes(), "csrf_token"), body)
        } else {
            (header_token, body)
        };
        let valid = submitted.is_some_and(|s| constant_time_eq(&s, &csrf))
            // An anonymous form needs its double-submit cookie: a forged cross-site post has none.
            && (ctx.current.is_some() || ctx.person.is_some() || anon_cookie.is_some());
        if !valid {
            tracing::warn!(path = %path, "CSRF check failed");
            return Err(AppError::Csrf);
        }
        req = Request::from_parts(parts, body);
    }
    req.extensions_mut().insert(ctx);
    Ok((req, set_cookie))
}

fn form_urlencoded_value(body: &[u8], key: &str) -> Option<String> {
    url_pairs(body).find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Minimal `application/x-www-form-urlencoded` reader (serde_urlencoded does the real parsing in handlers).
fn url_pairs(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    body.split(|b| *b == b'&').filter_map(|pair| {
        let mut it = pair.splitn(2, |b| *b == b'=');
        let k = decode(it.next()?);
        let v = decode(it.next().unwrap_or(b""));
        Some((k, v))
    })
}

fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = std::str::from_utf8(&s[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Opens a fully or partly logged-in session and returns the Set-Cookie value. Called at login and at each
/// step up (second factor), so the token changes whenever privileges do.
pub async fn open_session(
    state: &AppState,
    ctx: &Ctx,
    user_id: &str,
    stage: Stage,
) -> Result<String, AppError> {
    if let Some(cu) = &ctx.current {
        sessions::delete(&state.db, &cu.token).await?;
    }
    let (token, _) = sessions::create(
        &state.db,
        user_id,
        stage,
        ctx.ip.as_deref(),
        ctx.user_agent.as_deref(),
        store::now(),
    )
    .await?;
    Ok(ctx.cookie(SESSION_COOKIE, &token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_and_plus_decoded() {
        assert_eq!(
            form_urlencoded_value(b"a=1&csrf_token=ab%2Fc+d&z=", "csrf_token"),
            Some("ab/c d".into())
        );
        assert_eq!(form_urlencoded_value(b"a=%", "a"), Some("%".into()));
        assert_eq!(form_urlencoded_value(b"a=1", "csrf_token"), None);
    }

    #[test]
    fn next_urls_are_encoded() {
        assert_eq!(urlencode("/a b?c=d"), "/a%20b%3Fc%3Dd");
    }
}
