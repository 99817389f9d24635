//! `intake.request.cancelled`: the request's open work orders end CANCELLED and free their
//! slots (the appointment row is released in this transaction, the Redis hold dropped); a
//! cancellation handled before the approval leaves the marker on which nothing is opened later.
//! Handled before, after or concurrently with the approval, delivery or a booking, with the same
//! end: see [`crate::service::opening`].

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::ids::{BranchCode, RequestNo};
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::validate::Violations;
use sea_orm::DatabaseTransaction;

use crate::error::Error;
use crate::service::FieldService;

pub struct RequestCancelled {
    svc: FieldService,
}

impl RequestCancelled {
    pub fn new(svc: &FieldService) -> Self {
        Self { svc: svc.clone() }
    }
}

#[async_trait::async_trait]
impl Handler for RequestCancelled {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let p: intake::RequestCancelled = ev.payload()?;
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let (request_no, branch) = v
            .done(|| Some((request_no?, branch?)))
            .map_err(Error::from)?;
        let cancelled = self
            .svc
            .cancel_request(txn, &request_no, &branch, &p.reason)
            .await?;
        for no in &cancelled {
            // A hold is advice only: dropping it early (should this transaction roll back) frees
            // nothing that is booked.
            self.svc.holds.release_quietly(no).await;
        }
        Ok(())
    }
}
