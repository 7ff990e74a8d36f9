//! The organisation's opening hours (`/msj/horaires`): free-time appointments must fall within them.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use store::msj::booking_rules;

use super::is_config_admin;
use crate::error::AppResult;
use crate::handlers::page;
use crate::session::Auth;
use crate::views::PageCtx;
use crate::AppState;

pub struct DayBox {
    pub name: String,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "msj_admin/hours.html")]
pub struct HoursPage {
    pub ctx: PageCtx,
    pub opens: String,
    pub closes: String,
    pub days: Vec<DayBox>,
    pub error: Option<String>,
}

const DAYS: [&str; 7] = [
    "Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche",
];

#[derive(Deserialize, Default)]
pub struct HoursForm {
    #[serde(default)]
    opens: String,
    #[serde(default)]
    closes: String,
    #[serde(default)]
    j1: String,
    #[serde(default)]
    j2: String,
    #[serde(default)]
    j3: String,
    #[serde(default)]
    j4: String,
    #[serde(default)]
    j5: String,
    #[serde(default)]
    j6: String,
    #[serde(default)]
    j7: String,
}

impl HoursForm {
    fn days(&self) -> [bool; 7] {
        [
            &self.j1, &self.j2, &self.j3, &self.j4, &self.j5, &self.j6, &self.j7,
        ]
        .map(|d| d == "oui")
    }
}

fn render(
    ctx: PageCtx,
    opens: String,
    closes: String,
    days: [bool; 7],
    error: Option<String>,
) -> AppResult<Response> {
    page(HoursPage {
        ctx,
        opens,
        closes,
        days: (0..7)
            .map(|i| DayBox {
                name: format!("j{}", i + 1),
                label: DAYS[i],
                checked: days[i],
            })
            .collect(),
        error,
    })
}

#[derive(Deserialize, Default)]
pub struct HoursQuery {
    #[serde(default)]
    info: String,
}

pub async fn form(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<HoursQuery>,
) -> AppResult<Response> {
    auth.require(is_config_admin(auth.user().role))?;
    let h = booking_rules::opening_hours(&st.db, &auth.user().organisation_id).await?;
    let mut ctx = PageCtx::new(&auth.1, "Horaires d'ouverture");
    if q.info == "enregistre" {
        ctx = ctx.with_notice("success", "Horaires d'ouverture enregistrés.");
    }
    render(
        ctx,
        h.opens.format("%H:%M").to_string(),
        h.closes.format("%H:%M").to_string(),
        h.days,
        None,
    )
}

pub async fn save(
    auth: Auth,
    State(st): State<AppState>,
    Form(f): Form<HoursForm>,
) -> AppResult<Response> {
    auth.require(is_config_admin(auth.user().role))?;
    let days = f.days();
    match domain::OpeningHours::parse(&f.opens, &f.closes, days) {
        Ok(h) => {
            match booking_rules::set_opening_hours(
                &st.db,
                auth.scope(),
                &auth.user().organisation_id,
                &h,
                store::now(),
            )
            .await
            {
                Ok(()) => Ok(Redirect::to("/msj/horaires?info=enregistre").into_response()),
                Err(store::msj::MsjError::Store(e)) => Err(e.into()),
                Err(e) => render(
                    PageCtx::new(&auth.1, "Horaires d'ouverture"),
                    f.opens,
                    f.closes,
                    days,
                    Some(e.to_string()),
                ),
            }
        }
        Err(e) => render(
            PageCtx::new(&auth.1, "Horaires d'ouverture"),
            f.opens,
            f.closes,
            days,
            Some(e.to_string()),
        ),
    }
}
