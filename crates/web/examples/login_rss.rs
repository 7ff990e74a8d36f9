//! Memory of a login flood (not a test): the process's RSS before, at its peak during, and after N parallel logins
//! through the real router (SQLite in a temporary directory), first as the server does it (argon2id behind the
//! hashing slots of `web::password`), then, for comparison, N argon2id verifications started at once without the
//! bound. Run with `bash bench/login_rss.sh` (`BENCH_LOGINS`, default 40). Results: docs/BENCHMARKS.md.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use store::orgs::{self, NewOrganisation};
use store::roles::{OrgKind, Role};
use store::users::{self, NewUser};
use store::{Actor, Db};
use tower::ServiceExt;
use web::{AppState, Config, Mode};

const PASSWORD: &str = "mot de passe du banc d'essai";

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Samples RSS every 5 ms until stopped; returns the peak.
fn sampler() -> (Arc<AtomicBool>, std::thread::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let (s, p) = (stop.clone(), peak.clone());
    let h = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            p.fetch_max(rss_kib(), Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(5));
        }
        p.load(Ordering::Relaxed)
    });
    (stop, h)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_LOGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let dir = std::env::temp_dir().join(format!("passerelle-bench-login-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = Db::connect(&format!("sqlite://{}/bench.db", dir.display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let org = orgs::create(
        &db,
        &Actor::system("bench"),
        &NewOrganisation {
            kind: OrgKind::Spip,
            name: "SPIP du banc d'essai".into(),
            parent_id: None,
            departement: Some("92".into()),
            time_zone: "Europe/Paris".into(),
            address: None,
            phone: None,
            email: None,
        },
    )
    .await
    .unwrap();
    let hash = web::password::hash(PASSWORD);
    for i in 0..n {
        users::create(
            &db,
            &Actor::system("bench"),
            &NewUser {
                email: format!("agent{i}@bench.test"),
                first_name: "Agent".into(),
                last_name: format!("{i}"),
                role: Role::Cpip,
                organisation_id: org.id.clone(),
                password_hash: Some(hash.clone()),
            },
        )
        .await
        .unwrap();
    }
    let mut config = Config::from_env(Mode::Demo).expect("demo configuration");
    config.data_dir = dir.clone();
    let app = web::router(AppState::with_local_files(db.clone(), config));
    let cores = std::thread::available_parallelism().map_or(0, |c| c.get());

    // Warm up (the dummy hash, the router) so that the baseline is fair.
    let _ = web::password::verify_dummy_bounded("x").await;
    let before = rss_kib();
    let (stop, peak) = sampler();
    let t = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let res = app
                    .clone()
                    .oneshot(Request::get("/connexion").body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                let cookie = res.headers()[header::SET_COOKIE]
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .to_string();
                let csrf = cookie.split('=').nth(1).unwrap().to_string();
                let body = format!(
                    "csrf_token={csrf}&email=agent{i}%40bench.test&password={}",
                    web::session::urlencode(PASSWORD)
                );
                let req = Request::post("/connexion")
                    .header(header::COOKIE, cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap();
                app.oneshot(req).await.unwrap().status()
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    let elapsed = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let peak_bounded = peak.join().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss_kib();
    println!("cores: {cores}; {n} parallel logins through the router in {elapsed:.2?}");
    for (s, c) in &statuses {
        println!("  {} × {c}", s.as_u16());
    }
    assert!(statuses
        .keys()
        .all(|s| [StatusCode::SEE_OTHER, StatusCode::SERVICE_UNAVAILABLE].contains(s)));
    println!(
        "bounded (server):   RSS before {}, peak {} (+{}), after {}",
        mib(before),
        mib(peak_bounded),
        mib(peak_bounded.saturating_sub(before)),
        mib(after)
    );

    // The same number of argon2id verifications at once, without the bound (what the server did before).
    let before = rss_kib();
    let (stop, peak) = sampler();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let h = hash.clone();
            std::thread::spawn(move || web::password::verify(PASSWORD, &h))
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let peak_unbounded = peak.join().unwrap();
    println!(
        "unbounded (before): RSS before {}, peak {} (+{})",
        mib(before),
        mib(peak_unbounded),
        mib(peak_unbounded.saturating_sub(before))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
