//! Statistics of Info Parquet (`/info-parquet/statistiques`, `.csv`): volumes per month, time to registration and to
//! decision, outcomes (with the classement reasons and the alternatives chosen), per administration, per TJ and per
//! NATINF family. Scoped like the referrals: a parquet sees the referrals in its inbox, an administration manager
//! its administration's (or its service's), the national admin everything. Months and period bounds are in
//! Europe/Paris.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{NaiveDate, TimeZone};
use store::audit;
use store::parquet::stats::{self, Breakdown, Count, Delay, Stats, StatsFilter};
use store::roles::{Role, RoleGroup};

use crate::error::AppResult;
use crate::handlers::page;
use crate::session::Auth;
use crate::statistics::{month_label, months_between, percent, period, period_label, Csv, Period};
use crate::views::PageCtx;
use crate::AppState;

const TZ: chrono_tz::Tz = chrono_tz::Europe::Paris;

/// Parquet roles, administration managers and the national admin.
pub fn may_see_stats(role: Role) -> bool {
    role == Role::AdminManager || role.is_national_admin() || role.group() == RoleGroup::Parquet
}

/// One line of a table, ready to show.
pub struct Line {
    pub label: String,
    pub count: i64,
    pub urgent: i64,
    pub registered: i64,
    pub decided: i64,
    pub poursuites: i64,
    pub alternatives: i64,
    pub classements: i64,
    pub median_registration: String,
    pub median_decision: String,
}

pub struct Table {
    pub id: &'static str,
    pub title: &'static str,
    pub first_col: &'static str,
    pub lines: Vec<Line>,
    /// A bar chart of the volumes (JSON attributes of `<bar-chart>`), when it says something.
    pub chart: Option<(String, String)>,
}

pub struct CountLine {
    pub label: String,
    pub count: i64,
    pub share: String,
}

pub struct CountTable {
    pub id: &'static str,
    pub title: &'static str,
    pub first_col: &'static str,
    pub lines: Vec<CountLine>,
    pub chart: Option<(String, String)>,
}

pub struct Figure {
    pub value: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "parquet/stats.html")]
pub struct StatsPage {
    pub ctx: PageCtx,
    pub reach: String,
    pub from: String,
    pub to: String,
    pub period_label: String,
    pub figures: Vec<Figure>,
    /// The decisions (one table, with its chart).
    pub outcomes: Vec<CountTable>,
    pub details: Vec<CountTable>,
    pub tables: Vec<Table>,
    pub csv_href: String,
}

/// « 3,5 jours », « 5 h 20 min » under a day, « — » without data.
pub fn delay_fr(secs: Option<i64>) -> String {
    match secs {
        None => "—".into(),
        Some(s) if s < 86_400 => super::duration_fr(s),
        Some(s) => format!("{:.1} jours", s as f64 / 86_400.0).replace('.', ","),
    }
}

/// Days with one decimal and a decimal comma, for the CSV.
fn days(secs: Option<i64>) -> String {
    secs.map(|s| format!("{:.1}", s as f64 / 86_400.0).replace('.', ","))
        .unwrap_or_default()
}

fn line(label: String, b: &Breakdown) -> Line {
    Line {
        label,
        count: b.count,
        urgent: b.urgent,
        registered: b.registered,
        decided: b.decided,
        poursuites: b.poursuites,
        alternatives: b.alternatives,
        classements: b.classements,
        median_registration: delay_fr(b.to_registration.median_secs),
        median_decision: delay_fr(b.to_decision.median_secs),
    }
}

fn chart(labels: Vec<String>, values: Vec<i64>) -> Option<(String, String)> {
    (values.iter().any(|v| *v > 0)).then(|| {
        (
            serde_json::to_string(&vec![labels]).unwrap_or_default(),
            serde_json::to_string(&vec![values]).unwrap_or_default(),
        )
    })
}

fn count_table(
    id: &'static str,
    title: &'static str,
    first_col: &'static str,
    counts: &[Count],
    with_chart: bool,
) -> CountTable {
    let total: i64 = counts.iter().map(|c| c.count).sum();
    let lines: Vec<CountLine> = counts
        .iter()
        .map(|c| CountLine {
            label: c.label.clone(),
            count: c.count,
            share: percent((total > 0).then(|| c.count as f64 / total as f64)),
        })
        .collect();
    let chart = if with_chart {
        chart(
            lines.iter().map(|l| l.label.clone()).collect(),
            lines.iter().map(|l| l.count).collect(),
        )
    } else {
        None
    };
    CountTable {
        id,
        title,
        first_col,
        lines,
        chart,
    }
}

/// The whole of the period as one breakdown line.
fn overall(s: &Stats) -> Breakdown {
    let kind = |k: &str| {
        s.outcomes
            .iter()
            .find(|c| c.key == k)
            .map(|c| c.count)
            .unwrap_or(0)
    };
    Breakdown {
        key: String::new(),
        label: "Ensemble".into(),
        count: s.sent,
        urgent: s.urgent,
        registered: s.to_registration.count,
        decided: s.to_decision.count,
        poursuites: kind("poursuites"),
        alternatives: kind("alternative_aux_poursuites"),
        classements: kind("classement_sans_suite"),
        to_registration: s.to_registration.clone(),
        to_decision: s.to_decision.clone(),
    }
}

/// Every month of the period, with zeros where nothing was sent.
fn months(s: &Stats, from: NaiveDate, to: NaiveDate) -> Vec<Breakdown> {
    months_between(from, to)
        .into_iter()
        .map(|m| {
            s.per_month
                .iter()
                .find(|b| b.key == m)
                .cloned()
                .unwrap_or_else(|| Breakdown {
                    key: m.clone(),
                    label: m,
                    ..Breakdown::default()
                })
        })
        .collect()
}

/// Unix bounds `[from 00:00, to + 1 day 00:00)` in Paris.
fn bounds(from: NaiveDate, to: NaiveDate) -> StatsFilter {
    let at = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| TZ.from_local_datetime(&t).earliest())
            .map(|t| t.timestamp())
    };
    StatsFilter {
        from: at(from),
        to: to.succ_opt().and_then(at),
    }
}

fn reach(auth: &Auth) -> String {
    let u = auth.user();
    match u.role {
        r if r.is_national_admin() => "Tous les signalements envoyés, toutes administrations et tous parquets confondus.".into(),
        r if r.group() == RoleGroup::Parquet => format!(
            "Signalements reçus par {} (y compris ceux qui lui ont été transmis par un autre parquet).",
            u.organisation_name
        ),
        _ => format!("Signalements envoyés par {}.", u.organisation_name),
    }
}

fn delay_figure(d: &Delay, what: &str) -> Figure {
    Figure {
        value: delay_fr(d.median_secs),
        text: format!(
            "délai médian entre l'envoi et {what} (moyenne : {}, sur {} signalement(s))",
            delay_fr(d.average_secs),
            d.count
        ),
    }
}

pub async fn page_handler(auth: &Auth, st: &AppState, q: &Period) -> AppResult<StatsPage> {
    let (from, to) = period(q, TZ);
    let s = stats::stats(&st.db, auth.scope(), &bounds(from, to)).await?;
    let all = overall(&s);
    let month_lines: Vec<Breakdown> = months(&s, from, to);
    let per_month = Table {
        id: "par-mois",
        title: "Signalements envoyés par mois",
        first_col: "Mois",
        chart: chart(
            month_lines.iter().map(|b| month_label(&b.key)).collect(),
            month_lines.iter().map(|b| b.count).collect(),
        ),
        lines: month_lines
            .iter()
            .map(|b| line(month_label(&b.key), b))
            .chain(std::iter::once(line("Ensemble".into(), &all)))
            .collect(),
    };
    let table = |id, title, first_col, v: &[Breakdown], with_chart: bool| Table {
        id,
        title,
        first_col,
        chart: if with_chart {
            chart(
                v.iter().map(|b| b.label.clone()).collect(),
                v.iter().map(|b| b.count).collect(),
            )
        } else {
            None
        },
        lines: v.iter().map(|b| line(b.label.clone(), b)).collect(),
    };
    let decided_share = percent((s.sent > 0).then(|| all.decided as f64 / s.sent as f64));
    Ok(StatsPage {
        ctx: PageCtx::new(&auth.1, "Statistiques Info Parquet"),
        reach: reach(auth),
        from: from.to_string(),
        to: to.to_string(),
        period_label: period_label(from, to),
        figures: vec![
            Figure {
                value: s.sent.to_string(),
                text: format!("signalement(s) envoyé(s), dont {} urgent(s)", s.urgent),
            },
            delay_figure(&s.to_registration, "l'enregistrement par le parquet"),
            delay_figure(&s.to_decision, "la décision"),
            Figure {
                value: decided_share,
                text: format!("des signalements ont reçu une décision ({})", all.decided),
            },
        ],
        outcomes: vec![count_table(
            "decisions",
            "Décisions du parquet",
            "Décision",
            &s.outcomes,
            true,
        )],
        details: vec![
            count_table(
                "motifs-classement",
                "Motifs des classements sans suite",
                "Motif",
                &s.classement_reasons,
                false,
            ),
            count_table(
                "alternatives",
                "Alternatives aux poursuites retenues",
                "Alternative",
                &s.alternatives,
                false,
            ),
        ],
        tables: vec![
            per_month,
            table(
                "par-famille",
                "Par famille d'infractions (NATINF)",
                "Famille NATINF",
                &s.per_natinf_family,
                true,
            ),
            table(
                "par-administration",
                "Par administration",
                "Administration",
                &s.per_administration,
                false,
            ),
            table(
                "par-tribunal",
                "Par tribunal judiciaire (parquet)",
                "Tribunal judiciaire",
                &s.per_tj,
                false,
            ),
        ],
        csv_href: format!("/info-parquet/statistiques.csv?du={from}&au={to}"),
    })
}

pub async fn stats_page(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<Period>,
) -> AppResult<Response> {
    auth.require(may_see_stats(auth.user().role))?;
    page(page_handler(&auth, &st, &q).await?)
}

/// One line per dimension value: `Dimension;Libellé;Signalements;…`; the decisions, classement reasons and
/// alternatives follow with their count only.
pub async fn stats_csv(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<Period>,
) -> AppResult<Response> {
    auth.require(may_see_stats(auth.user().role))?;
    let (from, to) = period(&q, TZ);
    let s = stats::stats(&st.db, auth.scope(), &bounds(from, to)).await?;
    let mut out = Csv::new(&[
        "Dimension",
        "Libellé",
        "Signalements envoyés",
        "Urgents",
        "Enregistrés",
        "Décidés",
        "Poursuites",
        "Alternatives aux poursuites",
        "Classements sans suite",
        "Délai médian jusqu'à l'enregistrement (jours)",
        "Délai moyen jusqu'à l'enregistrement (jours)",
        "Délai médian jusqu'à la décision (jours)",
        "Délai moyen jusqu'à la décision (jours)",
    ]);
    let mut row = |dimension: &str, label: &str, b: &Breakdown| {
        out.row(&[
            dimension.to_string(),
            label.to_string(),
            b.count.to_string(),
            b.urgent.to_string(),
            b.registered.to_string(),
            b.decided.to_string(),
            b.poursuites.to_string(),
            b.alternatives.to_string(),
            b.classements.to_string(),
            days(b.to_registration.median_secs),
            days(b.to_registration.average_secs),
            days(b.to_decision.median_secs),
            days(b.to_decision.average_secs),
        ]);
    };
    row("Ensemble", "Ensemble", &overall(&s));
    for b in months(&s, from, to) {
        row("Mois", &b.key, &b);
    }
    for b in &s.per_administration {
        row("Administration", &b.label, b);
    }
    for b in &s.per_tj {
        row("Tribunal judiciaire", &b.label, b);
    }
    for b in &s.per_natinf_family {
        row("Famille NATINF", &b.label, b);
    }
    for (dimension, counts) in [
        ("Décision", &s.outcomes),
        ("Motif de classement", &s.classement_reasons),
        ("Alternative aux poursuites", &s.alternatives),
    ] {
        for c in counts {
            out.row(&[dimension, c.label.as_str(), &c.count.to_string()]);
        }
    }
    audit::record(
        st.db.pool(),
        &auth.scope().actor,
        "parquet.stats.export_csv",
        "organisation",
        Some(&auth.user().organisation_id),
        Some(serde_json::json!({ "from": from.to_string(), "to": to.to_string(), "sent": s.sent })),
    )
    .await?;
    Ok(out.into_response(&format!("info-parquet-statistiques-{from}-{to}.csv")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_read_in_days_or_hours() {
        assert_eq!(delay_fr(None), "—");
        assert_eq!(delay_fr(Some(3 * 3600)), "3 h 00 min");
        assert_eq!(delay_fr(Some(3 * 86_400 + 43_200)), "3,5 jours");
        assert_eq!(days(Some(86_400 * 2)), "2,0");
        assert!(may_see_stats(Role::ParquetGreffe));
        assert!(may_see_stats(Role::AdminManager));
        assert!(!may_see_stats(Role::AdminAgent));
        assert!(!may_see_stats(Role::Cpip));
    }
}
