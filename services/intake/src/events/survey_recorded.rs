//! `feedback.survey.recorded`: the return visit's survey. Solved: the request's life is over and
//! it closes. Not solved: it stays open (feedback opened a complaint, field-service a follow-up
//! work order); the timeline says so.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::outbox::Outbox;
use aftersales_platform::proto::feedback::v1 as feedback;
use aftersales_platform::proto::intake::v1 as pb;
use sea_orm::DatabaseTransaction;

use super::timeline::{apply, close, request_no_of};
use crate::domain::RequestStatus;
use crate::notify::Notifier;
use crate::service::Intake;
use crate::store::requests;

pub struct SurveyRecorded {
    outbox: Outbox,
    notifier: Notifier,
}

impl SurveyRecorded {
    pub fn new(intake: &Intake) -> Self {
        Self {
            outbox: intake.outbox.clone(),
            notifier: intake.notifier.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for SurveyRecorded {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let survey: feedback::SurveyRecorded = ev.payload()?;
        let no = request_no_of(ev);
        let Some(before) = requests::get(txn, &no).await? else {
            return Ok(());
        };
        if before.status.is_final() {
            // Still worth a line in the timeline, but a closed or cancelled request stays so.
            apply(txn, &self.notifier, ev, &no, &super::summary::summarize(ev)).await?;
            return Ok(());
        }
        let Some(r) = apply(txn, &self.notifier, ev, &no, &super::summary::summarize(ev)).await?
        else {
            return Ok(());
        };
        if survey.resolved && r.status != RequestStatus::Cancelled {
            close(
                txn,
                &self.outbox,
                &self.notifier,
                &r,
                pb::CloseReason::SurveyRecorded,
                "survey recorded after the return visit: problem solved",
            )
            .await?;
        }
        Ok(())
    }
}
