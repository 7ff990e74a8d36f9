//! Account security through the real router, on SQLite and PostgreSQL: redirects after login, reset
//! links, second factor, lockout, sessions, proxies, hashing under load, input limits.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use store::orgs::{self, NewOrganisation};
use store::roles::{OrgKind, Role};
use store::sessions::{self, Stage};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{Actor, Db};
use tower::ServiceExt;
use web::{AppState, Config, Mode};

const PASSWORD: &str = "mot de passe de test";

fn config() -> Config {
    let mut c = Config::from_env(Mode::Demo).expect("demo config from a clean environment");
    c.public_url = "http://passerelle.test".into();
    c
}

async fn org(db: &Db, kind: OrgKind, name: &str) -> orgs::Organisation {
    orgs::create(
        db,
        &Actor::system("test"),
        &NewOrganisation {
            kind,
            name: name.into(),
            parent_id: None,
            departement: Some("92".into()),
            time_zone: "Europe/Paris".into(),
            address: None,
            phone: None,
            email: None,
        },
    )
    .await
    .unwrap()
}

async fn user(db: &Db, email: &str, role: Role, org_id: &str) -> users::User {
    users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Camille".into(),
            last_name: "Test".into(),
            role,
            organisation_id: org_id.into(),
            password_hash: Some(web::password::hash(PASSWORD)),
        },
    )
    .await
    .unwrap()
}

async fn send(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, String, axum::http::HeaderMap) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), headers)
}

fn get(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn post_form(uri: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn enc(s: &str) -> String {
    web::session::urlencode(s)
}

/// An anonymous browser: its double-submit CSRF cookie and token.
async fn anonymous(app: &axum::Router) -> (String, String) {
    let (_, _, headers) = send(app, get("/connexion", "")).await;
    let cookie = headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = cookie.split('=').nth(1).unwrap().to_string();
    (cookie, csrf)
}

/// Posts the login form; returns status, body, Location (if any) and the session cookie (if any).
async fn login(
    app: &axum::Router,
    email: &str,
    password: &str,
    suivant: &str,
) -> (StatusCode, String, Option<String>, Option<String>) {
    let (cookie, csrf) = anonymous(app).await;
    let body = format!(
        "csrf_token={csrf}&email={}&password={}&suivant={}",
        enc(email),
        enc(password),
        enc(suivant)
    );
    let (status, page, headers) = send(app, post_form("/connexion", &cookie, &body)).await;
    let location = headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let session = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("passerelle_session="));
    (status, page, location, session)
}

fn token_of(cookie: &str) -> &str {
    cookie.split('=').nth(1).unwrap()
}

async fn csrf_of(db: &Db, cookie: &str) -> String {
    sessions::find(db, token_of(cookie), store::now(), 3600)
        .await
        .unwrap()
        .unwrap()
        .csrf_token
}

// ---- 10. Redirect after login ----

#[tokio::test]
async fn after_login_only_local_paths_are_followed() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        for (next, expected) in [
            ("/msj/agenda?jour=2026-01-05", "/msj/agenda?jour=2026-01-05"),
            ("/%09/example.org", "/accueil"),
            ("/\t/example.org", "/accueil"),
            ("//example.org", "/accueil"),
            ("/\\example.org", "/accueil"),
            ("/%5Cexample.org", "/accueil"),
            ("/%2F/example.org", "/accueil"),
            ("https://example.org/", "/accueil"),
            ("/a\u{1}b", "/accueil"),
            ("/a\nLocation: https://example.org", "/accueil"),
            ("/caf\u{e9}", "/accueil"),
        ] {
            let (status, _, location, session) =
                login(&app, "cpip@spip92.test", PASSWORD, next).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{next:?}");
            assert_eq!(location.as_deref(), Some(expected), "{next:?}");
            assert!(session.is_some());
        }
    })
    .await;
}

// ---- 9. Reset and invitation links ----

#[tokio::test]
async fn a_used_reset_link_voids_the_other_links_of_the_account() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let u = user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let other = user(&db, "dpip@spip92.test", Role::Dpip, &spip.id).await;
        let now = store::now();
        let first = sessions::create_user_token(&db, &u.id, "reset", 3600, now).await.unwrap();
        let second = sessions::create_user_token(&db, &u.id, "reset", 3600, now).await.unwrap();
        let invite = sessions::create_user_token(&db, &u.id, "invite", 3600, now).await.unwrap();
        let colleague = sessions::create_user_token(&db, &other.id, "reset", 3600, now).await.unwrap();
        let app = web::router(AppState::with_local_files(db.clone(), config()));

        let (cookie, csrf) = anonymous(&app).await;
        let body = format!(
            "csrf_token={csrf}&jeton={first}&password=une+phrase+de+passe+solide&confirmation=une+phrase+de+passe+solide"
        );
        let (status, _, headers) = send(&app, post_form("/mot-de-passe/nouveau", &cookie, &body)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(headers[header::LOCATION].to_str().unwrap().contains("mot-de-passe-enregistre"));

        for link in [&second, &invite] {
            let (_, page, _) = send(&app, get(&format!("/mot-de-passe/nouveau?jeton={link}"), "")).await;
            assert!(page.contains("Lien invalide ou expiré"), "a sibling link still works");
            let body = format!(
                "csrf_token={csrf}&jeton={link}&password=encore+un+autre+mot&confirmation=encore+un+autre+mot"
            );
            let (_, page, _) = send(&app, post_form("/mot-de-passe/nouveau", &cookie, &body)).await;
            assert!(page.contains("Lien invalide ou expiré"));
        }
        // The new password is the one chosen with the first link; another account's link is untouched.
        let (status, _, location, _) = login(&app, "cpip@spip92.test", "une phrase de passe solide", "").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/accueil")));
        assert!(sessions::peek_user_token(&db, &colleague, "reset", store::now()).await.unwrap().is_some());
    })
    .await;
}

#[tokio::test]
async fn a_password_change_voids_every_outstanding_link() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let u = user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let now = store::now();
        let reset = sessions::create_user_token(&db, &u.id, "reset", 3600, now)
            .await
            .unwrap();
        let invite = sessions::create_user_token(&db, &u.id, "invite", 3600, now)
            .await
            .unwrap();
        users::set_password(
            &db,
            &Actor::system("test"),
            &u.id,
            &web::password::hash("nouveau mot de passe"),
        )
        .await
        .unwrap();
        assert!(sessions::peek_user_token(&db, &reset, "reset", now)
            .await
            .unwrap()
            .is_none());
        assert!(sessions::peek_user_token(&db, &invite, "invite", now)
            .await
            .unwrap()
            .is_none());
    })
    .await;
}

// ---- 7. Second factor: lockout, limits, replay ----

/// A user whose second factor is on, with a known secret (stored as earlier versions did, in clear).
async fn user_with_totp(db: &Db, email: &str, org_id: &str) -> (users::User, String) {
    let u = user(db, email, Role::Cpip, org_id).await;
    let secret = web::totp::new_secret();
    users::enable_totp(db, &Actor::system("test"), &u.id, &secret, 0, &[])
        .await
        .unwrap();
    (u, secret)
}

async fn submit_code(
    app: &axum::Router,
    db: &Db,
    session: &str,
    code: &str,
) -> (StatusCode, String, Option<String>) {
    let csrf = csrf_of(db, session).await;
    let (status, page, headers) = send(
        app,
        post_form(
            "/connexion/totp",
            session,
            &format!("csrf_token={csrf}&code={code}"),
        ),
    )
    .await;
    (
        status,
        page,
        headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string()),
    )
}

fn wrong_code(secret: &str) -> String {
    let now = store::now() as u64;
    let good: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| web::totp::code_at(secret, *t).unwrap())
        .collect();
    (0..1000)
        .map(|i| format!("{:06}", 123_456 + i))
        .find(|c| !good.contains(c))
        .unwrap()
}

#[tokio::test]
async fn wrong_codes_after_right_passwords_lock_the_account() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let (u, secret) = user_with_totp(&db, "cpip@spip92.test", &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        for round in 0..10 {
            let (status, _, location, session) =
                login(&app, "cpip@spip92.test", PASSWORD, "").await;
            assert_eq!(status, StatusCode::SEE_OTHER, "round {round}");
            assert_eq!(
                location.as_deref(),
                Some("/connexion/totp"),
                "round {round}"
            );
            let (status, page, _) =
                submit_code(&app, &db, &session.unwrap(), &wrong_code(&secret)).await;
            assert_eq!(status, StatusCode::OK);
            assert!(
                page.contains("Code incorrect") || page.contains("verrouillé"),
                "{page}"
            );
        }
        assert!(users::get_unscoped(&db, &u.id)
            .await
            .unwrap()
            .is_locked(store::now()));
        // Now even the right password and the right code do not open a session.
        let (status, _, location, session) = login(&app, "cpip@spip92.test", PASSWORD, "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(location, None);
        assert_eq!(session, None);
    })
    .await;
}

#[tokio::test]
async fn a_code_used_once_is_refused_in_another_session() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let (_, secret) = user_with_totp(&db, "cpip@spip92.test", &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let code = web::totp::code_at(&secret, store::now() as u64).unwrap();

        let (_, _, _, first) = login(&app, "cpip@spip92.test", PASSWORD, "").await;
        let (status, _, location) = submit_code(&app, &db, &first.unwrap(), &code).await;
        assert_eq!(
            (status, location.as_deref()),
            (StatusCode::SEE_OTHER, Some("/accueil"))
        );

        let (_, _, location, second) = login(&app, "cpip@spip92.test", PASSWORD, "").await;
        assert_eq!(location.as_deref(), Some("/connexion/totp"));
        let (status, page, location) = submit_code(&app, &db, &second.unwrap(), &code).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(location, None);
        assert!(page.contains("Code incorrect"), "{page}");
    })
    .await;
}

#[tokio::test]
async fn the_code_step_has_its_own_rate_limit() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let (u, secret) = user_with_totp(&db, "cpip@spip92.test", &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let (_, _, _, session) = login(&app, "cpip@spip92.test", PASSWORD, "").await;
        let session = session.unwrap();
        // Lift the lockout between guesses, as an attacker spreading guesses out would see it: the rate limit
        // still stops the 21st code in ten minutes.
        let mut statuses = vec![];
        for _ in 0..21 {
            users::record_login_success(&db, &u.id, store::now())
                .await
                .unwrap();
            let (status, _, _) = submit_code(&app, &db, &session, &wrong_code(&secret)).await;
            statuses.push(status);
        }
        assert!(
            statuses[..20].iter().all(|s| *s == StatusCode::OK),
            "{statuses:?}"
        );
        assert_eq!(statuses[20], StatusCode::TOO_MANY_REQUESTS);
    })
    .await;
}

// ---- 8. Enrolling the second factor ----

async fn full_session(db: &Db, user_id: &str) -> String {
    let (token, _) = sessions::create(db, user_id, Stage::Full, None, None, store::now())
        .await
        .unwrap();
    format!("passerelle_session={token}")
}

/// Opens the enrolment page and reads the secret it shows.
async fn shown_secret(app: &axum::Router, session: &str) -> String {
    let (status, page, _) = send(app, get("/compte/double-authentification", session)).await;
    assert_eq!(status, StatusCode::OK);
    let start = page.find("id=\"cle-totp\">").unwrap() + "id=\"cle-totp\">".len();
    page[start..].split('<').next().unwrap().trim().to_string()
}

async fn enrol(app: &axum::Router, db: &Db, session: &str, fields: &str) -> String {
    let csrf = csrf_of(db, session).await;
    let (status, page, _) = send(
        app,
        post_form(
            "/compte/double-authentification",
            session,
            &format!("csrf_token={csrf}&{fields}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

#[tokio::test]
async fn enrolling_needs_the_password_and_the_secret_is_the_servers_and_encrypted() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let u = user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let session = full_session(&db, &u.id).await;
        let st = AppState::with_local_files(db.clone(), config());
        let keyring = st.files.keyring().clone();
        let app = web::router(st);
        let secret = shown_secret(&app, &session).await;
        let now = store::now() as u64;

        // A secret chosen by the browser is ignored; a session alone, without the password, is not enough.
        let mine = web::totp::new_secret();
        let mine_code = web::totp::code_at(&mine, now).unwrap();
        let page = enrol(
            &app,
            &db,
            &session,
            &format!("secret={mine}&code={mine_code}&password={}", enc(PASSWORD)),
        )
        .await;
        assert!(page.contains("Code incorrect"), "{page}");
        let code = web::totp::code_at(&secret, now).unwrap();
        let page = enrol(&app, &db, &session, &format!("code={code}")).await;
        assert!(page.contains("Mot de passe actuel incorrect"), "{page}");
        let page = enrol(
            &app,
            &db,
            &session,
            &format!("code={code}&password=mauvais"),
        )
        .await;
        assert!(page.contains("Mot de passe actuel incorrect"), "{page}");
        assert!(!users::get_unscoped(&db, &u.id).await.unwrap().totp_enabled);

        let page = enrol(
            &app,
            &db,
            &session,
            &format!("code={code}&password={}", enc(PASSWORD)),
        )
        .await;
        assert!(page.contains("Double authentification activée"), "{page}");
        let stored = users::get_unscoped(&db, &u.id)
            .await
            .unwrap()
            .totp_secret
            .unwrap();
        assert!(
            !stored.contains(&secret),
            "the secret is not stored in clear"
        );
        assert_eq!(
            web::totp::open(&keyring, &u.id, &stored),
            Some(secret.clone())
        );

        // The next login asks for a code of that secret (a later one: the enrolment code is spent).
        let (_, _, location, second) = login(&app, "cpip@spip92.test", PASSWORD, "").await;
        assert_eq!(location.as_deref(), Some("/connexion/totp"));
        let second = second.unwrap();
        let (_, page, _) = submit_code(&app, &db, &second, &code).await;
        assert!(
            page.contains("Code incorrect"),
            "the enrolment code cannot be replayed"
        );
        let next = web::totp::code_at(&secret, now + 30).unwrap();
        let (status, _, location) = submit_code(&app, &db, &second, &next).await;
        assert_eq!(
            (status, location.as_deref()),
            (StatusCode::SEE_OTHER, Some("/accueil"))
        );
    })
    .await;
}

#[tokio::test]
async fn re_enrolling_needs_the_current_code() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let (u, old) = user_with_totp(&db, "cpip@spip92.test", &spip.id).await;
        let session = full_session(&db, &u.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let secret = shown_secret(&app, &session).await;
        let now = store::now() as u64;
        let code = web::totp::code_at(&secret, now).unwrap();
        let pw = enc(PASSWORD);
        let page = enrol(&app, &db, &session, &format!("code={code}&password={pw}")).await;
        assert!(page.contains("Code actuel incorrect"), "{page}");
        let page = enrol(
            &app,
            &db,
            &session,
            &format!("code={code}&password={pw}&code_actuel={}", wrong_code(&old)),
        )
        .await;
        assert!(page.contains("Code actuel incorrect"), "{page}");
        assert_eq!(
            users::get_unscoped(&db, &u.id)
                .await
                .unwrap()
                .totp_secret
                .as_deref(),
            Some(old.as_str())
        );

        let current = web::totp::code_at(&old, now).unwrap();
        let page = enrol(
            &app,
            &db,
            &session,
            &format!("code={code}&password={pw}&code_actuel={current}"),
        )
        .await;
        assert!(page.contains("Double authentification activée"), "{page}");
        assert_ne!(
            users::get_unscoped(&db, &u.id)
                .await
                .unwrap()
                .totp_secret
                .as_deref(),
            Some(old.as_str())
        );
    })
    .await;
}

// ---- 11. Behind a reverse proxy ----

/// A wrong-password login from `peer` (the TCP peer) with an optional `X-Forwarded-For`.
async fn login_from(app: &axum::Router, peer: &str, xff: Option<&str>) {
    let (cookie, csrf) = anonymous(app).await;
    let mut req = Request::post("/connexion")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(x) = xff {
        req = req.header("x-forwarded-for", x);
    }
    let mut req = req
        .body(Body::from(format!(
            "csrf_token={csrf}&email=cpip%40spip92.test&password=mauvais"
        )))
        .unwrap();
    let addr: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    let (status, _, _) = send(app, req).await;
    assert_eq!(status, StatusCode::OK);
}

async fn audited_ips(db: &Db) -> Vec<String> {
    use sqlx::Row;
    sqlx::query("SELECT ip FROM audit_events WHERE action = 'auth.login_failed' ORDER BY at, id")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<Option<String>, _>(0).unwrap_or_default())
        .collect()
}

async fn limited_keys(db: &Db) -> Vec<String> {
    use sqlx::Row;
    let mut keys: Vec<String> =
        sqlx::query("SELECT key FROM rate_limits WHERE key LIKE 'login:ip:%'")
            .fetch_all(db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_address() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let mut c = config();
        c.trusted_proxies = web::client_ip::parse_list("127.0.0.1/32, 10.0.0.0/8").unwrap();
        let app = web::router(AppState::with_local_files(db.clone(), c));
        login_from(&app, "127.0.0.1", Some("198.51.100.4")).await;
        login_from(&app, "127.0.0.1", Some("6.6.6.6, 198.51.100.5, 10.1.2.3")).await;
        // A client reaching the server directly cannot pick its address.
        login_from(&app, "203.0.113.9", Some("198.51.100.6")).await;
        assert_eq!(
            audited_ips(&db).await,
            ["198.51.100.4", "198.51.100.5", "203.0.113.9"]
        );
        assert_eq!(
            limited_keys(&db).await,
            [
                "login:ip:198.51.100.4",
                "login:ip:198.51.100.5",
                "login:ip:203.0.113.9"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn without_trusted_proxies_the_forwarded_header_is_ignored() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        login_from(&app, "127.0.0.1", Some("198.51.100.4")).await;
        assert_eq!(audited_ips(&db).await, ["127.0.0.1"]);
    })
    .await;
}

// ---- 12. Account enumeration ----

#[tokio::test]
async fn a_locked_account_answers_like_an_unknown_one_and_its_owner_gets_an_email() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let u = user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let generic = "Adresse e-mail ou mot de passe incorrect.";
        for i in 0..10 {
            let (status, page, location, _) =
                login(&app, "cpip@spip92.test", &format!("mauvais {i}"), "").await;
            assert_eq!((status, location), (StatusCode::OK, None));
            assert!(
                page.contains(generic) && !page.contains("verrouillé"),
                "attempt {i}"
            );
            let (_, unknown, _, _) =
                login(&app, "personne@spip92.test", &format!("mauvais {i}"), "").await;
            assert!(unknown.contains(generic) && !unknown.contains("verrouillé"));
        }
        assert!(users::get_unscoped(&db, &u.id)
            .await
            .unwrap()
            .is_locked(store::now()));
        // Even the right password gets the same answer while locked, and no session.
        let (status, page, location, session) = login(&app, "cpip@spip92.test", PASSWORD, "").await;
        assert_eq!((status, location, session), (StatusCode::OK, None, None));
        assert!(page.contains(generic) && !page.contains("verrouillé"));
        // The owner is told once, by e-mail.
        let mails = store::outbox::list_for_recipient(&db, "cpip@spip92.test")
            .await
            .unwrap();
        assert_eq!(mails.len(), 1, "{mails:?}");
        assert!(mails[0].body.contains("verrouillé pendant 15 minutes"));
        assert!(mails[0]
            .body
            .contains("http://passerelle.test/mot-de-passe-oublie"));
    })
    .await;
}

// ---- 13. Login flood ----

#[tokio::test]
async fn forty_parallel_logins_all_get_a_proper_answer() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let hash = web::password::hash(PASSWORD);
        for i in 0..40 {
            users::create(
                &db,
                &Actor::system("test"),
                &NewUser {
                    email: format!("agent{i}@spip92.test"),
                    first_name: "Camille".into(),
                    last_name: "Test".into(),
                    role: Role::Cpip,
                    organisation_id: spip.id.clone(),
                    password_hash: Some(hash.clone()),
                },
            )
            .await
            .unwrap();
        }
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(async move {
                    let (cookie, csrf) = anonymous(&app).await;
                    // A third right, a third wrong, a third for unknown addresses.
                    let (email, pw) = match i % 3 {
                        0 => (format!("agent{i}@spip92.test"), PASSWORD),
                        1 => (format!("agent{i}@spip92.test"), "mauvais mot de passe"),
                        _ => (format!("inconnu{i}@spip92.test"), PASSWORD),
                    };
                    let body = format!(
                        "csrf_token={csrf}&email={}&password={}",
                        enc(&email),
                        enc(pw)
                    );
                    let (status, page, headers) =
                        send(&app, post_form("/connexion", &cookie, &body)).await;
                    (status, page, headers.get(header::RETRY_AFTER).cloned())
                })
            })
            .collect();
        let mut counts = std::collections::BTreeMap::new();
        for t in tasks {
            let (status, page, retry_after) = t.await.unwrap();
            *counts.entry(status.as_u16()).or_insert(0) += 1;
            match status {
                StatusCode::OK => assert!(
                    page.contains("Adresse e-mail ou mot de passe incorrect"),
                    "{page}"
                ),
                StatusCode::SEE_OTHER => {}
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert!(retry_after.is_some());
                    assert!(page.contains("Service momentanément surchargé"), "{page}");
                }
                other => panic!("unexpected {other}: {page}"),
            }
        }
        assert!(counts.get(&303).copied().unwrap_or(0) >= 1, "{counts:?}");
    })
    .await;
}

// ---- 15. Input limits ----

#[tokio::test]
async fn over_long_fields_get_a_french_field_error_and_nothing_is_saved() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let cpip = user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let admin = user(&db, "admin@spip92.test", Role::LocalAdmin, &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));

        let session = full_session(&db, &cpip.id).await;
        let csrf = csrf_of(&db, &session).await;
        let long_name = "a".repeat(101);
        let body = format!(
            "csrf_token={csrf}&first_name=Jean&last_name={long_name}&birth_date=1990-01-01&no_phone=on&city={}",
            "b".repeat(101)
        );
        let (status, page, _) = send(&app, post_form("/msj/personnes/nouvelle", &session, &body)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Ce champ est limité à 100 caractères."), "{page}");
        use sqlx::Row;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM ppsmj").fetch_one(db.pool()).await.unwrap().get(0);
        assert_eq!(n, 0);

        // A form of 1.5 MB is refused before any handler, with a French page.
        let huge = format!("csrf_token={csrf}&first_name=Jean&last_name={}", "a".repeat(1_500_000));
        let (status, page, _) = send(&app, post_form("/msj/personnes/nouvelle", &session, &huge)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(page.contains("Formulaire trop volumineux"));

        // Invitations too.
        let session = full_session(&db, &admin.id).await;
        let csrf = csrf_of(&db, &session).await;
        let form = format!(
            "csrf_token={csrf}&email=nouvel.agent%40spip92.test&first_name={long_name}&last_name=Agent&role=cpip&organisation_id={}",
            spip.id
        );
        let (status, page, _) = send(&app, post_form("/admin/utilisateurs", &session, &form)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Ce champ est limité à 100 caractères."), "{page}");
        assert!(users::find_by_email(&db, "nouvel.agent@spip92.test").await.unwrap().is_none());
    })
    .await;
}
