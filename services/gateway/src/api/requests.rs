//! `/v1/requests`: create, get, list, timeline, cancel — REST over intake's gRPC.

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::intake::v1 as pb;
use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[allow(unused_imports)] // named by the path attributes
use crate::api::schema::{IdempotencyKey, RequestNo};
use crate::api::wire::{
    CancelBody, CreateRequest, ListQuery, NotificationLog, Request, RequestList, Timeline,
};
use crate::app::AppState;
use crate::extract::JsonBody;
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::Problem;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get))
        .routes(routes!(timeline))
        .routes(routes!(notifications))
        .routes(routes!(cancel))
}

/// Submit a service request
///
/// Numbers it (`AS-<YYMM>-<branch>-<seq>`), stores it and starts the warranty review. Send an
/// `Idempotency-Key`: a retry with the same key gets the first answer.
#[utoipa::path(
    post,
    path = "/v1/requests",
    tag = "requests",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = CreateRequest, example = json!({
        "branch": "SH01", "channel": "hotline", "kind": "replacement", "urgency": "normal",
        "customer": { "name": "Li Wei", "phone": "+86 138 0013 8000",
                      "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban" },
        "product": { "category": "television", "model": "X55", "serial": "SN12345678",
                     "purchase_date": "2026-10-02", "invoice_no": "INV-9", "invoice_date": "2026-10-02",
                     "factory_date": "2026-08-15" },
        "fault_description": "no picture", "photos": ["https://photos.example/1.jpg"],
        "parts": [ { "part_no": "PWR-55-01", "quantity": 1 } ]
    })),
    responses(
        (status = 201, description = "Submitted", body = Request,
            headers(("Location" = String, description = "The new request's URL"))),
        (status = 200, description = "Already submitted with this key (intake's own idempotency)", body = Request),
    ),
    security(("bearer" = ["branch_agent", "dispatcher", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 409, 413, 415, 422]))),
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateRequest>,
) -> Result<Response, Problem> {
    let mut body = body;
    if body.branch.is_empty()
        && let Some(b) = caller.branch()
    {
        body.branch = b.to_owned();
    }
    // Intake is idempotent by this key too, so a retry is safe even while Redis is down.
    let key = upstream_key(&caller, &headers);
    let mut client = state.peers.intake(&caller)?;
    let res = call(
        "intake",
        "aftersales.intake.v1.IntakeService/SubmitRequest",
        client.submit_request(body.into_proto(key)),
    )
    .await?;
    let request = Request::from(res.request.unwrap_or_default());
    aftersales_platform::grpc::record_request_no(&request.request_no);
    let status = if res.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Json(&request)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("/v1/requests/{}", request.request_no)) {
        response.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(response)
}

/// One request with its current status
#[utoipa::path(
    get,
    path = "/v1/requests/{request_no}",
    tag = "requests",
    params(("request_no" = RequestNo, Path)),
    responses((status = 200, description = "The request", body = Request)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
) -> Result<Json<Request>, Problem> {
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let mut client = state.peers.intake(&caller)?;
    let res = call(
        "intake",
        "aftersales.intake.v1.IntakeService/GetRequest",
        client.get_request(pb::GetRequestRequest { request_no }),
    )
    .await?;
    Ok(Json(Request::from(res.request.unwrap_or_default())))
}

/// Requests, newest first
///
/// A branch token lists its branch's requests only, whatever `branch` says.
#[utoipa::path(
    get,
    path = "/v1/requests",
    tag = "requests",
    params(ListQuery),
    responses((status = 200, description = "A page of requests", body = RequestList)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 422]))),
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RequestList>, Problem> {
    let Query(query) = query.map_err(|e| Problem::field("query", e.body_text()))?;
    let req = query.into_proto()?;
    let mut client = state.peers.intake(&caller)?;
    let res = call(
        "intake",
        "aftersales.intake.v1.IntakeService/ListRequests",
        client.list_requests(req),
    )
    .await?;
    Ok(Json(RequestList {
        items: res.requests.into_iter().map(Request::from).collect(),
        next_page_token: res.next_page_token,
    }))
}

/// Every event about the request, oldest first
///
/// The claim's decisions, the warehouse's reservations and issues for it, shipments, visits:
/// how a branch follows its own request's movements.
#[utoipa::path(
    get,
    path = "/v1/requests/{request_no}/timeline",
    tag = "requests",
    params(("request_no" = RequestNo, Path)),
    responses((status = 200, description = "The timeline", body = Timeline)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn timeline(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
) -> Result<Json<Timeline>, Problem> {
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let mut client = state.peers.intake(&caller)?;
    let res = call(
        "intake",
        "aftersales.intake.v1.IntakeService/GetTimeline",
        client.get_timeline(pb::GetTimelineRequest { request_no }),
    )
    .await?;
    Ok(Json(Timeline::from(res)))
}

/// The messages sent to the customer and the branch about the request
///
/// One per customer-facing event and channel (the review result, the waybill, the appointment,
/// an apology for a missed deadline, the return visit, the refund, the end), with its status
/// (`queued`, `sent`, `delivered`, `failed`, `suppressed`), attempts and the provider's answer,
/// oldest first. The timeline shows each once it has an outcome.
#[utoipa::path(
    get,
    path = "/v1/requests/{request_no}/notifications",
    tag = "requests",
    params(("request_no" = RequestNo, Path)),
    responses((status = 200, description = "The message log", body = NotificationLog)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn notifications(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
) -> Result<Json<NotificationLog>, Problem> {
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let mut client = state.peers.intake(&caller)?;
    let res = call(
        "intake",
        "aftersales.intake.v1.IntakeService/ListNotifications",
        client.list_notifications(pb::ListNotificationsRequest { request_no }),
    )
    .await?;
    Ok(Json(NotificationLog::from(res)))
}

/// Cancel a request before dispatch
///
/// Only while submitted, under review, approved or sourcing; else 409.
#[utoipa::path(
    post,
    path = "/v1/requests/{request_no}/cancel",
    tag = "requests",
    params(
        ("request_no" = RequestNo, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = Option<CancelBody>, example = json!({ "reason": "customer fixed it" })),
    responses((status = 200, description = "Cancelled", body = Request)),
    security(("bearer" = ["branch_agent", "dispatcher", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CancelBody>,
) -> Result<Json<Request>, Problem> {
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let key = upstream_key(&caller, &headers);
    let mut client = state.peers.intake(&caller)?;
    let res = call(
        "intake",
        "aftersales.intake.v1.IntakeService/CancelRequest",
        client.cancel_request(pb::CancelRequestRequest {
            request_no,
            reason: body.reason,
            idempotency_key: key,
        }),
    )
    .await?;
    Ok(Json(Request::from(res.request.unwrap_or_default())))
}
