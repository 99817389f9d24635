//! Dealers and agents (issue 23) — REST over claims-review's parties, batch claims and monthly
//! statements, the warehouse's old-part batches, advance exchanges and parts orders, and
//! logistics' consignments (the shipment notice of an order or exchange).
//!
//! A dealer's token (role `dealer`, claim `dealer`) sees only its own batches, statements and
//! exchanges: another dealer's answers 404. Head office sees every dealer; a branch's staff see
//! their branch's. An unknown dealer code, or another dealer's in a dealer's own request, is a
//! 400 naming `dealer_code` (the code is the request's, not a rule of the service's). Amounts
//! are in the currency's minor unit.

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::claims::v1 as cpb;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as lpb;
use aftersales_platform::proto::warehouse::v1 as wpb;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::claims::Money;
use crate::api::logistics::DeliveryMethod;
#[allow(unused_imports)] // named by the schema attributes
use crate::api::schema::{
    BranchCode, ConsignmentId, Date, DealerCode, DealerOrderId, ExchangeId, IdempotencyKey, Month,
    OldPartBatchId, PartNo, Phone, Serial, Uuid,
};
use crate::api::warehouse::LedgerEntry;
use crate::api::wire::{
    Address, Product, Region, Violations, instant_out, money_out, page_size, text, wire_enum,
};
use crate::app::AppState;
use crate::extract::JsonBody;
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::Problem;

const CLAIMS: &str = "claims-review";
const CLAIMS_SERVICE: &str = "aftersales.claims.v1.ClaimsService";
const WAREHOUSE: &str = "warehouse";
const WAREHOUSE_SERVICE: &str = "aftersales.warehouse.v1.WarehouseService";
const LOGISTICS: &str = "logistics";
const LOGISTICS_SERVICE: &str = "aftersales.logistics.v1.LogisticsService";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_dealers, create_dealer))
        .routes(routes!(get_dealer))
        .routes(routes!(submit_dealer_claims))
        .routes(routes!(get_dealer_claims))
        .routes(routes!(statement))
        .routes(routes!(receive_old_part_batch))
        .routes(routes!(get_old_part_batch))
        .routes(routes!(inspect_old_part_batch))
        .routes(routes!(transfer_to_turnover))
        .routes(routes!(list_advance_exchanges, create_advance_exchange))
        .routes(routes!(return_advance_exchange))
        .routes(routes!(create_dealer_order))
        .routes(routes!(get_dealer_order))
        .routes(routes!(get_consignment))
}

wire_enum!(DealerKind, cpb::DealerKind, {
    Dealer = "dealer" => Dealer, Agent = "agent" => Agent,
});
wire_enum!(DealerLineStatus, cpb::DealerLineStatus, {
    Approved = "approved" => Approved, Rejected = "rejected" => Rejected,
    ChargedBack = "charged_back" => ChargedBack,
});
wire_enum!(DealerLineReason, cpb::DealerLineReason, {
    OutOfWarranty = "out_of_warranty" => OutOfWarranty,
    DuplicateSerial = "duplicate_serial" => DuplicateSerial,
    AlreadyClaimed = "already_claimed" => AlreadyClaimed,
    OldPartNotReturned = "old_part_not_returned" => OldPartNotReturned,
    OldPartNoFault = "old_part_no_fault" => OldPartNoFault,
    OldPartWrong = "old_part_wrong" => OldPartWrong,
    NotCovered = "not_covered" => NotCovered,
});
wire_enum!(StatementStatus, cpb::StatementStatus, {
    Open = "open" => Open, Issued = "issued" => Issued,
});
wire_enum!(StatementEntryKind, cpb::StatementEntryKind, {
    Claim = "claim" => Claim, ChargeBack = "charge_back" => ChargeBack,
    AdvanceExchangeOverdue = "advance_exchange_overdue" => AdvanceExchangeOverdue,
    PartsOrder = "parts_order" => PartsOrder,
});
wire_enum!(ConsignmentKind, common::ConsignmentKind, {
    DealerOrder = "dealer_order" => DealerOrder, AdvanceExchange = "advance_exchange" => AdvanceExchange,
});
wire_enum!(ConsignmentStatus, lpb::ConsignmentStatus, {
    Dispatched = "dispatched" => Dispatched,
});
wire_enum!(IssueZone, wpb::Zone, {
    Qualified = "qualified" => Qualified, Valuables = "valuables" => Valuables,
    Turnover = "turnover" => Turnover,
});
wire_enum!(OldPartIdentification, wpb::OldPartIdentification, {
    Identified = "identified" => Identified, WrongPartNo = "wrong_part_no" => WrongPartNo,
    Unidentified = "unidentified" => Unidentified,
});
wire_enum!(BatchPartVerdict, wpb::BatchPartVerdict, {
    ConfirmedFault = "confirmed_fault" => ConfirmedFault, NoFaultFound = "no_fault_found" => NoFaultFound,
    WrongPart = "wrong_part" => WrongPart,
});
wire_enum!(OldPartBatchStatus, wpb::OldPartBatchStatus, {
    Received = "received" => Received, Inspected = "inspected" => Inspected,
});
wire_enum!(AdvanceExchangeStatus, wpb::AdvanceExchangeStatus, {
    Outstanding = "outstanding" => Outstanding, Overdue = "overdue" => Overdue,
    Returned = "returned" => Returned,
});
wire_enum!(ReturnZone, wpb::Zone, {
    OldParts = "old_parts" => OldParts, Nonconforming = "nonconforming" => Nonconforming,
});

/// A service's INVALID_ARGUMENT naming `dealer_code` (an unknown dealer, or not the caller's) is
/// a 400 naming the field, like the gate's own: the code is the request's, not a rule the
/// document cannot state. Other refusals stay 422.
fn bad_request(p: Problem) -> Problem {
    let names_dealer = p.violations.iter().any(|v| v.field == "dealer_code");
    if p.grpc_code == Some(tonic::Code::InvalidArgument) && names_dealer {
        Problem::bad_request(p.violations.clone())
    } else {
        p
    }
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(q)| q)
        .map_err(|e| Problem::field("query", e.body_text()))
}

/// The dealer a request acts for: the one named, else the dealer the token acts for.
fn dealer_of(named: Option<String>, caller: &Caller) -> Result<String, Problem> {
    named
        .filter(|c| !c.trim().is_empty())
        .or_else(|| caller.dealer.clone())
        .ok_or_else(|| {
            Problem::field(
                "dealer_code",
                "is required (a head-office token acts for no dealer)",
            )
        })
}

/// The dealer a request acts for, from its register entry (its branch and contract terms): an
/// unknown code, or one the token may not act for, is a 400 naming `dealer_code`.
async fn acting_dealer(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> Result<cpb::Dealer, Problem> {
    fetch_dealer(state, caller, code.to_owned())
        .await
        .map_err(|p| match p.status {
            404 | 422 => Problem::field(
                "dealer_code",
                format!("{code} is no dealer this token may act for"),
            ),
            _ => p,
        })
}

// ---- dealers ---------------------------------------------------------------------------------

/// The contract terms a dealer or agent is settled by.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DealerTerms {
    /// Labour paid per hour (minor unit).
    #[schema(minimum = 0, maximum = 100000000, example = 6000)]
    pub labour_rate_per_hour_minor: i64,
    /// The standard labour time per product category (minutes): a line is paid at most this.
    #[serde(default)]
    #[schema(example = json!({"television": 60}))]
    pub standard_labour_minutes: BTreeMap<String, u32>,
    /// The standard time of a category the map does not name.
    #[schema(minimum = 1, maximum = 2400, example = 45)]
    pub default_labour_minutes: u32,
    /// The margin on parts at list price (basis points).
    #[schema(maximum = 10000, example = 1000)]
    pub parts_margin_bp: u32,
    /// Days after a batch is decided by which its old parts must be back.
    #[schema(minimum = 1, maximum = 365, example = 20)]
    pub old_part_return_days: u32,
    /// Days after a statement is issued by which it is paid.
    #[schema(maximum = 365, example = 30)]
    pub payment_days: u32,
    /// Days after an advance exchange ships by which the defective unit must be back.
    #[schema(minimum = 1, maximum = 365, example = 15)]
    pub advance_exchange_return_days: u32,
}

impl DealerTerms {
    fn to_proto(&self) -> cpb::DealerTerms {
        cpb::DealerTerms {
            labour_rate_per_hour_minor: self.labour_rate_per_hour_minor,
            standard_labour_minutes: self.standard_labour_minutes.clone().into_iter().collect(),
            default_labour_minutes: self.default_labour_minutes,
            parts_margin_bp: self.parts_margin_bp,
            old_part_return_days: self.old_part_return_days,
            payment_days: self.payment_days,
            advance_exchange_return_days: self.advance_exchange_return_days,
        }
    }

    fn from_proto(t: &cpb::DealerTerms) -> Self {
        DealerTerms {
            labour_rate_per_hour_minor: t.labour_rate_per_hour_minor,
            standard_labour_minutes: t.standard_labour_minutes.clone().into_iter().collect(),
            default_labour_minutes: t.default_labour_minutes,
            parts_margin_bp: t.parts_margin_bp,
            old_part_return_days: t.old_part_return_days,
            payment_days: t.payment_days,
            advance_exchange_return_days: t.advance_exchange_return_days,
        }
    }
}

/// `POST /v1/dealers`: a dealer or agent enters the register.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateDealerBody {
    #[schema(value_type = DealerCode)]
    pub code: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Pudong Home Appliance Service"
    )]
    pub name: String,
    pub kind: DealerKind,
    /// The branch it belongs to (its staff see it; its dealer tokens carry it).
    #[schema(value_type = BranchCode)]
    pub branch: String,
    pub terms: DealerTerms,
}

/// A dealer or agent and its terms.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dealer {
    #[schema(value_type = DealerCode)]
    pub code: String,
    pub name: String,
    #[schema(value_type = Option<DealerKind>)]
    pub kind: Option<String>,
    pub branch: String,
    pub terms: Option<DealerTerms>,
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
}

impl From<cpb::Dealer> for Dealer {
    fn from(d: cpb::Dealer) -> Self {
        Dealer {
            kind: text(DealerKind::text_of(d.kind)),
            terms: d.terms.as_ref().map(DealerTerms::from_proto),
            created_at: instant_out(&d.created_at),
            code: d.code,
            name: d.name,
            branch: d.branch,
        }
    }
}

/// A page of dealers, by code.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealerList {
    pub items: Vec<Dealer>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// `GET /v1/dealers`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct DealerQuery {
    /// Only this branch's (head office; a branch always sees its own).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// Dealers and agents
///
/// Head office sees all (or one branch's with `branch`); a branch its own; a dealer itself.
#[utoipa::path(
    get,
    path = "/v1/dealers",
    tag = "dealers",
    params(DealerQuery),
    responses((status = 200, description = "A page of dealers", body = DealerList)),
    security(("bearer" = ["reviewer", "analyst", "branch_agent", "warehouse", "dealer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 422]))),
)]
pub async fn list_dealers(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<DealerQuery>, QueryRejection>,
) -> Result<Json<DealerList>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    bad.finish()?;
    // claims-review scopes the list: a branch's token sees its own branch's whatever it asks.
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        CLAIMS,
        &format!("{CLAIMS_SERVICE}/ListDealers"),
        client.list_dealers(cpb::ListDealersRequest {
            branch: q.branch.unwrap_or_default(),
            page_size,
            page_token: q.page_token.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(DealerList {
        items: res.dealers.into_iter().map(Dealer::from).collect(),
        next_page_token: res.next_page_token,
    }))
}

/// Register a dealer or agent
///
/// Head office's administration only. A code in use is 409.
#[utoipa::path(
    post,
    path = "/v1/dealers",
    tag = "dealers",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = CreateDealerBody, example = json!({
        "code": "D-SH01-0001", "name": "Pudong Home Appliance Service", "kind": "dealer",
        "branch": "SH01",
        "terms": { "labour_rate_per_hour_minor": 6000, "standard_labour_minutes": {"television": 60},
                   "default_labour_minutes": 45, "parts_margin_bp": 1000,
                   "old_part_return_days": 20, "payment_days": 30,
                   "advance_exchange_return_days": 15 }
    })),
    responses((status = 201, description = "Registered", body = Dealer)),
    security(("bearer" = ["admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 409, 413, 415, 422]))),
)]
pub async fn create_dealer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<CreateDealerBody>,
) -> Result<Response, Problem> {
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        CLAIMS,
        &format!("{CLAIMS_SERVICE}/CreateDealer"),
        client.create_dealer(cpb::CreateDealerRequest {
            dealer: Some(cpb::Dealer {
                code: body.code,
                name: body.name,
                kind: body.kind.to_proto(),
                branch: body.branch,
                terms: Some(body.terms.to_proto()),
                created_at: None,
            }),
        }),
    )
    .await?;
    let dealer = Dealer::from(res.dealer.unwrap_or_default());
    Ok((StatusCode::CREATED, Json(dealer)).into_response())
}

/// One dealer or agent
#[utoipa::path(
    get,
    path = "/v1/dealers/{dealer_code}",
    tag = "dealers",
    params(("dealer_code" = DealerCode, Path)),
    responses((status = 200, description = "The dealer", body = Dealer)),
    security(("bearer" = ["reviewer", "analyst", "branch_agent", "warehouse", "dealer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_dealer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(dealer_code): Path<String>,
) -> Result<Json<Dealer>, Problem> {
    let d = fetch_dealer(&state, &caller, dealer_code).await?;
    Ok(Json(Dealer::from(d)))
}

async fn fetch_dealer(
    state: &AppState,
    caller: &Caller,
    code: String,
) -> Result<cpb::Dealer, Problem> {
    let mut client = state.peers.claims(caller)?;
    let res = call(
        CLAIMS,
        &format!("{CLAIMS_SERVICE}/GetDealer"),
        client.get_dealer(cpb::GetDealerRequest { code }),
    )
    .await?;
    Ok(res.dealer.unwrap_or_default())
}

// ---- batch claims ----------------------------------------------------------------------------

/// A part replaced in a dealer's repair.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DealerPartUsed {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(minimum = 1, maximum = 1000, example = 1)]
    pub quantity: u32,
    /// The replaced part's serial: the old part that must come back.
    #[schema(value_type = Serial)]
    pub faulty_serial: String,
    /// The new part's serial, where it has one.
    #[serde(default)]
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "PB55N-0099"
    )]
    pub new_serial: String,
}

/// One completed repair claimed by a dealer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DealerLineIn {
    pub product: Product,
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "no picture"
    )]
    pub fault_description: String,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub parts: Vec<DealerPartUsed>,
    /// Labour spent (paid at most at the contract's standard time).
    #[schema(minimum = 0, maximum = 2400, example = 50)]
    pub labour_minutes: u32,
    /// The repair day (not in the future).
    #[schema(value_type = Date)]
    pub repaired_on: String,
}

impl DealerLineIn {
    fn into_proto(self) -> cpb::DealerClaimLineInput {
        cpb::DealerClaimLineInput {
            product: Some(self.product.into_proto()),
            fault_description: self.fault_description,
            parts: self
                .parts
                .into_iter()
                .map(|u| cpb::DealerPartUsed {
                    part_no: u.part_no,
                    quantity: u.quantity,
                    faulty_serial: u.faulty_serial,
                    new_serial: u.new_serial,
                })
                .collect(),
            labour_minutes: self.labour_minutes,
            repaired_on: self.repaired_on,
        }
    }

    fn from_proto(l: cpb::DealerClaimLineInput) -> Self {
        DealerLineIn {
            product: Product::from_proto(l.product.unwrap_or_default()),
            fault_description: l.fault_description,
            parts: l
                .parts
                .into_iter()
                .map(|u| DealerPartUsed {
                    part_no: u.part_no,
                    quantity: u.quantity,
                    faulty_serial: u.faulty_serial,
                    new_serial: u.new_serial,
                })
                .collect(),
            labour_minutes: l.labour_minutes,
            repaired_on: l.repaired_on,
        }
    }
}

/// `POST /v1/dealer-claims`: a batch of completed repairs.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DealerClaimsBody {
    /// Default: the dealer the token acts for.
    #[serde(default)]
    #[schema(value_type = Option<DealerCode>)]
    pub dealer_code: Option<String>,
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Vec<DealerLineIn>,
}

/// A decided line of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealerLine {
    pub line_no: u32,
    pub input: DealerLineIn,
    #[schema(value_type = Option<DealerLineStatus>)]
    pub status: Option<String>,
    /// Why it was rejected or charged back; null when approved and standing.
    #[schema(value_type = Option<DealerLineReason>)]
    pub reason: Option<String>,
    /// The warranty policy's reasoning, step by step.
    pub explanation: Vec<String>,
    pub labour: Option<Money>,
    pub parts: Option<Money>,
    pub charged_back: Option<Money>,
    /// The statement month it is paid on (`YYYY-MM`); empty when rejected.
    pub period: String,
    /// The statement month of its charge-back, if any.
    pub charge_back_period: String,
    pub labour_minutes_paid: u32,
}

/// A dealer's batch claim as decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealerBatch {
    #[schema(value_type = Uuid)]
    pub batch_id: String,
    #[schema(value_type = DealerCode)]
    pub dealer_code: String,
    pub branch: String,
    pub policy_version: String,
    #[schema(format = DateTime)]
    pub decided_at: Option<String>,
    /// The old parts of the approved lines are due back by then.
    #[schema(format = DateTime)]
    pub old_parts_due_at: Option<String>,
    pub lines: Vec<DealerLine>,
    pub approved_total: Option<Money>,
    pub approved_lines: u32,
    pub rejected_lines: u32,
    /// This key had been used: the first answer again, nothing was written.
    pub replayed: bool,
}

impl DealerBatch {
    fn from_proto(b: cpb::DealerBatch, replayed: bool) -> Self {
        DealerBatch {
            decided_at: instant_out(&b.decided_at),
            old_parts_due_at: instant_out(&b.old_parts_due_at),
            approved_total: money_out(&b.approved_total),
            lines: b
                .lines
                .into_iter()
                .map(|l| DealerLine {
                    status: text(DealerLineStatus::text_of(l.status)),
                    reason: text(DealerLineReason::text_of(l.reason)),
                    labour: money_out(&l.labour),
                    parts: money_out(&l.parts),
                    charged_back: money_out(&l.charged_back),
                    input: DealerLineIn::from_proto(l.input.unwrap_or_default()),
                    line_no: l.line_no,
                    explanation: l.explanation,
                    period: l.period,
                    charge_back_period: l.charge_back_period,
                    labour_minutes_paid: l.labour_minutes_paid,
                })
                .collect(),
            batch_id: b.batch_id,
            dealer_code: b.dealer_code,
            branch: b.branch,
            policy_version: b.policy_version,
            approved_lines: b.approved_lines,
            rejected_lines: b.rejected_lines,
            replayed,
        }
    }
}

/// Claim a batch of warranty repairs
///
/// Each line is decided at once by the warranty policy on its repair day (with the same
/// explanation as a customer's claim) and the dealer rules: a repair claimed before is
/// `already_claimed`, the same serial again within the policy's window a `duplicate_serial`,
/// labour above the standard time is paid at the standard. The same Idempotency-Key answers the
/// first batch again (`replayed`); with other lines it is 409. An unknown dealer, or another
/// dealer's code on a dealer's token, is 400 naming `dealer_code`.
#[utoipa::path(
    post,
    path = "/v1/dealer-claims",
    tag = "dealers",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = DealerClaimsBody, example = json!({
        "dealer_code": "D-SH01-0001",
        "lines": [{
            "product": { "category": "television", "model": "X55", "serial": "SN-D-0001",
                         "purchase_date": "2026-06-02", "invoice_no": "INV-D-1",
                         "invoice_date": "2026-06-02" },
            "fault_description": "no picture",
            "parts": [{ "part_no": "PWR-55-01", "quantity": 1, "faulty_serial": "PB55-0001",
                        "new_serial": "PB55N-0099" }],
            "labour_minutes": 50, "repaired_on": "2026-11-20"
        }]
    })),
    responses((status = 201, description = "Decided", body = DealerBatch)),
    security(("bearer" = ["dealer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 409, 413, 415, 422]))),
)]
pub async fn submit_dealer_claims(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<DealerClaimsBody>,
) -> Result<Response, Problem> {
    let dealer_code = dealer_of(body.dealer_code, &caller)?;
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        CLAIMS,
        &format!("{CLAIMS_SERVICE}/SubmitDealerBatch"),
        client.submit_dealer_batch(cpb::SubmitDealerBatchRequest {
            dealer_code,
            lines: body
                .lines
                .into_iter()
                .map(DealerLineIn::into_proto)
                .collect(),
            idempotency_key: upstream_key(&caller, &headers),
        }),
    )
    .await
    .map_err(bad_request)?;
    let batch = DealerBatch::from_proto(res.batch.unwrap_or_default(), res.replayed);
    Ok((StatusCode::CREATED, Json(batch)).into_response())
}

/// A dealer's batch claim
///
/// Its lines as decided, with any charge-back since. Another dealer's batch is 404.
#[utoipa::path(
    get,
    path = "/v1/dealer-claims/{batch_id}",
    tag = "dealers",
    params(("batch_id" = Uuid, Path)),
    responses((status = 200, description = "The batch", body = DealerBatch)),
    security(("bearer" = ["reviewer", "analyst", "branch_agent", "warehouse", "dealer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_dealer_claims(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(batch_id): Path<String>,
) -> Result<Json<DealerBatch>, Problem> {
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        CLAIMS,
        &format!("{CLAIMS_SERVICE}/GetDealerBatch"),
        client.get_dealer_batch(cpb::GetDealerBatchRequest { batch_id }),
    )
    .await?;
    Ok(Json(DealerBatch::from_proto(
        res.batch.unwrap_or_default(),
        false,
    )))
}

// ---- statements ------------------------------------------------------------------------------

/// One line of a statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementEntry {
    #[schema(value_type = Option<StatementEntryKind>)]
    pub kind: Option<String>,
    /// What it settles: `<batch_id>/<line_no>` of a claim line, the exchange's id.
    pub reference: String,
    pub serial: String,
    pub description: String,
    /// Positive: owed to the dealer; negative: charged to it.
    pub amount: Option<Money>,
    #[schema(format = DateTime)]
    pub at: Option<String>,
}

/// A dealer's monthly settlement statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct Statement {
    #[schema(value_type = DealerCode)]
    pub dealer_code: String,
    #[schema(value_type = Month)]
    pub period: String,
    /// `open` until the month is over and the statement issued; an issued one never changes
    /// (a later line goes to the next open month).
    #[schema(value_type = Option<StatementStatus>)]
    pub status: Option<String>,
    pub entries: Vec<StatementEntry>,
    pub claims_total: Option<Money>,
    pub charges_total: Option<Money>,
    /// Parts the dealer ordered, shipped in the month (with its parts margin), owed by it.
    pub parts_orders_total: Option<Money>,
    /// `claims_total - charges_total - parts_orders_total`.
    pub net: Option<Money>,
    /// What earlier issued statements left owed by the dealer.
    pub arrears: Option<Money>,
    /// New parts sent on approved lines, and old parts returned, in the month.
    pub new_parts_sent: u32,
    pub old_parts_returned: u32,
    /// Units shipped to the dealer in the month: its orders' parts and its advance exchanges'
    /// good units.
    pub parts_shipped: u32,
    #[schema(format = DateTime)]
    pub issued_at: Option<String>,
    /// The day it is due for payment (`YYYY-MM-DD`); empty while open.
    pub payment_due: String,
}

impl From<cpb::Statement> for Statement {
    fn from(s: cpb::Statement) -> Self {
        Statement {
            status: text(StatementStatus::text_of(s.status)),
            entries: s
                .entries
                .into_iter()
                .map(|e| StatementEntry {
                    kind: text(StatementEntryKind::text_of(e.kind)),
                    amount: money_out(&e.amount),
                    at: instant_out(&e.at),
                    reference: e.reference,
                    serial: e.serial,
                    description: e.description,
                })
                .collect(),
            claims_total: money_out(&s.claims_total),
            charges_total: money_out(&s.charges_total),
            parts_orders_total: money_out(&s.parts_orders_total),
            net: money_out(&s.net),
            arrears: money_out(&s.arrears),
            issued_at: instant_out(&s.issued_at),
            dealer_code: s.dealer_code,
            period: s.period,
            new_parts_sent: s.new_parts_sent,
            old_parts_returned: s.old_parts_returned,
            parts_shipped: s.parts_shipped,
            payment_due: s.payment_due,
        }
    }
}

/// A cell of the finance export: quoted when it holds a separator, a quote or a line break;
/// text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is
/// prefixed with `'`.
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The statement as CSV for finance: a header, one row per entry, then the five totals.
fn statement_csv(s: &Statement) -> String {
    let amount = |m: &Option<Money>| m.as_ref().map_or(0, |m| m.amount_minor).to_string();
    let currency = |m: &Option<Money>| m.as_ref().map_or("", |m| m.currency.as_str()).to_owned();
    let mut out = String::from(
        "dealer_code,period,kind,reference,serial,description,amount_minor,currency,at\r\n",
    );
    let mut row = |kind: &str,
                   reference: &str,
                   serial: &str,
                   description: &str,
                   m: &Option<Money>,
                   at: &str| {
        out.push_str(
            &[
                cell(&s.dealer_code),
                cell(&s.period),
                cell(kind),
                cell(reference),
                cell(serial),
                cell(description),
                amount(m),
                cell(&currency(m)),
                cell(at),
            ]
            .join(","),
        );
        out.push_str("\r\n");
    };
    for e in &s.entries {
        row(
            e.kind.as_deref().unwrap_or(""),
            &e.reference,
            &e.serial,
            &e.description,
            &e.amount,
            e.at.as_deref().unwrap_or(""),
        );
    }
    for (name, m) in [
        ("claims_total", &s.claims_total),
        ("charges_total", &s.charges_total),
        ("parts_orders_total", &s.parts_orders_total),
        ("net", &s.net),
        ("arrears", &s.arrears),
    ] {
        row("total", name, "", "", m, "");
    }
    out
}

/// A dealer's monthly statement
///
/// The month's approved lines (labour and parts) less its charge-backs (old parts missing, not
/// faulty or wrong; advance exchanges overdue) and the parts it ordered that were shipped, the
/// parts sent and returned, and arrears. A past month is issued once and never changes.
/// `Accept: text/csv` answers the finance export: one row per entry, then the rows
/// `claims_total`, `charges_total`, `parts_orders_total`, `net` and `arrears`. Another dealer's
/// statement is 404.
#[utoipa::path(
    get,
    path = "/v1/dealers/{dealer_code}/statements/{month}",
    tag = "dealers",
    params(("dealer_code" = DealerCode, Path), ("month" = Month, Path)),
    responses((status = 200, description = "The statement", content(
        (Statement = "application/json"),
        (String = "text/csv"),
    ))),
    security(("bearer" = ["reviewer", "analyst", "branch_agent", "warehouse", "dealer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn statement(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((dealer_code, month)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        CLAIMS,
        &format!("{CLAIMS_SERVICE}/GetStatement"),
        client.get_statement(cpb::GetStatementRequest {
            dealer_code,
            period: month,
        }),
    )
    .await?;
    let s = Statement::from(res.statement.unwrap_or_default());
    let csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    if !csv {
        return Ok(Json(s).into_response());
    }
    let name = format!(
        "attachment; filename=\"statement-{}-{}.csv\"",
        s.dealer_code, s.period
    );
    let mut res = statement_csv(&s).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

// ---- old parts by batch ----------------------------------------------------------------------

/// A part as it lies in the dealer's box.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BoxedOldPart {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(minimum = 1, maximum = 1000, example = 1)]
    pub quantity: u32,
    /// The faulty serial, as claimed on the dealer's line.
    #[schema(value_type = Serial)]
    pub faulty_serial: String,
}

/// `POST /v1/old-part-batches`: a dealer's box of old parts, as counted at the door.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OldPartBatchBody {
    #[schema(value_type = DealerCode)]
    pub dealer_code: String,
    #[schema(min_items = 1, max_items = 1000)]
    pub parts: Vec<BoxedOldPart>,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "box 1 of 1"
    )]
    pub note: String,
}

/// A part of a received box, identified against the dealer's claimed lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct OldPartBatchPart {
    /// Its place in the box as received (0-based): verdicts name parts by it.
    pub position: u32,
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub quantity: u32,
    pub faulty_serial: String,
    #[schema(value_type = Option<OldPartIdentification>)]
    pub identification: Option<String>,
    /// The dealer batch and line it was claimed on (empty / 0 when unidentified).
    pub claim_batch_id: String,
    pub line_no: u32,
    pub claimed_part_no: String,
    #[schema(value_type = Option<BatchPartVerdict>)]
    pub verdict: Option<String>,
    pub verdict_note: String,
    /// The catalogue's unit cost (on `GET` only).
    pub unit_cost: Option<Money>,
}

/// How many units of a part number a batch returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnedPartCount {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub quantity: u32,
}

/// The cost of the parts of one verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerdictCost {
    /// Null: parts without a verdict (unidentified, or not inspected yet).
    #[schema(value_type = Option<BatchPartVerdict>)]
    pub verdict: Option<String>,
    pub quantity: u32,
    pub cost: Option<Money>,
}

/// The batch's cost analysis.
#[derive(Debug, Serialize, ToSchema)]
pub struct OldPartBatchCost {
    pub by_verdict: Vec<VerdictCost>,
    pub total: Option<Money>,
}

/// A dealer's box of old parts.
#[derive(Debug, Serialize, ToSchema)]
pub struct OldPartBatch {
    #[schema(value_type = OldPartBatchId)]
    pub batch_id: String,
    #[schema(value_type = DealerCode)]
    pub dealer_code: String,
    pub branch: String,
    pub note: String,
    #[schema(value_type = Option<OldPartBatchStatus>)]
    pub status: Option<String>,
    pub parts: Vec<OldPartBatchPart>,
    pub identified: u32,
    pub wrong_part_no: u32,
    pub unidentified: u32,
    #[schema(format = DateTime)]
    pub received_at: Option<String>,
    pub received_by: String,
    #[schema(format = DateTime)]
    pub inspected_at: Option<String>,
    pub inspected_by: String,
    /// The part numbers by quantity returned, most first (on `GET` only).
    pub top_parts: Vec<ReturnedPartCount>,
    /// On `GET` only.
    pub cost: Option<OldPartBatchCost>,
}

impl OldPartBatch {
    fn from_proto(
        b: wpb::OldPartBatch,
        top: Vec<wpb::ReturnedPartCount>,
        cost: Option<wpb::OldPartBatchCost>,
    ) -> Self {
        OldPartBatch {
            status: text(OldPartBatchStatus::text_of(b.status)),
            parts: b
                .parts
                .into_iter()
                .map(|p| OldPartBatchPart {
                    identification: text(OldPartIdentification::text_of(p.identification)),
                    verdict: text(BatchPartVerdict::text_of(p.verdict)),
                    unit_cost: money_out(&p.unit_cost),
                    position: p.position,
                    part_no: p.part_no,
                    quantity: p.quantity,
                    faulty_serial: p.faulty_serial,
                    claim_batch_id: p.claim_batch_id,
                    line_no: p.line_no,
                    claimed_part_no: p.claimed_part_no,
                    verdict_note: p.verdict_note,
                })
                .collect(),
            received_at: instant_out(&b.received_at),
            inspected_at: instant_out(&b.inspected_at),
            top_parts: top
                .into_iter()
                .map(|t| ReturnedPartCount {
                    part_no: t.part_no,
                    quantity: t.quantity,
                })
                .collect(),
            cost: cost.map(|c| OldPartBatchCost {
                by_verdict: c
                    .by_verdict
                    .into_iter()
                    .map(|v| VerdictCost {
                        verdict: text(BatchPartVerdict::text_of(v.verdict)),
                        quantity: v.quantity,
                        cost: money_out(&v.cost),
                    })
                    .collect(),
                total: money_out(&c.total),
            }),
            batch_id: b.batch_id,
            dealer_code: b.dealer_code,
            branch: b.branch,
            note: b.note,
            identified: b.identified,
            wrong_part_no: b.wrong_part_no,
            unidentified: b.unidentified,
            received_by: b.received_by,
            inspected_by: b.inspected_by,
        }
    }
}

/// Receive a dealer's box of old parts
///
/// Counted, identified against the dealer's claimed parts still expected back and booked into
/// `old_parts`. A dealer the warehouse knows no decided batch of is 400 naming `dealer_code`.
#[utoipa::path(
    post,
    path = "/v1/old-part-batches",
    tag = "dealers",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = OldPartBatchBody, example = json!({
        "dealer_code": "D-SH01-0001",
        "parts": [{ "part_no": "PWR-55-01", "quantity": 1, "faulty_serial": "PB55-0001" }],
        "note": "box 1 of 1"
    })),
    responses((status = 201, description = "Received", body = OldPartBatch)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 409, 413, 415, 422]))),
)]
pub async fn receive_old_part_batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<OldPartBatchBody>,
) -> Result<Response, Problem> {
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        WAREHOUSE,
        &format!("{WAREHOUSE_SERVICE}/ReceiveOldPartBatch"),
        client.receive_old_part_batch(wpb::ReceiveOldPartBatchRequest {
            idempotency_key: upstream_key(&caller, &headers),
            dealer_code: body.dealer_code,
            parts: body
                .parts
                .into_iter()
                .map(|p| wpb::BoxedOldPart {
                    part_no: p.part_no,
                    quantity: p.quantity,
                    faulty_serial: p.faulty_serial,
                })
                .collect(),
            note: body.note,
        }),
    )
    .await
    .map_err(bad_request)?;
    let batch = OldPartBatch::from_proto(res.batch.unwrap_or_default(), Vec::new(), None);
    Ok((StatusCode::CREATED, Json(batch)).into_response())
}

/// A dealer's box of old parts
///
/// Its parts and verdicts, its top returned part numbers and its cost by verdict. Another
/// dealer's box is 404.
#[utoipa::path(
    get,
    path = "/v1/old-part-batches/{old_part_batch_id}",
    tag = "dealers",
    params(("old_part_batch_id" = OldPartBatchId, Path)),
    responses((status = 200, description = "The batch", body = OldPartBatch)),
    security(("bearer" = ["reviewer", "warehouse", "dealer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_old_part_batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(batch_id): Path<String>,
) -> Result<Json<OldPartBatch>, Problem> {
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        WAREHOUSE,
        &format!("{WAREHOUSE_SERVICE}/GetOldPartBatch"),
        client.get_old_part_batch(wpb::GetOldPartBatchRequest { batch_id }),
    )
    .await?;
    Ok(Json(OldPartBatch::from_proto(
        res.batch.unwrap_or_default(),
        res.top_parts,
        res.cost,
    )))
}

/// The inspector's verdict on one identified part.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PartVerdictIn {
    /// The part's `position` in the batch.
    #[schema(maximum = 999, example = 0)]
    pub position: u32,
    pub verdict: BatchPartVerdict,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "burnt capacitor"
    )]
    pub note: String,
}

/// `POST /v1/old-part-batches/{old_part_batch_id}/inspection`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OldPartInspectionBody {
    /// One per identified part (a part identified with another part number is `wrong_part`
    /// whatever is said).
    #[schema(min_items = 1, max_items = 1000)]
    pub verdicts: Vec<PartVerdictIn>,
}

/// Inspect a box of old parts
///
/// Once: a verdict per identified part. A part not faulty or not the one claimed is charged
/// back on the dealer's statement (`warehouse.oldpart_batch.inspected`). 409 when inspected
/// already.
#[utoipa::path(
    post,
    path = "/v1/old-part-batches/{old_part_batch_id}/inspection",
    tag = "dealers",
    params(
        ("old_part_batch_id" = OldPartBatchId, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = OldPartInspectionBody, example = json!({
        "verdicts": [{ "position": 0, "verdict": "confirmed_fault", "note": "burnt capacitor" }]
    })),
    responses((status = 200, description = "Inspected", body = OldPartBatch)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn inspect_old_part_batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(batch_id): Path<String>,
    JsonBody(body): JsonBody<OldPartInspectionBody>,
) -> Result<Json<OldPartBatch>, Problem> {
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        WAREHOUSE,
        &format!("{WAREHOUSE_SERVICE}/InspectOldPartBatch"),
        client.inspect_old_part_batch(wpb::InspectOldPartBatchRequest {
            batch_id,
            verdicts: body
                .verdicts
                .into_iter()
                .map(|v| wpb::PartVerdict {
                    position: v.position,
                    verdict: v.verdict.to_proto(),
                    note: v.note,
                })
                .collect(),
        }),
    )
    .await?;
    Ok(Json(OldPartBatch::from_proto(
        res.batch.unwrap_or_default(),
        Vec::new(),
        None,
    )))
}

// ---- advance exchange ------------------------------------------------------------------------

/// `POST /v1/turnover-transfers`: qualified units set aside for advance exchanges.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TurnoverTransferBody {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(minimum = 1, maximum = 100000, example = 5)]
    pub quantity: u32,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "turnover stock for December"
    )]
    pub reason: String,
}

/// The two ledger rows of a transfer: out of `qualified`, into `turnover`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TurnoverTransfer {
    pub entries: Vec<LedgerEntry>,
}

/// Move qualified units into turnover stock
///
/// 409 naming `part_no` when `qualified` holds fewer available units.
#[utoipa::path(
    post,
    path = "/v1/turnover-transfers",
    tag = "dealers",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = TurnoverTransferBody, example = json!({
        "part_no": "PWR-55-01", "quantity": 2, "reason": "turnover stock for December"
    })),
    responses((status = 201, description = "Transferred", body = TurnoverTransfer)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 409, 413, 415, 422]))),
)]
pub async fn transfer_to_turnover(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<TurnoverTransferBody>,
) -> Result<Response, Problem> {
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        WAREHOUSE,
        &format!("{WAREHOUSE_SERVICE}/TransferToTurnover"),
        client.transfer_to_turnover(wpb::TransferToTurnoverRequest {
            idempotency_key: upstream_key(&caller, &headers),
            part_no: body.part_no,
            quantity: body.quantity,
            reason: body.reason,
        }),
    )
    .await?;
    let out = TurnoverTransfer {
        entries: res.entries.into_iter().map(LedgerEntry::from).collect(),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Where the good units or ordered parts go.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ShipToIn {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Pudong Home Appliance Service"
    )]
    pub recipient: String,
    #[schema(value_type = Phone)]
    pub phone: String,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "88 Zhangyang Road, Pudong, Shanghai"
    )]
    pub address: String,
    #[serde(default)]
    pub region: Option<Region>,
}

impl ShipToIn {
    /// The address, in the dealer's `branch`.
    fn into_proto(self, branch: String) -> common::Address {
        common::Address {
            recipient: self.recipient,
            phone: self.phone,
            address: self.address,
            region: self.region.map(Region::to_proto).unwrap_or(0),
            branch,
        }
    }
}

/// `POST /v1/advance-exchanges`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdvanceExchangeBody {
    /// Default: the dealer the token acts for.
    #[serde(default)]
    #[schema(value_type = Option<DealerCode>)]
    pub dealer_code: Option<String>,
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(minimum = 1, maximum = 1000, example = 1)]
    pub quantity: u32,
    /// The defective unit that must come back.
    #[schema(value_type = Serial)]
    pub defective_serial: String,
    pub ship_to: ShipToIn,
}

/// Good units sent to a dealer ahead of its defective one.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdvanceExchange {
    #[schema(value_type = ExchangeId)]
    pub exchange_id: String,
    #[schema(value_type = DealerCode)]
    pub dealer_code: String,
    pub branch: String,
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub quantity: u32,
    pub defective_serial: String,
    pub ship_to: Option<Address>,
    #[schema(value_type = Option<AdvanceExchangeStatus>)]
    pub status: Option<String>,
    #[schema(format = DateTime)]
    pub shipped_at: Option<String>,
    /// The defective unit is due back by then.
    #[schema(format = DateTime)]
    pub due_at: Option<String>,
    #[schema(format = DateTime)]
    pub returned_at: Option<String>,
    pub returned_late: bool,
    /// What the dealer is charged if the unit does not come back.
    pub charge: Option<Money>,
    #[schema(format = DateTime)]
    pub overdue_at: Option<String>,
    pub created_by: String,
    /// This key had been used: the first answer again, nothing was shipped.
    pub replayed: bool,
}

impl AdvanceExchange {
    fn from_proto(x: wpb::AdvanceExchange, replayed: bool) -> Self {
        AdvanceExchange {
            ship_to: Address::from_proto(&x.ship_to),
            status: text(AdvanceExchangeStatus::text_of(x.status)),
            shipped_at: instant_out(&x.shipped_at),
            due_at: instant_out(&x.due_at),
            returned_at: instant_out(&x.returned_at),
            charge: money_out(&x.charge),
            overdue_at: instant_out(&x.overdue_at),
            exchange_id: x.exchange_id,
            dealer_code: x.dealer_code,
            branch: x.branch,
            part_no: x.part_no,
            quantity: x.quantity,
            defective_serial: x.defective_serial,
            returned_late: x.returned_late,
            created_by: x.created_by,
            replayed,
        }
    }
}

/// Ship an advance exchange from turnover stock
///
/// A dealer asks for itself; head office's warehouse for any dealer. The defective unit is due
/// back within the dealer's contract days; when it is not, the exchange is listed as overdue and
/// charged on the dealer's statement. 409 naming `part_no` when turnover stock is short; an
/// unknown dealer, or another dealer's code, is 400 naming `dealer_code`.
#[utoipa::path(
    post,
    path = "/v1/advance-exchanges",
    tag = "dealers",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = AdvanceExchangeBody, example = json!({
        "dealer_code": "D-SH01-0001", "part_no": "PWR-55-01", "quantity": 1,
        "defective_serial": "PB55-0042",
        "ship_to": { "recipient": "Pudong Home Appliance Service", "phone": "+86 21 5050 1234",
                     "address": "88 Zhangyang Road, Pudong, Shanghai", "region": "urban" }
    })),
    responses((status = 201, description = "Shipped", body = AdvanceExchange)),
    security(("bearer" = ["dealer", "warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 409, 413, 415, 422]))),
)]
pub async fn create_advance_exchange(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AdvanceExchangeBody>,
) -> Result<Response, Problem> {
    let code = dealer_of(body.dealer_code, &caller)?;
    // The dealer's branch and contract days come from its register entry.
    let dealer = acting_dealer(&state, &caller, &code).await?;
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        WAREHOUSE,
        &format!("{WAREHOUSE_SERVICE}/CreateAdvanceExchange"),
        client.create_advance_exchange(wpb::CreateAdvanceExchangeRequest {
            idempotency_key: upstream_key(&caller, &headers),
            dealer_code: code,
            branch: dealer.branch.clone(),
            part_no: body.part_no,
            quantity: body.quantity,
            defective_serial: body.defective_serial,
            ship_to: Some(body.ship_to.into_proto(dealer.branch)),
            return_days: dealer
                .terms
                .as_ref()
                .map_or(0, |t| t.advance_exchange_return_days),
        }),
    )
    .await
    .map_err(bad_request)?;
    let x = AdvanceExchange::from_proto(res.exchange.unwrap_or_default(), res.replayed);
    Ok((StatusCode::CREATED, Json(x)).into_response())
}

/// A page of advance exchanges, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdvanceExchangeList {
    pub items: Vec<AdvanceExchange>,
    pub next_page_token: String,
}

/// `GET /v1/advance-exchanges`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct AdvanceExchangeQuery {
    /// Only this dealer's.
    #[param(value_type = Option<DealerCode>)]
    pub dealer_code: Option<String>,
    /// Only the overdue ones (`true`).
    #[param(value_type = Option<bool>)]
    pub overdue_only: Option<String>,
    /// At most 200; default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// Advance exchanges
///
/// Newest first; `overdue_only=true` lists those whose defective unit is past due (and charged).
/// A dealer sees its own; a branch its dealers'; head office all.
#[utoipa::path(
    get,
    path = "/v1/advance-exchanges",
    tag = "dealers",
    params(AdvanceExchangeQuery),
    responses((status = 200, description = "A page of exchanges", body = AdvanceExchangeList)),
    security(("bearer" = ["reviewer", "warehouse", "dealer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 422]))),
)]
pub async fn list_advance_exchanges(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<AdvanceExchangeQuery>, QueryRejection>,
) -> Result<Json<AdvanceExchangeList>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    let overdue_only = match q.overdue_only.as_deref() {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            bad.add("overdue_only", "must be true or false");
            false
        }
    };
    bad.finish()?;
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        WAREHOUSE,
        &format!("{WAREHOUSE_SERVICE}/ListAdvanceExchanges"),
        client.list_advance_exchanges(wpb::ListAdvanceExchangesRequest {
            dealer_code: q.dealer_code.unwrap_or_default(),
            overdue_only,
            page_size,
            page_token: q.page_token.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(AdvanceExchangeList {
        items: res
            .exchanges
            .into_iter()
            .map(|x| AdvanceExchange::from_proto(x, false))
            .collect(),
        next_page_token: res.next_page_token,
    }))
}

/// `POST /v1/advance-exchanges/{exchange_id}/return`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExchangeReturnBody {
    /// Must be the exchange's defective serial.
    #[schema(value_type = Serial)]
    pub serial: String,
    /// Default `old_parts`.
    #[serde(default)]
    pub zone: Option<ReturnZone>,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "came back by courier"
    )]
    pub note: String,
}

/// The defective unit of an advance exchange is back
///
/// Booked into `old_parts` (or `nonconforming`); an exchange that had gone overdue keeps its
/// charge (`returned_late`). Receiving it again answers it unchanged.
#[utoipa::path(
    post,
    path = "/v1/advance-exchanges/{exchange_id}/return",
    tag = "dealers",
    params(
        ("exchange_id" = ExchangeId, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = ExchangeReturnBody, example = json!({
        "serial": "PB55-0042", "zone": "old_parts", "note": "came back by courier"
    })),
    responses((status = 200, description = "Returned", body = AdvanceExchange)),
    security(("bearer" = ["warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn return_advance_exchange(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(exchange_id): Path<String>,
    JsonBody(body): JsonBody<ExchangeReturnBody>,
) -> Result<Json<AdvanceExchange>, Problem> {
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        WAREHOUSE,
        &format!("{WAREHOUSE_SERVICE}/ReceiveAdvanceExchangeReturn"),
        client.receive_advance_exchange_return(wpb::ReceiveAdvanceExchangeReturnRequest {
            exchange_id,
            serial: body.serial,
            zone: body.zone.map(ReturnZone::to_proto).unwrap_or(0),
            note: body.note,
        }),
    )
    .await?;
    Ok(Json(AdvanceExchange::from_proto(
        res.exchange.unwrap_or_default(),
        false,
    )))
}

// ---- parts orders and their shipment ---------------------------------------------------------

/// One line of a parts order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DealerOrderLineIn {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(minimum = 1, maximum = 1000, example = 4)]
    pub quantity: u32,
}

/// `POST /v1/dealer-orders`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DealerOrderBody {
    /// Default: the dealer the token acts for.
    #[serde(default)]
    #[schema(value_type = Option<DealerCode>)]
    pub dealer_code: Option<String>,
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<DealerOrderLineIn>,
    pub ship_to: ShipToIn,
    /// The dealer's own reference (its purchase order number).
    #[serde(default)]
    #[schema(
        max_length = 80,
        pattern = r"^[^\x00-\x1F\x7F]*$",
        example = "PO-PD-2026-118"
    )]
    pub dealer_reference: Option<String>,
}

/// One line of an order as issued.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealerOrderLine {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub quantity: u32,
    /// Where it was issued from.
    #[schema(value_type = Option<IssueZone>)]
    pub zone: Option<String>,
    pub unit_cost: Option<Money>,
}

/// What logistics shipped to a dealer: the shipment notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct Consignment {
    #[schema(value_type = ConsignmentId)]
    pub consignment_id: String,
    #[schema(value_type = Option<ConsignmentKind>)]
    pub kind: Option<String>,
    #[schema(value_type = DealerCode)]
    pub dealer_code: String,
    pub branch: String,
    pub shipment_no: String,
    #[schema(value_type = Option<ConsignmentStatus>)]
    pub status: Option<String>,
    #[schema(value_type = Option<DeliveryMethod>)]
    pub method: Option<String>,
    pub method_reason: String,
    pub carrier: String,
    pub waybill_no: String,
    pub ship_to: Option<Address>,
    pub lines: Vec<ShippedLine>,
    pub value: Option<Money>,
    pub estimated_cost: Option<Money>,
    #[schema(format = DateTime)]
    pub dispatched_at: Option<String>,
    #[schema(format = DateTime)]
    pub eta: Option<String>,
    pub dealer_reference: String,
}

/// A part and how many travel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShippedLine {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub quantity: u32,
}

impl From<lpb::Consignment> for Consignment {
    fn from(c: lpb::Consignment) -> Self {
        Consignment {
            kind: text(ConsignmentKind::text_of(c.kind)),
            status: text(ConsignmentStatus::text_of(c.status)),
            method: text(DeliveryMethod::text_of(c.method)),
            ship_to: Address::from_proto(&c.ship_to),
            lines: c
                .lines
                .into_iter()
                .map(|l| ShippedLine {
                    part_no: l.part_no,
                    quantity: l.quantity,
                })
                .collect(),
            value: money_out(&c.value),
            estimated_cost: money_out(&c.estimated_cost),
            dispatched_at: instant_out(&c.dispatched_at),
            eta: instant_out(&c.eta),
            consignment_id: c.consignment_id,
            dealer_code: c.dealer_code,
            branch: c.branch,
            shipment_no: c.shipment_no,
            method_reason: c.method_reason,
            carrier: c.carrier,
            waybill_no: c.waybill_no,
            dealer_reference: c.dealer_reference,
        }
    }
}

/// A dealer's parts order: what the warehouse issued and, once logistics has handed it to a
/// carrier, its shipment.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealerOrder {
    #[schema(value_type = DealerOrderId)]
    pub order_id: String,
    #[schema(value_type = DealerCode)]
    pub dealer_code: String,
    pub branch: String,
    pub lines: Vec<DealerOrderLine>,
    pub ship_to: Option<Address>,
    /// The warehouse's value (unit cost x quantity); the statement adds the dealer's margin.
    pub value: Option<Money>,
    #[schema(format = DateTime)]
    pub issued_at: Option<String>,
    pub created_by: String,
    pub dealer_reference: String,
    /// The shipment notice; `null` until logistics has dispatched it.
    pub shipment: Option<Consignment>,
    /// This key had been used: the first answer again, nothing was issued.
    pub replayed: bool,
}

impl DealerOrder {
    fn from_proto(o: wpb::DealerOrder, shipment: Option<Consignment>, replayed: bool) -> Self {
        DealerOrder {
            lines: o
                .lines
                .into_iter()
                .map(|l| DealerOrderLine {
                    zone: text(IssueZone::text_of(l.zone)),
                    unit_cost: money_out(&l.unit_cost),
                    part_no: l.part_no,
                    quantity: l.quantity,
                })
                .collect(),
            ship_to: Address::from_proto(&o.ship_to),
            value: money_out(&o.value),
            issued_at: instant_out(&o.issued_at),
            order_id: o.order_id,
            dealer_code: o.dealer_code,
            branch: o.branch,
            created_by: o.created_by,
            dealer_reference: o.dealer_reference,
            shipment,
            replayed,
        }
    }
}

/// Order parts for a dealer's workshop
///
/// A dealer orders for itself; head office's warehouse for any dealer. Every line is issued from
/// stock at once — all or nothing: 409 naming `lines[i].part_no` when a part is short — and
/// logistics ships the order (its shipment notice follows on `GET /v1/dealer-orders/{order_id}`
/// and on the dealer's event stream as `logistics.consignment.dispatched`). The parts are billed
/// on the dealer's statement of the month they ship in, with its parts margin. An unknown
/// dealer, or another dealer's code, is 400 naming `dealer_code`.
#[utoipa::path(
    post,
    path = "/v1/dealer-orders",
    tag = "dealers",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = DealerOrderBody, example = json!({
        "dealer_code": "D-SH01-0001",
        "lines": [{ "part_no": "PWR-55-01", "quantity": 2 }, { "part_no": "RMT-01", "quantity": 5 }],
        "ship_to": { "recipient": "Pudong Home Appliance Service", "phone": "+86 21 5050 1234",
                     "address": "88 Zhangyang Road, Pudong, Shanghai", "region": "urban" },
        "dealer_reference": "PO-PD-2026-118"
    })),
    responses((status = 201, description = "Issued; logistics ships it", body = DealerOrder)),
    security(("bearer" = ["dealer", "warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 409, 413, 415, 422]))),
)]
pub async fn create_dealer_order(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<DealerOrderBody>,
) -> Result<Response, Problem> {
    let code = dealer_of(body.dealer_code, &caller)?;
    let dealer = acting_dealer(&state, &caller, &code).await?;
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        WAREHOUSE,
        &format!("{WAREHOUSE_SERVICE}/CreateDealerOrder"),
        client.create_dealer_order(wpb::CreateDealerOrderRequest {
            idempotency_key: upstream_key(&caller, &headers),
            dealer_code: code,
            branch: dealer.branch.clone(),
            lines: body
                .lines
                .into_iter()
                .map(|l| wpb::DealerOrderLine {
                    part_no: l.part_no,
                    quantity: l.quantity,
                    ..Default::default()
                })
                .collect(),
            ship_to: Some(body.ship_to.into_proto(dealer.branch)),
            dealer_reference: body.dealer_reference.unwrap_or_default(),
        }),
    )
    .await
    .map_err(bad_request)?;
    let o = DealerOrder::from_proto(res.order.unwrap_or_default(), None, res.replayed);
    Ok((StatusCode::CREATED, Json(o)).into_response())
}

/// Logistics' consignment, `None` while it has not shipped it (or is not deployed).
async fn shipment_of(
    state: &AppState,
    caller: &Caller,
    consignment_id: &str,
) -> Result<Option<Consignment>, Problem> {
    let mut client = state.peers.logistics(caller)?;
    match call(
        LOGISTICS,
        &format!("{LOGISTICS_SERVICE}/GetConsignment"),
        client.get_consignment(lpb::GetConsignmentRequest {
            consignment_id: consignment_id.to_owned(),
        }),
    )
    .await
    {
        Ok(res) => Ok(res.consignment.map(Consignment::from)),
        Err(p) if p.status == 404 => Ok(None),
        Err(p) => Err(p),
    }
}

/// A dealer's parts order and its shipment
///
/// What the warehouse issued and, once logistics has dispatched it, the carrier, waybill and
/// ETA (`shipment`, `null` until then). Another dealer's order is 404.
#[utoipa::path(
    get,
    path = "/v1/dealer-orders/{order_id}",
    tag = "dealers",
    params(("order_id" = DealerOrderId, Path)),
    responses((status = 200, description = "The order", body = DealerOrder)),
    security(("bearer" = ["dealer", "warehouse", "reviewer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404]))),
)]
pub async fn get_dealer_order(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(order_id): Path<String>,
) -> Result<Json<DealerOrder>, Problem> {
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        WAREHOUSE,
        &format!("{WAREHOUSE_SERVICE}/GetDealerOrder"),
        client.get_dealer_order(wpb::GetDealerOrderRequest {
            order_id: order_id.clone(),
        }),
    )
    .await?;
    let shipment = shipment_of(&state, &caller, &order_id).await?;
    Ok(Json(DealerOrder::from_proto(
        res.order.unwrap_or_default(),
        shipment,
        false,
    )))
}

/// The shipment notice of a dealer's order or advance exchange
///
/// The carrier, waybill, method and ETA logistics shipped it with. 404 until it is shipped, and
/// for another dealer's.
#[utoipa::path(
    get,
    path = "/v1/consignments/{consignment_id}",
    tag = "dealers",
    params(("consignment_id" = ConsignmentId, Path)),
    responses((status = 200, description = "The consignment", body = Consignment)),
    security(("bearer" = ["dealer", "logistics", "warehouse", "dispatcher", "reviewer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404]))),
)]
pub async fn get_consignment(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(consignment_id): Path<String>,
) -> Result<Json<Consignment>, Problem> {
    shipment_of(&state, &caller, &consignment_id)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("consignment {consignment_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_defused_and_separators_are_quoted() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("a, b"), "\"a, b\"");
        assert_eq!(cell("plain"), "plain");
    }

    #[test]
    fn the_export_has_a_row_per_entry_and_five_totals() {
        let money = |a| {
            Some(Money {
                currency: "CNY".into(),
                amount_minor: a,
            })
        };
        let s = Statement {
            dealer_code: "D-SH01-0001".into(),
            period: "2026-11".into(),
            status: Some("issued".into()),
            entries: vec![StatementEntry {
                kind: Some("charge_back".into()),
                reference: "b/3".into(),
                serial: "SN3".into(),
                description: "-old part not returned".into(),
                amount: money(-9000),
                at: None,
            }],
            claims_total: money(0),
            charges_total: money(-9000),
            parts_orders_total: money(0),
            net: money(-9000),
            arrears: money(0),
            new_parts_sent: 0,
            old_parts_returned: 0,
            parts_shipped: 0,
            issued_at: None,
            payment_due: String::new(),
        };
        let csv = statement_csv(&s);
        let rows: Vec<&str> = csv.trim_end().split("\r\n").collect();
        assert_eq!(rows.len(), 1 + 1 + 5);
        assert_eq!(
            rows[1],
            "D-SH01-0001,2026-11,charge_back,b/3,SN3,'-old part not returned,-9000,CNY,"
        );
        assert_eq!(
            rows[4],
            "D-SH01-0001,2026-11,total,parts_orders_total,,,0,CNY,"
        );
        assert_eq!(rows[5], "D-SH01-0001,2026-11,total,net,,,-9000,CNY,");
    }
}
