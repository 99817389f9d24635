//! `warehouse.parts.issued`: the pick list left the warehouse; its shipment gets the packing list
//! and, with auto-dispatch, a waybill from the carrier (`logistics.shipment.dispatched`). Parts
//! issued before the plan arrived wait for it; parts issued for a cancelled request go nowhere.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::warehouse::v1 as wh;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, PartNo, RequestNo};
use crate::error::Error;
use crate::service::{IssueOutcome, Issued, IssuedLine, Logistics};
use crate::wire;

pub struct PartsIssued {
    logistics: Logistics,
}

impl PartsIssued {
    pub fn new(logistics: &Logistics) -> Self {
        Self {
            logistics: logistics.clone(),
        }
    }
}

impl TryFrom<&wh::PartsIssued> for Issued {
    type Error = Invalid;

    fn try_from(p: &wh::PartsIssued) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let pick_list_id = v.check("pick_list_id", required_text(&p.pick_list_id, 80));
        let shipment_no = v.check("shipment_no", optional_text(&p.shipment_no, 64));
        let issued_by = v.check("issued_by", optional_text(&p.issued_by, 200));
        let issued_at = match &p.issued_at {
            Some(t) => v.check("issued_at", wire::from_timestamp(t)),
            None => None,
        };
        if p.lines.is_empty() {
            v.add("lines", "at least one line is required");
        }
        let mut lines = Vec::new();
        for (i, l) in p.lines.iter().enumerate() {
            let part_no = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no));
            if l.quantity == 0 {
                v.add(format!("lines[{i}].quantity"), "must be at least 1");
            }
            if let Some(part_no) = part_no {
                lines.push(IssuedLine {
                    part_no: part_no.into_string(),
                    quantity: l.quantity,
                    valuable: l.zone == wh::Zone::Valuables as i32,
                    unit_cost_minor: l.unit_cost.as_ref().map(|m| m.amount_minor),
                });
            }
        }
        v.done(|| {
            Some(Issued {
                request_no: request_no?,
                branch: branch?,
                pick_list_id: pick_list_id?,
                lines,
                shipment_no: shipment_no?,
                issued_by: issued_by?,
                issued_at,
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for PartsIssued {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: wh::PartsIssued = ev.payload()?;
        let cmd = Issued::try_from(&payload).map_err(Error::from)?;
        match self.logistics.on_issued(txn, &cmd).await? {
            IssueOutcome::Packed => {}
            IssueOutcome::Waiting => {
                tracing::info!(request_no = %cmd.request_no, pick_list_id = %cmd.pick_list_id, "parts issued before the plan; kept for it");
            }
            IssueOutcome::AfterCancellation => {}
            IssueOutcome::AlreadyDone => {
                tracing::info!(request_no = %cmd.request_no, pick_list_id = %cmd.pick_list_id, "shipment packed already; nothing to do");
            }
        }
        Ok(())
    }
}
