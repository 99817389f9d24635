//! `/kpis`: the KPI page, one static page (HTML, CSS and JS, no build step) compiled into the
//! binary. Its script reads `GET /v1/kpis` with the analyst's token and draws one chart per
//! indicator as inline SVG; it is a file of its own, so the page runs under the HTML pages'
//! Content-Security-Policy.

use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::page;
use crate::app::AppState;

const PAGE: &str = include_str!("../../static/kpis.html");
const SCRIPT: &str = include_str!("../../static/kpis.js");
const STYLE: &str = include_str!("../../static/kpis.css");

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(html))
        .routes(routes!(script))
        .routes(routes!(style))
}

/// The KPI charts
///
/// Public page; it asks for an analyst's token (from the link's `#token=` fragment or typed in)
/// and never stores it. `#period=2026-11` or `?period=` picks the period, `branch` a branch
/// (head office).
#[utoipa::path(
    get,
    path = "/kpis",
    tag = "pages",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)),
    security(()),
    extensions(("x-branch-scope" = json!("public"))),
)]
pub async fn html() -> Response {
    page::html(PAGE)
}

/// The KPI page's script
#[utoipa::path(
    get,
    path = "/kpis.js",
    tag = "pages",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)),
    security(()),
    extensions(("x-branch-scope" = json!("public"))),
)]
pub async fn script() -> Response {
    page::asset("text/javascript; charset=utf-8", SCRIPT.as_bytes())
}

/// The KPI page's stylesheet
#[utoipa::path(
    get,
    path = "/kpis.css",
    tag = "pages",
    responses((status = 200, description = "CSS", content_type = "text/css", body = String)),
    security(()),
    extensions(("x-branch-scope" = json!("public"))),
)]
pub async fn style() -> Response {
    page::asset("text/css; charset=utf-8", STYLE.as_bytes())
}
