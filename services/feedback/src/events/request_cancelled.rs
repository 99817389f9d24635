//! `intake.request.cancelled`: the request's open visits are called off; one whose job's event
//! has not come yet is never scheduled (the mark stays on the request's row).

use aftersales_platform::bus::Received;
use aftersales_platform::proto::intake::v1 as intake;
use sea_orm::DatabaseTransaction;

use super::{Reaction, branch, request_no};
use crate::error::Error;
use crate::service::Feedback;

pub struct RequestCancelled;

#[async_trait::async_trait]
impl Reaction for RequestCancelled {
    async fn react(
        &self,
        feedback: &Feedback,
        txn: &DatabaseTransaction,
        ev: &Received,
    ) -> Result<(), Error> {
        let p: intake::RequestCancelled = ev
            .payload()
            .map_err(|e| Error::invalid("payload", e.to_string()))?;
        let no = request_no(&p.request_no, ev)?;
        let branch = branch(&p.branch, ev, &no)?;
        let reason = if p.reason.trim().is_empty() {
            "request cancelled"
        } else {
            p.reason.trim()
        };
        feedback
            .cancel_request(txn, no.as_str(), branch.as_str(), reason)
            .await?;
        Ok(())
    }
}
