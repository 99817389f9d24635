//! Technicians, work orders (appointments, dispatch, the board's statuses, paid work's quotation
//! and changes, the final inspection, completion), tool loans, rework figures and the dispatch
//! board's data — REST over field-service's gRPC. A branch sees only its own work orders,
//! technicians and loans (another branch's answer 404); a technician only the work orders booked
//! with them (their token's `sub` is their technician id). A work order has a version: reads
//! answer it as the `ETag`; moving it on the board and completing it take it back as `If-Match`
//! (or `expected_version`), the paid-work steps optionally.

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as pb;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::claims::{Money, Precondition, precondition_of};
#[allow(unused_imports)] // named by the schema attributes
use crate::api::schema::{
    BranchCode, Code, Date, EntityTag, Id, IdempotencyKey, PartNo, Phone, RequestNo, Serial, Skill,
    Territory, TextLine, WorkOrderNo,
};
use crate::api::wire::{
    Address, Contact, Coverage, Kind, MoneyIn, PartQuantity, Region, TimeRange, Urgency,
    Violations, instant, instant_out, money_out, page_size, text, wire_enum,
};
use crate::app::AppState;
use crate::extract::JsonBody;
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::Problem;

const PEER: &str = "field-service";
const SERVICE: &str = "aftersales.fieldservice.v1.FieldServiceService";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_technicians, register_technician))
        .routes(routes!(list_work_orders, create_work_order))
        .routes(routes!(get_work_order))
        .routes(routes!(suggest_slots))
        .routes(routes!(hold_slot))
        .routes(routes!(schedule))
        .routes(routes!(dispatch))
        .routes(routes!(update_status))
        .routes(routes!(submit_quotation))
        .routes(routes!(approve_quotation))
        .routes(routes!(propose_change))
        .routes(routes!(decide_change))
        .routes(routes!(record_inspection))
        .routes(routes!(complete))
        .routes(routes!(list_tool_loans, loan_tool))
        .routes(routes!(return_tool))
        .routes(routes!(rework_stats))
        .routes(routes!(board))
}

wire_enum!(WorkOrderStatus, pb::WorkOrderStatus, {
    New = "new" => New, Scheduled = "scheduled" => Scheduled, EnRoute = "en_route" => EnRoute,
    OnSite = "on_site" => OnSite, InRepair = "in_repair" => InRepair,
    WaitingParts = "waiting_parts" => WaitingParts, Machining = "machining" => Machining,
    AwaitingReply = "awaiting_reply" => AwaitingReply, Stopped = "stopped" => Stopped,
    Done = "done" => Done, Cancelled = "cancelled" => Cancelled,
});
wire_enum!(BoardMove, pb::WorkOrderStatus, {
    OnSite = "on_site" => OnSite, InRepair = "in_repair" => InRepair,
    WaitingParts = "waiting_parts" => WaitingParts, Machining = "machining" => Machining,
    AwaitingReply = "awaiting_reply" => AwaitingReply, Stopped = "stopped" => Stopped,
});
wire_enum!(ServiceCategory, pb::ServiceCategory, {
    Paid = "paid" => Paid, Contract = "contract" => Contract, Free = "free" => Free,
    Internal = "internal" => Internal,
});
wire_enum!(QuotationStatus, pb::QuotationStatus, {
    Proposed = "proposed" => Proposed, Approved = "approved" => Approved, Rejected = "rejected" => Rejected,
});
wire_enum!(ChangeStatus, pb::ChangeStatus, {
    Pending = "pending" => Pending, Approved = "approved" => Approved, Rejected = "rejected" => Rejected,
});
wire_enum!(ToolLoanStatus, pb::ToolLoanStatus, {
    Out = "out" => Out, Returned = "returned" => Returned, Damaged = "damaged" => Damaged,
    Lost = "lost" => Lost,
});
wire_enum!(ToolOutcome, pb::ToolLoanStatus, {
    Returned = "returned" => Returned, Damaged = "damaged" => Damaged, Lost = "lost" => Lost,
});

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(q)| q)
        .map_err(|e| Problem::field("query", e.body_text()))
}

fn rfc(text: &str, field: &str, bad: &mut Violations) -> Option<prost_types::Timestamp> {
    instant(Some(text), field, bad)
}

// ---- technicians ----------------------------------------------------------------------------

/// A technician, with their appointments on the day asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct Technician {
    #[schema(value_type = Code)]
    pub technician_id: String,
    pub name: String,
    pub phone: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    /// Product categories they repair.
    pub skills: Vec<String>,
    /// Districts or postcodes they cover.
    pub territories: Vec<String>,
    #[schema(value_type = Vec<Region>)]
    pub regions: Vec<String>,
    /// Appointment windows a working day.
    pub daily_capacity: u32,
    pub active: bool,
    /// Appointments on `available_on` (0 when no day was asked).
    pub booked: u32,
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

impl Technician {
    fn from_proto(t: pb::Technician, booked: u32) -> Self {
        Technician {
            regions: t
                .regions
                .iter()
                .map(|r| Region::text_of(*r))
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: instant_out(&t.created_at),
            updated_at: instant_out(&t.updated_at),
            technician_id: t.technician_id,
            name: t.name,
            phone: t.phone,
            branch: t.branch,
            skills: t.skills,
            territories: t.territories,
            daily_capacity: t.daily_capacity,
            active: t.active,
            booked,
        }
    }
}

/// A page of technicians.
#[derive(Debug, Serialize, ToSchema)]
pub struct TechnicianList {
    pub items: Vec<Technician>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// `GET /v1/technicians`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct TechnicianQuery {
    /// Head office: one branch's technicians (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// Having this skill (a product category).
    #[param(
        max_length = 60,
        pattern = r"^[^\x00-\x1F\x7F]*$",
        example = "television"
    )]
    pub skill: Option<String>,
    #[param(value_type = Option<Region>)]
    pub region: Option<String>,
    /// With free capacity on this day.
    #[param(value_type = Option<Date>)]
    pub available_on: Option<String>,
    pub include_inactive: Option<bool>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// Technicians
///
/// A branch token sees its branch's technicians only.
#[utoipa::path(
    get,
    path = "/v1/technicians",
    tag = "field-service",
    params(TechnicianQuery),
    responses((status = 200, description = "A page of technicians", body = TechnicianList)),
    security(("bearer" = ["dispatcher", "technician", "branch_agent", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn list_technicians(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<TechnicianQuery>, QueryRejection>,
) -> Result<Json<TechnicianList>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let region = match q.region.as_deref().filter(|r| !r.is_empty()) {
        None => 0,
        Some(r) => Region::parse(r).map(Region::to_proto).unwrap_or_else(|| {
            bad.add("region", format!("is not one of {}", Region::choices()));
            0
        }),
    };
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListTechnicians"),
        client.list_technicians(pb::ListTechniciansRequest {
            branch: q.branch.unwrap_or_default(),
            skill: q.skill.unwrap_or_default(),
            region,
            available_on_date: q.available_on.unwrap_or_default(),
            include_inactive: q.include_inactive.unwrap_or(false),
            page_size,
            page_token: q.page_token.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(TechnicianList {
        items: res
            .technicians
            .into_iter()
            .map(|l| Technician::from_proto(l.technician.unwrap_or_default(), l.booked))
            .collect(),
        next_page_token: res.next_page_token,
    }))
}

/// `POST /v1/technicians`: creates or updates by `technician_id`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TechnicianBody {
    /// Default: one is issued (`T-<branch>-<n>`; a retry then registers another: set it).
    #[serde(default)]
    #[schema(value_type = Option<Code>)]
    pub technician_id: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Zhang Wei"
    )]
    pub name: String,
    #[schema(value_type = Phone)]
    pub phone: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(min_items = 1, max_items = 50, value_type = Vec<Skill>)]
    pub skills: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 100, value_type = Vec<Territory>)]
    pub territories: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 3)]
    pub regions: Vec<Region>,
    #[schema(minimum = 1, maximum = 100, example = 4)]
    pub daily_capacity: u32,
    /// Default true.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Register or update a technician
///
/// 201 when new, 200 when an existing technician was updated.
#[utoipa::path(
    post,
    path = "/v1/technicians",
    tag = "field-service",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = TechnicianBody, example = json!({
        "technician_id": "T-SH01-101", "name": "Zhang Wei", "phone": "+86 139 1000 2001",
        "branch": "SH01", "skills": ["television"], "territories": ["Pudong"],
        "regions": ["urban"], "daily_capacity": 4
    })),
    responses(
        (status = 201, description = "Registered", body = Technician),
        (status = 200, description = "Updated", body = Technician),
    ),
    security(("bearer" = ["dispatcher", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn register_technician(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<TechnicianBody>,
) -> Result<Response, Problem> {
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RegisterTechnician"),
        client.register_technician(pb::RegisterTechnicianRequest {
            technician: Some(pb::Technician {
                technician_id: body.technician_id.unwrap_or_default(),
                name: body.name,
                phone: body.phone,
                branch: body.branch,
                skills: body.skills,
                territories: body.territories,
                regions: body.regions.into_iter().map(Region::to_proto).collect(),
                daily_capacity: body.daily_capacity,
                active: body.active,
                ..Default::default()
            }),
        }),
    )
    .await?;
    let t = Technician::from_proto(res.technician.unwrap_or_default(), 0);
    let status = if res.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(t)).into_response())
}

// ---- work orders ----------------------------------------------------------------------------

/// The product of a job, as recorded.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = JobProduct)]
pub struct ProductOut {
    pub category: String,
    pub model: String,
    pub serial: String,
    pub purchase_date: String,
    pub invoice_no: String,
    pub invoice_date: String,
    pub receipt_date: String,
    pub factory_date: String,
    pub service_contract_no: String,
}

/// A part planned for or used on the job.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartUsed {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub quantity: u32,
    #[schema(value_type = Option<Coverage>)]
    pub coverage: Option<String>,
    /// The serial of the part fitted, where it has one.
    pub serial: String,
}

impl PartUsed {
    fn from_proto(p: pb::PartUsed) -> Self {
        PartUsed {
            coverage: text(Coverage::text_of(p.coverage)),
            part_no: p.part_no,
            quantity: p.quantity,
            serial: p.serial,
        }
    }
}

/// A part removed from the unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct OldPart {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub quantity: u32,
    pub serial: String,
    /// Replaced under warranty: it comes back to the warehouse.
    pub must_return: bool,
    #[schema(format = Date)]
    pub return_by_date: Option<String>,
}

/// A move on the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChange {
    #[schema(value_type = Option<WorkOrderStatus>)]
    pub from: Option<String>,
    #[schema(value_type = Option<WorkOrderStatus>)]
    pub to: Option<String>,
    #[schema(format = DateTime)]
    pub at: Option<String>,
    pub by: String,
    pub note: String,
}

/// A priced line.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotationItem {
    pub code: String,
    pub description: String,
    pub quantity: u32,
    pub unit_price: Option<Money>,
    pub amount: Option<Money>,
}

fn items(list: Vec<pb::QuotationItem>) -> Vec<QuotationItem> {
    list.into_iter()
        .map(|i| QuotationItem {
            unit_price: money_out(&i.unit_price),
            amount: money_out(&i.amount),
            code: i.code,
            description: i.description,
            quantity: i.quantity,
        })
        .collect()
}

/// Paid work's quotation and the customer's answer (approval is the repair authorization).
#[derive(Debug, Serialize, ToSchema)]
pub struct Quotation {
    pub items: Vec<QuotationItem>,
    pub total: Option<Money>,
    #[schema(value_type = Option<QuotationStatus>)]
    pub status: Option<String>,
    pub quoted_by: String,
    #[schema(format = DateTime)]
    pub quoted_at: Option<String>,
    /// The customer's name as signed.
    pub decided_by: String,
    #[schema(format = DateTime)]
    pub decided_at: Option<String>,
    pub note: String,
    pub fee_table_version: String,
}

/// An entry of the change log: service items added or removed during the repair.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceChange {
    pub change_id: String,
    pub added: Vec<QuotationItem>,
    pub removed: Vec<QuotationItem>,
    pub reason: String,
    #[schema(value_type = Option<ChangeStatus>)]
    pub status: Option<String>,
    /// Added minus removed.
    pub delta: Option<Money>,
    pub proposed_by: String,
    #[schema(format = DateTime)]
    pub proposed_at: Option<String>,
    pub decided_by: String,
    #[schema(format = DateTime)]
    pub decided_at: Option<String>,
    pub note: String,
}

/// The exit inspection.
#[derive(Debug, Serialize, ToSchema)]
pub struct FinalInspection {
    pub passed: bool,
    pub inspected_by: String,
    #[schema(format = DateTime)]
    pub inspected_at: Option<String>,
    pub checklist: Vec<String>,
    pub note: String,
    pub customer_signed: bool,
}

/// A job on site (or an internal one).
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkOrder {
    #[schema(value_type = WorkOrderNo)]
    pub work_order_no: String,
    /// Empty for an internal job.
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(value_type = Option<WorkOrderStatus>)]
    pub status: Option<String>,
    #[schema(value_type = Option<ServiceCategory>)]
    pub service_category: Option<String>,
    #[schema(value_type = Option<Kind>)]
    pub kind: Option<String>,
    #[schema(value_type = Option<Urgency>)]
    pub urgency: Option<String>,
    pub customer: Option<Contact>,
    /// Where the job is.
    pub site: Option<Address>,
    pub product: Option<ProductOut>,
    pub fault_description: String,
    pub planned_parts: Vec<PartUsed>,
    pub technician_id: String,
    pub appointment: Option<TimeRange>,
    /// The call: the arrival deadline counts from it.
    #[schema(format = DateTime)]
    pub called_at: Option<String>,
    /// 6 working hours (urban) / 7 (suburban) after the call.
    #[schema(format = DateTime)]
    pub arrival_due_at: Option<String>,
    /// Working seconds left (negative: overdue); 0 once arrived or without a deadline.
    pub arrival_seconds_left: i64,
    #[schema(format = DateTime)]
    pub arrived_at: Option<String>,
    #[schema(format = DateTime)]
    pub completed_at: Option<String>,
    pub sla_breached: bool,
    /// Why the status is what it is.
    pub status_note: String,
    #[schema(format = DateTime)]
    pub status_since: Option<String>,
    /// Also the `ETag`: send it back as `If-Match` (or `expected_version`).
    pub version: u64,
    pub history: Vec<StatusChange>,
    pub quotation: Option<Quotation>,
    pub changes: Vec<ServiceChange>,
    /// The approved quotation plus approved changes.
    pub authorized_amount: Option<Money>,
    pub parts_used: Vec<PartUsed>,
    pub labour_minutes: u32,
    /// What the customer pays (zero unless paid work).
    pub charge: Option<Money>,
    pub old_parts: Vec<OldPart>,
    pub final_inspection: Option<FinalInspection>,
    pub resolution: String,
    /// The earlier work order this one repeats (rework).
    pub rework_of: String,
    pub internal_rework_count: u32,
    /// The work order this follow-up job follows (an unsolved survey).
    pub follow_up_of: String,
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
}

impl From<pb::WorkOrder> for WorkOrder {
    fn from(w: pb::WorkOrder) -> Self {
        WorkOrder {
            status: text(WorkOrderStatus::text_of(w.status)),
            service_category: text(ServiceCategory::text_of(w.service_category)),
            kind: text(Kind::text_of(w.kind)),
            urgency: text(Urgency::text_of(w.urgency)),
            customer: Contact::from_proto(&w.customer),
            site: Address::from_proto(&w.site),
            product: w.product.map(|p| ProductOut {
                category: p.category,
                model: p.model,
                serial: p.serial,
                purchase_date: p.purchase_date,
                invoice_no: p.invoice_no,
                invoice_date: p.invoice_date,
                receipt_date: p.receipt_date,
                factory_date: p.factory_date,
                service_contract_no: p.service_contract_no,
            }),
            planned_parts: w
                .planned_parts
                .into_iter()
                .map(PartUsed::from_proto)
                .collect(),
            appointment: TimeRange::from_proto(&w.appointment),
            called_at: instant_out(&w.called_at),
            arrival_due_at: instant_out(&w.arrival_due_at),
            arrived_at: instant_out(&w.arrived_at),
            completed_at: instant_out(&w.completed_at),
            status_since: instant_out(&w.status_since),
            created_at: instant_out(&w.created_at),
            history: w
                .history
                .into_iter()
                .map(|h| StatusChange {
                    from: text(WorkOrderStatus::text_of(h.from)),
                    to: text(WorkOrderStatus::text_of(h.to)),
                    at: instant_out(&h.at),
                    by: h.by,
                    note: h.note,
                })
                .collect(),
            quotation: w.quotation.map(|q| Quotation {
                total: money_out(&q.total),
                status: text(QuotationStatus::text_of(q.status)),
                quoted_at: instant_out(&q.quoted_at),
                decided_at: instant_out(&q.decided_at),
                items: items(q.items),
                quoted_by: q.quoted_by,
                decided_by: q.decided_by,
                note: q.note,
                fee_table_version: q.fee_table_version,
            }),
            changes: w
                .changes
                .into_iter()
                .map(|c| ServiceChange {
                    status: text(ChangeStatus::text_of(c.status)),
                    delta: money_out(&c.delta),
                    proposed_at: instant_out(&c.proposed_at),
                    decided_at: instant_out(&c.decided_at),
                    added: items(c.added),
                    removed: items(c.removed),
                    change_id: c.change_id,
                    reason: c.reason,
                    proposed_by: c.proposed_by,
                    decided_by: c.decided_by,
                    note: c.note,
                })
                .collect(),
            authorized_amount: money_out(&w.authorized_amount),
            parts_used: w.parts_used.into_iter().map(PartUsed::from_proto).collect(),
            charge: money_out(&w.charge),
            old_parts: w
                .old_parts
                .into_iter()
                .map(|o| OldPart {
                    return_by_date: (!o.return_by_date.is_empty()).then_some(o.return_by_date),
                    part_no: o.part_no,
                    quantity: o.quantity,
                    serial: o.serial,
                    must_return: o.must_return,
                })
                .collect(),
            final_inspection: w.final_inspection.map(|i| FinalInspection {
                inspected_at: instant_out(&i.inspected_at),
                passed: i.passed,
                inspected_by: i.inspected_by,
                checklist: i.checklist,
                note: i.note,
                customer_signed: i.customer_signed,
            }),
            work_order_no: w.work_order_no,
            request_no: w.request_no,
            branch: w.branch,
            fault_description: w.fault_description,
            technician_id: w.technician_id,
            arrival_seconds_left: w.arrival_seconds_left,
            sla_breached: w.sla_breached,
            status_note: w.status_note,
            version: w.version,
            labour_minutes: w.labour_minutes,
            resolution: w.resolution,
            rework_of: w.rework_of,
            internal_rework_count: w.internal_rework_count,
            follow_up_of: w.follow_up_of,
        }
    }
}

impl WorkOrder {
    /// The work order with its version as the `ETag`.
    fn into_response(self, status: StatusCode) -> Response {
        let etag = HeaderValue::from_str(&format!("\"{}\"", self.version)).ok();
        let mut res = (status, Json(self)).into_response();
        if let Some(v) = etag {
            res.headers_mut().insert(header::ETAG, v);
        }
        res
    }
}

/// The answer of every work-order write.
fn answer(wo: Option<pb::WorkOrder>) -> Response {
    WorkOrder::from(wo.unwrap_or_default()).into_response(StatusCode::OK)
}

/// A page of work orders, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkOrderList {
    pub items: Vec<WorkOrder>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// `GET /v1/work-orders`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct WorkOrderQuery {
    /// Only these statuses, comma-separated (`scheduled,en_route`).
    #[param(value_type = Option<Vec<WorkOrderStatus>>, style = Form, explode = false)]
    pub status: Option<String>,
    #[param(value_type = Option<Code>)]
    pub technician_id: Option<String>,
    #[param(value_type = Option<RequestNo>)]
    pub request_no: Option<String>,
    /// Jobs on this unit.
    #[param(value_type = Option<Serial>)]
    pub serial: Option<String>,
    /// Head office: one branch's work orders (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// Only those whose arrival deadline passed before arrival.
    pub sla_breached: Option<bool>,
    /// Created at or after (RFC 3339).
    #[param(format = DateTime, example = "2026-11-01T00:00:00+08:00")]
    pub created_from: Option<String>,
    /// Created before (RFC 3339).
    #[param(format = DateTime, example = "2026-12-01T00:00:00+08:00")]
    pub created_to: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// Work orders, newest first
///
/// A branch token sees its branch's, a technician the ones booked with them.
#[utoipa::path(
    get,
    path = "/v1/work-orders",
    tag = "field-service",
    params(WorkOrderQuery),
    responses((status = 200, description = "A page of work orders", body = WorkOrderList)),
    security(("bearer" = ["dispatcher", "technician", "branch_agent", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn list_work_orders(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<WorkOrderQuery>, QueryRejection>,
) -> Result<Json<WorkOrderList>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let statuses = crate::api::wire::enum_list(
        q.status.as_deref(),
        "status",
        |s| WorkOrderStatus::parse(s).map(WorkOrderStatus::to_proto),
        &mut bad,
    );
    let from = instant(q.created_from.as_deref(), "created_from", &mut bad);
    let to = instant(q.created_to.as_deref(), "created_to", &mut bad);
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListWorkOrders"),
        client.list_work_orders(pb::ListWorkOrdersRequest {
            branch: q.branch.unwrap_or_default(),
            technician_id: q.technician_id.unwrap_or_default(),
            request_no: q.request_no.unwrap_or_default(),
            serial: q.serial.unwrap_or_default(),
            statuses,
            created: (from.is_some() || to.is_some()).then_some(common::TimeRange { from, to }),
            sla_breached_only: q.sla_breached.unwrap_or(false),
            page_size,
            page_token: q.page_token.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(WorkOrderList {
        items: res.work_orders.into_iter().map(WorkOrder::from).collect(),
        next_page_token: res.next_page_token,
    }))
}

/// The customer of a job opened by hand.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = JobCustomer)]
pub struct CustomerBody {
    /// Required unless the job is internal.
    #[serde(default)]
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Li Wei"
    )]
    pub name: String,
    /// Required unless the job is internal.
    #[serde(default)]
    #[schema(value_type = Option<Phone>)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "88 Century Avenue, Pudong, Shanghai"
    )]
    pub address: String,
    /// Decides the arrival deadline (or the site's).
    #[serde(default)]
    pub region: Option<Region>,
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub email: String,
}

/// Where the job is, when not at the customer's address.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = JobSite)]
pub struct SiteBody {
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub recipient: String,
    #[serde(default)]
    #[schema(value_type = Option<Phone>)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub address: String,
    #[serde(default)]
    pub region: Option<Region>,
}

/// The unit to work on.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = JobProductInput)]
pub struct ProductBody {
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "television"
    )]
    pub category: String,
    #[serde(default)]
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "X55"
    )]
    pub model: String,
    #[serde(default)]
    #[schema(value_type = Option<Serial>)]
    pub serial: Option<String>,
}

/// A part planned for the job.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PlannedPart)]
pub struct PartBody {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(minimum = 1, maximum = 100000, example = 1)]
    pub quantity: u32,
    #[serde(default)]
    pub coverage: Option<Coverage>,
    /// The serial of the part fitted, where it has one.
    #[serde(default)]
    #[schema(value_type = Option<Serial>)]
    pub serial: Option<String>,
}

impl PartBody {
    fn to_proto(&self) -> pb::PartUsed {
        pb::PartUsed {
            part_no: self.part_no.clone(),
            quantity: self.quantity,
            coverage: self.coverage.map(Coverage::to_proto).unwrap_or(0),
            serial: self.serial.clone().unwrap_or_default(),
        }
    }
}

/// `POST /v1/work-orders`: a job opened by hand (approved claims that need someone on site open
/// theirs by themselves), or an internal job without a request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWorkOrderBody {
    /// Required unless `service_category` is `internal` (then absent).
    #[serde(default)]
    #[schema(value_type = Option<RequestNo>)]
    pub request_no: Option<String>,
    /// The request's branch.
    #[schema(value_type = BranchCode)]
    pub branch: String,
    pub service_category: ServiceCategory,
    #[serde(default)]
    pub kind: Option<Kind>,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    #[serde(default)]
    pub customer: Option<CustomerBody>,
    #[serde(default)]
    pub site: Option<SiteBody>,
    pub product: ProductBody,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "no picture"
    )]
    pub fault_description: String,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub planned_parts: Vec<PartBody>,
    /// Default: now (the arrival deadline counts from it).
    #[serde(default)]
    #[schema(format = DateTime)]
    pub called_at: Option<String>,
}

/// Open a work order by hand
#[utoipa::path(
    post,
    path = "/v1/work-orders",
    tag = "field-service",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = CreateWorkOrderBody, example = json!({
        "request_no": "AS-2611-SH01-000042", "branch": "SH01", "service_category": "free",
        "kind": "repair", "urgency": "normal",
        "customer": { "name": "Li Wei", "phone": "+86 138 0013 8000",
                      "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban" },
        "product": { "category": "television", "model": "X55", "serial": "SN12345678" },
        "fault_description": "no picture",
        "planned_parts": [ { "part_no": "PWR-55-01", "quantity": 1, "coverage": "free" } ]
    })),
    responses((status = 201, description = "Opened", body = WorkOrder,
        headers(("ETag" = EntityTag, description = "The work order's version, for If-Match")))),
    security(("bearer" = ["dispatcher", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn create_work_order(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateWorkOrderBody>,
) -> Result<Response, Problem> {
    let mut bad = Violations::default();
    let called_at = instant(body.called_at.as_deref(), "called_at", &mut bad);
    bad.finish()?;
    let customer = body.customer.unwrap_or_default();
    let site = body.site;
    let req = pb::CreateWorkOrderRequest {
        idempotency_key: upstream_key(&caller, &headers),
        request_no: body.request_no.unwrap_or_default(),
        branch: body.branch,
        service_category: body.service_category.to_proto(),
        kind: body.kind.map(Kind::to_proto).unwrap_or(0),
        urgency: body.urgency.map(Urgency::to_proto).unwrap_or(0),
        customer: Some(common::Customer {
            name: customer.name,
            phone: customer.phone.unwrap_or_default(),
            address: customer.address,
            region: customer.region.map(Region::to_proto).unwrap_or(0),
            email: customer.email,
        }),
        site: site.map(|s| common::Address {
            recipient: s.recipient,
            phone: s.phone.unwrap_or_default(),
            address: s.address,
            region: s.region.map(Region::to_proto).unwrap_or(0),
            branch: String::new(),
        }),
        product: Some(common::Product {
            category: body.product.category,
            model: body.product.model,
            serial: body.product.serial.unwrap_or_default(),
            ..Default::default()
        }),
        fault_description: body.fault_description,
        planned_parts: body.planned_parts.iter().map(PartBody::to_proto).collect(),
        called_at,
    };
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/CreateWorkOrder"),
        client.create_work_order(req),
    )
    .await?;
    let wo = WorkOrder::from(res.work_order.unwrap_or_default());
    aftersales_platform::grpc::record_request_no(&wo.request_no);
    Ok(wo.into_response(StatusCode::CREATED))
}

/// One work order
///
/// Its version comes as the `ETag`.
#[utoipa::path(
    get,
    path = "/v1/work-orders/{work_order_no}",
    tag = "field-service",
    params(("work_order_no" = WorkOrderNo, Path)),
    responses((status = 200, description = "The work order", body = WorkOrder,
        headers(("ETag" = EntityTag, description = "The work order's version, for If-Match")))),
    security(("bearer" = ["dispatcher", "technician", "branch_agent", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_work_order(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
) -> Result<Response, Problem> {
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetWorkOrder"),
        client.get_work_order(pb::GetWorkOrderRequest { work_order_no }),
    )
    .await?;
    Ok(answer(res.work_order))
}

/// `GET /v1/work-orders/{work_order_no}/slots`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct SlotQuery {
    /// First day to look at (local); default today.
    #[param(value_type = Option<Date>)]
    pub from_date: Option<String>,
    /// Days to look at; default the policy's.
    #[param(minimum = 1, maximum = 60)]
    pub days: Option<u32>,
    /// At most this many suggestions; default the policy's.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// A free window of a technician, and why it ranks where it does.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotSuggestion {
    #[schema(value_type = Code)]
    pub technician_id: String,
    pub technician_name: String,
    pub window: Option<TimeRange>,
    /// The technician's appointments that day, and their daily capacity.
    pub booked: u32,
    pub capacity: u32,
    pub territory_match: bool,
    pub before_arrival_due: bool,
    /// Higher is better: the list's order.
    pub score: i32,
    pub reasons: Vec<String>,
}

/// Free windows for a job, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotSuggestions {
    #[schema(format = DateTime)]
    pub arrival_due_at: Option<String>,
    pub suggestions: Vec<SlotSuggestion>,
}

/// Free appointment windows for a job
///
/// Of active technicians of its branch with the job's skill and region, ranked by territory,
/// load and the arrival deadline; booked and held windows left out.
#[utoipa::path(
    get,
    path = "/v1/work-orders/{work_order_no}/slots",
    tag = "field-service",
    params(("work_order_no" = WorkOrderNo, Path), SlotQuery),
    responses((status = 200, description = "The suggestions", body = SlotSuggestions)),
    security(("bearer" = ["dispatcher", "branch_agent", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 422]))),
)]
pub async fn suggest_slots(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
    q: Result<Query<SlotQuery>, QueryRejection>,
) -> Result<Json<SlotSuggestions>, Problem> {
    let q = query(q)?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/SuggestSlots"),
        client.suggest_slots(pb::SuggestSlotsRequest {
            work_order_no,
            from_date: q.from_date.unwrap_or_default(),
            days: q.days.unwrap_or(0),
            limit: q.limit.unwrap_or(0),
        }),
    )
    .await?;
    Ok(Json(SlotSuggestions {
        arrival_due_at: instant_out(&res.arrival_due_at),
        suggestions: res
            .suggestions
            .into_iter()
            .map(|s| {
                let slot = s.slot.unwrap_or_default();
                SlotSuggestion {
                    window: TimeRange::from_proto(&slot.window),
                    technician_id: slot.technician_id,
                    technician_name: slot.technician_name,
                    booked: s.booked,
                    capacity: s.capacity,
                    territory_match: s.territory_match,
                    before_arrival_due: s.before_arrival_due,
                    score: s.score,
                    reasons: s.reasons,
                }
            })
            .collect(),
    }))
}

/// `POST /v1/work-orders/{work_order_no}/slots/hold`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HoldBody {
    #[schema(value_type = Code)]
    pub technician_id: String,
    /// A window's start, as suggested.
    #[schema(format = DateTime, example = "2026-12-01T09:00:00+08:00")]
    pub window_from: String,
    /// Default: the window's end.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub window_to: Option<String>,
}

/// A window held for a job while someone confirms.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotHold {
    pub hold_id: String,
    #[schema(value_type = WorkOrderNo)]
    pub work_order_no: String,
    #[schema(value_type = Code)]
    pub technician_id: String,
    pub technician_name: String,
    pub window: Option<TimeRange>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

fn window(from: &str, to: Option<&str>, bad: &mut Violations) -> Option<common::TimeRange> {
    Some(common::TimeRange {
        from: rfc(from, "window_from", bad),
        to: instant(to, "window_to", bad),
    })
}

/// Hold a window for a job
///
/// For the policy's hold time while the dispatcher or the customer confirms; holding again
/// refreshes it. A window booked or held for another job answers 409.
#[utoipa::path(
    post,
    path = "/v1/work-orders/{work_order_no}/slots/hold",
    tag = "field-service",
    params(
        ("work_order_no" = WorkOrderNo, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = HoldBody, example = json!({
        "technician_id": "T-SH01-001", "window_from": "2026-12-01T09:00:00+08:00"
    })),
    responses((status = 201, description = "Held", body = SlotHold)),
    security(("bearer" = ["dispatcher", "branch_agent", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn hold_slot(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
    JsonBody(body): JsonBody<HoldBody>,
) -> Result<Response, Problem> {
    let mut bad = Violations::default();
    let window = window(&body.window_from, body.window_to.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/HoldSlot"),
        client.hold_slot(pb::HoldSlotRequest {
            work_order_no,
            technician_id: body.technician_id,
            window,
        }),
    )
    .await?;
    let h = res.hold.unwrap_or_default();
    let slot = h.slot.unwrap_or_default();
    let hold = SlotHold {
        hold_id: h.hold_id,
        work_order_no: h.work_order_no,
        window: TimeRange::from_proto(&slot.window),
        technician_id: slot.technician_id,
        technician_name: slot.technician_name,
        expires_at: instant_out(&h.expires_at),
    };
    Ok((StatusCode::CREATED, Json(hold)).into_response())
}

/// `POST /v1/work-orders/{work_order_no}/appointment`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AppointmentBody {
    /// A window's start on a working day.
    #[schema(format = DateTime, example = "2026-12-01T09:00:00+08:00")]
    pub window_from: String,
    /// Default: the window's end.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub window_to: Option<String>,
    /// Default: the best technician by skill, territory and free capacity.
    #[serde(default)]
    #[schema(value_type = Option<Code>)]
    pub technician_id: Option<String>,
    /// The hold this booking confirms.
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\x00-\x1F\x7F]*$")]
    pub hold_id: String,
    /// Why it moved, when rescheduling.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "customer asked for the morning"
    )]
    pub note: String,
}

/// Book (or move) the appointment
///
/// The job becomes `scheduled` (one waiting for parts stays so until they arrive). A window
/// booked or held for another job, or a technician over capacity, answers 409.
#[utoipa::path(
    post,
    path = "/v1/work-orders/{work_order_no}/appointment",
    tag = "field-service",
    params(
        ("work_order_no" = WorkOrderNo, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = AppointmentBody, example = json!({
        "window_from": "2026-12-01T09:00:00+08:00", "technician_id": "T-SH01-001",
        "note": "customer asked for the morning"
    })),
    responses((status = 200, description = "Scheduled", body = WorkOrder,
        headers(("ETag" = EntityTag, description = "The work order's version, for If-Match")))),
    security(("bearer" = ["dispatcher", "branch_agent", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn schedule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AppointmentBody>,
) -> Result<Response, Problem> {
    let mut bad = Violations::default();
    let window = window(&body.window_from, body.window_to.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ScheduleAppointment"),
        client.schedule_appointment(pb::ScheduleAppointmentRequest {
            idempotency_key: upstream_key(&caller, &headers),
            work_order_no,
            window,
            technician_id: body.technician_id.unwrap_or_default(),
            note: body.note,
            hold_id: body.hold_id,
        }),
    )
    .await?;
    Ok(answer(res.work_order))
}

/// `POST /v1/work-orders/{work_order_no}/dispatch`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DispatchBody {
    /// Default: the scheduled technician.
    #[serde(default)]
    #[schema(value_type = Option<Code>)]
    pub technician_id: Option<String>,
}

/// The technician sets off
///
/// `scheduled` → `en_route`.
#[utoipa::path(
    post,
    path = "/v1/work-orders/{work_order_no}/dispatch",
    tag = "field-service",
    params(
        ("work_order_no" = WorkOrderNo, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = Option<DispatchBody>, example = json!({ "technician_id": "T-SH01-001" })),
    responses((status = 200, description = "En route", body = WorkOrder,
        headers(("ETag" = EntityTag, description = "The work order's version, for If-Match")))),
    security(("bearer" = ["dispatcher", "technician", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn dispatch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<DispatchBody>,
) -> Result<Response, Problem> {
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/Dispatch"),
        client.dispatch(pb::DispatchRequest {
            idempotency_key: upstream_key(&caller, &headers),
            work_order_no,
            technician_id: body.technician_id.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(answer(res.work_order))
}

/// The version a write is based on: `If-Match` or the body's; a stale one is 412 or 409.
fn stale_as(p: Problem, pre: Option<Precondition>) -> Problem {
    if p.grpc_code == Some(tonic::Code::Aborted)
        && let Some(Precondition::IfMatch(v)) = pre
    {
        let mut stale = Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            format!(
                "the work order is no longer at version {v}: reload it (GET /v1/work-orders/{{work_order_no}}) and retry"
            ),
        );
        stale.grpc_code = p.grpc_code;
        return stale;
    }
    p
}

/// The version a board move or completion is based on (required).
fn precondition(headers: &HeaderMap, body: Option<u64>) -> Result<Precondition, Problem> {
    precondition_of(
        headers,
        body,
        "the work order's version you saw: If-Match: \"<ETag of GET /v1/work-orders/{work_order_no}>\"",
    )
}

/// The optional version of a paid-work step: `If-Match`, the body's, or none.
fn optional_version(
    headers: &HeaderMap,
    body: Option<u64>,
) -> Result<Option<Precondition>, Problem> {
    match precondition(headers, body) {
        Ok(p) => Ok(Some(p)),
        Err(p) if p.status == 428 => Ok(None),
        Err(p) => Err(p),
    }
}

/// `POST /v1/work-orders/{work_order_no}/status`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusBody {
    /// A board move (scheduling, dispatch and completion have their own paths).
    pub status: BoardMove,
    /// Required for `stopped`, `waiting_parts` and `awaiting_reply`: why.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "arrived, customer present"
    )]
    pub note: String,
    /// For `waiting_parts`: the parts awaited.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub parts_awaited: Vec<PartQuantity>,
    /// The `version` seen (or send `If-Match`).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub expected_version: Option<u64>,
}

/// Move a work order on the board
///
/// Only allowed moves (409 otherwise); paid work enters `in_repair` only with its quotation
/// approved. Conditional on the version: `If-Match` (stale: 412) or `expected_version` (stale:
/// 409); neither answers 428.
#[utoipa::path(
    post,
    path = "/v1/work-orders/{work_order_no}/status",
    tag = "field-service",
    params(
        ("work_order_no" = WorkOrderNo, Path),
        ("If-Match" = Option<EntityTag>, Header, description = "The ETag of the work order as read"),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = StatusBody, example = json!({
        "status": "on_site", "note": "arrived, customer present", "expected_version": 4
    })),
    responses((status = 200, description = "Moved", body = WorkOrder,
        headers(("ETag" = EntityTag, description = "The work order's version, for If-Match")))),
    security(("bearer" = ["dispatcher", "technician", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 412, 413, 415, 422, 428]))),
)]
pub async fn update_status(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<Response, Problem> {
    let pre = precondition(&headers, body.expected_version)?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/UpdateStatus"),
        client.update_status(pb::UpdateStatusRequest {
            idempotency_key: upstream_key(&caller, &headers),
            work_order_no,
            expected_version: pre.version(),
            status: body.status.to_proto(),
            note: body.note,
            parts_awaited: body
                .parts_awaited
                .iter()
                .map(PartQuantity::to_proto)
                .collect(),
        }),
    )
    .await
    .map_err(|p| stale_as(p, Some(pre)))?;
    Ok(answer(res.work_order))
}

/// A fee table code (`visit`, `labour_hour`, or a part number listed in it) and how many.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ItemLine {
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r"^[^\x00-\x1F\x7F]*[^ \x00-\x1F\x7F][^\x00-\x1F\x7F]*$",
        example = "labour_hour"
    )]
    pub code: String,
    #[schema(minimum = 1, maximum = 10000, example = 2)]
    pub quantity: u32,
}

fn item_lines(list: &[ItemLine]) -> Vec<pb::ItemLine> {
    list.iter()
        .map(|l| pb::ItemLine {
            code: l.code.clone(),
            quantity: l.quantity,
        })
        .collect()
}

/// `POST /v1/work-orders/{work_order_no}/quotation`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct QuotationBody {
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<ItemLine>,
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub note: String,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub expected_version: Option<u64>,
}

/// Quote paid work
///
/// Priced from the fee table before work starts; replaces an earlier quotation until the
/// customer approved one.
#[utoipa::path(
    post,
    path = "/v1/work-orders/{work_order_no}/quotation",
    tag = "field-service",
    params(
        ("work_order_no" = WorkOrderNo, Path),
        ("If-Match" = Option<EntityTag>, Header, description = "The ETag of the work order as read"),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = QuotationBody, example = json!({
        "items": [ { "code": "visit", "quantity": 1 }, { "code": "labour_hour", "quantity": 2 } ],
        "note": "out of warranty"
    })),
    responses((status = 200, description = "Quoted", body = WorkOrder,
        headers(("ETag" = EntityTag, description = "The work order's version, for If-Match")))),
    security(("bearer" = ["dispatcher", "technician", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 412, 413, 415, 422]))),
)]
pub async fn submit_quotation(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<QuotationBody>,
) -> Result<Response, Problem> {
    let pre = optional_version(&headers, body.expected_version)?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/SubmitQuotation"),
        client.submit_quotation(pb::SubmitQuotationRequest {
            idempotency_key: upstream_key(&caller, &headers),
            work_order_no,
            expected_version: pre.map(Precondition::version).unwrap_or(0),
            items: item_lines(&body.items),
            note: body.note,
        }),
    )
    .await
    .map_err(|p| stale_as(p, pre))?;
    Ok(answer(res.work_order))
}

/// The customer's answer to a quotation or a change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CustomerAnswerBody {
    /// False: the customer refused.
    pub approved: bool,
    /// The customer's name as signed.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Li Wei"
    )]
    pub customer_name: String,
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub note: String,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub expected_version: Option<u64>,
}

/// The customer answers the quotation
///
/// Approval is the repair authorization.
#[utoipa::path(
    post,
    path = "/v1/work-orders/{work_order_no}/quotation/approve",
    tag = "field-service",
    params(
        ("work_order_no" = WorkOrderNo, Path),
        ("If-Match" = Option<EntityTag>, Header, description = "The ETag of the work order as read"),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = CustomerAnswerBody, example = json!({
        "approved": true, "customer_name": "Li Wei", "note": "signed on site"
    })),
    responses((status = 200, description = "Answered", body = WorkOrder,
        headers(("ETag" = EntityTag, description = "The work order's version, for If-Match")))),
    security(("bearer" = ["dispatcher", "technician", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 412, 413, 415, 422]))),
)]
pub async fn approve_quotation(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CustomerAnswerBody>,
) -> Result<Response, Problem> {
    let pre = optional_version(&headers, body.expected_version)?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ApproveQuotation"),
        client.approve_quotation(pb::ApproveQuotationRequest {
            idempotency_key: upstream_key(&caller, &headers),
            work_order_no,
            expected_version: pre.map(Precondition::version).unwrap_or(0),
            approved: body.approved,
            customer_name: body.customer_name,
            note: body.note,
        }),
    )
    .await
    .map_err(|p| stale_as(p, pre))?;
    Ok(answer(res.work_order))
}

/// `POST /v1/work-orders/{work_order_no}/changes`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeBody {
    #[serde(default)]
    #[schema(max_items = 100)]
    pub added: Vec<ItemLine>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub removed: Vec<ItemLine>,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "the main board is burnt too"
    )]
    pub reason: String,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub expected_version: Option<u64>,
}

/// A proposed change and the work order with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeProposed {
    pub change_id: String,
    pub work_order: WorkOrder,
}

/// Propose a change of service items
///
/// Pending until the customer answers it; completion waits for every change to be answered.
#[utoipa::path(
    post,
    path = "/v1/work-orders/{work_order_no}/changes",
    tag = "field-service",
    params(
        ("work_order_no" = WorkOrderNo, Path),
        ("If-Match" = Option<EntityTag>, Header, description = "The ETag of the work order as read"),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = ChangeBody, example = json!({
        "added": [ { "code": "labour_hour", "quantity": 1 } ], "reason": "the main board is burnt too"
    })),
    responses((status = 201, description = "Proposed", body = ChangeProposed)),
    security(("bearer" = ["dispatcher", "technician", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 412, 413, 415, 422]))),
)]
pub async fn propose_change(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ChangeBody>,
) -> Result<Response, Problem> {
    let pre = optional_version(&headers, body.expected_version)?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ProposeChange"),
        client.propose_change(pb::ProposeChangeRequest {
            idempotency_key: upstream_key(&caller, &headers),
            work_order_no,
            expected_version: pre.map(Precondition::version).unwrap_or(0),
            added: item_lines(&body.added),
            removed: item_lines(&body.removed),
            reason: body.reason,
        }),
    )
    .await
    .map_err(|p| stale_as(p, pre))?;
    let out = ChangeProposed {
        change_id: res.change_id,
        work_order: WorkOrder::from(res.work_order.unwrap_or_default()),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// The customer answers a change
#[utoipa::path(
    post,
    path = "/v1/work-orders/{work_order_no}/changes/{change_id}/decision",
    tag = "field-service",
    params(
        ("work_order_no" = WorkOrderNo, Path),
        ("change_id" = Id, Path),
        ("If-Match" = Option<EntityTag>, Header, description = "The ETag of the work order as read"),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = CustomerAnswerBody, example = json!({
        "approved": true, "customer_name": "Li Wei"
    })),
    responses((status = 200, description = "Answered", body = WorkOrder,
        headers(("ETag" = EntityTag, description = "The work order's version, for If-Match")))),
    security(("bearer" = ["dispatcher", "technician", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 412, 413, 415, 422]))),
)]
pub async fn decide_change(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((work_order_no, change_id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CustomerAnswerBody>,
) -> Result<Response, Problem> {
    let pre = optional_version(&headers, body.expected_version)?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/DecideChange"),
        client.decide_change(pb::DecideChangeRequest {
            idempotency_key: upstream_key(&caller, &headers),
            work_order_no,
            change_id,
            expected_version: pre.map(Precondition::version).unwrap_or(0),
            approved: body.approved,
            customer_name: body.customer_name,
            note: body.note,
        }),
    )
    .await
    .map_err(|p| stale_as(p, pre))?;
    Ok(answer(res.work_order))
}

/// `POST /v1/work-orders/{work_order_no}/inspection`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = FinalInspectionInput)]
pub struct InspectionBody {
    pub passed: bool,
    #[schema(min_items = 1, max_items = 50, value_type = Vec<TextLine>)]
    pub checklist: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 1000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub note: String,
    /// The customer signed the job off.
    #[serde(default)]
    pub customer_signed: bool,
    /// Default: the caller.
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub inspected_by: String,
}

/// Record the exit inspection
///
/// Of a repair before completion, or of a completed job. A failed one counts as internal rework
/// and sends a completed job back to repair.
#[utoipa::path(
    post,
    path = "/v1/work-orders/{work_order_no}/inspection",
    tag = "field-service",
    params(
        ("work_order_no" = WorkOrderNo, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = InspectionBody, example = json!({
        "passed": true, "checklist": ["picture and sound ok", "no error codes"],
        "customer_signed": true
    })),
    responses((status = 200, description = "Recorded", body = WorkOrder,
        headers(("ETag" = EntityTag, description = "The work order's version, for If-Match")))),
    security(("bearer" = ["dispatcher", "technician", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn record_inspection(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InspectionBody>,
) -> Result<Response, Problem> {
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RecordFinalInspection"),
        client.record_final_inspection(pb::RecordFinalInspectionRequest {
            idempotency_key: upstream_key(&caller, &headers),
            work_order_no,
            inspection: Some(pb::FinalInspection {
                passed: body.passed,
                inspected_by: body.inspected_by,
                inspected_at: None,
                checklist: body.checklist,
                note: body.note,
                customer_signed: body.customer_signed,
            }),
        }),
    )
    .await?;
    Ok(answer(res.work_order))
}

/// A part taken out of the unit.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = OldPartInput)]
pub struct OldPartBody {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(minimum = 1, maximum = 100000, example = 1)]
    pub quantity: u32,
    #[serde(default)]
    #[schema(value_type = Option<Serial>)]
    pub serial: Option<String>,
    /// Replaced under warranty: it goes back to the warehouse.
    #[serde(default)]
    pub must_return: bool,
    /// Only with `must_return`; default: the policy's days after completion.
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub return_by_date: Option<String>,
}

/// `POST /v1/work-orders/{work_order_no}/complete`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CompleteBody {
    /// The `version` seen (or send `If-Match`).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub expected_version: Option<u64>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub parts_used: Vec<PartBody>,
    #[schema(minimum = 1, maximum = 20160, example = 45)]
    pub labour_minutes: u32,
    /// Paid work: default the approved quotation plus approved changes.
    #[serde(default)]
    pub charge: Option<MoneyIn>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub old_parts: Vec<OldPartBody>,
    /// The serial as read on the unit.
    #[serde(default)]
    #[schema(value_type = Option<Serial>)]
    pub serial: Option<String>,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "power board replaced"
    )]
    pub resolution: String,
    /// Default: the work order's.
    #[serde(default)]
    pub service_category: Option<ServiceCategory>,
}

/// Complete a work order
///
/// Parts used, labour, charge and the old parts taken back; the job becomes `done` (from
/// `in_repair`, after a passed inspection where the policy asks for one). Conditional on the
/// version like a board move.
#[utoipa::path(
    post,
    path = "/v1/work-orders/{work_order_no}/complete",
    tag = "field-service",
    params(
        ("work_order_no" = WorkOrderNo, Path),
        ("If-Match" = Option<EntityTag>, Header, description = "The ETag of the work order as read"),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = CompleteBody, example = json!({
        "expected_version": 7, "labour_minutes": 45,
        "parts_used": [ { "part_no": "PWR-55-01", "quantity": 1, "coverage": "free" } ],
        "old_parts": [ { "part_no": "PWR-55-01", "quantity": 1, "must_return": true } ],
        "serial": "SN12345678", "resolution": "power board replaced"
    })),
    responses((status = 200, description = "Completed", body = WorkOrder,
        headers(("ETag" = EntityTag, description = "The work order's version, for If-Match")))),
    security(("bearer" = ["dispatcher", "technician", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 412, 413, 415, 422, 428]))),
)]
pub async fn complete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(work_order_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CompleteBody>,
) -> Result<Response, Problem> {
    let pre = precondition(&headers, body.expected_version)?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/CompleteWorkOrder"),
        client.complete_work_order(pb::CompleteWorkOrderRequest {
            idempotency_key: upstream_key(&caller, &headers),
            work_order_no,
            expected_version: pre.version(),
            parts_used: body.parts_used.iter().map(PartBody::to_proto).collect(),
            labour_minutes: body.labour_minutes,
            charge: body.charge.as_ref().map(MoneyIn::to_proto),
            old_parts: body
                .old_parts
                .into_iter()
                .map(|o| pb::OldPart {
                    part_no: o.part_no,
                    quantity: o.quantity,
                    serial: o.serial.unwrap_or_default(),
                    must_return: o.must_return,
                    return_by_date: o.return_by_date.unwrap_or_default(),
                })
                .collect(),
            serial: body.serial.unwrap_or_default(),
            resolution: body.resolution,
            service_category: body
                .service_category
                .map(ServiceCategory::to_proto)
                .unwrap_or(0),
        }),
    )
    .await
    .map_err(|p| stale_as(p, Some(pre)))?;
    Ok(answer(res.work_order))
}

// ---- tool loans -----------------------------------------------------------------------------

/// A special tool lent to a technician.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolLoan {
    #[schema(value_type = Id)]
    pub loan_id: String,
    #[schema(value_type = Code)]
    pub tool_id: String,
    pub tool_name: String,
    #[schema(value_type = Code)]
    pub technician_id: String,
    pub work_order_no: String,
    #[schema(format = DateTime)]
    pub loaned_at: Option<String>,
    #[schema(format = Date)]
    pub due_back_date: Option<String>,
    #[schema(format = DateTime)]
    pub returned_at: Option<String>,
    /// As returned: `ok`, or what is wrong.
    pub return_condition: String,
    #[schema(value_type = Option<ToolLoanStatus>)]
    pub status: Option<String>,
    /// Out past its due date.
    pub overdue: bool,
}

impl From<pb::ToolLoan> for ToolLoan {
    fn from(l: pb::ToolLoan) -> Self {
        ToolLoan {
            status: text(ToolLoanStatus::text_of(l.status)),
            loaned_at: instant_out(&l.loaned_at),
            returned_at: instant_out(&l.returned_at),
            due_back_date: (!l.due_back_date.is_empty()).then_some(l.due_back_date),
            loan_id: l.loan_id,
            tool_id: l.tool_id,
            tool_name: l.tool_name,
            technician_id: l.technician_id,
            work_order_no: l.work_order_no,
            return_condition: l.return_condition,
            overdue: l.overdue,
        }
    }
}

/// `POST /v1/tool-loans`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoanBody {
    /// The tool's asset tag.
    #[schema(value_type = Code)]
    pub tool_id: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "panel suction lifter"
    )]
    pub tool_name: String,
    #[schema(value_type = Code)]
    pub technician_id: String,
    #[serde(default)]
    #[schema(value_type = Option<WorkOrderNo>)]
    pub work_order_no: Option<String>,
    #[schema(value_type = Date)]
    pub due_back_date: String,
}

/// Lend a tool to a technician
///
/// A tool already out answers 409.
#[utoipa::path(
    post,
    path = "/v1/tool-loans",
    tag = "field-service",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = LoanBody, example = json!({
        "tool_id": "TOOL-0042", "tool_name": "panel suction lifter", "technician_id": "T-SH01-001",
        "due_back_date": "2026-12-05"
    })),
    responses((status = 201, description = "Lent", body = ToolLoan)),
    security(("bearer" = ["dispatcher", "technician", "warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn loan_tool(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoanBody>,
) -> Result<Response, Problem> {
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/LoanTool"),
        client.loan_tool(pb::LoanToolRequest {
            idempotency_key: upstream_key(&caller, &headers),
            tool_id: body.tool_id,
            tool_name: body.tool_name,
            technician_id: body.technician_id,
            work_order_no: body.work_order_no.unwrap_or_default(),
            due_back_date: body.due_back_date,
        }),
    )
    .await?;
    let loan = ToolLoan::from(res.loan.unwrap_or_default());
    Ok((StatusCode::CREATED, Json(loan)).into_response())
}

/// `POST /v1/tool-loans/{loan_id}/return`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReturnToolBody {
    /// Default: `returned`.
    #[serde(default)]
    pub outcome: Option<ToolOutcome>,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "ok"
    )]
    pub return_condition: String,
}

/// A tool comes back (or is reported damaged or lost)
///
/// Returning a returned loan returns it unchanged.
#[utoipa::path(
    post,
    path = "/v1/tool-loans/{loan_id}/return",
    tag = "field-service",
    params(
        ("loan_id" = Id, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = Option<ReturnToolBody>, example = json!({ "outcome": "returned", "return_condition": "ok" })),
    responses((status = 200, description = "Returned", body = ToolLoan)),
    security(("bearer" = ["dispatcher", "technician", "warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn return_tool(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(loan_id): Path<String>,
    JsonBody(body): JsonBody<ReturnToolBody>,
) -> Result<Json<ToolLoan>, Problem> {
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ReturnTool"),
        client.return_tool(pb::ReturnToolRequest {
            loan_id,
            return_condition: body.return_condition,
            outcome: body.outcome.map(ToolOutcome::to_proto).unwrap_or(0),
        }),
    )
    .await?;
    Ok(Json(ToolLoan::from(res.loan.unwrap_or_default())))
}

/// `GET /v1/tool-loans`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct LoanQuery {
    #[param(value_type = Option<Code>)]
    pub technician_id: Option<String>,
    #[param(value_type = Option<Code>)]
    pub tool_id: Option<String>,
    /// Only loans not returned yet.
    pub open: Option<bool>,
    /// Only loans past their due date and not returned.
    pub overdue: Option<bool>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// A page of tool loans.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolLoanList {
    pub items: Vec<ToolLoan>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// Tool loans
///
/// Of the caller's branch (a technician: their own).
#[utoipa::path(
    get,
    path = "/v1/tool-loans",
    tag = "field-service",
    params(LoanQuery),
    responses((status = 200, description = "A page of loans", body = ToolLoanList)),
    security(("bearer" = ["dispatcher", "technician", "warehouse", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 422]))),
)]
pub async fn list_tool_loans(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<LoanQuery>, QueryRejection>,
) -> Result<Json<ToolLoanList>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListToolLoans"),
        client.list_tool_loans(pb::ListToolLoansRequest {
            technician_id: q.technician_id.unwrap_or_default(),
            tool_id: q.tool_id.unwrap_or_default(),
            open_only: q.open.unwrap_or(false),
            overdue_only: q.overdue.unwrap_or(false),
            page_size,
            page_token: q.page_token.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(ToolLoanList {
        items: res.loans.into_iter().map(ToolLoan::from).collect(),
        next_page_token: res.next_page_token,
    }))
}

// ---- rework and the board -------------------------------------------------------------------

/// `GET /v1/rework-stats`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ReworkQuery {
    /// Head office: one branch (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// Jobs completed at or after (RFC 3339).
    #[param(format = DateTime, example = "2026-11-01T00:00:00+08:00")]
    pub completed_from: Option<String>,
    /// Jobs completed before (RFC 3339).
    #[param(format = DateTime, example = "2026-12-01T00:00:00+08:00")]
    pub completed_to: Option<String>,
}

/// Repeat repairs of one product model or one technician.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReworkStat {
    /// The model, or the technician's id.
    pub key: String,
    pub completed: u32,
    pub external_rework: u32,
    pub internal_rework: u32,
    /// (external + internal) / completed, 0..=1.
    pub rework_rate: f64,
}

/// Rework per model and per technician.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReworkStats {
    /// The policy's rework window.
    pub window_days: u32,
    /// Highest rework first.
    pub by_model: Vec<ReworkStat>,
    pub by_technician: Vec<ReworkStat>,
}

/// Repeat repairs per model and per technician
#[utoipa::path(
    get,
    path = "/v1/rework-stats",
    tag = "field-service",
    params(ReworkQuery),
    responses((status = 200, description = "The rework figures", body = ReworkStats)),
    security(("bearer" = ["dispatcher", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn rework_stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<ReworkQuery>, QueryRejection>,
) -> Result<Json<ReworkStats>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let from = instant(q.completed_from.as_deref(), "completed_from", &mut bad);
    let to = instant(q.completed_to.as_deref(), "completed_to", &mut bad);
    bad.finish()?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetReworkStatistics"),
        client.get_rework_statistics(pb::GetReworkStatisticsRequest {
            branch: q.branch.unwrap_or_default(),
            completed: (from.is_some() || to.is_some()).then_some(common::TimeRange { from, to }),
        }),
    )
    .await?;
    let stat = |s: pb::ReworkStat| ReworkStat {
        key: s.key,
        completed: s.completed,
        external_rework: s.external_rework,
        internal_rework: s.internal_rework,
        rework_rate: if s.rework_rate.is_finite() {
            s.rework_rate
        } else {
            0.0
        },
    };
    Ok(Json(ReworkStats {
        window_days: res.window_days,
        by_model: res.by_model.into_iter().map(stat).collect(),
        by_technician: res.by_technician.into_iter().map(stat).collect(),
    }))
}

/// `GET /v1/board`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// Head office: one branch (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    #[param(value_type = Option<Code>)]
    pub technician_id: Option<String>,
    /// Only these columns, comma-separated; default every open status and `done`.
    #[param(value_type = Option<Vec<WorkOrderStatus>>, style = Form, explode = false)]
    pub status: Option<String>,
}

/// A card on the board: enough to draw it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardCard {
    #[schema(value_type = WorkOrderNo)]
    pub work_order_no: String,
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    pub technician_id: String,
    pub technician_name: String,
    #[schema(value_type = Option<Urgency>)]
    pub urgency: Option<String>,
    pub customer_name: String,
    #[schema(value_type = Option<Region>)]
    pub region: Option<String>,
    pub site_address: String,
    pub product_model: String,
    #[schema(value_type = Option<ServiceCategory>)]
    pub service_category: Option<String>,
    #[schema(value_type = Option<WorkOrderStatus>)]
    pub status: Option<String>,
    pub appointment: Option<TimeRange>,
    #[schema(format = DateTime)]
    pub arrival_due_at: Option<String>,
    pub arrival_seconds_left: i64,
    pub sla_breached: bool,
    #[schema(format = DateTime)]
    pub status_since: Option<String>,
    pub status_note: String,
    pub version: u64,
}

/// One column of the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardColumn {
    #[schema(value_type = Option<WorkOrderStatus>)]
    pub status: Option<String>,
    pub count: u32,
    /// Oldest in its status first.
    pub cards: Vec<BoardCard>,
}

/// The dispatch board's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct Board {
    /// When the times left were computed.
    #[schema(format = DateTime)]
    pub as_of: Option<String>,
    pub columns: Vec<BoardColumn>,
}

/// The dispatch board
///
/// Open work orders by status (`done`: the last 24 hours), one column per status.
#[utoipa::path(
    get,
    path = "/v1/board",
    tag = "field-service",
    params(BoardQuery),
    responses((status = 200, description = "The board", body = Board)),
    security(("bearer" = ["dispatcher", "technician", "branch_agent", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn board(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<BoardQuery>, QueryRejection>,
) -> Result<Json<Board>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let statuses = crate::api::wire::enum_list(
        q.status.as_deref(),
        "status",
        |s| WorkOrderStatus::parse(s).map(WorkOrderStatus::to_proto),
        &mut bad,
    );
    bad.finish()?;
    let mut client = state.peers.field_service(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetBoard"),
        client.get_board(pb::GetBoardRequest {
            branch: q.branch.unwrap_or_default(),
            technician_id: q.technician_id.unwrap_or_default(),
            statuses,
        }),
    )
    .await?;
    Ok(Json(Board {
        as_of: instant_out(&res.as_of),
        columns: res
            .columns
            .into_iter()
            .map(|c| BoardColumn {
                status: text(WorkOrderStatus::text_of(c.status)),
                count: c.count,
                cards: c
                    .cards
                    .into_iter()
                    .map(|b| BoardCard {
                        urgency: text(Urgency::text_of(b.urgency)),
                        region: text(Region::text_of(b.region)),
                        service_category: text(ServiceCategory::text_of(b.service_category)),
                        status: text(WorkOrderStatus::text_of(b.status)),
                        appointment: TimeRange::from_proto(&b.appointment),
                        arrival_due_at: instant_out(&b.arrival_due_at),
                        status_since: instant_out(&b.status_since),
                        work_order_no: b.work_order_no,
                        request_no: b.request_no,
                        branch: b.branch,
                        technician_id: b.technician_id,
                        technician_name: b.technician_name,
                        customer_name: b.customer_name,
                        site_address: b.site_address,
                        product_model: b.product_model,
                        arrival_seconds_left: b.arrival_seconds_left,
                        sla_breached: b.sla_breached,
                        status_note: b.status_note,
                        version: b.version,
                    })
                    .collect(),
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_service_enumeration_value_has_its_wire_text() {
        for i in 1..20 {
            if pb::WorkOrderStatus::try_from(i).is_ok() {
                assert!(!WorkOrderStatus::text_of(i).is_empty(), "status {i}");
            }
            if pb::ServiceCategory::try_from(i).is_ok() {
                assert!(!ServiceCategory::text_of(i).is_empty(), "category {i}");
            }
            if pb::QuotationStatus::try_from(i).is_ok() {
                assert!(!QuotationStatus::text_of(i).is_empty(), "quotation {i}");
            }
            if pb::ChangeStatus::try_from(i).is_ok() {
                assert!(!ChangeStatus::text_of(i).is_empty(), "change {i}");
            }
            if pb::ToolLoanStatus::try_from(i).is_ok() {
                assert!(!ToolLoanStatus::text_of(i).is_empty(), "loan {i}");
            }
        }
    }

    #[test]
    fn a_paid_work_step_takes_if_match_or_the_body_or_neither() {
        let mut h = HeaderMap::new();
        assert_eq!(optional_version(&h, None).unwrap(), None);
        assert_eq!(
            optional_version(&h, Some(3)).unwrap(),
            Some(Precondition::Body(3))
        );
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"4\""));
        assert_eq!(
            optional_version(&h, None).unwrap(),
            Some(Precondition::IfMatch(4))
        );
        assert_eq!(optional_version(&h, Some(3)).unwrap_err().status, 422);
    }
}
