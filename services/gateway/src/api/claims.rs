//! `/v1/claims` (the review queue), `/v1/claims/{request_no}` and its decision, over
//! claims-review's gRPC; JSON as DESIGN §8 pins it. A claim has a version: reads answer it as
//! the `ETag`, a decision takes it back as `If-Match` (or the body's `expected_version`).

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tonic::Code;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[allow(unused_imports)] // named by the schema attributes
use crate::api::schema::{
    BranchCode, ClaimStatus, Date, EntityTag, Id, IdempotencyKey, MissingInfo, PartNo, PhotoUrl,
    Recommendation, RejectReason, RequestNo, Serial,
};
use crate::api::wire::{Coverage, Kind, MoneyIn, PartLine, rfc3339, wire_enum};
use crate::app::AppState;
use crate::extract::JsonBody;
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::Problem;

const PEER: &str = "claims-review";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queue))
        .routes(routes!(get))
        .routes(routes!(decide))
        .routes(routes!(provide_info))
        .routes(routes!(refund))
}

/// `CLAIM_STATUS_INFO_REQUESTED` → `info_requested`.
pub fn enum_text(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// An amount in the currency's minor unit (fen, cents).
#[derive(Debug, Serialize, ToSchema)]
pub struct Money {
    #[schema(example = "CNY")]
    pub currency: String,
    #[schema(example = 4500)]
    pub amount_minor: i64,
}

wire_enum!(PaymentMethod, pb::PaymentMethod, {
    Card = "card" => Card, BankTransfer = "bank_transfer" => BankTransfer, Wallet = "wallet" => Wallet,
    Cash = "cash" => Cash, Marketplace = "marketplace" => Marketplace, Other = "other" => Other,
});

/// How the customer paid: a return's refund goes back the same route.
#[derive(Debug, Serialize, ToSchema)]
pub struct Payment {
    #[schema(value_type = PaymentMethod)]
    pub method: String,
    /// The transaction or order reference at the payment provider or marketplace.
    pub reference: String,
    /// What the customer paid (a refund's gross amount).
    pub amount: Option<Money>,
    /// Who paid, when not the customer.
    pub payer: String,
}

impl From<pb::Payment> for Payment {
    fn from(p: pb::Payment) -> Self {
        Payment {
            method: PaymentMethod::text_of(p.method).to_owned(),
            reference: p.reference,
            amount: money(p.amount),
            payer: p.payer,
        }
    }
}

/// The original payment, as the branch supplies it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PaymentInput {
    #[schema(value_type = PaymentMethod)]
    pub method: PaymentMethod,
    #[serde(default)]
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "WX-4200017301"
    )]
    pub reference: String,
    /// What the customer paid (a refund's gross amount).
    #[serde(default)]
    #[schema(value_type = MoneyIn)]
    pub amount: Option<MoneyIn>,
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub payer: String,
}

fn money(m: Option<common::Money>) -> Option<Money> {
    m.map(|m| Money {
        currency: m.currency,
        amount_minor: m.amount_minor,
    })
}

/// A part of the claim and how the policy covers it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClaimLine)]
pub struct Line {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub quantity: u32,
    #[schema(value_type = CoverageOrNone)]
    pub coverage: String,
    /// The warranty window that applied, as a sentence.
    pub window: String,
    pub fee: Option<Money>,
    /// The policy rule that decided the line.
    pub rule: String,
}

/// A coverage, or empty while none was found.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub enum CoverageOrNone {
    #[serde(rename = "")]
    None,
    #[serde(rename = "free")]
    Free,
    #[serde(rename = "paid")]
    Paid,
    #[serde(rename = "contract")]
    Contract,
}

/// A warranty claim (DESIGN §8).
#[derive(Debug, Serialize, ToSchema)]
pub struct Claim {
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(value_type = ClaimStatus)]
    pub status: String,
    #[schema(value_type = Recommendation)]
    pub recommendation: String,
    pub policy_version: String,
    pub lines: Vec<Line>,
    /// The rules that decided, in words.
    pub explanation: Vec<String>,
    #[schema(format = DateTime)]
    pub due_at: Option<String>,
    #[schema(format = DateTime)]
    pub decided_at: Option<String>,
    pub decided_by: String,
    /// The reason the policy recommends rejecting for (while pending), or the one the reviewer
    /// rejected with; absent otherwise.
    #[schema(value_type = Option<RejectReason>)]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reject_reason: String,
    pub note: String,
    #[schema(value_type = Vec<MissingInfo>)]
    pub missing_info: Vec<String>,
    /// The claim's version, also its `ETag`: send it back as `If-Match` (or
    /// `expected_version`) when deciding.
    #[schema(minimum = 1, example = 1)]
    pub version: u64,
    pub total_fee: Option<Money>,
    #[schema(value_type = Kind)]
    pub kind: String,
    /// Approved as a return for the customer's own reasons: the pick-up is charged and the
    /// refund carries the service fee.
    pub own_reasons: bool,
    /// The original payment, once the branch supplied it (a return's refund needs it).
    pub payment: Option<Payment>,
}

impl From<pb::Claim> for Claim {
    fn from(c: pb::Claim) -> Self {
        let reject_reason = if c.reject_reason == pb::RejectReason::Unspecified as i32 {
            String::new()
        } else {
            enum_text(c.reject_reason().as_str_name(), "REJECT_REASON_")
        };
        Claim {
            status: enum_text(c.status().as_str_name(), "CLAIM_STATUS_"),
            recommendation: enum_text(c.recommendation().as_str_name(), "RECOMMENDATION_"),
            missing_info: c
                .missing_info()
                .map(|m| enum_text(m.as_str_name(), "MISSING_INFO_"))
                .collect(),
            request_no: c.request_no,
            branch: c.branch,
            policy_version: c.policy_version,
            lines: c
                .lines
                .into_iter()
                .map(|l| Line {
                    coverage: Coverage::text_of(l.coverage).to_owned(),
                    window: l.window.map(|w| w.label).unwrap_or_default(),
                    fee: money(l.fee),
                    part_no: l.part_no,
                    quantity: l.quantity,
                    rule: l.rule,
                })
                .collect(),
            explanation: c.explanation,
            due_at: c.due_at.as_ref().and_then(rfc3339),
            decided_at: c.decided_at.as_ref().and_then(rfc3339),
            reject_reason,
            decided_by: c.decided_by,
            note: c.note,
            version: c.version,
            total_fee: money(c.total_fee),
            kind: Kind::text_of(c.kind).to_owned(),
            own_reasons: c.own_reasons,
            payment: c.payment.map(Payment::from),
        }
    }
}

impl Claim {
    /// The claim with its version as the `ETag`.
    fn into_response(self, status: StatusCode) -> Response {
        let etag = HeaderValue::from_str(&format!("\"{}\"", self.version)).ok();
        let mut res = (status, Json(self)).into_response();
        if let Some(v) = etag {
            res.headers_mut().insert(header::ETAG, v);
        }
        res
    }
}

/// `POST /v1/claims/{request_no}/decision`. The version the reviewer saw goes in `If-Match`
/// (`"3"`) or in `expected_version`; one of them is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum DecisionBody {
    /// Approve as the policy covered it.
    Approve {
        #[serde(default)]
        #[schema(
            max_length = 2000,
            example = "checked the photos",
            pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
        )]
        note: String,
        /// A return for the customer's own reasons, not a quality problem: the pick-up is
        /// charged and the refund carries the policy's service fee (10 % capped at 500 by
        /// default).
        #[serde(default)]
        own_reasons: bool,
        /// The claim's `version` the reviewer saw (or send `If-Match`).
        #[serde(default)]
        #[schema(minimum = 1)]
        expected_version: Option<u64>,
    },
    /// Reject, with one of the fixed reasons and the reason in words.
    Reject {
        reason_code: RejectReason,
        #[schema(
            min_length = 1,
            max_length = 2000,
            example = "bought 40 days ago",
            pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
        )]
        note: String,
        #[serde(default)]
        #[schema(minimum = 1)]
        expected_version: Option<u64>,
    },
    /// Ask the branch for what is missing.
    RequestInfo {
        #[schema(min_items = 1, max_items = 10)]
        missing: Vec<MissingInfo>,
        #[serde(default)]
        #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
        note: String,
        #[serde(default)]
        #[schema(minimum = 1)]
        expected_version: Option<u64>,
    },
}

impl DecisionBody {
    fn expected_version(&self) -> Option<u64> {
        match self {
            DecisionBody::Approve {
                expected_version, ..
            }
            | DecisionBody::Reject {
                expected_version, ..
            }
            | DecisionBody::RequestInfo {
                expected_version, ..
            } => *expected_version,
        }
    }

    fn into_proto(
        self,
        request_no: String,
        idempotency_key: String,
        expected_version: u64,
    ) -> pb::DecideClaimRequest {
        use pb::decide_claim_request::Detail;
        let upper = |s: &str| s.to_ascii_uppercase();
        let (decision, detail, note) = match self {
            DecisionBody::Approve {
                note, own_reasons, ..
            } => (
                pb::Decision::Approve,
                Detail::Approve(pb::Approve {
                    own_reasons,
                    ..Default::default()
                }),
                note,
            ),
            DecisionBody::Reject {
                reason_code, note, ..
            } => (
                pb::Decision::Reject,
                Detail::Reject(pb::Reject {
                    reason_code: pb::RejectReason::from_str_name(&format!(
                        "REJECT_REASON_{}",
                        upper(reason_code.as_str())
                    ))
                    .map(|r| r as i32)
                    .unwrap_or(0),
                }),
                note,
            ),
            DecisionBody::RequestInfo { missing, note, .. } => (
                pb::Decision::RequestInfo,
                Detail::RequestInfo(pb::RequestInfo {
                    missing: missing
                        .iter()
                        .filter_map(|m| {
                            pb::MissingInfo::from_str_name(&format!(
                                "MISSING_INFO_{}",
                                upper(m.as_str())
                            ))
                        })
                        .map(|m| m as i32)
                        .collect(),
                }),
                note,
            ),
        };
        pb::DecideClaimRequest {
            idempotency_key,
            request_no,
            expected_version,
            decision: decision as i32,
            detail: Some(detail),
            note,
        }
    }
}

/// Where the version a decision is based on came from: a stale `If-Match` is 412, a stale
/// body field 409 (as before `If-Match` existed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    IfMatch(u64),
    Body(u64),
}

impl Precondition {
    pub fn version(self) -> u64 {
        match self {
            Precondition::IfMatch(v) | Precondition::Body(v) => v,
        }
    }
}

/// The version a write is conditioned on: `If-Match` (one strong entity tag, `"3"`) or the
/// body's `expected_version`; both must agree when both are sent; neither is 428.
pub fn precondition(headers: &HeaderMap, body: Option<u64>) -> Result<Precondition, Problem> {
    precondition_of(
        headers,
        body,
        "the claim's version you decided on: If-Match: \"<ETag of GET /v1/claims/{request_no}>\"",
    )
}

/// As [`precondition`], for any versioned resource: `what` says which version to send.
pub fn precondition_of(
    headers: &HeaderMap,
    body: Option<u64>,
    what: &str,
) -> Result<Precondition, Problem> {
    let sent = headers
        .get(header::IF_MATCH)
        .filter(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace));
    let if_match = match sent {
        None => None,
        Some(v) => {
            let parsed = v
                .to_str()
                .ok()
                .and_then(|t| t.trim().strip_prefix('"')?.strip_suffix('"'))
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|n| *n > 0);
            Some(parsed.ok_or_else(|| {
                Problem::field(
                    "If-Match",
                    "must be the ETag as sent: a quoted version, \"3\"",
                )
            })?)
        }
    };
    match (if_match, body) {
        (Some(h), Some(b)) if h != b => Err(Problem::unprocessable(
            vec![crate::problem::FieldViolation {
                field: "expected_version".into(),
                description: format!("is {b} but If-Match says \"{h}\"; send one of them"),
            }],
            String::new(),
        )),
        (Some(h), _) => Ok(Precondition::IfMatch(h)),
        (None, Some(b)) => Ok(Precondition::Body(b)),
        (None, None) => Err(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            format!("send {what} (or expected_version in the body)"),
        )),
    }
}

/// `GET /v1/claims`: the review queue.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Only these statuses, comma-separated (`pending,info_requested`).
    #[param(value_type = Option<Vec<ClaimStatus>>, style = Form, explode = false)]
    pub status: Option<String>,
    /// Head office: one branch's claims (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// Only claims past their due date.
    pub escalated_only: Option<bool>,
    /// At most 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub page_size: Option<u32>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
}

/// A page of the queue, due soonest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimList {
    pub items: Vec<Claim>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// The review queue
///
/// A branch token sees its branch's claims only, whatever `branch` says.
#[utoipa::path(
    get,
    path = "/v1/claims",
    tag = "claims",
    params(QueueQuery),
    responses((status = 200, description = "A page of claims", body = ClaimList)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 422]))),
)]
pub async fn queue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ClaimList>, Problem> {
    let Query(q) = query.map_err(|e| Problem::field("query", e.body_text()))?;
    let mut statuses = Vec::new();
    for s in q
        .status
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let v = pb::ClaimStatus::from_str_name(&format!("CLAIM_STATUS_{}", s.to_ascii_uppercase()))
            .filter(|v| *v != pb::ClaimStatus::Unspecified)
            .ok_or_else(|| {
                Problem::field(
                    "status",
                    format!("{s:?} is not one of pending|approved|rejected|info_requested"),
                )
            })?;
        statuses.push(v as i32);
    }
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        PEER,
        "aftersales.claims.v1.ClaimsService/ListClaims",
        client.list_claims(pb::ListClaimsRequest {
            statuses,
            branch: q.branch.unwrap_or_default(),
            due_before: None,
            escalated_only: q.escalated_only.unwrap_or(false),
            page_size: q.page_size.unwrap_or(0),
            page_token: q.page_token.unwrap_or_default(),
        }),
    )
    .await?;
    Ok(Json(ClaimList {
        items: res.claims.into_iter().map(Claim::from).collect(),
        next_page_token: res.next_page_token,
    }))
}

/// The claim of a request
///
/// Status, recommendation, lines with coverage and window, the explanation, the due date; its
/// `version` comes as the `ETag`.
#[utoipa::path(
    get,
    path = "/v1/claims/{request_no}",
    tag = "claims",
    params(("request_no" = RequestNo, Path)),
    responses((status = 200, description = "The claim", body = Claim,
        headers(("ETag" = EntityTag, description = "The claim's version, for If-Match")))),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
) -> Result<Response, Problem> {
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        PEER,
        "aftersales.claims.v1.ClaimsService/GetClaim",
        client.get_claim(pb::GetClaimRequest { request_no }),
    )
    .await?;
    Ok(Claim::from(res.claim.unwrap_or_default()).into_response(StatusCode::OK))
}

/// Approve, reject or ask for information
///
/// Conditional on the version decided on: `If-Match: "<ETag>"` (a stale one answers 412) or the
/// body's `expected_version` (a stale one answers 409); without either, 428. A claim that is
/// not pending answers 409.
#[utoipa::path(
    post,
    path = "/v1/claims/{request_no}/decision",
    tag = "claims",
    params(
        ("request_no" = RequestNo, Path),
        ("If-Match" = Option<EntityTag>, Header, description = "The claim's ETag the reviewer saw"),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = DecisionBody, example = json!({
        "decision": "reject", "reason_code": "return_window_expired", "note": "bought 40 days ago",
        "expected_version": 1
    })),
    responses((status = 200, description = "Decided", body = Claim,
        headers(("ETag" = EntityTag, description = "The claim's new version")))),
    security(("bearer" = ["reviewer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 412, 413, 415, 422, 428]))),
)]
pub async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Response, Problem> {
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let pre = precondition(&headers, body.expected_version())?;
    let req = body.into_proto(request_no, upstream_key(&caller, &headers), pre.version());
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        PEER,
        "aftersales.claims.v1.ClaimsService/DecideClaim",
        client.decide_claim(req),
    )
    .await;
    let res = match (res, pre) {
        // Someone changed the claim since that version: for If-Match that is HTTP's 412.
        (Err(p), Precondition::IfMatch(v)) if p.grpc_code == Some(Code::Aborted) => {
            let mut stale = Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                format!(
                    "the claim is no longer at version {v}: reload it (GET /v1/claims/…) and decide on its current ETag"
                ),
            );
            stale.grpc_code = p.grpc_code;
            return Err(stale);
        }
        (r, _) => r?,
    };
    Ok(Claim::from(res.claim.unwrap_or_default()).into_response(StatusCode::OK))
}

/// `POST /v1/claims/{request_no}/info`: what the reviewer asked for. Fields left out keep
/// their value.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProvideInfoBody {
    #[serde(default)]
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "INV-2026-0042"
    )]
    pub invoice_no: String,
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub invoice_date: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub receipt_date: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Serial>)]
    pub serial: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Date>)]
    pub purchase_date: Option<String>,
    #[serde(default)]
    #[schema(max_length = 64, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub service_contract_no: String,
    /// Appended to the claim's photos.
    #[serde(default)]
    #[schema(max_items = 20, value_type = Vec<PhotoUrl>)]
    pub photos: Vec<String>,
    /// Links to scanned documents.
    #[serde(default)]
    #[schema(max_items = 20, value_type = Vec<PhotoUrl>)]
    pub documents: Vec<String>,
    /// The original payment: a return's refund goes back to it.
    #[serde(default)]
    #[schema(value_type = PaymentInput)]
    pub payment: Option<PaymentInput>,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub fault_description: String,
    /// Replaces the requested lines when not empty.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub parts: Vec<PartLine>,
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub note: String,
}

impl ProvideInfoBody {
    fn into_proto(self, request_no: String, idempotency_key: String) -> pb::ProvideInfoRequest {
        pb::ProvideInfoRequest {
            idempotency_key,
            request_no,
            invoice_no: self.invoice_no,
            invoice_date: self.invoice_date.unwrap_or_default(),
            receipt_date: self.receipt_date.unwrap_or_default(),
            serial: self.serial.unwrap_or_default(),
            purchase_date: self.purchase_date.unwrap_or_default(),
            service_contract_no: self.service_contract_no,
            photos: self.photos,
            documents: self.documents,
            payment: self.payment.map(|p| pb::Payment {
                method: p.method.to_proto(),
                reference: p.reference,
                amount: p.amount.as_ref().map(MoneyIn::to_proto),
                payer: p.payer,
            }),
            fault_description: self.fault_description,
            parts: self
                .parts
                .into_iter()
                .map(|l| common::PartLine {
                    part_no: l.part_no,
                    quantity: l.quantity,
                })
                .collect(),
            note: self.note,
        }
    }
}

/// Supply what the reviewer asked for
///
/// Only on a claim in `info_requested` (otherwise 409): the claim is evaluated again, goes back
/// to `pending` and its review deadline resumes. A return's refund needs the original payment.
#[utoipa::path(
    post,
    path = "/v1/claims/{request_no}/info",
    tag = "claims",
    params(
        ("request_no" = RequestNo, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = ProvideInfoBody, example = json!({
        "invoice_date": "2026-11-20",
        "payment": { "method": "wallet", "reference": "WX-4200017301",
                     "amount": { "currency": "CNY", "amount_minor": 399900 } },
        "note": "receipt photographed at the counter"
    })),
    responses((status = 200, description = "Back in the queue", body = Claim,
        headers(("ETag" = EntityTag, description = "The claim's new version")))),
    security(("bearer" = ["branch_agent", "reviewer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn provide_info(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ProvideInfoBody>,
) -> Result<Response, Problem> {
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let req = body.into_proto(request_no, upstream_key(&caller, &headers));
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        PEER,
        "aftersales.claims.v1.ClaimsService/ProvideInfo",
        client.provide_info(req),
    )
    .await?;
    Ok(Claim::from(res.claim.unwrap_or_default()).into_response(StatusCode::OK))
}

/// A deduction from a refund.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deduction {
    #[schema(value_type = DeductionReason)]
    pub reason: String,
    /// What exactly, e.g. "remote control RMT-01 missing".
    pub description: String,
    pub amount: Option<Money>,
    /// The accessory's part number, for a missing accessory.
    pub part_no: String,
}

wire_enum!(DeductionReason, pb::DeductionReason, {
    MissingAccessory = "missing_accessory" => MissingAccessory, Damage = "damage" => Damage,
    ServiceFee = "service_fee" => ServiceFee, Other = "other" => Other,
});

/// The refund of a return, authorized once the warehouse inspected the unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refund {
    #[schema(value_type = Id)]
    pub refund_id: String,
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    /// The product's price as paid.
    pub gross: Option<Money>,
    /// Every deduction, the service fee included, so that the list adds up.
    pub deductions: Vec<Deduction>,
    /// The service fee alone (zero for a quality problem).
    pub service_fee: Option<Money>,
    /// gross − the deductions, never negative: what is paid out.
    pub amount: Option<Money>,
    /// Back to the original payment route.
    pub payment: Option<Payment>,
    /// The warehouse's inspection it was computed from.
    #[schema(value_type = Id)]
    pub return_id: String,
    pub policy_version: String,
    #[schema(format = DateTime)]
    pub authorized_at: Option<String>,
    /// Empty when authorized automatically.
    pub authorized_by: String,
    pub own_reasons: bool,
}

impl From<pb::Refund> for Refund {
    fn from(r: pb::Refund) -> Self {
        Refund {
            refund_id: r.refund_id,
            request_no: r.request_no,
            branch: r.branch,
            gross: money(r.gross),
            deductions: r
                .deductions
                .into_iter()
                .map(|d| Deduction {
                    reason: DeductionReason::text_of(d.reason).to_owned(),
                    description: d.description,
                    amount: money(d.amount),
                    part_no: d.part_no,
                })
                .collect(),
            service_fee: money(r.service_fee),
            amount: money(r.amount),
            payment: r.payment.map(Payment::from),
            return_id: r.return_id,
            policy_version: r.policy_version,
            authorized_at: r.authorized_at.as_ref().and_then(rfc3339),
            authorized_by: r.authorized_by,
            own_reasons: r.own_reasons,
        }
    }
}

/// The refund of a return
///
/// Authorized once the warehouse inspected the returned unit: the price paid, less each
/// accessory that did not come back and, for the customer's own reasons, the service fee.
/// 404 until then.
#[utoipa::path(
    get,
    path = "/v1/claims/{request_no}/refund",
    tag = "claims",
    params(("request_no" = RequestNo, Path)),
    responses((status = 200, description = "The refund", body = Refund)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn refund(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
) -> Result<Json<Refund>, Problem> {
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        PEER,
        "aftersales.claims.v1.ClaimsService/GetRefund",
        client.get_refund(pb::GetRefundRequest { request_no }),
    )
    .await?;
    Ok(Json(Refund::from(res.refund.unwrap_or_default())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_become_lower_case_wire_text() {
        assert_eq!(
            enum_text(
                pb::ClaimStatus::InfoRequested.as_str_name(),
                "CLAIM_STATUS_"
            ),
            "info_requested"
        );
    }

    fn if_match(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn the_version_comes_from_if_match_or_the_body_and_one_is_required() {
        assert_eq!(
            precondition(&if_match("\"3\""), None).unwrap(),
            Precondition::IfMatch(3)
        );
        assert_eq!(
            precondition(&HeaderMap::new(), Some(4)).unwrap(),
            Precondition::Body(4)
        );
        assert_eq!(
            precondition(&if_match("\"4\""), Some(4)).unwrap(),
            Precondition::IfMatch(4)
        );
        assert_eq!(
            precondition(&HeaderMap::new(), None).unwrap_err().status,
            428
        );
        assert_eq!(
            precondition(&if_match("\"3\""), Some(4))
                .unwrap_err()
                .status,
            422
        );
        assert_eq!(precondition(&if_match("3"), None).unwrap_err().status, 400);
        assert_eq!(
            precondition(&if_match("W/\"3\""), None).unwrap_err().status,
            400
        );
    }

    #[test]
    fn every_reject_reason_and_missing_item_has_its_proto_value() {
        for r in RejectReason::ALL {
            assert!(
                pb::RejectReason::from_str_name(&format!(
                    "REJECT_REASON_{}",
                    r.as_str().to_ascii_uppercase()
                ))
                .is_some(),
                "{r:?}"
            );
        }
        for m in MissingInfo::ALL {
            assert!(
                pb::MissingInfo::from_str_name(&format!(
                    "MISSING_INFO_{}",
                    m.as_str().to_ascii_uppercase()
                ))
                .is_some(),
                "{m:?}"
            );
        }
    }
}
