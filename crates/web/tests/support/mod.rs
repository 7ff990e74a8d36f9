//! A demo-like world for the permission tests: two SPIPs (one with an antenna), the TJ linked to the first with
//! its parquet, an unrelated TJ linked to the second SPIP, the national administration, one signed-in user per
//! role, and in each SPIP a place, an agenda with a weekly slot type, a slot, a person and an appointment.
#![allow(dead_code)]

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::TimeZone;
use http_body_util::BodyExt;
use store::msj::agendas::{self, SlotTypeInput};
use store::msj::appointments::{self, BookRequest, When};
use store::msj::places::{self, PlaceInput};
use store::msj::ppsmj::{self, PpsmjInput};
use store::orgs::{self, NewOrganisation};
use store::roles::{OrgKind, Role};
use store::sessions::{self, Stage};
use store::users::{self, NewUser};
use store::{Actor, Db, Scope};
use tower::ServiceExt;
use web::{AppState, Config, Mode};

pub fn config() -> Config {
    let mut c = Config::from_env(Mode::Demo).expect("demo config from a clean environment");
    c.public_url = "http://passerelle.test".into();
    c
}

pub async fn org(db: &Db, kind: OrgKind, name: &str, parent: Option<&str>) -> String {
    orgs::create(
        db,
        &Actor::system("test"),
        &NewOrganisation {
            kind,
            name: name.into(),
            parent_id: parent.map(str::to_string),
            departement: Some("92".into()),
            time_zone: "Europe/Paris".into(),
            address: Some("1 place de la Justice, 92000 Nanterre".into()),
            phone: Some("+33140000000".into()),
            email: None,
        },
    )
    .await
    .unwrap()
    .id
}

/// A signed-in user: session cookie and CSRF token.
#[derive(Clone, Debug)]
pub struct Agent {
    pub user_id: String,
    pub email: String,
    pub cookie: String,
    pub csrf: String,
}

pub async fn agent(db: &Db, email: &str, role: Role, org_id: &str) -> Agent {
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
    Agent {
        user_id: u.id,
        email: email.into(),
        cookie: format!("passerelle_session={token}"),
        csrf: s.csrf_token,
    }
}

/// Objects of one SPIP.
#[derive(Clone, Debug)]
pub struct Objects {
    pub place: String,
    pub agenda: String,
    pub slot_type: String,
    pub slot: String,
    pub slot_date: String,
    pub person: String,
    pub appointment: String,
}

static PERSON_NO: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

pub async fn objects(db: &Db, org_id: &str, phone: &str, appi: &str) -> Objects {
    let sys = Scope::system("test");
    let now = store::now();
    let place = places::create(
        db,
        &sys,
        org_id,
        &PlaceInput {
            name: "Antenne de Nanterre".into(),
            address: "12 rue de l'Église, 92000 Nanterre".into(),
            phone: "01 47 00 00 00".into(),
            email: "spip92@justice.fr".into(),
            accessibility: String::new(),
            documents_to_bring: String::new(),
            preparation_url: String::new(),
            departement: "92".into(),
            active: true,
        },
        now,
    )
    .await
    .unwrap();
    places::set_appointment_types(
        db,
        &sys,
        &place.id,
        &["convocation_suivi_spip", "sortie_audience_spip"],
    )
    .await
    .unwrap();
    let agenda = agendas::create(db, &sys, &place.id, "Bureau 3", now)
        .await
        .unwrap();
    let st = agendas::add_slot_type(
        db,
        &sys,
        &agenda.id,
        &SlotTypeInput {
            appointment_type_id: "sortie_audience_spip".into(),
            weekday: 2,
            start: "10:00".into(),
            duration_minutes: 30,
            capacity: 3,
        },
        now,
    )
    .await
    .unwrap();
    let slot = agendas::list_slots(
        db,
        &sys,
        &agenda.id,
        // The service clock (a test may start it at a fixed instant), not the wall clock.
        store::now_utc().date_naive(),
        store::now_utc().date_naive() + chrono::Duration::days(60),
    )
    .await
    .unwrap()
    .remove(0);
    let n = PERSON_NO.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let p = ppsmj::create(
        db,
        &sys,
        org_id,
        &PpsmjInput {
            first_name: "Hélène".into(),
            last_name: format!("Lefèvre{}", ["", "a", "b", "c", "d", "e"][(n % 6) as usize]),
            birth_date: "1990-03-02".into(),
            phone: phone.into(),
            address: "3 allée des Érables".into(),
            city: "92000 Nanterre".into(),
            appi_number: appi.into(),
            ..PpsmjInput::default()
        },
        now,
    )
    .await
    .unwrap();
    let starts_at = chrono_tz::Europe::Paris
        .with_ymd_and_hms(2027, 5, 3, 14, 30, 0)
        .unwrap()
        .timestamp();
    let booked = appointments::book(
        db,
        &sys,
        &BookRequest {
            ppsmj_id: p.id.clone(),
            agenda_id: agenda.id.clone(),
            appointment_type_id: "convocation_suivi_spip".into(),
            when: When::At(starts_at),
            now,
        },
    )
    .await
    .unwrap();
    Objects {
        place: place.id,
        agenda: agenda.id,
        slot_type: st.id,
        slot: slot.id,
        slot_date: slot.local_date.to_string(),
        person: p.id,
        appointment: booked.appointment.id,
    }
}

pub struct World {
    pub db: Db,
    pub app: axum::Router,
    pub national: String,
    pub spip_a: String,
    pub antenna_a: String,
    pub tj: String,
    pub parquet: String,
    pub spip_b: String,
    pub tj_b: String,
    /// Objects of SPIP A (linked to the TJ) and SPIP B (unrelated to both).
    pub a: Objects,
    pub b: Objects,
    /// Users by short name: "cpip_a", "dpip_a", "local_admin_a", "jap", "bex", "prosecutor", "dir_greff_bex",
    /// "local_admin_tj", "parquet_admin", "parquet_magistrate", "cpip_b", "local_admin_b", "admin".
    pub agents: HashMap<&'static str, Agent>,
    pub roles: HashMap<&'static str, (Role, String)>,
    /// The application's file store (proofs and attachments the fixtures store).
    pub files: std::sync::Arc<files::FileStore>,
}

impl World {
    pub async fn build(db: Db) -> World {
        let national = org(&db, OrgKind::National, "Administration centrale", None).await;
        let spip_a = org(&db, OrgKind::Spip, "SPIP des Hauts-de-Seine", None).await;
        let antenna_a = org(&db, OrgKind::Spip, "Antenne de Colombes", Some(&spip_a)).await;
        let tj = org(&db, OrgKind::Tj, "Tribunal judiciaire de Nanterre", None).await;
        let parquet = org(&db, OrgKind::Parquet, "Parquet de Nanterre", Some(&tj)).await;
        let spip_b = org(&db, OrgKind::Spip, "SPIP de Paris", None).await;
        let tj_b = org(&db, OrgKind::Tj, "Tribunal judiciaire de Paris", None).await;
        orgs::link(&db, &Actor::system("test"), &spip_a, &tj)
            .await
            .unwrap();
        orgs::link(&db, &Actor::system("test"), &spip_b, &tj_b)
            .await
            .unwrap();
        let a = objects(&db, &spip_a, "06 12 34 56 78", "20012345A").await;
        let b = objects(&db, &spip_b, "06 98 76 54 32", "19965432B").await;
        let spec: [(&'static str, Role, &String); 14] = [
            ("cpip_a", Role::Cpip, &spip_a),
            ("dpip_a", Role::Dpip, &spip_a),
            ("local_admin_a", Role::LocalAdmin, &spip_a),
            ("cpip_antenna", Role::Cpip, &antenna_a),
            ("jap", Role::Jap, &tj),
            ("bex", Role::Bex, &tj),
            ("prosecutor", Role::Prosecutor, &tj),
            ("dir_greff_bex", Role::DirGreffBex, &tj),
            ("local_admin_tj", Role::LocalAdmin, &tj),
            ("parquet_admin", Role::ParquetAdmin, &parquet),
            ("parquet_magistrate", Role::ParquetMagistrate, &parquet),
            ("cpip_b", Role::Cpip, &spip_b),
            ("local_admin_b", Role::LocalAdmin, &spip_b),
            ("admin", Role::Admin, &national),
        ];
        let mut agents = HashMap::new();
        let mut roles = HashMap::new();
        for (name, role, org_id) in spec {
            let email = format!("{}@test.justice.fr", name.replace('_', "-"));
            agents.insert(name, agent(&db, &email, role, org_id).await);
            roles.insert(name, (role, org_id.clone()));
        }
        let state = AppState::with_local_files(db.clone(), config());
        let files = state.files.clone();
        let app = web::router(state);
        World {
            db,
            app,
            national,
            spip_a,
            antenna_a,
            tj,
            parquet,
            spip_b,
            tj_b,
            a,
            b,
            agents,
            roles,
            files,
        }
    }

    pub fn agent(&self, name: &str) -> &Agent {
        &self.agents[name]
    }

    pub async fn get(&self, who: Option<&str>, uri: &str) -> (StatusCode, String) {
        let mut req = Request::get(uri);
        if let Some(w) = who {
            req = req.header(header::COOKIE, &self.agent(w).cookie);
        }
        send(&self.app, req.body(Body::empty()).unwrap()).await
    }

    /// Posts a form with the agent's CSRF token (appended to `form`).
    pub async fn post(&self, who: Option<&str>, uri: &str, form: &str) -> (StatusCode, String) {
        let mut req =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let mut body = form.to_string();
        if let Some(w) = who {
            let a = self.agent(w);
            req = req.header(header::COOKIE, &a.cookie);
            if !body.is_empty() {
                body.push('&');
            }
            body.push_str(&format!("csrf_token={}", a.csrf));
        }
        send(&self.app, req.body(Body::from(body)).unwrap()).await
    }
}

impl World {
    /// Posts an empty multipart upload (the token in the query string, as the upload forms do).
    pub async fn upload(&self, who: Option<&str>, uri: &str) -> (StatusCode, String) {
        let mut uri = uri.to_string();
        let mut req = Request::post("/");
        if let Some(w) = who {
            let a = self.agent(w);
            uri = format!("{uri}?csrf_token={}", a.csrf);
            req = req.header(header::COOKIE, &a.cookie);
        }
        let req = req
            .uri(uri)
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XYZ")
            .body(Body::from("--XYZ--\r\n"))
            .unwrap();
        send(&self.app, req).await
    }
}

pub async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let mut text = String::from_utf8_lossy(&body).into_owned();
    if let Some(l) = location {
        text = format!("Location: {l}\n{text}");
    }
    (status, text)
}
