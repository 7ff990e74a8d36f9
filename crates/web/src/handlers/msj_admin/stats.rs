//! Statistics: absenteeism per organisation, agenda, appointment type and month; reachability by SMS; outcomes
//! never recorded. Charts (`@gouvfr/dsfr-chart`) each come with the data table they draw; CSV export for Excel.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use store::audit;
use store::msj::stats::{self, AbsenteeismRow, Counts, GroupBy};
use store::msj::{agendas, places};

use super::{is_msj_user, organisation};
use crate::error::AppResult;
use crate::session::Auth;
use crate::statistics::{month_label, percent, period, period_label, Csv, Period};
use crate::views::PageCtx;
use crate::AppState;

pub struct StatRow {
    pub label: String,
    pub fulfilled: i64,
    pub no_show: i64,
    pub excused: i64,
    pub recorded: i64,
    pub rate: String,
}

pub struct Chart {
    pub id: &'static str,
    pub title: &'static str,
    /// JSON for the web component's attributes.
    pub x: String,
    pub y: String,
    pub rows: Vec<StatRow>,
    pub first_col: &'static str,
}

#[derive(Template)]
#[template(path = "msj_admin/stats.html")]
pub struct StatsPage {
    pub ctx: PageCtx,
    pub from: String,
    pub to: String,
    pub period_label: String,
    pub total: StatRow,
    pub reachable: String,
    pub reachable_detail: String,
    pub unrecorded: i64,
    pub charts: Vec<Chart>,
    pub tables: Vec<Chart>,
    pub csv_href: String,
}

fn stat_row(label: String, c: &Counts) -> StatRow {
    StatRow {
        label,
        fulfilled: c.fulfilled,
        no_show: c.no_show,
        excused: c.excused,
        recorded: c.recorded(),
        rate: percent(c.absenteeism()),
    }
}

/// Display names of the keys of each axis.
struct Names {
    orgs: HashMap<String, String>,
    agendas: HashMap<String, String>,
    types: HashMap<String, String>,
}

async fn names(st: &AppState, auth: &Auth, rows: &[AbsenteeismRow]) -> AppResult<Names> {
    let mut orgs = HashMap::new();
    for r in rows {
        if !orgs.contains_key(&r.organisation_id) {
            let o = organisation(st, &r.organisation_id).await?;
            orgs.insert(o.id, o.name);
        }
    }
    let agendas = agendas::list(&st.db, auth.scope(), None)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let types = places::appointment_types(&st.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.label))
        .collect();
    Ok(Names {
        orgs,
        agendas,
        types,
    })
}

fn chart(
    id: &'static str,
    title: &'static str,
    first_col: &'static str,
    groups: Vec<(String, Counts)>,
    label: impl Fn(&str) -> String,
) -> Chart {
    let rows: Vec<StatRow> = groups.iter().map(|(k, c)| stat_row(label(k), c)).collect();
    let xs: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    let ys: Vec<f64> = groups
        .iter()
        .map(|(_, c)| (c.absenteeism().unwrap_or(0.0) * 1000.0).round() / 10.0)
        .collect();
    Chart {
        id,
        title,
        x: serde_json::to_string(&vec![xs]).unwrap_or_default(),
        y: serde_json::to_string(&vec![ys]).unwrap_or_default(),
        rows,
        first_col,
    }
}

pub async fn page_handler(auth: &Auth, st: &AppState, q: &Period) -> AppResult<StatsPage> {
    let scope = auth.scope();
    let org = organisation(st, &auth.user().organisation_id).await?;
    let tz = super::tz_of(&org);
    let (from, to) = period(q, tz);
    let rows = stats::absenteeism(&st.db, scope, from, to).await?;
    let n = names(st, auth, &rows).await?;
    let reach = stats::sms_reachability(&st.db, scope).await?;
    let unrecorded = stats::unrecorded_outcomes(&st.db, scope, store::now()).await?;
    let total = stats::group(&rows, GroupBy::All)
        .into_iter()
        .next()
        .map(|(_, c)| c)
        .unwrap_or_default();
    let by_month = chart(
        "par-mois",
        "Taux d'absentéisme par mois",
        "Mois",
        stats::group(&rows, GroupBy::Month),
        month_label,
    );
    let by_type = chart(
        "par-type",
        "Taux d'absentéisme par type de rendez-vous",
        "Type de rendez-vous",
        stats::group(&rows, GroupBy::AppointmentType),
        |k| n.types.get(k).cloned().unwrap_or_else(|| k.to_string()),
    );
    let by_org = chart(
        "par-service",
        "Taux d'absentéisme par service",
        "Service",
        stats::group(&rows, GroupBy::Organisation),
        |k| n.orgs.get(k).cloned().unwrap_or_else(|| k.to_string()),
    );
    let by_agenda = chart(
        "par-agenda",
        "Taux d'absentéisme par agenda",
        "Agenda",
        stats::group(&rows, GroupBy::Agenda),
        |k| n.agendas.get(k).cloned().unwrap_or_else(|| k.to_string()),
    );
    Ok(StatsPage {
        ctx: PageCtx::new(&auth.1, "Statistiques"),
        from: from.to_string(),
        to: to.to_string(),
        period_label: period_label(from, to),
        total: stat_row("Ensemble".into(), &total),
        reachable: percent(reach.share_reachable()),
        reachable_detail: format!(
            "{} personnes joignables par SMS sur {} dossiers actifs ({} avec un numéro de téléphone).",
            reach.reachable_by_sms, reach.active, reach.with_phone
        ),
        unrecorded,
        charts: vec![by_month, by_type],
        tables: vec![by_org, by_agenda],
        csv_href: format!("/msj/statistiques.csv?du={from}&au={to}"),
    })
}

pub async fn page(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<Period>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    crate::handlers::page(page_handler(&auth, &st, &q).await?)
}

/// `;`-separated, UTF-8 with BOM (so Excel reads the accents), decimal comma; one line per organisation ×
/// agenda × type × month.
pub async fn csv(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<Period>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    let scope = auth.scope();
    let org = organisation(&st, &auth.user().organisation_id).await?;
    let (from, to) = period(&q, super::tz_of(&org));
    let rows = stats::absenteeism(&st.db, scope, from, to).await?;
    let n = names(&st, &auth, &rows).await?;
    let mut out = Csv::new(&[
        "Mois",
        "Service",
        "Agenda",
        "Type de rendez-vous",
        "Honorés",
        "Absents",
        "Excusés",
        "Issues enregistrées",
        "Taux d'absentéisme (%)",
    ]);
    for r in &rows {
        let rate = r
            .counts
            .absenteeism()
            .map(|v| format!("{:.1}", v * 100.0).replace('.', ","))
            .unwrap_or_default();
        let cols = [
            r.month.clone(),
            n.orgs.get(&r.organisation_id).cloned().unwrap_or_default(),
            n.agendas.get(&r.agenda_id).cloned().unwrap_or_default(),
            n.types
                .get(&r.appointment_type_id)
                .cloned()
                .unwrap_or_else(|| r.appointment_type_id.clone()),
            r.counts.fulfilled.to_string(),
            r.counts.no_show.to_string(),
            r.counts.excused.to_string(),
            r.counts.recorded().to_string(),
            rate,
        ];
        out.row(&cols);
    }
    audit::record(
        st.db.pool(),
        &scope.actor,
        "stats.export_csv",
        "organisation",
        Some(&auth.user().organisation_id),
        Some(serde_json::json!({ "from": from.to_string(), "to": to.to_string(), "rows": rows.len() })),
    )
    .await?;
    Ok(out.into_response(&format!("absenteisme-{from}-{to}.csv")))
}
