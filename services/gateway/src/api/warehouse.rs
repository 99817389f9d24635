//! Receipts and inspection, pick lists and issue, stocktakes, the ledger and back-orders — REST
//! over warehouse's gRPC. Zones, kinds and statuses are lower-case on the wire (`qualified`,
//! `inspection_pass`, `open`); the warehouse itself checks the caller's roles.

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as pb;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use crate::api::claims::{Money, enum_text};
use crate::api::wire::rfc3339;
use crate::app::AppState;
use crate::extract::{ANY_ROLE, JsonBody, require};
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::{FieldViolation, Problem};

const PEER: &str = "warehouse";
const SERVICE: &str = "aftersales.warehouse.v1.WarehouseService";

/// Collects every bad field of one request, to answer them all at once.
#[derive(Default)]
struct Violations(Vec<FieldViolation>);

impl Violations {
    fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    fn finish(self) -> Result<(), Problem> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Problem::bad_request(self.0))
        }
    }
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

fn zone_text(v: i32) -> String {
    pb::Zone::try_from(v)
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReceiptLineIn {
    pub part_no: String,
    pub quantity: u32,
    pub po_line_no: u32,
}

/// `POST /v1/receipts`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReceiveBody {
    pub po_number: String,
    pub supplier_id: String,
    pub delivery_note: String,
    pub lines: Vec<ReceiptLineIn>,
    /// `YYYY-MM-DD`; empty: today.
    pub movement_date: String,
}

#[derive(Debug, Serialize)]
pub struct ReceiptLine {
    pub part_no: String,
    pub quantity: u32,
    pub po_line_no: u32,
    pub passed: u32,
    pub failed: u32,
    pub failure_reason: String,
}

#[derive(Debug, Serialize)]
pub struct Receipt {
    pub receipt_id: String,
    pub po_number: String,
    pub supplier_id: String,
    pub delivery_note: String,
    /// `pending_inspection|inspected`.
    pub status: String,
    pub lines: Vec<ReceiptLine>,
    pub received_by: String,
    pub received_at: Option<String>,
    pub inspected_by: String,
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

pub async fn receive(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ReceiveBody>,
) -> Result<Response, Problem> {
    require(&caller, ANY_ROLE)?;
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InspectionLineIn {
    pub part_no: String,
    pub passed: u32,
    pub failed: u32,
    pub failure_reason: String,
}

/// `POST /v1/receipts/{receipt_id}/inspection`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InspectionBody {
    pub lines: Vec<InspectionLineIn>,
}

pub async fn inspect(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(receipt_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InspectionBody>,
) -> Result<Json<Receipt>, Problem> {
    require(&caller, ANY_ROLE)?;
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

#[derive(Debug, Serialize)]
pub struct PickLine {
    pub part_no: String,
    pub quantity: u32,
    pub zone: String,
}

#[derive(Debug, Serialize)]
pub struct PickList {
    pub pick_list_id: String,
    pub request_no: String,
    pub branch: String,
    /// `open|issued|cancelled`.
    pub status: String,
    pub lines: Vec<PickLine>,
    pub created_at: Option<String>,
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

pub async fn pick_list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(pick_list_id): Path<String>,
) -> Result<Json<PickList>, Problem> {
    require(&caller, ANY_ROLE)?;
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetPickList"),
        client.get_pick_list(pb::GetPickListRequest { pick_list_id }),
    )
    .await?;
    Ok(Json(PickList::from(res.pick_list.unwrap_or_default())))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PartLineIn {
    pub part_no: String,
    pub quantity: u32,
}

/// `POST /v1/pick-lists/{pick_list_id}/issue`: the lines must equal the pick list's.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IssueBody {
    pub lines: Vec<PartLineIn>,
    pub shipment_no: String,
    pub movement_date: String,
}

pub async fn issue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(pick_list_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<IssueBody>,
) -> Result<Json<PickList>, Problem> {
    require(&caller, ANY_ROLE)?;
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

/// `POST /v1/stocktakes`: the scope; empty zones = every zone, empty part_nos = every part.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OpenStocktakeBody {
    pub zones: Vec<String>,
    pub part_nos: Vec<String>,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct StocktakeLine {
    pub part_no: String,
    pub zone: String,
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

#[derive(Debug, Serialize)]
pub struct Stocktake {
    pub stocktake_id: String,
    /// `open|closed`.
    pub status: String,
    pub zones: Vec<String>,
    pub part_nos: Vec<String>,
    pub lines: Vec<StocktakeLine>,
    pub accuracy_bp: u32,
    pub difference_value: Option<Money>,
    pub opened_at: Option<String>,
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

pub async fn open_stocktake(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<OpenStocktakeBody>,
) -> Result<Response, Problem> {
    require(&caller, ANY_ROLE)?;
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
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CountBody {
    pub part_no: String,
    pub zone: String,
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

pub async fn record_count(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(stocktake_id): Path<String>,
    JsonBody(body): JsonBody<CountBody>,
) -> Result<Json<StocktakeLine>, Problem> {
    require(&caller, ANY_ROLE)?;
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReasonIn {
    pub part_no: String,
    pub zone: String,
    pub reason: String,
}

/// `POST /v1/stocktakes/{id}/close`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CloseStocktakeBody {
    /// Reasons per differing line; a differing line without one takes `default_reason`.
    pub reasons: Vec<ReasonIn>,
    pub default_reason: String,
    /// Uncounted lines then count as matching (else 409).
    pub allow_uncounted: bool,
}

pub async fn close_stocktake(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(stocktake_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CloseStocktakeBody>,
) -> Result<Json<Stocktake>, Problem> {
    require(&caller, ANY_ROLE)?;
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

fn page_size(text: Option<&str>, bad: &mut Violations) -> u32 {
    match text {
        None | Some("") => 0,
        Some(n) => n.parse::<u32>().unwrap_or_else(|_| {
            bad.add("page_size", "must be a whole number");
            0
        }),
    }
}

fn instant(
    text: Option<&str>,
    field: &str,
    bad: &mut Violations,
) -> Option<prost_types::Timestamp> {
    let t = text.filter(|t| !t.is_empty())?;
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => Some(prost_types::Timestamp {
            seconds: d.timestamp(),
            nanos: d.timestamp_subsec_nanos() as i32,
        }),
        Err(_) => {
            bad.add(field, "must be an RFC 3339 instant (2026-11-22T08:00:00Z)");
            None
        }
    }
}

/// `GET /v1/ledger`: every filter optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LedgerQuery {
    pub part_no: Option<String>,
    pub zone: Option<String>,
    /// Comma-separated movement kinds: `receipt,issue`.
    pub kind: Option<String>,
    pub reference_id: Option<String>,
    pub request_no: Option<String>,
    /// Recorded at or after (RFC 3339).
    pub from: Option<String>,
    /// Recorded before (RFC 3339).
    pub to: Option<String>,
    pub page_size: Option<String>,
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

#[derive(Debug, Serialize)]
pub struct LedgerEntry {
    pub entry_id: u64,
    pub part_no: String,
    pub zone: String,
    pub kind: String,
    pub quantity: i32,
    pub balance_after: u32,
    pub reference_type: String,
    pub reference_id: String,
    pub request_no: String,
    pub reason: String,
    pub actor: String,
    pub movement_date: String,
    pub recorded_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Ledger {
    /// Newest first.
    pub items: Vec<LedgerEntry>,
    pub next_page_token: String,
}

pub async fn ledger(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<LedgerQuery>, QueryRejection>,
) -> Result<Json<Ledger>, Problem> {
    require(&caller, ANY_ROLE)?;
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
        items: res
            .entries
            .into_iter()
            .map(|e| LedgerEntry {
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
            })
            .collect(),
        next_page_token: res.next_page_token,
    }))
}

/// `GET /v1/backorders`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BackorderQuery {
    pub part_no: Option<String>,
    pub branch: Option<String>,
    /// `open` (the default), `served` or `cancelled`.
    pub status: Option<String>,
    pub page_size: Option<String>,
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

#[derive(Debug, Serialize)]
pub struct BackorderLine {
    pub part_no: String,
    pub requested: u32,
    pub reserved: u32,
    pub missing: u32,
}

#[derive(Debug, Serialize)]
pub struct Backorder {
    pub backorder_id: String,
    pub request_no: String,
    pub branch: String,
    pub urgency: String,
    pub status: String,
    pub lines: Vec<BackorderLine>,
    pub created_at: Option<String>,
    pub served_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Backorders {
    /// In serving order: urgency (critical first), then creation time.
    pub items: Vec<Backorder>,
    pub next_page_token: String,
}

pub async fn backorders(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<BackorderQuery>, QueryRejection>,
) -> Result<Json<Backorders>, Problem> {
    require(&caller, ANY_ROLE)?;
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
