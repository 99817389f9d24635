//! The tonic service: proto → commands through parsing (once, here), authorization on every
//! call, stored claim → proto for answers, one `Error → Status` mapping.

use aftersales_platform::auth::{Caller, Role, Verifier};
use aftersales_platform::grpc::Violation;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::claims::v1::claims_service_server::ClaimsService;
use aftersales_platform::proto::common::v1 as common;
use chrono::{NaiveDate, Utc};
use tonic::{Request, Response, Status};

use crate::domain::ClaimStatus;
use crate::domain::policy::LapseAction;
use crate::error::Error;
use crate::mapping::{self, from_timestamp, timestamp};
use crate::service::{ApprovedLine, Claims, Decide, Decision, Info};
use crate::store::claims::{ListFilter, StoredClaim};

/// Who decides claims (admin always may).
const REVIEWERS: &[Role] = &[Role::Reviewer];
/// Who answers an information request: the branch, or a reviewer on its behalf.
const INFORMANTS: &[Role] = &[Role::BranchAgent, Role::Reviewer];
/// Who reads claims: every role, each within its branch scope.
const READERS: &[Role] = &[
    Role::BranchAgent,
    Role::Reviewer,
    Role::Warehouse,
    Role::Procurement,
    Role::Dispatcher,
    Role::Technician,
    Role::Analyst,
];

pub struct Api {
    pub claims: Claims,
    pub verifier: Verifier,
    pub max_page_size: u32,
    pub loaded_at: chrono::DateTime<Utc>,
}

impl Api {
    fn authorize<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Caller, Status> {
        Ok(self.verifier.require(req.metadata(), roles)?)
    }
}

#[derive(Default)]
struct Violations(Vec<Violation>);

impl Violations {
    fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation::new(field, description));
    }
    fn check(self) -> Result<(), Status> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0).into())
        }
    }
}

/// `AS-<YYMM>-<branch>-<seq>`, checked loosely: intake issued it.
fn request_no(v: &mut Violations, s: &str) -> String {
    let t = s.trim();
    let ok = t.len() <= 40
        && t.starts_with("AS-")
        && t.split('-').count() == 4
        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        v.add(
            "request_no",
            "must be a tracking number like AS-2611-SH01-000042",
        );
    }
    t.to_owned()
}

fn idempotency_key(v: &mut Violations, s: &str) -> String {
    let t = s.trim();
    if t.is_empty() || t.len() > 100 {
        v.add("idempotency_key", "is required (at most 100 characters)");
    }
    t.to_owned()
}

fn text(v: &mut Violations, field: &str, s: &str, max: usize) -> String {
    let t = s.trim();
    if t.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    t.to_owned()
}

fn optional_date(v: &mut Violations, field: &str, s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) if d <= Utc::now().date_naive() => Some(d),
        Ok(_) => {
            v.add(field, "must not be in the future");
            None
        }
        Err(_) => {
            v.add(field, format!("{t:?} is not a date YYYY-MM-DD"));
            None
        }
    }
}

#[tonic::async_trait]
impl ClaimsService for Api {
    async fn list_claims(
        &self,
        request: Request<pb::ListClaimsRequest>,
    ) -> Result<Response<pb::ListClaimsResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let m = request.into_inner();
        let mut v = Violations::default();
        let asked = m.branch.trim();
        let branch = match (caller.branch(), asked) {
            (Some(own), "") => Some(own.to_owned()),
            (Some(own), b) if b == own => Some(own.to_owned()),
            // Another branch's queue looks exactly like an empty one.
            (Some(_), _) => return Ok(Response::new(pb::ListClaimsResponse::default())),
            (None, "") => None,
            (None, b) => Some(b.to_owned()),
        };
        let mut statuses = Vec::new();
        for (i, s) in m.statuses.iter().enumerate() {
            match pb::ClaimStatus::try_from(*s)
                .ok()
                .and_then(status_from_proto)
            {
                Some(st) => statuses.push(st),
                None => v.add(
                    format!("statuses[{i}]"),
                    format!("{s} is not a claim status"),
                ),
            }
        }
        if statuses.is_empty() {
            statuses = vec![ClaimStatus::Pending, ClaimStatus::InfoRequested];
        }
        let due_before = m.due_before.as_ref().and_then(|t| {
            let d = from_timestamp(t);
            if d.is_none() {
                v.add("due_before", "is not a valid timestamp");
            }
            d
        });
        let limit = match m.page_size {
            0 => 50.min(self.max_page_size),
            n if n > self.max_page_size => {
                v.add(
                    "page_size",
                    format!("must be at most {}", self.max_page_size),
                );
                self.max_page_size
            }
            n => n,
        };
        let offset = if m.page_token.is_empty() {
            0
        } else {
            match m
                .page_token
                .strip_prefix("o")
                .and_then(|n| n.parse::<u64>().ok())
            {
                Some(o) => o,
                None => {
                    v.add("page_token", "is not a token this service issued");
                    0
                }
            }
        };
        v.check()?;
        let (rows, more) = self
            .claims
            .list(ListFilter {
                branch,
                statuses,
                due_before,
                escalated_only: m.escalated_only,
                offset,
                limit,
            })
            .await?;
        Ok(Response::new(pb::ListClaimsResponse {
            claims: rows.iter().map(to_proto).collect(),
            next_page_token: if more {
                format!("o{}", offset + limit as u64)
            } else {
                String::new()
            },
        }))
    }

    async fn get_claim(
        &self,
        request: Request<pb::GetClaimRequest>,
    ) -> Result<Response<pb::GetClaimResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let mut v = Violations::default();
        let no = request_no(&mut v, &request.get_ref().request_no);
        v.check()?;
        let c = self.claims.get(&caller, &no).await?;
        Ok(Response::new(pb::GetClaimResponse {
            claim: Some(to_proto(&c)),
        }))
    }

    async fn decide_claim(
        &self,
        request: Request<pb::DecideClaimRequest>,
    ) -> Result<Response<pb::DecideClaimResponse>, Status> {
        let caller = self.authorize(&request, REVIEWERS)?;
        let cmd = parse_decide(request.get_ref())?;
        let c = self.claims.decide(&caller, cmd).await?;
        Ok(Response::new(pb::DecideClaimResponse {
            claim: Some(to_proto(&c)),
        }))
    }

    async fn provide_info(
        &self,
        request: Request<pb::ProvideInfoRequest>,
    ) -> Result<Response<pb::ProvideInfoResponse>, Status> {
        let caller = self.authorize(&request, INFORMANTS)?;
        let info = parse_info(request.get_ref())?;
        let c = self.claims.provide_info(&caller, info).await?;
        Ok(Response::new(pb::ProvideInfoResponse {
            claim: Some(to_proto(&c)),
        }))
    }

    async fn get_refund(
        &self,
        request: Request<pb::GetRefundRequest>,
    ) -> Result<Response<pb::GetRefundResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let mut v = Violations::default();
        let no = request_no(&mut v, &request.get_ref().request_no);
        v.check()?;
        let refund = self.claims.refund(&caller, &no).await?;
        Ok(Response::new(pb::GetRefundResponse {
            refund: Some(refund),
        }))
    }

    async fn get_policy(
        &self,
        request: Request<pb::GetPolicyRequest>,
    ) -> Result<Response<pb::GetPolicyResponse>, Status> {
        self.authorize(&request, READERS)?;
        let p = &self.claims.policy;
        let asked = request.get_ref().version.trim();
        if !asked.is_empty() && asked != p.version {
            return Err(Error::NotFound(format!("policy version {asked}")).into());
        }
        Ok(Response::new(pb::GetPolicyResponse {
            policy: Some(pb::PolicySummary {
                version: p.version.clone(),
                loaded_at: Some(timestamp(self.loaded_at)),
                review_days: p.review_days,
                on_deadline: match p.on_deadline {
                    LapseAction::Escalate => pb::SlaAction::Escalated,
                    LapseAction::AutoApprove => pb::SlaAction::AutoApproved,
                } as i32,
                non_returnable_categories: p.non_returnable.iter().cloned().collect(),
                rules: p.rules(),
            }),
        }))
    }
}

fn parse_decide(m: &pb::DecideClaimRequest) -> Result<Decide, Status> {
    use pb::decide_claim_request::Detail;
    let mut v = Violations::default();
    let idempotency_key = idempotency_key(&mut v, &m.idempotency_key);
    let request_no = request_no(&mut v, &m.request_no);
    if m.expected_version == 0 {
        v.add(
            "expected_version",
            "is required: the claim's version you saw",
        );
    }
    let note = text(&mut v, "note", &m.note, 2000);
    let decision = match (pb::Decision::try_from(m.decision), &m.detail) {
        (Ok(pb::Decision::Approve), Some(Detail::Approve(a))) => parse_approve(&mut v, a),
        (Ok(pb::Decision::Approve), None) => parse_approve(&mut v, &pb::Approve::default()),
        (Ok(pb::Decision::Reject), Some(Detail::Reject(r))) => {
            match pb::RejectReason::try_from(r.reason_code)
                .ok()
                .and_then(mapping::reject_reason_from_proto)
            {
                Some(reason) => {
                    if note.is_empty() {
                        v.add("note", "is required for a rejection: the reason in words");
                    }
                    Decision::Reject { reason }
                }
                None => {
                    v.add(
                        "reject.reason_code",
                        "is required: one of the fixed reject reasons",
                    );
                    Decision::Reject {
                        reason: crate::domain::RejectReason::Other,
                    }
                }
            }
        }
        (Ok(pb::Decision::Reject), _) => {
            v.add("reject", "is required with decision REJECT");
            Decision::Reject {
                reason: crate::domain::RejectReason::Other,
            }
        }
        (Ok(pb::Decision::RequestInfo), Some(Detail::RequestInfo(r))) => {
            let mut missing = Vec::new();
            for (i, x) in r.missing.iter().enumerate() {
                match pb::MissingInfo::try_from(*x) {
                    Ok(pb::MissingInfo::Unspecified) | Err(_) => v.add(
                        format!("request_info.missing[{i}]"),
                        format!("{x} is not a kind of missing information"),
                    ),
                    Ok(mi) => missing.push(mi),
                }
            }
            if r.missing.is_empty() {
                v.add(
                    "request_info.missing",
                    "must name at least one missing item",
                );
            }
            Decision::RequestInfo { missing }
        }
        (Ok(pb::Decision::RequestInfo), _) => {
            v.add("request_info", "is required with decision REQUEST_INFO");
            Decision::RequestInfo { missing: vec![] }
        }
        (Ok(pb::Decision::Approve), _) => {
            v.add(
                "detail",
                "must be approve (or absent) with decision APPROVE",
            );
            Decision::RequestInfo { missing: vec![] }
        }
        _ => {
            v.add(
                "decision",
                "is required: one of APPROVE, REJECT, REQUEST_INFO",
            );
            Decision::RequestInfo { missing: vec![] }
        }
    };
    v.check()?;
    Ok(Decide {
        idempotency_key,
        request_no,
        expected_version: m.expected_version,
        decision,
        note,
    })
}

fn parse_approve(v: &mut Violations, a: &pb::Approve) -> Decision {
    let mut lines = Vec::new();
    for (i, l) in a.lines.iter().enumerate() {
        let coverage = match common::Coverage::try_from(l.coverage) {
            Ok(c) => mapping::coverage_from_proto(c),
            Err(_) => {
                v.add(
                    format!("approve.lines[{i}].coverage"),
                    "is not one of free, paid, contract",
                );
                None
            }
        };
        let fee = l.fee.as_ref().map(|f| f.amount_minor);
        if fee.is_some_and(|f| f < 0) {
            v.add(format!("approve.lines[{i}].fee"), "must not be negative");
        }
        lines.push(ApprovedLine {
            part_no: l.part_no.trim().to_uppercase(),
            quantity: l.quantity,
            coverage,
            fee,
        });
    }
    Decision::Approve {
        lines,
        onsite_required: a.onsite_required,
        ship_to: a.ship_to.clone(),
        own_reasons: a.own_reasons,
    }
}

fn parse_info(m: &pb::ProvideInfoRequest) -> Result<Info, Status> {
    let mut v = Violations::default();
    let mut parts = Vec::new();
    for (i, p) in m.parts.iter().enumerate() {
        let no = p.part_no.trim().to_uppercase();
        if no.is_empty() || no.len() > 40 {
            v.add(
                format!("parts[{i}].part_no"),
                "is required (at most 40 characters)",
            );
        }
        if p.quantity == 0 || p.quantity > 999 {
            v.add(format!("parts[{i}].quantity"), "must be between 1 and 999");
        }
        parts.push((no, p.quantity));
    }
    for (i, url) in m.photos.iter().chain(m.documents.iter()).enumerate() {
        let u = url.trim();
        if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 {
            v.add(format!("photos[{i}]"), "must be an http(s) URL");
        }
    }
    let info = Info {
        idempotency_key: idempotency_key(&mut v, &m.idempotency_key),
        request_no: request_no(&mut v, &m.request_no),
        invoice_no: text(&mut v, "invoice_no", &m.invoice_no, 64),
        invoice_date: optional_date(&mut v, "invoice_date", &m.invoice_date),
        receipt_date: optional_date(&mut v, "receipt_date", &m.receipt_date),
        serial: text(&mut v, "serial", &m.serial, 64),
        purchase_date: optional_date(&mut v, "purchase_date", &m.purchase_date),
        service_contract_no: text(&mut v, "service_contract_no", &m.service_contract_no, 64),
        photos: m
            .photos
            .iter()
            .chain(m.documents.iter())
            .map(|s| s.trim().to_owned())
            .collect(),
        payment: m.payment.clone(),
        fault_description: text(&mut v, "fault_description", &m.fault_description, 4000),
        parts,
        note: text(&mut v, "note", &m.note, 2000),
    };
    v.check()?;
    Ok(info)
}

pub fn status_to_proto(s: ClaimStatus) -> pb::ClaimStatus {
    match s {
        ClaimStatus::Pending => pb::ClaimStatus::Pending,
        ClaimStatus::Approved => pb::ClaimStatus::Approved,
        ClaimStatus::Rejected => pb::ClaimStatus::Rejected,
        ClaimStatus::InfoRequested => pb::ClaimStatus::InfoRequested,
        ClaimStatus::Cancelled => pb::ClaimStatus::Cancelled,
    }
}

fn status_from_proto(s: pb::ClaimStatus) -> Option<ClaimStatus> {
    ClaimStatus::ALL
        .into_iter()
        .find(|d| status_to_proto(*d) == s)
}

/// The stored claim as the API shows it; the queue's columns are authoritative.
pub fn to_proto(c: &StoredClaim) -> pb::Claim {
    let mut claim = c.claim.clone();
    claim.status = status_to_proto(c.status) as i32;
    claim.version = c.version as u64;
    claim.due_at = c.due_at.map(timestamp);
    claim.escalated = c.escalated;
    claim
}
