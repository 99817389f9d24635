//! The request's lifecycle: SUBMITTED → UNDER_REVIEW → APPROVED/REJECTED → SOURCING → SHIPPED →
//! DELIVERED → IN_SERVICE → COMPLETED → CLOSED, or CANCELLED.
//!
//! The status follows the events of the other services. Delivery order is not guaranteed, so the
//! status only moves forward: an event that would move it back (a late `claim.opened` after
//! `claim.approved`) is kept in the timeline and leaves the status alone. CLOSED and CANCELLED
//! are final.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestStatus {
    Submitted,
    UnderReview,
    Approved,
    Rejected,
    Sourcing,
    Shipped,
    Delivered,
    InService,
    Completed,
    Closed,
    Cancelled,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 11] = [
        Self::Submitted,
        Self::UnderReview,
        Self::Approved,
        Self::Rejected,
        Self::Sourcing,
        Self::Shipped,
        Self::Delivered,
        Self::InService,
        Self::Completed,
        Self::Closed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::UnderReview => "under_review",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Sourcing => "sourcing",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::InService => "in_service",
            Self::Completed => "completed",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Position along the lifecycle; APPROVED and REJECTED are alternatives at the same step.
    fn rank(self) -> u8 {
        match self {
            Self::Submitted => 1,
            Self::UnderReview => 2,
            Self::Approved | Self::Rejected => 3,
            Self::Sourcing => 4,
            Self::Shipped => 5,
            Self::Delivered => 6,
            Self::InService => 7,
            Self::Completed => 8,
            Self::Closed | Self::Cancelled => 9,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Closed | Self::Cancelled)
    }

    /// A branch may cancel until the parts or the technician are on their way.
    pub fn can_cancel(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::UnderReview | Self::Approved | Self::Sourcing
        )
    }

    /// The status after an event that points at `target`: forward moves only, nothing after a
    /// final status, and nothing past a rejection except closing.
    pub fn advance(self, target: RequestStatus) -> RequestStatus {
        if self.is_final() {
            return self;
        }
        if self == Self::Rejected && target != Self::Closed {
            return self;
        }
        if target.rank() > self.rank() {
            target
        } else {
            self
        }
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a work order's move puts the request in service: the technician is on the way or at
/// work. Waiting for parts or for an appointment does not (the request can still be cancelled).
pub fn in_service_move(to: aftersales_platform::proto::fieldservice::v1::WorkOrderStatus) -> bool {
    use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as W;
    matches!(to, W::EnRoute | W::OnSite | W::InRepair | W::Machining)
}

/// Where an event of another service points the status, by routing key. `None`: the event only
/// goes into the timeline.
pub fn target_of(routing_key: &str) -> Option<RequestStatus> {
    use RequestStatus::*;
    Some(match routing_key {
        "claims.claim.opened" | "claims.claim.info_requested" => UnderReview,
        "claims.claim.approved" => Approved,
        "claims.claim.rejected" => Rejected,
        "claims.refund.authorized" => Completed,
        "warehouse.reservation.confirmed"
        | "warehouse.stock.shortage"
        | "warehouse.parts.issued" => Sourcing,
        "procurement.po.issued" | "procurement.po.received" => Sourcing,
        "logistics.shipment.planned" => Sourcing,
        "logistics.shipment.dispatched" => Shipped,
        "logistics.shipment.delivered" => Delivered,
        // fieldservice.workorder.status_changed moves it to InService only when the technician
        // is on the way or at work (the handler reads the payload: `in_service_move`).
        "fieldservice.workorder.completed" => Completed,
        // A survey closes the request only when the problem is solved: the handler decides.
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::RequestStatus::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_happy_path_moves_forward() {
        let mut s = Submitted;
        for rk in [
            "claims.claim.opened",
            "claims.claim.approved",
            "warehouse.reservation.confirmed",
            "logistics.shipment.dispatched",
            "logistics.shipment.delivered",
            "fieldservice.workorder.completed",
        ] {
            s = s.advance(target_of(rk).unwrap());
        }
        assert_eq!(s, Completed);
        assert_eq!(target_of("feedback.survey.recorded"), None);
        assert_eq!(s.advance(Closed), Closed);
    }

    #[test]
    fn a_late_event_does_not_move_the_status_back() {
        assert_eq!(Approved.advance(UnderReview), Approved);
        assert_eq!(Delivered.advance(Shipped), Delivered);
    }

    #[test]
    fn final_statuses_stay() {
        assert_eq!(Cancelled.advance(Approved), Cancelled);
        assert_eq!(Closed.advance(Completed), Closed);
    }

    #[test]
    fn a_rejected_request_only_closes() {
        assert_eq!(Rejected.advance(Sourcing), Rejected);
        assert_eq!(Rejected.advance(Closed), Closed);
    }

    #[test]
    fn cancelling_is_possible_only_before_dispatch() {
        assert!(Sourcing.can_cancel());
        assert!(!Shipped.can_cancel() && !InService.can_cancel() && !Closed.can_cancel());
    }

    proptest! {
        #[test]
        fn any_event_order_ends_in_the_furthest_status(order in Just(vec![
            "claims.claim.opened", "claims.claim.approved", "warehouse.reservation.confirmed",
            "logistics.shipment.dispatched", "logistics.shipment.delivered",
        ]).prop_shuffle()) {
            let s = order.iter().fold(Submitted, |s, rk| s.advance(target_of(rk).unwrap()));
            prop_assert_eq!(s, Delivered);
        }

        #[test]
        fn status_never_moves_back(targets in proptest::collection::vec(0usize..11, 0..20)) {
            let mut s = Submitted;
            for t in targets {
                let next = s.advance(RequestStatus::ALL[t]);
                prop_assert!(next.rank() >= s.rank());
                s = next;
            }
        }
    }
}
