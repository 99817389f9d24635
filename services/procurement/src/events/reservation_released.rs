//! `warehouse.reservation.released`: the warehouse gave back what it held for a cancelled
//! request, one event per pick list or back-order (its first reservation's and each
//! replacement's). Nothing needs buying for the request any more, of any of its back-orders: the
//! same as its cancellation (whichever comes first of these and intake's does the work; the
//! others find the request cancelled).

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::warehouse::v1 as warehouse;
use sea_orm::DatabaseTransaction;

use super::request_cancelled::cancellation;
use crate::service::Procurement;

pub struct ReservationReleased {
    procurement: Procurement,
}

impl ReservationReleased {
    pub fn new(p: &Procurement) -> Self {
        Self {
            procurement: p.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for ReservationReleased {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: warehouse::ReservationReleased = ev.payload()?;
        let cmd = cancellation(
            &payload.request_no,
            &payload.branch,
            "warehouse.reservation.released",
        )?;
        self.procurement.cancel_request(txn, &cmd).await?;
        Ok(())
    }
}
