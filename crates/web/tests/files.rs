//! Attachment endpoints through the real router (`oneshot`), on SQLite and PostgreSQL, with a real clamd (EICAR-only
//! signature database, started by `files::testing`) and a real encrypted local object store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use store::orgs::{self, NewOrganisation};
use store::parquet::attachments::{self, ScanStatus};
use store::parquet::referrals;
use store::roles::{OrgKind, Role};
use store::sessions::{self, Stage};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{Actor, Db, Scope};
use tower::ServiceExt;
use web::{AppState, Config, Mode};

const MAX: u64 = 1024 * 1024;

fn config(dir: &Path) -> Config {
    {
        let mut c = Config::from_env(Mode::Demo).expect("demo config from a clean environment");
        c.database_url = Default::default();
        c.bind = "127.0.0.1:0".parse().unwrap();
        c.data_dir = dir.to_path_buf();
        c.public_url = "http://localhost".into();
        c.smtp_url = None;
        c.mail_from = "test@localhost".into();
        c.secure_cookies = false;
        c.session_idle_secs = 3600;
        c.session_max_secs = 12 * 3600;
        c.trusted_proxies = vec![];
        c.totp_required_for_admins = false;
        c.worker_poll_secs = 1;
        c.sms = web::config::SmsConfig::Demo;
        c.quiet_hours = Some(domain::QuietHours::default());
        c
    }
}

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

/// A user with a full session: (scope, session cookie, CSRF token).
struct Agent {
    scope: Scope,
    cookie: String,
    csrf: String,
}

async fn mk_agent(db: &Db, email: &str, role: Role, org_id: &str) -> Agent {
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
    let scope = Scope::for_user(db, &u.id, &u.email, u.role, &u.organisation_id, None)
        .await
        .unwrap();
    let (token, session) = sessions::create(db, &u.id, Stage::Full, None, None, store::now())
        .await
        .unwrap();
    Agent {
        scope,
        cookie: format!("passerelle_session={token}"),
        csrf: session.csrf_token,
    }
}

fn multipart(filename: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----passerelleTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"commentaire\"\r\n\r\nignoré\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn upload_req(who: &Agent, referral: &str, filename: &str, content: &[u8]) -> Request<Body> {
    let (ct, body) = multipart(filename, content);
    Request::post(format!(
        "/info-parquet/signalements/{referral}/pieces-jointes?csrf_token={}",
        who.csrf
    ))
    .header(header::CONTENT_TYPE, ct)
    .header(header::COOKIE, &who.cookie)
    .body(Body::from(body))
    .unwrap()
}

fn get_req(who: &Agent, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, &who.cookie)
        .body(Body::empty())
        .unwrap()
}

async fn text(res: axum::response::Response) -> String {
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

fn objects(dir: &Path) -> Vec<PathBuf> {
    let root = dir.join("attachments");
    match std::fs::read_dir(&root) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => vec![],
    }
}

fn pdf(len: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    v.extend((0..len).map(|i| (i * 7 % 251) as u8));
    v
}

async fn run(db: Db, clamd: Option<files::ClamdAddr>) {
    let tmp = store::testing::TempDir::new();
    let files_dir = tmp.0.join("files");
    let fs = files::FileStore::local(
        &files_dir,
        files::Keyring::random(),
        clamd.clone().map(files::Clamd::new),
        MAX,
    )
    .unwrap();
    let app = web::router(AppState::new(db.clone(), config(&tmp.0), Arc::new(fs)));

    let admin_a = mk_org(&db, org(OrgKind::Administration, "DREETS", None)).await;
    let service_a = mk_org(&db, org(OrgKind::Service, "UC 92", Some(&admin_a))).await;
    let admin_b = mk_org(&db, org(OrgKind::Administration, "DGFiP", None)).await;
    let service_b = mk_org(&db, org(OrgKind::Service, "SIE", Some(&admin_b))).await;
    let tj = mk_org(&db, org(OrgKind::Tj, "TJ de Nanterre", None)).await;
    let parquet = mk_org(&db, org(OrgKind::Parquet, "Parquet de Nanterre", Some(&tj))).await;
    let agent = mk_agent(&db, "agent@a.test", Role::AdminAgent, &service_a).await;
    let stranger = mk_agent(&db, "agent@b.test", Role::AdminAgent, &service_b).await;
    let magistrate = mk_agent(&db, "pq@p.test", Role::ParquetMagistrate, &parquet).await;
    let referral = referrals::create_draft(&db, &agent.scope).await.unwrap().id;

    // A clean upload: back to the draft's attachments step with a notice, metadata with the plaintext's SHA-256.
    let content = pdf(200_000);
    let res = app
        .clone()
        .oneshot(upload_req(&agent, &referral, "Procès-verbal.pdf", &content))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", text(res).await);
    let expected_notice = if clamd.is_some() {
        "ajoutee"
    } else {
        "non_analysee"
    };
    assert_eq!(
        res.headers()[header::LOCATION],
        format!("/info-parquet/signalements/{referral}/etapes/pieces-jointes?piece_jointe={expected_notice}")
            .as_str()
    );
    let list = attachments::list(&db, &agent.scope, &referral)
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    let att = &list[0];
    assert_eq!(att.filename, "Procès-verbal.pdf");
    assert_eq!(att.content_type, "application/pdf");
    assert_eq!(att.size_bytes, content.len() as i64);
    assert_eq!(att.sha256, hex::encode(Sha256::digest(&content)));
    assert_eq!(
        att.scan_status,
        if clamd.is_some() {
            ScanStatus::Clean
        } else {
            ScanStatus::NotScanned
        }
    );
    let on_disk = objects(&files_dir);
    assert_eq!(on_disk.len(), 1);
    let raw = std::fs::read(&on_disk[0]).unwrap();
    assert!(
        !raw.windows(8).any(|w| w == b"%PDF-1.7"),
        "stored encrypted"
    );

    // Download by its author: the decrypted bytes, as an attachment, audited.
    let url = format!("/info-parquet/pieces-jointes/{}", att.id);
    let res = app.clone().oneshot(get_req(&agent, &url)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with(
            "attachment; filename=\"Proc_s-verbal.pdf\"; filename*=UTF-8''Proc%C3%A8s-verbal.pdf"
        ));
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/pdf");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], &content[..]);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'referral.attachment_download'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1, "download audited once");

    // Another administration, and a parquet (a draft is not theirs): 404 on download and on upload, nothing kept.
    for other in [&stranger, &magistrate] {
        let res = app.clone().oneshot(get_req(other, &url)).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = app
            .clone()
            .oneshot(upload_req(other, &referral, "intrus.pdf", &pdf(100)))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let res = app
        .clone()
        .oneshot(get_req(&agent, "/info-parquet/pieces-jointes/inconnu"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(objects(&files_dir).len(), 1);

    // Without the CSRF token (neither query nor header): refused before anything is read.
    let (ct, body) = multipart("a.pdf", &pdf(10));
    let res = app
        .clone()
        .oneshot(
            Request::post(format!(
                "/info-parquet/signalements/{referral}/pieces-jointes"
            ))
            .header(header::CONTENT_TYPE, ct.clone())
            .header(header::COOKIE, &agent.cookie)
            .body(Body::from(body.clone()))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The header works too.
    let res = app
        .clone()
        .oneshot(
            Request::post(format!(
                "/info-parquet/signalements/{referral}/pieces-jointes"
            ))
            .header(header::CONTENT_TYPE, ct)
            .header(header::COOKIE, &agent.cookie)
            .header("x-csrf-token", &agent.csrf)
            .body(Body::from(body))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(objects(&files_dir).len(), 2);

    // Too large (streamed past the 1 MiB limit, no Content-Length): 413 in French, nothing kept.
    let res = app
        .clone()
        .oneshot(upload_req(
            &agent,
            &referral,
            "gros.pdf",
            &pdf(MAX as usize + 10),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let page = text(res).await;
    assert!(
        page.contains("Le fichier dépasse la taille maximale de 1 Mo."),
        "{page}"
    );
    assert!(page.contains("<html lang=\"fr\""));
    // Declared too large: refused without reading.
    let res = app
        .clone()
        .oneshot(
            Request::post(format!(
                "/info-parquet/signalements/{referral}/pieces-jointes?csrf_token={}",
                agent.csrf
            ))
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
            .header(header::CONTENT_LENGTH, "5000000000")
            .header(header::COOKIE, &agent.cookie)
            .body(Body::empty())
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A type outside the allow-list, and a disguised executable: 422, nothing kept.
    for (name, bytes) in [
        ("outil.exe", &b"MZ\x90\0"[..]),
        ("faux.pdf", &b"MZ\x90\0"[..]),
    ] {
        let res = app
            .clone()
            .oneshot(upload_req(&agent, &referral, name, bytes))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
    }
    assert_eq!(objects(&files_dir).len(), 2);
    assert_eq!(
        attachments::list(&db, &agent.scope, &referral)
            .await
            .unwrap()
            .len(),
        2
    );

    // EICAR: 422 "virus detected", no object, a metadata row marked infected.
    if clamd.is_some() {
        let res = app
            .clone()
            .oneshot(upload_req(
                &agent,
                &referral,
                "facture.txt",
                files::testing::EICAR,
            ))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = text(res).await;
        assert!(
            page.contains("Fichier refusé : un virus a été détecté (Eicar-Test-Signature"),
            "{page}"
        );
        assert_eq!(objects(&files_dir).len(), 2, "nothing stored");
        let list = attachments::list(&db, &agent.scope, &referral)
            .await
            .unwrap();
        let infected: Vec<_> = list
            .iter()
            .filter(|a| a.scan_status == ScanStatus::Infected)
            .collect();
        assert_eq!(infected.len(), 1);
        assert_eq!(
            infected[0].sha256,
            hex::encode(Sha256::digest(files::testing::EICAR))
        );
        // It cannot be downloaded.
        let res = app
            .clone()
            .oneshot(get_req(
                &agent,
                &format!("/info-parquet/pieces-jointes/{}", infected[0].id),
            ))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }

    // Tampered ciphertext: an error, never garbage. Header altered → error page before any byte; a chunk
    // altered in the middle → the body ends in an error after the authentic part.
    let path = files_dir.join(&att.storage_key);
    let original = std::fs::read(&path).unwrap();
    let mut bad = original.clone();
    bad[40] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    let res = app.clone().oneshot(get_req(&agent, &url)).await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!text(res).await.contains("%PDF"));
    let mut bad = original.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    let res = app.clone().oneshot(get_req(&agent, &url)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.into_body().collect().await.is_err(),
        "the body must fail"
    );
    std::fs::write(&path, &original).unwrap();
}

#[tokio::test]
async fn attachments_are_streamed_scanned_encrypted_scoped_and_audited() {
    let clamd = files::testing::ClamdProcess::start().await;
    let addr = clamd.as_ref().map(|c| c.addr.clone());
    on_each_backend(|db| run(db, addr.clone())).await;
}

#[tokio::test]
async fn without_an_antivirus_files_are_marked_not_scanned() {
    on_each_backend(|db| run(db, None)).await;
}
