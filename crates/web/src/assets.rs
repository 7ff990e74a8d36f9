//! The DSFR (design system of the French State) and our own small stylesheet, embedded in the binary from the
//! npm package pinned by package-lock.json.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "../../node_modules/@gouvfr/dsfr/dist/"]
#[prefix = "dsfr/"]
#[include = "dsfr.min.css"]
#[include = "dsfr.module.min.js"]
#[include = "dsfr.nomodule.min.js"]
#[include = "utility/icons/icons.min.css"]
#[include = "icons/**/*.svg"]
#[include = "fonts/*.woff2"]
#[include = "favicon/*"]
#[include = "artwork/**/*.svg"]
struct Dsfr;

/// `@gouvfr/dsfr-chart` web components (bar charts of the statistics page).
#[derive(rust_embed::RustEmbed)]
#[folder = "../../node_modules/@gouvfr/dsfr-chart/dist/"]
#[prefix = "dsfr-chart/"]
#[include = "BarChart/BarChart.js"]
#[include = "BarChart/BarChart.css"]
struct DsfrChart;

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
#[prefix = "app/"]
struct App;

pub async fn serve(Path(path): Path<String>) -> Response {
    let file = Dsfr::get(&path)
        .or_else(|| DsfrChart::get(&path))
        .or_else(|| App::get(&path));
    match file {
        Some(f) => {
            let mime = mime_guess::from_path(&path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_string()),
                    (header::CACHE_CONTROL, "public, max-age=86400".to_string()),
                ],
                f.data.into_owned(),
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
