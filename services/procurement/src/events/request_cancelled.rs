//! `intake.request.cancelled`: take the request's quantities off the PO lines that carry them
//! (cancelling a PO left with nothing), or mark the request so that its shortage, whenever it
//! comes, buys nothing. Handled before, after or concurrently with the shortage, with the same
//! end: see [`crate::service::sourcing`].

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::validate::Violations;
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, RequestNo};
use crate::error::Error;
use crate::service::{CancelOutcome, Cancellation, Procurement};

pub struct RequestCancelled {
    procurement: Procurement,
}

impl RequestCancelled {
    pub fn new(p: &Procurement) -> Self {
        Self {
            procurement: p.clone(),
        }
    }
}

/// The cancellation of the request `request_no` of `branch`, said by `by`.
pub fn cancellation(
    request_no: &str,
    branch: &str,
    by: &'static str,
) -> Result<Cancellation, Error> {
    let mut v = Violations::new();
    let request_no = v.check("request_no", RequestNo::parse(request_no));
    let branch = v.check("branch", BranchCode::parse(branch));
    Ok(v.done(|| {
        Some(Cancellation {
            request_no: request_no?,
            branch: branch?,
            by,
        })
    })?)
}

#[async_trait::async_trait]
impl Handler for RequestCancelled {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: intake::RequestCancelled = ev.payload()?;
        let cmd = cancellation(
            &payload.request_no,
            &payload.branch,
            "intake.request.cancelled",
        )?;
        let outcome = self.procurement.cancel_request(txn, &cmd).await?;
        if outcome == CancelOutcome::AlreadyCancelled {
            tracing::info!(request_no = %cmd.request_no, "request already cancelled; nothing to do");
        }
        Ok(())
    }
}
