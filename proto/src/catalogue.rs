//! The event catalogue (DESIGN §5): one line per event, routing key ↔ payload type.
//!
//! A producer stages a typed payload and gets its routing key from here; a consumer subscribes
//! by routing key and decodes the payload by the envelope's `type`. Adding an event is one line.

/// A payload that travels in an [`crate::common::v1::EventEnvelope`].
pub trait Event: prost::Message + prost::Name + Default {
    /// `<svc>.<entity>.<past-tense verb>`.
    const ROUTING_KEY: &'static str;
}

/// One row of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub routing_key: &'static str,
    /// Protobuf package of the payload, e.g. `aftersales.claims.v1`.
    pub package: &'static str,
    /// Message name of the payload, e.g. `ClaimApproved`.
    pub message: &'static str,
}

impl Entry {
    /// Full protobuf name of the payload, as in the envelope's `type`.
    pub fn type_name(&self) -> String {
        format!("{}.{}", self.package, self.message)
    }
}

macro_rules! catalogue {
    ($($rk:literal => $ty:path),+ $(,)?) => {
        $(impl Event for $ty { const ROUTING_KEY: &'static str = $rk; })+
        /// Every event of the mesh.
        pub const ALL: &[Entry] = &[
            $(Entry { routing_key: $rk, package: <$ty as prost::Name>::PACKAGE, message: <$ty as prost::Name>::NAME },)+
        ];
        /// The full protobuf type name of the payload published under `routing_key`.
        pub fn type_name_of(routing_key: &str) -> Option<String> {
            match routing_key {
                $($rk => Some(<$ty as prost::Name>::full_name()),)+
                _ => None,
            }
        }
    };
}

use crate::claims::v1 as claims;
use crate::feedback::v1 as feedback;
use crate::fieldservice::v1 as fieldservice;
use crate::intake::v1 as intake;
use crate::logistics::v1 as logistics;
use crate::procurement::v1 as procurement;
use crate::warehouse::v1 as warehouse;

catalogue! {
    "intake.request.submitted" => intake::RequestSubmitted,
    "intake.request.cancelled" => intake::RequestCancelled,
    "intake.request.closed" => intake::RequestClosed,

    "claims.claim.opened" => claims::ClaimOpened,
    "claims.claim.approved" => claims::ClaimApproved,
    "claims.claim.rejected" => claims::ClaimRejected,
    "claims.claim.info_requested" => claims::ClaimInfoRequested,
    "claims.claim.sla_breached" => claims::ClaimSlaBreached,
    "claims.claim.deadline_changed" => claims::ClaimDeadlineChanged,
    "claims.claim.sla_breach_withdrawn" => claims::ClaimSlaBreachWithdrawn,
    "claims.refund.authorized" => claims::RefundAuthorized,
    "claims.dealer_batch.decided" => claims::DealerBatchDecided,
    "claims.statement.issued" => claims::StatementIssued,

    "warehouse.reservation.confirmed" => warehouse::ReservationConfirmed,
    "warehouse.stock.shortage" => warehouse::StockShortage,
    "warehouse.parts.issued" => warehouse::PartsIssued,
    "warehouse.goods.received" => warehouse::GoodsReceived,
    "warehouse.stock.low" => warehouse::StockLow,
    "warehouse.oldpart.received" => warehouse::OldPartReceived,
    "warehouse.return.inspected" => warehouse::ReturnInspected,
    "warehouse.stocktake.closed" => warehouse::StocktakeClosed,
    "warehouse.reservation.released" => warehouse::ReservationReleased,
    "warehouse.oldpart_batch.inspected" => warehouse::OldPartBatchInspected,
    "warehouse.advance_exchange.overdue" => warehouse::AdvanceExchangeOverdue,
    "warehouse.consignment.issued" => warehouse::ConsignmentIssued,

    "procurement.po.issued" => procurement::PoIssued,
    "procurement.po.received" => procurement::PoReceived,
    "procurement.po.overdue" => procurement::PoOverdue,
    "procurement.po.cancelled" => procurement::PoCancelled,
    "procurement.po.deadline_changed" => procurement::PoDeadlineChanged,
    "procurement.po.overdue_withdrawn" => procurement::PoOverdueWithdrawn,
    "procurement.supplier.status_changed" => procurement::SupplierStatusChanged,

    "logistics.shipment.planned" => logistics::ShipmentPlanned,
    "logistics.shipment.dispatched" => logistics::ShipmentDispatched,
    "logistics.shipment.delivered" => logistics::ShipmentDelivered,
    "logistics.shipment.exception" => logistics::ShipmentException,
    "logistics.pickup.scheduled" => logistics::PickupScheduled,
    "logistics.pickup.completed" => logistics::PickupCompleted,
    "logistics.pickup.overdue" => logistics::PickupOverdue,
    "logistics.consignment.dispatched" => logistics::ConsignmentDispatched,

    "fieldservice.workorder.created" => fieldservice::WorkOrderCreated,
    "fieldservice.workorder.scheduled" => fieldservice::WorkOrderScheduled,
    "fieldservice.workorder.status_changed" => fieldservice::WorkOrderStatusChanged,
    "fieldservice.workorder.completed" => fieldservice::WorkOrderCompleted,
    "fieldservice.workorder.sla_breached" => fieldservice::WorkOrderSlaBreached,
    "fieldservice.workorder.rework_detected" => fieldservice::WorkOrderReworkDetected,
    "fieldservice.workorder.deadline_changed" => fieldservice::WorkOrderDeadlineChanged,
    "fieldservice.workorder.sla_breach_withdrawn" => fieldservice::WorkOrderSlaBreachWithdrawn,

    "feedback.visit.scheduled" => feedback::VisitScheduled,
    "feedback.survey.recorded" => feedback::SurveyRecorded,
    "feedback.complaint.opened" => feedback::ComplaintOpened,
    "feedback.complaint.escalated" => feedback::ComplaintEscalated,
    "feedback.complaint.resolved" => feedback::ComplaintResolved,
    "feedback.visit.deadline_changed" => feedback::VisitDeadlineChanged,
    "feedback.complaint.deadline_changed" => feedback::ComplaintDeadlineChanged,
    "feedback.complaint.sla_breach_withdrawn" => feedback::ComplaintSlaBreachWithdrawn,
}

/// Whether `routing_key` is in the catalogue.
pub fn contains(routing_key: &str) -> bool {
    ALL.iter().any(|e| e.routing_key == routing_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn routing_keys_are_unique_and_well_formed() {
        let mut keys = HashSet::new();
        let mut types = HashSet::new();
        for e in ALL {
            assert!(
                keys.insert(e.routing_key),
                "duplicate routing key {}",
                e.routing_key
            );
            assert!(
                types.insert(e.type_name()),
                "type {} has two routing keys",
                e.type_name()
            );
            let parts: Vec<&str> = e.routing_key.split('.').collect();
            assert_eq!(
                parts.len(),
                3,
                "{}: not <svc>.<entity>.<verb>",
                e.routing_key
            );
            for p in &parts {
                assert!(
                    !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{}: part {p:?} is not lower-case",
                    e.routing_key
                );
            }
        }
    }

    #[test]
    fn prefix_matches_the_payload_package_and_name_matches_entity_verb() {
        for e in ALL {
            let (svc, rest) = e.routing_key.split_once('.').unwrap();
            let full = type_name_of(e.routing_key).unwrap();
            // "aftersales.<svc>.v1.<Message>"
            let parts: Vec<&str> = full.split('.').collect();
            assert_eq!(parts.len(), 4, "{full}");
            assert_eq!(
                (parts[0], parts[1], parts[2]),
                ("aftersales", svc, "v1"),
                "{}: payload {full} is not in package aftersales.{svc}.v1",
                e.routing_key
            );
            assert_eq!(full, e.type_name(), "{}", e.routing_key);
            let expected: String = rest.chars().filter(|c| c.is_ascii_alphabetic()).collect();
            assert_eq!(
                parts[3].to_ascii_lowercase(),
                expected,
                "{}: payload {full} is not <Entity><Verb>",
                e.routing_key
            );
        }
    }

    #[test]
    fn every_design_event_is_catalogued() {
        assert_eq!(ALL.len(), 56);
        assert!(contains("claims.claim.approved"));
        for dealers in [
            "claims.dealer_batch.decided",
            "claims.statement.issued",
            "warehouse.oldpart_batch.inspected",
            "warehouse.advance_exchange.overdue",
            "warehouse.consignment.issued",
            "logistics.consignment.dispatched",
        ] {
            assert!(contains(dealers), "{dealers}");
        }
        assert!(!contains("claims.claim.approve"));
        assert_eq!(type_name_of("nope.nope.nope"), None);
    }
}
