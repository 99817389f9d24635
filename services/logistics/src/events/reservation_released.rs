//! `warehouse.reservation.released`: the warehouse gave back what it held for a request. Released
//! because the request was cancelled (the only reason so far, `request_cancelled`), it is a
//! cancellation like intake's, in any order with it; for another reason only the pick list's
//! planned shipment is withdrawn.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::warehouse::v1 as wh;
use aftersales_platform::validate::Violations;
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, RequestNo};
use crate::error::Error;
use crate::service::Logistics;

/// `ReservationReleased.reason` of a cancelled request.
const CANCELLED: &str = "request_cancelled";

pub struct ReservationReleased {
    logistics: Logistics,
}

impl ReservationReleased {
    pub fn new(logistics: &Logistics) -> Self {
        Self {
            logistics: logistics.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for ReservationReleased {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: wh::ReservationReleased = ev.payload()?;
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&payload.request_no));
        let branch = v.check("branch", BranchCode::parse(&payload.branch));
        let (request_no, branch) = v
            .done(|| Some((request_no?, branch?)))
            .map_err(Error::from)?;
        let reason = payload.reason.trim();
        let only = (!reason.is_empty() && reason != CANCELLED && !payload.pick_list_id.is_empty())
            .then_some(payload.pick_list_id.as_str());
        let why = format!(
            "reservation released: {}",
            if reason.is_empty() { CANCELLED } else { reason }
        );
        self.logistics
            .cancel(txn, &request_no, &branch, &why, only)
            .await?;
        Ok(())
    }
}
