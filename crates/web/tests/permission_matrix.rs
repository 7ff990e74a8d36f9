//! The isolation and permission matrix, on SQLite and PostgreSQL.
//!
//! 1. `web::route_table()` lists exactly the routes declared in the source (`.route("…")` under `src/`): a route
//!    added without its row fails here.
//! 2. Every route with a parameter naming a tenant object is called, GET and POST, by every role of a demo-like
//!    world (and anonymously) with ids of objects of the caller's own organisation, of a linked one, of one it
//!    manages and of an unrelated one. The expected outcome comes from the permission model
//!    (`store::policy`, through the caller's real `Scope::relation`): denied → 403 or 404 (404 when the caller does
//!    not even see the organisation and the role may use the area), allowed → neither 403 nor 404, anonymous →
//!    303 to the login page (401 for the JSON API), and never a 5xx.

mod support;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use store::outbox::{self, NewMessage, Outcome};
use store::roles::Role;
use store::testing::on_each_backend;
use store::{Action, Relation, Scope};
use support::World;
use web::routes::Object;

fn source_routes() -> BTreeSet<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("routes.rs") {
                out.push(p);
            }
        }
    }
    let mut files = vec![];
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut routes = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            let trimmed = rest.trim_start();
            if let Some(stripped) = trimmed.strip_prefix('"') {
                let end = stripped.find('"').unwrap();
                routes.insert(stripped[..end].to_string());
            }
        }
    }
    routes
}

#[test]
fn the_route_table_lists_every_route_of_the_router() {
    let table: BTreeSet<String> = web::route_table()
        .iter()
        .map(|r| r.path.to_string())
        .collect();
    let source = source_routes();
    let missing: Vec<_> = source.difference(&table).collect();
    let stale: Vec<_> = table.difference(&source).collect();
    assert!(
        missing.is_empty(),
        "routes missing from web::routes (add them, with the object their id names): {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "routes in the table but not in the router: {stale:?}"
    );
    assert_eq!(
        table.len(),
        web::route_table().len(),
        "a route is listed twice"
    );
    for r in web::route_table() {
        assert!(r.get || r.post, "{} has no method in the table", r.path);
        if r.path.contains('{') {
            assert_ne!(
                r.object,
                Object::None,
                "{} has a parameter: say what it names",
                r.path
            );
        }
    }
}

/// What one call should give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allowed,
    Denied,
    /// Checked elsewhere (Info Parquet's own access rules, see `parquet/access.rs` and its tests): only "no 5xx"
    /// and "no access from an unrelated organisation" here.
    NotDenialOnly,
    Login,
    ApiUnauthorized,
    /// A person's own page (`/mon-espace`): only the person's session opens it; anyone else is sent to the person
    /// sign-in page (a POST may fail the CSRF check first: 403).
    PersonLogin,
}

/// One object of the world a route's parameters can name, with the organisation that decides access.
struct Target {
    uri: String,
    org: String,
    action_get: Action,
    action_post: Action,
}

/// The ids of `object` in organisation `side` ("a": SPIP A, linked to the TJ; "b": SPIP B, unrelated to it).
/// Adding an `Object` without a fixture here does not compile: the matrix covers every kind of id.
fn targets(w: &World, path: &str, object: Object, fx: &Fixtures) -> Vec<Target> {
    let mut out = vec![];
    for side in ["a", "b"] {
        let (objs, org) = if side == "a" {
            (&w.a, &w.spip_a)
        } else {
            (&w.b, &w.spip_b)
        };
        let fill = |id: &str| path.replace("{id}", id);
        let t = |uri: String, org: &str, get: Action, post: Action| Target {
            uri,
            org: org.to_string(),
            action_get: get,
            action_post: post,
        };
        let posted = if path.contains("/archiver")
            || path.contains("/restaurer")
            || path.contains("/modifier")
            || path.contains("/rendez-vous/nouveau")
            || path.contains("/annuler")
            || path.contains("/resultat")
            || path.contains("/mesures/nouvelle")
            || path.contains("/supprimer")
            || path.contains("/refuser")
            || path.ends_with("/vu")
        {
            Action::WorkOnFile
        } else if path.contains("/dessaisissement") || path.contains("/export.zip") {
            Action::ManageFile
        } else {
            Action::ReadRecords
        };
        match object {
            Object::None | Object::Public | Object::TemplateKey => {}
            Object::Person => {
                // Reading the edit or booking form is part of working on the file.
                let get = if posted == Action::WorkOnFile || posted == Action::ManageFile {
                    posted
                } else {
                    Action::ReadRecords
                };
                out.push(t(fill(&objs.person), org, get, posted));
            }
            Object::Appointment => out.push(t(
                fill(&objs.appointment),
                org,
                Action::ReadRecords,
                Action::WorkOnFile,
            )),
            Object::Place => out.push(t(
                fill(&objs.place),
                org,
                Action::ReadRecords,
                Action::ConfigureAgenda,
            )),
            Object::Agenda => out.push(t(
                fill(&objs.agenda),
                org,
                Action::ReadRecords,
                Action::ConfigureAgenda,
            )),
            Object::AgendaSlotType => out.push(t(
                fill(&objs.agenda).replace("{tid}", &objs.slot_type),
                org,
                Action::ReadRecords,
                Action::ConfigureAgenda,
            )),
            Object::AgendaDay => out.push(t(
                fill(&objs.agenda).replace("{date}", &format!("{}.pdf", objs.slot_date)),
                org,
                Action::ReadRecords,
                Action::ReadRecords,
            )),
            Object::Slot => out.push(t(
                fill(&objs.slot),
                org,
                Action::ReadRecords,
                Action::ManageSlots,
            )),
            Object::Divestment => {
                // Answered by the receiving service only (SPIP B for the request about SPIP A's person).
                if side == "b" {
                    out.push(t(
                        fill(&fx.divestment),
                        &w.spip_b,
                        Action::ManageFile,
                        Action::ManageFile,
                    ));
                }
            }
            Object::Message => {
                let id = if side == "a" {
                    &fx.message_a
                } else {
                    &fx.message_b
                };
                out.push(t(
                    fill(id),
                    org,
                    Action::FollowMessages,
                    Action::FollowMessages,
                ));
            }
            Object::User => {
                let (uid, uorg) = if side == "a" {
                    (&w.agent("cpip_a").user_id, &w.spip_a)
                } else {
                    (&w.agent("cpip_b").user_id, &w.spip_b)
                };
                let action = if path.starts_with("/admin/") {
                    Action::ManageUsers
                } else {
                    Action::ReadProfile
                };
                out.push(t(fill(uid), uorg, action, action));
                if side == "a" {
                    // A parquet's account: not the TJ's local admin's.
                    out.push(t(
                        fill(&w.agent("parquet_magistrate").user_id),
                        &w.parquet,
                        action,
                        action,
                    ));
                }
            }
            Object::ParquetOrganisation => {
                // An administration's service: the national admin's only (the org decides nothing here).
                let sorg = if side == "a" {
                    &fx.service_x
                } else {
                    &fx.service_y
                };
                out.push(t(
                    fill(sorg),
                    sorg,
                    Action::ManageUsers,
                    Action::ManageUsers,
                ));
            }
            Object::Referral | Object::ReferralMessage | Object::Attachment | Object::ApiToken => {
                let (id, sorg) = match (object, side) {
                    (Object::Attachment, "a") => (&fx.attachment_x, &fx.service_x),
                    (Object::Attachment, _) => (&fx.attachment_y, &fx.service_y),
                    (Object::ApiToken, "a") => (&fx.token_x, &fx.service_x),
                    (Object::ApiToken, _) => (&fx.token_y, &fx.service_y),
                    (_, "a") => (&fx.referral_x, &fx.service_x),
                    _ => (&fx.referral_y, &fx.service_y),
                };
                let uri = fill(id)
                    .replace("{step}", "faits")
                    .replace("{action}", "enregistrer")
                    .replace("{message_id}", "inconnu");
                out.push(t(uri, sorg, Action::ReadRecords, Action::ReadRecords));
            }
            // Editing or deleting a measure is editing the person's record.
            Object::Measure => out.push(t(
                fill(if side == "a" {
                    &fx.measure_a
                } else {
                    &fx.measure_b
                }),
                org,
                Action::WorkOnFile,
                Action::WorkOnFile,
            )),
            // Answering a person's change request is working on their file.
            Object::PersonRequest => out.push(t(
                fill(if side == "a" {
                    &fx.request_a
                } else {
                    &fx.request_b
                }),
                org,
                Action::WorkOnFile,
                Action::WorkOnFile,
            )),
            // Downloading a proof is reading the records; marking it seen is working on the file.
            Object::Proof => out.push(t(
                fill(if side == "a" {
                    &fx.proof_a
                } else {
                    &fx.proof_b
                }),
                org,
                Action::ReadRecords,
                Action::WorkOnFile,
            )),
            // The person's own appointment: no agent role opens it (the action is not used).
            Object::PersonSpace => out.push(t(
                fill(&objs.appointment),
                org,
                Action::ReadRecords,
                Action::ReadRecords,
            )),
        }
    }
    out
}

struct Fixtures {
    divestment: String,
    message_a: String,
    message_b: String,
    service_x: String,
    service_y: String,
    referral_x: String,
    referral_y: String,
    attachment_x: String,
    attachment_y: String,
    token_x: String,
    token_y: String,
    measure_a: String,
    measure_b: String,
    request_a: String,
    request_b: String,
    proof_a: String,
    proof_b: String,
}

fn a_measure() -> store::msj::measures::MeasureInput {
    store::msj::measures::MeasureInput {
        kind: "sursis_probatoire".into(),
        decision_date: "2027-01-10".into(),
        start_date: "2027-01-15".into(),
        end_date: "2029-01-15".into(),
        court: "Tribunal judiciaire de Nanterre".into(),
        obligations: vec!["activite".into()],
        details: Default::default(),
    }
}

/// A measure, a change request and a proof on the person and appointment of SPIP A or B.
async fn person_objects(w: &World, objs: &support::Objects) -> (String, String, String) {
    let sys = Scope::system("test");
    let now = store::now();
    let measure = store::msj::measures::create(&w.db, &sys, &objs.person, &a_measure(), now)
        .await
        .unwrap()
        .id;
    store::msj::space::request_change(
        &w.db,
        &objs.person,
        &objs.appointment,
        "Je travaille ce jour-là.",
        None,
        now,
    )
    .await
    .unwrap();
    let request: String = sqlx::query_scalar(
        "SELECT id FROM appointment_requests WHERE appointment_id = $1 AND kind = 'change'",
    )
    .bind(&objs.appointment)
    .fetch_one(w.db.pool())
    .await
    .unwrap();
    let pdf: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    let stored = w
        .files
        .put_stream(
            "justificatif.pdf",
            Box::pin(futures::stream::iter([Ok::<_, std::io::Error>(pdf)])),
        )
        .await
        .unwrap();
    let proof = store::msj::space::add_document(
        &w.db,
        &objs.person,
        &objs.appointment,
        &store::msj::space::NewDocument {
            filename: stored.filename.clone(),
            content_type: stored.content_type.to_string(),
            size_bytes: stored.size as i64,
            sha256: stored.sha256.clone(),
            storage_key: stored.key.clone(),
            scan_status: "clean".into(),
        },
        None,
        now,
    )
    .await
    .unwrap();
    (measure, request, proof)
}

async fn fixtures(w: &World) -> Fixtures {
    let sys = Scope::system("test");
    let now = store::now();
    let divestment =
        store::msj::divestments::request(&w.db, &sys, &w.a.person, &w.spip_b, "déménagement", now)
            .await
            .unwrap()
            .id;
    let mut messages = vec![];
    for (org, appointment) in [(&w.spip_a, &w.a.appointment), (&w.spip_b, &w.b.appointment)] {
        messages.push(
            outbox::enqueue(
                w.db.pool(),
                &NewMessage {
                    channel: "sms".into(),
                    kind: "summon".into(),
                    organisation_id: Some(org.clone()),
                    recipient: "+33600000000".into(),
                    subject: None,
                    body: "Vous êtes convoqué(e).".into(),
                    due_at: 0,
                    related_type: Some("appointment".into()),
                    related_id: Some(appointment.clone()),
                },
            )
            .await
            .unwrap(),
        );
    }
    let claimed = outbox::claim_due(&w.db, now + 10, 100, 60).await.unwrap();
    let outcomes: Vec<Outcome> = claimed
        .iter()
        .map(|m| Outcome::Failed {
            id: m.id.clone(),
            attempts: 5,
            error: "refusé".into(),
            permanent: true,
        })
        .collect();
    outbox::record_outcomes(&w.db, &outcomes, now + 10)
        .await
        .unwrap();
    let mut info = vec![];
    for (adm, svc, who) in [
        ("DREETS", "Unité 92", "agent_x"),
        ("DGFiP", "Brigade 75", "agent_y"),
    ] {
        let admin = support::org(&w.db, store::roles::OrgKind::Administration, adm, None).await;
        let service = support::org(&w.db, store::roles::OrgKind::Service, svc, Some(&admin)).await;
        let agent = support::agent(
            &w.db,
            &format!("{who}@admin.test"),
            Role::AdminAgent,
            &service,
        )
        .await;
        let manager = support::agent(
            &w.db,
            &format!("chef-{who}@admin.test"),
            Role::AdminManager,
            &admin,
        )
        .await;
        let agent_scope =
            Scope::for_user(&w.db, &agent.user_id, who, Role::AdminAgent, &service, None)
                .await
                .unwrap();
        let manager_scope = Scope::for_user(
            &w.db,
            &manager.user_id,
            who,
            Role::AdminManager,
            &admin,
            None,
        )
        .await
        .unwrap();
        let referral = store::parquet::referrals::create_draft(&w.db, &agent_scope)
            .await
            .unwrap();
        let attachment = store::parquet::attachments::record(
            &w.db,
            &agent_scope,
            &referral.id,
            &store::parquet::attachments::NewAttachment {
                message_id: None,
                filename: "constat.pdf".into(),
                content_type: "application/pdf".into(),
                size_bytes: 10,
                sha256: "0".repeat(64),
                storage_key: format!("test/{}", referral.id),
            },
        )
        .await
        .unwrap();
        let (token, _) = store::parquet::tokens::create(
            &w.db,
            &manager_scope,
            &service,
            "Logiciel",
            &[store::parquet::tokens::SCOPE_READ],
        )
        .await
        .unwrap();
        info.push((service, referral.id, attachment.id, token.id));
    }
    let (x, y) = (info.remove(0), info.remove(0));
    let (measure_a, request_a, proof_a) = person_objects(w, &w.a).await;
    let (measure_b, request_b, proof_b) = person_objects(w, &w.b).await;
    Fixtures {
        measure_a,
        measure_b,
        request_a,
        request_b,
        proof_a,
        proof_b,
        divestment,
        message_a: messages[0].clone(),
        message_b: messages[1].clone(),
        service_x: x.0,
        service_y: y.0,
        referral_x: x.1,
        referral_y: y.1,
        attachment_x: x.2,
        attachment_y: y.2,
        token_x: x.3,
        token_y: y.3,
    }
}

/// The callers: every role of the world, by name.
const CALLERS: [&str; 14] = [
    "cpip_a",
    "dpip_a",
    "local_admin_a",
    "cpip_antenna",
    "jap",
    "bex",
    "prosecutor",
    "dir_greff_bex",
    "local_admin_tj",
    "parquet_admin",
    "parquet_magistrate",
    "cpip_b",
    "local_admin_b",
    "admin",
];

fn is_info_parquet(object: Object) -> bool {
    matches!(
        object,
        Object::Referral | Object::ReferralMessage | Object::Attachment | Object::ApiToken
    )
}

#[tokio::test]
async fn every_route_with_an_id_answers_each_role_as_the_permission_model_says() {
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let fx = fixtures(&w).await;
        let mut scopes = std::collections::HashMap::new();
        for name in CALLERS {
            let (role, org) = w.roles[name].clone();
            let a = w.agent(name);
            scopes.insert(
                name,
                Scope::for_user(&w.db, &a.user_id, name, role, &org, None)
                    .await
                    .unwrap(),
            );
        }
        let mut failures = vec![];
        let mut calls = 0;
        let mut fresh = 0u32;
        let mut covered: BTreeSet<&str> = BTreeSet::new();
        // GETs first (they change nothing), then POSTs.
        for post in [false, true] {
            for route in web::route_table() {
                if !route.path.contains('{')
                    || matches!(route.object, Object::Public | Object::TemplateKey)
                {
                    continue;
                }
                if (post && !route.post) || (!post && !route.get) {
                    continue;
                }
                let targets = targets(&w, route.path, route.object, &fx);
                assert!(!targets.is_empty(), "{}: no id to call it with", route.path);
                covered.insert(route.path);
                let api = route.path.starts_with("/api/");
                for t in &targets {
                    let action = if post { t.action_post } else { t.action_get };
                    let mut who: Vec<Option<&str>> = vec![None];
                    who.extend(CALLERS.iter().map(|c| Some(*c)));
                    for caller in who {
                        let expect = match caller {
                            _ if route.object == Object::PersonSpace => Expect::PersonLogin,
                            None if api => Expect::ApiUnauthorized,
                            None => Expect::Login,
                            // The JSON API takes tokens, never a session.
                            Some(_) if api => Expect::ApiUnauthorized,
                            Some(c) => {
                                let scope = &scopes[c];
                                let relation = scope.relation(&t.org);
                                if route.object == Object::ParquetOrganisation {
                                    if scope.is_national() {
                                        Expect::Allowed
                                    } else {
                                        Expect::Denied
                                    }
                                } else if is_info_parquet(route.object) {
                                    if relation == Relation::Other && !scope.is_national() {
                                        Expect::Denied
                                    } else {
                                        Expect::NotDenialOnly
                                    }
                                } else if scope.allows(action, &t.org) {
                                    Expect::Allowed
                                } else {
                                    Expect::Denied
                                }
                            }
                        };
                        let mut uri = t.uri.clone();
                        if route.object == Object::AgendaSlotType {
                            // Each call removes a slot type of its own (an earlier allowed call removed the last).
                            fresh += 1;
                            let agenda = uri.split('/').nth(3).unwrap().to_string();
                            // (an allowed call of `/prestations` with an empty form emptied the place's types)
                            for place in [&w.a.place, &w.b.place] {
                                store::msj::places::set_appointment_types(
                                    &w.db,
                                    &Scope::system("test"),
                                    place,
                                    &["convocation_suivi_spip", "sortie_audience_spip"],
                                )
                                .await
                                .unwrap();
                            }
                            let fresh_type = store::msj::agendas::add_slot_type(
                                &w.db,
                                &Scope::system("test"),
                                &agenda,
                                &store::msj::agendas::SlotTypeInput {
                                    appointment_type_id: "sortie_audience_spip".into(),
                                    weekday: 1 + (fresh % 5) as i64,
                                    start: format!("{:02}:{:02}", 7 + fresh / 20, (fresh % 4) * 15),
                                    duration_minutes: 15,
                                    capacity: 1,
                                },
                                store::now(),
                            )
                            .await
                            .unwrap();
                            uri = uri.replace(
                                &t.uri.split('/').nth(5).unwrap().to_string(),
                                &fresh_type.id,
                            );
                        }
                        if post
                            && route.path.ends_with("/supprimer")
                            && route.object == Object::Measure
                        {
                            // Each call deletes a measure of its own (an earlier allowed call deleted the first).
                            let person = if t.org == w.spip_a {
                                &w.a.person
                            } else {
                                &w.b.person
                            };
                            let m = store::msj::measures::create(
                                &w.db,
                                &Scope::system("test"),
                                person,
                                &a_measure(),
                                store::now(),
                            )
                            .await
                            .unwrap();
                            uri = route.path.replace("{id}", &m.id);
                        }
                        let (status, body) = if post && route.path.contains("pieces-jointes") {
                            w.upload(caller, &uri).await
                        } else if post && route.path.ends_with("/refuser") {
                            // With a real answer: a caller the policy refuses must not get to send it.
                            w.post(caller, &uri, "reponse=Le+rendez-vous+est+maintenu.")
                                .await
                        } else if post {
                            w.post(caller, &uri, "comment=test&capacity=2").await
                        } else {
                            w.get(caller, &uri).await
                        };
                        calls += 1;
                        let ok = status.as_u16() < 500
                            && match expect {
                                Expect::Allowed => {
                                    status != StatusCode::FORBIDDEN
                                        && status != StatusCode::NOT_FOUND
                                        && !body.starts_with("Location: /connexion")
                                }
                                Expect::Denied => {
                                    status == StatusCode::FORBIDDEN
                                        || status == StatusCode::NOT_FOUND
                                }
                                Expect::NotDenialOnly => true,
                                // A form posted without a session fails the CSRF check first (403).
                                Expect::Login => {
                                    (status == StatusCode::SEE_OTHER
                                        && body.starts_with("Location: /connexion"))
                                        || (post && status == StatusCode::FORBIDDEN)
                                }
                                Expect::ApiUnauthorized => status == StatusCode::UNAUTHORIZED,
                                Expect::PersonLogin => {
                                    (status == StatusCode::SEE_OTHER
                                        && body.starts_with("Location: /mon-espace"))
                                        || (post && status == StatusCode::FORBIDDEN)
                                }
                            };
                        if !ok {
                            failures.push(format!(
                                "{} {} as {:?} ({:?} on {}): expected {:?}, got {}",
                                if post { "POST" } else { "GET" },
                                route.path,
                                caller,
                                action,
                                t.org,
                                expect,
                                status
                            ));
                        }
                    }
                }
            }
        }
        // Every route with a tenant id was called.
        for r in web::route_table() {
            if r.path.contains('{') && !matches!(r.object, Object::Public | Object::TemplateKey) {
                assert!(covered.contains(r.path), "{} not exercised", r.path);
            }
        }
        assert!(calls > 500, "only {calls} calls");
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    })
    .await;
}

#[tokio::test]
async fn an_api_token_reads_only_its_own_services_referrals_and_referral_lists_are_audited() {
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let fx = fixtures(&w).await;
        // A token of service X (read scope) on service Y's referral: 404, on its own: not 404.
        let manager = support::agent(
            &w.db,
            "chef-api@admin.test",
            Role::AdminManager,
            &fx.service_x,
        )
        .await;
        let scope = Scope::for_user(
            &w.db,
            &manager.user_id,
            "chef",
            Role::AdminManager,
            &fx.service_x,
            None,
        )
        .await
        .unwrap();
        let (_, raw) = store::parquet::tokens::create(
            &w.db,
            &scope,
            &fx.service_x,
            "Lecture",
            &[store::parquet::tokens::SCOPE_READ],
        )
        .await
        .unwrap();
        let raw = raw.0;
        let call = |uri: String| {
            let raw = raw.clone();
            let app = w.app.clone();
            async move {
                let req = axum::http::Request::get(uri)
                    .header(axum::http::header::AUTHORIZATION, format!("Bearer {raw}"))
                    .body(axum::body::Body::empty())
                    .unwrap();
                support::send(&app, req).await
            }
        };
        let (status, _) = call(format!("/api/v1/referrals/{}", fx.referral_y)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call("/api/v1/referrals".to_string()).await;
        assert_eq!(status, StatusCode::OK);
        // The list is a read of personal data: audited, once per call, with its query.
        let events = store::audit::list(
            &w.db,
            &Scope::system("test"),
            &store::audit::AuditFilter {
                action: Some("referral.api_list".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0]
            .details
            .as_deref()
            .unwrap_or("")
            .contains("\"limit\":50"));
        // So is the web list of referrals.
        let agent = support::agent(
            &w.db,
            "agent-liste@admin.test",
            Role::AdminAgent,
            &fx.service_x,
        )
        .await;
        let req = axum::http::Request::get("/info-parquet/signalements?q=chantier")
            .header(axum::http::header::COOKIE, &agent.cookie)
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(support::send(&w.app, req).await.0, StatusCode::OK);
        let events = store::audit::list(
            &w.db,
            &Scope::system("test"),
            &store::audit::AuditFilter {
                action: Some("referral.list".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0]
            .details
            .as_deref()
            .unwrap_or("")
            .contains("chantier"));
    })
    .await;
}
