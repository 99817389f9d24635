//! `/v1/claims/{request_no}` (GET) and `/v1/claims/{request_no}/decision` (POST) over
//! claims-review's gRPC; JSON as DESIGN §8 pins it.

use aftersales_platform::auth::{Caller, Role};
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use crate::api::wire::{Coverage, rfc3339};
use crate::app::AppState;
use crate::extract::{ANY_ROLE, JsonBody, require};
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::problem::Problem;

const PEER: &str = "claims-review";

/// `CLAIM_STATUS_INFO_REQUESTED` → `info_requested`.
pub fn enum_text(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

#[derive(Debug, Serialize)]
pub struct Money {
    pub currency: String,
    pub amount_minor: i64,
}

fn money(m: Option<common::Money>) -> Option<Money> {
    m.map(|m| Money {
        currency: m.currency,
        amount_minor: m.amount_minor,
    })
}

#[derive(Debug, Serialize)]
pub struct Line {
    pub part_no: String,
    pub quantity: u32,
    pub coverage: String,
    /// The warranty window that applied, as a sentence.
    pub window: String,
    pub fee: Option<Money>,
    pub rule: String,
}

#[derive(Debug, Serialize)]
pub struct Claim {
    pub request_no: String,
    pub branch: String,
    pub status: String,
    pub recommendation: String,
    pub policy_version: String,
    pub lines: Vec<Line>,
    pub explanation: Vec<String>,
    pub due_at: Option<String>,
    pub decided_at: Option<String>,
    pub decided_by: String,
    pub note: String,
    pub missing_info: Vec<String>,
    /// Pass it back as `expected_version` when deciding.
    pub version: u64,
    pub total_fee: Option<Money>,
}

impl From<pb::Claim> for Claim {
    fn from(c: pb::Claim) -> Self {
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
            decided_by: c.decided_by,
            note: c.note,
            version: c.version,
            total_fee: money(c.total_fee),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionBody {
    /// `approve|reject|request_info`.
    pub decision: String,
    /// For `reject`: one of claims-review's reasons, lower-case (`return_window_expired`).
    pub reason_code: String,
    pub note: String,
    /// For `request_info`: what is missing, lower-case (`invoice`, `photos` …).
    pub missing: Vec<String>,
    /// The claim's `version` the reviewer saw; 0 = do not check.
    pub expected_version: u64,
}

impl DecisionBody {
    fn into_proto(
        self,
        request_no: String,
        idempotency_key: String,
    ) -> Result<pb::DecideClaimRequest, Problem> {
        let upper = |s: &str| s.trim().to_ascii_uppercase();
        let (decision, detail) = match self.decision.as_str() {
            "approve" => (
                pb::Decision::Approve,
                Some(pb::decide_claim_request::Detail::Approve(
                    pb::Approve::default(),
                )),
            ),
            "reject" => {
                let code = pb::RejectReason::from_str_name(&format!(
                    "REJECT_REASON_{}",
                    upper(&self.reason_code)
                ))
                .filter(|c| *c != pb::RejectReason::Unspecified)
                .ok_or_else(|| Problem::field("reason_code", "is not a known rejection reason"))?;
                (
                    pb::Decision::Reject,
                    Some(pb::decide_claim_request::Detail::Reject(pb::Reject {
                        reason_code: code as i32,
                    })),
                )
            }
            "request_info" => {
                let mut missing = Vec::new();
                for (i, m) in self.missing.iter().enumerate() {
                    let v = pb::MissingInfo::from_str_name(&format!("MISSING_INFO_{}", upper(m)))
                        .filter(|v| *v != pb::MissingInfo::Unspecified)
                        .ok_or_else(|| {
                            Problem::field(
                                format!("missing[{i}]"),
                                "is not a known kind of information",
                            )
                        })?;
                    missing.push(v as i32);
                }
                (
                    pb::Decision::RequestInfo,
                    Some(pb::decide_claim_request::Detail::RequestInfo(
                        pb::RequestInfo { missing },
                    )),
                )
            }
            _ => {
                return Err(Problem::field(
                    "decision",
                    "must be one of approve|reject|request_info",
                ));
            }
        };
        Ok(pb::DecideClaimRequest {
            idempotency_key,
            request_no,
            expected_version: self.expected_version,
            decision: decision as i32,
            detail,
            note: self.note,
        })
    }
}

/// `GET /v1/claims`: the review queue.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    /// Comma-separated: `pending,info_requested`.
    pub status: Option<String>,
    pub branch: Option<String>,
    pub escalated_only: Option<bool>,
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ClaimList {
    pub items: Vec<Claim>,
    pub next_page_token: String,
}

pub async fn queue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ClaimList>, Problem> {
    require(&caller, ANY_ROLE)?;
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

pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
) -> Result<Json<Claim>, Problem> {
    require(&caller, ANY_ROLE)?;
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        PEER,
        "aftersales.claims.v1.ClaimsService/GetClaim",
        client.get_claim(pb::GetClaimRequest { request_no }),
    )
    .await?;
    Ok(Json(Claim::from(res.claim.unwrap_or_default())))
}

pub async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Json<Claim>, Problem> {
    require(&caller, &[Role::Reviewer])?;
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let req = body.into_proto(request_no, upstream_key(&caller, &headers))?;
    let mut client = state.peers.claims(&caller)?;
    let res = call(
        PEER,
        "aftersales.claims.v1.ClaimsService/DecideClaim",
        client.decide_claim(req),
    )
    .await?;
    Ok(Json(Claim::from(res.claim.unwrap_or_default())))
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

    #[test]
    fn a_decision_names_its_bad_field() {
        let b = DecisionBody {
            decision: "maybe".into(),
            ..Default::default()
        };
        assert_eq!(
            b.into_proto("AS".into(), "k".into())
                .unwrap_err()
                .violations[0]
                .field,
            "decision"
        );
        let b = DecisionBody {
            decision: "reject".into(),
            reason_code: "because".into(),
            ..Default::default()
        };
        assert_eq!(
            b.into_proto("AS".into(), "k".into())
                .unwrap_err()
                .violations[0]
                .field,
            "reason_code"
        );
    }
}
