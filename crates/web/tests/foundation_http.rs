//! HTTP behaviour of the foundation through the real router, on SQLite and PostgreSQL.

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
            password_hash: Some(web::password::hash("mot de passe de test")),
        },
    )
    .await
    .unwrap()
}

/// A logged-in session: (cookie header, csrf token).
async fn session_of(db: &Db, user_id: &str) -> (String, String) {
    let (token, s) = sessions::create(db, user_id, Stage::Full, None, None, store::now())
        .await
        .unwrap();
    (format!("passerelle_session={token}"), s.csrf_token)
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

#[tokio::test]
async fn healthz_names_the_database_in_use() {
    on_each_backend(|db| async move {
        let backend = db.backend().as_str();
        let app = web::router(AppState::with_local_files(db, config()));
        let (status, body, headers) = send(&app, get("/healthz", "")).await;
        assert_eq!(status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "ok");
        assert_eq!(v["database"], backend);
        assert!(headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    })
    .await;
}

#[tokio::test]
async fn another_organisations_user_is_a_404_and_a_colleague_is_visible() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let other = org(&db, OrgKind::Spip, "SPIP 75").await;
        let cpip = user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let colleague = user(&db, "dpip@spip92.test", Role::Dpip, &spip.id).await;
        let stranger = user(&db, "cpip@spip75.test", Role::Cpip, &other.id).await;
        let (cookie, _) = session_of(&db, &cpip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));

        let (status, body, _) = send(
            &app,
            get(&format!("/utilisateurs/{}", colleague.id), &cookie),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("dpip@spip92.test"));
        let (status, body, _) = send(
            &app,
            get(&format!("/utilisateurs/{}", stranger.id), &cookie),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("Page non trouvée"));
        assert!(!body.contains("cpip@spip75.test"));
        // A CPIP may not open the administration pages at all.
        let (status, _, _) = send(&app, get("/admin/utilisateurs", &cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Nor manage a user, even of its own organisation.
        let (status, _, _) = send(
            &app,
            get(&format!("/admin/utilisateurs/{}", colleague.id), &cookie),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_post_without_the_session_csrf_token_is_refused_and_changes_nothing() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let admin = user(&db, "admin@spip92.test", Role::LocalAdmin, &spip.id).await;
        let (cookie, csrf) = session_of(&db, &admin.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let form = format!(
            "email=nouvel.agent%40spip92.test&first_name=Nouvel&last_name=Agent&role=cpip&organisation_id={}",
            spip.id
        );
        let (status, body, _) = send(&app, post_form("/admin/utilisateurs", &cookie, &form)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("Formulaire expiré"));
        let forged = format!("{form}&csrf_token=0000");
        let (status, _, _) = send(&app, post_form("/admin/utilisateurs", &cookie, &forged)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(users::find_by_email(&db, "nouvel.agent@spip92.test").await.unwrap().is_none());

        // With the token, the invitation is created and its e-mail waits in the outbox.
        let good = format!("{form}&csrf_token={csrf}");
        let (status, body, _) = send(&app, post_form("/admin/utilisateurs", &cookie, &good)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Invitation envoyée"), "{body}");
        let invited = users::find_by_email(&db, "nouvel.agent@spip92.test").await.unwrap().unwrap();
        assert!(invited.password_hash.is_none());
        let mails = store::outbox::list_for_recipient(&db, "nouvel.agent@spip92.test").await.unwrap();
        assert_eq!(mails.len(), 1);
        // The link goes to the recipient only: the stored text holds a placeholder.
        assert!(!mails[0].body.contains("jeton="));
        assert!(mails[0].body_for_recipient().contains("http://passerelle.test/mot-de-passe/nouveau?jeton="));
    })
    .await;
}

#[tokio::test]
async fn an_invitation_with_bad_fields_keeps_the_input_and_explains_in_french() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        let admin = user(&db, "admin@national.test", Role::Admin, &spip.id).await;
        let (cookie, csrf) = session_of(&db, &admin.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        // A JAP cannot belong to a SPIP; the e-mail is malformed.
        let form = format!(
            "csrf_token={csrf}&email=pas-une-adresse&first_name=Jean&last_name=Valjean&role=jap&organisation_id={}",
            spip.id
        );
        let (status, body, _) = send(&app, post_form("/admin/utilisateurs", &cookie, &form)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Adresse e-mail invalide"), "{body}");
        assert!(body.contains("value=\"Valjean\""));
        assert!(body.contains("existe pas dans une organisation"), "{body}");
        let n = users::list_managed(&db, &store::Scope::system("t")).await.unwrap().len();
        assert_eq!(n, 1, "nothing created");
    })
    .await;
}

#[tokio::test]
async fn logging_in_rotates_the_session_and_logging_out_revokes_it() {
    on_each_backend(|db| async move {
        let spip = org(&db, OrgKind::Spip, "SPIP 92").await;
        user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let app = web::router(AppState::with_local_files(db.clone(), config()));
        let (_, _, headers) = send(&app, get("/connexion", "")).await;
        let csrf_cookie = headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = csrf_cookie.split('=').nth(1).unwrap().to_string();

        let body = format!("csrf_token={csrf}&email=cpip%40spip92.test&password=mauvais");
        let (status, page, _) = send(&app, post_form("/connexion", &csrf_cookie, &body)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Adresse e-mail ou mot de passe incorrect"));

        let body =
            format!("csrf_token={csrf}&email=cpip%40spip92.test&password=mot+de+passe+de+test");
        let (status, _, headers) = send(&app, post_form("/connexion", &csrf_cookie, &body)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/accueil");
        let set = headers[header::SET_COOKIE].to_str().unwrap();
        assert!(set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Lax"));
        let session = set.split(';').next().unwrap().to_string();

        let (status, page, _) = send(&app, get("/accueil", &session)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Bonjour Camille"));
        let token = session.split('=').nth(1).unwrap();
        let csrf = sessions::find(&db, token, store::now(), 3600)
            .await
            .unwrap()
            .unwrap()
            .csrf_token;
        let (status, _, _) = send(
            &app,
            post_form("/deconnexion", &session, &format!("csrf_token={csrf}")),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, headers) = send(&app, get("/accueil", &session)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/connexion"));
    })
    .await;
}
