//! Return visits, surveys, complaints, KPIs and the reports, the quality archive and the
//! star-level self-assessment — REST over feedback's gRPC. Branch agents work the visits,
//! surveys and complaints of their branch (another branch's answer 404); analysts read the
//! figures of their branch scope (head office: every branch, or one with `branch=`) and enter
//! the assessment's scores; only admin rebuilds the read model. Ratios are basis points.

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::feedback::v1 as pb;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[allow(unused_imports)] // named by the schema attributes
use crate::api::schema::{
    BranchCode, Code, Date, Id, IdempotencyKey, Month, PartNo, PeriodName, Phone, RequestNo,
    Serial, WeekOrMonth,
};
use crate::api::wire::{
    Contact, Region, TimeRange, Violations, instant, instant_out, page_size, text, wire_enum,
};
use crate::app::AppState;
use crate::extract::JsonBody;
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::Problem;

const PEER: &str = "feedback";
const SERVICE: &str = "aftersales.feedback.v1.FeedbackService";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_visits))
        .routes(routes!(get_visit, record_visit))
        .routes(routes!(record_survey))
        .routes(routes!(list_complaints, open_complaint))
        .routes(routes!(get_complaint))
        .routes(routes!(escalate_complaint))
        .routes(routes!(resolve_complaint))
        .routes(routes!(kpis))
        .routes(routes!(top_returned_parts))
        .routes(routes!(fill_rate))
        .routes(routes!(technician_report))
        .routes(routes!(quality_archive))
        .routes(routes!(list_assessments, record_assessment))
        .routes(routes!(get_assessment))
        .routes(routes!(rebuild_read_model))
}

wire_enum!(VisitSource, pb::VisitSource, {
    WorkOrderCompleted = "work_order_completed" => WorkOrderCompleted,
    ShipmentDelivered = "shipment_delivered" => ShipmentDelivered,
    RefundAuthorized = "refund_authorized" => RefundAuthorized,
});
wire_enum!(VisitStatus, pb::VisitStatus, {
    Due = "due" => Due, Attempted = "attempted" => Attempted, Done = "done" => Done,
    ClosedUnreached = "closed_unreached" => ClosedUnreached, Cancelled = "cancelled" => Cancelled,
});
wire_enum!(VisitOutcome, pb::VisitOutcome, {
    Reached = "reached" => Reached, NoAnswer = "no_answer" => NoAnswer,
    WrongNumber = "wrong_number" => WrongNumber, Refused = "refused" => Refused,
    CallBack = "call_back" => CallBack,
});
wire_enum!(Rating, pb::Rating, {
    VerySatisfied = "very_satisfied" => VerySatisfied, Satisfied = "satisfied" => Satisfied,
    Dissatisfied = "dissatisfied" => Dissatisfied, VeryDissatisfied = "very_dissatisfied" => VeryDissatisfied,
});
wire_enum!(ComplaintCategory, pb::ComplaintCategory, {
    ProductQuality = "product_quality" => ProductQuality,
    PackagingTransportDamage = "packaging_transport_damage" => PackagingTransportDamage,
    StaffConduct = "staff_conduct" => StaffConduct, DealerConduct = "dealer_conduct" => DealerConduct,
    Other = "other" => Other,
});
wire_enum!(Department, pb::Department, {
    QualityRnd = "quality_rnd" => QualityRnd, WarehouseLogistics = "warehouse_logistics" => WarehouseLogistics,
    ServiceManagement = "service_management" => ServiceManagement,
    CustomerService = "customer_service" => CustomerService,
    ChannelManagement = "channel_management" => ChannelManagement,
});
wire_enum!(Severity, pb::Severity, {
    Minor = "minor" => Minor, Major = "major" => Major, Serious = "serious" => Serious,
});
wire_enum!(ComplaintStatus, pb::ComplaintStatus, {
    Open = "open" => Open, Escalated = "escalated" => Escalated, Resolved = "resolved" => Resolved,
});
wire_enum!(LifecycleClass, pb::LifecycleClass, {
    InProduction = "in_production" => InProduction, Discontinued = "discontinued" => Discontinued,
    DiscontinuedLong = "discontinued_long" => DiscontinuedLong, Unknown = "unknown" => Unknown,
});
wire_enum!(StarLevel, pb::StarLevel, {
    BelowStandard = "below_standard" => BelowStandard, MeetsStandard = "meets_standard" => MeetsStandard,
    ThreeStars = "three_stars" => ThreeStars, FourStars = "four_stars" => FourStars,
    FiveStars = "five_stars" => FiveStars,
});

/// Where a complaint came from (the demo policy's sources; `survey` is set by a survey).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintSource {
    Hotline,
    Web,
    Email,
    Letter,
    Visit,
    Regulator,
    Branch,
    Dealer,
    SocialMedia,
}

/// How the result was reported back to the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportedVia {
    Phone,
    Letter,
    Visit,
    Email,
    Sms,
}

/// The wire name of a unit enum variant (`social_media`).
fn name_of<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(q)| q)
        .map_err(|e| Problem::field("query", e.body_text()))
}

fn one<E: Copy>(
    text: Option<&str>,
    field: &str,
    parse: impl Fn(&str) -> Option<E>,
    bad: &mut Violations,
) -> Option<E> {
    let t = text.filter(|t| !t.is_empty())?;
    let v = parse(t);
    if v.is_none() {
        bad.add(field, format!("{t:?} is not one of the listed values"));
    }
    v
}

fn range(
    from: Option<prost_types::Timestamp>,
    to: Option<prost_types::Timestamp>,
) -> Option<common::TimeRange> {
    (from.is_some() || to.is_some()).then_some(common::TimeRange { from, to })
}

// ---- visits ---------------------------------------------------------------------------------

/// A return visit: a call or visit after service.
#[derive(Debug, Serialize, ToSchema)]
pub struct Visit {
    #[schema(value_type = Id)]
    pub visit_id: String,
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(value_type = Option<VisitSource>)]
    pub source: Option<String>,
    #[schema(value_type = Option<VisitStatus>)]
    pub status: Option<String>,
    /// N working days after completion, delivery or refund.
    #[schema(format = Date)]
    pub due_date: Option<String>,
    #[schema(format = DateTime)]
    pub due_at: Option<String>,
    /// Still open after `due_at`.
    pub overdue: bool,
    pub customer: Option<Contact>,
    pub work_order_no: String,
    pub shipment_no: String,
    pub refund_id: String,
    pub technician_id: String,
    pub product_model: String,
    pub serial: String,
    pub part_nos: Vec<String>,
    pub attempts: u32,
    #[schema(value_type = Option<VisitOutcome>)]
    pub last_outcome: Option<String>,
    #[schema(format = DateTime)]
    pub last_attempt_at: Option<String>,
    /// For `call_back`: when to call again.
    #[schema(format = DateTime)]
    pub call_back_at: Option<String>,
    #[schema(format = DateTime)]
    pub done_at: Option<String>,
    /// Set once the survey is recorded.
    pub survey_id: String,
    pub note: String,
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
}

impl From<pb::Visit> for Visit {
    fn from(v: pb::Visit) -> Self {
        Visit {
            source: text(VisitSource::text_of(v.source)),
            status: text(VisitStatus::text_of(v.status)),
            last_outcome: text(VisitOutcome::text_of(v.last_outcome)),
            due_date: (!v.due_date.is_empty()).then_some(v.due_date),
            due_at: instant_out(&v.due_at),
            customer: Contact::from_proto(&v.customer),
            last_attempt_at: instant_out(&v.last_attempt_at),
            call_back_at: instant_out(&v.call_back_at),
            done_at: instant_out(&v.done_at),
            created_at: instant_out(&v.created_at),
            visit_id: v.visit_id,
            request_no: v.request_no,
            branch: v.branch,
            overdue: v.overdue,
            work_order_no: v.work_order_no,
            shipment_no: v.shipment_no,
            refund_id: v.refund_id,
            technician_id: v.technician_id,
            product_model: v.product_model,
            serial: v.serial,
            part_nos: v.part_nos,
            attempts: v.attempts,
            survey_id: v.survey_id,
            note: v.note,
        }
    }
}

/// A page of visits, most overdue first.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitList {
    pub items: Vec<Visit>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// `GET /v1/visits`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct VisitQuery {
    /// Due on or before this day; default today (no limit with `request_no`).
    #[param(value_type = Option<Date>)]
    pub due_by_date: Option<String>,
    /// Default: the open ones (`due,attempted`).
    #[param(value_type = Option<Vec<VisitStatus>>, style = Form, explode = false)]
    pub status: Option<String>,
    /// Only the visits of this request.
    #[param(value_type = Option<RequestNo>)]
    pub request_no: Option<String>,
    /// Head office: one branch's visits (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// Return visits due
///
/// Soonest (most overdue) first. A branch token sees its branch's only.
#[utoipa::path(
    get,
    path = "/v1/visits",
    tag = "feedback",
    params(VisitQuery),
    responses((status = 200, description = "A page of visits", body = VisitList)),
    security(("bearer" = ["branch_agent", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn list_visits(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<VisitQuery>, QueryRejection>,
) -> Result<Json<VisitList>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let statuses = crate::api::wire::enum_list(
        q.status.as_deref(),
        "status",
        |s| VisitStatus::parse(s).map(VisitStatus::to_proto),
        &mut bad,
    );
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListDueVisits"),
        client.list_due_visits(pb::ListDueVisitsRequest {
            branch: q.branch.unwrap_or_default(),
            due_by_date: q.due_by_date.unwrap_or_default(),
            page_size,
            page_token: q.page_token.unwrap_or_default(),
            statuses,
            request_no: q.request_no.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(VisitList {
        items: res.visits.into_iter().map(Visit::from).collect(),
        next_page_token: res.next_page_token,
    }))
}

/// One return visit
#[utoipa::path(
    get,
    path = "/v1/visits/{visit_id}",
    tag = "feedback",
    params(("visit_id" = Id, Path)),
    responses((status = 200, description = "The visit", body = Visit)),
    security(("bearer" = ["branch_agent", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_visit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(visit_id): Path<String>,
) -> Result<Json<Visit>, Problem> {
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetVisit"),
        client.get_visit(pb::GetVisitRequest { visit_id }),
    )
    .await?;
    Ok(Json(Visit::from(res.visit.unwrap_or_default())))
}

/// `POST /v1/visits/{visit_id}`: the outcome of a call or visit.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VisitOutcomeBody {
    pub outcome: VisitOutcome,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "customer busy, asked for the evening"
    )]
    pub note: String,
    /// Required for `call_back`: when to call again.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub call_back_at: Option<String>,
}

/// A visit, as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitRecorded {
    pub visit: Visit,
}

/// Record a call or visit
///
/// A reached customer is followed by the survey (`POST /v1/surveys`).
#[utoipa::path(
    post,
    path = "/v1/visits/{visit_id}",
    tag = "feedback",
    params(
        ("visit_id" = Id, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = VisitOutcomeBody, example = json!({
        "outcome": "call_back", "note": "customer busy, asked for the evening",
        "call_back_at": "2026-12-01T19:00:00+08:00"
    })),
    responses((status = 200, description = "Recorded", body = VisitRecorded)),
    security(("bearer" = ["branch_agent", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn record_visit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(visit_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<VisitOutcomeBody>,
) -> Result<Json<VisitRecorded>, Problem> {
    let mut bad = Violations::default();
    let call_back_at = instant(body.call_back_at.as_deref(), "call_back_at", &mut bad);
    bad.finish()?;
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RecordVisit"),
        client.record_visit(pb::RecordVisitRequest {
            idempotency_key: upstream_key(&caller, &headers),
            visit_id,
            outcome: body.outcome.to_proto(),
            note: body.note,
            call_back_at,
        }),
    )
    .await?;
    Ok(Json(VisitRecorded {
        visit: Visit::from(res.visit.unwrap_or_default()),
    }))
}

// ---- surveys and complaints -----------------------------------------------------------------

/// `POST /v1/surveys`: the four ratings; completes the visit.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SurveyBody {
    #[schema(value_type = Id)]
    pub visit_id: String,
    pub attitude: Rating,
    /// May be absent when no technician came (shipped parts, returns).
    #[serde(default)]
    pub technical_skill: Option<Rating>,
    /// May be absent when no technician came.
    #[serde(default)]
    pub arrival_time: Option<Rating>,
    pub promise_keeping: Rating,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "quick and friendly"
    )]
    pub comment: String,
    /// Whether the customer says the problem is solved. Unsolved keeps the request open, opens a
    /// complaint and a follow-up job.
    pub resolved: bool,
    /// Also open a complaint from this survey.
    #[serde(default)]
    pub open_complaint: bool,
    /// Default: the policy's for an unsolved problem.
    #[serde(default)]
    pub complaint_category: Option<ComplaintCategory>,
    #[serde(default)]
    pub complaint_severity: Option<Severity>,
}

/// A survey.
#[derive(Debug, Serialize, ToSchema)]
pub struct Survey {
    #[schema(value_type = Id)]
    pub survey_id: String,
    #[schema(value_type = Id)]
    pub visit_id: String,
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(value_type = Option<Rating>)]
    pub attitude: Option<String>,
    #[schema(value_type = Option<Rating>)]
    pub technical_skill: Option<String>,
    #[schema(value_type = Option<Rating>)]
    pub arrival_time: Option<String>,
    #[schema(value_type = Option<Rating>)]
    pub promise_keeping: Option<String>,
    pub comment: String,
    pub technician_id: String,
    #[schema(format = DateTime)]
    pub recorded_at: Option<String>,
    pub recorded_by: String,
    pub resolved: bool,
    /// Every given rating `satisfied` or better.
    pub satisfied: bool,
    /// The complaint opened from it, if any.
    pub complaint_id: String,
}

/// What a survey did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyRecorded {
    pub survey: Survey,
    pub visit: Visit,
    /// Set when a complaint was opened.
    pub complaint: Option<Complaint>,
}

/// Record a survey
///
/// Completes the visit. A solved problem closes the request; an unsolved one opens a complaint
/// and a follow-up work order.
#[utoipa::path(
    post,
    path = "/v1/surveys",
    tag = "feedback",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = SurveyBody, example = json!({
        "visit_id": "V-0193A5C2", "attitude": "very_satisfied", "technical_skill": "satisfied",
        "arrival_time": "satisfied", "promise_keeping": "very_satisfied",
        "comment": "quick and friendly", "resolved": true
    })),
    responses((status = 201, description = "Recorded", body = SurveyRecorded)),
    security(("bearer" = ["branch_agent", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn record_survey(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SurveyBody>,
) -> Result<Response, Problem> {
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RecordSurvey"),
        client.record_survey(pb::RecordSurveyRequest {
            idempotency_key: upstream_key(&caller, &headers),
            visit_id: body.visit_id,
            attitude: body.attitude.to_proto(),
            technical_skill: body.technical_skill.map(Rating::to_proto).unwrap_or(0),
            arrival_time: body.arrival_time.map(Rating::to_proto).unwrap_or(0),
            promise_keeping: body.promise_keeping.to_proto(),
            comment: body.comment,
            open_complaint: body.open_complaint,
            complaint_category: body
                .complaint_category
                .map(ComplaintCategory::to_proto)
                .unwrap_or(0),
            complaint_severity: body.complaint_severity.map(Severity::to_proto).unwrap_or(0),
            resolved: Some(body.resolved),
        }),
    )
    .await?;
    let s = res.survey.unwrap_or_default();
    let out = SurveyRecorded {
        survey: Survey {
            attitude: text(Rating::text_of(s.attitude)),
            technical_skill: text(Rating::text_of(s.technical_skill)),
            arrival_time: text(Rating::text_of(s.arrival_time)),
            promise_keeping: text(Rating::text_of(s.promise_keeping)),
            recorded_at: instant_out(&s.recorded_at),
            survey_id: s.survey_id,
            visit_id: s.visit_id,
            request_no: s.request_no,
            branch: s.branch,
            comment: s.comment,
            technician_id: s.technician_id,
            recorded_by: s.recorded_by,
            resolved: s.resolved,
            satisfied: s.satisfied,
            complaint_id: s.complaint_id,
        },
        visit: Visit::from(res.visit.unwrap_or_default()),
        complaint: res.complaint.map(Complaint::from),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// A complaint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Complaint {
    #[schema(value_type = Id)]
    pub complaint_id: String,
    /// Empty when it concerns no request.
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(value_type = Option<ComplaintCategory>)]
    pub category: Option<String>,
    /// The department it was routed to by its category.
    #[schema(value_type = Option<Department>)]
    pub routed_to: Option<String>,
    #[schema(value_type = Option<Severity>)]
    pub severity: Option<String>,
    #[schema(value_type = Option<ComplaintStatus>)]
    pub status: Option<String>,
    pub description: String,
    pub customer: Option<Contact>,
    /// 0 = department level; each escalation adds one.
    pub escalation_level: u32,
    pub assignee: String,
    pub technician_id: String,
    /// Where it came from (`hotline`, `survey`, …).
    pub source: String,
    pub survey_id: String,
    pub resolution: String,
    /// How the result was reported back to the customer.
    pub reported_via: String,
    pub resolved_by: String,
    pub serial: String,
    pub product_model: String,
    pub part_nos: Vec<String>,
    /// The response deadline.
    #[schema(format = DateTime)]
    pub respond_by: Option<String>,
    /// Escalated because its deadline passed.
    pub deadline_escalated: bool,
    pub opened_by: String,
    #[schema(format = DateTime)]
    pub opened_at: Option<String>,
    #[schema(format = DateTime)]
    pub escalated_at: Option<String>,
    #[schema(format = DateTime)]
    pub resolved_at: Option<String>,
}

impl From<pb::Complaint> for Complaint {
    fn from(c: pb::Complaint) -> Self {
        Complaint {
            category: text(ComplaintCategory::text_of(c.category)),
            routed_to: text(Department::text_of(c.routed_to)),
            severity: text(Severity::text_of(c.severity)),
            status: text(ComplaintStatus::text_of(c.status)),
            customer: Contact::from_proto(&c.customer),
            respond_by: instant_out(&c.respond_by),
            opened_at: instant_out(&c.opened_at),
            escalated_at: instant_out(&c.escalated_at),
            resolved_at: instant_out(&c.resolved_at),
            complaint_id: c.complaint_id,
            request_no: c.request_no,
            branch: c.branch,
            description: c.description,
            escalation_level: c.escalation_level,
            assignee: c.assignee,
            technician_id: c.technician_id,
            source: c.source,
            survey_id: c.survey_id,
            resolution: c.resolution,
            reported_via: c.reported_via,
            resolved_by: c.resolved_by,
            serial: c.serial,
            product_model: c.product_model,
            part_nos: c.part_nos,
            deadline_escalated: c.deadline_escalated,
            opened_by: c.opened_by,
        }
    }
}

/// The customer a complaint is from.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = ComplainingCustomer)]
pub struct CustomerBody {
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Li Wei"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Option<Phone>)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub address: String,
    #[serde(default)]
    pub region: Option<Region>,
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub email: String,
}

/// `POST /v1/complaints`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ComplaintBody {
    /// The request it concerns, if any.
    #[serde(default)]
    #[schema(value_type = Option<RequestNo>)]
    pub request_no: Option<String>,
    /// Required without `request_no` (else the request's).
    #[serde(default)]
    #[schema(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    pub category: ComplaintCategory,
    /// `serious` escalates at once.
    pub severity: Severity,
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "the panel was cracked on arrival"
    )]
    pub description: String,
    pub source: ComplaintSource,
    #[serde(default)]
    pub customer: Option<CustomerBody>,
    /// The person it is about, for `staff_conduct`.
    #[serde(default)]
    #[schema(max_length = 64, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub technician_id: String,
    #[serde(default)]
    #[schema(value_type = Option<Serial>)]
    pub serial: Option<String>,
    #[serde(default)]
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "X55"
    )]
    pub product_model: String,
    #[serde(default)]
    #[schema(max_items = 50, value_type = Vec<PartNo>)]
    pub part_nos: Vec<String>,
}

/// Open a complaint
///
/// Routed by its category (product quality → quality/R&D, packaging or transport damage →
/// warehouse/logistics, staff conduct → service management); a serious one escalates at once.
#[utoipa::path(
    post,
    path = "/v1/complaints",
    tag = "feedback",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = ComplaintBody, example = json!({
        "request_no": "AS-2611-SH01-000042", "category": "packaging_transport_damage",
        "severity": "major", "description": "the panel was cracked on arrival", "source": "hotline",
        "customer": { "name": "Li Wei", "phone": "+86 138 0013 8000" },
        "product_model": "X55", "part_nos": ["PNL-55-01"]
    })),
    responses((status = 201, description = "Opened", body = Complaint)),
    security(("bearer" = ["branch_agent", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn open_complaint(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ComplaintBody>,
) -> Result<Response, Problem> {
    let customer = body.customer.map(|c| common::Customer {
        name: c.name,
        phone: c.phone.unwrap_or_default(),
        address: c.address,
        region: c.region.map(Region::to_proto).unwrap_or(0),
        email: c.email,
    });
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/OpenComplaint"),
        client.open_complaint(pb::OpenComplaintRequest {
            idempotency_key: upstream_key(&caller, &headers),
            request_no: body.request_no.unwrap_or_default(),
            branch: body.branch.unwrap_or_default(),
            category: body.category.to_proto(),
            severity: body.severity.to_proto(),
            description: body.description,
            customer,
            technician_id: body.technician_id,
            source: name_of(&body.source),
            serial: body.serial.unwrap_or_default(),
            product_model: body.product_model,
            part_nos: body.part_nos,
        }),
    )
    .await?;
    let c = Complaint::from(res.complaint.unwrap_or_default());
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// A page of complaints, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintList {
    pub items: Vec<Complaint>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// `GET /v1/complaints`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ComplaintQuery {
    /// Only these statuses, comma-separated (`open,escalated`).
    #[param(value_type = Option<Vec<ComplaintStatus>>, style = Form, explode = false)]
    pub status: Option<String>,
    #[param(value_type = Option<ComplaintCategory>)]
    pub category: Option<String>,
    #[param(value_type = Option<Department>)]
    pub routed_to: Option<String>,
    /// This severity or worse.
    #[param(value_type = Option<Severity>)]
    pub min_severity: Option<String>,
    #[param(value_type = Option<RequestNo>)]
    pub request_no: Option<String>,
    /// Opened at or after (RFC 3339).
    #[param(format = DateTime, example = "2026-11-01T00:00:00+08:00")]
    pub from: Option<String>,
    /// Opened before (RFC 3339).
    #[param(format = DateTime, example = "2026-12-01T00:00:00+08:00")]
    pub to: Option<String>,
    /// Head office: one branch's complaints (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// Complaints, newest first
#[utoipa::path(
    get,
    path = "/v1/complaints",
    tag = "feedback",
    params(ComplaintQuery),
    responses((status = 200, description = "A page of complaints", body = ComplaintList)),
    security(("bearer" = ["branch_agent", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn list_complaints(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<ComplaintQuery>, QueryRejection>,
) -> Result<Json<ComplaintList>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let statuses = crate::api::wire::enum_list(
        q.status.as_deref(),
        "status",
        |s| ComplaintStatus::parse(s).map(ComplaintStatus::to_proto),
        &mut bad,
    );
    let category = one(
        q.category.as_deref(),
        "category",
        ComplaintCategory::parse,
        &mut bad,
    );
    let routed_to = one(
        q.routed_to.as_deref(),
        "routed_to",
        Department::parse,
        &mut bad,
    );
    let min_severity = one(
        q.min_severity.as_deref(),
        "min_severity",
        Severity::parse,
        &mut bad,
    );
    let from = instant(q.from.as_deref(), "from", &mut bad);
    let to = instant(q.to.as_deref(), "to", &mut bad);
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListComplaints"),
        client.list_complaints(pb::ListComplaintsRequest {
            branch: q.branch.unwrap_or_default(),
            statuses,
            category: category.map(ComplaintCategory::to_proto).unwrap_or(0),
            routed_to: routed_to.map(Department::to_proto).unwrap_or(0),
            min_severity: min_severity.map(Severity::to_proto).unwrap_or(0),
            request_no: q.request_no.unwrap_or_default(),
            opened: range(from, to),
            page_size,
            page_token: q.page_token.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(ComplaintList {
        items: res.complaints.into_iter().map(Complaint::from).collect(),
        next_page_token: res.next_page_token,
    }))
}

/// One complaint
#[utoipa::path(
    get,
    path = "/v1/complaints/{complaint_id}",
    tag = "feedback",
    params(("complaint_id" = Id, Path)),
    responses((status = 200, description = "The complaint", body = Complaint)),
    security(("bearer" = ["branch_agent", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_complaint(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(complaint_id): Path<String>,
) -> Result<Json<Complaint>, Problem> {
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetComplaint"),
        client.get_complaint(pb::GetComplaintRequest { complaint_id }),
    )
    .await?;
    Ok(Json(Complaint::from(res.complaint.unwrap_or_default())))
}

/// `POST /v1/complaints/{complaint_id}/escalate`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EscalateBody {
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "customer called a third time"
    )]
    pub reason: String,
    /// Default: the next level's handler.
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub assignee: String,
}

/// Escalate a complaint one level
#[utoipa::path(
    post,
    path = "/v1/complaints/{complaint_id}/escalate",
    tag = "feedback",
    params(
        ("complaint_id" = Id, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = EscalateBody, example = json!({ "reason": "customer called a third time" })),
    responses((status = 200, description = "Escalated", body = Complaint)),
    security(("bearer" = ["branch_agent", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn escalate_complaint(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(complaint_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<EscalateBody>,
) -> Result<Json<Complaint>, Problem> {
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/EscalateComplaint"),
        client.escalate_complaint(pb::EscalateComplaintRequest {
            idempotency_key: upstream_key(&caller, &headers),
            complaint_id,
            reason: body.reason,
            assignee: body.assignee,
        }),
    )
    .await?;
    Ok(Json(Complaint::from(res.complaint.unwrap_or_default())))
}

/// `POST /v1/complaints/{complaint_id}/resolve`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResolveBody {
    /// What was done.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "panel replaced, carrier charged"
    )]
    pub resolution: String,
    pub reported_via: ReportedVia,
}

/// Resolve a complaint
#[utoipa::path(
    post,
    path = "/v1/complaints/{complaint_id}/resolve",
    tag = "feedback",
    params(
        ("complaint_id" = Id, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = ResolveBody, example = json!({
        "resolution": "panel replaced, carrier charged", "reported_via": "phone"
    })),
    responses((status = 200, description = "Resolved", body = Complaint)),
    security(("bearer" = ["branch_agent", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn resolve_complaint(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(complaint_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ResolveBody>,
) -> Result<Json<Complaint>, Problem> {
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ResolveComplaint"),
        client.resolve_complaint(pb::ResolveComplaintRequest {
            idempotency_key: upstream_key(&caller, &headers),
            complaint_id,
            resolution: body.resolution,
            reported_via: name_of(&body.reported_via),
        }),
    )
    .await?;
    Ok(Json(Complaint::from(res.complaint.unwrap_or_default())))
}

// ---- figures --------------------------------------------------------------------------------

/// One indicator: `numerator / denominator` in basis points.
#[derive(Debug, Serialize, ToSchema)]
pub struct Kpi {
    pub value_bp: u32,
    pub numerator: u64,
    pub denominator: u64,
    /// 0: no target.
    pub target_bp: u32,
    /// The target is a ceiling (the rework rate), not a floor.
    pub lower_is_better: bool,
}

fn kpi(k: Option<pb::Kpi>) -> Option<Kpi> {
    k.map(|k| Kpi {
        value_bp: k.value_bp,
        numerator: k.numerator,
        denominator: k.denominator,
        target_bp: k.target_bp,
        lower_is_better: k.lower_is_better,
    })
}

/// The KPIs of one period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Kpis {
    /// `2026-11`, `2026-W48` …; empty for a free range.
    pub period_name: String,
    pub period: Option<TimeRange>,
    /// Empty: every branch the caller sees.
    pub branch: String,
    pub request_processing_timeliness: Option<Kpi>,
    pub review_timeliness: Option<Kpi>,
    pub procurement_cost_vs_quotes: Option<Kpi>,
    pub inventory_accuracy: Option<Kpi>,
    pub on_time_delivery: Option<Kpi>,
    pub arrival_sla: Option<Kpi>,
    pub satisfaction: Option<Kpi>,
    pub first_time_fix: Option<Kpi>,
    pub rework_rate: Option<Kpi>,
    pub satisfaction_attitude: Option<Kpi>,
    pub satisfaction_technical_skill: Option<Kpi>,
    pub satisfaction_arrival_time: Option<Kpi>,
    pub satisfaction_promise_keeping: Option<Kpi>,
    pub complaint_response_timeliness: Option<Kpi>,
    /// Mean working minutes from opening to resolution.
    pub complaint_response_avg_minutes: u64,
    pub return_visit_timeliness: Option<Kpi>,
}

impl From<pb::Kpis> for Kpis {
    fn from(k: pb::Kpis) -> Self {
        Kpis {
            period: TimeRange::from_proto(&k.period),
            period_name: k.period_name,
            branch: k.branch,
            request_processing_timeliness: kpi(k.request_processing_timeliness),
            review_timeliness: kpi(k.review_timeliness),
            procurement_cost_vs_quotes: kpi(k.procurement_cost_vs_quotes),
            inventory_accuracy: kpi(k.inventory_accuracy),
            on_time_delivery: kpi(k.on_time_delivery),
            arrival_sla: kpi(k.arrival_sla),
            satisfaction: kpi(k.satisfaction),
            first_time_fix: kpi(k.first_time_fix),
            rework_rate: kpi(k.rework_rate),
            satisfaction_attitude: kpi(k.satisfaction_attitude),
            satisfaction_technical_skill: kpi(k.satisfaction_technical_skill),
            satisfaction_arrival_time: kpi(k.satisfaction_arrival_time),
            satisfaction_promise_keeping: kpi(k.satisfaction_promise_keeping),
            complaint_response_timeliness: kpi(k.complaint_response_timeliness),
            complaint_response_avg_minutes: k.complaint_response_avg_minutes,
            return_visit_timeliness: kpi(k.return_visit_timeliness),
        }
    }
}

/// A period's KPIs and the periods before it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiReport {
    pub kpis: Kpis,
    /// The periods before, oldest first.
    pub history: Vec<Kpis>,
}

/// `GET /v1/kpis`: a named period, or a free range (`from` and `to`); default the current month.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct KpiQuery {
    /// Head office: one branch (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    #[param(value_type = Option<PeriodName>)]
    pub period: Option<String>,
    /// With `period`: this many periods before it too, for charts.
    #[param(minimum = 0, maximum = 24)]
    pub history: Option<u32>,
    /// A free range's start (RFC 3339), with `to`.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// A free range's end (RFC 3339), with `from`.
    #[param(format = DateTime)]
    pub to: Option<String>,
}

/// The KPIs
///
/// Request processing and review timeliness, procurement cost against quotes, inventory
/// accuracy, on-time delivery, arrival SLA, satisfaction, first-time fix, rework, complaint
/// response, return visits.
#[utoipa::path(
    get,
    path = "/v1/kpis",
    tag = "feedback",
    params(KpiQuery),
    responses((status = 200, description = "The KPIs", body = KpiReport)),
    security(("bearer" = ["analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn kpis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<KpiQuery>, QueryRejection>,
) -> Result<Json<KpiReport>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let from = instant(q.from.as_deref(), "from", &mut bad);
    let to = instant(q.to.as_deref(), "to", &mut bad);
    bad.finish()?;
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetKpis"),
        client.get_kpis(pb::GetKpisRequest {
            period: range(from, to),
            branch: q.branch.unwrap_or_default(),
            period_name: q.period.unwrap_or_default(),
            history: q.history.unwrap_or(0),
        }),
    )
    .await?;
    Ok(Json(KpiReport {
        kpis: Kpis::from(res.kpis.unwrap_or_default()),
        history: res.history.into_iter().map(Kpis::from).collect(),
    }))
}

/// `GET /v1/reports/top-returned-parts`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct TopQuery {
    /// A month or an ISO week; default the current month.
    #[param(value_type = Option<WeekOrMonth>)]
    pub period: Option<String>,
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// Default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// A part replaced or returned often.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnedPart {
    pub rank: u32,
    #[schema(value_type = PartNo)]
    pub part_no: String,
    /// Units replaced or returned.
    pub quantity: u32,
    /// Distinct requests.
    pub requests: u32,
    /// Its share of all units, basis points.
    pub share_bp: u32,
}

/// The top returned parts of a week or month.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopReturnedParts {
    pub period_name: String,
    #[schema(format = Date)]
    pub from_date: Option<String>,
    #[schema(format = Date)]
    pub to_date: Option<String>,
    pub parts: Vec<ReturnedPart>,
}

/// The parts replaced or returned most often
///
/// In a week or a month (top 10 by default).
#[utoipa::path(
    get,
    path = "/v1/reports/top-returned-parts",
    tag = "feedback",
    params(TopQuery),
    responses((status = 200, description = "The ranking", body = TopReturnedParts)),
    security(("bearer" = ["analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn top_returned_parts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<TopQuery>, QueryRejection>,
) -> Result<Json<TopReturnedParts>, Problem> {
    let q = query(q)?;
    let period_name = q.period.unwrap_or_default();
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/TopReturnedParts"),
        client.top_returned_parts(pb::TopReturnedPartsRequest {
            // Without a name: the month of today.
            period: if period_name.is_empty() {
                pb::TopPeriod::Month as i32
            } else {
                0
            },
            date: String::new(),
            limit: q.limit.unwrap_or(0),
            branch: q.branch.unwrap_or_default(),
            period_name,
        }),
    )
    .await?;
    Ok(Json(TopReturnedParts {
        period_name: res.period_name,
        from_date: (!res.from_date.is_empty()).then_some(res.from_date),
        to_date: (!res.to_date.is_empty()).then_some(res.to_date),
        parts: res
            .parts
            .into_iter()
            .map(|p| ReturnedPart {
                rank: p.rank,
                part_no: p.part_no,
                quantity: p.quantity,
                requests: p.requests,
                share_bp: p.share_bp,
            })
            .collect(),
    }))
}

/// `GET /v1/reports/fill-rate`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct FillRateQuery {
    /// Default: the current month.
    #[param(value_type = Option<PeriodName>)]
    pub period: Option<String>,
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
}

/// The fill rate of one lifecycle class.
#[derive(Debug, Serialize, ToSchema)]
pub struct FillRateClass {
    #[schema(value_type = Option<LifecycleClass>)]
    pub lifecycle: Option<String>,
    /// Part lines served from stock at the first reservation.
    pub fill_rate: Option<Kpi>,
    pub requests: u64,
}

/// Parts fill rate per lifecycle class of the product model.
#[derive(Debug, Serialize, ToSchema)]
pub struct FillRateReport {
    pub period_name: String,
    pub period: Option<TimeRange>,
    pub classes: Vec<FillRateClass>,
    pub overall: Option<Kpi>,
}

/// Parts fill rate at the first reservation
///
/// Per lifecycle class of the product model (in production, discontinued, …).
#[utoipa::path(
    get,
    path = "/v1/reports/fill-rate",
    tag = "feedback",
    params(FillRateQuery),
    responses((status = 200, description = "The fill rate", body = FillRateReport)),
    security(("bearer" = ["analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn fill_rate(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<FillRateQuery>, QueryRejection>,
) -> Result<Json<FillRateReport>, Problem> {
    let q = query(q)?;
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetFillRate"),
        client.get_fill_rate(pb::GetFillRateRequest {
            period_name: q.period.unwrap_or_default(),
            period: None,
            branch: q.branch.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(FillRateReport {
        period_name: res.period_name,
        period: TimeRange::from_proto(&res.period),
        classes: res
            .classes
            .into_iter()
            .map(|c| FillRateClass {
                lifecycle: text(LifecycleClass::text_of(c.lifecycle)),
                fill_rate: kpi(c.fill_rate),
                requests: c.requests,
            })
            .collect(),
        overall: kpi(res.overall),
    }))
}

/// `GET /v1/reports/technicians`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct TechnicianReportQuery {
    /// Default: the current month.
    #[param(value_type = Option<Month>)]
    pub month: Option<String>,
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    #[param(value_type = Option<Code>)]
    pub technician_id: Option<String>,
}

/// A technician's month.
#[derive(Debug, Serialize, ToSchema)]
pub struct TechnicianEvaluation {
    pub technician_id: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    pub jobs_completed: u32,
    pub arrival_on_time: Option<Kpi>,
    pub rework_jobs: u32,
    pub first_time_fix: Option<Kpi>,
    pub surveys: u32,
    pub satisfaction: Option<Kpi>,
    pub attitude: Option<Kpi>,
    pub technical_skill: Option<Kpi>,
    pub arrival_time: Option<Kpi>,
    pub promise_keeping: Option<Kpi>,
    /// Complaints naming the technician.
    pub complaints: u32,
    /// Surveys saying the problem is not solved.
    pub unresolved_surveys: u32,
}

/// The month's technician evaluations.
#[derive(Debug, Serialize, ToSchema)]
pub struct TechnicianReport {
    #[schema(value_type = Month)]
    pub month: String,
    pub evaluations: Vec<TechnicianEvaluation>,
}

/// The month's evaluation of each technician
///
/// Jobs, arrival on time, rework, first-time fix, surveys, complaints.
#[utoipa::path(
    get,
    path = "/v1/reports/technicians",
    tag = "feedback",
    params(TechnicianReportQuery),
    responses((status = 200, description = "The evaluations", body = TechnicianReport)),
    security(("bearer" = ["analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn technician_report(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<TechnicianReportQuery>, QueryRejection>,
) -> Result<Json<TechnicianReport>, Problem> {
    let q = query(q)?;
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetTechnicianEvaluations"),
        client.get_technician_evaluations(pb::GetTechnicianEvaluationsRequest {
            month: q.month.unwrap_or_default(),
            branch: q.branch.unwrap_or_default(),
            technician_id: q.technician_id.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(TechnicianReport {
        month: res.month,
        evaluations: res
            .evaluations
            .into_iter()
            .map(|e| TechnicianEvaluation {
                arrival_on_time: kpi(e.arrival_on_time),
                first_time_fix: kpi(e.first_time_fix),
                satisfaction: kpi(e.satisfaction),
                attitude: kpi(e.attitude),
                technical_skill: kpi(e.technical_skill),
                arrival_time: kpi(e.arrival_time),
                promise_keeping: kpi(e.promise_keeping),
                technician_id: e.technician_id,
                branch: e.branch,
                jobs_completed: e.jobs_completed,
                rework_jobs: e.rework_jobs,
                surveys: e.surveys,
                complaints: e.complaints,
                unresolved_surveys: e.unresolved_surveys,
            })
            .collect(),
    }))
}

/// `GET /v1/quality-archive`: at least one of `serial`, `product_model` and `part_no`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct QualityQuery {
    #[param(value_type = Option<Serial>)]
    pub serial: Option<String>,
    #[param(max_length = 64, pattern = r"^[^\x00-\x1F\x7F]*$", example = "X55")]
    pub product_model: Option<String>,
    #[param(value_type = Option<PartNo>)]
    pub part_no: Option<String>,
    /// Head office: one branch (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// At or after (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Before (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// One entry of a product's quality history.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualityRecord {
    #[schema(format = DateTime)]
    pub at: Option<String>,
    /// The event it comes from (`fieldservice.workorder.completed`).
    #[serde(rename = "type")]
    pub kind: String,
    pub request_no: String,
    pub serial: String,
    pub product_model: String,
    pub summary: String,
    pub part_nos: Vec<String>,
    pub branch: String,
    /// The work order, complaint, survey, return or old part it records.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// A page of the quality archive, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualityArchive {
    pub items: Vec<QualityRecord>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// The quality archive of a serial, model or part
///
/// Repairs, rework, returns, old parts, complaints and unsatisfied or unsolved surveys.
#[utoipa::path(
    get,
    path = "/v1/quality-archive",
    tag = "feedback",
    params(QualityQuery),
    responses((status = 200, description = "A page of the archive", body = QualityArchive)),
    security(("bearer" = ["analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn quality_archive(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<QualityQuery>, QueryRejection>,
) -> Result<Json<QualityArchive>, Problem> {
    let q = query(q)?;
    let mut bad = Violations::default();
    let from = instant(q.from.as_deref(), "from", &mut bad);
    let to = instant(q.to.as_deref(), "to", &mut bad);
    let page_size = page_size(q.page_size.as_deref(), &mut bad);
    bad.finish()?;
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetQualityArchive"),
        client.get_quality_archive(pb::GetQualityArchiveRequest {
            serial: q.serial.unwrap_or_default(),
            product_model: q.product_model.unwrap_or_default(),
            period: range(from, to),
            page_size,
            page_token: q.page_token.unwrap_or_default(),
            part_no: q.part_no.unwrap_or_default(),
            branch: q.branch.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(QualityArchive {
        items: res
            .records
            .into_iter()
            .map(|r| QualityRecord {
                at: instant_out(&r.at),
                kind: r.r#type,
                request_no: r.request_no,
                serial: r.serial,
                product_model: r.product_model,
                summary: r.summary,
                part_nos: r.part_nos,
                branch: r.branch,
                reference: r.r#ref,
            })
            .collect(),
        next_page_token: res.next_page_token,
    }))
}

// ---- the self-assessment --------------------------------------------------------------------

/// An indicator of the star-level self-assessment; points in tenths (705 = 70.5).
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentIndicator {
    pub indicator_id: String,
    pub category: String,
    pub name: String,
    pub max_tenths: u32,
    /// Computed from the system's data; otherwise entered by a person with evidence.
    pub measured: bool,
    pub points_tenths: u32,
    /// Measured: the metric and its value.
    pub metric: String,
    pub metric_value: Option<Kpi>,
    /// Entered: the evidence, who and when.
    pub evidence: String,
    pub entered_by: String,
    #[schema(format = DateTime)]
    pub entered_at: Option<String>,
    /// An entered indicator nobody scored yet (counts 0).
    pub pending: bool,
}

/// A category of indicators and its points.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentCategory {
    pub category: String,
    pub name: String,
    pub max_tenths: u32,
    pub points_tenths: u32,
    pub indicators: u32,
}

/// The self-assessment of a period: every indicator, the total and the star level.
#[derive(Debug, Serialize, ToSchema)]
pub struct Assessment {
    /// `2026`, `2026-Q4`, `2026-11` …
    pub period: String,
    /// Empty: the whole company.
    pub branch: String,
    pub policy_version: String,
    pub categories: Vec<AssessmentCategory>,
    pub indicators: Vec<AssessmentIndicator>,
    pub total_tenths: u32,
    #[schema(value_type = Option<StarLevel>)]
    pub level: Option<String>,
    /// Entered indicators still without a score.
    pub pending: u32,
    pub range: Option<TimeRange>,
}

impl From<pb::Assessment> for Assessment {
    fn from(a: pb::Assessment) -> Self {
        Assessment {
            level: text(StarLevel::text_of(a.level)),
            range: TimeRange::from_proto(&a.range),
            categories: a
                .categories
                .into_iter()
                .map(|c| AssessmentCategory {
                    category: c.category,
                    name: c.name,
                    max_tenths: c.max_tenths,
                    points_tenths: c.points_tenths,
                    indicators: c.indicators,
                })
                .collect(),
            indicators: a
                .indicators
                .into_iter()
                .map(|i| AssessmentIndicator {
                    metric_value: kpi(i.metric_value),
                    entered_at: instant_out(&i.entered_at),
                    indicator_id: i.indicator_id,
                    category: i.category,
                    name: i.name,
                    max_tenths: i.max_tenths,
                    measured: i.measured,
                    points_tenths: i.points_tenths,
                    metric: i.metric,
                    evidence: i.evidence,
                    entered_by: i.entered_by,
                    pending: i.pending,
                })
                .collect(),
            period: a.period,
            branch: a.branch,
            policy_version: a.policy_version,
            total_tenths: a.total_tenths,
            pending: a.pending,
        }
    }
}

/// The periods with entered scores.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentList {
    /// Newest first.
    pub assessments: Vec<Assessment>,
}

/// `?branch=` of the assessment reads.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct AssessmentQuery {
    /// Head office: a branch's assessment; default the whole company's (a branch token: its own).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
}

/// The periods assessed so far
///
/// Each with its total and level, newest first.
#[utoipa::path(
    get,
    path = "/v1/assessments",
    tag = "feedback",
    params(AssessmentQuery),
    responses((status = 200, description = "The assessments", body = AssessmentList)),
    security(("bearer" = ["analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn list_assessments(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<AssessmentQuery>, QueryRejection>,
) -> Result<Json<AssessmentList>, Problem> {
    let q = query(q)?;
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/ListAssessments"),
        client.list_assessments(pb::ListAssessmentsRequest {
            branch: q.branch.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(AssessmentList {
        assessments: res.assessments.into_iter().map(Assessment::from).collect(),
    }))
}

/// One period's self-assessment
///
/// Every indicator: the measured ones from the KPIs, the others as entered.
#[utoipa::path(
    get,
    path = "/v1/assessments/{period}",
    tag = "feedback",
    params(("period" = PeriodName, Path), AssessmentQuery),
    responses((status = 200, description = "The assessment", body = Assessment)),
    security(("bearer" = ["analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get_assessment(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(period): Path<String>,
    q: Result<Query<AssessmentQuery>, QueryRejection>,
) -> Result<Json<Assessment>, Problem> {
    let q = query(q)?;
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/GetAssessment"),
        client.get_assessment(pb::GetAssessmentRequest {
            period,
            branch: q.branch.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(Assessment::from(res.assessment.unwrap_or_default())))
}

/// A score for an indicator the system cannot measure.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssessmentEntryBody {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F]*[^ \x00-\x1F\x7F][^\x00-\x1F\x7F]*$",
        example = "culture.philosophy"
    )]
    pub indicator_id: String,
    /// Points (at most the indicator's maximum), to one decimal: `2.5`.
    #[schema(minimum = 0, maximum = 100, example = 2.5)]
    pub points: f64,
    /// A document or a link that shows it.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "staff handbook 2026, chapter 1"
    )]
    pub evidence: String,
}

/// `POST /v1/assessments`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssessmentBody {
    #[schema(value_type = PeriodName)]
    pub period: String,
    /// Default: the whole company (head office only); a branch token: its own.
    #[serde(default)]
    #[schema(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    #[schema(min_items = 1, max_items = 100)]
    pub entries: Vec<AssessmentEntryBody>,
}

/// Score the indicators the system cannot measure
///
/// Each with its evidence; a later entry replaces an earlier one.
#[utoipa::path(
    post,
    path = "/v1/assessments",
    tag = "feedback",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    request_body(content = AssessmentBody, example = json!({
        "period": "2026", "branch": "SH01",
        "entries": [ { "indicator_id": "culture.philosophy", "points": 2.5,
                       "evidence": "staff handbook 2026, chapter 1" } ]
    })),
    responses((status = 200, description = "The assessment with the scores", body = Assessment)),
    security(("bearer" = ["analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn record_assessment(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AssessmentBody>,
) -> Result<Json<Assessment>, Problem> {
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RecordAssessment"),
        client.record_assessment(pb::RecordAssessmentRequest {
            idempotency_key: upstream_key(&caller, &headers),
            period: body.period,
            branch: body.branch.unwrap_or_default(),
            entries: body
                .entries
                .into_iter()
                .map(|e| pb::AssessmentEntry {
                    indicator_id: e.indicator_id,
                    points_tenths: tenths(e.points),
                    evidence: e.evidence,
                })
                .collect(),
        }),
    )
    .await?;
    Ok(Json(Assessment::from(res.assessment.unwrap_or_default())))
}

/// Points (0..=100, the document bounds them) in tenths, rounded to the nearest.
fn tenths(points: f64) -> u32 {
    (points.clamp(0.0, 100.0) * 10.0).round() as u32
}

/// What a rebuild did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rebuilt {
    pub events_replayed: u64,
}

/// Rebuild the KPI read model from the event log
///
/// Admin only; the figures after it are those before it.
#[utoipa::path(
    post,
    path = "/v1/admin/read-model/rebuild",
    tag = "feedback",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe")),
    responses((status = 200, description = "Rebuilt", body = Rebuilt)),
    security(("bearer" = ["admin"])),
    extensions(("x-branch-scope" = json!("head_office")), ("x-problems" = json!([400, 409, 422]))),
)]
pub async fn rebuild_read_model(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Rebuilt>, Problem> {
    let mut client = state.peers.feedback(&caller)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RebuildReadModel"),
        client.rebuild_read_model(pb::RebuildReadModelRequest {}),
    )
    .await?;
    Ok(Json(Rebuilt {
        events_replayed: res.events_replayed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feedback_enumeration_value_has_its_wire_text() {
        for i in 1..20 {
            if pb::VisitSource::try_from(i).is_ok() {
                assert!(!VisitSource::text_of(i).is_empty(), "source {i}");
            }
            if pb::VisitStatus::try_from(i).is_ok() {
                assert!(!VisitStatus::text_of(i).is_empty(), "visit {i}");
            }
            if pb::VisitOutcome::try_from(i).is_ok() {
                assert!(!VisitOutcome::text_of(i).is_empty(), "outcome {i}");
            }
            if pb::Rating::try_from(i).is_ok() {
                assert!(!Rating::text_of(i).is_empty(), "rating {i}");
            }
            if pb::ComplaintCategory::try_from(i).is_ok() {
                assert!(!ComplaintCategory::text_of(i).is_empty(), "category {i}");
            }
            if pb::Department::try_from(i).is_ok() {
                assert!(!Department::text_of(i).is_empty(), "department {i}");
            }
            if pb::Severity::try_from(i).is_ok() {
                assert!(!Severity::text_of(i).is_empty(), "severity {i}");
            }
            if pb::ComplaintStatus::try_from(i).is_ok() {
                assert!(!ComplaintStatus::text_of(i).is_empty(), "status {i}");
            }
            if pb::LifecycleClass::try_from(i).is_ok() {
                assert!(!LifecycleClass::text_of(i).is_empty(), "lifecycle {i}");
            }
            if pb::StarLevel::try_from(i).is_ok() {
                assert!(!StarLevel::text_of(i).is_empty(), "level {i}");
            }
        }
    }

    #[test]
    fn the_policys_sources_and_channels_are_the_documents() {
        assert_eq!(name_of(&ComplaintSource::SocialMedia), "social_media");
        assert_eq!(name_of(&ReportedVia::Sms), "sms");
        assert_eq!(tenths(2.5), 25);
        assert_eq!(tenths(0.04), 0);
    }
}
