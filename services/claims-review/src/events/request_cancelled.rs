//! `intake.request.cancelled`: an undecided claim is closed (it leaves the queue and its
//! deadline stops); a decided one is kept as it is, since the departments after it release what
//! they hold on their own.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::intake::v1 as intake;
use sea_orm::DatabaseTransaction;

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
        if p.request_no.trim().is_empty() {
            return Err(HandlerError::permanent(anyhow::anyhow!(
                "intake.request.cancelled without a request_no"
            )));
        }
        let branch = if p.branch.is_empty() {
            ev.envelope.branch.clone()
        } else {
            p.branch.clone()
        };
        self.claims
            .cancel(txn, &p.request_no, &branch, &p.reason)
            .await
            .map_err(super::handler_error)?;
        Ok(())
    }
}
