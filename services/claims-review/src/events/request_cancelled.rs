//! `intake.request.cancelled`: an undecided claim is closed (it leaves the queue and its
//! deadline stops); a decided one is kept as it is, since the departments after it release what
//! they hold on their own.

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
