//! Nightly jobs of Mon Suivi Justice: slot generation six months ahead for every agenda, automatic acceptance of
//! divestment requests left unanswered for 10 days, and data retention (archive after 12 months without
//! activity, delete 6 months later). Each step writes its own audit event (in the store) and a log line; one
//! failing step does not prevent the others.

use store::msj::{agendas, divestments, retention};
use store::Db;

/// What a nightly run did; `None` for a step that failed (its error is logged).
#[derive(Clone, Debug, Default)]
pub struct NightlyReport {
    pub slots: Option<agendas::GenerationReport>,
    pub divestments_auto_accepted: Option<u64>,
    pub retention: Option<retention::RetentionReport>,
}

impl NightlyReport {
    pub fn all_ok(&self) -> bool {
        self.slots.is_some() && self.divestments_auto_accepted.is_some() && self.retention.is_some()
    }
}

/// Runs the nightly jobs once, at `store::now()`.
pub async fn run_nightly(db: &Db) -> NightlyReport {
    run_nightly_at(db, store::now()).await
}

/// Runs the nightly jobs as if it were `now` (tests).
pub async fn run_nightly_at(db: &Db, now: i64) -> NightlyReport {
    let mut report = NightlyReport::default();
    match agendas::generate_all_slots(db, now).await {
        Ok(r) => {
            tracing::info!(
                agendas = r.agendas,
                created = r.created,
                updated = r.updated,
                removed = r.removed,
                "nightly: slots generated"
            );
            report.slots = Some(r);
        }
        Err(e) => tracing::error!(error = %e, "nightly: slot generation failed"),
    }
    match divestments::auto_accept_expired(db, now).await {
        Ok(n) => {
            tracing::info!(accepted = n, "nightly: divestment requests auto-accepted");
            report.divestments_auto_accepted = Some(n);
        }
        Err(e) => tracing::error!(error = %e, "nightly: divestment auto-acceptance failed"),
    }
    match retention::run_retention(db, now).await {
        Ok(r) => {
            tracing::info!(
                archived = r.archived,
                deleted = r.deleted,
                "nightly: retention applied"
            );
            report.retention = Some(r);
        }
        Err(e) => tracing::error!(error = %e, "nightly: retention failed"),
    }
    // One-time form tokens older than a day are of no use any more.
    if let Err(e) = store::msj::booking_rules::purge_submissions(db, now).await {
        tracing::error!(error = %e, "nightly: form token purge failed");
    }
    report
}
