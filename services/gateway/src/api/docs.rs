//! `/openapi.json`, the OpenAPI 3.1 document generated (utoipa) from the handlers that serve it,
//! and `/docs`, Swagger UI on it (vendored from npm by `scripts/vendor-swagger-ui.sh`, compiled
//! in, its start-up in `static/docs.js` so the page runs without inline script).

use std::sync::Arc;

use axum::Extension;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::page;
use crate::app::AppState;
use crate::contract::Contract;
use crate::problem::Problem;

const PAGE: &str = include_str!("../../static/docs.html");
const INIT: &str = include_str!("../../static/docs.js");
const BUNDLE: &[u8] = include_bytes!("../../static/swagger-ui/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../../static/swagger-ui/swagger-ui.css");
const LICENSE: &[u8] = include_bytes!("../../static/swagger-ui/LICENSE");

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi))
        .routes(routes!(html))
        .routes(routes!(asset))
}

/// This document
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "pages",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
    security(()),
    extensions(("x-branch-scope" = json!("public"))),
)]
pub async fn openapi(Extension(contract): Extension<Arc<Contract>>) -> Response {
    let mut res = contract.document_json().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// Interactive API documentation
#[utoipa::path(
    get,
    path = "/docs",
    tag = "pages",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)),
    security(()),
    extensions(("x-branch-scope" = json!("public"))),
)]
pub async fn html() -> Response {
    page::html(PAGE)
}

/// The documentation page's files
#[utoipa::path(
    get,
    path = "/docs/{file}",
    tag = "pages",
    params(("file" = DocsFile, Path)),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"), (String = "text/css"), (String = "text/plain")
        )),
    ),
    security(()),
    extensions(("x-branch-scope" = json!("public")), ("x-problems" = json!([400, 404]))),
)]
pub async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "docs.js" => page::asset("text/javascript; charset=utf-8", INIT.as_bytes()),
        "swagger-ui-bundle.js" => page::asset("text/javascript; charset=utf-8", BUNDLE),
        "swagger-ui.css" => page::asset("text/css; charset=utf-8", CSS),
        "LICENSE" => page::asset("text/plain; charset=utf-8", LICENSE),
        _ => Problem::not_found(format!("no file {file:?} here")).into_response(),
    }
}

/// The files of the documentation page.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub enum DocsFile {
    #[serde(rename = "docs.js")]
    Init,
    #[serde(rename = "swagger-ui-bundle.js")]
    Bundle,
    #[serde(rename = "swagger-ui.css")]
    Css,
    #[serde(rename = "LICENSE")]
    License,
}
