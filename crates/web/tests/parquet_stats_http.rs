//! Info Parquet statistics and onboarding of administrations through the real router, on SQLite and PostgreSQL:
//! figures of a small known data set (page and CSV), scoping (a manager sees its administration's numbers only,
//! a parquet its own), onboarding reserved to the national admin and creating the administration, its services
//! and its invited manager (e-mail in the outbox), and what an administration manager may do with users.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use domain::{AlternativeKind, ClassementReason, ReferralDecision};
use http_body_util::BodyExt;
use store::orgs::{self, NewOrganisation};
use store::parquet::natinf;
use store::parquet::referrals::{
    self, FactsInput, PersonInput, PlaceInput, SubmitInput, UrgencyInput,
};
use store::refdata::{self, Commune, Juridiction};
use store::roles::{OrgKind, Role};
use store::sessions::{self, Stage};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{outbox, Actor, Db, Scope};
use tower::ServiceExt;
use web::{AppState, Config, Mode};

const DAY: i64 = 86_400;

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

/// A user with a password, its scope, its session cookie and its CSRF token.
struct Login {
    scope: Scope,
    cookie: String,
    csrf: String,
}

async fn login(db: &Db, email: &str, role: Role, org_id: &str) -> Login {
    let u = users::create(
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
    .unwrap();
    let (token, s) = sessions::create(db, &u.id, Stage::Full, None, None, store::now())
        .await
        .unwrap();
    Login {
        scope: Scope::for_user(db, &u.id, &u.email, u.role, &u.organisation_id, None)
            .await
            .unwrap(),
        cookie: format!("passerelle_session={token}"),
        csrf: s.csrf_token,
    }
}

struct World {
    db: Db,
    app: axum::Router,
    admin: Login,
    manager_a: Login,
    manager_b: Login,
    agent_a: Login,
    nanterre_greffe: Login,
    admin_a: String,
    service_a: String,
}

fn config() -> Config {
    let mut c = Config::from_env(Mode::Demo).expect("demo config from a clean environment");
    c.public_url = "http://passerelle.test".into();
    c
}

/// A referral sent by `agent` about facts in `insee`, citing `offence`; its instants are then set by hand:
/// sent `sent_at`, registered and decided so many days later.
#[allow(clippy::too_many_arguments)]
async fn referral(
    db: &Db,
    agent: &Scope,
    greffe: &Scope,
    magistrate: &Scope,
    insee: &str,
    offence: &str,
    urgent: bool,
    sent_at: i64,
    registered_after: Option<i64>,
    decision: Option<(ReferralDecision, i64)>,
) -> String {
    let id = referrals::create_draft(db, agent).await.unwrap().id;
    referrals::save_facts(
        db,
        agent,
        &id,
        &FactsInput {
            description: "Chantier employant des salariés non déclarés.".into(),
            start_date: "2026-01-05".into(),
            end_date: "2026-02-05".into(),
        },
    )
    .await
    .unwrap();
    referrals::save_places(
        db,
        agent,
        &id,
        &[PlaceInput {
            insee: insee.into(),
            address: "12 rue de l'Exemple".into(),
        }],
    )
    .await
    .unwrap();
    referrals::save_persons(
        db,
        agent,
        &id,
        &[PersonInput {
            kind: "legal".into(),
            role: "suspect".into(),
            legal_name: "SARL Exemple".into(),
            siren: "552100554".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    referrals::save_offences(db, agent, &id, &[offence.to_string()])
        .await
        .unwrap();
    if urgent {
        referrals::save_urgency(
            db,
            agent,
            &id,
            &UrgencyInput {
                urgent: true,
                reason: "Chantier démonté vendredi".into(),
            },
        )
        .await
        .unwrap();
    }
    referrals::submit(
        db,
        agent,
        &id,
        &SubmitInput {
            art40_declaration: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    if registered_after.is_some() {
        referrals::register(db, greffe, &id, &format!("P-{id}"))
            .await
            .unwrap();
    }
    if let Some((d, _)) = &decision {
        referrals::decide(db, magistrate, &id, d, None)
            .await
            .unwrap();
    }
    sqlx::query(
        "UPDATE referrals SET sent_at = $2, registered_at = $3, decided_at = $4 WHERE id = $1",
    )
    .bind(&id)
    .bind(sent_at)
    .bind(registered_after.map(|d| sent_at + d * DAY))
    .bind(decision.map(|(_, d)| sent_at + d * DAY))
    .execute(db.pool())
    .await
    .unwrap();
    id
}

/// Two administrations (A: DREETS with one service, B: DGFiP with one service), two TJ with their parquets, and
/// four referrals sent 40 days ago:
/// - A → Nanterre, travail illégal, registered after 2 days, classement (auteur inconnu) after 10;
/// - A → Nanterre, travail illégal, registered after 4 days, poursuites after 20;
/// - A → Paris, travail illégal, urgent, registered after 1 day, no decision yet;
/// - B → Nanterre, atteintes aux biens, registered after 5 days, alternative (stage) after 30.
async fn world(db: Db) -> World {
    let sys = Actor::system("test");
    let national = mk_org(&db, org(OrgKind::National, "Ministère de la Justice", None)).await;
    let admin_a = mk_org(
        &db,
        org(OrgKind::Administration, "DREETS Île-de-France", None),
    )
    .await;
    let service_a = mk_org(
        &db,
        org(OrgKind::Service, "Unité de contrôle 92", Some(&admin_a)),
    )
    .await;
    let admin_b = mk_org(&db, org(OrgKind::Administration, "DGFiP", None)).await;
    let service_b = mk_org(
        &db,
        org(OrgKind::Service, "SIE de Nanterre", Some(&admin_b)),
    )
    .await;
    let tj_n = mk_org(
        &db,
        org(OrgKind::Tj, "Tribunal judiciaire de Nanterre", None),
    )
    .await;
    let nanterre = mk_org(
        &db,
        org(OrgKind::Parquet, "Parquet de Nanterre", Some(&tj_n)),
    )
    .await;
    let tj_p = mk_org(&db, org(OrgKind::Tj, "Tribunal judiciaire de Paris", None)).await;
    let paris = mk_org(&db, org(OrgKind::Parquet, "Parquet de Paris", Some(&tj_p))).await;
    let commune = |insee: &str, name: &str, dep: &str| Commune {
        insee: insee.into(),
        name: name.into(),
        departement: dep.into(),
        postcodes: vec![],
    };
    refdata::upsert_communes(
        &db,
        &sys,
        &[
            commune("92050", "Nanterre", "92"),
            commune("75056", "Paris", "75"),
        ],
        &|_| {},
    )
    .await
    .unwrap();
    let juridiction = |insee: &str, name: &str, tj: &str| Juridiction {
        insee: insee.into(),
        commune_name: name.into(),
        cour_appel: "Cour d'appel".into(),
        tribunal_judiciaire: tj.into(),
        tribunal_proximite: None,
        conseil_prudhommes: None,
    };
    refdata::replace_juridictions(
        &db,
        &sys,
        &[
            juridiction("92050", "Nanterre", "Tribunal judiciaire de Nanterre"),
            juridiction("75056", "Paris", "Tribunal judiciaire de Paris"),
        ],
        "test",
        &|_| {},
    )
    .await
    .unwrap();
    let mut rows = natinf::parse_csv(
        "NATINF;Qualification\n7875;Exécution d'un travail dissimulé\n7151;Vol\n",
    )
    .unwrap();
    rows[0].family = Some("Travail illégal".into());
    rows[1].family = Some("Atteintes aux biens".into());
    natinf::import(&db, &sys, &rows).await.unwrap();

    let admin = login(&db, "admin@justice.test", Role::Admin, &national).await;
    let manager_a = login(&db, "chef@dreets.test", Role::AdminManager, &admin_a).await;
    let manager_b = login(&db, "chef@dgfip.test", Role::AdminManager, &admin_b).await;
    let agent_a = login(&db, "agent@dreets.test", Role::AdminAgent, &service_a).await;
    let agent_b = login(&db, "agent@dgfip.test", Role::AdminAgent, &service_b).await;
    let nanterre_greffe = login(&db, "greffe@nanterre.test", Role::ParquetGreffe, &nanterre).await;
    let nanterre_mag = login(
        &db,
        "substitut@nanterre.test",
        Role::ParquetMagistrate,
        &nanterre,
    )
    .await;
    let paris_greffe = login(&db, "greffe@paris.test", Role::ParquetGreffe, &paris).await;
    let paris_mag = login(&db, "substitut@paris.test", Role::ParquetMagistrate, &paris).await;

    let t0 = store::now() - 40 * DAY;
    let (g, m) = (&nanterre_greffe.scope, &nanterre_mag.scope);
    let classement = ReferralDecision::ClassementSansSuite {
        reason: ClassementReason::AuteurInconnu,
    };
    let poursuites = ReferralDecision::Poursuites { court_date: None };
    let stage = ReferralDecision::AlternativeAuxPoursuites {
        alternative: AlternativeKind::Stage,
    };
    let a = &agent_a.scope;
    referral(
        &db,
        a,
        g,
        m,
        "92050",
        "7875",
        false,
        t0,
        Some(2),
        Some((classement, 10)),
    )
    .await;
    referral(
        &db,
        a,
        g,
        m,
        "92050",
        "7875",
        false,
        t0,
        Some(4),
        Some((poursuites, 20)),
    )
    .await;
    referral(
        &db,
        a,
        &paris_greffe.scope,
        &paris_mag.scope,
        "75056",
        "7875",
        true,
        t0,
        Some(1),
        None,
    )
    .await;
    referral(
        &db,
        &agent_b.scope,
        g,
        m,
        "92050",
        "7151",
        false,
        t0,
        Some(5),
        Some((stage, 30)),
    )
    .await;

    World {
        app: web::router(AppState::with_local_files(db.clone(), config())),
        db,
        admin,
        manager_a,
        manager_b,
        agent_a,
        nanterre_greffe,
        admin_a,
        service_a,
    }
}

async fn send(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, String, axum::http::HeaderMap) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, String::from_utf8(body).unwrap(), headers)
}

async fn get(
    app: &axum::Router,
    uri: &str,
    who: &Login,
) -> (StatusCode, String, axum::http::HeaderMap) {
    send(
        app,
        Request::get(uri)
            .header(header::COOKIE, &who.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn post(
    app: &axum::Router,
    uri: &str,
    who: &Login,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut fields: Vec<(&str, &str)> = vec![("csrf_token", &who.csrf)];
    fields.extend_from_slice(form);
    let body = serde_urlencoded::to_string(&fields).unwrap();
    let (s, b, _) = send(
        app,
        Request::post(uri)
            .header(header::COOKIE, &who.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    (s, b)
}

fn csv_line<'a>(csv: &'a str, prefix: &str) -> &'a str {
    csv.lines()
        .find(|l| l.trim_start_matches('\u{feff}').starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in\n{csv}"))
}

#[tokio::test]
async fn statistics_figures_are_right_and_scoped_on_both_backends() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let app = &w.app;

        // National admin: everything.
        let (s, csv, h) = get(app, "/info-parquet/statistiques.csv", &w.admin).await;
        assert_eq!(s, StatusCode::OK);
        assert!(h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        assert!(h[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment"));
        assert!(csv.starts_with('\u{feff}'), "BOM for Excel");
        assert!(csv
            .lines()
            .next()
            .unwrap()
            .contains(";Signalements envoyés;"));
        // sent; urgent; registered; decided; poursuites; alternatives; classements;
        // registration median/average (1, 2, 4, 5 days); decision median/average (10, 20, 30 days).
        assert_eq!(
            csv_line(&csv, "Ensemble"),
            "Ensemble;Ensemble;4;1;4;3;1;1;1;2,0;3,0;20,0;20,0"
        );
        assert_eq!(
            csv_line(&csv, "Administration;DREETS"),
            "Administration;DREETS Île-de-France;3;1;3;2;1;0;1;2,0;2,3;10,0;15,0"
        );
        assert_eq!(
            csv_line(&csv, "Administration;DGFiP"),
            "Administration;DGFiP;1;0;1;1;0;1;0;5,0;5,0;30,0;30,0"
        );
        assert_eq!(
            csv_line(&csv, "Tribunal judiciaire;Tribunal judiciaire de Nanterre"),
            "Tribunal judiciaire;Tribunal judiciaire de Nanterre;3;0;3;3;1;1;1;4,0;3,7;20,0;20,0"
        );
        assert!(
            csv_line(&csv, "Tribunal judiciaire;Tribunal judiciaire de Paris")
                .starts_with("Tribunal judiciaire;Tribunal judiciaire de Paris;1;1;1;0;")
        );
        assert!(csv_line(&csv, "Famille NATINF;Travail illégal;3;").len() > 10);
        assert!(csv_line(&csv, "Famille NATINF;Atteintes aux biens;1;").len() > 10);
        assert_eq!(
            csv_line(&csv, "Motif de classement"),
            "Motif de classement;Auteur inconnu;1"
        );
        assert_eq!(
            csv_line(&csv, "Alternative aux poursuites"),
            "Alternative aux poursuites;Stage ou formation;1"
        );
        let month = store::parquet::stats::month_of(store::now() - 40 * DAY);
        assert!(csv_line(&csv, &format!("Mois;{month};")).starts_with(&format!("Mois;{month};4;")));
        // The default period is the last twelve months.
        assert_eq!(csv.lines().filter(|l| l.starts_with("Mois;")).count(), 12);

        let (s, html, _) = get(app, "/info-parquet/statistiques", &w.admin).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("DGFiP") && html.contains("DREETS Île-de-France"));
        assert!(html.contains("<bar-chart"));
        assert!(html.contains("Travail illégal"));
        assert!(html.contains("Auteur inconnu"));

        // Manager of A: A's numbers only, on the page and in the CSV.
        let (s, csv, _) = get(app, "/info-parquet/statistiques.csv", &w.manager_a).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            csv_line(&csv, "Ensemble"),
            "Ensemble;Ensemble;3;1;3;2;1;0;1;2,0;2,3;10,0;15,0"
        );
        assert!(!csv.contains("DGFiP"));
        assert!(!csv.contains("Atteintes aux biens"));
        assert!(!csv.contains("Stage ou formation"));
        let (_, html, _) = get(app, "/info-parquet/statistiques", &w.manager_a).await;
        assert!(!html.contains("DGFiP"));
        assert!(html.contains("DREETS Île-de-France"));

        // Manager of B: B's only.
        let (_, csv, _) = get(app, "/info-parquet/statistiques.csv", &w.manager_b).await;
        assert_eq!(
            csv_line(&csv, "Ensemble"),
            "Ensemble;Ensemble;1;0;1;1;0;1;0;5,0;5,0;30,0;30,0"
        );
        assert!(!csv.contains("DREETS"));
        let (_, html, _) = get(app, "/info-parquet/statistiques", &w.manager_b).await;
        assert!(!html.contains("DREETS"));

        // The Nanterre parquet: what is in its inbox (not Paris's urgent referral).
        let (s, csv, _) = get(app, "/info-parquet/statistiques.csv", &w.nanterre_greffe).await;
        assert_eq!(s, StatusCode::OK);
        assert!(csv_line(&csv, "Ensemble").starts_with("Ensemble;Ensemble;3;0;3;3;"));
        assert!(!csv.contains("Tribunal judiciaire de Paris"));

        // An agent has no statistics page.
        let (s, _, _) = get(app, "/info-parquet/statistiques", &w.agent_a).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _, _) = get(app, "/info-parquet/statistiques.csv", &w.agent_a).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // A period without referrals: zeros, no chart, no error; reversed bounds are accepted.
        let (s, csv, _) = get(
            app,
            "/info-parquet/statistiques.csv?du=2020-03-31&au=2020-01-01",
            &w.admin,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(csv_line(&csv, "Ensemble").starts_with("Ensemble;Ensemble;0;0;0;0;"));
        assert_eq!(csv.lines().filter(|l| l.starts_with("Mois;")).count(), 3);
        let (s, html, _) = get(
            app,
            "/info-parquet/statistiques?du=2020-01-01&au=2020-03-31",
            &w.admin,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("Aucune décision sur la période."));
        assert!(!html.contains("<bar-chart x="));
    })
    .await;
}

#[tokio::test]
async fn onboarding_is_for_the_national_admin_and_invites_the_first_manager() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let app = &w.app;
        let form: Vec<(&str, &str)> = vec![
            ("name", "Mairie de Courbevoie"),
            ("departement", "92"),
            ("time_zone", "Europe/Paris"),
            (
                "services",
                "Police municipale de Courbevoie\r\n\r\n  Service urbanisme de Courbevoie  ",
            ),
            ("first_name", "Inès"),
            ("last_name", "Martin"),
            ("email", "ines.martin@courbevoie.test"),
        ];
        // Others: 403, and nothing created.
        for who in [&w.manager_a, &w.agent_a, &w.nanterre_greffe] {
            let (s, _, _) = get(app, "/info-parquet/administrations", who).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            let (s, _) = post(app, "/info-parquet/administrations", who, &form).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            let (s, _) = post(
                app,
                "/info-parquet/administrations/services",
                who,
                &[
                    ("administration_id", &w.admin_a),
                    ("new_services", "Unité 93"),
                ],
            )
            .await;
            assert_eq!(s, StatusCode::FORBIDDEN);
        }
        assert!(
            orgs::find_by_name(&w.db, OrgKind::Administration, "Mairie de Courbevoie")
                .await
                .unwrap()
                .is_none()
        );

        let (s, html, _) = get(app, "/info-parquet/administrations", &w.admin).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("DREETS Île-de-France") && html.contains("Unité de contrôle 92"));

        // Invalid input: every message at its field, input kept, nothing created.
        let (s, html) = post(
            app,
            "/info-parquet/administrations",
            &w.admin,
            &[
                ("name", "DGFiP"),
                ("departement", "X9"),
                ("time_zone", "Europe/Paris"),
                ("services", "Unité de contrôle 92\nNouveau\nNouveau"),
                ("first_name", "Inès"),
                ("last_name", ""),
                ("email", "chef@dreets.test"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("Une administration porte déjà ce nom."));
        assert!(html.contains("Département invalide"));
        assert!(html.contains("Un service « Unité de contrôle 92 » existe déjà"));
        assert!(html.contains("« Nouveau » figure deux fois."));
        assert!(html.contains("Saisissez le nom du responsable"));
        assert!(html.contains("Un compte existe déjà avec cette adresse e-mail."));
        assert!(html.contains("value=\"Inès\""));
        assert!(orgs::find_by_name(&w.db, OrgKind::Service, "Nouveau")
            .await
            .unwrap()
            .is_none());

        let (s, html) = post(app, "/info-parquet/administrations", &w.admin, &form).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(
            html.contains("Invitation envoyée à ines.martin@courbevoie.test"),
            "{html}"
        );
        let mairie = orgs::find_by_name(&w.db, OrgKind::Administration, "Mairie de Courbevoie")
            .await
            .unwrap()
            .expect("administration created");
        assert_eq!(mairie.departement.as_deref(), Some("92"));
        let services = orgs::children(&w.db, &mairie.id).await.unwrap();
        let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Police municipale de Courbevoie",
                "Service urbanisme de Courbevoie"
            ]
        );
        assert!(services.iter().all(|s| s.kind == OrgKind::Service));
        let manager = users::find_by_email(&w.db, "ines.martin@courbevoie.test")
            .await
            .unwrap()
            .expect("manager invited");
        assert_eq!(manager.role, Role::AdminManager);
        assert_eq!(manager.organisation_id, mairie.id);
        assert!(
            manager.password_hash.is_none(),
            "an invitation has no password"
        );
        let mails = outbox::list_for_recipient(&w.db, "ines.martin@courbevoie.test")
            .await
            .unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].kind, "invitation");
        assert!(mails[0]
            .body_for_recipient()
            .contains("http://passerelle.test/mot-de-passe/nouveau?jeton="));
        assert!(mails[0].body.contains("Responsable (administration)"));
        assert!(mails[0].body.contains("Mairie de Courbevoie"));
        let (_, html, _) = get(app, "/info-parquet/administrations", &w.admin).await;
        assert!(html.contains("invitation en attente"));

        // Services added later.
        let (s, html) = post(
            app,
            "/info-parquet/administrations/services",
            &w.admin,
            &[
                ("administration_id", &mairie.id),
                ("new_services", "État civil de Courbevoie"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert_eq!(orgs::children(&w.db, &mairie.id).await.unwrap().len(), 3);
        // A service is not an administration.
        let (s, _) = post(
            app,
            "/info-parquet/administrations/services",
            &w.admin,
            &[
                ("administration_id", &w.service_a),
                ("new_services", "Sous-service"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}

#[tokio::test]
async fn an_administration_manager_manages_its_administration_users_with_administration_roles_only()
{
    on_each_backend(|db| async move {
        let w = world(db).await;
        let app = &w.app;
        let (s, html, _) = get(app, "/admin/utilisateurs", &w.manager_a).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("agent@dreets.test"));
        assert!(
            !html.contains("agent@dgfip.test"),
            "another administration's users are hidden"
        );
        assert!(!html.contains("greffe@nanterre.test"));
        assert!(!html.contains("value=\"parquet_magistrate\""));
        assert!(!html.contains("value=\"admin\""));
        assert!(html.contains("value=\"administration_agent\""));
        assert!(
            !html.contains("DGFiP"),
            "another administration is not offered"
        );

        let manager = &w.manager_a;
        let invite = |role: &'static str, org: String| async move {
            post(
                app,
                "/admin/utilisateurs",
                manager,
                &[
                    ("first_name", "Léo"),
                    ("last_name", "Durand"),
                    ("email", "leo@dreets.test"),
                    ("role", role),
                    ("organisation_id", &org),
                ],
            )
            .await
        };
        // A parquet or national role is refused, so is another administration.
        let (_, html) = invite("parquet_magistrate", w.service_a.clone()).await;
        assert!(html.contains("Choisissez un rôle dans la liste."));
        let (_, html) = invite("admin", w.service_a.clone()).await;
        assert!(html.contains("Choisissez un rôle dans la liste."));
        let dgfip = orgs::find_by_name(&w.db, OrgKind::Administration, "DGFiP")
            .await
            .unwrap()
            .unwrap();
        let (_, html) = invite("administration_agent", dgfip.id).await;
        assert!(html.contains("Choisissez une organisation dans la liste."));
        assert!(users::find_by_email(&w.db, "leo@dreets.test")
            .await
            .unwrap()
            .is_none());
        // An agent of its own service: invited.
        let (s, html) = invite("administration_agent", w.service_a.clone()).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("Invitation envoyée à leo@dreets.test"),
            "{html}"
        );
        let leo = users::find_by_email(&w.db, "leo@dreets.test")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(leo.role, Role::AdminAgent);
        assert_eq!(
            outbox::list_for_recipient(&w.db, "leo@dreets.test")
                .await
                .unwrap()
                .len(),
            1
        );
        // Another administration's user cannot be opened.
        let other = users::find_by_email(&w.db, "agent@dgfip.test")
            .await
            .unwrap()
            .unwrap();
        let (s, _, _) = get(
            app,
            &format!("/admin/utilisateurs/{}", other.id),
            &w.manager_a,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    })
    .await;
}

async fn audit_count(db: &Db, action: &str, target: &str) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) FROM audit_events WHERE action = $1 AND target_id = $2")
        .bind(action)
        .bind(target)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}

/// The login form posted by an anonymous browser: status, body and Location.
async fn sign_in(app: &axum::Router, email: &str, password: &str) -> (StatusCode, String, String) {
    let (_, _, headers) = send(app, Request::get("/connexion").body(Body::empty()).unwrap()).await;
    let cookie = headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = cookie.split('=').nth(1).unwrap().to_string();
    let body = serde_urlencoded::to_string([
        ("csrf_token", csrf.as_str()),
        ("email", email),
        ("password", password),
    ])
    .unwrap();
    let (s, b, h) = send(
        app,
        Request::post("/connexion")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    let location = h
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (s, b, location)
}

async fn api_list(app: &axum::Router, token: &str) -> StatusCode {
    send(
        app,
        Request::get("/api/v1/referrals")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .0
}

#[tokio::test]
async fn only_the_national_admin_edits_and_deactivates_an_administration_and_its_service() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let app = &w.app;
        let page = format!("/info-parquet/administrations/{}", w.service_a);
        let status = format!("{page}/statut");
        for who in [&w.manager_a, &w.agent_a, &w.nanterre_greffe, &w.manager_b] {
            assert_eq!(get(app, &page, who).await.0, StatusCode::FORBIDDEN);
            let (s, _) = post(app, &page, who, &[("name", "Piraté")]).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            let (s, _) = post(app, &status, who, &[("active", "0")]).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
        }
        // Not an administration nor a service (a parquet, an unknown id): 404 even for the national admin.
        let parquet: String = sqlx::query_scalar::<_, String>(
            "SELECT id FROM organisations WHERE name = 'Parquet de Nanterre'",
        )
        .fetch_one(w.db.pool())
        .await
        .unwrap();
        for id in [parquet.as_str(), "inconnu"] {
            let uri = format!("/info-parquet/administrations/{id}");
            assert_eq!(get(app, &uri, &w.admin).await.0, StatusCode::NOT_FOUND);
            let (s, _) = post(app, &format!("{uri}/statut"), &w.admin, &[("active", "0")]).await;
            assert_eq!(s, StatusCode::NOT_FOUND);
        }
        assert_eq!(
            orgs::get_unscoped(&w.db, &w.service_a).await.unwrap().name,
            "Unité de contrôle 92"
        );

        // Edit: a wrong SIREN is a field error, then the right details are saved and audited.
        let (s, html) = post(
            app,
            &page,
            &w.admin,
            &[
                ("name", "Unité de contrôle 92 Nord"),
                ("siren", "123456780"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("siren-erreur"), "{html}");
        let (s, html) = post(
            app,
            &page,
            &w.admin,
            &[
                ("name", "Unité de contrôle 92 Nord"),
                ("siren", "130 005 481"),
                ("email", "uc92@dreets.test"),
                ("phone", "01 47 00 00 00"),
                ("address", "13 rue de Nanterre, 92000 Nanterre"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("Modifications enregistrées"));
        let o = orgs::get_unscoped(&w.db, &w.service_a).await.unwrap();
        assert_eq!(o.name, "Unité de contrôle 92 Nord");
        assert_eq!(o.siren.as_deref(), Some("130005481"));
        assert_eq!(o.email.as_deref(), Some("uc92@dreets.test"));
        assert_eq!(
            audit_count(&w.db, "organisation.update", &w.service_a).await,
            1
        );

        // Before: the agent works, its service's API token too.
        let (_, raw) = store::parquet::tokens::create(
            &w.db,
            &w.manager_a.scope,
            &w.service_a,
            "Logiciel métier",
            &[store::parquet::tokens::SCOPE_READ],
        )
        .await
        .unwrap();
        assert_eq!(api_list(app, &raw.0).await, StatusCode::OK);
        assert_eq!(
            get(app, "/info-parquet/signalements", &w.agent_a).await.0,
            StatusCode::OK
        );
        let sent: String = sqlx::query_scalar::<_, String>(
            "SELECT id FROM referrals WHERE service_id = $1 AND parquet_id = $2",
        )
        .bind(&w.service_a)
        .bind(&parquet)
        .fetch_one(w.db.pool())
        .await
        .unwrap();

        let (s, html) = post(app, &status, &w.admin, &[("active", "0")]).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("est désactivé"), "{html}");
        assert_eq!(
            audit_count(&w.db, "organisation.deactivate", &w.service_a).await,
            1
        );
        // Its open session is gone, its token refused, its sign-in refused with the reason (right password only).
        let (s, _, h) = get(app, "/info-parquet/signalements", &w.agent_a).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert!(h[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/connexion"));
        assert_eq!(api_list(app, &raw.0).await, StatusCode::UNAUTHORIZED);
        let (s, html, location) = sign_in(app, "agent@dreets.test", "mot de passe de test").await;
        assert_eq!(s, StatusCode::OK, "{location}");
        assert!(html.contains("Votre service a été désactivé"), "{html}");
        let (_, html, _) = sign_in(app, "agent@dreets.test", "mauvais mot de passe").await;
        assert!(!html.contains("désactivé"));
        assert!(html.contains("Adresse e-mail ou mot de passe incorrect."));
        // The parquet still reads the referral it received from the service.
        let (s, html, _) = get(
            app,
            &format!("/info-parquet/signalements/{sent}"),
            &w.nanterre_greffe,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("SARL Exemple"));
        // The list shows the state.
        let (_, html, _) = get(app, "/info-parquet/administrations", &w.admin).await;
        assert!(html.contains("— désactivé"));

        // Deactivating the administration closes its services too (here the manager's own session and sign-in).
        let admin_status = format!("/info-parquet/administrations/{}/statut", w.admin_a);
        let (s, _) = post(app, &status, &w.admin, &[("active", "1")]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            audit_count(&w.db, "organisation.reactivate", &w.service_a).await,
            1
        );
        assert_eq!(api_list(app, &raw.0).await, StatusCode::OK);
        let (s, _, location) = sign_in(app, "agent@dreets.test", "mot de passe de test").await;
        assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/accueil"));
        let (s, _) = post(app, &admin_status, &w.admin, &[("active", "0")]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(api_list(app, &raw.0).await, StatusCode::UNAUTHORIZED);
        let (s, _, _) = get(app, "/info-parquet/signalements", &w.manager_a).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let (_, html, _) = sign_in(app, "agent@dreets.test", "mot de passe de test").await;
        assert!(html.contains("Votre service a été désactivé"));
    })
    .await;
}

#[tokio::test]
async fn a_person_address_is_picked_from_the_communes_and_each_person_is_listed_in_the_summary() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let app = &w.app;
        let id = referrals::create_draft(&w.db, &w.agent_a.scope)
            .await
            .unwrap()
            .id;
        let step = format!("/info-parquet/signalements/{id}/etapes/personnes");
        let person = |commune: &'static str| {
            vec![
                ("action", "ajouter"),
                ("kind", "natural"),
                ("role", "suspect"),
                ("first_name", "Jean"),
                ("last_name", "Dupont"),
                ("address", "12 rue de la Paix"),
                ("residence_commune", commune),
            ]
        };
        // A commune that is not in the list: a field error, nothing saved.
        let (s, html) = post(app, &step, &w.agent_a, &person("Lyon")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("Aucune commune ne correspond à « Lyon »"),
            "{html}"
        );
        assert!(html.contains("12 rue de la Paix"));
        // Several match: a choice among them, nothing saved yet.
        refdata::upsert_communes(
            &w.db,
            &Actor::system("test"),
            &[Commune {
                insee: "91479".into(),
                name: "Paray-Vieille-Poste".into(),
                departement: "91".into(),
                postcodes: vec![],
            }],
            &|_| {},
        )
        .await
        .unwrap();
        let (s, html) = post(app, &step, &w.agent_a, &person("par")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("Plusieurs communes correspondent"), "{html}");
        assert!(html.contains("value=\"75056\"") && html.contains("value=\"91479\""));
        let d = referrals::get_detail(&w.db, &w.agent_a.scope, &id)
            .await
            .unwrap();
        assert!(d.persons.is_empty());
        // By name: found and stored with the street line.
        let (s, _) = post(app, &step, &w.agent_a, &person("nanterre")).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        // A legal person whose commune was chosen among candidates.
        let (s, _) = post(
            app,
            &step,
            &w.agent_a,
            &[
                ("action", "ajouter"),
                ("kind", "legal"),
                ("role", "victim"),
                ("legal_name", "SAS Les Bâtisseurs"),
                ("residence_commune", "par"),
                ("residence_insee", "75056"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let d = referrals::get_detail(&w.db, &w.agent_a.scope, &id)
            .await
            .unwrap();
        assert_eq!(d.persons.len(), 2);
        assert_eq!(d.persons[0].residence_insee.as_deref(), Some("92050"));
        assert_eq!(d.persons[0].residence_name.as_deref(), Some("Nanterre"));
        assert_eq!(d.persons[0].address.as_deref(), Some("12 rue de la Paix"));
        assert_eq!(d.persons[1].residence_insee.as_deref(), Some("75056"));
        assert_eq!(d.persons[1].address, None);
        // The step's table shows the address; the summary lists each person.
        let (_, html, _) = get(app, &step, &w.agent_a).await;
        assert!(
            html.contains("adresse : 12 rue de la Paix, Nanterre (92050)"),
            "{html}"
        );
        let (_, html, _) = get(
            app,
            &format!("/info-parquet/signalements/{id}/etapes/envoi"),
            &w.agent_a,
        )
        .await;
        assert!(
            html.contains("Jean Dupont (personne physique, mis en cause, Nanterre (92050))"),
            "{html}"
        );
        assert!(html.contains("SAS Les Bâtisseurs (personne morale, victime, Paris (75056))"));
    })
    .await;
}
