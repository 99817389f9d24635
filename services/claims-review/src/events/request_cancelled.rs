//! `intake.request.cancelled`: the request's claim closes, whatever it waits for and also when it
//! was approved (a rejected one stays as it is); one that has not opened yet is closed in
//! advance, so the submission arriving later opens nothing. Cancelling and opening serialize on
//! the claim's row, so any order or overlap of the two events ends the same way.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::ids::{BranchCode, RequestNo};
use aftersales_platform::proto::intake::v1 as intake;
use sea_orm::DatabaseTransaction;

use crate::error::Error;
use crate::service::Claims;

pub struct RequestCancelled {
    claims: Claims,
}

impl RequestCancelled {
    pub fn new(claims: &Claims) -> Self {
        Self {
            claims: claims.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for RequestCancelled {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let p: intake::RequestCancelled = ev.payload()?;
        let request_no =
            RequestNo::parse(&p.request_no).map_err(|e| Error::invalid("request_no", e))?;
        // Older producers left the branch to the envelope.
        let branch = if p.branch.trim().is_empty() {
            &ev.envelope.branch
        } else {
            &p.branch
        };
        let branch = BranchCode::parse(branch).map_err(|e| Error::invalid("branch", e))?;
        self.claims
            .cancel(txn, &request_no, &branch, &p.reason)
            .await?;
        Ok(())
    }
}
