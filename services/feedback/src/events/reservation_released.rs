//! `warehouse.reservation.released`: what was held for a request was given back because the
//! request was cancelled. Handled as the cancellation itself, so the visits are called off even
//! when intake's own event is late.

use aftersales_platform::bus::Received;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use sea_orm::DatabaseTransaction;

use super::{Reaction, branch, request_no};
use crate::error::Error;
use crate::service::Feedback;

pub struct ReservationReleased;

#[async_trait::async_trait]
impl Reaction for ReservationReleased {
    async fn react(
        &self,
        feedback: &Feedback,
        txn: &DatabaseTransaction,
        ev: &Received,
    ) -> Result<(), Error> {
        let p: warehouse::ReservationReleased = ev
            .payload()
            .map_err(|e| Error::invalid("payload", e.to_string()))?;
        // Only a cancellation releases a reservation today; another reason is not ours to act on.
        if !p.reason.is_empty() && p.reason != "request_cancelled" {
            return Ok(());
        }
        let no = request_no(&p.request_no, ev)?;
        let branch = branch(&p.branch, ev, &no)?;
        feedback
            .cancel_request(
                txn,
                no.as_str(),
                branch.as_str(),
                "reservation released: request cancelled",
            )
            .await?;
        Ok(())
    }
}
