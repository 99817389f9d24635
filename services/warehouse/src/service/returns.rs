//! Units returned by customers (returns and exchanges): received into PENDING_INSPECTION, then
//! inspected into QUALIFIED (VALUABLES for a valuable part) when resaleable, NONCONFORMING
//! otherwise; `warehouse.return.inspected` tells claims-review what came back.
//!
//! A unit is received by a clerk (ReceiveReturn) or, for a door pick-up, on its
//! `logistics.pickup.completed`. A pick-up's unit is received once between the two: each looks
//! for it under the pick-up's transaction lock ([`returns::lock_pickup`]) first, and the later
//! one finds the unit the earlier received.

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::ids::Serial;
use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::warehouse::v1 as pb;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};

use super::{Page, Warehouse, vanished};
use crate::domain::{MovementKind, PartNo, RequestNo, Zone};
use crate::error::Error;
use crate::store::returns::{self, Accessory, ReturnFilter, ReturnState, ReturnedUnit};
use crate::store::{parts, reservations, stock};
use crate::wire;

/// A returned unit arriving.
#[derive(Debug, Clone)]
pub struct ReceiveReturn {
    pub idempotency_key: String,
    pub request_no: RequestNo,
    /// The door pick-up it came with; empty when none. A pick-up's unit is received once.
    pub pickup_no: String,
    pub part_no: PartNo,
    pub serial: Option<Serial>,
    pub model: String,
    /// Today when not given.
    pub movement_date: Option<NaiveDate>,
}

/// What the inspection of a returned unit found.
#[derive(Debug, Clone)]
pub struct InspectReturn {
    pub return_id: String,
    pub accessories: Vec<AccessoryCheck>,
    pub resaleable: bool,
    pub note: String,
}

/// One accessory that should have come back with the unit.
#[derive(Debug, Clone)]
pub struct AccessoryCheck {
    /// `None` for an accessory that is not a catalogue part (a cable, a manual).
    pub part_no: Option<PartNo>,
    pub name: String,
    pub expected: u32,
    /// At most `expected`.
    pub present: u32,
}

impl From<&AccessoryCheck> for Accessory {
    fn from(a: &AccessoryCheck) -> Self {
        Accessory {
            part_no: a
                .part_no
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            name: a.name.clone(),
            expected: i64::from(a.expected),
            present: i64::from(a.present),
        }
    }
}

/// Which returned units the returns intake's work list wants, oldest received first.
#[derive(Debug, Clone)]
pub struct ReturnsQuery {
    pub state: ReturnState,
    pub request_no: Option<RequestNo>,
    /// Keyed by (received_at, return_id).
    pub page: Page<(DateTime<Utc>, String)>,
}

/// What a completed pick-up's unit did at the returns intake.
#[derive(Debug, Clone, PartialEq)]
pub enum PickupReceipt {
    Received(Box<ReturnedUnit>),
    /// Received before: by a clerk, or on an earlier delivery of the event.
    AlreadyReceived(Box<ReturnedUnit>),
}

/// Who the ledger says booked a unit that arrived with a completed pick-up.
const PICKUP_ACTOR: &str = "logistics.pickup.completed";

impl Warehouse {
    /// Books one returned unit to PENDING_INSPECTION. The same idempotency key returns it; so
    /// does a pick-up whose unit was received already (on its completion, or by another clerk),
    /// when it is the same unit.
    pub async fn receive_return(
        &self,
        actor: &str,
        cmd: ReceiveReturn,
    ) -> Result<ReturnedUnit, Error> {
        let movement_date = self.movement_date(cmd.movement_date)?;
        if let Some(u) = returns::find_by_idempotency_key(&self.db, &cmd.idempotency_key).await? {
            return replay(u, &cmd);
        }
        let txn = self.db.begin().await?;
        if !cmd.pickup_no.is_empty() {
            returns::lock_pickup(&txn, &cmd.pickup_no).await?;
            if let Some(u) = returns::find_by_pickup(&txn, &cmd.pickup_no).await? {
                return replay_pickup(u, &cmd);
            }
        }
        let Some(unit) = self.book_return(&txn, actor, &cmd, movement_date).await? else {
            drop(txn);
            let u = returns::find_by_idempotency_key(&self.db, &cmd.idempotency_key)
                .await?
                .ok_or_else(|| vanished("return"))?;
            return replay(u, &cmd);
        };
        txn.commit().await?;
        Ok(unit)
    }

    /// Books the unit of a completed pick-up in `txn` (the event handler's transaction), once:
    /// a pick-up whose unit was received already (by a clerk, or on an earlier delivery of the
    /// event) books nothing.
    pub async fn receive_pickup(
        &self,
        txn: &DatabaseTransaction,
        cmd: &ReceiveReturn,
    ) -> Result<PickupReceipt, Error> {
        let movement_date = self.movement_date(cmd.movement_date)?;
        returns::lock_pickup(txn, &cmd.pickup_no).await?;
        if let Some(u) = returns::find_by_pickup(txn, &cmd.pickup_no).await? {
            return Ok(PickupReceipt::AlreadyReceived(Box::new(u)));
        }
        match self
            .book_return(txn, PICKUP_ACTOR, cmd, movement_date)
            .await?
        {
            Some(u) => Ok(PickupReceipt::Received(Box::new(u))),
            // Its key is derived from the pick-up, whose lock this holds: only a clerk who chose
            // the same key for another unit gets here.
            None => Err(Error::AlreadyExists(format!(
                "idempotency key {} was used for another returned unit",
                cmd.idempotency_key
            ))),
        }
    }

    /// Stores the unit and books it to PENDING_INSPECTION, in `txn`; `None` when its idempotency
    /// key was taken (by a concurrent request: `txn` is then spoilt and must be dropped).
    async fn book_return(
        &self,
        txn: &DatabaseTransaction,
        actor: &str,
        cmd: &ReceiveReturn,
        movement_date: NaiveDate,
    ) -> Result<Option<ReturnedUnit>, Error> {
        self.require_catalogued(txn, &[("part_no".to_owned(), &cmd.part_no)])
            .await?;
        self.check_period(txn, movement_date).await?;
        // The request's branch: the reservation's, else the one its number was issued for (a
        // return reserves no parts).
        let branch = reservations::get(txn, cmd.request_no.as_str())
            .await?
            .map(|r| r.branch)
            .unwrap_or_else(|| cmd.request_no.branch().to_owned());
        let unit = ReturnedUnit {
            return_id: format!("RT-{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: cmd.idempotency_key.clone(),
            request_no: cmd.request_no.as_str().to_owned(),
            branch,
            pickup_no: cmd.pickup_no.clone(),
            part_no: cmd.part_no.as_str().to_owned(),
            serial: serial_text(&cmd.serial),
            model: cmd.model.clone(),
            inspected: false,
            resaleable: false,
            zone: None,
            inspection_note: String::new(),
            movement_date,
            received_at: self.now(),
            inspected_at: None,
            inspected_by: String::new(),
            accessories: vec![],
        };
        if let Err(e) = returns::insert(txn, &unit).await {
            if is_unique_violation(&e) {
                return Ok(None);
            }
            return Err(e.into());
        }
        stock::lock(txn, &[(unit.part_no.clone(), Zone::PendingInspection)]).await?;
        stock::post(
            txn,
            &stock::Movement {
                part_no: &unit.part_no,
                zone: Zone::PendingInspection,
                kind: MovementKind::CustomerReturn,
                quantity: 1,
                reference_type: "return",
                reference_id: &unit.return_id,
                request_no: &unit.request_no,
                reason: "unit returned by the customer",
                actor,
                movement_date: unit.movement_date,
            },
            0,
        )
        .await?;
        Ok(Some(unit))
    }

    /// Records what came back with the unit and moves it out of inspection. Inspecting an
    /// inspected unit with the same verdict returns it.
    pub async fn inspect_return(
        &self,
        actor: &str,
        cmd: InspectReturn,
    ) -> Result<ReturnedUnit, Error> {
        let (return_id, resaleable, note) = (cmd.return_id.as_str(), cmd.resaleable, &cmd.note);
        let accessories: Vec<Accessory> = cmd.accessories.iter().map(Accessory::from).collect();
        let txn = self.db.begin().await?;
        let mut unit = returns::get_for_update(&txn, return_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("returned unit {return_id}")))?;
        if unit.inspected {
            if unit.resaleable == resaleable && unit.accessories == accessories {
                return Ok(unit);
            }
            return Err(Error::precondition(format!(
                "returned unit {return_id} was already inspected with a different result"
            )));
        }
        let today = self.today();
        self.check_period(&txn, today).await?;
        let part = parts::get(&txn, &unit.part_no)
            .await?
            .ok_or_else(|| Error::not_found(format!("part {}", unit.part_no)))?;
        let to = if resaleable {
            Zone::reservable_for(part.valuable)
        } else {
            Zone::Nonconforming
        };
        let locked = stock::lock(
            &txn,
            &[
                (unit.part_no.clone(), Zone::PendingInspection),
                (unit.part_no.clone(), to),
            ],
        )
        .await?;
        let pending = locked
            .iter()
            .find(|(_, l)| l.zone == Zone::PendingInspection)
            .map(|(_, l)| l.available())
            .unwrap_or(0);
        if pending < 1 {
            return Err(Error::precondition(format!(
                "no unit of {} is pending inspection (adjusted away since it arrived?)",
                unit.part_no
            )));
        }
        let reason = if resaleable {
            "returned unit resaleable"
        } else {
            "returned unit not resaleable"
        };
        for (zone, q) in [(Zone::PendingInspection, -1), (to, 1)] {
            stock::post(
                &txn,
                &stock::Movement {
                    part_no: &unit.part_no,
                    zone,
                    kind: MovementKind::ReturnInspection,
                    quantity: q,
                    reference_type: "return",
                    reference_id: return_id,
                    request_no: &unit.request_no,
                    reason,
                    actor,
                    movement_date: today,
                },
                0,
            )
            .await?;
        }
        let at = self.now();
        unit.inspected = true;
        unit.resaleable = resaleable;
        unit.zone = Some(to);
        unit.inspection_note = note.clone();
        unit.inspected_at = Some(at);
        unit.inspected_by = actor.to_owned();
        unit.accessories = accessories;
        returns::record_inspection(&txn, &unit).await?;
        let event = pb::ReturnInspected {
            request_no: unit.request_no.clone(),
            branch: unit.branch.clone(),
            return_id: unit.return_id.clone(),
            pickup_no: unit.pickup_no.clone(),
            part_no: unit.part_no.clone(),
            serial: unit.serial.clone(),
            accessories: unit.accessories.iter().map(wire::accessory).collect(),
            missing_accessories: unit
                .accessories
                .iter()
                .filter(|a| a.present < a.expected)
                .map(|a| {
                    if a.part_no.is_empty() {
                        a.name.clone()
                    } else {
                        a.part_no.clone()
                    }
                })
                .collect(),
            resaleable,
            zone: wire::zone(to),
            inspection_note: note.clone(),
            inspected_by: actor.to_owned(),
            inspected_at: Some(wire::timestamp(at)),
        };
        self.outbox
            .stage(
                &txn,
                EventMeta::request(&unit.request_no, &unit.branch),
                &event,
            )
            .await?;
        if resaleable {
            self.serve_backorders(&txn, std::slice::from_ref(&unit.part_no))
                .await?;
        }
        self.check_low(&txn, std::slice::from_ref(&unit.part_no))
            .await?;
        txn.commit().await?;
        Ok(unit)
    }

    /// Returned units of one state, oldest received first; the key the next page starts after.
    pub async fn list_returns(
        &self,
        q: ReturnsQuery,
    ) -> Result<(Vec<ReturnedUnit>, Option<(DateTime<Utc>, String)>), Error> {
        let filter = ReturnFilter {
            state: q.state,
            request_no: q.request_no.map(RequestNo::into_string),
            after: q.page.after.clone(),
            limit: q.page.size,
        };
        // One snapshot for the units and their accessories (an inspection may commit between).
        let txn = self.db.begin().await?;
        txn.execute_unprepared("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await?;
        let rows = returns::list(&txn, &filter).await?;
        txn.commit().await?;
        Ok(q.page.next(rows, |u| (u.received_at, u.return_id.clone())))
    }

    pub async fn returned_unit(&self, return_id: &str) -> Result<ReturnedUnit, Error> {
        returns::get(&self.db, return_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("returned unit {return_id}")))
    }
}

/// A unit without a readable serial is stored with an empty one.
fn serial_text(s: &Option<Serial>) -> String {
    s.as_ref()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

/// A pick-up's unit received before answers a later receipt of the same unit (same request and
/// part; the same serial where both give one); another unit under the same pick-up is refused.
fn replay_pickup(u: ReturnedUnit, cmd: &ReceiveReturn) -> Result<ReturnedUnit, Error> {
    let serial = serial_text(&cmd.serial);
    if u.request_no == cmd.request_no.as_str()
        && u.part_no == cmd.part_no.as_str()
        && (u.serial == serial || u.serial.is_empty() || serial.is_empty())
    {
        Ok(u)
    } else {
        Err(Error::AlreadyExists(format!(
            "pick-up {} was received already as returned unit {} ({} {}, serial {:?}); a \
             pick-up's unit is received once",
            u.pickup_no, u.return_id, u.request_no, u.part_no, u.serial
        )))
    }
}

fn replay(u: ReturnedUnit, cmd: &ReceiveReturn) -> Result<ReturnedUnit, Error> {
    if u.request_no == cmd.request_no.as_str()
        && u.part_no == cmd.part_no.as_str()
        && u.serial == serial_text(&cmd.serial)
    {
        Ok(u)
    } else {
        Err(Error::AlreadyExists(
            "idempotency_key was already used for a different returned unit; use a new key".into(),
        ))
    }
}
