//! Web tests of measures (agents' forms, the person's plain-language page), the public help pages and the
//! satisfaction question, on both backends.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::{TimeZone, Utc};
use domain::Lang;
use store::msj::measures::{self, MeasureInput};
use store::msj::ppsmj::{self, PpsmjInput};
use store::orgs::{self, NewOrganisation};
use store::roles::{OrgKind, Role};
use store::sessions::{self, Stage};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{Actor, Db, Scope};
use tower::ServiceExt;
use web::{AppState, Config, Mode};

async fn org(db: &Db, kind: OrgKind, name: &str) -> String {
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
    .id
}

struct Agent {
    scope: Scope,
    token: String,
    csrf: String,
}

async fn agent(db: &Db, email: &str, role: Role, org_id: &str) -> Agent {
    let u = users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Camille".into(),
            last_name: "Agent".into(),
            role,
            organisation_id: org_id.into(),
            password_hash: None,
        },
    )
    .await
    .unwrap();
    let scope = Scope::for_user(db, &u.id, &u.email, u.role, &u.organisation_id, None)
        .await
        .unwrap();
    let (token, session) = sessions::create(db, &u.id, Stage::Full, None, None, store::now())
        .await
        .unwrap();
    Agent {
        scope,
        token,
        csrf: session.csrf_token,
    }
}

fn state(db: &Db) -> AppState {
    AppState::with_local_files(db.clone(), {
        let mut c = Config::from_env(Mode::Demo).expect("demo config from a clean environment");
        c.database_url = Default::default();
        c.bind = "127.0.0.1:0".parse().unwrap();
        c.data_dir = std::env::temp_dir();
        c.public_url = "http://localhost".into();
        c.smtp_url = None;
        c.mail_from = "test@localhost".into();
        c.secure_cookies = false;
        c.session_idle_secs = 3600;
        c.totp_required_for_admins = false;
        c.worker_poll_secs = 60;
        c.sms = web::config::SmsConfig::Demo;
        c.quiet_hours = Some(domain::QuietHours::default());
        c
    })
}

async fn body_of(res: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 4 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn get(st: &AppState, token: Option<&str>, uri: &str) -> (StatusCode, String) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header(header::COOKIE, format!("passerelle_session={t}"));
    }
    let res = web::router(st.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    (status, body_of(res).await)
}

async fn post(st: &AppState, a: &Agent, uri: &str, body: &str) -> (StatusCode, String) {
    let req = Request::post(uri)
        .header(header::COOKIE, format!("passerelle_session={}", a.token))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf_token={}&{body}", a.csrf)))
        .unwrap();
    let res = web::router(st.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    (status, body_of(res).await)
}

struct World {
    cpip92: Agent,
    cpip75: Agent,
    prosecutor: Agent,
    admin: Agent,
    person: String,
}

async fn world(db: &Db) -> World {
    let spip92 = org(db, OrgKind::Spip, "SPIP 92").await;
    let tj = org(db, OrgKind::Tj, "TJ de Nanterre").await;
    let spip75 = org(db, OrgKind::Spip, "SPIP 75").await;
    let national = org(db, OrgKind::National, "Ministère").await;
    orgs::link(db, &Actor::system("test"), &tj, &spip92)
        .await
        .unwrap();
    let cpip92 = agent(db, "cpip@spip92.test", Role::Cpip, &spip92).await;
    let cpip75 = agent(db, "cpip@spip75.test", Role::Cpip, &spip75).await;
    let prosecutor = agent(db, "pr@tj92.test", Role::Prosecutor, &tj).await;
    let admin = agent(db, "admin@national.test", Role::Admin, &national).await;
    let person = ppsmj::create(
        db,
        &cpip92.scope,
        &spip92,
        &PpsmjInput {
            first_name: "Jean".into(),
            last_name: "Martin".into(),
            birth_date: "14/07/1990".into(),
            phone: "06 12 34 56 78".into(),
            ..Default::default()
        },
        store::now(),
    )
    .await
    .unwrap()
    .id;
    World {
        cpip92,
        cpip75,
        prosecutor,
        admin,
        person,
    }
}

const GOOD: &str =
    "kind=sursis_probatoire&decision_date=2026-01-10&start_date=2026-01-15&end_date=2028-01-15\
    &court=Tribunal+judiciaire+de+Nanterre&obligations=soins&detail_soins=Suivi+en+addictologie\
    &obligations=residence&obligations=activite";

#[tokio::test]
async fn an_agent_adds_a_measure_with_obligations_and_sees_it_on_the_person_page() {
    on_each_backend(|db| async move {
        let w = world(&db).await;
        let st = state(&db);
        let form = format!("/msj/personnes/{}/mesures/nouvelle", w.person);
        let (status, body) = get(&st, Some(&w.cpip92.token), &form).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("Indemniser les victimes"),
            "the checkbox list"
        );
        let (status, _) = post(&st, &w.cpip92, &form, GOOD).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, page) = get(
            &st,
            Some(&w.cpip92.token),
            &format!("/msj/personnes/{}?info=mesure_ajoutee", w.person),
        )
        .await;
        assert!(page.contains("Mesure ajoutée."));
        assert!(page.contains("Sursis probatoire"));
        assert!(page.contains("Du 15/01/2026 au 15/01/2028"));
        assert!(page.contains("Se soumettre à des soins — Suivi en addictologie"));
        assert!(
            page.contains("Mesure ajoutée : Sursis probatoire"),
            "history line"
        );

        // Editing keeps the saved values in the form, and saving replaces the obligations.
        let m = &measures::list_for_ppsmj(&db, &w.cpip92.scope, &w.person)
            .await
            .unwrap()[0];
        assert_eq!(m.obligations.len(), 3);
        let edit = format!("/msj/mesures/{}/modifier", m.id);
        let (status, body) = get(&st, Some(&w.cpip92.token), &edit).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("value=\"Suivi en addictologie\""));
        let (status, _) = post(
            &st,
            &w.cpip92,
            &edit,
            "kind=tig&start_date=2026-02-01&end_date=2027-08-01&obligations=stage",
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let m = measures::get(&db, &w.cpip92.scope, &m.id).await.unwrap();
        assert_eq!(m.kind, domain::MeasureKind::Tig);
        assert_eq!(m.obligations.len(), 1);
        let (status, _) = post(
            &st,
            &w.cpip92,
            &format!("/msj/mesures/{}/supprimer", m.id),
            "",
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(measures::list_for_ppsmj(&db, &w.cpip92.scope, &w.person)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_refused_measure_keeps_the_input_with_french_errors_and_stores_nothing() {
    on_each_backend(|db| async move {
        let w = world(&db).await;
        let st = state(&db);
        let form = format!("/msj/personnes/{}/mesures/nouvelle", w.person);
        let (status, body) = post(
            &st,
            &w.cpip92,
            &form,
            "kind=&start_date=2026-03-01&end_date=2026-02-01&court=TJ+de+Nanterre&obligations=stage\
             &detail_stage=Stage+de+citoyennet%C3%A9",
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Choisissez le type de mesure."));
        assert!(body.contains("La date de fin doit être après la date de début."));
        assert!(body.contains("value=\"TJ de Nanterre\""), "input kept");
        assert!(
            body.contains("value=\"Stage de citoyenneté\""),
            "precision kept"
        );
        assert!(body.contains("value=\"stage\" checked"), "checkbox kept");
        let (status, body) =
            post(&st, &w.cpip92, &form, "kind=tig&start_date=31%2F02%2F2026").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Date de début invalide : saisissez-la au format jj/mm/aaaa."));
        assert!(measures::list_for_ppsmj(&db, &w.cpip92.scope, &w.person)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn another_spip_gets_404_and_a_read_only_prosecutor_gets_403_on_measures() {
    on_each_backend(|db| async move {
        let w = world(&db).await;
        let st = state(&db);
        let m = measures::create(
            &db,
            &w.cpip92.scope,
            &w.person,
            &MeasureInput {
                kind: "ddse".into(),
                start_date: "2026-01-01".into(),
                ..Default::default()
            },
            store::now(),
        )
        .await
        .unwrap();
        let new = format!("/msj/personnes/{}/mesures/nouvelle", w.person);
        let edit = format!("/msj/mesures/{}/modifier", m.id);
        let delete = format!("/msj/mesures/{}/supprimer", m.id);
        for uri in [&new, &edit] {
            assert_eq!(
                get(&st, Some(&w.cpip75.token), uri).await.0,
                StatusCode::NOT_FOUND,
                "{uri}"
            );
            assert_eq!(
                get(&st, Some(&w.prosecutor.token), uri).await.0,
                StatusCode::FORBIDDEN,
                "{uri}"
            );
        }
        for uri in [&new, &edit, &delete] {
            assert_eq!(
                post(&st, &w.cpip75, uri, GOOD).await.0,
                StatusCode::NOT_FOUND,
                "{uri}"
            );
            assert_eq!(
                post(&st, &w.prosecutor, uri, GOOD).await.0,
                StatusCode::FORBIDDEN,
                "{uri}"
            );
        }
        // The prosecutor still reads the measure on the person's page, without the buttons.
        let (status, page) = get(
            &st,
            Some(&w.prosecutor.token),
            &format!("/msj/personnes/{}", w.person),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Détention à domicile sous surveillance électronique"));
        assert!(!page.contains("Ajouter une mesure"));
        // The preview of what the person reads follows the same scope.
        let preview = format!("/msj/personnes/{}/mesures/apercu", w.person);
        assert_eq!(
            get(&st, Some(&w.cpip75.token), &preview).await.0,
            StatusCode::NOT_FOUND
        );
        let (status, body) = get(
            &st,
            Some(&w.prosecutor.token),
            &format!("{preview}?langue=ar"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("dir=\"rtl\""));
        assert!(body.contains("الاحتجاز في المنزل تحت المراقبة الإلكترونية"));
        let (_, body) = get(&st, Some(&w.cpip92.token), &preview).await;
        assert!(body.contains("Aperçu pour les agents"));
        assert!(body.contains("Vous faites votre peine chez vous, avec un bracelet électronique."));
        let kept = measures::get(&db, &w.cpip92.scope, &m.id).await.unwrap();
        assert_eq!(kept.kind, domain::MeasureKind::Ddse);
    })
    .await;
}

#[tokio::test]
async fn the_person_reads_their_measure_in_plain_french_and_in_arabic_right_to_left() {
    on_each_backend(|db| async move {
        let w = world(&db).await;
        let st = state(&db);
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 8, 0, 0)
            .unwrap()
            .timestamp();
        measures::create(
            &db,
            &w.cpip92.scope,
            &w.person,
            &MeasureInput {
                kind: "sursis_probatoire".into(),
                start_date: "2026-01-15".into(),
                end_date: "2028-01-15".into(),
                obligations: vec!["soins".into(), "residence".into(), "pas_de_contact".into()],
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
        let fr = body_of(
            web::handlers::space_measure::render_my_measure(&st, &w.person, Lang::Fr, now)
                .await
                .unwrap(),
        )
        .await;
        assert!(fr.contains("<html lang=\"fr\" dir=\"ltr\""));
        assert!(
            fr.contains("Jusqu&#39;au samedi 15 janvier 2028")
                || fr.contains("Jusqu'au samedi 15 janvier 2028"),
            "{fr}"
        );
        assert!(
            fr.contains("vous n&#39;allez pas en prison")
                || fr.contains("vous n'allez pas en prison")
        );
        assert!(
            fr.contains("Justificatif de domicile récent"),
            "proof of the residence obligation"
        );
        assert!(
            fr.contains("le juge de l&#39;application des peines peut vous convoquer")
                || fr.contains("le juge de l'application des peines peut vous convoquer")
        );

        let falc = body_of(
            web::handlers::space_measure::render_my_measure(&st, &w.person, Lang::Falc, now)
                .await
                .unwrap(),
        )
        .await;
        assert!(falc.contains("Demandez un papier au médecin à chaque rendez-vous."));

        let ar = body_of(
            web::handlers::space_measure::render_my_measure(&st, &w.person, Lang::Ar, now)
                .await
                .unwrap(),
        )
        .await;
        assert!(ar.contains("<html lang=\"ar\" dir=\"rtl\""));
        assert!(ar.contains("وقف التنفيذ مع الوضع تحت الاختبار"));
        assert!(ar.contains("15 يناير 2028"));
        assert!(ar.contains("إثبات سكن حديث"));

        assert!(matches!(
            web::handlers::space_measure::render_my_measure(&st, "inconnu", Lang::Fr, now).await,
            Err(web::error::AppError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn help_pages_are_public_and_follow_the_language_asked() {
    on_each_backend(|db| async move {
        let st = state(&db);
        let (status, body) = get(&st, None, "/mon-espace/aide").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<h1>Aide</h1>"));
        assert!(body.contains("/mon-espace/aide/rendez-vous-manque?langue=fr"));
        let (status, body) = get(&st, None, "/mon-espace/aide/qui-me-suit?langue=en").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<html lang=\"en\""));
        assert!(body.contains("The sentence enforcement judge"));
        let (_, body) = get(&st, None, "/mon-espace/aide/mes-donnees?langue=falc").await;
        assert!(
            body.contains("Nous notons chaque fois que quelqu&#39;un les regarde.")
                || body.contains("Nous notons chaque fois que quelqu'un les regarde.")
        );
        let (_, body) = get(
            &st,
            None,
            "/mon-espace/aide/changer-un-rendez-vous?langue=ar",
        )
        .await;
        assert!(body.contains("dir=\"rtl\""));
        assert!(body.contains("تغيير موعد"));
        let (_, body) = get(&st, None, "/mon-espace/aide?langue=klingon").await;
        assert!(
            body.contains("<html lang=\"fr\""),
            "unknown language falls back to French"
        );
        let (status, _) = get(&st, None, "/mon-espace/aide/inconnue").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn an_agent_answers_the_monthly_question_once_and_only_the_national_admin_reads_results() {
    on_each_backend(|db| async move {
        let w = world(&db).await;
        let st = state(&db);
        let (_, home) = get(&st, Some(&w.cpip92.token), "/accueil").await;
        assert!(home.contains("Ce service vous aide-t-il ?"));
        let (status, body) = post(&st, &w.cpip92, "/satisfaction", "score=&comment=Bien").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Choisissez une note de 1 à 5."));
        assert!(body.contains(">Bien</textarea>"), "comment kept");
        assert!(body.contains("pas été envoyé"), "told at the top of the page");
        let long = "x".repeat(501);
        let (status, body) = post(&st, &w.cpip92, "/satisfaction", &format!("score=4&comment={long}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Votre commentaire est trop long : 500 caractères au plus."));
        let (status, _) = post(&st, &w.cpip92, "/satisfaction", "score=4&comment=Tr%C3%A8s+pratique").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, home) = get(&st, Some(&w.cpip92.token), "/accueil?satisfaction=merci").await;
        assert!(home.contains("Merci pour votre réponse"));
        assert!(!home.contains("Ce service vous aide-t-il ?"), "asked once a month");
        // A second post (another tab) does not count twice.
        post(&st, &w.cpip92, "/satisfaction", "score=1").await;

        assert_eq!(get(&st, Some(&w.cpip92.token), "/admin/satisfaction").await.0, StatusCode::FORBIDDEN);
        let (status, page) = get(&st, Some(&w.admin.token), "/admin/satisfaction").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("<td>Agents</td><td>1</td><td>4,0</td><td>0</td><td>0</td><td>0</td><td>1</td><td>0</td>"), "{page}");
        assert!(page.contains("Très pratique"));

        // A person answers from their space, with errors in their language.
        let refused = web::handlers::satisfaction::record_person_answer(
            &st, &w.person, None, "0", "", Lang::Ar, store::now(),
        )
        .await
        .unwrap();
        assert_eq!(refused, Err(vec![("score", "اختر رقمًا من 1 إلى 5.")]));
        web::handlers::satisfaction::record_person_answer(
            &st, &w.person, None, "5", "", Lang::Ar, store::now(),
        )
        .await
        .unwrap()
        .unwrap();
        let (_, page) = get(&st, Some(&w.admin.token), "/admin/satisfaction").await;
        assert!(page.contains("<td>Personnes suivies</td><td>1</td><td>5,0</td>"));
    })
    .await;
}
