//! Cancellation (issue 12): a request cancelled — `intake.request.cancelled`, or
//! `warehouse.reservation.released` — ends with nothing open or in flight for it here, whatever
//! order the events arrive in. Under the request's lock: a planned shipment is cancelled, a
//! scheduled pick-up is called off (with the sim carrier's pending updates for it), a failed
//! shipment waits for no replacement, and the request keeps a marker so that a confirmation,
//! an issue or an approval arriving later plans, dispatches and schedules nothing. What was
//! dispatched (or collected at the door) goes on: after dispatch, cancellation changes nothing.

use sea_orm::DatabaseTransaction;

use super::Logistics;
use crate::domain::{BranchCode, PickupStatus, RequestNo, ShipmentStatus};
use crate::error::Error;
use crate::store::{pickups, requests, shipments, sim};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CancelOutcome {
    /// The request was not marked cancelled before.
    pub first: bool,
    pub shipments_cancelled: usize,
    pub pickups_cancelled: usize,
}

impl Logistics {
    /// The request is cancelled: see the module doc. `pick_list_id` limits it to one pick list
    /// (a release for a reason other than the cancellation) and leaves no marker.
    pub async fn cancel(
        &self,
        txn: &DatabaseTransaction,
        request_no: &RequestNo,
        branch: &BranchCode,
        reason: &str,
        pick_list_id: Option<&str>,
    ) -> Result<CancelOutcome, Error> {
        let req = self
            .lock_request(txn, request_no.as_str(), branch.as_str())
            .await?;
        let now = self.now();
        let mut out = CancelOutcome::default();
        if pick_list_id.is_none() {
            out.first = !req.cancelled();
            requests::set_cancelled(txn, &req.request_no, now, reason).await?;
        }
        for mut s in shipments::of_request(txn, &req.request_no).await? {
            if pick_list_id.is_some_and(|p| p != s.pick_list_id) {
                continue;
            }
            let changed = match s.status {
                ShipmentStatus::Planned => {
                    s.status = ShipmentStatus::Cancelled;
                    s.cancelled_at = Some(now);
                    true
                }
                ShipmentStatus::Failed if s.replacement_pending && pick_list_id.is_none() => {
                    s.replacement_pending = false;
                    true
                }
                _ => false,
            };
            if changed {
                if s.status == ShipmentStatus::Cancelled {
                    out.shipments_cancelled += 1;
                }
                shipments::save(txn, &s).await?;
            }
        }
        if pick_list_id.is_none() {
            for mut p in pickups::of_request(txn, &req.request_no).await? {
                if p.status != PickupStatus::Scheduled {
                    continue;
                }
                p.status = PickupStatus::Cancelled;
                p.cancelled_at = Some(now);
                if let Some(w) = &p.waybill_no {
                    sim::cancel(txn, w).await?;
                }
                pickups::save(txn, &p).await?;
                out.pickups_cancelled += 1;
            }
        }
        tracing::info!(
            request_no = %req.request_no,
            shipments = out.shipments_cancelled,
            pickups = out.pickups_cancelled,
            "cancellation handled"
        );
        Ok(out)
    }
}
