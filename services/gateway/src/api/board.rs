//! `/board`: the dispatch board, one static page (HTML + JS, no build step) compiled into the
//! binary. It lists open requests by status and follows the event stream live.

use axum::http::header;
use axum::response::IntoResponse;

const BOARD: &str = include_str!("../../static/board.html");

pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        BOARD,
    )
}
