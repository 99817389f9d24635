//! Suppliers, quotes, purchase orders and the cost report — REST over procurement's gRPC.
//! The supplier register, quotes, scorecards and costs are head office's (`head_office`: a
//! branch token gets 403 before procurement is asked); purchase orders are read by branches too,
//! each seeing only the orders that serve its own requests (another's answers 404). Writing is
//! the `procurement` role's (and `admin`'s), at head office. Ratios and scores are basis points
//! (`9250` = 92.50 %).

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::procurement::v1 as pb;
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
    Date, Id, IdempotencyKey, Month, OptionalLine, PartNo, Phone, PoNumber, RequestNo, SupplierId,
};
use crate::api::wire::{
    MoneyIn, TimeRange, Violations, date_range, instant_out, money_out, month_range, page_size,
    text, this_month, wire_enum,
};
use crate::app::AppState;
use crate::extract::JsonBody;
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::Problem;

const PEER: &str = "procurement";
const SERVICE: &str = "aftersales.procurement.v1.ProcurementService";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_suppliers, register_supplier))
        .routes(routes!(get_supplier))
        .routes(routes!(set_supplier_status))
        .routes(routes!(scorecard))
        .routes(routes!(compare_quotes, submit_quote))
        .routes(routes!(list_purchase_orders, create_purchase_order))
        .routes(routes!(get_purchase_order))
        .routes(routes!(cancel_purchase_order))
        .routes(routes!(revise_promised_date))
        .routes(routes!(cost_report))
}

wire_enum!(SupplierStatus, pb::SupplierStatus, {
    Active = "active" => Active, Warned = "warned" => Warned,
    Suspended = "suspended" => Suspended, Terminated = "terminated" => Terminated,
});
wire_enum!(PoStatus, pb::PurchaseOrderStatus, {
    Issued = "issued" => Issued, PartiallyReceived = "partially_received" => PartiallyReceived,
    Received = "received" => Received, Cancelled = "cancelled" => Cancelled,
});
wire_enum!(PurchaseReason, pb::PurchaseReason, {
    Shortage = "shortage" => Shortage, Replenishment = "replenishment" => Replenishment,
    Manual = "manual" => Manual,
});
wire_enum!(CostGrouping, pb::CostGrouping, {
    Part = "part" => Part, Supplier = "supplier" => Supplier, Month = "month" => Month,
});

// ---- suppliers ------------------------------------------------------------------------------

/// The framework contract with a supplier.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SupplierContract {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "FC-2026-017"
    )]
    pub contract_no: String,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "TV power boards, 55 inch"
    )]
    pub specification: String,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "GB/T 2828.1 AQL 0.65"
    )]
    pub quality_standard: String,
    /// Working days.
    #[serde(default)]
    #[schema(maximum = 365, example = 5)]
    pub delivery_period_days: u32,
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub price_terms: String,
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub payment_terms: String,
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub after_sales_terms: String,
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub valid_from_date: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub valid_until_date: Option<String>,
}

impl SupplierContract {
    fn to_proto(&self) -> pb::SupplierContract {
        pb::SupplierContract {
            contract_no: self.contract_no.clone(),
            specification: self.specification.clone(),
            quality_standard: self.quality_standard.clone(),
            delivery_period_days: self.delivery_period_days,
            price_terms: self.price_terms.clone(),
            payment_terms: self.payment_terms.clone(),
            after_sales_terms: self.after_sales_terms.clone(),
            valid_from_date: self.valid_from_date.clone().unwrap_or_default(),
            valid_until_date: self.valid_until_date.clone().unwrap_or_default(),
        }
    }

    fn from_proto(c: &pb::SupplierContract) -> Self {
        let date = |d: &str| (!d.is_empty()).then(|| d.to_owned());
        SupplierContract {
            contract_no: c.contract_no.clone(),
            specification: c.specification.clone(),
            quality_standard: c.quality_standard.clone(),
            delivery_period_days: c.delivery_period_days,
            price_terms: c.price_terms.clone(),
            payment_terms: c.payment_terms.clone(),
            after_sales_terms: c.after_sales_terms.clone(),
            valid_from_date: date(&c.valid_from_date),
            valid_until_date: date(&c.valid_until_date),
        }
    }
}

/// The admission evaluation (basis points, each 0..=10000); the policy's minimums decide.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SupplierQualification {
    #[schema(maximum = 10000, example = 8500)]
    pub reputation_bp: u32,
    #[schema(maximum = 10000, example = 9000)]
    pub quality_bp: u32,
    #[schema(maximum = 10000, example = 8000)]
    pub capacity_bp: u32,
    #[schema(maximum = 10000, example = 7500)]
    pub price_bp: u32,
    /// Default: the day it is registered.
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub evaluated_on: Option<String>,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "site audit passed"
    )]
    pub note: String,
}

impl SupplierQualification {
    fn to_proto(&self) -> pb::SupplierQualification {
        pb::SupplierQualification {
            reputation_bp: self.reputation_bp,
            quality_bp: self.quality_bp,
            capacity_bp: self.capacity_bp,
            price_bp: self.price_bp,
            evaluated_on: self.evaluated_on.clone().unwrap_or_default(),
            note: self.note.clone(),
        }
    }

    fn from_proto(q: &pb::SupplierQualification) -> Self {
        SupplierQualification {
            reputation_bp: q.reputation_bp,
            quality_bp: q.quality_bp,
            capacity_bp: q.capacity_bp,
            price_bp: q.price_bp,
            evaluated_on: (!q.evaluated_on.is_empty()).then(|| q.evaluated_on.clone()),
            note: q.note.clone(),
        }
    }
}

/// `POST /v1/suppliers`: a qualified supplier enters the register (ACTIVE, neutral score).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterSupplierBody {
    /// Default: one is issued (`SUP-000042`).
    #[serde(default)]
    #[schema(value_type = Option<SupplierId>)]
    pub supplier_id: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Shenzhen Huaxin Electronics"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Chen Jie"
    )]
    pub contact_name: String,
    #[serde(default)]
    #[schema(value_type = Option<Phone>)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^([^@\s\x00-\x1F\x7F]+@[^@\s\x00-\x1F\x7F]+)?$",
        example = "sales@huaxin.example"
    )]
    pub email: String,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "12 Keji Road, Nanshan, Shenzhen"
    )]
    pub address: String,
    #[serde(default)]
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "91440300MA5F0XXXX"
    )]
    pub tax_id: String,
    /// The parts it is qualified to supply.
    #[schema(min_items = 1, max_items = 1000, value_type = Vec<PartNo>)]
    pub part_nos: Vec<String>,
    /// Default lead time when a quote gives none (working days).
    #[serde(default)]
    #[schema(maximum = 365, example = 5)]
    pub lead_time_days: u32,
    #[serde(default)]
    #[schema(max_items = 50, value_type = Vec<OptionalLine>)]
    pub certifications: Vec<String>,
    #[serde(default)]
    pub contract: Option<SupplierContract>,
    pub qualification: SupplierQualification,
}

/// A supplier in the register.
#[derive(Debug, Serialize, ToSchema)]
pub struct Supplier {
    #[schema(value_type = SupplierId)]
    pub supplier_id: String,
    pub name: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub tax_id: String,
    pub part_nos: Vec<String>,
    #[schema(value_type = Option<SupplierStatus>)]
    pub status: Option<String>,
    pub status_reason: String,
    /// While warned: the date to be back above the warning threshold; null otherwise.
    #[schema(format = Date)]
    pub fix_by_date: Option<String>,
    /// The current score from the scorecard (basis points).
    pub score_bp: u32,
    pub lead_time_days: u32,
    pub certifications: Vec<String>,
    pub contract: Option<SupplierContract>,
    pub qualification: Option<SupplierQualification>,
    #[schema(format = DateTime)]
    pub registered_at: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

impl From<pb::Supplier> for Supplier {
    fn from(s: pb::Supplier) -> Self {
        Supplier {
            status: text(SupplierStatus::text_of(s.status)),
            fix_by_date: (!s.fix_by_date.is_empty()).then_some(s.fix_by_date),
            contract: s.contract.as_ref().map(SupplierContract::from_proto),
            qualification: s
                .qualification
                .as_ref()
                .map(SupplierQualification::from_proto),
            registered_at: instant_out(&s.registered_at),
            updated_at: instant_out(&s.updated_at),
            supplier_id: s.supplier_id,
            name: s.name,
            contact_name: s.contact_name,
            phone: s.phone,
            email: s.email,
            address: s.address,
            tax_id: s.tax_id,
            part_nos: s.part_nos,
            status_reason: s.status_reason,
            score_bp: s.score_bp,
            lead_time_days: s.lead_time_days,
            certifications: s.certifications,
        }
    }
}

/// A page of suppliers, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupplierList {
    pub items: Vec<Supplier>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// `GET /v1/suppliers`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct SupplierQuery {
    /// Only these statuses, comma-separated (`active,warned`).
    #[param(value_type = Option<Vec<SupplierStatus>>, style = Form, explode = false)]
    pub status: Option<String>,
    /// Only suppliers qualified for this part.
    #[param(value_type = Option<PartNo>)]
    pub part_no: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(q)| q)
        .map_err(|e| Problem::field("query", e.body_text()))
}

/// The supplier register
///
/// Head office's: every reader at head office; by name.
#[utoipa::path(
    get,
    path = "/v1/suppliers",
    tag = "procurement",
    params(SupplierQuery),
    responses((status = 200, description = "A page of suppliers", body = SupplierList)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 422]))),
)]
pub async fn list_suppliers(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<SupplierQuery>, QueryRejection>,
) -> Result<Json<SupplierList>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let statuses = crate::api::wire::enum_list(
        q.status.as_deref(),
        "status",
        |s| SupplierStatus::parse(s).map(SupplierStatus::to_proto),
        &mut bad,
    );
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListSuppliers"),
        client.list_suppliers(pb::ListSuppliersRequest {
            statuses,
            part_no: q.part_no.unwrap_or_default(),
            page_size,
            page_token: q.page_token.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(SupplierList {
        items: res.suppliers.into_iter().map(Supplier::from).collect(),
        next_page_token: res.next_page_token,
    }))
}

/// Register a qualified supplier
///
/// Its admission evaluation is required; below the policy's minimums it is refused (422).
#[utoipa::path(
    post,
    path = "/v1/suppliers",
    tag = "procurement",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = RegisterSupplierBody, example = json!({
        "supplier_id": "SUP-KANGDA", "name": "Ningbo Kangda Electronics", "contact_name": "Liu Yang",
        "phone": "+86 574 8765 4321", "email": "sales@kangda.example",
        "address": "8 Binhai Road, Ningbo", "tax_id": "91330200MA2XXXXXX",
        "part_nos": ["PWR-55-01", "RMT-01"], "lead_time_days": 6,
        "certifications": ["ISO 9001:2015"],
        "contract": { "contract_no": "FC-2026-031", "specification": "TV power boards and remotes",
                      "quality_standard": "AQL 0.65", "delivery_period_days": 6,
                      "payment_terms": "30 days net", "valid_from_date": "2026-11-01",
                      "valid_until_date": "2027-10-31" },
        "qualification": { "reputation_bp": 8500, "quality_bp": 9000, "capacity_bp": 8000,
                           "price_bp": 7500, "note": "site audit passed" }
    })),
    responses((status = 201, description = "Registered", body = Supplier)),
    security(("bearer" = ["procurement", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 409, 413, 415, 422]))),
)]
pub async fn register_supplier(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RegisterSupplierBody>,
) -> Result<Response, Problem> {
    let req = pb::RegisterSupplierRequest {
        idempotency_key: upstream_key(&caller, &headers),
        supplier: Some(pb::Supplier {
            supplier_id: body.supplier_id.unwrap_or_default(),
            name: body.name,
            contact_name: body.contact_name,
            phone: body.phone.unwrap_or_default(),
            email: body.email,
            address: body.address,
            tax_id: body.tax_id,
            part_nos: body.part_nos,
            lead_time_days: body.lead_time_days,
            certifications: body.certifications,
            contract: body.contract.as_ref().map(SupplierContract::to_proto),
            qualification: Some(body.qualification.to_proto()),
            ..Default::default()
        }),
    };
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RegisterSupplier"),
        client.register_supplier(req),
    )
    .await?;
    let supplier = Supplier::from(res.supplier.unwrap_or_default());
    Ok((StatusCode::CREATED, Json(supplier)).into_response())
}

/// One supplier
#[utoipa::path(
    get,
    path = "/v1/suppliers/{supplier_id}",
    tag = "procurement",
    params(("supplier_id" = SupplierId, Path)),
    responses((status = 200, description = "The supplier", body = Supplier)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_supplier(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(supplier_id): Path<String>,
) -> Result<Json<Supplier>, Problem> {
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetSupplier"),
        client.get_supplier(pb::GetSupplierRequest { supplier_id }),
    )
    .await?;
    Ok(Json(Supplier::from(res.supplier.unwrap_or_default())))
}

/// `POST /v1/suppliers/{supplier_id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SupplierStatusBody {
    pub status: SupplierStatus,
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "two late deliveries in November"
    )]
    pub reason: String,
    /// For `warned`: the deadline to correct (not in the past); default: the policy's period.
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub fix_by_date: Option<String>,
}

/// Change a supplier's status by hand
///
/// Warn, suspend, reinstate or end the relationship (`terminated` is final: 409 after it).
/// Setting the status it has changes nothing.
#[utoipa::path(
    post,
    path = "/v1/suppliers/{supplier_id}/status",
    tag = "procurement",
    params(
        ("supplier_id" = SupplierId, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = SupplierStatusBody, example = json!({
        "status": "warned", "reason": "two late deliveries in November"
    })),
    responses((status = 200, description = "The supplier", body = Supplier)),
    security(("bearer" = ["procurement", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn set_supplier_status(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(supplier_id): Path<String>,
    JsonBody(body): JsonBody<SupplierStatusBody>,
) -> Result<Json<Supplier>, Problem> {
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/SetSupplierStatus"),
        client.set_supplier_status(pb::SetSupplierStatusRequest {
            supplier_id,
            status: body.status.to_proto(),
            reason: body.reason,
            fix_by_date: body.fix_by_date.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(Supplier::from(res.supplier.unwrap_or_default())))
}

/// `GET /v1/suppliers/{supplier_id}/scorecard`: both dates or neither (the policy's window).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ScorecardQuery {
    /// First day (local), inclusive.
    #[param(value_type = Option<Date>)]
    pub from: Option<String>,
    /// Last day (local), inclusive.
    #[param(value_type = Option<Date>)]
    pub to: Option<String>,
}

/// A supplier's performance over a period; the score and the status follow from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Scorecard {
    #[schema(value_type = SupplierId)]
    pub supplier_id: String,
    pub period: Option<TimeRange>,
    pub deliveries: u32,
    pub on_time_deliveries: u32,
    pub on_time_rate_bp: u32,
    pub units_inspected: u32,
    pub units_passed: u32,
    pub pass_rate_bp: u32,
    /// Against the cheapest current quote: 10000 = the cheapest; lower is dearer.
    pub price_index_bp: u32,
    pub field_failures: u32,
    pub field_failure_rate_bp: u32,
    pub field_failures_counted: bool,
    pub score_bp: u32,
    pub warn_below_bp: u32,
    pub suspend_below_bp: u32,
    #[schema(value_type = Option<SupplierStatus>)]
    pub status: Option<String>,
    /// The weights, in words.
    pub formula: String,
}

/// A supplier's scorecard
///
/// On-time delivery, inspection pass rate, price (and field failures where the policy counts
/// them) over the period; default: the policy's rolling window.
#[utoipa::path(
    get,
    path = "/v1/suppliers/{supplier_id}/scorecard",
    tag = "procurement",
    params(("supplier_id" = SupplierId, Path), ScorecardQuery),
    responses((status = 200, description = "The scorecard", body = Scorecard)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn scorecard(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(supplier_id): Path<String>,
    q: Result<Query<ScorecardQuery>, QueryRejection>,
) -> Result<Json<Scorecard>, Problem> {
    let q = query(q)?;
    let offset = state.settings.utc_offset_minutes;
    let period = match (q.from.as_deref(), q.to.as_deref()) {
        (None, None) => None,
        (Some(f), Some(t)) => Some(date_range(f, t, offset).ok_or_else(|| {
            Problem::unprocessable(
                vec![crate::problem::FieldViolation {
                    field: "to".into(),
                    description: "is not a day the calendar has".into(),
                }],
                String::new(),
            )
        })?),
        (Some(_), None) => return Err(missing_pair("to", "from")),
        (None, Some(_)) => return Err(missing_pair("from", "to")),
    };
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetScorecard"),
        client.get_scorecard(pb::GetScorecardRequest {
            supplier_id,
            period,
        }),
    )
    .await?;
    let s = res.scorecard.unwrap_or_default();
    Ok(Json(Scorecard {
        status: text(SupplierStatus::text_of(s.status)),
        period: TimeRange::from_proto(&s.period),
        supplier_id: s.supplier_id,
        deliveries: s.deliveries,
        on_time_deliveries: s.on_time_deliveries,
        on_time_rate_bp: s.on_time_rate_bp,
        units_inspected: s.units_inspected,
        units_passed: s.units_passed,
        pass_rate_bp: s.pass_rate_bp,
        price_index_bp: s.price_index_bp,
        field_failures: s.field_failures,
        field_failure_rate_bp: s.field_failure_rate_bp,
        field_failures_counted: s.field_failures_counted,
        score_bp: s.score_bp,
        warn_below_bp: s.warn_below_bp,
        suspend_below_bp: s.suspend_below_bp,
        formula: s.formula,
    }))
}

/// One end of a range without the other: a rule the document cannot state (422).
fn missing_pair(missing: &str, given: &str) -> Problem {
    Problem::unprocessable(
        vec![crate::problem::FieldViolation {
            field: missing.into(),
            description: format!("is required with {given}"),
        }],
        String::new(),
    )
}

// ---- quotes ---------------------------------------------------------------------------------

/// `POST /v1/quotes`: a supplier's quote for a part; a newer one of the same supplier for the same
/// part supersedes the older from its `valid_from_date`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct QuoteBody {
    #[schema(value_type = SupplierId)]
    pub supplier_id: String,
    #[schema(value_type = PartNo)]
    pub part_no: String,
    /// Greater than zero, in the deployment's currency.
    pub unit_price: MoneyIn,
    /// The smallest quantity the price holds for; default 1.
    #[serde(default)]
    #[schema(maximum = 1000000, example = 1)]
    pub min_quantity: u32,
    /// Default: the supplier's lead time.
    #[serde(default)]
    #[schema(maximum = 365, example = 5)]
    pub lead_time_days: u32,
    /// Default: today.
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub valid_from_date: Option<String>,
    /// Inclusive.
    #[schema(value_type = Date)]
    pub valid_until_date: String,
    #[serde(default)]
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "HX-Q-2611-07"
    )]
    pub supplier_ref: String,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "55 inch power board, rev. C"
    )]
    pub specification: String,
    /// Per delivery; default none.
    #[serde(default)]
    pub freight: Option<MoneyIn>,
}

/// A supplier's quote.
#[derive(Debug, Serialize, ToSchema)]
pub struct Quote {
    pub quote_id: String,
    #[schema(value_type = SupplierId)]
    pub supplier_id: String,
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub unit_price: Option<Money>,
    pub min_quantity: u32,
    pub lead_time_days: u32,
    #[schema(format = Date)]
    pub valid_from_date: Option<String>,
    #[schema(format = Date)]
    pub valid_until_date: Option<String>,
    #[schema(format = DateTime)]
    pub submitted_at: Option<String>,
    pub supplier_ref: String,
    pub specification: String,
    pub freight: Option<Money>,
}

impl From<pb::Quote> for Quote {
    fn from(q: pb::Quote) -> Self {
        let date = |d: String| (!d.is_empty()).then_some(d);
        Quote {
            unit_price: money_out(&q.unit_price),
            freight: money_out(&q.freight),
            submitted_at: instant_out(&q.submitted_at),
            quote_id: q.quote_id,
            supplier_id: q.supplier_id,
            part_no: q.part_no,
            min_quantity: q.min_quantity,
            lead_time_days: q.lead_time_days,
            valid_from_date: date(q.valid_from_date),
            valid_until_date: date(q.valid_until_date),
            supplier_ref: q.supplier_ref,
            specification: q.specification,
        }
    }
}

/// Submit a supplier's quote
#[utoipa::path(
    post,
    path = "/v1/quotes",
    tag = "procurement",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = QuoteBody, example = json!({
        "supplier_id": "SUP-HUAXIN", "part_no": "PWR-55-01",
        "unit_price": { "currency": "CNY", "amount_minor": 17200 }, "min_quantity": 1,
        "lead_time_days": 5, "valid_until_date": "2027-10-31", "supplier_ref": "HX-Q-2611-07",
        "specification": "55 inch power board, rev. C"
    })),
    responses((status = 201, description = "Submitted", body = Quote)),
    security(("bearer" = ["procurement", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn submit_quote(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<QuoteBody>,
) -> Result<Response, Problem> {
    let req = pb::SubmitQuoteRequest {
        idempotency_key: upstream_key(&caller, &headers),
        quote: Some(pb::Quote {
            supplier_id: body.supplier_id,
            part_no: body.part_no,
            unit_price: Some(body.unit_price.to_proto()),
            min_quantity: body.min_quantity,
            lead_time_days: body.lead_time_days,
            valid_from_date: body.valid_from_date.unwrap_or_default(),
            valid_until_date: body.valid_until_date,
            supplier_ref: body.supplier_ref,
            specification: body.specification,
            freight: body.freight.as_ref().map(MoneyIn::to_proto),
            ..Default::default()
        }),
    };
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/SubmitQuote"),
        client.submit_quote(req),
    )
    .await?;
    let quote = Quote::from(res.quote.unwrap_or_default());
    Ok((StatusCode::CREATED, Json(quote)).into_response())
}

/// `GET /v1/quotes`: the current quotes of a part, ranked.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    #[param(required = true, value_type = PartNo)]
    pub part_no: Option<String>,
    /// Default 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub quantity: Option<u32>,
    /// A quote whose lead time misses it ranks below those that meet it.
    #[param(value_type = Option<Date>)]
    pub need_by_date: Option<String>,
    /// Default: today.
    #[param(value_type = Option<Date>)]
    pub as_of_date: Option<String>,
}

/// A quote as the rule ranks it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankedQuote {
    pub quote: Option<Quote>,
    pub supplier_name: String,
    #[schema(value_type = Option<SupplierStatus>)]
    pub supplier_status: Option<String>,
    pub supplier_score_bp: u32,
    /// unit price × quantity.
    pub total: Option<Money>,
    /// When the goods would arrive if ordered today.
    #[schema(format = Date)]
    pub expected_date: Option<String>,
    pub eligible: bool,
    pub ineligible_reason: String,
    pub rank_value_bp: u32,
    /// 1 = best; 0 when not eligible.
    pub rank: u32,
    pub meets_need_by: bool,
}

/// The comparison and the rule's choice.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteComparison {
    /// Empty when no quote is eligible.
    pub chosen_quote_id: String,
    /// The rule in words with its weights and policy version, and why the choice won.
    pub rule: String,
    /// Best first, ineligible ones last.
    pub quotes: Vec<RankedQuote>,
}

/// Compare the current quotes of a part
///
/// Ranked by the documented rule (price, lead time, supplier score); says which it picks and why.
#[utoipa::path(
    get,
    path = "/v1/quotes",
    tag = "procurement",
    params(CompareQuery),
    responses((status = 200, description = "The ranked quotes", body = QuoteComparison)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn compare_quotes(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<CompareQuery>, QueryRejection>,
) -> Result<Json<QuoteComparison>, Problem> {
    let q = query(q)?;
    let part_no = q
        .part_no
        .ok_or_else(|| Problem::field("part_no", "is required"))?;
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/CompareQuotes"),
        client.compare_quotes(pb::CompareQuotesRequest {
            part_no,
            quantity: q.quantity.unwrap_or(1),
            need_by_date: q.need_by_date.unwrap_or_default(),
            as_of_date: q.as_of_date.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(QuoteComparison {
        chosen_quote_id: res.chosen_quote_id,
        rule: res.rule,
        quotes: res
            .quotes
            .into_iter()
            .map(|r| RankedQuote {
                supplier_status: text(SupplierStatus::text_of(r.supplier_status)),
                total: money_out(&r.total),
                quote: r.quote.map(Quote::from),
                supplier_name: r.supplier_name,
                supplier_score_bp: r.supplier_score_bp,
                expected_date: (!r.expected_date.is_empty()).then_some(r.expected_date),
                eligible: r.eligible,
                ineligible_reason: r.ineligible_reason,
                rank_value_bp: r.rank_value_bp,
                rank: r.rank,
                meets_need_by: r.meets_need_by,
            })
            .collect(),
    }))
}

// ---- purchase orders ------------------------------------------------------------------------

/// A line of a purchase order and what was received against it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseOrderLine {
    pub line_no: u32,
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub specification: String,
    pub quantity: u32,
    pub unit_price: Option<Money>,
    /// The quote the price came from; empty for a negotiated price.
    pub quote_id: String,
    pub quoted_unit_price: Option<Money>,
    pub best_quoted_unit_price: Option<Money>,
    /// The requests this line serves (shortages).
    pub request_nos: Vec<String>,
    pub received: u32,
    pub passed: u32,
    pub failed: u32,
    /// quantity − passed.
    pub outstanding: u32,
}

/// How the supplier of the order was chosen.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupplierChoice {
    pub rule: String,
    pub chosen_quote_id: String,
    pub chosen_value_bp: u32,
    pub runner_up_supplier_id: String,
    pub runner_up_quote_id: String,
    pub runner_up_value_bp: u32,
    pub explanation: String,
}

/// A purchase order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseOrder {
    #[schema(value_type = PoNumber)]
    pub po_number: String,
    #[schema(value_type = SupplierId)]
    pub supplier_id: String,
    pub supplier_name: String,
    #[schema(value_type = Option<PoStatus>)]
    pub status: Option<String>,
    #[schema(value_type = Option<PurchaseReason>)]
    pub reason: Option<String>,
    pub lines: Vec<PurchaseOrderLine>,
    pub total: Option<Money>,
    pub freight: Option<Money>,
    /// The date the supplier promised delivery by.
    #[schema(format = Date)]
    pub promised_date: Option<String>,
    /// Past its promised date with something outstanding.
    pub overdue: bool,
    /// Absent for a PO to a supplier given by hand.
    pub choice: Option<SupplierChoice>,
    /// 1 when issued; +1 with every change of its lines.
    pub revision: u32,
    /// Every request it serves, over all lines.
    pub request_nos: Vec<String>,
    pub backorder_ids: Vec<String>,
    pub delivery_place: String,
    pub note: String,
    #[schema(format = DateTime)]
    pub issued_at: Option<String>,
    pub issued_by: String,
    #[schema(format = DateTime)]
    pub received_at: Option<String>,
    pub cancel_reason: String,
    #[schema(format = DateTime)]
    pub cancelled_at: Option<String>,
}

impl From<pb::PurchaseOrder> for PurchaseOrder {
    fn from(p: pb::PurchaseOrder) -> Self {
        PurchaseOrder {
            status: text(PoStatus::text_of(p.status)),
            reason: text(PurchaseReason::text_of(p.reason)),
            total: money_out(&p.total),
            freight: money_out(&p.freight),
            issued_at: instant_out(&p.issued_at),
            received_at: instant_out(&p.received_at),
            cancelled_at: instant_out(&p.cancelled_at),
            promised_date: (!p.promised_date.is_empty()).then_some(p.promised_date),
            choice: p.choice.map(|c| SupplierChoice {
                rule: c.rule,
                chosen_quote_id: c.chosen_quote_id,
                chosen_value_bp: c.chosen_value_bp,
                runner_up_supplier_id: c.runner_up_supplier_id,
                runner_up_quote_id: c.runner_up_quote_id,
                runner_up_value_bp: c.runner_up_value_bp,
                explanation: c.explanation,
            }),
            lines: p
                .lines
                .into_iter()
                .map(|l| PurchaseOrderLine {
                    unit_price: money_out(&l.unit_price),
                    quoted_unit_price: money_out(&l.quoted_unit_price),
                    best_quoted_unit_price: money_out(&l.best_quoted_unit_price),
                    line_no: l.line_no,
                    part_no: l.part_no,
                    specification: l.specification,
                    quantity: l.quantity,
                    quote_id: l.quote_id,
                    request_nos: l.request_nos,
                    received: l.received,
                    passed: l.passed,
                    failed: l.failed,
                    outstanding: l.outstanding,
                })
                .collect(),
            po_number: p.po_number,
            supplier_id: p.supplier_id,
            supplier_name: p.supplier_name,
            overdue: p.overdue,
            revision: p.revision,
            request_nos: p.request_nos,
            backorder_ids: p.backorder_ids,
            delivery_place: p.delivery_place,
            note: p.note,
            issued_by: p.issued_by,
            cancel_reason: p.cancel_reason,
        }
    }
}

/// A page of purchase orders, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseOrderList {
    pub items: Vec<PurchaseOrder>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// `GET /v1/purchase-orders`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct PoQuery {
    /// Only these statuses, comma-separated (`issued,partially_received`).
    #[param(value_type = Option<Vec<PoStatus>>, style = Form, explode = false)]
    pub status: Option<String>,
    #[param(value_type = Option<PartNo>)]
    pub part_no: Option<String>,
    #[param(value_type = Option<SupplierId>)]
    pub supplier_id: Option<String>,
    /// Orders serving this request.
    #[param(value_type = Option<RequestNo>)]
    pub request_no: Option<String>,
    /// Only open orders past their promised date.
    pub overdue_only: Option<bool>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// Purchase orders, newest first
///
/// A branch token sees only the orders serving its own requests.
#[utoipa::path(
    get,
    path = "/v1/purchase-orders",
    tag = "procurement",
    params(PoQuery),
    responses((status = 200, description = "A page of purchase orders", body = PurchaseOrderList)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 422]))),
)]
pub async fn list_purchase_orders(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<PoQuery>, QueryRejection>,
) -> Result<Json<PurchaseOrderList>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let statuses = crate::api::wire::enum_list(
        q.status.as_deref(),
        "status",
        |s| PoStatus::parse(s).map(PoStatus::to_proto),
        &mut bad,
    );
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListPurchaseOrders"),
        client.list_purchase_orders(pb::ListPurchaseOrdersRequest {
            statuses,
            supplier_id: q.supplier_id.unwrap_or_default(),
            part_no: q.part_no.unwrap_or_default(),
            request_no: q.request_no.unwrap_or_default(),
            overdue_only: q.overdue_only.unwrap_or(false),
            issued: None,
            page_size,
            page_token: q.page_token.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(PurchaseOrderList {
        items: res
            .purchase_orders
            .into_iter()
            .map(PurchaseOrder::from)
            .collect(),
        next_page_token: res.next_page_token,
    }))
}

/// One purchase order
///
/// With its lines, receipts against them, the supplier choice and whether it is overdue.
#[utoipa::path(
    get,
    path = "/v1/purchase-orders/{po_number}",
    tag = "procurement",
    params(("po_number" = PoNumber, Path)),
    responses((status = 200, description = "The purchase order", body = PurchaseOrder)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_purchase_order(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(po_number): Path<String>,
) -> Result<Json<PurchaseOrder>, Problem> {
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetPurchaseOrder"),
        client.get_purchase_order(pb::GetPurchaseOrderRequest { po_number }),
    )
    .await?;
    Ok(Json(PurchaseOrder::from(
        res.purchase_order.unwrap_or_default(),
    )))
}

/// A line to order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PoLineBody {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(minimum = 1, maximum = 1000000, example = 20)]
    pub quantity: u32,
    /// Default: the chosen quote's price (409 when the part has no current quote).
    #[serde(default)]
    pub unit_price: Option<MoneyIn>,
    #[serde(default)]
    #[schema(max_length = 64, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub quote_id: String,
    #[serde(default)]
    #[schema(max_items = 200, value_type = Vec<RequestNo>)]
    pub request_nos: Vec<String>,
    /// Default: the quote's.
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub specification: String,
}

/// `POST /v1/purchase-orders`: an order by hand (shortages and low stock are ordered by
/// procurement itself).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePoBody {
    /// Default: chosen from the current quotes by the rule (all lines must resolve to one).
    #[serde(default)]
    #[schema(value_type = Option<SupplierId>)]
    pub supplier_id: Option<String>,
    /// Default: `manual`.
    #[serde(default)]
    pub reason: Option<PurchaseReason>,
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Vec<PoLineBody>,
    /// Default: today + the quote's lead time.
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub promised_date: Option<String>,
    /// The back-orders it serves.
    #[serde(default)]
    #[schema(max_items = 200, value_type = Vec<Id>)]
    pub backorder_ids: Vec<String>,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "stock for the promotion"
    )]
    pub note: String,
    /// Default: the freight of the quote the first line came from.
    #[serde(default)]
    pub freight: Option<MoneyIn>,
}

/// Order from a supplier
///
/// Only to a supplier that may take orders (active; warned where the policy allows), else 409.
#[utoipa::path(
    post,
    path = "/v1/purchase-orders",
    tag = "procurement",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = CreatePoBody, example = json!({
        "supplier_id": "SUP-HUAXIN", "reason": "manual",
        "lines": [ { "part_no": "PWR-55-01", "quantity": 20 } ],
        "note": "stock for the promotion"
    })),
    responses((status = 201, description = "Issued", body = PurchaseOrder)),
    security(("bearer" = ["procurement", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn create_purchase_order(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreatePoBody>,
) -> Result<Response, Problem> {
    let req = pb::CreatePurchaseOrderRequest {
        idempotency_key: upstream_key(&caller, &headers),
        supplier_id: body.supplier_id.unwrap_or_default(),
        reason: body.reason.unwrap_or(PurchaseReason::Manual).to_proto(),
        lines: body
            .lines
            .into_iter()
            .map(|l| pb::PurchaseOrderLineInput {
                part_no: l.part_no,
                quantity: l.quantity,
                unit_price: l.unit_price.as_ref().map(MoneyIn::to_proto),
                quote_id: l.quote_id,
                request_nos: l.request_nos,
                specification: l.specification,
            })
            .collect(),
        promised_date: body.promised_date.unwrap_or_default(),
        backorder_ids: body.backorder_ids,
        note: body.note,
        freight: body.freight.as_ref().map(MoneyIn::to_proto),
    };
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/CreatePurchaseOrder"),
        client.create_purchase_order(req),
    )
    .await?;
    let po = PurchaseOrder::from(res.purchase_order.unwrap_or_default());
    Ok((StatusCode::CREATED, Json(po)).into_response())
}

/// `POST /v1/purchase-orders/{po_number}/cancel`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CancelPoBody {
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "supplier cannot deliver"
    )]
    pub reason: String,
}

/// Cancel a purchase order
///
/// Only while nothing is received (`issued`), else 409; cancelling a cancelled order returns it.
#[utoipa::path(
    post,
    path = "/v1/purchase-orders/{po_number}/cancel",
    tag = "procurement",
    params(
        ("po_number" = PoNumber, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = CancelPoBody, example = json!({ "reason": "supplier cannot deliver" })),
    responses((status = 200, description = "Cancelled", body = PurchaseOrder)),
    security(("bearer" = ["procurement", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn cancel_purchase_order(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(po_number): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CancelPoBody>,
) -> Result<Json<PurchaseOrder>, Problem> {
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/CancelPurchaseOrder"),
        client.cancel_purchase_order(pb::CancelPurchaseOrderRequest {
            idempotency_key: upstream_key(&caller, &headers),
            po_number,
            reason: body.reason,
        }),
    )
    .await?;
    Ok(Json(PurchaseOrder::from(
        res.purchase_order.unwrap_or_default(),
    )))
}

/// `POST /v1/purchase-orders/{po_number}/promised-date`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PromisedDateBody {
    /// Not before the order was issued.
    #[schema(value_type = Date)]
    pub promised_date: String,
    /// The supplier's word.
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "raw material late; supplier's letter of 2026-11-25"
    )]
    pub reason: String,
}

/// Record a new promised date
///
/// The same date changes nothing; an order past its new date is announced overdue again.
#[utoipa::path(
    post,
    path = "/v1/purchase-orders/{po_number}/promised-date",
    tag = "procurement",
    params(
        ("po_number" = PoNumber, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = PromisedDateBody, example = json!({
        "promised_date": "2026-12-15", "reason": "raw material late; supplier's letter of 2026-11-25"
    })),
    responses((status = 200, description = "Revised", body = PurchaseOrder)),
    security(("bearer" = ["procurement", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn revise_promised_date(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(po_number): Path<String>,
    JsonBody(body): JsonBody<PromisedDateBody>,
) -> Result<Json<PurchaseOrder>, Problem> {
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RevisePromisedDate"),
        client.revise_promised_date(pb::RevisePromisedDateRequest {
            po_number,
            promised_date: body.promised_date,
            reason: body.reason,
        }),
    )
    .await?;
    Ok(Json(PurchaseOrder::from(
        res.purchase_order.unwrap_or_default(),
    )))
}

// ---- the cost report ------------------------------------------------------------------------

/// `GET /v1/reports/procurement-cost`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct CostQuery {
    /// Orders issued in this local month; default: the current one.
    #[param(value_type = Option<Month>)]
    pub month: Option<String>,
    /// Default: `part`.
    #[param(value_type = Option<CostGrouping>)]
    pub group_by: Option<String>,
}

/// One group of the cost report.
#[derive(Debug, Serialize, ToSchema)]
pub struct CostRow {
    /// The supplier, part or month (`YYYY-MM`); empty on the total.
    pub key: String,
    pub orders: u32,
    pub quantity: u32,
    /// Ordered, at the orders' prices.
    pub spend: Option<Money>,
    /// The same quantities at the best current quote when ordered.
    pub quoted: Option<Money>,
    /// spend − quoted (positive: paid more than the best quote).
    pub variance: Option<Money>,
    pub freight: Option<Money>,
    /// The same quantities at the price of the quote each line came from.
    pub at_line_quotes: Option<Money>,
    /// spend + freight.
    pub total_cost: Option<Money>,
}

impl From<pb::CostReportRow> for CostRow {
    fn from(r: pb::CostReportRow) -> Self {
        CostRow {
            spend: money_out(&r.spend),
            quoted: money_out(&r.quoted),
            variance: money_out(&r.variance),
            freight: money_out(&r.freight),
            at_line_quotes: money_out(&r.at_line_quotes),
            total_cost: money_out(&r.total_cost),
            key: r.key,
            orders: r.orders,
            quantity: r.quantity,
        }
    }
}

/// Procurement cost against quotes, for a month.
#[derive(Debug, Serialize, ToSchema)]
pub struct CostReport {
    #[schema(value_type = Month)]
    pub month: String,
    #[schema(value_type = CostGrouping)]
    pub group_by: String,
    pub rows: Vec<CostRow>,
    pub total: Option<CostRow>,
}

/// Procurement cost against quotes
///
/// The month's orders (issued in `[first day 00:00, next month)` local time) by part, supplier
/// or month: spend, the best quotes, the variance, freight.
#[utoipa::path(
    get,
    path = "/v1/reports/procurement-cost",
    tag = "procurement",
    params(CostQuery),
    responses((status = 200, description = "The cost report", body = CostReport)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "logistics", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 422]))),
)]
pub async fn cost_report(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<CostQuery>, QueryRejection>,
) -> Result<Json<CostReport>, Problem> {
    let q = query(q)?;
    let offset = state.settings.utc_offset_minutes;
    let month = q
        .month
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| this_month(offset));
    let period =
        month_range(&month, offset).ok_or_else(|| Problem::field("month", "must be YYYY-MM"))?;
    let group_by = match q.group_by.as_deref().filter(|g| !g.is_empty()) {
        None => CostGrouping::Part,
        Some(g) => CostGrouping::parse(g).ok_or_else(|| {
            Problem::field(
                "group_by",
                format!("{g:?} is not one of {}", CostGrouping::choices()),
            )
        })?,
    };
    let mut client = state.peers.procurement(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetCostReport"),
        client.get_cost_report(pb::GetCostReportRequest {
            period: Some(period),
            group_by: group_by.to_proto(),
        }),
    )
    .await?;
    Ok(Json(CostReport {
        month,
        group_by: group_by.as_str().to_owned(),
        rows: res.rows.into_iter().map(CostRow::from).collect(),
        total: res.total.map(CostRow::from),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_procurement_enumeration_value_has_its_wire_text() {
        for i in 1..20 {
            if pb::SupplierStatus::try_from(i).is_ok() {
                assert!(
                    !SupplierStatus::text_of(i).is_empty(),
                    "supplier status {i}"
                );
            }
            if pb::PurchaseOrderStatus::try_from(i).is_ok() {
                assert!(!PoStatus::text_of(i).is_empty(), "po status {i}");
            }
            if pb::PurchaseReason::try_from(i).is_ok() {
                assert!(!PurchaseReason::text_of(i).is_empty(), "reason {i}");
            }
            if pb::CostGrouping::try_from(i).is_ok() {
                assert!(!CostGrouping::text_of(i).is_empty(), "grouping {i}");
            }
        }
    }

    #[test]
    fn a_month_is_its_local_first_day_to_the_next_months() {
        let r = month_range("2026-12", 480).unwrap();
        let from = chrono::DateTime::from_timestamp(r.from.unwrap().seconds, 0).unwrap();
        let to = chrono::DateTime::from_timestamp(r.to.unwrap().seconds, 0).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-12-31T16:00:00+00:00");
    }
}
