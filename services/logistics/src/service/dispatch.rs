//! Packing and dispatch: on `warehouse.parts.issued` the shipment gets its packing list and —
//! with `logistics.auto_dispatch` — a waybill from its carrier's adapter and goes out
//! (`logistics.shipment.dispatched` carries the waybill to the request's timeline); otherwise a
//! person dispatches it with the carrier's own waybill (DispatchShipment).

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::{IssuedLine, Logistics, visible};
use crate::carrier::{Consignment, Leg};
use crate::domain::packing::{self, Item};
use crate::domain::{BranchCode, PackedLine, RequestNo, ShipmentStatus};
use crate::error::Error;
use crate::store::issues::{self, PendingIssue};
use crate::store::requests::RequestRow;
use crate::store::shipments::{self, Shipment};
use crate::store::sim;
use crate::wire;

/// Parts the warehouse issued against a pick list.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    pub request_no: RequestNo,
    pub branch: BranchCode,
    pub pick_list_id: String,
    pub lines: Vec<IssuedLine>,
    /// The shipment the clerk issued them to, when given.
    pub shipment_no: String,
    pub issued_by: String,
    pub issued_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueOutcome {
    /// Packed, and dispatched when auto_dispatch is on.
    Packed,
    /// No plan yet: kept until it comes.
    Waiting,
    /// The request was cancelled: nothing is dispatched (the parts are the warehouse's to take
    /// back).
    AfterCancellation,
    /// Packed or dispatched before: nothing to do.
    AlreadyDone,
}

/// A person dispatches a packed shipment (DispatchShipment).
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    pub shipment_no: String,
    pub waybill_no: Option<String>,
    pub carrier: Option<String>,
    /// Replaces the packing list made at issue, when given.
    pub packing_list: Vec<PackedLine>,
    pub packages: Option<u32>,
    pub weight_grams: Option<u32>,
    pub eta: Option<DateTime<Utc>>,
    pub scope: Option<String>,
}

impl Logistics {
    /// `warehouse.parts.issued`, in the handler's transaction.
    pub async fn on_issued(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Issued,
    ) -> Result<IssueOutcome, Error> {
        let req = self
            .lock_request(txn, cmd.request_no.as_str(), cmd.branch.as_str())
            .await?;
        let all = shipments::of_request(txn, &req.request_no).await?;
        let of_list: Vec<&Shipment> = all
            .iter()
            .filter(|s| s.pick_list_id == cmd.pick_list_id)
            .collect();
        let pending = PendingIssue {
            id: 0,
            pick_list_id: cmd.pick_list_id.clone(),
            lines: cmd.lines.clone(),
            issued_by: cmd.issued_by.clone(),
            issued_at: cmd.issued_at,
            shipment_no: cmd.shipment_no.clone(),
        };
        let open = |s: &&&Shipment| s.status == ShipmentStatus::Planned && s.packed_at.is_none();
        // The shipment the clerk named, else the pick list's open one.
        let target = of_list
            .iter()
            .filter(open)
            .find(|s| s.shipment_no == cmd.shipment_no)
            .or_else(|| of_list.iter().find(open));
        if let Some(s) = target {
            let mut s = (*s).clone();
            issues::record(txn, &req.request_no, &pending, Some(&s.shipment_no)).await?;
            self.pack_and_dispatch(txn, &req, &mut s, &cmd.lines)
                .await?;
            return Ok(IssueOutcome::Packed);
        }
        if req.cancelled() {
            // Issued although the request was cancelled (the warehouse issued before it heard):
            // nothing goes out; the record shows the parts to take back.
            tracing::warn!(request_no = %req.request_no, pick_list_id = %cmd.pick_list_id,
                "parts issued for a cancelled request; nothing is dispatched");
            let used = of_list
                .first()
                .map(|s| s.shipment_no.as_str())
                .unwrap_or("cancelled");
            issues::record(txn, &req.request_no, &pending, Some(used)).await?;
            return Ok(IssueOutcome::AfterCancellation);
        }
        if of_list.iter().any(|s| {
            s.packed_at.is_some()
                || matches!(
                    s.status,
                    ShipmentStatus::Dispatched
                        | ShipmentStatus::InTransit
                        | ShipmentStatus::Delivered
                )
        }) {
            return Ok(IssueOutcome::AlreadyDone);
        }
        // No plan for the pick list yet (or only the failed shipment a replacement will follow):
        // kept, once, for the plan to take.
        if !issues::waiting(txn, &cmd.pick_list_id).await? {
            issues::record(txn, &req.request_no, &pending, None).await?;
        }
        Ok(IssueOutcome::Waiting)
    }

    /// Packs `s` from the issued lines and, with auto_dispatch, hands it to its carrier.
    pub(super) async fn pack_and_dispatch(
        &self,
        txn: &DatabaseTransaction,
        req: &RequestRow,
        s: &mut Shipment,
        lines: &[IssuedLine],
    ) -> Result<(), Error> {
        let items: Vec<Item> = lines
            .iter()
            .map(|l| {
                let part = self.policy.part(&l.part_no);
                Item {
                    part_no: l.part_no.clone(),
                    quantity: l.quantity,
                    unit_weight_grams: part.weight_grams,
                    name: part.name,
                    specification: part.specification,
                }
            })
            .collect();
        let packed = packing::pack(&items, self.policy.carton_max_grams);
        s.packing_list = packed.lines;
        s.packages = packed.packages as i32;
        s.weight_grams = packed.weight_grams.min(i64::MAX as u64) as i64;
        // What the valuables are worth, now that the warehouse said what they cost.
        let valued: Vec<&IssuedLine> = lines.iter().filter(|l| l.valuable).collect();
        if !valued.is_empty() && valued.iter().all(|l| l.unit_cost_minor.is_some()) {
            s.insured_value_minor = valued
                .iter()
                .map(|l| l.unit_cost_minor.unwrap_or(0) * i64::from(l.quantity))
                .sum();
        }
        s.packed_at = Some(self.now());
        if self.auto_dispatch {
            self.dispatch(txn, req, s, None, None).await?;
        } else {
            shipments::save(txn, s).await?;
        }
        Ok(())
    }

    /// Hands a packed shipment to its carrier: waybill, ETA, the sim carrier's tracking, and
    /// `logistics.shipment.dispatched`, all in `txn`.
    async fn dispatch(
        &self,
        txn: &DatabaseTransaction,
        req: &RequestRow,
        s: &mut Shipment,
        waybill: Option<String>,
        eta: Option<DateTime<Utc>>,
    ) -> Result<(), Error> {
        let now = self.now();
        let eta = eta.unwrap_or_else(|| self.arrival(now, self.transit(s.method, s.region)));
        let adapter = self.carriers.get(&s.carrier);
        let destination = if s.ship_to.address.is_empty() {
            s.ship_to.branch.clone()
        } else {
            s.ship_to.address.clone()
        };
        let booking = adapter.book(&Consignment {
            number: &s.shipment_no,
            leg: Leg::Shipment,
            start: now,
            until: eta,
            window_from: None,
            from_place: &s.origin,
            to_place: &destination,
        });
        let waybill = waybill.unwrap_or(booking.waybill_no);
        s.carrier = adapter.code().to_owned();
        s.waybill_no = Some(waybill.clone());
        s.status = ShipmentStatus::Dispatched;
        s.dispatched_at = Some(now);
        s.promised_eta = Some(eta);
        s.eta = Some(eta);
        shipments::save(txn, s).await.map_err(|e| {
            if aftersales_platform::db::is_unique_violation(&e) {
                Error::AlreadyExists(format!(
                    "waybill {waybill} of {} is on another consignment",
                    s.carrier
                ))
            } else {
                e.into()
            }
        })?;
        sim::schedule(txn, &waybill, &booking.tracking).await?;
        self.stage(
            txn,
            &req.request_no,
            &req.branch,
            &wire::dispatched_event(s),
        )
        .await?;
        tracing::info!(request_no = %s.request_no, shipment_no = %s.shipment_no, waybill = %waybill, "shipment dispatched");
        Ok(())
    }

    /// DispatchShipment: a packed shipment handed over by a person, with the carrier's waybill.
    /// Dispatching a dispatched shipment again with its waybill (or none) returns it.
    pub async fn dispatch_shipment(&self, cmd: Dispatch) -> Result<Shipment, Error> {
        let not_found = || Error::not_found(format!("shipment {}", cmd.shipment_no));
        let found = shipments::get(&self.db, &cmd.shipment_no)
            .await?
            .filter(|s| visible(cmd.scope.as_deref(), &s.branch))
            .ok_or_else(not_found)?;
        let txn = self.db.begin().await?;
        let req = self
            .lock_request(&txn, &found.request_no, &found.branch)
            .await?;
        let mut s = shipments::get_for_update(&txn, &cmd.shipment_no)
            .await?
            .ok_or_else(not_found)?;
        match s.status {
            ShipmentStatus::Planned if s.packed_at.is_none() => {
                return Err(Error::precondition(format!(
                    "shipment {} is not packed yet: the warehouse has not issued pick list {}",
                    s.shipment_no, s.pick_list_id
                )));
            }
            ShipmentStatus::Planned => {}
            ShipmentStatus::Dispatched | ShipmentStatus::InTransit | ShipmentStatus::Delivered => {
                return if cmd.waybill_no.is_none() || cmd.waybill_no == s.waybill_no {
                    Ok(s)
                } else {
                    Err(Error::precondition(format!(
                        "shipment {} was dispatched with waybill {}",
                        s.shipment_no,
                        s.waybill_no.unwrap_or_default()
                    )))
                };
            }
            ShipmentStatus::Failed | ShipmentStatus::Cancelled => {
                return Err(Error::precondition(format!(
                    "shipment {} is {}",
                    s.shipment_no, s.status
                )));
            }
        }
        if let Some(c) = &cmd.carrier {
            s.carrier = c.clone();
        }
        if !cmd.packing_list.is_empty() {
            s.packing_list = cmd.packing_list.clone();
            s.packages = cmd.packages.unwrap_or_else(|| {
                cmd.packing_list
                    .iter()
                    .map(|l| l.package_no)
                    .max()
                    .unwrap_or(1)
            }) as i32;
        } else if let Some(p) = cmd.packages {
            s.packages = p as i32;
        }
        if let Some(w) = cmd.weight_grams {
            s.weight_grams = i64::from(w);
        }
        self.dispatch(&txn, &req, &mut s, cmd.waybill_no.clone(), cmd.eta)
            .await?;
        txn.commit().await?;
        Ok(s)
    }
}
