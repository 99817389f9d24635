//! `intake.request.cancelled`: release what the request holds (its stock becomes available and
//! waiting back-orders are served from it; `warehouse.reservation.released` tells downstream),
//! or mark it so a later approval reserves nothing. Handled before, after or concurrently with
//! the approval, with the same end: see [`crate::service::Warehouse::release`].

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::validate::Violations;
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, RequestNo};
use crate::error::Error;
use crate::service::{ReleaseOutcome, Warehouse};

pub struct RequestCancelled {
    warehouse: Warehouse,
}

impl RequestCancelled {
    pub fn new(warehouse: &Warehouse) -> Self {
        Self {
            warehouse: warehouse.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for RequestCancelled {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: intake::RequestCancelled = ev.payload()?;
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&payload.request_no));
        let branch = v.check("branch", BranchCode::parse(&payload.branch));
        let (request_no, branch) = v
            .done(|| Some((request_no?, branch?)))
            .map_err(Error::from)?;
        let outcome = self.warehouse.release(txn, &request_no, &branch).await?;
        match outcome {
            ReleaseOutcome::Released | ReleaseOutcome::Marked => {}
            ReleaseOutcome::AlreadyReleased => {
                tracing::info!(%request_no, "request already released; nothing to do");
            }
            ReleaseOutcome::AlreadyIssued => {
                tracing::warn!(%request_no, "request cancelled after its parts were issued; nothing to release");
            }
        }
        Ok(())
    }
}
