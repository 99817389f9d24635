//! `claims.claim.approved`: reserve the approved part lines (all or nothing, or partially when
//! configured), for the claim's product model (whose lifecycle the reservation events carry).
//! A return reserves nothing: it is refunded, and its unit comes back by a door pick-up.
//! The platform records the event id in this transaction, and the reservation is unique per
//! request, so a redelivered or duplicated approval reserves once.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::validate::{Invalid, Violations};
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, ModelCode, PartLine, PartNo, Quantity, RequestKind, RequestNo};
use crate::service::{ReserveCommand, ReserveOutcome, Warehouse};
use crate::wire;

pub struct ClaimApproved {
    warehouse: Warehouse,
}

impl ClaimApproved {
    pub fn new(warehouse: &Warehouse) -> Self {
        Self {
            warehouse: warehouse.clone(),
        }
    }
}

/// The approval as a reservation command; every bad field is named (and the event goes to the
/// DLQ: it will not get better).
impl TryFrom<&claims::ClaimApproved> for ReserveCommand {
    type Error = Invalid;

    fn try_from(p: &claims::ClaimApproved) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let mut lines = Vec::new();
        for (i, l) in p.lines.iter().enumerate() {
            let part_no = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no));
            let quantity = v.check(format!("lines[{i}].quantity"), Quantity::parse(l.quantity));
            if let (Some(part_no), Some(quantity)) = (part_no, quantity) {
                lines.push(PartLine { part_no, quantity });
            }
        }
        v.done(|| {
            Some(ReserveCommand {
                request_no: request_no?,
                branch: branch?,
                urgency: wire::urgency_from(p.urgency),
                kind: wire::request_kind_from(p.kind),
                ship_to: p.ship_to.as_ref().map(wire::address_from),
                onsite_required: p.onsite_required,
                product_model: product_model(p),
                lines,
            })
        })
    }
}

/// The claim's product model; `None` when it names none. A model that is not a model code
/// (too long, control characters) is logged and left out rather than refusing the approval:
/// the reservation matters more than the fill-rate class of its model.
fn product_model(p: &claims::ClaimApproved) -> Option<ModelCode> {
    let raw = p.product.as_ref().map_or("", |d| d.model.as_str());
    if raw.trim().is_empty() {
        return None;
    }
    ModelCode::parse(raw)
        .inspect_err(|e| {
            tracing::warn!(request_no = %p.request_no, model = %raw, error = %e, "the claim's product model is not a model code; reserved without it");
        })
        .ok()
}

#[async_trait::async_trait]
impl Handler for ClaimApproved {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: claims::ClaimApproved = ev.payload()?;
        let cmd = ReserveCommand::try_from(&payload).map_err(crate::error::Error::from)?;
        if cmd.kind == Some(RequestKind::Return) {
            // A return is refunded: nothing goes out to the customer; the unit comes back by a
            // door pick-up (logistics) and is booked at the returns intake.
            tracing::info!(request_no = %cmd.request_no, "an approved return ships nothing; nothing reserved");
            return Ok(());
        }
        let outcome = self.warehouse.reserve(txn, &cmd).await?;
        if outcome == ReserveOutcome::AlreadyHandled {
            tracing::info!(request_no = %cmd.request_no, "request already reserved or cancelled; nothing to do");
        }
        Ok(())
    }
}
