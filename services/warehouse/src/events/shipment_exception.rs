//! `logistics.shipment.exception`: a shipment lost or damaged on the way (`replacement_needed`)
//! gets a replacement: its affected lines are reserved again for the request as its next pick
//! list (`PL-<request no>-R<n>`), confirmed or back-ordered like the first. Once per exception
//! (the exception id is stored with the replacement, under the request's lock), and nothing for
//! a cancelled request (see [`crate::service::Warehouse::reserve_replacement`]). A delay needs
//! nothing from the warehouse.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::logistics::v1 as logistics;
use aftersales_platform::validate::{Invalid, Violations, required_text};
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, PartLine, PartNo, Quantity, RequestNo};
use crate::error::Error;
use crate::service::{ReplaceCommand, ReserveOutcome, Warehouse};
use crate::wire;

pub struct ShipmentException {
    warehouse: Warehouse,
}

impl ShipmentException {
    pub fn new(warehouse: &Warehouse) -> Self {
        Self {
            warehouse: warehouse.clone(),
        }
    }
}

/// The exception as a replacement to reserve; every bad field is named (and the event goes to
/// the DLQ: it will not get better).
impl TryFrom<&logistics::ShipmentException> for ReplaceCommand {
    type Error = Invalid;

    fn try_from(p: &logistics::ShipmentException) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let exception_id = v.check("exception_id", required_text(&p.exception_id, 80));
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let shipment_no = v.check("shipment_no", required_text(&p.shipment_no, 64));
        if p.affected_lines.is_empty() {
            v.add(
                "affected_lines",
                "at least one line is required when a replacement is needed",
            );
        }
        let mut lines = Vec::new();
        for (i, l) in p.affected_lines.iter().enumerate() {
            let part_no = v.check(
                format!("affected_lines[{i}].part_no"),
                PartNo::parse(&l.part_no),
            );
            let quantity = v.check(
                format!("affected_lines[{i}].quantity"),
                Quantity::parse(l.quantity),
            );
            if let (Some(part_no), Some(quantity)) = (part_no, quantity) {
                lines.push(PartLine { part_no, quantity });
            }
        }
        v.done(|| {
            Some(ReplaceCommand {
                exception_id: exception_id?,
                request_no: request_no?,
                branch: branch?,
                shipment_no: shipment_no?,
                urgency: wire::urgency_from(p.urgency),
                ship_to: p.ship_to.as_ref().map(wire::address_from),
                lines,
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for ShipmentException {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: logistics::ShipmentException = ev.payload()?;
        if !payload.replacement_needed {
            // A delay: a follow-up for logistics and the timeline, nothing to reserve.
            return Ok(());
        }
        let cmd = ReplaceCommand::try_from(&payload).map_err(Error::from)?;
        match self.warehouse.reserve_replacement(txn, &cmd).await? {
            ReserveOutcome::Confirmed | ReserveOutcome::Backordered => {}
            ReserveOutcome::AlreadyHandled => {
                tracing::info!(request_no = %cmd.request_no, exception_id = %cmd.exception_id, "replacement already reserved for this exception; nothing to do");
            }
            ReserveOutcome::Cancelled => {
                tracing::info!(request_no = %cmd.request_no, exception_id = %cmd.exception_id, "request cancelled; no replacement is reserved");
            }
            ReserveOutcome::NothingToReserve => {}
        }
        Ok(())
    }
}
