//! `warehouse.reservation.confirmed`: plan the pick list's shipment — or, for a request with a
//! lost or damaged shipment, its replacement. A cancelled request, a pick list shipped already or
//! a request served already plans nothing (see [`crate::service::Logistics::on_reserved`]).

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::warehouse::v1 as wh;
use aftersales_platform::validate::{Invalid, Violations, required_text};
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, RequestNo, Urgency};
use crate::error::Error;
use crate::service::{Logistics, PlanOutcome, Reserved};
use crate::wire;

pub struct ReservationConfirmed {
    logistics: Logistics,
}

impl ReservationConfirmed {
    pub fn new(logistics: &Logistics) -> Self {
        Self {
            logistics: logistics.clone(),
        }
    }
}

/// The confirmation as a plan; every bad field is named (the event goes to the DLQ: it will not
/// get better).
impl TryFrom<&wh::ReservationConfirmed> for Reserved {
    type Error = Invalid;

    fn try_from(p: &wh::ReservationConfirmed) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let pick_list_id = v.check("pick_list_id", required_text(&p.pick_list_id, 80));
        let lines = wire::pick_lines(&mut v, &p.lines);
        let ship_to = match &p.ship_to {
            Some(a) => wire::address_from(&mut v, "ship_to", a),
            None => {
                v.add("ship_to", "is required: where the parts go");
                None
            }
        };
        v.done(|| {
            Some(Reserved {
                request_no: request_no?,
                branch: branch?,
                pick_list_id: pick_list_id?,
                lines,
                // An urgency this build does not know ships as normal rather than not at all.
                urgency: wire::urgency_from(p.urgency).unwrap_or(Urgency::Normal),
                kind: p.kind,
                ship_to: ship_to?,
                onsite_required: p.onsite_required,
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for ReservationConfirmed {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: wh::ReservationConfirmed = ev.payload()?;
        let cmd = Reserved::try_from(&payload).map_err(Error::from)?;
        match self.logistics.on_reserved(txn, &cmd).await? {
            PlanOutcome::Planned(_) => {}
            PlanOutcome::AlreadyPlanned => {
                tracing::info!(request_no = %cmd.request_no, pick_list_id = %cmd.pick_list_id, "pick list already has its shipment; nothing to do");
            }
            PlanOutcome::Cancelled => {
                tracing::info!(request_no = %cmd.request_no, "request cancelled; nothing is planned");
            }
            PlanOutcome::Stale => {
                tracing::warn!(request_no = %cmd.request_no, pick_list_id = %cmd.pick_list_id, "request is served already and waits for no replacement; nothing is planned");
            }
        }
        Ok(())
    }
}
