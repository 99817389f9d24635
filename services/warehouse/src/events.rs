//! What the warehouse consumes, declared in one place ([`subscriptions`]), one handler file per
//! kind of event (the keys of the warehouse's row in `platform::topology`): an approved claim
//! reserves its parts, a cancelled request releases them, a completed work order announces the
//! old parts that must come back, a shipment lost or damaged is reserved again as a
//! replacement, a completed pick-up's unit is received for inspection, and a decided dealer
//! claim batch announces the old parts the dealer must send back.

pub mod claim_approved;
pub mod dealer_batch_decided;
pub mod pickup_completed;
pub mod request_cancelled;
pub mod shipment_exception;
pub mod workorder_completed;

use aftersales_platform::bus::Subscription;

use crate::service::Warehouse;

pub fn subscriptions(warehouse: &Warehouse) -> Vec<Subscription> {
    vec![
        Subscription::new(
            "claims.claim.approved",
            claim_approved::ClaimApproved::new(warehouse),
        ),
        Subscription::new(
            "claims.dealer_batch.decided",
            dealer_batch_decided::DealerBatchDecided::new(warehouse),
        ),
        Subscription::new(
            "intake.request.cancelled",
            request_cancelled::RequestCancelled::new(warehouse),
        ),
        Subscription::new(
            "fieldservice.workorder.completed",
            workorder_completed::WorkOrderCompleted::new(warehouse),
        ),
        Subscription::new(
            "logistics.shipment.exception",
            shipment_exception::ShipmentException::new(warehouse),
        ),
        Subscription::new(
            "logistics.pickup.completed",
            pickup_completed::PickupCompleted::new(warehouse),
        ),
    ]
}
