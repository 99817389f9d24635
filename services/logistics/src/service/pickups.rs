//! Reverse logistics: an approved return or exchange gets a door pick-up (`pickup.scheduled`),
//! free for a quality problem and charged otherwise (the rate table); the unit is collected at
//! the door (tracking only) and `logistics.pickup.completed` says, once, that it reached the
//! warehouse's returns intake, where the warehouse books it for inspection. A customer who ships
//! the unit themselves is chased once after the rate table's `chase_after_days` working days.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::{Logistics, lost_race, visible};
use crate::carrier::{Consignment as Booked, Leg};
use crate::domain::method::{self, Consignment};
use crate::domain::pickup;
use crate::domain::{Address, BranchCode, PickupStatus, RequestNo, Urgency};
use crate::error::Error;
use crate::store::pickups::{self, Pickup};
use crate::store::requests::RequestRow;
use crate::store::{numbers, sim};
use crate::wire;

/// What a claim's approval says about a return (claims.claim.approved).
#[derive(Debug, Clone, PartialEq)]
pub struct Approved {
    pub request_no: RequestNo,
    pub branch: BranchCode,
    pub pickup_required: bool,
    /// A quality problem: the pick-up is free.
    pub pickup_free: bool,
    pub door: Address,
    pub part_no: String,
    pub serial: String,
    pub model: String,
}

/// A person books a pick-up (SchedulePickup).
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulePickup {
    pub idempotency_key: String,
    pub request_hash: String,
    pub request_no: RequestNo,
    pub door: Address,
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub part_no: String,
    pub serial: String,
    pub model: String,
    pub items: Vec<String>,
    pub free_of_charge: bool,
    pub carrier: Option<String>,
    pub customer_ships: bool,
    pub scope: Option<String>,
}

/// The unit reached the returns intake (CompletePickup).
#[derive(Debug, Clone, PartialEq)]
pub struct CompletePickup {
    pub pickup_no: String,
    pub collected_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub waybill_no: Option<String>,
    pub items: Vec<String>,
    pub note: String,
    pub scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PickupOutcome {
    Scheduled(Box<Pickup>),
    NotNeeded,
    Cancelled,
    /// The approval was handled before (another delivery, a re-approval).
    AlreadyScheduled,
}

/// What a pick-up is made from.
struct Spec<'a> {
    door: &'a Address,
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    part_no: &'a str,
    serial: &'a str,
    model: &'a str,
    items: &'a [String],
    charge: pickup::Charge,
    carrier: Option<&'a str>,
    customer_ships: bool,
    automatic: bool,
    idempotency_key: Option<&'a str>,
    request_hash: &'a str,
}

impl Logistics {
    /// `claims.claim.approved`, in the handler's transaction.
    pub async fn on_approved(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Approved,
    ) -> Result<PickupOutcome, Error> {
        if !cmd.pickup_required {
            return Ok(PickupOutcome::NotNeeded);
        }
        let req = self
            .lock_request(txn, cmd.request_no.as_str(), cmd.branch.as_str())
            .await?;
        if req.cancelled() {
            return Ok(PickupOutcome::Cancelled);
        }
        if pickups::of_request(txn, &req.request_no)
            .await?
            .iter()
            .any(|p| p.automatic)
        {
            return Ok(PickupOutcome::AlreadyScheduled);
        }
        let spec = Spec {
            door: &cmd.door,
            window: None,
            part_no: &cmd.part_no,
            serial: &cmd.serial,
            model: &cmd.model,
            items: &[],
            charge: pickup::charge(&self.policy, cmd.door.region, cmd.pickup_free),
            carrier: None,
            customer_ships: false,
            automatic: true,
            idempotency_key: None,
            request_hash: "",
        };
        let p = self.schedule(txn, &req, spec).await?;
        Ok(PickupOutcome::Scheduled(Box::new(p)))
    }

    /// SchedulePickup. Idempotent by its key.
    pub async fn schedule_pickup(&self, cmd: SchedulePickup) -> Result<Pickup, Error> {
        if let Some(p) = pickups::by_idempotency_key(&self.db, &cmd.idempotency_key).await? {
            if p.request_hash == cmd.request_hash && visible(cmd.scope.as_deref(), &p.branch) {
                return Ok(p);
            }
            return Err(Error::AlreadyExists(format!(
                "idempotency key {} was used for another pick-up",
                cmd.idempotency_key
            )));
        }
        let branch = cmd.request_no.branch().to_owned();
        if !visible(cmd.scope.as_deref(), &branch) {
            return Err(Error::not_found(format!("request {}", cmd.request_no)));
        }
        let txn = self.db.begin().await?;
        let req = self
            .lock_request(&txn, cmd.request_no.as_str(), &branch)
            .await?;
        if req.cancelled() {
            return Err(Error::precondition(format!(
                "request {} was cancelled; nothing is picked up for it",
                req.request_no
            )));
        }
        let mut charge = pickup::charge(&self.policy, cmd.door.region, cmd.free_of_charge);
        if cmd.customer_ships {
            charge.fee_minor = 0;
            charge.reason = "No pick-up fee: the customer ships the unit themselves.".into();
        }
        let spec = Spec {
            door: &cmd.door,
            window: cmd.window,
            part_no: &cmd.part_no,
            serial: &cmd.serial,
            model: &cmd.model,
            items: &cmd.items,
            charge,
            carrier: cmd.carrier.as_deref(),
            customer_ships: cmd.customer_ships,
            automatic: false,
            idempotency_key: Some(&cmd.idempotency_key),
            request_hash: &cmd.request_hash,
        };
        let p = self.schedule(&txn, &req, spec).await?;
        txn.commit()
            .await
            .map_err(|e| lost_race(e, "pick-up with this idempotency key"))?;
        Ok(p)
    }

    async fn schedule(
        &self,
        txn: &DatabaseTransaction,
        req: &RequestRow,
        spec: Spec<'_>,
    ) -> Result<Pickup, Error> {
        let now = self.now();
        let method = self.policy.pickup.method;
        let rate_carrier = self
            .policy
            .rate(method)
            .map(|r| r.carrier.clone())
            .unwrap_or_default();
        let part = self.policy.part(spec.part_no);
        let consignment = Consignment {
            region: spec.door.region,
            urgency: Urgency::Normal,
            weight_grams: part.weight_grams,
            length_cm: part.length_cm,
            insured_value_minor: 0,
        };
        let estimated_cost = self
            .policy
            .rate(method)
            .and_then(|r| method::quote(&self.policy, r, &consignment, false).ok())
            .map(|q| q.cost_minor)
            .unwrap_or(0);
        let pickup_no = numbers::next(txn, "PU", &self.period(now)).await?;
        let mut p = Pickup {
            pickup_no: pickup_no.clone(),
            request_no: req.request_no.clone(),
            branch: req.branch.clone(),
            status: PickupStatus::Scheduled,
            automatic: spec.automatic,
            pickup_address: spec.door.clone(),
            region: spec.door.region,
            destination: self.origin.clone(),
            window_from: None,
            window_to: None,
            method,
            carrier: String::new(),
            waybill_no: None,
            part_no: spec.part_no.to_owned(),
            serial: spec.serial.to_owned(),
            model: spec.model.to_owned(),
            items: spec.items.to_vec(),
            items_handed_over: None,
            free_of_charge: spec.charge.free_of_charge,
            currency: self.policy.currency.clone(),
            fee_minor: spec.charge.fee_minor,
            fee_reason: spec.charge.reason.clone(),
            estimated_cost_minor: if spec.customer_ships {
                0
            } else {
                estimated_cost
            },
            customer_ships: spec.customer_ships,
            scheduled_at: now,
            collected_at: None,
            arrived_at: None,
            failed_at: None,
            cancelled_at: None,
            chase_due_at: None,
            chased_at: None,
            last_tracking_at: None,
            note: String::new(),
            idempotency_key: spec.idempotency_key.map(str::to_owned),
            request_hash: spec.request_hash.to_owned(),
        };
        let mut tracking = Vec::new();
        if spec.customer_ships {
            p.chase_due_at = Some(super::micros(
                self.calendar
                    .add_working_days(now, self.policy.pickup.chase_after_days),
            ));
        } else {
            let (from, to) = spec.window.unwrap_or_else(|| self.next_working_window(now));
            let arrive_by = self.arrival(from, self.transit(method, spec.door.region));
            let code = spec
                .carrier
                .map(str::to_owned)
                .unwrap_or_else(|| self.carriers.resolve(&rate_carrier).to_owned());
            let adapter = self.carriers.get(&code);
            let booking = adapter.book(&Booked {
                number: &pickup_no,
                leg: Leg::Pickup,
                start: now,
                until: arrive_by,
                window_from: Some(from),
                from_place: &spec.door.address,
                to_place: &self.origin,
            });
            p.carrier = adapter.code().to_owned();
            p.waybill_no = Some(booking.waybill_no);
            p.window_from = Some(from);
            p.window_to = Some(to);
            tracking = booking.tracking;
        }
        pickups::insert(txn, &p)
            .await
            .map_err(|e| lost_race(e, "pick-up"))?;
        if let Some(w) = &p.waybill_no {
            sim::schedule(txn, w, &tracking).await?;
        }
        self.stage(
            txn,
            &p.request_no,
            &p.branch,
            &wire::pickup_scheduled_event(&p),
        )
        .await?;
        tracing::info!(request_no = %p.request_no, pickup_no = %p.pickup_no, "pick-up scheduled");
        Ok(p)
    }

    /// The unit reached the returns intake: `logistics.pickup.completed`, once (the caller holds
    /// the request's lock and saves `p`). Updates the carrier sends after it are recorded only.
    pub(super) async fn arrive(
        &self,
        txn: &DatabaseTransaction,
        request_no: &str,
        branch: &str,
        p: &mut Pickup,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        p.status = PickupStatus::Delivered;
        p.arrived_at = Some(at);
        if p.collected_at.is_none() && !p.customer_ships {
            p.collected_at = Some(at);
        }
        self.stage(txn, request_no, branch, &wire::pickup_completed_event(p))
            .await?;
        tracing::info!(request_no = %request_no, pickup_no = %p.pickup_no, "returned unit reached the returns intake");
        Ok(())
    }

    /// CompletePickup: completing a completed pick-up returns it unchanged.
    pub async fn complete_pickup(&self, cmd: CompletePickup) -> Result<Pickup, Error> {
        let not_found = || Error::not_found(format!("pick-up {}", cmd.pickup_no));
        let found = pickups::get(&self.db, &cmd.pickup_no)
            .await?
            .filter(|p| visible(cmd.scope.as_deref(), &p.branch))
            .ok_or_else(not_found)?;
        let txn = self.db.begin().await?;
        let req = self
            .lock_request(&txn, &found.request_no, &found.branch)
            .await?;
        let mut p = pickups::get_for_update(&txn, &cmd.pickup_no)
            .await?
            .ok_or_else(not_found)?;
        match p.status {
            PickupStatus::Delivered => return Ok(p),
            PickupStatus::Failed | PickupStatus::Cancelled => {
                return Err(Error::precondition(format!(
                    "pick-up {} is {}",
                    p.pickup_no, p.status
                )));
            }
            PickupStatus::Scheduled | PickupStatus::Collected => {}
        }
        let now = self.now();
        if p.collected_at.is_none() {
            p.collected_at = cmd.collected_at;
        }
        if p.waybill_no.is_none() {
            p.waybill_no = cmd.waybill_no.clone();
        }
        if !cmd.items.is_empty() {
            p.items_handed_over = Some(cmd.items.clone());
        }
        if !cmd.note.is_empty() {
            p.note = cmd.note.clone();
        }
        let at = cmd.arrived_at.map(super::micros).unwrap_or(now);
        self.arrive(&txn, &req.request_no, &req.branch, &mut p, at)
            .await?;
        pickups::save(&txn, &p).await?;
        txn.commit().await?;
        Ok(p)
    }
}
