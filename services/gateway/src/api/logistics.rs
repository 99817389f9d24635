//! Shipments, their tracking and exceptions, return pick-ups and the freight report — REST over
//! logistics' gRPC. A branch sees only its own shipments and pick-ups (another branch's answer
//! 404); the logistics clerk (`logistics`) records tracking and handles exceptions; the warehouse
//! clerk at the returns intake completes a pick-up too. The carriers' own updates come through
//! the signed webhook ([`crate::api::carriers`]), which ends in the same RPC as a person's entry
//! here.

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::logistics::v1 as pb;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::claims::Money;
#[allow(unused_imports)] // named by the schema attributes
use crate::api::schema::{
    BranchCode, Code, Id, IdempotencyKey, Month, PartNo, PickListId, PickupNo, RequestNo,
    ShipmentNo, TextLine,
};
use crate::api::wire::{
    Address, PartQuantity, TimeRange, Urgency, Violations, instant, instant_out, money_out,
    page_size, text, this_month, wire_enum,
};
use crate::app::AppState;
use crate::extract::JsonBody;
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::Problem;

pub const PEER: &str = "logistics";
pub const SERVICE: &str = "aftersales.logistics.v1.LogisticsService";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_shipments))
        .routes(routes!(get_shipment))
        .routes(routes!(record_event))
        .routes(routes!(report_exception))
        .routes(routes!(close_exception))
        .routes(routes!(get_pickup))
        .routes(routes!(complete_pickup))
        .routes(routes!(freight_report))
}

wire_enum!(ShipmentStatus, pb::ShipmentStatus, {
    Planned = "planned" => Planned, Dispatched = "dispatched" => Dispatched,
    InTransit = "in_transit" => InTransit, Delivered = "delivered" => Delivered,
    Failed = "failed" => Failed, Cancelled = "cancelled" => Cancelled,
});
wire_enum!(DeliveryMethod, pb::DeliveryMethod, {
    Express = "express" => Express, DedicatedLine = "dedicated_line" => DedicatedLine,
    SpecialVehicle = "special_vehicle" => SpecialVehicle,
});
wire_enum!(TrackingStatus, pb::TrackingStatus, {
    PickedUp = "picked_up" => PickedUp, InTransit = "in_transit" => InTransit,
    OutForDelivery = "out_for_delivery" => OutForDelivery, Delivered = "delivered" => Delivered,
    Delayed = "delayed" => Delayed, Damaged = "damaged" => Damaged, Lost = "lost" => Lost,
    DeliveryFailed = "delivery_failed" => DeliveryFailed,
});
wire_enum!(ExceptionKind, pb::ExceptionKind, {
    Delay = "delay" => Delay, Damage = "damage" => Damage, Loss = "loss" => Loss,
});
wire_enum!(ReportSource, pb::ReportSource, {
    Carrier = "carrier" => Carrier, Staff = "staff" => Staff, Scanner = "scanner" => Scanner,
});
wire_enum!(PickupStatus, pb::PickupStatus, {
    Scheduled = "scheduled" => Scheduled, Collected = "collected" => Collected,
    Delivered = "delivered" => Delivered, Failed = "failed" => Failed, Cancelled = "cancelled" => Cancelled,
});

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(q)| q)
        .map_err(|e| Problem::field("query", e.body_text()))
}

// ---- shipments ------------------------------------------------------------------------------

/// A line of the packing list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackingLine {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub name: String,
    pub specification: String,
    pub quantity: u32,
    /// The carton it is packed in (1-based).
    pub package_no: u32,
}

/// A tracking update, as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingEvent {
    pub carrier_event_id: String,
    #[schema(value_type = Option<TrackingStatus>)]
    pub status: Option<String>,
    #[schema(format = DateTime)]
    pub occurred_at: Option<String>,
    pub location: String,
    pub description: String,
    /// False when it was only recorded (it happened before the current state, or after the end).
    pub applied: bool,
    /// Why it was not applied; empty when applied.
    pub note: String,
    #[schema(format = DateTime)]
    pub recorded_at: Option<String>,
    #[schema(value_type = Option<ReportSource>)]
    pub source: Option<String>,
}

impl From<pb::TrackingEvent> for TrackingEvent {
    fn from(t: pb::TrackingEvent) -> Self {
        TrackingEvent {
            status: text(TrackingStatus::text_of(t.status)),
            source: text(ReportSource::text_of(t.source)),
            occurred_at: instant_out(&t.occurred_at),
            recorded_at: instant_out(&t.recorded_at),
            carrier_event_id: t.carrier_event_id,
            location: t.location,
            description: t.description,
            applied: t.applied,
            note: t.note,
        }
    }
}

/// A delay, damage or loss on a shipment.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ShipmentException)]
pub struct ExceptionRecord {
    #[schema(value_type = Id)]
    pub exception_id: String,
    pub shipment_no: String,
    #[schema(value_type = Option<ExceptionKind>)]
    pub kind: Option<String>,
    pub detail: String,
    #[schema(value_type = Option<ReportSource>)]
    pub source: Option<String>,
    #[schema(format = DateTime)]
    pub reported_at: Option<String>,
    /// A delay's revised ETA, when known.
    #[schema(format = DateTime)]
    pub new_eta: Option<String>,
    /// Damage or loss: a replacement follows once the warehouse reserved the lines again.
    pub replacement_needed: bool,
    pub affected_lines: Vec<PartQuantity>,
    pub resolved: bool,
    pub resolution: String,
    #[schema(format = DateTime)]
    pub resolved_at: Option<String>,
    pub resolved_by: String,
}

impl From<pb::ExceptionRecord> for ExceptionRecord {
    fn from(e: pb::ExceptionRecord) -> Self {
        ExceptionRecord {
            kind: text(ExceptionKind::text_of(e.kind)),
            source: text(ReportSource::text_of(e.source)),
            reported_at: instant_out(&e.reported_at),
            new_eta: instant_out(&e.new_eta),
            resolved_at: instant_out(&e.resolved_at),
            affected_lines: e
                .affected_lines
                .iter()
                .map(PartQuantity::from_proto)
                .collect(),
            exception_id: e.exception_id,
            shipment_no: e.shipment_no,
            detail: e.detail,
            replacement_needed: e.replacement_needed,
            resolved: e.resolved,
            resolution: e.resolution,
            resolved_by: e.resolved_by,
        }
    }
}

/// Parts on their way to a customer or a technician.
#[derive(Debug, Serialize, ToSchema)]
pub struct Shipment {
    #[schema(value_type = ShipmentNo)]
    pub shipment_no: String,
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    pub pick_list_id: String,
    #[schema(value_type = Option<ShipmentStatus>)]
    pub status: Option<String>,
    #[schema(value_type = Option<DeliveryMethod>)]
    pub method: Option<String>,
    /// The rule that chose the method (`urgent_fastest`, `cheapest_within_promise`, …).
    pub method_rule: String,
    /// Why this method: the rule and the alternatives' costs, in words.
    pub method_reason: String,
    pub carrier: String,
    /// Set on dispatch.
    pub waybill_no: String,
    pub ship_to: Option<Address>,
    /// The depot it leaves from.
    pub origin: String,
    #[schema(value_type = Option<Urgency>)]
    pub urgency: Option<String>,
    pub packing_list: Vec<PackingLine>,
    pub packages: u32,
    pub weight_grams: u32,
    pub estimated_cost: Option<Money>,
    pub actual_cost: Option<Money>,
    pub insured_value: Option<Money>,
    /// Shipments to one destination on one day travel together: the group's id.
    pub consolidation_id: String,
    pub replaces_shipment_no: String,
    pub replaced_by_shipment_no: String,
    #[schema(format = DateTime)]
    pub planned_at: Option<String>,
    #[schema(format = DateTime)]
    pub dispatched_at: Option<String>,
    /// The current ETA (revised by a delay).
    #[schema(format = DateTime)]
    pub eta: Option<String>,
    /// The ETA given at dispatch; on-time delivery is measured against it.
    #[schema(format = DateTime)]
    pub promised_eta: Option<String>,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    pub signed_by: String,
    #[schema(format = DateTime)]
    pub cancelled_at: Option<String>,
    pub tracking: Vec<TrackingEvent>,
    pub exceptions: Vec<ExceptionRecord>,
}

impl From<pb::Shipment> for Shipment {
    fn from(s: pb::Shipment) -> Self {
        Shipment {
            status: text(ShipmentStatus::text_of(s.status)),
            method: text(DeliveryMethod::text_of(s.method)),
            urgency: text(Urgency::text_of(s.urgency)),
            ship_to: Address::from_proto(&s.ship_to),
            estimated_cost: money_out(&s.estimated_cost),
            actual_cost: money_out(&s.actual_cost),
            insured_value: money_out(&s.insured_value),
            planned_at: instant_out(&s.planned_at),
            dispatched_at: instant_out(&s.dispatched_at),
            eta: instant_out(&s.eta),
            promised_eta: instant_out(&s.promised_eta),
            delivered_at: instant_out(&s.delivered_at),
            cancelled_at: instant_out(&s.cancelled_at),
            packing_list: s
                .packing_list
                .into_iter()
                .map(|l| PackingLine {
                    part_no: l.part_no,
                    name: l.name,
                    specification: l.specification,
                    quantity: l.quantity,
                    package_no: l.package_no,
                })
                .collect(),
            tracking: s.tracking.into_iter().map(TrackingEvent::from).collect(),
            exceptions: s
                .exceptions
                .into_iter()
                .map(ExceptionRecord::from)
                .collect(),
            shipment_no: s.shipment_no,
            request_no: s.request_no,
            branch: s.branch,
            pick_list_id: s.pick_list_id,
            method_rule: s.method_rule,
            method_reason: s.method_reason,
            carrier: s.carrier,
            waybill_no: s.waybill_no,
            origin: s.origin,
            packages: s.packages,
            weight_grams: s.weight_grams,
            consolidation_id: s.consolidation_id,
            replaces_shipment_no: s.replaces_shipment_no,
            replaced_by_shipment_no: s.replaced_by_shipment_no,
            signed_by: s.signed_by,
        }
    }
}

/// A page of shipments, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentList {
    pub items: Vec<Shipment>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// `GET /v1/shipments`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ShipmentQuery {
    #[param(value_type = Option<RequestNo>)]
    pub request_no: Option<String>,
    /// Only these statuses, comma-separated (`dispatched,in_transit`).
    #[param(value_type = Option<Vec<ShipmentStatus>>, style = Form, explode = false)]
    pub status: Option<String>,
    #[param(value_type = Option<DeliveryMethod>)]
    pub method: Option<String>,
    /// A carrier's code.
    #[param(value_type = Option<Code>)]
    pub carrier: Option<String>,
    /// Only shipments with an exception not closed yet.
    pub open_exception: Option<bool>,
    /// Head office: one branch's shipments (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// Shipments, newest first
///
/// A branch token sees its branch's shipments only, whatever `branch` says.
#[utoipa::path(
    get,
    path = "/v1/shipments",
    tag = "logistics",
    params(ShipmentQuery),
    responses((status = 200, description = "A page of shipments", body = ShipmentList)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 422]))),
)]
pub async fn list_shipments(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<ShipmentQuery>, QueryRejection>,
) -> Result<Json<ShipmentList>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let statuses = crate::api::wire::enum_list(
        q.status.as_deref(),
        "status",
        |s| ShipmentStatus::parse(s).map(ShipmentStatus::to_proto),
        &mut bad,
    );
    let method = match q.method.as_deref().filter(|m| !m.is_empty()) {
        None => 0,
        Some(m) => DeliveryMethod::parse(m)
            .map(DeliveryMethod::to_proto)
            .unwrap_or_else(|| {
                bad.add(
                    "method",
                    format!("is not one of {}", DeliveryMethod::choices()),
                );
                0
            }),
    };
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.logistics(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListShipments"),
        client.list_shipments(pb::ListShipmentsRequest {
            branch: q.branch.unwrap_or_default(),
            request_no: q.request_no.unwrap_or_default(),
            statuses,
            method,
            carrier: q.carrier.unwrap_or_default(),
            with_open_exception: q.open_exception.unwrap_or(false),
            planned: None,
            page_size,
            page_token: q.page_token.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(ShipmentList {
        items: res.shipments.into_iter().map(Shipment::from).collect(),
        next_page_token: res.next_page_token,
    }))
}

/// One shipment
///
/// Its method and why, packing list, waybill, ETA, tracking and exceptions.
#[utoipa::path(
    get,
    path = "/v1/shipments/{shipment_no}",
    tag = "logistics",
    params(("shipment_no" = ShipmentNo, Path)),
    responses((status = 200, description = "The shipment", body = Shipment)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_shipment(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(shipment_no): Path<String>,
) -> Result<Json<Shipment>, Problem> {
    let mut client = state.peers.logistics(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetShipment"),
        client.get_shipment(pb::GetShipmentRequest {
            shipment_no,
            ..Default::default()
        }),
    )
    .await?;
    Ok(Json(Shipment::from(res.shipment.unwrap_or_default())))
}

/// `POST /v1/shipments/{shipment_no}/events`: a person records what the carrier reported.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TrackingBody {
    pub status: TrackingStatus,
    #[schema(format = DateTime, example = "2026-11-30T15:20:00+08:00")]
    pub occurred_at: String,
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Pudong, Shanghai"
    )]
    pub location: String,
    #[serde(default)]
    #[schema(
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "signed at the door"
    )]
    pub description: String,
    /// For `delivered`: who signed for it.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Li Wei"
    )]
    pub signed_by: String,
    /// A revised ETA, when the carrier gave one.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub eta: Option<String>,
}

/// What a tracking entry did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingRecorded {
    /// False when this entry was recorded before (the same Idempotency-Key).
    pub applied: bool,
    pub shipment: Shipment,
}

/// Record a tracking update by hand
///
/// For a carrier that sends no webhook. The `Idempotency-Key` names the entry: the same key
/// again changes nothing (`applied: false`). A late update (before the current state) is kept
/// but moves nothing. `delivered` completes the shipment; `delayed`, `damaged` and `lost` open an
/// exception.
#[utoipa::path(
    post,
    path = "/v1/shipments/{shipment_no}/events",
    tag = "logistics",
    params(
        ("shipment_no" = ShipmentNo, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Names the entry: a retry records it once"),
    ),
    request_body(content = TrackingBody, example = json!({
        "status": "delivered", "occurred_at": "2026-11-30T15:20:00+08:00",
        "location": "Pudong, Shanghai", "description": "signed at the door", "signed_by": "Li Wei"
    })),
    responses((status = 200, description = "Recorded", body = TrackingRecorded)),
    security(("bearer" = ["logistics", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn record_event(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(shipment_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<TrackingBody>,
) -> Result<Json<TrackingRecorded>, Problem> {
    let mut bad = Violations::default();
    let occurred_at = instant(Some(&body.occurred_at), "occurred_at", &mut bad);
    let eta = instant(body.eta.as_deref(), "eta", &mut bad);
    bad.finish()?;
    let req = pb::RecordTrackingEventRequest {
        shipment_no,
        carrier_event_id: format!("manual:{}", upstream_key(&caller, &headers)),
        status: body.status.to_proto(),
        occurred_at,
        location: body.location,
        description: body.description,
        signed_by: body.signed_by,
        eta,
        ..Default::default()
    };
    let mut client = state.peers.logistics(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RecordTrackingEvent"),
        client.record_tracking_event(req),
    )
    .await?;
    let shipment = match res.target {
        Some(pb::record_tracking_event_response::Target::Shipment(s)) => Shipment::from(s),
        _ => return Err(Problem::internal()),
    };
    Ok(Json(TrackingRecorded {
        applied: res.applied,
        shipment,
    }))
}

/// `POST /v1/shipments/{shipment_no}/exceptions`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExceptionBody {
    pub kind: ExceptionKind,
    /// What happened.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "carton crushed, panel cracked"
    )]
    pub detail: String,
    /// For a delay: the new ETA, when known.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub new_eta: Option<String>,
    /// For damage: the lines damaged; empty means all.
    #[serde(default)]
    #[schema(max_items = 200)]
    pub affected_lines: Vec<PartQuantity>,
}

/// A shipment and one of its exceptions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentWithException {
    pub shipment: Shipment,
    pub exception: ExceptionRecord,
}

/// Report a delay, damage or loss
///
/// Damage or loss makes the warehouse reserve the lines again for a replacement shipment.
#[utoipa::path(
    post,
    path = "/v1/shipments/{shipment_no}/exceptions",
    tag = "logistics",
    params(
        ("shipment_no" = ShipmentNo, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = ExceptionBody, example = json!({
        "kind": "delay", "detail": "road closed by snow", "new_eta": "2026-12-02T18:00:00+08:00"
    })),
    responses((status = 201, description = "Reported", body = ShipmentWithException)),
    security(("bearer" = ["logistics", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn report_exception(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(shipment_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ExceptionBody>,
) -> Result<Response, Problem> {
    let mut bad = Violations::default();
    let new_eta = instant(body.new_eta.as_deref(), "new_eta", &mut bad);
    bad.finish()?;
    let req = pb::ReportExceptionRequest {
        idempotency_key: upstream_key(&caller, &headers),
        shipment_no,
        kind: body.kind.to_proto(),
        detail: body.detail,
        new_eta,
        affected_lines: body
            .affected_lines
            .iter()
            .map(PartQuantity::to_proto)
            .collect(),
    };
    let mut client = state.peers.logistics(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ReportException"),
        client.report_exception(req),
    )
    .await?;
    let out = ShipmentWithException {
        shipment: Shipment::from(res.shipment.unwrap_or_default()),
        exception: ExceptionRecord::from(res.exception.unwrap_or_default()),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `POST /v1/shipments/{shipment_no}/exceptions/{exception_id}/close`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseExceptionBody {
    /// How it was resolved (delivered after all, replacement delivered, settled with the carrier …).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "delivered after all"
    )]
    pub resolution: String,
}

/// Close an exception
///
/// It stays open until this; closing a closed one returns it unchanged.
#[utoipa::path(
    post,
    path = "/v1/shipments/{shipment_no}/exceptions/{exception_id}/close",
    tag = "logistics",
    params(
        ("shipment_no" = ShipmentNo, Path),
        ("exception_id" = Id, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = CloseExceptionBody, example = json!({ "resolution": "delivered after all" })),
    responses((status = 200, description = "Closed", body = ShipmentWithException)),
    security(("bearer" = ["logistics", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn close_exception(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((shipment_no, exception_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<CloseExceptionBody>,
) -> Result<Json<ShipmentWithException>, Problem> {
    let mut client = state.peers.logistics(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/CloseException"),
        client.close_exception(pb::CloseExceptionRequest {
            shipment_no,
            exception_id,
            resolution: body.resolution,
        }),
    )
    .await?;
    Ok(Json(ShipmentWithException {
        shipment: Shipment::from(res.shipment.unwrap_or_default()),
        exception: ExceptionRecord::from(res.exception.unwrap_or_default()),
    }))
}

// ---- pick-ups -------------------------------------------------------------------------------

/// A return pick-up at the customer's door.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pickup {
    #[schema(value_type = PickupNo)]
    pub pickup_no: String,
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(value_type = Option<PickupStatus>)]
    pub status: Option<String>,
    pub pickup_address: Option<Address>,
    /// The warehouse or depot it goes to.
    pub destination: String,
    /// The agreed collection window.
    pub window: Option<TimeRange>,
    pub carrier: String,
    pub waybill_no: String,
    #[schema(value_type = Option<DeliveryMethod>)]
    pub method: Option<String>,
    pub part_no: String,
    pub serial: String,
    pub model: String,
    /// What the customer hands over with the unit (accessories).
    pub items: Vec<String>,
    /// Free for a quality problem; otherwise the customer pays `fee`.
    pub free_of_charge: bool,
    pub fee: Option<Money>,
    pub fee_reason: String,
    pub estimated_cost: Option<Money>,
    /// The customer sends the unit themselves (no courier).
    pub customer_ships: bool,
    #[schema(format = DateTime)]
    pub scheduled_at: Option<String>,
    #[schema(format = DateTime)]
    pub collected_at: Option<String>,
    /// When it reached the returns intake.
    #[schema(format = DateTime)]
    pub arrived_at: Option<String>,
    #[schema(format = DateTime)]
    pub chase_due_at: Option<String>,
    #[schema(format = DateTime)]
    pub chased_at: Option<String>,
    #[schema(format = DateTime)]
    pub cancelled_at: Option<String>,
    pub tracking: Vec<TrackingEvent>,
}

impl From<pb::Pickup> for Pickup {
    fn from(p: pb::Pickup) -> Self {
        Pickup {
            status: text(PickupStatus::text_of(p.status)),
            method: text(DeliveryMethod::text_of(p.method)),
            pickup_address: Address::from_proto(&p.pickup_address),
            window: TimeRange::from_proto(&p.window),
            fee: money_out(&p.fee),
            estimated_cost: money_out(&p.estimated_cost),
            scheduled_at: instant_out(&p.scheduled_at),
            collected_at: instant_out(&p.collected_at),
            arrived_at: instant_out(&p.arrived_at),
            chase_due_at: instant_out(&p.chase_due_at),
            chased_at: instant_out(&p.chased_at),
            cancelled_at: instant_out(&p.cancelled_at),
            tracking: p.tracking.into_iter().map(TrackingEvent::from).collect(),
            pickup_no: p.pickup_no,
            request_no: p.request_no,
            branch: p.branch,
            destination: p.destination,
            carrier: p.carrier,
            waybill_no: p.waybill_no,
            part_no: p.part_no,
            serial: p.serial,
            model: p.model,
            items: p.items,
            free_of_charge: p.free_of_charge,
            fee_reason: p.fee_reason,
            customer_ships: p.customer_ships,
        }
    }
}

/// One return pick-up
#[utoipa::path(
    get,
    path = "/v1/pickups/{pickup_no}",
    tag = "logistics",
    params(("pickup_no" = PickupNo, Path)),
    responses((status = 200, description = "The pick-up", body = Pickup)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_pickup(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(pickup_no): Path<String>,
) -> Result<Json<Pickup>, Problem> {
    let mut client = state.peers.logistics(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetPickup"),
        client.get_pickup(pb::GetPickupRequest { pickup_no }),
    )
    .await?;
    Ok(Json(Pickup::from(res.pickup.unwrap_or_default())))
}

/// `POST /v1/pickups/{pickup_no}/complete`: the unit reached the returns intake.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CompletePickupBody {
    /// Default: now.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub arrived_at: Option<String>,
    /// When the courier collected it, if no tracking said so.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub collected_at: Option<String>,
    /// When the carrier issued its waybill only at collection.
    #[serde(default)]
    #[schema(
        max_length = 80,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "SF1234567890"
    )]
    pub waybill_no: String,
    /// What was actually handed over.
    #[serde(default)]
    #[schema(max_items = 50, value_type = Vec<TextLine>)]
    pub items: Vec<String>,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "box opened, remote missing"
    )]
    pub note: String,
}

/// Complete a return pick-up
///
/// The unit reached the warehouse's returns intake (when the carrier sends no tracking, or the
/// customer shipped it). The warehouse then books it for inspection. Completing a completed
/// pick-up returns it unchanged.
#[utoipa::path(
    post,
    path = "/v1/pickups/{pickup_no}/complete",
    tag = "logistics",
    params(
        ("pickup_no" = PickupNo, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = Option<CompletePickupBody>, example = json!({
        "waybill_no": "SF1234567890", "items": ["remote control"], "note": "box opened, remote missing"
    })),
    responses((status = 200, description = "Completed", body = Pickup)),
    security(("bearer" = ["logistics", "warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn complete_pickup(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(pickup_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CompletePickupBody>,
) -> Result<Json<Pickup>, Problem> {
    let mut bad = Violations::default();
    let arrived_at = instant(body.arrived_at.as_deref(), "arrived_at", &mut bad);
    let collected_at = instant(body.collected_at.as_deref(), "collected_at", &mut bad);
    bad.finish()?;
    let req = pb::CompletePickupRequest {
        idempotency_key: upstream_key(&caller, &headers),
        pickup_no,
        collected_at,
        waybill_no: body.waybill_no,
        items: body.items,
        note: body.note,
        arrived_at,
    };
    let mut client = state.peers.logistics(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/CompletePickup"),
        client.complete_pickup(req),
    )
    .await?;
    Ok(Json(Pickup::from(res.pickup.unwrap_or_default())))
}

// ---- the freight report ---------------------------------------------------------------------

/// `GET /v1/reports/freight`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct FreightQuery {
    /// Default: the current local month.
    #[param(value_type = Option<Month>)]
    pub month: Option<String>,
    /// Head office: one branch (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
}

/// Freight cost and performance of one group.
#[derive(Debug, Serialize, ToSchema)]
pub struct FreightRow {
    /// The method, carrier or region (lower-case); empty on the total.
    pub key: String,
    pub shipments: u32,
    pub pickups: u32,
    pub total_cost: Option<Money>,
    pub average_cost: Option<Money>,
    pub delivered: u32,
    /// Delivered by the ETA given at dispatch.
    pub on_time: u32,
    pub on_time_rate_bp: u32,
    /// Dispatch to delivery.
    pub average_transit_minutes: u32,
    pub delays: u32,
    pub damages: u32,
    pub losses: u32,
    pub exception_rate_bp: u32,
}

impl From<pb::FreightStatsRow> for FreightRow {
    fn from(r: pb::FreightStatsRow) -> Self {
        FreightRow {
            total_cost: money_out(&r.total_cost),
            average_cost: money_out(&r.average_cost),
            key: r.key,
            shipments: r.shipments,
            pickups: r.pickups,
            delivered: r.delivered,
            on_time: r.on_time,
            on_time_rate_bp: r.on_time_rate_bp,
            average_transit_minutes: r.average_transit_minutes,
            delays: r.delays,
            damages: r.damages,
            losses: r.losses,
            exception_rate_bp: r.exception_rate_bp,
        }
    }
}

/// A month's freight by method, region and carrier.
#[derive(Debug, Serialize, ToSchema)]
pub struct FreightReport {
    #[schema(value_type = Month)]
    pub month: String,
    pub by_method: Vec<FreightRow>,
    pub by_region: Vec<FreightRow>,
    pub by_carrier: Vec<FreightRow>,
    pub total: Option<FreightRow>,
}

/// Freight cost and performance of a month
///
/// By delivery method, region and carrier: cost, on-time rate, transit time, exceptions.
#[utoipa::path(
    get,
    path = "/v1/reports/freight",
    tag = "logistics",
    params(FreightQuery),
    responses((status = 200, description = "The freight report", body = FreightReport)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 422]))),
)]
pub async fn freight_report(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<FreightQuery>, QueryRejection>,
) -> Result<Json<FreightReport>, Problem> {
    let q = query(q)?;
    let month = q
        .month
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| this_month(state.settings.utc_offset_minutes));
    let branch = q.branch.unwrap_or_default();
    let client = state.peers.logistics(&caller)?;
    let by = |group: pb::FreightGrouping| {
        let req = pb::GetFreightStatsRequest {
            period: None,
            group_by: group as i32,
            branch: branch.clone(),
            month: month.clone(),
        };
        let mut c = client.clone();
        async move {
            call(
                PEER,
                &format!("{SERVICE}/GetFreightStats"),
                c.get_freight_stats(req),
            )
            .await
        }
    };
    let (methods, regions, carriers) = tokio::try_join!(
        by(pb::FreightGrouping::Method),
        by(pb::FreightGrouping::Region),
        by(pb::FreightGrouping::Carrier),
    )?;
    Ok(Json(FreightReport {
        month,
        total: methods.total.map(FreightRow::from),
        by_method: methods.rows.into_iter().map(FreightRow::from).collect(),
        by_region: regions.rows.into_iter().map(FreightRow::from).collect(),
        by_carrier: carriers.rows.into_iter().map(FreightRow::from).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_logistics_enumeration_value_has_its_wire_text() {
        for i in 1..20 {
            if pb::ShipmentStatus::try_from(i).is_ok() {
                assert!(!ShipmentStatus::text_of(i).is_empty(), "shipment {i}");
            }
            if pb::DeliveryMethod::try_from(i).is_ok() {
                assert!(!DeliveryMethod::text_of(i).is_empty(), "method {i}");
            }
            if pb::TrackingStatus::try_from(i).is_ok() {
                assert!(!TrackingStatus::text_of(i).is_empty(), "tracking {i}");
            }
            if pb::ExceptionKind::try_from(i).is_ok() {
                assert!(!ExceptionKind::text_of(i).is_empty(), "kind {i}");
            }
            if pb::ReportSource::try_from(i).is_ok() {
                assert!(!ReportSource::text_of(i).is_empty(), "source {i}");
            }
            if pb::PickupStatus::try_from(i).is_ok() {
                assert!(!PickupStatus::text_of(i).is_empty(), "pickup {i}");
            }
        }
    }
}
