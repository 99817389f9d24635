//! `/board`: the dispatch board, one static page (HTML, CSS and JS, no build step) compiled into
//! the binary. It shows the work orders by status (`GET /v1/board`), the open requests by status
//! and the stuck requests (`GET /v1/requests?stuck=true`, asked again every half minute), and
//! follows the event stream live: a work-order event moves its card and the card is read again
//! (`GET /v1/work-orders/{no}`). Its script is a file of its own, so the page runs under the HTML
//! pages' Content-Security-Policy.

use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::page;
use crate::app::AppState;

const BOARD: &str = include_str!("../../static/board.html");
const SCRIPT: &str = include_str!("../../static/board.js");
const STYLE: &str = include_str!("../../static/board.css");

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(html))
        .routes(routes!(script))
        .routes(routes!(style))
}

/// The dispatch board
///
/// Public page; it asks for a token (from the link's `#token=` fragment or typed in) and never
/// stores it.
#[utoipa::path(
    get,
    path = "/board",
    tag = "pages",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)),
    security(()),
    extensions(("x-branch-scope" = json!("public"))),
)]
pub async fn html() -> Response {
    page::html(BOARD)
}

/// The board's script
#[utoipa::path(
    get,
    path = "/board.js",
    tag = "pages",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)),
    security(()),
    extensions(("x-branch-scope" = json!("public"))),
)]
pub async fn script() -> Response {
    page::asset("text/javascript; charset=utf-8", SCRIPT.as_bytes())
}

/// The board's stylesheet
#[utoipa::path(
    get,
    path = "/board.css",
    tag = "pages",
    responses((status = 200, description = "CSS", content_type = "text/css", body = String)),
    security(()),
    extensions(("x-branch-scope" = json!("public"))),
)]
pub async fn style() -> Response {
    page::asset("text/css; charset=utf-8", STYLE.as_bytes())
}
