//! Receipts and inspection, pick lists and issue, stocktakes, the ledger and back-orders — REST
//! over warehouse's gRPC. Zones, kinds and statuses are lower-case on the wire (`qualified`,
//! `inspection_pass`, `open`). The central warehouse's books (receipts, stocktakes, the ledger)
//! are head office's: the document scopes them `head_office`, so a branch token gets 403 here
//! before the warehouse is asked; back-orders and pick lists are a branch's own. Returned units
//! (`/v1/returns`) are booked and inspected at the central returns intake: head office's too.

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as pb;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::claims::{Money, enum_text};
#[allow(unused_imports)] // named by the schema attributes
use crate::api::schema::{
    BackorderStatus, BranchCode, Date, DocumentId, Id, IdempotencyKey, MovementKind, PartNo,
    PickListId, PickListStatus, PickupNo, ReceiptStatus, RequestNo, ReturnStatus, Serial,
    StocktakeStatus, Zone,
};
use crate::api::wire::{Urgency, Violations, instant, page_size, rfc3339};
use crate::app::AppState;
use crate::extract::JsonBody;
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::Problem;

const PEER: &str = "warehouse";
const SERVICE: &str = "aftersales.warehouse.v1.WarehouseService";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive))
        .routes(routes!(inspect))
        .routes(routes!(pick_list))
        .routes(routes!(issue))
        .routes(routes!(open_stocktake))
        .routes(routes!(record_count))
        .routes(routes!(close_stocktake))
        .routes(routes!(ledger))
        .routes(routes!(backorders))
        .routes(routes!(receive_return, returns))
        .routes(routes!(inspect_return))
}

/// A lower-case wire value of a proto enumeration: `qualified` → `ZONE_QUALIFIED`. `None` (with
/// the violation recorded) for anything else, UNSPECIFIED included.
fn parse_enum(
    text: &str,
    prefix: &str,
    from_name: impl Fn(&str) -> Option<i32>,
    choices: &str,
    field: &str,
    bad: &mut Violations,
) -> Option<i32> {
    let v = from_name(&format!("{prefix}{}", text.trim().to_ascii_uppercase())).filter(|v| *v != 0);
    if v.is_none() {
        bad.add(field, format!("{text:?} is not one of {choices}"));
    }
    v
}

const ZONES: &str = "qualified|pending_inspection|nonconforming|valuables|old_parts";
const KINDS: &str = "receipt|inspection_pass|inspection_fail|issue|old_part_return|return_to_supplier|transfer|stocktake_adjustment|customer_return|return_inspection";
const BACKORDER_STATUSES: &str = "open|served|cancelled";
const RETURN_STATUSES: &str = "received|inspected";

fn zone(text: &str, field: &str, bad: &mut Violations) -> i32 {
    parse_enum(
        text,
        "ZONE_",
        |n| pb::Zone::from_str_name(n).map(|z| z as i32),
        ZONES,
        field,
        bad,
    )
    .unwrap_or(0)
}

/// The zone's wire text; empty when there is none (`ZONE_UNSPECIFIED`: a returned unit not yet
/// inspected), which the callers show as absent.
fn zone_text(v: i32) -> String {
    pb::Zone::try_from(v)
        .ok()
        .filter(|z| *z != pb::Zone::Unspecified)
        .map(|z| enum_text(z.as_str_name(), "ZONE_"))
        .unwrap_or_default()
}

fn money(m: Option<common::Money>) -> Option<Money> {
    m.map(|m| Money {
        currency: m.currency,
        amount_minor: m.amount_minor,
    })
}

// ---- receipts -------------------------------------------------------------------------------

/// One line of a delivery.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReceiptLineIn {
    #[schema(required = true, value_type = PartNo)]
    pub part_no: String,
    #[schema(required = true, minimum = 1, maximum = 1000000, example = 10)]
    pub quantity: u32,
    /// The purchase order's line, when there is one.
    #[serde(default)]
    #[schema(maximum = 100000)]
    pub po_line_no: u32,
}

/// `POST /v1/receipts`: goods delivered, booked into `pending_inspection`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReceiveBody {
    #[serde(default)]
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "PO-2611-0007"
    )]
    pub po_number: String,
    #[serde(default)]
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "SUP-1"
    )]
    pub supplier_id: String,
    #[serde(default)]
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "DN-1"
    )]
    pub delivery_note: String,
    #[schema(required = true, min_items = 1, max_items = 200)]
    pub lines: Vec<ReceiptLineIn>,
    /// Default: today.
    #[serde(default)]
    #[schema(value_type = Date)]
    pub movement_date: String,
}

/// A line of a receipt and its inspection.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLine {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub quantity: u32,
    pub po_line_no: u32,
    pub passed: u32,
    pub failed: u32,
    pub failure_reason: String,
}

/// Goods received, and their inspection.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    pub receipt_id: String,
    pub po_number: String,
    pub supplier_id: String,
    pub delivery_note: String,
    #[schema(value_type = ReceiptStatus)]
    pub status: String,
    pub lines: Vec<ReceiptLine>,
    pub received_by: String,
    #[schema(format = DateTime)]
    pub received_at: Option<String>,
    pub inspected_by: String,
    #[schema(format = DateTime)]
    pub inspected_at: Option<String>,
}

impl From<pb::Receipt> for Receipt {
    fn from(r: pb::Receipt) -> Self {
        Receipt {
            status: enum_text(r.status().as_str_name(), "RECEIPT_STATUS_"),
            receipt_id: r.receipt_id,
            po_number: r.po_number,
            supplier_id: r.supplier_id,
            delivery_note: r.delivery_note,
            lines: r
                .lines
                .into_iter()
                .map(|l| ReceiptLine {
                    part_no: l.part_no,
                    quantity: l.quantity,
                    po_line_no: l.po_line_no,
                    passed: l.passed,
                    failed: l.failed,
                    failure_reason: l.failure_reason,
                })
                .collect(),
            received_by: r.received_by,
            received_at: r.received_at.as_ref().and_then(rfc3339),
            inspected_by: r.inspected_by,
            inspected_at: r.inspected_at.as_ref().and_then(rfc3339),
        }
    }
}

/// Receive goods into `pending_inspection`
#[utoipa::path(
    post,
    path = "/v1/receipts",
    tag = "warehouse",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = ReceiveBody, example = json!({
        "supplier_id": "SUP-1", "delivery_note": "DN-1", "lines": [ { "part_no": "PWR-55-01", "quantity": 10 } ]
    })),
    responses((status = 201, description = "Received", body = Receipt)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn receive(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ReceiveBody>,
) -> Result<Response, Problem> {
    let req = pb::ReceiveGoodsRequest {
        idempotency_key: upstream_key(&caller, &headers),
        po_number: body.po_number,
        supplier_id: body.supplier_id,
        delivery_note: body.delivery_note,
        lines: body
            .lines
            .into_iter()
            .map(|l| pb::ReceiptLine {
                part_no: l.part_no,
                quantity: l.quantity,
                po_line_no: l.po_line_no,
                ..Default::default()
            })
            .collect(),
        movement_date: body.movement_date,
    };
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ReceiveGoods"),
        client.receive_goods(req),
    )
    .await?;
    let receipt = Receipt::from(res.receipt.unwrap_or_default());
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

/// The inspection of one received part.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct InspectionLineIn {
    #[schema(required = true, value_type = PartNo)]
    pub part_no: String,
    #[serde(default)]
    #[schema(maximum = 1000000, example = 9)]
    pub passed: u32,
    #[serde(default)]
    #[schema(maximum = 1000000, example = 1)]
    pub failed: u32,
    /// Required when units failed.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "cracked"
    )]
    pub failure_reason: String,
}

/// `POST /v1/receipts/{receipt_id}/inspection`: passed units go to `qualified`, failed ones to
/// `nonconforming`; every line of the receipt is inspected at once.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct InspectionBody {
    #[schema(required = true, min_items = 1, max_items = 200)]
    pub lines: Vec<InspectionLineIn>,
}

/// Record a receipt's inspection
#[utoipa::path(
    post,
    path = "/v1/receipts/{receipt_id}/inspection",
    tag = "warehouse",
    params(
        ("receipt_id" = DocumentId, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = InspectionBody, example = json!({
        "lines": [ { "part_no": "PWR-55-01", "passed": 9, "failed": 1, "failure_reason": "cracked" } ]
    })),
    responses((status = 200, description = "Inspected", body = Receipt)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn inspect(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(receipt_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InspectionBody>,
) -> Result<Json<Receipt>, Problem> {
    let req = pb::RecordInspectionRequest {
        idempotency_key: upstream_key(&caller, &headers),
        receipt_id,
        lines: body
            .lines
            .into_iter()
            .map(|l| pb::InspectionLine {
                part_no: l.part_no,
                passed: l.passed,
                failed: l.failed,
                failure_reason: l.failure_reason,
            })
            .collect(),
    };
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RecordInspection"),
        client.record_inspection(req),
    )
    .await?;
    Ok(Json(Receipt::from(res.receipt.unwrap_or_default())))
}

// ---- pick lists -----------------------------------------------------------------------------

/// A reserved part and the zone to pick it from.
#[derive(Debug, Serialize, ToSchema)]
pub struct PickLine {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub quantity: u32,
    #[schema(value_type = Zone)]
    pub zone: String,
}

/// What to pick for a request (`PL-<request_no>`).
#[derive(Debug, Serialize, ToSchema)]
pub struct PickList {
    #[schema(value_type = PickListId)]
    pub pick_list_id: String,
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(value_type = PickListStatus)]
    pub status: String,
    pub lines: Vec<PickLine>,
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    #[schema(format = DateTime)]
    pub issued_at: Option<String>,
    pub issued_by: String,
    pub shipment_no: String,
}

impl From<pb::PickList> for PickList {
    fn from(p: pb::PickList) -> Self {
        PickList {
            status: enum_text(p.status().as_str_name(), "PICK_LIST_STATUS_"),
            pick_list_id: p.pick_list_id,
            request_no: p.request_no,
            branch: p.branch,
            lines: p
                .lines
                .into_iter()
                .map(|l| PickLine {
                    zone: zone_text(l.zone),
                    part_no: l.part_no,
                    quantity: l.quantity,
                })
                .collect(),
            created_at: p.created_at.as_ref().and_then(rfc3339),
            issued_at: p.issued_at.as_ref().and_then(rfc3339),
            issued_by: p.issued_by,
            shipment_no: p.shipment_no,
        }
    }
}

/// A pick list: its reserved lines and zones
#[utoipa::path(
    get,
    path = "/v1/pick-lists/{pick_list_id}",
    tag = "warehouse",
    params(("pick_list_id" = PickListId, Path)),
    responses((status = 200, description = "The pick list", body = PickList)),
    security(("bearer" = ["warehouse", "dispatcher", "technician", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn pick_list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(pick_list_id): Path<String>,
) -> Result<Json<PickList>, Problem> {
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetPickList"),
        client.get_pick_list(pb::GetPickListRequest { pick_list_id }),
    )
    .await?;
    Ok(Json(PickList::from(res.pick_list.unwrap_or_default())))
}

/// A part and how many.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = IssueLine)]
pub struct PartLineIn {
    #[schema(required = true, value_type = PartNo)]
    pub part_no: String,
    #[schema(required = true, minimum = 1, maximum = 1000000, example = 1)]
    pub quantity: u32,
}

/// `POST /v1/pick-lists/{pick_list_id}/issue`: the lines must equal the pick list's.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IssueBody {
    #[schema(required = true, min_items = 1, max_items = 200)]
    pub lines: Vec<PartLineIn>,
    #[serde(default)]
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "SHP-1"
    )]
    pub shipment_no: String,
    /// Default: today.
    #[serde(default)]
    #[schema(value_type = Date)]
    pub movement_date: String,
}

/// Issue a pick list's parts
///
/// The lines must equal the pick list's, else 409 naming the mismatch (nothing is issued).
#[utoipa::path(
    post,
    path = "/v1/pick-lists/{pick_list_id}/issue",
    tag = "warehouse",
    params(
        ("pick_list_id" = PickListId, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = IssueBody, example = json!({
        "lines": [ { "part_no": "PWR-55-01", "quantity": 1 } ], "shipment_no": "SHP-1"
    })),
    responses((status = 200, description = "Issued", body = PickList)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn issue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(pick_list_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<IssueBody>,
) -> Result<Json<PickList>, Problem> {
    let req = pb::IssuePartsRequest {
        idempotency_key: upstream_key(&caller, &headers),
        pick_list_id,
        lines: body
            .lines
            .into_iter()
            .map(|l| common::PartLine {
                part_no: l.part_no,
                quantity: l.quantity,
            })
            .collect(),
        shipment_no: body.shipment_no,
        movement_date: body.movement_date,
    };
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/IssueParts"),
        client.issue_parts(req),
    )
    .await?;
    Ok(Json(PickList::from(res.pick_list.unwrap_or_default())))
}

// ---- stocktakes -----------------------------------------------------------------------------

/// `POST /v1/stocktakes`: the scope; no zones = every zone, no part numbers = every part.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct OpenStocktakeBody {
    #[serde(default)]
    #[schema(value_type = Vec<Zone>, max_items = 5)]
    pub zones: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<PartNo>, max_items = 1000)]
    pub part_nos: Vec<String>,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "monthly"
    )]
    pub note: String,
}

/// A counted (or not yet counted) line of a stocktake.
#[derive(Debug, Serialize, ToSchema)]
pub struct StocktakeLine {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(value_type = Zone)]
    pub zone: String,
    /// The book quantity when the stocktake opened.
    pub book: u32,
    pub counted: Option<u32>,
    pub difference: i32,
    pub reason: String,
    pub counted_by: String,
}

impl From<pb::StocktakeLine> for StocktakeLine {
    fn from(l: pb::StocktakeLine) -> Self {
        StocktakeLine {
            zone: zone_text(l.zone),
            part_no: l.part_no,
            book: l.book,
            counted: l.counted,
            difference: l.difference,
            reason: l.reason,
            counted_by: l.counted_by,
        }
    }
}

/// A stocktake: the book quantities of its scope, the counts, the accuracy once closed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stocktake {
    pub stocktake_id: String,
    #[schema(value_type = StocktakeStatus)]
    pub status: String,
    #[schema(value_type = Vec<Zone>)]
    pub zones: Vec<String>,
    #[schema(value_type = Vec<PartNo>)]
    pub part_nos: Vec<String>,
    pub lines: Vec<StocktakeLine>,
    /// Lines that matched, in basis points of all lines.
    pub accuracy_bp: u32,
    pub difference_value: Option<Money>,
    #[schema(format = DateTime)]
    pub opened_at: Option<String>,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub opened_by: String,
    pub closed_by: String,
}

impl From<pb::Stocktake> for Stocktake {
    fn from(s: pb::Stocktake) -> Self {
        Stocktake {
            status: enum_text(s.status().as_str_name(), "STOCKTAKE_STATUS_"),
            zones: s.zones.iter().map(|z| zone_text(*z)).collect(),
            stocktake_id: s.stocktake_id,
            part_nos: s.part_nos,
            lines: s.lines.into_iter().map(StocktakeLine::from).collect(),
            accuracy_bp: s.accuracy_bp,
            difference_value: money(s.difference_value),
            opened_at: s.opened_at.as_ref().and_then(rfc3339),
            closed_at: s.closed_at.as_ref().and_then(rfc3339),
            opened_by: s.opened_by,
            closed_by: s.closed_by,
        }
    }
}

/// Open a stocktake
///
/// Snapshots the book quantities of the scope.
#[utoipa::path(
    post,
    path = "/v1/stocktakes",
    tag = "warehouse",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = Option<OpenStocktakeBody>, example = json!({
        "zones": ["qualified"], "part_nos": ["PWR-55-01"], "note": "monthly"
    })),
    responses((status = 201, description = "Opened", body = Stocktake)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn open_stocktake(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<OpenStocktakeBody>,
) -> Result<Response, Problem> {
    let mut bad = Violations::default();
    let zones = body
        .zones
        .iter()
        .enumerate()
        .map(|(i, z)| zone(z, &format!("zones[{i}]"), &mut bad))
        .collect();
    bad.finish()?;
    let req = pb::OpenStocktakeRequest {
        idempotency_key: upstream_key(&caller, &headers),
        zones,
        part_nos: body.part_nos,
        note: body.note,
    };
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/OpenStocktake"),
        client.open_stocktake(req),
    )
    .await?;
    let stocktake = Stocktake::from(res.stocktake.unwrap_or_default());
    Ok((StatusCode::CREATED, Json(stocktake)).into_response())
}

/// `POST /v1/stocktakes/{id}/counts`: one line's count (the last count wins).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CountBody {
    #[schema(required = true, value_type = PartNo)]
    pub part_no: String,
    #[schema(required = true, value_type = Zone)]
    pub zone: String,
    #[schema(required = true, maximum = 1000000, example = 9)]
    pub counted: u32,
}

impl CountBody {
    fn into_proto(self, stocktake_id: String) -> Result<pb::RecordCountRequest, Problem> {
        let mut bad = Violations::default();
        let zone = zone(&self.zone, "zone", &mut bad);
        bad.finish()?;
        Ok(pb::RecordCountRequest {
            stocktake_id,
            part_no: self.part_no,
            zone,
            counted: self.counted,
        })
    }
}

/// Record one line's count
///
/// The last count of a line wins; a line outside the stocktake's scope answers 404.
#[utoipa::path(
    post,
    path = "/v1/stocktakes/{stocktake_id}/counts",
    tag = "warehouse",
    params(("stocktake_id" = DocumentId, Path)),
    request_body(content = CountBody, example = json!({ "part_no": "PWR-55-01", "zone": "qualified", "counted": 9 })),
    responses((status = 200, description = "Counted", body = StocktakeLine)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn record_count(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(stocktake_id): Path<String>,
    JsonBody(body): JsonBody<CountBody>,
) -> Result<Json<StocktakeLine>, Problem> {
    let req = body.into_proto(stocktake_id)?;
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RecordCount"),
        client.record_count(req),
    )
    .await?;
    Ok(Json(StocktakeLine::from(res.line.unwrap_or_default())))
}

/// Why a line differs.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReasonIn {
    #[schema(required = true, value_type = PartNo)]
    pub part_no: String,
    #[schema(required = true, value_type = Zone)]
    pub zone: String,
    #[schema(
        required = true,
        min_length = 1,
        max_length = 500,
        example = "miscount",
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub reason: String,
}

/// `POST /v1/stocktakes/{id}/close`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CloseStocktakeBody {
    /// Reasons per differing line; a differing line without one takes `default_reason`.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub reasons: Vec<ReasonIn>,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "miscount"
    )]
    pub default_reason: String,
    /// Uncounted lines then count as matching (else 409).
    #[serde(default)]
    pub allow_uncounted: bool,
}

/// Close a stocktake
///
/// Posts the differences as adjustments and reports the accuracy.
#[utoipa::path(
    post,
    path = "/v1/stocktakes/{stocktake_id}/close",
    tag = "warehouse",
    params(
        ("stocktake_id" = DocumentId, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = Option<CloseStocktakeBody>, example = json!({ "default_reason": "miscount", "allow_uncounted": true })),
    responses((status = 200, description = "Closed", body = Stocktake)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn close_stocktake(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(stocktake_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CloseStocktakeBody>,
) -> Result<Json<Stocktake>, Problem> {
    let mut bad = Violations::default();
    let reasons = body
        .reasons
        .into_iter()
        .enumerate()
        .map(|(i, r)| pb::AdjustmentReason {
            zone: zone(&r.zone, &format!("reasons[{i}].zone"), &mut bad),
            part_no: r.part_no,
            reason: r.reason,
        })
        .collect();
    bad.finish()?;
    let req = pb::CloseStocktakeRequest {
        idempotency_key: upstream_key(&caller, &headers),
        stocktake_id,
        reasons,
        default_reason: body.default_reason,
        allow_uncounted: body.allow_uncounted,
    };
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/CloseStocktake"),
        client.close_stocktake(req),
    )
    .await?;
    Ok(Json(Stocktake::from(res.stocktake.unwrap_or_default())))
}

// ---- ledger and back-orders -----------------------------------------------------------------

/// `GET /v1/ledger`: every filter optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    #[param(value_type = Option<PartNo>)]
    pub part_no: Option<String>,
    #[param(value_type = Option<Zone>)]
    pub zone: Option<String>,
    /// Only these movement kinds, comma-separated (`receipt,issue`).
    #[param(value_type = Option<Vec<MovementKind>>, style = Form, explode = false)]
    pub kind: Option<String>,
    /// A receipt, pick list, stocktake … the movement belongs to.
    #[param(value_type = Option<DocumentId>)]
    pub reference_id: Option<String>,
    #[param(value_type = Option<RequestNo>)]
    pub request_no: Option<String>,
    /// Recorded at or after (RFC 3339).
    #[param(format = DateTime, example = "2026-11-01T00:00:00Z")]
    pub from: Option<String>,
    /// Recorded before (RFC 3339).
    #[param(format = DateTime, example = "2026-12-01T00:00:00Z")]
    pub to: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

impl LedgerQuery {
    pub fn into_proto(self) -> Result<pb::ListLedgerRequest, Problem> {
        let mut bad = Violations::default();
        let zone = match self.zone.as_deref() {
            None | Some("") => 0,
            Some(z) => zone(z, "zone", &mut bad),
        };
        let mut kinds = Vec::new();
        for k in self
            .kind
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            if let Some(v) = parse_enum(
                k,
                "MOVEMENT_KIND_",
                |n| pb::MovementKind::from_str_name(n).map(|k| k as i32),
                KINDS,
                "kind",
                &mut bad,
            ) {
                kinds.push(v);
            }
        }
        let from = instant(self.from.as_deref(), "from", &mut bad);
        let to = instant(self.to.as_deref(), "to", &mut bad);
        let page_size = page_size(self.page_size.as_deref(), &mut bad);
        bad.finish()?;
        Ok(pb::ListLedgerRequest {
            part_no: self.part_no.unwrap_or_default(),
            zone,
            kinds,
            reference_id: self.reference_id.unwrap_or_default(),
            request_no: self.request_no.unwrap_or_default(),
            recorded: (from.is_some() || to.is_some()).then_some(common::TimeRange { from, to }),
            page_size,
            page_token: self.page_token.unwrap_or_default(),
        })
    }
}

/// One stock movement (the ledger is append-only).
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntry {
    pub entry_id: u64,
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(value_type = Zone)]
    pub zone: String,
    #[schema(value_type = MovementKind)]
    pub kind: String,
    /// Into the zone (+) or out of it (-).
    pub quantity: i32,
    pub balance_after: u32,
    pub reference_type: String,
    pub reference_id: String,
    /// The request the movement served, when it served one.
    pub request_no: String,
    pub reason: String,
    pub actor: String,
    /// The business date (`YYYY-MM-DD`).
    pub movement_date: String,
    #[schema(format = DateTime)]
    pub recorded_at: Option<String>,
}

impl From<pb::LedgerEntry> for LedgerEntry {
    fn from(e: pb::LedgerEntry) -> Self {
        LedgerEntry {
            zone: zone_text(e.zone),
            kind: enum_text(e.kind().as_str_name(), "MOVEMENT_KIND_"),
            entry_id: e.entry_id,
            part_no: e.part_no,
            quantity: e.quantity,
            balance_after: e.balance_after,
            reference_type: e.reference_type,
            reference_id: e.reference_id,
            request_no: e.request_no,
            reason: e.reason,
            actor: e.actor,
            movement_date: e.movement_date,
            recorded_at: e.recorded_at.as_ref().and_then(rfc3339),
        }
    }
}

/// A page of stock movements, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ledger {
    /// Newest first.
    pub items: Vec<LedgerEntry>,
    pub next_page_token: String,
}

/// Stock movements, newest first
///
/// The central warehouse's books: head office only. A branch follows its own requests'
/// movements through `GET /v1/requests/{request_no}/timeline`.
#[utoipa::path(
    get,
    path = "/v1/ledger",
    tag = "warehouse",
    params(LedgerQuery),
    responses((status = 200, description = "A page of movements", body = Ledger)),
    security(("bearer" = ["warehouse", "procurement", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 422]))),
)]
pub async fn ledger(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<LedgerQuery>, QueryRejection>,
) -> Result<Json<Ledger>, Problem> {
    let Query(q) = query.map_err(|e| Problem::field("query", e.body_text()))?;
    let req = q.into_proto()?;
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListLedger"),
        client.list_ledger(req),
    )
    .await?;
    Ok(Json(Ledger {
        items: res.entries.into_iter().map(LedgerEntry::from).collect(),
        next_page_token: res.next_page_token,
    }))
}

/// `GET /v1/backorders`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct BackorderQuery {
    #[param(value_type = Option<PartNo>)]
    pub part_no: Option<String>,
    /// Head office: one branch's back-orders (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// Default: `open`.
    #[param(value_type = Option<BackorderStatus>)]
    pub status: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

impl BackorderQuery {
    pub fn into_proto(self) -> Result<pb::ListBackordersRequest, Problem> {
        let mut bad = Violations::default();
        let status = match self.status.as_deref() {
            None | Some("") => 0,
            Some(s) => parse_enum(
                s,
                "BACKORDER_STATUS_",
                |n| pb::BackorderStatus::from_str_name(n).map(|s| s as i32),
                BACKORDER_STATUSES,
                "status",
                &mut bad,
            )
            .unwrap_or(0),
        };
        let page_size = page_size(self.page_size.as_deref(), &mut bad);
        bad.finish()?;
        Ok(pb::ListBackordersRequest {
            part_no: self.part_no.unwrap_or_default(),
            branch: self.branch.unwrap_or_default(),
            status,
            page_size,
            page_token: self.page_token.unwrap_or_default(),
        })
    }
}

/// A part a request still waits for.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackorderLine {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub requested: u32,
    pub reserved: u32,
    pub missing: u32,
}

/// A request waiting for stock.
#[derive(Debug, Serialize, ToSchema)]
pub struct Backorder {
    pub backorder_id: String,
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(value_type = Urgency)]
    pub urgency: String,
    #[schema(value_type = BackorderStatus)]
    pub status: String,
    pub lines: Vec<BackorderLine>,
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    #[schema(format = DateTime)]
    pub served_at: Option<String>,
}

/// A page of back-orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct Backorders {
    /// In serving order: urgency (critical first), then creation time.
    pub items: Vec<Backorder>,
    pub next_page_token: String,
}

/// Back-orders in serving order
///
/// A branch token sees its branch's back-orders only, whatever `branch` says.
#[utoipa::path(
    get,
    path = "/v1/backorders",
    tag = "warehouse",
    params(BackorderQuery),
    responses((status = 200, description = "A page of back-orders", body = Backorders)),
    security(("bearer" = ["warehouse", "procurement", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 422]))),
)]
pub async fn backorders(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<BackorderQuery>, QueryRejection>,
) -> Result<Json<Backorders>, Problem> {
    let Query(q) = query.map_err(|e| Problem::field("query", e.body_text()))?;
    let req = q.into_proto()?;
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListBackorders"),
        client.list_backorders(req),
    )
    .await?;
    Ok(Json(Backorders {
        items: res
            .backorders
            .into_iter()
            .map(|b| Backorder {
                urgency: enum_text(b.urgency().as_str_name(), "URGENCY_"),
                status: enum_text(b.status().as_str_name(), "BACKORDER_STATUS_"),
                backorder_id: b.backorder_id,
                request_no: b.request_no,
                branch: b.branch,
                lines: b
                    .lines
                    .into_iter()
                    .map(|l| BackorderLine {
                        part_no: l.part_no,
                        requested: l.requested,
                        reserved: l.reserved,
                        missing: l.missing,
                    })
                    .collect(),
                created_at: b.created_at.as_ref().and_then(rfc3339),
                served_at: b.served_at.as_ref().and_then(rfc3339),
            })
            .collect(),
        next_page_token: res.next_page_token,
    }))
}

// ---- returned units -------------------------------------------------------------------------

/// `POST /v1/returns`: a unit picked up from the customer arrived at the returns intake (a
/// pick-up that logistics completed is booked by itself; this is the counter's path).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReceiveReturnBody {
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    /// The logistics pick-up that brought it; a pick-up is received once.
    #[serde(default)]
    #[schema(value_type = Option<PickupNo>)]
    pub pickup_no: Option<String>,
    /// The unit's catalogue number (booked to stock under it).
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[serde(default)]
    #[schema(value_type = Option<Serial>)]
    pub serial: Option<String>,
    #[serde(default)]
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "X55"
    )]
    pub model: String,
    /// Default: today.
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub movement_date: Option<String>,
}

/// An accessory that should come back with a returned unit, and what did.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct AccessoryCheck {
    /// Catalogue number of the accessory, where it has one.
    #[serde(default)]
    #[schema(
        max_length = 40,
        pattern = r"^([A-Za-z0-9._-]{1,40})?$",
        example = "RMT-01"
    )]
    pub part_no: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "remote control"
    )]
    pub name: String,
    #[schema(maximum = 1000, example = 1)]
    pub expected: u32,
    #[schema(maximum = 1000, example = 1)]
    pub present: u32,
}

/// `POST /v1/returns/{return_id}/inspection`: every accessory, resaleable or not. Missing
/// accessories are deducted from the refund (claims-review, on `warehouse.return.inspected`).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct InspectReturnBody {
    #[serde(default)]
    #[schema(max_items = 50)]
    pub accessories: Vec<AccessoryCheck>,
    pub resaleable: bool,
    #[serde(default)]
    #[schema(
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "screen scratched"
    )]
    pub inspection_note: String,
}

/// A whole unit returned by a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnedUnit {
    #[schema(value_type = Id)]
    pub return_id: String,
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    pub pickup_no: String,
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub serial: String,
    pub model: String,
    #[schema(value_type = Option<ReturnStatus>)]
    pub status: Option<String>,
    pub accessories: Vec<AccessoryCheck>,
    pub resaleable: bool,
    /// Where it went after inspection (`qualified` or `nonconforming`); null before.
    #[schema(value_type = Option<Zone>)]
    pub zone: Option<String>,
    pub inspection_note: String,
    #[schema(format = DateTime)]
    pub received_at: Option<String>,
    #[schema(format = DateTime)]
    pub inspected_at: Option<String>,
    pub inspected_by: String,
}

impl From<pb::ReturnedUnit> for ReturnedUnit {
    fn from(u: pb::ReturnedUnit) -> Self {
        let zone = zone_text(u.zone);
        ReturnedUnit {
            status: crate::api::wire::text(match u.status() {
                pb::ReturnStatus::Received => "received",
                pb::ReturnStatus::Inspected => "inspected",
                pb::ReturnStatus::Unspecified => "",
            }),
            zone: (!zone.is_empty()).then_some(zone),
            return_id: u.return_id,
            request_no: u.request_no,
            branch: u.branch,
            pickup_no: u.pickup_no,
            part_no: u.part_no,
            serial: u.serial,
            model: u.model,
            accessories: u
                .accessories
                .into_iter()
                .map(|a| AccessoryCheck {
                    part_no: a.part_no,
                    name: a.name,
                    expected: a.expected,
                    present: a.present,
                })
                .collect(),
            resaleable: u.resaleable,
            inspection_note: u.inspection_note,
            received_at: u.received_at.as_ref().and_then(rfc3339),
            inspected_at: u.inspected_at.as_ref().and_then(rfc3339),
            inspected_by: u.inspected_by,
        }
    }
}

/// Book a returned unit in at the returns intake
///
/// Into `pending_inspection`. A pick-up logistics completed is booked by itself; a pick-up is
/// received once, whichever comes first (the other answers with the unit received already).
#[utoipa::path(
    post,
    path = "/v1/returns",
    tag = "warehouse",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = ReceiveReturnBody, example = json!({
        "request_no": "AS-2611-SH01-000042", "pickup_no": "PU-2611-000007", "part_no": "PWR-55-01",
        "serial": "SN12345678", "model": "X55"
    })),
    responses((status = 201, description = "Received", body = ReturnedUnit)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn receive_return(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ReceiveReturnBody>,
) -> Result<Response, Problem> {
    aftersales_platform::grpc::record_request_no(&body.request_no);
    let req = pb::ReceiveReturnRequest {
        idempotency_key: upstream_key(&caller, &headers),
        request_no: body.request_no,
        pickup_no: body.pickup_no.unwrap_or_default(),
        part_no: body.part_no,
        serial: body.serial.unwrap_or_default(),
        model: body.model,
        movement_date: body.movement_date.unwrap_or_default(),
    };
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ReceiveReturn"),
        client.receive_return(req),
    )
    .await?;
    let unit = ReturnedUnit::from(res.returned_unit.unwrap_or_default());
    Ok((StatusCode::CREATED, Json(unit)).into_response())
}

/// Record a returned unit's inspection
///
/// Accessories present or missing, resaleable or not: the unit goes to `qualified` or
/// `nonconforming`, and the refund follows (`warehouse.return.inspected`).
#[utoipa::path(
    post,
    path = "/v1/returns/{return_id}/inspection",
    tag = "warehouse",
    params(
        ("return_id" = Id, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = InspectReturnBody, example = json!({
        "accessories": [ { "part_no": "RMT-01", "name": "remote control", "expected": 1, "present": 0 } ],
        "resaleable": true, "inspection_note": "remote missing"
    })),
    responses((status = 200, description = "Inspected", body = ReturnedUnit)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn inspect_return(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(return_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InspectReturnBody>,
) -> Result<Json<ReturnedUnit>, Problem> {
    let req = pb::InspectReturnRequest {
        idempotency_key: upstream_key(&caller, &headers),
        return_id,
        accessories: body
            .accessories
            .into_iter()
            .map(|a| pb::AccessoryCheck {
                part_no: a.part_no,
                name: a.name,
                expected: a.expected,
                present: a.present,
            })
            .collect(),
        resaleable: body.resaleable,
        inspection_note: body.inspection_note,
    };
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/InspectReturn"),
        client.inspect_return(req),
    )
    .await?;
    Ok(Json(ReturnedUnit::from(
        res.returned_unit.unwrap_or_default(),
    )))
}

/// `GET /v1/returns`: the returns intake's work list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnQuery {
    /// Default: `received` (waiting for inspection).
    #[param(value_type = Option<ReturnStatus>)]
    pub status: Option<String>,
    /// Only this request's units.
    #[param(value_type = Option<RequestNo>)]
    pub request_no: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

impl ReturnQuery {
    pub fn into_proto(self) -> Result<pb::ListReturnsRequest, Problem> {
        let mut bad = Violations::default();
        let status = match self.status.as_deref() {
            None | Some("") => 0,
            Some(s) => parse_enum(
                s,
                "RETURN_STATUS_",
                |n| pb::ReturnStatus::from_str_name(n).map(|s| s as i32),
                RETURN_STATUSES,
                "status",
                &mut bad,
            )
            .unwrap_or(0),
        };
        let page_size = page_size(self.page_size.as_deref(), &mut bad);
        bad.finish()?;
        Ok(pb::ListReturnsRequest {
            status,
            request_no: self.request_no.unwrap_or_default(),
            page_size,
            page_token: self.page_token.unwrap_or_default(),
        })
    }
}

/// A page of returned units.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnedUnits {
    pub items: Vec<ReturnedUnit>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// The returns intake's work list
///
/// Returned units, by default those received and waiting for their inspection, oldest first.
#[utoipa::path(
    get,
    path = "/v1/returns",
    tag = "warehouse",
    params(ReturnQuery),
    responses((status = 200, description = "A page of returned units", body = ReturnedUnits)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 422]))),
)]
pub async fn returns(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<ReturnQuery>, QueryRejection>,
) -> Result<Json<ReturnedUnits>, Problem> {
    let Query(q) = query.map_err(|e| Problem::field("query", e.body_text()))?;
    let req = q.into_proto()?;
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListReturns"),
        client.list_returns(req),
    )
    .await?;
    Ok(Json(ReturnedUnits {
        items: res
            .returned_units
            .into_iter()
            .map(ReturnedUnit::from)
            .collect(),
        next_page_token: res.next_page_token,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_filters_name_every_bad_field_at_once() {
        let q = LedgerQuery {
            zone: Some("attic".into()),
            kind: Some("receipt,theft".into()),
            from: Some("yesterday".into()),
            page_size: Some("ten".into()),
            ..Default::default()
        };
        let fields: Vec<String> = q
            .into_proto()
            .unwrap_err()
            .violations
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(fields, ["zone", "kind", "from", "page_size"]);
    }

    #[test]
    fn ledger_filters_become_the_proto_request() {
        let q = LedgerQuery {
            zone: Some("qualified".into()),
            kind: Some("receipt, issue".into()),
            from: Some("2026-11-01T00:00:00Z".into()),
            ..Default::default()
        };
        let p = q.into_proto().unwrap();
        assert_eq!(p.zone, pb::Zone::Qualified as i32);
        assert_eq!(
            p.kinds,
            [
                pb::MovementKind::Receipt as i32,
                pb::MovementKind::Issue as i32
            ]
        );
        assert!(p.recorded.unwrap().from.is_some());
    }

    #[test]
    fn an_unspecified_zone_is_not_a_zone() {
        let b = CountBody {
            zone: "unspecified".into(),
            ..Default::default()
        };
        assert_eq!(
            b.into_proto("ST".into()).unwrap_err().violations[0].field,
            "zone"
        );
    }

    #[test]
    fn an_unknown_backorder_status_names_status() {
        let q = BackorderQuery {
            status: Some("lost".into()),
            ..Default::default()
        };
        assert_eq!(q.into_proto().unwrap_err().violations[0].field, "status");
    }
}
