//! `claims.claim.approved`: reserve the approved part lines (all or nothing, or partially when
//! configured). The platform records the event id in this transaction, and the reservation is
//! unique per request, so a redelivered or duplicated approval reserves once.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::grpc::Violation;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use sea_orm::DatabaseTransaction;

use crate::domain::{PartNo, Quantity, Urgency};
use crate::error::Error;
use crate::service::{ReserveCommand, ReserveOutcome, Warehouse};

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

/// The approval as a reservation command; a bad line names itself.
pub fn parse(p: &claims::ClaimApproved) -> Result<ReserveCommand, Error> {
    let mut bad = Vec::new();
    if p.request_no.trim().is_empty() {
        bad.push(Violation::new("request_no", "is required"));
    }
    let mut lines = Vec::new();
    for (i, l) in p.lines.iter().enumerate() {
        let part = PartNo::parse(&l.part_no)
            .map_err(|e| bad.push(Violation::new(format!("lines[{i}].part_no"), e)))
            .ok();
        let qty = Quantity::parse(l.quantity)
            .map_err(|e| bad.push(Violation::new(format!("lines[{i}].quantity"), e)))
            .ok();
        if let (Some(part), Some(qty)) = (part, qty) {
            lines.push((part.as_str().to_owned(), qty.get()));
        }
    }
    if !bad.is_empty() {
        return Err(Error::Invalid(bad));
    }
    let urgency = match common::Urgency::try_from(p.urgency).unwrap_or_default() {
        common::Urgency::Low => Urgency::Low,
        common::Urgency::High => Urgency::High,
        common::Urgency::Critical => Urgency::Critical,
        common::Urgency::Normal | common::Urgency::Unspecified => Urgency::Normal,
    };
    Ok(ReserveCommand {
        request_no: p.request_no.trim().to_owned(),
        branch: p.branch.clone(),
        urgency,
        kind: p.kind,
        ship_to: p.ship_to.clone(),
        onsite_required: p.onsite_required,
        lines,
    })
}

#[async_trait::async_trait]
impl Handler for ClaimApproved {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: claims::ClaimApproved = ev.payload()?;
        let cmd = parse(&payload)?;
        let outcome = self.warehouse.reserve(txn, &cmd).await?;
        if outcome == ReserveOutcome::AlreadyHandled {
            tracing::info!(request_no = %cmd.request_no, "request already reserved or cancelled; nothing to do");
        }
        Ok(())
    }
}
