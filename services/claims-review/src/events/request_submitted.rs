//! `intake.request.submitted`: open the claim, evaluate it against the policy and, where the
//! policy decides alone, approve it. A request opens one claim however often it arrives, and
//! none once its cancellation was handled. The request is parsed here, once, into the domain's
//! [`Submission`].

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::ids::{BranchCode, RequestNo};
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::validate::{Invalid, Violations};
use sea_orm::DatabaseTransaction;

use crate::domain::command::Submission;
use crate::error::Error;
use crate::mapping;
use crate::service::Claims;

pub struct RequestSubmitted {
    claims: Claims,
}

impl RequestSubmitted {
    pub fn new(claims: &Claims) -> Self {
        Self {
            claims: claims.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for RequestSubmitted {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: intake::RequestSubmitted = ev.payload()?;
        let request = payload
            .request
            .ok_or_else(|| Error::invalid("request", "is required"))?;
        let submission = Submission::try_from(&request).map_err(Error::from)?;
        self.claims.open(txn, &submission).await?;
        Ok(())
    }
}

impl TryFrom<&intake::ServiceRequest> for Submission {
    type Error = Invalid;

    fn try_from(r: &intake::ServiceRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("request.request_no", RequestNo::parse(&r.request_no));
        let branch = v.check("request.branch", BranchCode::parse(&r.branch));
        let kind = v.check("request.kind", mapping::kind_from_proto(r.kind));
        let product = v.check(
            "request.product",
            mapping::product_from_proto(&r.product.clone().unwrap_or_default(), "product"),
        );
        v.done(|| {
            Some(Submission {
                request_no: request_no?,
                branch: branch?,
                kind: kind?,
                urgency: mapping::urgency_from_proto(r.urgency),
                customer: mapping::customer_from_proto(&r.customer.clone().unwrap_or_default()),
                product: product?,
                fault_description: r.fault_description.clone(),
                photos: r.photos.clone(),
                parts: r
                    .parts
                    .iter()
                    .map(|p| (p.part_no.trim().to_uppercase(), p.quantity))
                    .collect(),
                misuse_suspected: r.misuse_suspected,
                submitted_at: r.created_at.as_ref().and_then(mapping::from_timestamp),
            })
        })
    }
}
