//! The tonic service: authorization on every call, the request parsed once into its domain
//! command ([`parse`]), the claim → proto for answers ([`crate::mapping`]), the platform's one
//! `Error → Status` mapping.

pub mod dealers;
pub mod parse;

use aftersales_platform::auth::{Caller, Role, Verifier};
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::claims::v1::claims_service_server::ClaimsService;
use aftersales_platform::validate::Invalid;
use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};

use crate::domain::command::Decide;
use crate::domain::policy::LapseAction;
use crate::error::Error;
use crate::mapping::{claim_to_proto, refund_to_proto, timestamp};
use crate::service::Claims;

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
    Role::Logistics,
    Role::Dispatcher,
    Role::Technician,
    Role::Analyst,
];

pub struct Api {
    pub claims: Claims,
    pub verifier: Verifier,
    pub max_page_size: u32,
    /// When the policy was loaded, as `GetPolicy` reports it.
    pub loaded_at: DateTime<Utc>,
}

impl Api {
    fn authorize<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Caller, Status> {
        Ok(self.verifier.require(req.metadata(), roles)?)
    }
}

fn invalid(e: Invalid) -> Status {
    Error::from(e).into()
}

#[tonic::async_trait]
impl ClaimsService for Api {
    async fn list_claims(
        &self,
        request: Request<pb::ListClaimsRequest>,
    ) -> Result<Response<pb::ListClaimsResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let query = parse::list(request.get_ref(), self.max_page_size).map_err(invalid)?;
        let (rows, next) = self.claims.list(&caller, query).await?;
        Ok(Response::new(pb::ListClaimsResponse {
            claims: rows.iter().map(claim_to_proto).collect(),
            next_page_token: next.as_ref().map(parse::page_token).unwrap_or_default(),
        }))
    }

    async fn get_claim(
        &self,
        request: Request<pb::GetClaimRequest>,
    ) -> Result<Response<pb::GetClaimResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let no = parse::request_no(&request.get_ref().request_no).map_err(invalid)?;
        let c = self.claims.get(&caller, &no).await?;
        Ok(Response::new(pb::GetClaimResponse {
            claim: Some(claim_to_proto(&c)),
        }))
    }

    async fn decide_claim(
        &self,
        request: Request<pb::DecideClaimRequest>,
    ) -> Result<Response<pb::DecideClaimResponse>, Status> {
        let caller = self.authorize(&request, REVIEWERS)?;
        let cmd = Decide::try_from(request.into_inner()).map_err(invalid)?;
        let c = self.claims.decide(&caller, cmd).await?;
        Ok(Response::new(pb::DecideClaimResponse {
            claim: Some(claim_to_proto(&c)),
        }))
    }

    async fn provide_info(
        &self,
        request: Request<pb::ProvideInfoRequest>,
    ) -> Result<Response<pb::ProvideInfoResponse>, Status> {
        let caller = self.authorize(&request, INFORMANTS)?;
        let info =
            parse::provide_info(request.into_inner(), self.claims.today()).map_err(invalid)?;
        let c = self.claims.provide_info(&caller, info).await?;
        Ok(Response::new(pb::ProvideInfoResponse {
            claim: Some(claim_to_proto(&c)),
        }))
    }

    async fn get_refund(
        &self,
        request: Request<pb::GetRefundRequest>,
    ) -> Result<Response<pb::GetRefundResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let no = parse::request_no(&request.get_ref().request_no).map_err(invalid)?;
        let refund = self.claims.refund(&caller, &no).await?;
        Ok(Response::new(pb::GetRefundResponse {
            refund: Some(refund_to_proto(&refund)),
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
            return Err(Error::not_found(format!("policy version {asked}")).into());
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

    async fn create_dealer(
        &self,
        request: Request<pb::CreateDealerRequest>,
    ) -> Result<Response<pb::CreateDealerResponse>, Status> {
        self.create_dealer_rpc(request).await
    }

    async fn get_dealer(
        &self,
        request: Request<pb::GetDealerRequest>,
    ) -> Result<Response<pb::GetDealerResponse>, Status> {
        self.get_dealer_rpc(request).await
    }

    async fn list_dealers(
        &self,
        request: Request<pb::ListDealersRequest>,
    ) -> Result<Response<pb::ListDealersResponse>, Status> {
        self.list_dealers_rpc(request).await
    }

    async fn submit_dealer_batch(
        &self,
        request: Request<pb::SubmitDealerBatchRequest>,
    ) -> Result<Response<pb::SubmitDealerBatchResponse>, Status> {
        self.submit_dealer_batch_rpc(request).await
    }

    async fn get_dealer_batch(
        &self,
        request: Request<pb::GetDealerBatchRequest>,
    ) -> Result<Response<pb::GetDealerBatchResponse>, Status> {
        self.get_dealer_batch_rpc(request).await
    }

    async fn get_statement(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<Response<pb::GetStatementResponse>, Status> {
        self.get_statement_rpc(request).await
    }
}
