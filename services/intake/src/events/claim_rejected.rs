//! `claims.claim.rejected`: the timeline entry, then the request closes with the reason, so the
//! branch can tell the customer why.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::outbox::Outbox;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::intake::v1 as pb;
use sea_orm::DatabaseTransaction;

use super::timeline::{apply, close, request_no_of};
use crate::domain::RequestStatus;
use crate::notify::Notifier;
use crate::service::Intake;

pub struct ClaimRejected {
    outbox: Outbox,
    notifier: Notifier,
}

impl ClaimRejected {
    pub fn new(intake: &Intake) -> Self {
        Self {
            outbox: intake.outbox.clone(),
            notifier: intake.notifier.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for ClaimRejected {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: claims::ClaimRejected = ev.payload()?;
        let summary = super::summary::summarize(ev);
        let Some(r) = apply(txn, &self.notifier, ev, &request_no_of(ev), &summary).await? else {
            return Ok(());
        };
        if r.status == RequestStatus::Rejected {
            let detail = if payload.reason.is_empty() {
                "claim rejected".to_owned()
            } else {
                format!("claim rejected: {}", payload.reason)
            };
            close(
                txn,
                &self.outbox,
                &self.notifier,
                &r,
                pb::CloseReason::ClaimRejected,
                &detail,
            )
            .await?;
        }
        Ok(())
    }
}
