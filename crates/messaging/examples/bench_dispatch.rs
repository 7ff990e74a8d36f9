//! Benchmark (not a test): enqueues N due reminders on PostgreSQL and dispatches them to a loopback Brevo server,
//! with D dispatchers each on its own pool (as D processes would be). Prints messages/s. Run by `bench/outbox.sh`,
//! which measures pgbench's single-row-update TPS on the same database in the same run and prints the ratio.
//!
//! Environment: `DATABASE_URL` (a PostgreSQL database, migrated here; its outbox is emptied first),
//! `BENCH_MESSAGES` (100000), `BENCH_DISPATCHERS` (2), `BENCH_BATCH` (500).

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use messaging::{dispatch_once, Brevo, Channels, EmailChannel};
use store::Db;

fn env_num(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL=postgres://…");
    let n = env_num("BENCH_MESSAGES", 100_000);
    let dispatchers = env_num("BENCH_DISPATCHERS", 2);
    let batch = env_num("BENCH_BATCH", 500);
    let db = Db::connect(&url).await.expect("connect");
    assert_eq!(
        db.backend(),
        store::Backend::Postgres,
        "the benchmark runs on PostgreSQL"
    );
    db.migrate().await.expect("migrate");
    sqlx::query("DELETE FROM delivery_receipts")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM outbox")
        .execute(db.pool())
        .await
        .unwrap();
    let now = store::now();
    let t0 = Instant::now();
    // One statement: the benchmark measures dispatch, not enqueueing (which happens one booking at a time).
    sqlx::query(
        "INSERT INTO outbox (id, channel, kind, recipient, body, state, attempts, due_at, related_type, related_id, \
         created_at, updated_at) \
         SELECT gen_random_uuid()::text, 'sms', 'reminder', '+3361' || lpad(i::text, 7, '0'), \
         'Rappel : rendez-vous le lundi 3 mai 2027 à 14h30, SPIP des Hauts-de-Seine.', 'programmed', 0, $1, \
         'appointment', 'bench-' || i, $1, $1 FROM generate_series(1, $2::bigint) AS i",
    )
    .bind(now)
    .bind(n)
    .execute(db.pool())
    .await
    .expect("enqueue");
    sqlx::query("ANALYZE outbox")
        .execute(db.pool())
        .await
        .unwrap();
    eprintln!(
        "enqueued {n} due reminders in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let server = support::ProviderServer::start().await;
    server.state.keep.store(false, Ordering::SeqCst);
    let ch = Arc::new(Channels::new(
        EmailChannel::demo(),
        Box::new(Brevo::new(&server.base_url, "bench-key", "MINJUSTICE")),
    ));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..dispatchers {
        let db = Db::connect(&url).await.expect("connect");
        let ch = ch.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = 0usize;
            loop {
                let stats = dispatch_once(&db, &ch, store::now(), batch)
                    .await
                    .expect("dispatch");
                if stats.claimed == 0 {
                    break;
                }
                sent += stats.sent;
            }
            db.close().await;
            sent
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let calls = server.count();
    assert_eq!(sent as i64, n, "every message sent");
    assert_eq!(calls as i64, n, "no duplicate call to the provider");
    println!("dispatchers={dispatchers} batch={batch} messages={n} seconds={secs:.2}");
    println!("MESSAGES_PER_SEC={:.0}", n as f64 / secs);
}
