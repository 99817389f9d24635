//! `/v1/requests`: create, get, list, timeline, cancel — REST over intake's gRPC.

use aftersales_platform::auth::{Caller, Role};
use aftersales_platform::proto::intake::v1 as pb;
use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::wire::{CancelBody, CreateRequest, ListQuery, Request, RequestList, Timeline};
use crate::app::AppState;
use crate::extract::{ANY_ROLE, JsonBody, require};
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::Problem;

/// Who may submit and cancel (intake checks the same).
const WRITERS: &[Role] = &[Role::BranchAgent, Role::Dispatcher];

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateRequest>,
) -> Result<Response, Problem> {
    require(&caller, WRITERS)?;
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

pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
) -> Result<Json<Request>, Problem> {
    require(&caller, ANY_ROLE)?;
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

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RequestList>, Problem> {
    require(&caller, ANY_ROLE)?;
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

pub async fn timeline(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
) -> Result<Json<Timeline>, Problem> {
    require(&caller, ANY_ROLE)?;
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

pub async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CancelBody>,
) -> Result<Json<Request>, Problem> {
    require(&caller, WRITERS)?;
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
