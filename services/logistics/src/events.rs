//! What logistics consumes, declared in one place ([`subscriptions`]), one handler file per kind
//! of event (the keys of logistics' row in `platform::topology`): a confirmed reservation plans
//! a shipment, issued parts pack and dispatch it, an approved return books a pick-up, a
//! cancelled request — or a released reservation — leaves nothing open or in flight, and a
//! dealer's consignment is shipped with its own notice (no request, no shipment event).

pub mod claim_approved;
pub mod consignment_issued;
pub mod parts_issued;
pub mod request_cancelled;
pub mod reservation_confirmed;
pub mod reservation_released;

use aftersales_platform::bus::Subscription;

use crate::service::Logistics;

pub fn subscriptions(logistics: &Logistics) -> Vec<Subscription> {
    vec![
        Subscription::new(
            "warehouse.reservation.confirmed",
            reservation_confirmed::ReservationConfirmed::new(logistics),
        ),
        Subscription::new(
            "warehouse.parts.issued",
            parts_issued::PartsIssued::new(logistics),
        ),
        Subscription::new(
            "claims.claim.approved",
            claim_approved::ClaimApproved::new(logistics),
        ),
        Subscription::new(
            "intake.request.cancelled",
            request_cancelled::RequestCancelled::new(logistics),
        ),
        Subscription::new(
            "warehouse.reservation.released",
            reservation_released::ReservationReleased::new(logistics),
        ),
        Subscription::new(
            "warehouse.consignment.issued",
            consignment_issued::ConsignmentIssued::new(logistics),
        ),
    ]
}
