//! Statistics: absenteeism per organisation, agenda, appointment type and month; reachability by SMS; outcomes
//! never recorded. Charts (`@gouvfr/dsfr-chart`) each come with the data table they draw; CSV export for Excel.
//! Section "Effet des rappels SMS": the impact measure (absenteeism with and without SMS reminders, before and
//! after the date reminders started), its CSV (`/msj/statistiques/impact.csv`) and the start-date form.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use serde::Deserialize;
use store::audit;
use store::msj::stats::{self, Comparison, Counts, GroupBy, ImpactRow, Phase, RemindersStart};
use store::msj::{agendas, places, MsjError};

use super::{is_config_admin, is_msj_user, managed_msj_orgs, organisation, problem};
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
    pub impact: Impact,
}

/// One group's figures in the impact tables.
pub struct GroupCells {
    pub recorded: i64,
    pub no_show: i64,
    pub rate: String,
}

fn cells(c: &Counts) -> GroupCells {
    GroupCells {
        recorded: c.recorded(),
        no_show: c.no_show,
        rate: percent(c.absenteeism()),
    }
}

pub struct ImpactLine {
    pub label: String,
    /// Second column (before/after table only).
    pub detail: String,
    pub with_sms: GroupCells,
    pub without_sms: GroupCells,
    pub unrecorded: i64,
}

fn line(label: String, detail: String, c: &Comparison) -> ImpactLine {
    ImpactLine {
        label,
        detail,
        with_sms: cells(&c.with_sms),
        without_sms: cells(&c.without_sms),
        unrecorded: c.unrecorded,
    }
}

pub struct ImpactTable {
    pub id: &'static str,
    pub title: &'static str,
    pub first_col: &'static str,
    /// Header of the second column, empty when there is none.
    pub detail_col: &'static str,
    pub rows: Vec<ImpactLine>,
}

/// The start-date form: the organisations the user may set it for, what was typed and the error.
pub struct StartForm {
    pub orgs: Vec<(String, String)>,
    pub organisation: String,
    pub value: String,
    pub error: Option<String>,
}

pub struct Impact {
    pub total: ImpactLine,
    pub tables: Vec<ImpactTable>,
    pub phases: ImpactTable,
    /// "Service : date, where it comes from", for the services in the tables.
    pub start_dates: Vec<String>,
    pub csv_href: String,
    /// Shown to the organisation's local admins and the national admin only.
    pub form: Option<StartForm>,
}

#[derive(Deserialize, Default)]
pub struct Saved {
    #[serde(default)]
    pub rappels: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct StartInput {
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub debut_rappels: String,
    #[serde(default)]
    pub du: Option<String>,
    #[serde(default)]
    pub au: Option<String>,
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

async fn names(st: &AppState, auth: &Auth, org_ids: BTreeSet<&str>) -> AppResult<Names> {
    let mut orgs = HashMap::new();
    for id in org_ids {
        let o = organisation(st, id).await?;
        orgs.insert(o.id, o.name);
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

pub async fn page_handler(
    auth: &Auth,
    st: &AppState,
    q: &Period,
    typed: Option<StartForm>,
) -> AppResult<StatsPage> {
    let scope = auth.scope();
    let org = organisation(st, &auth.user().organisation_id).await?;
    let tz = super::tz_of(&org);
    let (from, to) = period(q, tz);
    let rows = stats::absenteeism(&st.db, scope, from, to).await?;
    let impact_rows = stats::impact(&st.db, scope, from, to, store::now()).await?;
    let org_ids = rows
        .iter()
        .map(|r| r.organisation_id.as_str())
        .chain(impact_rows.iter().map(|r| r.organisation_id.as_str()))
        .collect();
    let n = names(st, auth, org_ids).await?;
    let starts = stats::reminders_starts(&st.db, scope).await?;
    let impact = impact_section(st, auth, &impact_rows, &n, &starts, from, to, typed).await?;
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
        impact,
    })
}

fn phase_label(p: Phase, start: Option<NaiveDate>) -> String {
    match (p, start) {
        (Phase::Before, Some(d)) => format!("Avant le {}", domain::template::french_date(d)),
        (Phase::After, Some(d)) => format!("Depuis le {}", domain::template::french_date(d)),
        _ => "Date de début inconnue".into(),
    }
}

/// "lundi 1er juin 2026, date saisie", "…, date du premier rappel envoyé" or "inconnue".
fn start_label(s: Option<&RemindersStart>) -> String {
    match s {
        Some(RemindersStart {
            set_on: Some(d), ..
        }) => format!("{}, date saisie", domain::template::french_date(*d)),
        Some(RemindersStart {
            first_sent_on: Some(d),
            ..
        }) => format!(
            "{} (premier rappel envoyé)",
            domain::template::french_date(*d)
        ),
        _ => "inconnue".into(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn impact_section(
    st: &AppState,
    auth: &Auth,
    rows: &[ImpactRow],
    n: &Names,
    starts: &[RemindersStart],
    from: NaiveDate,
    to: NaiveDate,
    typed: Option<StartForm>,
) -> AppResult<Impact> {
    let start_of = |org: &str| starts.iter().find(|s| s.organisation_id == org);
    let org_name = |k: &str| n.orgs.get(k).cloned().unwrap_or_else(|| k.to_string());
    let total = stats::compare(rows, GroupBy::All)
        .into_iter()
        .next()
        .map(|(_, c)| c)
        .unwrap_or_default();
    let table = |id, title, first_col, by, label: &dyn Fn(&str) -> String| ImpactTable {
        id,
        title,
        first_col,
        detail_col: "",
        rows: stats::compare(rows, by)
            .iter()
            .map(|(k, c)| line(label(k), String::new(), c))
            .collect(),
    };
    let tables = vec![
        table(
            "effet-par-service",
            "Effet des rappels SMS par service",
            "Service",
            GroupBy::Organisation,
            &org_name,
        ),
        table(
            "effet-par-type",
            "Effet des rappels SMS par type de rendez-vous",
            "Type de rendez-vous",
            GroupBy::AppointmentType,
            &|k| n.types.get(k).cloned().unwrap_or_else(|| k.to_string()),
        ),
        table(
            "effet-par-mois",
            "Effet des rappels SMS par mois",
            "Mois",
            GroupBy::Month,
            &month_label,
        ),
    ];
    let phases = ImpactTable {
        id: "avant-apres",
        title: "Avant et après le début des rappels SMS",
        first_col: "Service",
        detail_col: "Période",
        rows: stats::compare_by_phase(rows)
            .iter()
            .map(|(org, p, c)| {
                line(
                    org_name(org),
                    phase_label(*p, start_of(org).and_then(RemindersStart::date)),
                    c,
                )
            })
            .collect(),
    };
    let shown: BTreeSet<&str> = rows.iter().map(|r| r.organisation_id.as_str()).collect();
    let start_dates = shown
        .into_iter()
        .map(|org| format!("{} : {}", org_name(org), start_label(start_of(org))))
        .collect();
    let form = if is_config_admin(auth.user().role) {
        let orgs: Vec<(String, String)> = managed_msj_orgs(st, auth)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        if orgs.is_empty() {
            None
        } else {
            Some(typed.unwrap_or_else(|| {
                // The user's own organisation first, else the first one it manages.
                let own = &auth.user().organisation_id;
                let organisation = orgs
                    .iter()
                    .find(|(id, _)| id == own)
                    .unwrap_or(&orgs[0])
                    .0
                    .clone();
                StartForm {
                    value: start_of(&organisation)
                        .and_then(|s| s.set_on)
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    organisation,
                    orgs,
                    error: None,
                }
            }))
        }
    } else {
        None
    };
    let form = form.map(|mut f| {
        // Current dates of the organisations offered, so the admin sees what is in force.
        f.orgs = f
            .orgs
            .iter()
            .map(|(id, name)| {
                (
                    id.clone(),
                    format!("{name} — début actuel : {}", start_label(start_of(id))),
                )
            })
            .collect();
        f
    });
    Ok(Impact {
        total: line("Ensemble".into(), String::new(), &total),
        tables,
        phases,
        start_dates,
        csv_href: format!("/msj/statistiques/impact.csv?du={from}&au={to}"),
        form,
    })
}

pub async fn page(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<Period>,
    Query(saved): Query<Saved>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    let mut p = page_handler(&auth, &st, &q, None).await?;
    if saved.rappels.is_some() {
        p.ctx = p.ctx.with_notice(
            "success",
            "La date de début des rappels SMS a été enregistrée.",
        );
    }
    crate::handlers::page(p)
}

/// Sets the date an organisation started sending SMS reminders (local admin of it, national admin).
pub async fn set_start(
    auth: Auth,
    State(st): State<AppState>,
    Form(f): Form<StartInput>,
) -> AppResult<Response> {
    auth.require(is_config_admin(auth.user().role))?;
    let q = Period {
        du: f.du.clone(),
        au: f.au.clone(),
    };
    match stats::set_reminders_started_on(
        &st.db,
        auth.scope(),
        &f.organisation,
        &f.debut_rappels,
        store::now(),
    )
    .await
    {
        Ok(_) => {
            let org = organisation(&st, &auth.user().organisation_id).await?;
            let (from, to) = period(&q, super::tz_of(&org));
            Ok(Redirect::to(&format!(
                "/msj/statistiques?du={from}&au={to}&rappels=ok#debut-rappels"
            ))
            .into_response())
        }
        Err(e @ MsjError::Invalid(_)) => {
            let pb = problem(e)?;
            let orgs = managed_msj_orgs(&st, &auth)
                .await?
                .into_iter()
                .map(|o| (o.id, o.name))
                .collect();
            let typed = StartForm {
                orgs,
                organisation: f.organisation.clone(),
                value: f.debut_rappels.clone(),
                error: pb.field("debut_rappels").map(str::to_string),
            };
            let mut res = crate::handlers::page(page_handler(&auth, &st, &q, Some(typed)).await?)?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(problem(e)
            .err()
            .unwrap_or(crate::error::AppError::Forbidden)),
    }
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
    let n = names(
        &st,
        &auth,
        rows.iter().map(|r| r.organisation_id.as_str()).collect(),
    )
    .await?;
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

/// The impact measure for spreadsheets: one line per organisation × type × month × group × phase (`;`, BOM,
/// decimal comma, formulas neutralised).
pub async fn impact_csv(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<Period>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    let scope = auth.scope();
    let org = organisation(&st, &auth.user().organisation_id).await?;
    let (from, to) = period(&q, super::tz_of(&org));
    let rows = stats::impact(&st.db, scope, from, to, store::now()).await?;
    let n = names(
        &st,
        &auth,
        rows.iter().map(|r| r.organisation_id.as_str()).collect(),
    )
    .await?;
    let starts = stats::reminders_starts(&st.db, scope).await?;
    let mut out = Csv::new(&[
        "Mois",
        "Service",
        "Type de rendez-vous",
        "Groupe",
        "Période",
        "Début des rappels",
        "Honorés",
        "Absents",
        "Excusés",
        "Issues renseignées",
        "Issues non renseignées",
        "Taux d'absentéisme (%)",
    ]);
    for r in &rows {
        let rate = r
            .counts
            .absenteeism()
            .map(|v| format!("{:.1}", v * 100.0).replace('.', ","))
            .unwrap_or_default();
        let start = starts
            .iter()
            .find(|s| s.organisation_id == r.organisation_id)
            .and_then(RemindersStart::date)
            .map(|d| d.to_string())
            .unwrap_or_default();
        let cols = [
            r.month.clone(),
            n.orgs.get(&r.organisation_id).cloned().unwrap_or_default(),
            n.types
                .get(&r.appointment_type_id)
                .cloned()
                .unwrap_or_else(|| r.appointment_type_id.clone()),
            if r.with_sms {
                "Avec rappels SMS".into()
            } else {
                "Sans rappels SMS".into()
            },
            match r.phase {
                Phase::Before => "Avant".into(),
                Phase::After => "Après".into(),
                Phase::Unknown => "Inconnue".into(),
            },
            start,
            r.counts.fulfilled.to_string(),
            r.counts.no_show.to_string(),
            r.counts.excused.to_string(),
            r.counts.recorded().to_string(),
            r.unrecorded.to_string(),
            rate,
        ];
        out.row(&cols);
    }
    audit::record(
        st.db.pool(),
        &scope.actor,
        "stats.export_impact_csv",
        "organisation",
        Some(&auth.user().organisation_id),
        Some(serde_json::json!({ "from": from.to_string(), "to": to.to_string(), "rows": rows.len() })),
    )
    .await?;
    Ok(out.into_response(&format!("effet-rappels-sms-{from}-{to}.csv")))
}
