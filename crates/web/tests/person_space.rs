//! The person's own space (`/mon-espace`) on both backends: sign-in by code without enumeration, code limits,
//! isolation between people and from agents' sessions, CSRF, confirm / change requests seen and answered by the
//! agent, contact change by code, the .ics download, languages.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use messaging::{Rendered, Renderer};
use store::msj::agendas;
use store::msj::appointments::{self, BookRequest, When};
use store::msj::places::{self, PlaceInput};
use store::msj::ppsmj::{self, PpsmjInput};
use store::msj::space;
use store::orgs::{self, NewOrganisation};
use store::outbox;
use store::roles::{OrgKind, Role};
use store::sessions::{self, Stage};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{Actor, Db, Scope};
use tower::ServiceExt;
use web::{AppState, Config, Mode};

const CSRF: &str = "anoncsrf0123456789";
const A_PHONE: &str = "+33612345678";

async fn org(db: &Db, name: &str, dep: &str) -> String {
    orgs::create(
        db,
        &Actor::system("test"),
        &NewOrganisation {
            kind: OrgKind::Spip,
            name: name.into(),
            parent_id: None,
            departement: Some(dep.into()),
            time_zone: "Europe/Paris".into(),
            address: Some("1 rue de l'Exemple, 92000 Nanterre".into()),
            phone: Some("01 40 00 00 00".into()),
            email: Some("spip@example.org".into()),
        },
    )
    .await
    .unwrap()
    .id
}

struct Agent {
    scope: Scope,
    id: String,
    token: String,
    csrf: String,
}

async fn agent(db: &Db, email: &str, org_id: &str) -> Agent {
    let u = users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Claire".into(),
            last_name: "Dubois".into(),
            role: Role::Cpip,
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
        id: u.id,
        token,
        csrf: session.csrf_token,
    }
}

fn state(db: &Db) -> AppState {
    AppState::with_local_files(db.clone(), config())
}

fn config() -> Config {
    {
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
        c.quiet_hours = None;
        c
    }
}

struct World {
    db: Db,
    st: AppState,
    cpip: Agent,
    other_spip_cpip: Agent,
    a: String,
    a_appts: Vec<String>,
    b_appt: String,
}

async fn book(db: &Db, scope: &Scope, ppsmj_id: &str, agenda: &str, at: i64) -> String {
    let mut tx = db.begin().await.unwrap();
    let booked = appointments::book_tx(
        &mut tx,
        scope,
        &BookRequest {
            ppsmj_id: ppsmj_id.into(),
            agenda_id: agenda.into(),
            appointment_type_id: "convocation_suivi_spip".into(),
            when: When::At(at),
            now: store::now(),
        },
        None,
    )
    .await
    .unwrap();
    web::handlers::msj::notify::enqueue_for(
        &mut tx,
        scope,
        &booked.messages,
        None,
        store::now(),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    booked.appointment.id
}

async fn person(db: &Db, scope: &Scope, org: &str, input: PpsmjInput) -> String {
    ppsmj::create(db, scope, org, &input, store::now())
        .await
        .unwrap()
        .id
}

fn input(first: &str, phone: &str, email: &str) -> PpsmjInput {
    PpsmjInput {
        first_name: first.into(),
        last_name: "Martin".into(),
        birth_date: "1990-04-02".into(),
        phone: phone.into(),
        email: email.into(),
        ..Default::default()
    }
}

async fn world(db: Db) -> World {
    let now = store::now();
    let spip92 = org(&db, "SPIP 92", "92").await;
    let spip75 = org(&db, "SPIP 75", "75").await;
    let cpip = agent(&db, "cpip@spip92.test", &spip92).await;
    let other_spip_cpip = agent(&db, "cpip@spip75.test", &spip75).await;
    let sys = Scope::system("test");
    let place = places::create(
        &db,
        &sys,
        &spip92,
        &PlaceInput {
            name: "SPIP 92 — Nanterre".into(),
            address: "10 rue des Trois Fontanot, 92000 Nanterre".into(),
            phone: "01 47 29 50 00".into(),
            accessibility: "Accès de plain-pied.".into(),
            documents_to_bring: "Pièce d'identité, convocation.".into(),
            active: true,
            ..Default::default()
        },
        now,
    )
    .await
    .unwrap();
    places::set_appointment_types(&db, &sys, &place.id, &["convocation_suivi_spip"])
        .await
        .unwrap();
    let agenda = agendas::create(&db, &sys, &place.id, "Agenda de Claire Dubois", now)
        .await
        .unwrap();
    let mut a_input = input("Yasmine", "06 12 34 56 78", "personne@example.org");
    a_input.referent_user_id = Some(cpip.id.clone());
    let a = person(&db, &cpip.scope, &spip92, a_input).await;
    let b = person(
        &db,
        &cpip.scope,
        &spip92,
        input("Bruno", "07 81 22 33 44", "bruno@example.org"),
    )
    .await;
    let mut a_appts = vec![];
    for days in [5, 12, 20] {
        a_appts.push(book(&db, &cpip.scope, &a, &agenda.id, now + days * 86_400).await);
    }
    let b_appt = book(&db, &cpip.scope, &b, &agenda.id, now + 6 * 86_400).await;
    World {
        st: state(&db),
        db,
        cpip,
        other_spip_cpip,
        a,
        a_appts,
        b_appt,
    }
}

struct Res {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Res {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next())
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

async fn send(st: &AppState, method: &str, uri: &str, cookies: &str, form: Option<&str>) -> Res {
    let mut req = Request::builder().method(method).uri(uri);
    if !cookies.is_empty() {
        req = req.header(header::COOKIE, cookies);
    }
    let req = match form {
        Some(f) => req
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(f.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let res = web::router(st.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body =
        String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Res {
        status,
        headers,
        body,
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Asks for a sign-in code; returns the response and the flow cookie.
async fn ask_code(st: &AppState, identifier: &str) -> (Res, String) {
    let res = send(
        st,
        "POST",
        "/mon-espace/connexion",
        &format!("passerelle_csrf={CSRF}"),
        Some(&format!(
            "csrf_token={CSRF}&identifiant={}",
            enc(identifier)
        )),
    )
    .await;
    let flow = res.cookie("passerelle_espace_code").unwrap_or_default();
    (res, flow)
}

async fn submit_code(st: &AppState, flow: &str, code: &str) -> Res {
    send(
        st,
        "POST",
        "/mon-espace/code",
        &format!("passerelle_csrf={CSRF}; passerelle_espace_code={flow}"),
        Some(&format!("csrf_token={CSRF}&code={code}")),
    )
    .await
}

/// The last code sent to `recipient`, read from the outbox as the person would read their SMS.
async fn last_code(db: &Db, recipient: &str) -> Option<String> {
    let msgs = outbox::list_for_recipient(db, recipient).await.unwrap();
    let m = msgs.iter().find(|m| m.kind == "space_code")?;
    m.body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .map(str::to_string)
}

async fn codes_sent(db: &Db, recipient: &str) -> usize {
    outbox::list_for_recipient(db, recipient)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.kind == "space_code")
        .count()
}

/// A signed-in person: their session cookie and CSRF token.
struct PersonCookie {
    cookie: String,
    csrf: String,
}

async fn sign_in(w: &World, identifier: &str, recipient: &str) -> PersonCookie {
    let (res, flow) = ask_code(&w.st, identifier).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let code = last_code(&w.db, recipient).await.expect("a code was sent");
    let res = submit_code(&w.st, &flow, &code).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/mon-espace");
    let token = res.cookie("passerelle_personne").expect("a person session");
    let csrf: String = sqlx::query_scalar::<_, String>(
        "SELECT csrf_token FROM person_sessions WHERE id_hash = $1",
    )
    .bind(store::sha256_hex(&token))
    .fetch_one(w.db.pool())
    .await
    .unwrap();
    PersonCookie {
        cookie: format!("passerelle_personne={token}"),
        csrf,
    }
}

/// The page without what differs from one request to the next (CSRF tokens).
fn stable(body: &str) -> String {
    body.lines()
        .filter(|l| !l.contains("csrf_token"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_answer_is_the_same_whether_or_not_the_number_is_known() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let (known, known_flow) = ask_code(&w.st, "06 12 34 56 78").await;
        let (unknown, unknown_flow) = ask_code(&w.st, "06 99 88 77 66").await;
        for r in [&known, &unknown] {
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert_eq!(r.location(), "/mon-espace/code");
        }
        assert!(!known_flow.is_empty() && !unknown_flow.is_empty());
        let page = |flow: String| {
            let st = w.st.clone();
            async move {
                send(
                    &st,
                    "GET",
                    "/mon-espace/code",
                    &format!("passerelle_csrf={CSRF}; passerelle_espace_code={flow}"),
                    None,
                )
                .await
            }
        };
        let (a, b) = (
            page(known_flow.clone()).await,
            page(unknown_flow.clone()).await,
        );
        assert_eq!(stable(&a.body), stable(&b.body));
        assert!(a.body.contains("appelez votre SPIP"));
        // Only the known number received a code; a wrong code reads the same for both.
        assert_eq!(codes_sent(&w.db, A_PHONE).await, 1);
        assert_eq!(codes_sent(&w.db, "+33699887766").await, 0);
        let (x, y) = (
            submit_code(&w.st, &known_flow, "000000").await,
            submit_code(&w.st, &unknown_flow, "000000").await,
        );
        assert_eq!(x.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(stable(&x.body), stable(&y.body));
        // The known person's code was written to the outbox as it left; the table keeps only hashes.
        let code = last_code(&w.db, A_PHONE).await.unwrap();
        let stored: Vec<String> =
            sqlx::query_scalar::<_, String>("SELECT code_hash FROM person_codes")
                .fetch_all(w.db.pool())
                .await
                .unwrap();
        assert!(stored.iter().all(|h| !h.contains(&code) && h.len() == 64));
    })
    .await;
}

#[tokio::test]
async fn shared_archived_or_refused_numbers_get_no_code_and_the_same_answer() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let spip = w.cpip.scope.actor.organisation_id.clone().unwrap();
        // Two active records sharing a family phone.
        for first in ["Ana", "Léo"] {
            let mut i = input(first, "06 55 44 33 22", "");
            i.phone_shared = true;
            person(&w.db, &w.cpip.scope, &spip, i).await;
        }
        // A record whose person refused to give their phone (the number is kept for calls only).
        let mut i = input("Rémi", "06 11 11 11 11", "");
        i.refused_phone = true;
        person(&w.db, &w.cpip.scope, &spip, i).await;
        // An archived record.
        let archived = person(
            &w.db,
            &w.cpip.scope,
            &spip,
            input("Zoé", "06 22 22 22 22", ""),
        )
        .await;
        ppsmj::archive(&w.db, &w.cpip.scope, &archived, store::now())
            .await
            .unwrap();
        for (typed, e164) in [
            ("06 55 44 33 22", "+33655443322"),
            ("+33 6 11 11 11 11", "+33611111111"),
            ("0622222222", "+33622222222"),
        ] {
            let (res, flow) = ask_code(&w.st, typed).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{typed}");
            assert_eq!(res.location(), "/mon-espace/code");
            assert!(!flow.is_empty());
            assert_eq!(codes_sent(&w.db, e164).await, 0, "{typed}");
        }
        // Something that is neither a phone nor an e-mail: a French message, the input kept, nothing stored.
        let (res, _) = ask_code(&w.st, "bonjour").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.body.contains("Tapez un numéro de portable"));
        assert!(res.body.contains("value=\"bonjour\""));
    })
    .await;
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let (_, flow) = ask_code(&w.st, "06 12 34 56 78").await;
        let code = last_code(&w.db, A_PHONE).await.unwrap();
        let wrong = if code == "111111" { "222222" } else { "111111" };
        for left in (1..=4).rev() {
            let r = submit_code(&w.st, &flow, wrong).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.body.contains(&format!("Essais restants : {left}")),
                "{left}"
            );
        }
        let r = submit_code(&w.st, &flow, wrong).await;
        assert!(r.body.contains("Ce code ne marche plus"));
        // The right code no longer opens anything.
        let r = submit_code(&w.st, &flow, &code).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("Ce code ne marche plus"));
        assert!(r.cookie("passerelle_personne").is_none());
        // A typo that is not a 6-digit code does not use up a try.
        let (_, flow) = ask_code(&w.st, "06 12 34 56 78").await;
        let r = submit_code(&w.st, &flow, "12345").await;
        assert!(r.body.contains("Le code a 6 chiffres"));
        let code = last_code(&w.db, A_PHONE).await.unwrap();
        let spaced = format!("{}+{}", &code[..3], &code[3..]);
        let r = submit_code(&w.st, &flow, &spaced).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(r.cookie("passerelle_personne").is_some());
    })
    .await;
}

#[tokio::test]
async fn at_most_three_codes_per_number_per_hour() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        for typed in ["06 12 34 56 78", "+33612345678", "0612345678"] {
            let (res, _) = ask_code(&w.st, typed).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER);
        }
        let (res, flow) = ask_code(&w.st, "06.12.34.56.78").await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(res.body.contains("trop de codes"));
        assert!(flow.is_empty());
        assert_eq!(codes_sent(&w.db, A_PHONE).await, 3);
        // Unknown numbers are limited the same way (the limit tells nothing about the number).
        for _ in 0..3 {
            ask_code(&w.st, "06 99 88 77 66").await;
        }
        let (res, _) = ask_code(&w.st, "06 99 88 77 66").await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    })
    .await;
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let (_, flow) = ask_code(&w.st, "personne@example.org").await;
        let code = last_code(&w.db, "personne@example.org").await.unwrap();
        // Ten minutes and one second later (the code's deadline moved into the past).
        sqlx::query("UPDATE person_codes SET expires_at = expires_at - $1")
            .bind(space::CODE_VALID_SECS + 1)
            .execute(w.db.pool())
            .await
            .unwrap();
        let r = submit_code(&w.st, &flow, &code).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("Ce code a expiré"));
        assert!(r.cookie("passerelle_personne").is_none());
    })
    .await;
}

#[tokio::test]
async fn a_person_session_ends_after_thirty_idle_minutes_or_twelve_hours() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let t0 = 1_800_000_000;
        let token = space::create_session(&w.db, &w.a, None, None, t0)
            .await
            .unwrap();
        assert!(space::find_session(&w.db, &token, t0 + 29 * 60)
            .await
            .unwrap()
            .is_some());
        // Activity keeps it alive, up to 12 hours after sign-in.
        let mut t = t0;
        while t < t0 + 12 * 3600 - 25 * 60 {
            t += 25 * 60;
            assert!(
                space::find_session(&w.db, &token, t)
                    .await
                    .unwrap()
                    .is_some(),
                "{t}"
            );
        }
        assert!(space::find_session(&w.db, &token, t0 + 12 * 3600 + 60)
            .await
            .unwrap()
            .is_none());
        let token = space::create_session(&w.db, &w.a, None, None, t0)
            .await
            .unwrap();
        assert!(space::find_session(&w.db, &token, t0 + 31 * 60)
            .await
            .unwrap()
            .is_none());
        // Gone for good once expired.
        assert!(space::find_session(&w.db, &token, t0 + 60)
            .await
            .unwrap()
            .is_none());
    })
    .await;
}

#[tokio::test]
async fn a_person_sees_only_their_own_appointments_and_principals_never_mix() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let p = sign_in(&w, "06 12 34 56 78", A_PHONE).await;
        let mine = send(&w.st, "GET", "/mon-espace/rendez-vous", &p.cookie, None).await;
        assert_eq!(mine.status, StatusCode::OK);
        for id in &w.a_appts {
            assert!(mine.body.contains(id.as_str()));
        }
        assert!(!mine.body.contains(w.b_appt.as_str()));
        // Another person's appointment id, in every URL: 404.
        for uri in [
            format!("/mon-espace/rendez-vous/{}", w.b_appt),
            format!("/mon-espace/rendez-vous/{}/agenda.ics", w.b_appt),
        ] {
            let r = send(&w.st, "GET", &uri, &p.cookie, None).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
            assert!(r.body.contains("ne vous concerne pas"), "{uri}");
        }
        for action in ["confirmer", "changement"] {
            let r = send(
                &w.st,
                "POST",
                &format!("/mon-espace/rendez-vous/{}/{action}", w.b_appt),
                &p.cookie,
                Some(&format!("csrf_token={}&motif=test", p.csrf)),
            )
            .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
        }
        let n: i64 = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM appointment_requests")
            .fetch_one(w.db.pool())
            .await
            .unwrap();
        assert_eq!(n, 0);
        // A person's cookie does not open agents' pages.
        let r = send(
            &w.st,
            "GET",
            &format!("/msj/personnes/{}", w.a),
            &p.cookie,
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(r.location().starts_with("/connexion"));
        // An agent's session does not open the space: the person sign-in page.
        let agent_cookie = format!("passerelle_session={}", w.cpip.token);
        let r = send(&w.st, "GET", "/mon-espace/rendez-vous", &agent_cookie, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location(), "/mon-espace");
        let r = send(&w.st, "GET", "/mon-espace", &agent_cookie, None).await;
        assert!(r.body.contains("name=\"identifiant\""));
        // Signing out ends the session.
        let r = send(
            &w.st,
            "POST",
            "/mon-espace/deconnexion",
            &p.cookie,
            Some(&format!("csrf_token={}", p.csrf)),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let r = send(&w.st, "GET", "/mon-espace/rendez-vous", &p.cookie, None).await;
        assert_eq!(r.location(), "/mon-espace");
        // Sign-in, reads and sign-out are in the audit trail under the person's own label.
        let actions: Vec<String> = sqlx::query_scalar::<_, String>(
            "SELECT action FROM audit_events WHERE actor_label = $1 ORDER BY at",
        )
        .bind(format!("personne:{}", w.a))
        .fetch_all(w.db.pool())
        .await
        .unwrap();
        for a in [
            "person.code_sent",
            "person.signin",
            "person.read",
            "person.signout",
        ] {
            assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_space_forms_need_the_sessions_csrf_token() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let p = sign_in(&w, "06 12 34 56 78", A_PHONE).await;
        let uri = format!("/mon-espace/rendez-vous/{}/confirmer", w.a_appts[0]);
        for body in [
            "".to_string(),
            "csrf_token=forged".to_string(),
            format!("csrf_token={CSRF}"),
        ] {
            let r = send(&w.st, "POST", &uri, &p.cookie, Some(&body)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{body}");
        }
        // The anonymous sign-in form needs its double-submit cookie.
        let r = send(
            &w.st,
            "POST",
            "/mon-espace/connexion",
            "",
            Some(&format!("csrf_token={CSRF}&identifiant=0612345678")),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(codes_sent(&w.db, A_PHONE).await, 1);
        let n: i64 = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM appointment_requests")
            .fetch_one(w.db.pool())
            .await
            .unwrap();
        assert_eq!(n, 0);
        let r = send(
            &w.st,
            "POST",
            &uri,
            &p.cookie,
            Some(&format!("csrf_token={}", p.csrf)),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn confirmations_and_change_requests_reach_the_agent_who_answers() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let p = sign_in(&w, "06 12 34 56 78", A_PHONE).await;
        let post = |uri: String, body: String| {
            let (st, cookie) = (w.st.clone(), p.cookie.clone());
            async move { send(&st, "POST", &uri, &cookie, Some(&body)).await }
        };
        let r = post(
            format!("/mon-espace/rendez-vous/{}/confirmer", w.a_appts[0]),
            format!("csrf_token={}", p.csrf),
        )
        .await;
        assert_eq!(
            r.location(),
            format!("/mon-espace/rendez-vous/{}?info=confirme", w.a_appts[0])
        );
        // A change request needs a reason, of limited length.
        let change_uri = format!("/mon-espace/rendez-vous/{}/changement", w.a_appts[1]);
        let r = post(
            change_uri.clone(),
            format!("csrf_token={}&motif=+++", p.csrf),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("Expliquez pourquoi vous voulez changer"));
        let r = post(
            change_uri.clone(),
            format!("csrf_token={}&motif={}", p.csrf, "a".repeat(501)),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("trop long"));
        let r = post(
            change_uri.clone(),
            format!(
                "csrf_token={}&motif={}",
                p.csrf,
                enc("Entretien d'embauche ce jour-là")
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = send(
            &w.st,
            "GET",
            &format!("/mon-espace/rendez-vous/{}?info=demande", w.a_appts[1]),
            &p.cookie,
            None,
        )
        .await;
        assert!(page.body.contains("Votre demande est envoyée"));
        assert!(!page.body.contains("id=\"form-changement\""));
        // The agent sees both on the person page, and the change request in the work queue.
        let agent_cookie = format!("passerelle_session={}", w.cpip.token);
        let show = send(
            &w.st,
            "GET",
            &format!("/msj/personnes/{}", w.a),
            &agent_cookie,
            None,
        )
        .await;
        assert_eq!(show.status, StatusCode::OK);
        assert!(show.body.contains("Confirme sa venue"));
        assert!(show.body.contains("embauche ce jour-là"));
        let queue = send(&w.st, "GET", "/msj/a-traiter", &agent_cookie, None).await;
        assert!(queue.body.contains("Demandes de changement"));
        assert!(queue.body.contains("Yasmine"));
        let request_id: String = sqlx::query_scalar::<_, String>(
            "SELECT id FROM appointment_requests WHERE kind = 'change'",
        )
        .fetch_one(w.db.pool())
        .await
        .unwrap();
        assert!(queue
            .body
            .contains(&format!("/msj/demandes/{request_id}/refuser")));
        assert!(queue.body.contains(&format!("remplace={}", w.a_appts[1])));
        // An agent of another SPIP cannot answer it.
        let r = send(
            &w.st,
            "POST",
            &format!("/msj/demandes/{request_id}/refuser"),
            &format!("passerelle_session={}", w.other_spip_cpip.token),
            Some(&format!(
                "csrf_token={}&reponse=non",
                w.other_spip_cpip.csrf
            )),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        // An empty refusal is explained, nothing sent.
        let refuse = |body: String| {
            let st = w.st.clone();
            let uri = format!("/msj/demandes/{request_id}/refuser");
            let cookie = agent_cookie.clone();
            async move { send(&st, "POST", &uri, &cookie, Some(&body)).await }
        };
        let r = refuse(format!(
            "csrf_token={}&reponse=&retour=a-traiter",
            w.cpip.csrf
        ))
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("Écrivez un message"));
        let r = refuse(format!(
            "csrf_token={}&reponse={}&retour=a-traiter",
            w.cpip.csrf,
            enc("Ce rendez-vous ne peut pas être déplacé : venez avec votre employeur.")
        ))
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location(), "/msj/a-traiter?info=demande-refusee");
        // The person is told by SMS and e-mail, and reads the answer in their space.
        let to_phone = outbox::list_for_recipient(&w.db, A_PHONE).await.unwrap();
        assert!(to_phone.iter().any(|m| m.kind == "space_answer"));
        let to_mail = outbox::list_for_recipient(&w.db, "personne@example.org")
            .await
            .unwrap();
        assert!(to_mail
            .iter()
            .any(|m| m.kind == "space_answer" && m.body.contains("venez avec votre employeur")));
        let page = send(
            &w.st,
            "GET",
            &format!("/mon-espace/rendez-vous/{}", w.a_appts[1]),
            &p.cookie,
            None,
        )
        .await;
        assert!(page.body.contains("Réponse de votre conseiller"));
        assert!(page.body.contains("venez avec votre employeur"));
        let queue = send(&w.st, "GET", "/msj/a-traiter", &agent_cookie, None).await;
        assert!(!queue
            .body
            .contains(&format!("/msj/demandes/{request_id}/refuser")));
    })
    .await;
}

#[tokio::test]
async fn a_new_phone_is_verified_by_code_and_the_old_number_gets_nothing_more() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let p = sign_in(&w, "06 12 34 56 78", A_PHONE).await;
        let pending_before: Vec<String> = outbox::list_for_recipient(&w.db, A_PHONE)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.state == "programmed" && m.related_type.as_deref() == Some("appointment"))
            .map(|m| m.id)
            .collect();
        assert!(!pending_before.is_empty(), "reminders are programmed");
        let post = |uri: &'static str, body: String| {
            let (st, cookie) = (w.st.clone(), p.cookie.clone());
            async move { send(&st, "POST", uri, &cookie, Some(&body)).await }
        };
        // A landline or another record's number is refused with a French message.
        let r = post(
            "/mon-espace/coordonnees/changer",
            format!("csrf_token={}&telephone=01+40+00+00+00", p.csrf),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("pas un numéro de portable"));
        let r = post(
            "/mon-espace/coordonnees/changer",
            format!("csrf_token={}&telephone=07+81+22+33+44", p.csrf),
        )
        .await;
        assert!(r.body.contains("ne peut pas être utilisé"));
        let r = post(
            "/mon-espace/coordonnees/changer",
            format!("csrf_token={}&telephone=07+11+22+33+44", p.csrf),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let flow = r.cookie("passerelle_espace_contact").unwrap();
        let code = last_code(&w.db, "+33711223344")
            .await
            .expect("the code goes to the new number");
        // Nothing changes before the code is given.
        assert_eq!(
            space::me(&w.db, &w.a).await.unwrap().phone.as_deref(),
            Some(A_PHONE)
        );
        let r = send(
            &w.st,
            "POST",
            "/mon-espace/coordonnees/code",
            &format!("{}; passerelle_espace_contact={flow}", p.cookie),
            Some(&format!("csrf_token={}&code={code}", p.csrf)),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location(), "/mon-espace/coordonnees?info=change");
        assert_eq!(
            space::me(&w.db, &w.a).await.unwrap().phone.as_deref(),
            Some("+33711223344")
        );
        // Pending messages now go to the new number; none is left for the old one.
        for id in &pending_before {
            assert_eq!(
                outbox::get_unscoped(&w.db, id).await.unwrap().recipient,
                "+33711223344"
            );
        }
        assert!(outbox::list_for_recipient(&w.db, A_PHONE)
            .await
            .unwrap()
            .iter()
            .all(|m| m.state != "programmed" || m.kind == "space_code"));
        // A message written for the old number before the change (a race) is not sent when its time comes.
        let id = outbox::enqueue(
            w.db.pool(),
            &outbox::NewMessage {
                channel: "sms".into(),
                kind: "reminder".into(),
                organisation_id: None,
                recipient: A_PHONE.into(),
                subject: None,
                body: "Rappel".into(),
                due_at: 0,
                related_type: Some("appointment".into()),
                related_id: Some(w.a_appts[0].clone()),
            },
        )
        .await
        .unwrap();
        let renderer = web::render::AppointmentRenderer {
            public_url: "http://localhost".into(),
        };
        let m = outbox::get_unscoped(&w.db, &id).await.unwrap();
        assert!(matches!(
            renderer.render(&w.db, &m).await.unwrap(),
            Rendered::Cancel(_)
        ));
        // The agent sees the change in the person's history.
        let show = send(
            &w.st,
            "GET",
            &format!("/msj/personnes/{}", w.a),
            &format!("passerelle_session={}", w.cpip.token),
            None,
        )
        .await;
        assert!(show
            .body
            .contains("Modifié par la personne dans son espace : numéro de portable"));
        assert!(show.body.contains("07 11 22 33 44"));
        // The e-mail address changes the same way, by a code sent to the new address.
        let r = post(
            "/mon-espace/coordonnees/changer",
            format!("csrf_token={}&email=pas-une-adresse", p.csrf),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.body.contains("adresse e-mail n&#39;est pas valide") || r.body.contains("pas valide")
        );
        let r = post(
            "/mon-espace/coordonnees/changer",
            format!("csrf_token={}&email=Nouvelle%40Example.org", p.csrf),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let flow = r.cookie("passerelle_espace_contact").unwrap();
        let code = last_code(&w.db, "nouvelle@example.org").await.unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let submit = |code: String| {
            let (st, cookie, csrf, flow) =
                (w.st.clone(), p.cookie.clone(), p.csrf.clone(), flow.clone());
            async move {
                send(
                    &st,
                    "POST",
                    "/mon-espace/coordonnees/code",
                    &format!("{cookie}; passerelle_espace_contact={flow}"),
                    Some(&format!("csrf_token={csrf}&code={code}")),
                )
                .await
            }
        };
        let r = submit(wrong.to_string()).await;
        assert!(r.body.contains("Essais restants : 4"));
        assert_eq!(
            space::me(&w.db, &w.a).await.unwrap().email.as_deref(),
            Some("personne@example.org")
        );
        let r = submit(code).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            space::me(&w.db, &w.a).await.unwrap().email.as_deref(),
            Some("nouvelle@example.org")
        );
        // Signing in now works with the new number only.
        let (_, _) = ask_code(&w.st, "06 12 34 56 78").await;
        assert_eq!(
            codes_sent(&w.db, A_PHONE).await,
            1,
            "only the first sign-in code"
        );
    })
    .await;
}

/// Unfolds RFC 5545 content lines (CRLF followed by a space continues the line).
fn unfold(ics: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for raw in ics.split("\r\n") {
        if let Some(rest) = raw.strip_prefix(' ') {
            out.last_mut().unwrap().push_str(rest);
        } else if !raw.is_empty() {
            out.push(raw.to_string());
        }
    }
    out
}

#[tokio::test]
async fn the_calendar_file_parses_back_to_the_appointment() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let p = sign_in(&w, "personne@example.org", "personne@example.org").await;
        let id = &w.a_appts[0];
        let r = send(
            &w.st,
            "GET",
            &format!("/mon-espace/rendez-vous/{id}/agenda.ics"),
            &p.cookie,
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/calendar"));
        assert!(r.body.ends_with("\r\n"));
        assert!(
            r.body.split("\r\n").all(|l| l.len() <= 75),
            "lines folded at 75 octets"
        );
        let lines = unfold(&r.body);
        assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
        assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
        let get = |name: &str| {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .unwrap_or_else(|| panic!("{name} missing"))
                .to_string()
        };
        assert_eq!(get("VERSION"), "2.0");
        assert_eq!(get("METHOD"), "PUBLISH");
        assert!(get("UID").starts_with(id.as_str()));
        let starts = appointments::get(&w.db, &Scope::system("test"), id)
            .await
            .unwrap()
            .starts_at;
        let dtstart =
            chrono::NaiveDateTime::parse_from_str(&get("DTSTART"), "%Y%m%dT%H%M%SZ").unwrap();
        assert_eq!(dtstart.and_utc().timestamp(), starts);
        assert!(get("LOCATION").contains("10 rue des Trois Fontanot"));
        assert_eq!(get("SUMMARY"), "Rendez-vous avec votre conseiller (SPIP)");
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 1);
    })
    .await;
}

#[tokio::test]
async fn pages_follow_the_chosen_language_and_arabic_is_right_to_left() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let p = sign_in(&w, "06 12 34 56 78", A_PHONE).await;
        let r = send(&w.st, "GET", "/mon-espace/rendez-vous", &p.cookie, None).await;
        assert!(r.body.contains("<html lang=\"fr\" dir=\"ltr\""));
        assert!(r.body.contains("Mes rendez-vous"));
        let r = send(
            &w.st,
            "GET",
            "/mon-espace/langue/ar?retour=/mon-espace/rendez-vous",
            &p.cookie,
            None,
        )
        .await;
        assert_eq!(r.location(), "/mon-espace/rendez-vous");
        assert_eq!(r.cookie("passerelle_langue").as_deref(), Some("ar"));
        let r = send(
            &w.st,
            "GET",
            "/mon-espace/rendez-vous",
            &format!("{}; passerelle_langue=ar", p.cookie),
            None,
        )
        .await;
        assert!(r.body.contains("<html lang=\"ar\" dir=\"rtl\""));
        assert!(r.body.contains("مواعيدي"));
        let r = send(
            &w.st,
            "GET",
            "/mon-espace/rendez-vous",
            &format!("{}; passerelle_langue=en", p.cookie),
            None,
        )
        .await;
        assert!(r.body.contains("<html lang=\"en\" dir=\"ltr\""));
        assert!(r.body.contains("My appointments"));
        assert!(r.body.contains(" at "));
        // No open redirect through the switch.
        let r = send(
            &w.st,
            "GET",
            "/mon-espace/langue/en?retour=https://example.org",
            "",
            None,
        )
        .await;
        assert_eq!(r.location(), "/mon-espace");
        // The language of messages is the person's preference, saved and audited.
        let r = send(
            &w.st,
            "POST",
            "/mon-espace/coordonnees/preferences",
            &p.cookie,
            Some(&format!("csrf_token={}&langue=fr_falc", p.csrf)),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let me = space::me(&w.db, &w.a).await.unwrap();
        assert_eq!(me.language.as_str(), "fr_falc");
        assert!(!me.email_reminders);
        assert!(!space::email_reminders_on(&w.db, &w.a).await.unwrap());
    })
    .await;
}

fn multipart(filename: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----passerelleTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    st: &AppState,
    p: &PersonCookie,
    appointment: &str,
    filename: &str,
    content: &[u8],
) -> Res {
    let (ct, body) = multipart(filename, content);
    let req = Request::post(format!(
        "/mon-espace/rendez-vous/{appointment}/justificatifs?csrf_token={}",
        p.csrf
    ))
    .header(header::CONTENT_TYPE, ct)
    .header(header::COOKIE, &p.cookie)
    .body(Body::from(body))
    .unwrap();
    let res = web::router(st.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body =
        String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Res {
        status,
        headers,
        body,
    }
}

async fn proofs(db: &Db) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM appointment_documents")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn run_proofs(db: Db, clamd: Option<files::ClamdAddr>) {
    let mut w = world(db).await;
    let dir = std::env::temp_dir().join(format!(
        "passerelle-proofs-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let fs = files::FileStore::local(
        &dir,
        files::Keyring::random(),
        clamd.clone().map(files::Clamd::new),
        1 << 30,
    )
    .unwrap();
    w.st = AppState::new(w.db.clone(), config(), std::sync::Arc::new(fs));
    let p = sign_in(&w, "06 12 34 56 78", A_PHONE).await;
    let appt = &w.a_appts[0];
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[7u8; 4096]);
    let r = upload(&w.st, &p, appt, "bulletin de salaire.png", &png).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location(),
        format!("/mon-espace/rendez-vous/{appt}?info=justificatif")
    );
    let page = send(&w.st, "GET", r.location(), &p.cookie, None).await;
    assert!(page.body.contains("Document envoyé"));
    assert!(page.body.contains("bulletin de salaire.png"));
    assert!(page.body.contains("Pas encore vu"));
    // Refused, nothing kept: another type, a PDF that is not one, more than 10 MB, the EICAR test file.
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(10 * 1024 * 1024 + 1, b'0');
    let eicar = files::testing::EICAR;
    for (name, content, status, message) in [
        (
            "programme.exe",
            &b"MZ\x90\x00"[..],
            StatusCode::UNPROCESSABLE_ENTITY,
            "pas accepté",
        ),
        (
            "faux.pdf",
            &b"bonjour"[..],
            StatusCode::UNPROCESSABLE_ENTITY,
            "pas accepté",
        ),
        (
            "gros.pdf",
            &big[..],
            StatusCode::PAYLOAD_TOO_LARGE,
            "trop gros",
        ),
        (
            "eicar.pdf",
            eicar,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Ce fichier",
        ),
    ] {
        let r = upload(&w.st, &p, appt, name, content).await;
        assert_eq!(r.status, status, "{name}");
        assert!(r.body.contains(message), "{name}");
    }
    assert_eq!(proofs(&w.db).await, 1);
    assert_eq!(
        std::fs::read_dir(dir.join("attachments"))
            .map(|d| d.count())
            .unwrap_or(0),
        1
    );
    // Another person's appointment: 404, nothing read.
    let r = upload(&w.st, &p, &w.b_appt, "bulletin.png", &png).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The CPIP sees it on the appointment, downloads it (decrypted) and marks it seen; the person sees "vu".
    let agent_cookie = format!("passerelle_session={}", w.cpip.token);
    let page = send(
        &w.st,
        "GET",
        &format!("/msj/rendez-vous/{appt}"),
        &agent_cookie,
        None,
    )
    .await;
    assert!(page.body.contains("Justificatifs envoyés par la personne"));
    let doc: String = sqlx::query_scalar::<_, String>("SELECT id FROM appointment_documents")
        .fetch_one(w.db.pool())
        .await
        .unwrap();
    let dl = web::router(w.st.clone())
        .oneshot(
            Request::get(format!("/msj/justificatifs/{doc}"))
                .header(header::COOKIE, &agent_cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(dl.status(), StatusCode::OK);
    assert_eq!(
        dl.into_body().collect().await.unwrap().to_bytes().to_vec(),
        png
    );
    let other = format!("passerelle_session={}", w.other_spip_cpip.token);
    assert_eq!(
        send(
            &w.st,
            "GET",
            &format!("/msj/justificatifs/{doc}"),
            &other,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let r = send(
        &w.st,
        "POST",
        &format!("/msj/justificatifs/{doc}/vu"),
        &other,
        Some(&format!("csrf_token={}", w.other_spip_cpip.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        &w.st,
        "POST",
        &format!("/msj/justificatifs/{doc}/vu"),
        &agent_cookie,
        Some(&format!("csrf_token={}", w.cpip.csrf)),
    )
    .await;
    assert_eq!(r.location(), format!("/msj/rendez-vous/{appt}"));
    let page = send(
        &w.st,
        "GET",
        &format!("/msj/rendez-vous/{appt}"),
        &agent_cookie,
        None,
    )
    .await;
    assert!(page.body.contains("Vu le"));
    let page = send(
        &w.st,
        "GET",
        &format!("/mon-espace/rendez-vous/{appt}"),
        &p.cookie,
        None,
    )
    .await;
    assert!(page.body.contains("Vu par votre conseiller"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn proofs_are_photos_or_pdfs_under_10_mb_scanned_and_marked_seen_by_the_agent() {
    let clamd = files::testing::ClamdProcess::start().await;
    let addr = clamd.as_ref().map(|c| c.addr.clone());
    on_each_backend(|db| run_proofs(db, addr.clone())).await;
}

#[tokio::test]
async fn the_summons_sms_links_to_the_space_without_signing_in() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let summon = outbox::list_for_recipient(&w.db, A_PHONE)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.kind == "summon" && m.channel == "sms")
            .expect("a summons SMS");
        let renderer = web::render::AppointmentRenderer {
            public_url: "https://passerelle.example".into(),
        };
        let Rendered::Replace(r) = renderer.render(&w.db, &summon).await.unwrap() else {
            panic!("a summons is rendered again at send time");
        };
        let link = r
            .body
            .lines()
            .find_map(|l| l.strip_prefix("Mon espace : https://passerelle.example"))
            .expect("a link to the space")
            .to_string();
        assert!(link.starts_with("/mon-espace?n="), "{link}");
        assert!(link.len() <= "/mon-espace?n=".len() + 10);
        // The link opens the sign-in page with the number prefilled: nothing in it signs anyone in.
        let page = send(&w.st, "GET", &link, "", None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("value=\"06 12 34 56 78\""));
        assert!(page.cookie("passerelle_personne").is_none());
        let r = send(&w.st, "GET", "/mon-espace/rendez-vous", "", None).await;
        assert_eq!(r.location(), "/mon-espace");
        // A forged or unknown token prefills nothing.
        for n in ["AAAAAAAAAA", "x%27%3B--", ""] {
            let page = send(&w.st, "GET", &format!("/mon-espace?n={n}"), "", None).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.body.contains("value=\"\""), "{n}");
        }
    })
    .await;
}

#[tokio::test]
async fn retention_deletes_the_persons_space_data_with_the_record() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let p = sign_in(&w, "06 12 34 56 78", A_PHONE).await;
        let r = send(
            &w.st,
            "POST",
            &format!("/mon-espace/rendez-vous/{}/changement", w.a_appts[0]),
            &p.cookie,
            Some(&format!("csrf_token={}&motif=malade", p.csrf)),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        space::refuse_change(
            &w.db,
            &w.cpip.scope,
            &sqlx::query_scalar::<_, String>("SELECT id FROM appointment_requests")
                .fetch_one(w.db.pool())
                .await
                .unwrap(),
            "Maintenu.",
            store::now(),
        )
        .await
        .unwrap();
        space::add_document(
            &w.db,
            &w.a,
            &w.a_appts[0],
            &space::NewDocument {
                filename: "a.pdf".into(),
                content_type: "application/pdf".into(),
                size_bytes: 10,
                sha256: "0".repeat(64),
                storage_key: "attachments/x".into(),
                scan_status: "clean".into(),
            },
            None,
            store::now(),
        )
        .await
        .unwrap();
        let now = store::now();
        for id in &w.a_appts {
            appointments::cancel(&w.db, &w.cpip.scope, id, "test", now)
                .await
                .unwrap();
        }
        ppsmj::archive(&w.db, &w.cpip.scope, &w.a, now)
            .await
            .unwrap();
        store::msj::retention::run_retention(&w.db, now + 200 * 86_400)
            .await
            .unwrap();
        for table in [
            "person_codes",
            "person_sessions",
            "appointment_requests",
            "appointment_documents",
        ] {
            let n: i64 = sqlx::query_scalar::<_, i64>(&format!(
                "SELECT COUNT(*) FROM {table} WHERE ppsmj_id = $1"
            ))
            .bind(&w.a)
            .fetch_one(w.db.pool())
            .await
            .unwrap();
            assert_eq!(n, 0, "{table}");
        }
        assert!(outbox::list_for_recipient(&w.db, A_PHONE)
            .await
            .unwrap()
            .is_empty());
        assert!(space::me(&w.db, &w.a).await.is_err());
    })
    .await;
}

/// "Ma mesure" in the space: the signed-in person reads their own measure and obligations in plain words, in their
/// language (Arabic right to left), never someone else's; signed out, the page leads to the sign-in.
#[tokio::test]
async fn the_person_reads_their_own_measure_explained_in_their_language() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let now = store::now();
        store::msj::measures::create(
            &w.db,
            &w.cpip.scope,
            &w.a,
            &store::msj::measures::MeasureInput {
                kind: "sursis_probatoire".into(),
                start_date: "2026-01-15".into(),
                end_date: "2028-01-14".into(),
                obligations: vec!["soins".into()],
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
        let signed_out = send(&w.st, "GET", "/mon-espace/ma-mesure", "", None).await;
        assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
        assert!(
            signed_out.location().starts_with("/mon-espace"),
            "{}",
            signed_out.location()
        );

        let p = sign_in(&w, "06 12 34 56 78", A_PHONE).await;
        let r = send(&w.st, "GET", "/mon-espace/ma-mesure", &p.cookie, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Sursis probatoire"), "{}", r.body);
        assert!(r.body.contains("soins"), "{}", r.body);
        assert!(r.body.contains("2028"), "{}", r.body);
        let r = send(
            &w.st,
            "GET",
            "/mon-espace/ma-mesure?langue=ar",
            &p.cookie,
            None,
        )
        .await;
        assert!(r.body.contains("dir=\"rtl\""), "{}", r.body);

        // Bruno has no measure: his page says so and shows nothing of Yasmine's.
        let b = sign_in(&w, "07 81 22 33 44", "+33781223344").await;
        let r = send(&w.st, "GET", "/mon-espace/ma-mesure", &b.cookie, None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("id=\"aucune-mesure\""), "{}", r.body);
        assert!(!r.body.contains("Sursis probatoire"));

        let reads: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE details LIKE '%ma-mesure%'",
        )
        .fetch_one(w.db.pool())
        .await
        .unwrap();
        assert!(reads >= 3, "{reads} audited reads");
    })
    .await;
}

/// Frugal SMS: the national summons, rendered for a real place (with an em dash in its name, as people type
/// them) and the production URL, goes out in GSM-7 and fits two SMS parts with its STOP link. The link to the
/// space adds about sixty characters, a third part at most.
#[tokio::test]
async fn the_national_summons_is_gsm7_and_fits_two_parts_with_its_stop_link() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let summon = outbox::list_for_recipient(&w.db, A_PHONE)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.kind == "summon" && m.channel == "sms")
            .expect("a summons SMS");
        let renderer = web::render::AppointmentRenderer {
            public_url: "https://passerelle.justice.gouv.fr".into(),
        };
        let Rendered::Replace(r) = renderer.render(&w.db, &summon).await.unwrap() else {
            panic!("a summons is rendered again at send time");
        };
        let counted = domain::template::sms_segments(&r.body);
        assert_eq!(
            counted.encoding,
            domain::template::SmsEncoding::Gsm7,
            "{}",
            r.body
        );
        assert!(r.body.contains("SPIP 92 - Nanterre"), "{}", r.body);
        let without_space_link: String = r
            .body
            .lines()
            .filter(|l| !l.starts_with("Mon espace : "))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            domain::template::sms_segments(&without_space_link).segments <= 2,
            "{without_space_link}"
        );
        assert!(counted.segments <= 3, "{}", r.body);
    })
    .await;
}

/// The right of access (RGPD): the service managing the file exports everything held on the person — the record,
/// appointments, messages, requests, who read the file — and the justificatifs they sent, in one zip, audited;
/// secrets (code and session hashes, CSRF tokens) are left out; another SPIP gets the 404.
#[tokio::test]
async fn the_managing_service_exports_everything_held_on_the_person_in_one_zip() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let p = sign_in(&w, "06 12 34 56 78", A_PHONE).await;
        let appt = &w.a_appts[0];
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[9u8; 2048]);
        let r = upload(&w.st, &p, appt, "attestation employeur.png", &png).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = send(
            &w.st,
            "POST",
            &format!("/mon-espace/rendez-vous/{appt}/changement"),
            &p.cookie,
            Some(&format!("csrf_token={}&motif=Formation+ce+jour-la", p.csrf)),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

        let url = format!("/msj/personnes/{}/export.zip", w.a);
        let other = send_bytes(
            &w.st,
            &url,
            &format!("passerelle_session={}", w.other_spip_cpip.token),
        )
        .await;
        assert_eq!(other.0, StatusCode::NOT_FOUND);
        let (status, headers, bytes) =
            send_bytes(&w.st, &url, &format!("passerelle_session={}", w.cpip.token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers.get(header::CONTENT_TYPE).unwrap(),
            "application/zip"
        );
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let json: serde_json::Value = {
            let mut f = zip.by_name("donnees.json").unwrap();
            let mut s = String::new();
            std::io::Read::read_to_string(&mut f, &mut s).unwrap();
            serde_json::from_str(&s).unwrap()
        };
        assert_eq!(json["dossier"][0]["first_name"], "Yasmine");
        assert_eq!(json["rendez_vous"].as_array().unwrap().len(), 3);
        assert_eq!(json["demandes"][0]["reason"], "Formation ce jour-la");
        assert!(!json["messages"].as_array().unwrap().is_empty());
        assert!(!json["journal_des_acces"].as_array().unwrap().is_empty());
        let text = json.to_string();
        for secret in [
            "code_hash",
            "id_hash",
            "csrf_token",
            "flow_hash",
            "\"secret\"",
        ] {
            assert!(!text.contains(secret), "{secret} in the export");
        }
        let mut sent = zip
            .by_name("justificatifs/01-attestation employeur.png")
            .expect("the justificatif as sent");
        let mut back = vec![];
        std::io::Read::read_to_end(&mut sent, &mut back).unwrap();
        assert_eq!(back, png);
        let exports: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'ppsmj.export' AND target_id = $1",
        )
        .bind(&w.a)
        .fetch_one(w.db.pool())
        .await
        .unwrap();
        assert_eq!(exports, 1);
    })
    .await;
}

async fn send_bytes(st: &AppState, uri: &str, cookies: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let req = Request::builder()
        .method("GET")
        .uri(uri)
        .header(header::COOKIE, cookies)
        .body(Body::empty())
        .unwrap();
    let res = web::router(st.clone()).oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, bytes)
}
async fn send_json(st: &AppState, uri: &str, cookies: &str, csrf: Option<&str>, json: &str) -> Res {
    let mut req = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::COOKIE, cookies)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(c) = csrf {
        req = req.header("x-csrf-token", c);
    }
    let res = web::router(st.clone())
        .oneshot(req.body(Body::from(json.to_string())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body =
        String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Res {
        status,
        headers,
        body,
    }
}

/// `PushSubscription.toJSON()` of a browser (a P-256 point is 65 bytes starting with 4, the auth secret 16 bytes).
fn subscription_json(endpoint: &str) -> String {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let mut point = [7u8; 65];
    point[0] = 4;
    serde_json::json!({
        "endpoint": endpoint,
        "expirationTime": null,
        "keys": { "p256dh": b64(&point), "auth": b64(&[9u8; 16]) }
    })
    .to_string()
}

#[tokio::test]
async fn a_person_turns_push_reminders_on_and_off_for_their_own_browser_only() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let key = messaging::PushChannel::new(
            &messaging::generate_vapid_private_key(),
            "mailto:test@localhost",
        )
        .unwrap()
        .public_key()
        .to_string();
        let st = w.st.clone().with_push_key(&key);
        let yasmine = sign_in(&w, "06 12 34 56 78", A_PHONE).await;
        let bruno = sign_in(&w, "07 81 22 33 44", "+33781223344").await;

        // The section is there for the script to reveal (hidden without JS); the page has no inline script.
        let page = send(&st, "GET", "/mon-espace/coordonnees", &yasmine.cookie, None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page
            .body
            .contains("<section id=\"notifications\" class=\"fr-mt-4w\" hidden"));
        assert!(page.body.contains(&format!("data-key=\"{key}\"")));
        assert!(page.body.contains("Recevoir les rappels sur ce téléphone"));
        assert!(page
            .body
            .contains("<script src=\"/static/app/push.js\" defer></script>"));
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        // Without a VAPID key, push is not offered at all.
        let plain = send(
            &w.st,
            "GET",
            "/mon-espace/coordonnees",
            &yasmine.cookie,
            None,
        )
        .await;
        assert!(!plain.body.contains("notifications"));
        let r = send_json(
            &w.st,
            "/mon-espace/notifications",
            &yasmine.cookie,
            Some(&yasmine.csrf),
            &subscription_json("https://push.example/y"),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        // The service worker and its script are static files.
        let sw = send(&st, "GET", "/mon-espace/sw.js", "", None).await;
        assert_eq!(sw.status, StatusCode::OK);
        assert!(sw.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        assert!(sw.body.contains("showNotification"));
        let js = send(&st, "GET", "/static/app/push.js", "", None).await;
        assert_eq!(js.status, StatusCode::OK);
        assert!(js.body.contains("/mon-espace/notifications"));

        let endpoint = "https://push.example/send/yasmine-phone";
        let sub = subscription_json(endpoint);
        // CSRF: no token, a forged one, or another person's.
        for csrf in [None, Some("forged"), Some(bruno.csrf.as_str())] {
            let r = send_json(
                &st,
                "/mon-espace/notifications",
                &yasmine.cookie,
                csrf,
                &sub,
            )
            .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{csrf:?}");
        }
        // Nobody signed in: sent to the sign-in page.
        let r = send_json(
            &st,
            "/mon-espace/notifications",
            &format!("passerelle_csrf={CSRF}"),
            Some(CSRF),
            &sub,
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(store::push::for_person(&w.db, &w.a)
            .await
            .unwrap()
            .is_empty());
        // Garbage is refused with a problem, never a 500.
        for bad in [
            "not json".to_string(),
            "{}".to_string(),
            subscription_json("http://push.example/plain-http"),
            subscription_json("https://user@push.example/x"),
            r#"{"endpoint":"https://push.example/x","keys":{"p256dh":"AAAA","auth":"AAAA"}}"#
                .to_string(),
        ] {
            let r = send_json(
                &st,
                "/mon-espace/notifications",
                &yasmine.cookie,
                Some(&yasmine.csrf),
                &bad,
            )
            .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            assert_eq!(r.headers[header::CONTENT_TYPE], "application/problem+json");
        }

        let r = send_json(
            &st,
            "/mon-espace/notifications",
            &yasmine.cookie,
            Some(&yasmine.csrf),
            &sub,
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        let subs = store::push::for_person(&w.db, &w.a).await.unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].endpoint, endpoint);

        // A reminder written from now on also goes to that browser, rendered like the SMS text at send time.
        let agenda: String = sqlx::query_scalar::<_, String>("SELECT id FROM agendas LIMIT 1")
            .fetch_one(w.db.pool())
            .await
            .unwrap();
        let appt = book(
            &w.db,
            &w.cpip.scope,
            &w.a,
            &agenda,
            store::now() + 9 * 86_400,
        )
        .await;
        let pushes: Vec<_> = outbox::list_for_recipient(&w.db, &subs[0].id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.related_id.as_deref() == Some(appt.as_str()))
            .collect();
        assert_eq!(pushes.len(), 1, "one push reminder");
        assert_eq!(
            (pushes[0].channel.as_str(), pushes[0].kind.as_str()),
            ("push", "reminder")
        );
        let sms_reminder = outbox::list_for_recipient(&w.db, A_PHONE)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.kind == "reminder" && m.related_id.as_deref() == Some(appt.as_str()))
            .expect("an SMS reminder too");
        assert_eq!(pushes[0].due_at, sms_reminder.due_at, "same due time");
        let renderer = web::render::AppointmentRenderer {
            public_url: "https://passerelle.example".into(),
        };
        let Rendered::Replace(r) = renderer.render(&w.db, &pushes[0]).await.unwrap() else {
            panic!("a push reminder is rendered at send time");
        };
        assert!(r.body.starts_with("Rappel"), "{}", r.body);
        assert!(
            !r.body.contains("STOP"),
            "no SMS opt-out link in a notification"
        );
        assert_eq!(r.subject.as_deref(), Some("Rappel de votre rendez-vous"));

        // Bruno cannot turn off Yasmine's notifications (the answer tells nothing either).
        let off = serde_json::json!({ "endpoint": endpoint }).to_string();
        let r = send_json(
            &st,
            "/mon-espace/notifications/arret",
            &bruno.cookie,
            Some(&bruno.csrf),
            &off,
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(store::push::for_person(&w.db, &w.a).await.unwrap().len(), 1);
        // Yasmine can.
        let r = send_json(
            &st,
            "/mon-espace/notifications/arret",
            &yasmine.cookie,
            Some(&yasmine.csrf),
            &off,
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert!(store::push::for_person(&w.db, &w.a)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}
