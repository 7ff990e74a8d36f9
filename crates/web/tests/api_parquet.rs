//! JSON API v1 of Info Parquet through the real router (`tower::ServiceExt::oneshot`), on SQLite and PostgreSQL:
//! token authentication, scopes, idempotency, problem+json errors with French field messages, service scoping.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use store::orgs::{self, NewOrganisation};
use store::parquet::{natinf, tokens};
use store::refdata::{self, Commune, Juridiction};
use store::roles::{OrgKind, Role};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{Actor, Db, Scope};
use tower::ServiceExt;
use web::{AppState, Config, Mode};

fn org(kind: OrgKind, name: &str, parent: Option<&str>) -> NewOrganisation {
    NewOrganisation {
        kind,
        name: name.into(),
        parent_id: parent.map(str::to_string),
        departement: None,
        time_zone: "Europe/Paris".into(),
        address: None,
        phone: None,
        email: None,
    }
}

async fn mk_org(db: &Db, o: NewOrganisation) -> String {
    orgs::create(db, &Actor::system("test"), &o)
        .await
        .unwrap()
        .id
}

async fn mk_user(db: &Db, email: &str, role: Role, org_id: &str) -> Scope {
    let u = users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Prénom".into(),
            last_name: "Nom".into(),
            role,
            organisation_id: org_id.into(),
            password_hash: None,
        },
    )
    .await
    .unwrap();
    Scope::for_user(db, &u.id, &u.email, u.role, &u.organisation_id, None)
        .await
        .unwrap()
}

struct World {
    app: axum::Router,
    full: String,
    read_only: String,
    revoked: String,
    other_service: String,
}

async fn world(db: Db) -> World {
    let sys = Actor::system("test");
    let admin = mk_org(&db, org(OrgKind::Administration, "DREETS", None)).await;
    let service = mk_org(&db, org(OrgKind::Service, "Unité 92", Some(&admin))).await;
    let service2 = mk_org(&db, org(OrgKind::Service, "Unité 75", Some(&admin))).await;
    let tj = mk_org(
        &db,
        org(OrgKind::Tj, "Tribunal judiciaire de Nanterre", None),
    )
    .await;
    mk_org(&db, org(OrgKind::Parquet, "Parquet de Nanterre", Some(&tj))).await;
    refdata::upsert_communes(
        &db,
        &sys,
        &[Commune {
            insee: "92050".into(),
            name: "Nanterre".into(),
            departement: "92".into(),
            postcodes: vec!["92000".into()],
        }],
        &|_| {},
    )
    .await
    .unwrap();
    refdata::replace_juridictions(
        &db,
        &sys,
        &[Juridiction {
            insee: "92050".into(),
            commune_name: "Nanterre".into(),
            cour_appel: "Cour d'appel de Versailles".into(),
            tribunal_judiciaire: "Tribunal judiciaire de Nanterre".into(),
            tribunal_proximite: None,
            conseil_prudhommes: None,
        }],
        "test",
        &|_| {},
    )
    .await
    .unwrap();
    let rows =
        natinf::parse_csv("NATINF;Qualification\n7875;Exécution d'un travail dissimulé\n").unwrap();
    natinf::import(&db, &sys, &rows).await.unwrap();
    let manager = mk_user(&db, "chef@dreets.test", Role::AdminManager, &admin).await;
    let both = [tokens::SCOPE_WRITE, tokens::SCOPE_READ];
    let (_, full) = tokens::create(&db, &manager, &service, "Logiciel 92", &both)
        .await
        .unwrap();
    let (_, read_only) =
        tokens::create(&db, &manager, &service, "Lecture 92", &[tokens::SCOPE_READ])
            .await
            .unwrap();
    let (t, revoked) = tokens::create(&db, &manager, &service, "Ancien", &both)
        .await
        .unwrap();
    tokens::revoke(&db, &manager, &t.id).await.unwrap();
    let (_, other) = tokens::create(&db, &manager, &service2, "Logiciel 75", &both)
        .await
        .unwrap();
    let config = Config::from_env(Mode::Demo).expect("default configuration");
    World {
        app: web::router(AppState::with_local_files(db, config)),
        full: full.0,
        read_only: read_only.0,
        revoked: revoked.0,
        other_service: other.0,
    }
}

fn valid_body(reference: &str) -> Value {
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(2)).to_string();
    json!({
        "internal_reference": reference,
        "facts": {"description": "Six ouvriers sans déclaration préalable à l'embauche.", "start_date": yesterday},
        "places": [{"insee": "92050", "address": "12 rue des Acacias"}],
        "persons": [{"kind": "legal", "role": "suspect", "legal_name": "SARL Exemple", "siren": "900123456"}],
        "offences": ["7875"],
        "urgency": {"urgent": true, "reason": "Danger immédiat."},
        "submit": {"art40_declaration": true}
    })
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    idem: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(k) = idem {
        req = req.header("Idempotency-Key", k);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, json)
}

fn is_problem(h: &axum::http::HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) == Some("application/problem+json")
}

#[tokio::test]
async fn referrals_api_on_both_backends() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let app = &w.app;

        // No token, a revoked token: 401 problem+json.
        let (s, h, _) = call(app, "GET", "/api/v1/referrals", None, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(is_problem(&h));
        let (s, h, p) = call(app, "POST", "/api/v1/referrals", Some(&w.revoked), None, Some(&valid_body("R1"))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{p}");
        assert!(is_problem(&h));
        assert_eq!(p["status"], 401);

        // A read-only token may not create: 403.
        let (s, h, p) = call(app, "POST", "/api/v1/referrals", Some(&w.read_only), None, Some(&valid_body("R1"))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
        assert!(is_problem(&h));

        // Created with an idempotency key; the retry returns the same referral; another body with it is refused.
        let body = valid_body("UC92-42");
        let (s, h, created) = call(app, "POST", "/api/v1/referrals", Some(&w.full), Some("cle-1"), Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        assert!(created["tracking_number"].as_str().unwrap().starts_with("IP-"));
        assert_eq!(created["status"], "sent");
        assert_eq!(created["parquet"]["name"], "Parquet de Nanterre");
        assert_eq!(h.get(header::LOCATION).unwrap(), &format!("/api/v1/referrals/{id}"));
        let (s, h, again) = call(app, "POST", "/api/v1/referrals", Some(&w.full), Some("cle-1"), Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(again["id"], created["id"]);
        assert_eq!(again["tracking_number"], created["tracking_number"]);
        assert_eq!(h.get("idempotent-replayed").unwrap(), "true");
        let (s, h, p) = call(app, "POST", "/api/v1/referrals", Some(&w.full), Some("cle-1"), Some(&valid_body("autre"))).await;
        assert_eq!(s, StatusCode::CONFLICT, "{p}");
        assert!(is_problem(&h));
        let (_, _, list) = call(app, "GET", "/api/v1/referrals", Some(&w.full), None, None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "the retry created nothing");

        // A bad body: 422 with one French message per field, nothing created.
        let future = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
        let bad = json!({
            "facts": {"description": "", "start_date": future},
            "places": [{"insee": "99999"}],
            "persons": [{"kind": "legal", "role": "suspect", "legal_name": "X", "siren": "123456789"}],
            "offences": ["7875"],
            "urgency": {"urgent": true, "reason": ""},
            "submit": {"art40_declaration": false}
        });
        let (s, h, p) = call(app, "POST", "/api/v1/referrals", Some(&w.full), None, Some(&bad)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert!(is_problem(&h));
        let errors = p["errors"].as_array().unwrap();
        let msg = |field: &str| {
            errors
                .iter()
                .find(|e| e["field"] == field)
                .and_then(|e| e["message"].as_str())
                .unwrap_or_else(|| panic!("no error for {field} in {p}"))
                .to_string()
        };
        assert_eq!(msg("facts.start_date"), "La date ne peut pas être dans le futur.");
        assert!(msg("places[0].insee").contains("ommune"), "{}", msg("places[0].insee"));
        assert!(msg("persons[0].siren").contains("SIREN"), "{}", msg("persons[0].siren"));
        assert_eq!(msg("urgency.reason"), "Indiquez pourquoi le signalement est urgent.");
        let (s, _, p) = call(app, "POST", "/api/v1/referrals", Some(&w.full), None, Some(&json!({"facts": "pas un objet"}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        let (_, _, list) = call(app, "GET", "/api/v1/referrals", Some(&w.full), None, None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing kept on error");

        // Reading back: status, events; another service's token gets 404 and an empty list.
        let (s, _, d) = call(app, "GET", &format!("/api/v1/referrals/{id}"), Some(&w.read_only), None, None).await;
        assert_eq!(s, StatusCode::OK, "{d}");
        assert_eq!(d["status"], "sent");
        assert_eq!(d["events"][0]["to"], "sent");
        assert_eq!(d["offences"][0]["natinf"], "7875");
        assert!(d["decision"].is_null());
        let (s, h, _) = call(app, "GET", &format!("/api/v1/referrals/{id}"), Some(&w.other_service), None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(is_problem(&h));
        let (_, _, list) = call(app, "GET", "/api/v1/referrals", Some(&w.other_service), None, None).await;
        assert!(list["items"].as_array().unwrap().is_empty());
        let (s, _, _) = call(app, "GET", "/api/v1/referrals/inconnu", Some(&w.full), None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // The OpenAPI document describes the new paths.
        let (s, _, doc) = call(app, "GET", "/api/v1/openapi.json", None, None, None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(doc["paths"]["/api/v1/referrals"]["post"].is_object());
        assert!(doc["paths"]["/api/v1/referrals/{id}"]["get"].is_object());
        assert!(doc["components"]["schemas"]["NewReferral"].is_object());
    })
    .await;
}
