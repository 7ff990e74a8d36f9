//! `/metrics` in the Prometheus text format, for the operators' monitoring: requests by route and status with a
//! latency histogram (counted in this process, since its start), and from the database — shared by every
//! process — the outbox by state and channel, the last success of the nightly jobs and the pool's use. Reachable
//! only from `PASSERELLE_METRICS_ALLOW` (CIDRs, default loopback only), checked on the peer address itself.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sqlx::Row;

use crate::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request counters of this process, keyed by (route pattern, method, status).
#[derive(Default)]
pub struct Registry {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Registry {
    fn observe(&self, route: String, method: String, status: u16, secs: f64) {
        let mut map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let s = map.entry((route, method, status)).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                s.buckets[i] += 1;
            }
        }
    }
}

/// Middleware: times every request and counts it under its route pattern (`/msj/personnes/{id}`, never the id).
pub async fn track(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(inconnue)".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    st.metrics.observe(
        route,
        method,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn handler(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !st
        .config
        .metrics_allow
        .iter()
        .any(|c| c.contains(peer.ip()))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    match render(&st).await {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

async fn render(st: &AppState) -> Result<String, store::StoreError> {
    let mut out = String::new();
    {
        let map = st.metrics.series.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP passerelle_http_requests_total Requests answered by this process, by route and status.\n");
        out.push_str("# TYPE passerelle_http_requests_total counter\n");
        for ((route, method, status), s) in map.iter() {
            let _ = writeln!(
                out,
                "passerelle_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}",
                label(route),
                s.count
            );
        }
        out.push_str("# HELP passerelle_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE passerelle_http_request_duration_seconds histogram\n");
        let mut by_route: BTreeMap<(&str, &str), Series> = BTreeMap::new();
        for ((route, method, _), s) in map.iter() {
            let r = by_route.entry((route, method)).or_default();
            r.count += s.count;
            r.sum += s.sum;
            for i in 0..BUCKETS.len() {
                r.buckets[i] += s.buckets[i];
            }
        }
        for ((route, method), s) in by_route {
            let l = format!("route=\"{}\",method=\"{method}\"", label(route));
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "passerelle_http_request_duration_seconds_bucket{{{l},le=\"{le}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "passerelle_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "passerelle_http_request_duration_seconds_sum{{{l}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "passerelle_http_request_duration_seconds_count{{{l}}} {}",
                s.count
            );
        }
    }
    let rows = sqlx::query(
        "SELECT channel, state, CAST(COUNT(*) AS BIGINT) AS n FROM outbox GROUP BY channel, state ORDER BY channel, state",
    )
    .fetch_all(st.db.pool())
    .await?;
    out.push_str("# HELP passerelle_outbox_messages Messages in the outbox, by channel and state (all processes).\n");
    out.push_str("# TYPE passerelle_outbox_messages gauge\n");
    for r in &rows {
        let channel: String = r.try_get("channel")?;
        let state: String = r.try_get("state")?;
        let n: i64 = r.try_get("n")?;
        let _ = writeln!(
            out,
            "passerelle_outbox_messages{{channel=\"{}\",state=\"{}\"}} {n}",
            label(&channel),
            label(&state)
        );
    }
    out.push_str("# HELP passerelle_job_last_success_timestamp_seconds Last completed run of each nightly job.\n");
    out.push_str("# TYPE passerelle_job_last_success_timestamp_seconds gauge\n");
    for (job, action) in [
        ("generation_creneaux", "slots.generate_all"),
        ("conservation", "retention.run"),
    ] {
        let at: Option<i64> = sqlx::query("SELECT MAX(at) FROM audit_events WHERE action = $1")
            .bind(action)
            .fetch_one(st.db.pool())
            .await?
            .try_get(0)?;
        if let Some(at) = at {
            let _ = writeln!(
                out,
                "passerelle_job_last_success_timestamp_seconds{{job=\"{job}\"}} {at}"
            );
        }
    }
    let pool = st.db.pool();
    out.push_str("# HELP passerelle_db_pool_connections Database connections of this process.\n");
    out.push_str("# TYPE passerelle_db_pool_connections gauge\n");
    let _ = writeln!(
        out,
        "passerelle_db_pool_connections{{state=\"open\"}} {}",
        pool.size()
    );
    let _ = writeln!(
        out,
        "passerelle_db_pool_connections{{state=\"idle\"}} {}",
        pool.num_idle()
    );
    Ok(out)
}
