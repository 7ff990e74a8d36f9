//! Shared by the statistics pages (Mon Suivi Justice, Info Parquet): the period filter, French month labels and
//! percentages, and CSV for spreadsheets (`;`, UTF-8 with BOM, formula injection neutralised).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Months, NaiveDate};
use serde::Deserialize;

/// `?du=YYYY-MM-DD&au=YYYY-MM-DD`.
#[derive(Deserialize, Default)]
pub struct Period {
    #[serde(default)]
    pub du: Option<String>,
    #[serde(default)]
    pub au: Option<String>,
}

/// The period asked for, in days of `tz`: by default the last 12 months (from the first day of the month eleven
/// months ago to today); reversed bounds are swapped.
pub(crate) fn period(q: &Period, tz: chrono_tz::Tz) -> (NaiveDate, NaiveDate) {
    let today = store::now_utc().with_timezone(&tz).date_naive();
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    };
    let to = parse(&q.au).unwrap_or(today);
    let from = parse(&q.du).unwrap_or_else(|| {
        let first = NaiveDate::from_ymd_opt(to.year(), to.month(), 1).unwrap_or(to);
        first.checked_sub_months(Months::new(11)).unwrap_or(first)
    });
    if from > to {
        (to, from)
    } else {
        (from, to)
    }
}

/// « du 1 mai 2026 au 30 avril 2027 ».
pub(crate) fn period_label(from: NaiveDate, to: NaiveDate) -> String {
    format!(
        "du {} au {}",
        domain::template::french_date(from),
        domain::template::french_date(to)
    )
}

/// "2027-05" → "mai 2027".
pub(crate) fn month_label(m: &str) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let (y, mo) = m.split_once('-').unwrap_or((m, ""));
    match mo.parse::<usize>() {
        Ok(n) if (1..=12).contains(&n) => format!("{} {y}", MONTHS[n - 1]),
        _ => m.to_string(),
    }
}

/// The months `YYYY-MM` from `from`'s to `to`'s, inclusive.
pub(crate) fn months_between(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = vec![];
    let mut d = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or(from);
    while d <= to && out.len() < 1200 {
        out.push(d.format("%Y-%m").to_string());
        match d.checked_add_months(Months::new(1)) {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

/// "12,5 %" or "—" when there is nothing to divide.
pub(crate) fn percent(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{:.1} %", v * 100.0).replace('.', ","),
        None => "—".into(),
    }
}

/// A CSV field: quoted when it holds the separator, a quote or a line break; formula-looking text neutralised
/// (spreadsheet injection).
pub(crate) fn csv_field(s: &str) -> String {
    let mut s = s.to_string();
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        s.insert(0, '\'');
    }
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Builds a CSV document for Excel: BOM, `;` separators, CRLF line ends.
pub(crate) struct Csv(String);

impl Csv {
    pub(crate) fn new<S: AsRef<str>>(header: &[S]) -> Csv {
        let mut c = Csv(String::from("\u{feff}"));
        c.row(header);
        c
    }

    pub(crate) fn row<S: AsRef<str>>(&mut self, cols: &[S]) {
        let line: Vec<String> = cols.iter().map(|c| csv_field(c.as_ref())).collect();
        self.0.push_str(&line.join(";"));
        self.0.push_str("\r\n");
    }

    /// The download response (`attachment; filename=…`).
    pub(crate) fn into_response(self, filename: &str) -> Response {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            self.0,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_neutralised() {
        assert_eq!(csv_field("abc"), "abc");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-2"), "'-2");
        assert_eq!(percent(Some(0.125)), "12,5 %");
        assert_eq!(percent(None), "—");
        assert_eq!(month_label("2027-05"), "mai 2027");
    }

    #[test]
    fn months_cover_the_period_and_the_default_is_twelve_months() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            months_between(d("2026-11-15"), d("2027-02-01")),
            ["2026-11", "2026-12", "2027-01", "2027-02"]
        );
        let (from, to) = period(&Period::default(), chrono_tz::Europe::Paris);
        assert_eq!(months_between(from, to).len(), 12);
        let (from, to) = period(
            &Period {
                du: Some("2027-03-01".into()),
                au: Some("2027-01-01".into()),
            },
            chrono_tz::Europe::Paris,
        );
        assert!(from < to);
    }
}
