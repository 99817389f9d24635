//! The REST resources, one module each, plus the wire shapes they share, and [`routes`]: the
//! one table the router is built from and the OpenAPI document is generated from, so the two
//! cannot drift apart.

pub mod board;
pub mod carriers;
pub mod claims;
pub mod docs;
pub mod requests;
pub mod stock;
pub mod warehouse;
pub mod wire;

use axum::routing::{MethodRouter, get, post};

use crate::app::AppState;

/// One route: what it is for, and the handler serving it.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// The status of a successful answer.
    pub ok: u16,
    /// Needs a bearer token (then the branch's rate limit; POSTs take `Idempotency-Key`).
    pub auth: bool,
    /// An example request body, for the docs.
    pub example: Option<&'static str>,
    pub handler: MethodRouter<AppState>,
}

fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    ok: u16,
    auth: bool,
    handler: MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        summary,
        ok,
        auth,
        example: None,
        handler,
    }
}

/// The DESIGN §8 example of `POST /v1/requests`.
pub const CREATE_EXAMPLE: &str = r#"{ "branch": "SH01", "channel": "hotline", "kind": "replacement", "urgency": "normal",
  "customer": { "name": "Li Wei", "phone": "+86 138 0013 8000", "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban" },
  "product":  { "category": "television", "model": "X55", "serial": "SN12345678",
                "purchase_date": "2026-10-02", "invoice_no": "INV-9", "invoice_date": "2026-10-02",
                "factory_date": "2026-08-15" },
  "fault_description": "no picture", "photos": ["https://photos.example/1.jpg"],
  "parts": [ { "part_no": "PWR-55-01", "quantity": 1 } ] }"#;

/// Every route the gateway serves.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            example: Some(CREATE_EXAMPLE),
            ..route(
                "post",
                "/v1/requests",
                "Submit a service request (send Idempotency-Key: <uuid>)",
                201,
                true,
                post(requests::create),
            )
        },
        route(
            "get",
            "/v1/requests",
            "List requests, newest first (status=a,b  page_token=  page_size=  branch=  customer_phone=)",
            200,
            true,
            get(requests::list),
        ),
        route(
            "get",
            "/v1/requests/{request_no}",
            "The request with its current status",
            200,
            true,
            get(requests::get),
        ),
        route(
            "get",
            "/v1/requests/{request_no}/timeline",
            "Every event about the request, oldest first",
            200,
            true,
            get(requests::timeline),
        ),
        Route {
            example: Some(r#"{ "reason": "customer fixed it" }"#),
            ..route(
                "post",
                "/v1/requests/{request_no}/cancel",
                "Cancel before dispatch",
                200,
                true,
                post(requests::cancel),
            )
        },
        route(
            "get",
            "/v1/claims",
            "The review queue (status=pending,info_requested  branch=  escalated_only=  page_token=)",
            200,
            true,
            get(claims::queue),
        ),
        route(
            "get",
            "/v1/claims/{request_no}",
            "The claim: status, recommendation, lines with coverage and window, explanation, due date",
            200,
            true,
            get(claims::get),
        ),
        Route {
            example: Some(
                r#"{ "decision": "reject", "reason_code": "return_window_expired", "note": "bought 40 days ago" }"#,
            ),
            ..route(
                "post",
                "/v1/claims/{request_no}/decision",
                "Approve, reject or request info (reviewer)",
                200,
                true,
                post(claims::decide),
            )
        },
        route(
            "get",
            "/v1/stock/{part_no}",
            "Stock of a part, by zone",
            200,
            true,
            get(stock::get),
        ),
        Route {
            example: Some(
                r#"{ "supplier_id": "SUP-1", "delivery_note": "DN-1", "lines": [ { "part_no": "PWR-55-01", "quantity": 10 } ] }"#,
            ),
            ..route(
                "post",
                "/v1/receipts",
                "Receive goods into pending_inspection (warehouse)",
                201,
                true,
                post(warehouse::receive),
            )
        },
        Route {
            example: Some(
                r#"{ "lines": [ { "part_no": "PWR-55-01", "passed": 9, "failed": 1, "failure_reason": "cracked" } ] }"#,
            ),
            ..route(
                "post",
                "/v1/receipts/{receipt_id}/inspection",
                "Record the inspection: passed units to qualified, failed to nonconforming (warehouse)",
                200,
                true,
                post(warehouse::inspect),
            )
        },
        route(
            "get",
            "/v1/pick-lists/{pick_list_id}",
            "A pick list (PL-<request_no>): its reserved lines and zones",
            200,
            true,
            get(warehouse::pick_list),
        ),
        Route {
            example: Some(
                r#"{ "lines": [ { "part_no": "PWR-55-01", "quantity": 1 } ], "shipment_no": "" }"#,
            ),
            ..route(
                "post",
                "/v1/pick-lists/{pick_list_id}/issue",
                "Issue the parts; the lines must equal the pick list's, else 409 naming the mismatch (warehouse)",
                200,
                true,
                post(warehouse::issue),
            )
        },
        Route {
            example: Some(
                r#"{ "zones": ["qualified"], "part_nos": ["PWR-55-01"], "note": "monthly" }"#,
            ),
            ..route(
                "post",
                "/v1/stocktakes",
                "Open a stocktake: snapshot the book quantities of the scope (warehouse)",
                201,
                true,
                post(warehouse::open_stocktake),
            )
        },
        Route {
            example: Some(r#"{ "part_no": "PWR-55-01", "zone": "qualified", "counted": 9 }"#),
            ..route(
                "post",
                "/v1/stocktakes/{stocktake_id}/counts",
                "Record one line's count; the last count wins (warehouse)",
                200,
                true,
                post(warehouse::record_count),
            )
        },
        Route {
            example: Some(r#"{ "default_reason": "miscount", "allow_uncounted": false }"#),
            ..route(
                "post",
                "/v1/stocktakes/{stocktake_id}/close",
                "Close: post the differences as adjustments, report the accuracy (warehouse)",
                200,
                true,
                post(warehouse::close_stocktake),
            )
        },
        route(
            "get",
            "/v1/ledger",
            "Stock movements, newest first (part_no=  zone=  kind=a,b  reference_id=  request_no=  from=  to=  page_size=  page_token=)",
            200,
            true,
            get(warehouse::ledger),
        ),
        route(
            "get",
            "/v1/backorders",
            "Back-orders in serving order (part_no=  branch=  status=open|served|cancelled  page_size=  page_token=)",
            200,
            true,
            get(warehouse::backorders),
        ),
        route(
            "get",
            "/v1/events/stream",
            "Server-Sent Events of the caller's branch as JSON (types=a,b.*  Last-Event-ID; access_token= for EventSource)",
            200,
            true,
            get(crate::stream::sse),
        ),
        route(
            "post",
            "/v1/carriers/{carrier}/events",
            "Carrier tracking webhook (X-Signature: sha256=<hex HMAC-SHA256 of the body>)",
            202,
            false,
            post(carriers::receive),
        ),
        route(
            "get",
            "/board",
            "The dispatch board page",
            200,
            false,
            get(board::page),
        ),
        route(
            "get",
            "/openapi.json",
            "This document",
            200,
            false,
            get(docs::openapi),
        ),
        route(
            "get",
            "/docs",
            "Browsable API docs",
            200,
            false,
            get(docs::page),
        ),
    ]
}
