//! The warehouse's operations, each one transaction: catalogue, stock queries, receipt and
//! inspection, reservation and release (run inside the event handler's transaction), issue
//! against a pick list and adjustments here; returned units, old parts and supplier returns,
//! stocktake and period close, and ABC classification in the submodules. The gRPC layer parses
//! and authorizes, then calls these.
//!
//! Concurrency: every operation that changes stock locks the stock rows it touches through
//! [`stock::lock`], which takes them in (part_no, zone) order; the last unit therefore goes to
//! exactly one transaction, and the tables' CHECKs refuse negative or over-reserved stock even
//! if a bug slipped through. Serving back-orders may lock further rows after the caller's; a
//! deadlock Postgres detects there surfaces as [`Error::Aborted`] (ABORTED to a caller, a retry
//! to the consumer).

use std::collections::BTreeSet;

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::outbox::{EventMeta, Outbox};
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as pb;
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};

mod abc;
mod old_parts;
mod returns;
mod stocktake;

pub use old_parts::{ReceiveOldPart, ReturnToSupplier};
pub use returns::{ReceiveReturn, accessory_to_proto};
pub use stocktake::ClosedPeriod;

use crate::domain::reservation::pick_list_mismatches;
use crate::domain::stock::low_stock_transition;
use crate::domain::{LineRequest, MovementKind, Urgency, Zone, plan_reservation};
use crate::error::Error;
use crate::store::parts::{self, Part};
use crate::store::receipts::{self, Receipt, ReceiptLine};
use crate::store::reservations::{self, Line, NewReservation, Reservation, Status};
use crate::store::stock::{self, LedgerEntry, LedgerFilter, Level, Movement};

/// The actor recorded for movements no person triggered (events).
pub const SYSTEM: &str = "system";

/// What the operations need.
#[derive(Clone)]
pub struct Warehouse {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    /// Hold what is available and back-order the rest, instead of all or nothing.
    pub partial_reservations: bool,
}

/// A request's lines to reserve, as claims approved them.
#[derive(Debug, Clone)]
pub struct ReserveCommand {
    pub request_no: String,
    pub branch: String,
    pub urgency: Urgency,
    pub kind: i32,
    pub ship_to: Option<common::Address>,
    pub onsite_required: bool,
    /// (part_no, quantity), quantities > 0; the same part twice is summed.
    pub lines: Vec<(String, u32)>,
}

/// What a reservation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveOutcome {
    Confirmed,
    Backordered,
    /// The request already had a reservation (redelivery) or was cancelled before: nothing done.
    AlreadyHandled,
    /// Nothing to reserve (no part lines).
    NothingToReserve,
}

/// One part's stock.
#[derive(Debug, Clone)]
pub struct StockView {
    pub part: Part,
    pub levels: Vec<Level>,
    pub available: i64,
    pub backordered: i64,
}

/// A delivery to book.
#[derive(Debug, Clone)]
pub struct ReceiveGoods {
    pub idempotency_key: String,
    pub po_number: String,
    pub supplier_id: String,
    pub delivery_note: String,
    /// (part_no, quantity, po_line_no)
    pub lines: Vec<(String, u32, u32)>,
    pub movement_date: NaiveDate,
}

/// An inspection result of one receipt line.
#[derive(Debug, Clone)]
pub struct InspectionLine {
    pub part_no: String,
    pub passed: u32,
    pub failed: u32,
    pub failure_reason: String,
}

/// Parts presented for issue against a pick list.
#[derive(Debug, Clone)]
pub struct IssueParts {
    pub request_no: String,
    /// The caller's branch; `None` for head office. Another branch's pick list is not found.
    pub branch_scope: Option<String>,
    pub lines: Vec<(String, u32)>,
    pub shipment_no: String,
    pub movement_date: NaiveDate,
}

/// A correction of on-hand in one zone (stocktake differences).
#[derive(Debug, Clone)]
pub struct Adjustment {
    pub part_no: String,
    pub zone: Zone,
    pub delta: i64,
    pub reason: String,
    pub reference_id: String,
    pub movement_date: NaiveDate,
}

impl Warehouse {
    pub fn new(db: DatabaseConnection, partial_reservations: bool) -> Self {
        Self {
            db,
            outbox: Outbox::new(crate::config::SERVICE),
            partial_reservations,
        }
    }

    // ----- catalogue -------------------------------------------------------------------------

    /// Creates or updates a part by number. The same body twice changes nothing. A part's
    /// `valuable` flag may change only while it has no stock and no open reservation (its stock
    /// would otherwise sit in the wrong zone).
    pub async fn upsert_part(&self, mut part: Part) -> Result<(Part, bool), Error> {
        let txn = self.db.begin().await?;
        let now = now();
        let existing = parts::get_for_update(&txn, &part.part_no).await?;
        let created = match existing {
            None => {
                part.created_at = now;
                part.updated_at = now;
                part.abc_class = None;
                parts::insert(&txn, &part).await.map_err(|e| {
                    if is_unique_violation(&e) {
                        Error::Aborted(format!(
                            "part {} was created concurrently; retry",
                            part.part_no
                        ))
                    } else {
                        e.into()
                    }
                })?;
                // A new part has nothing on hand: it starts below its reorder point without
                // having crossed it, so no alert; it re-arms once stock reaches the point.
                parts::set_low_alerted(&txn, &part.part_no, part.reorder_point > 0).await?;
                txn.commit().await?;
                return Ok((part, true));
            }
            Some(old) => {
                part.created_at = old.created_at;
                part.abc_class = old.abc_class.clone();
                part.updated_at = old.updated_at;
                if part == old {
                    return Ok((old, false));
                }
                if part.valuable != old.valuable && self.has_stock_or_holds(&txn, &old).await? {
                    return Err(Error::FailedPrecondition(format!(
                        "part {} has stock or open reservations; its valuable flag can change only when it has none",
                        old.part_no
                    )));
                }
                part.updated_at = now;
                parts::update(&txn, &part).await?;
                false
            }
        };
        self.check_low(&txn, &[part.part_no.clone()]).await?;
        txn.commit().await?;
        Ok((part, created))
    }

    async fn has_stock_or_holds(&self, txn: &DatabaseTransaction, p: &Part) -> Result<bool, Error> {
        let levels = stock::levels(txn, &p.part_no).await?;
        if levels.iter().any(|l| l.on_hand != 0 || l.reserved != 0) {
            return Ok(true);
        }
        let row = txn
            .query_one_raw(crate::store::stmt(
                "SELECT 1 AS x FROM reservation_lines l JOIN reservations r USING (request_no) \
                 WHERE l.part_no = $1 AND r.status IN ('CONFIRMED', 'BACKORDERED') LIMIT 1",
                [p.part_no.as_str().into()],
            ))
            .await?;
        Ok(row.is_some())
    }

    pub async fn get_part(&self, part_no: &str) -> Result<Part, Error> {
        parts::get(&self.db, part_no)
            .await?
            .ok_or_else(|| Error::NotFound(format!("part {part_no}")))
    }

    /// One page ordered by part_no, and whether another follows.
    pub async fn list_parts(
        &self,
        query: &str,
        after: &str,
        limit: u32,
    ) -> Result<(Vec<Part>, bool), Error> {
        let mut rows = parts::list(&self.db, query, after, limit).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        Ok((rows, more))
    }

    // ----- queries ---------------------------------------------------------------------------

    pub async fn stock(&self, part_no: &str) -> Result<StockView, Error> {
        let part = self.get_part(part_no).await?;
        // One snapshot for levels and back-orders.
        let txn = self.db.begin().await?;
        txn.execute_unprepared("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await?;
        let levels = stock::levels(&txn, part_no).await?;
        let backordered = reservations::backordered(&txn, part_no).await?;
        txn.commit().await?;
        let available = levels
            .iter()
            .filter(|l| matches!(l.zone, Zone::Qualified | Zone::Valuables))
            .map(Level::available)
            .sum();
        Ok(StockView {
            part,
            levels,
            available,
            backordered,
        })
    }

    /// Newest first; the entry id to continue before, when there is more.
    pub async fn ledger(
        &self,
        filter: LedgerFilter,
    ) -> Result<(Vec<LedgerEntry>, Option<i64>), Error> {
        let limit = filter.limit as usize;
        let mut rows = stock::ledger(&self.db, &filter).await?;
        if rows.len() > limit {
            rows.truncate(limit);
            return Ok((rows.clone(), rows.last().map(|r| r.entry_id)));
        }
        Ok((rows, None))
    }

    pub async fn backorders(
        &self,
        filter: reservations::BackorderFilter,
    ) -> Result<(Vec<Reservation>, Option<u32>), Error> {
        let limit = filter.limit as usize;
        let mut rows = reservations::list_backorders(&self.db, &filter).await?;
        if rows.len() > limit {
            rows.truncate(limit);
            return Ok((rows, Some(filter.offset + filter.limit)));
        }
        Ok((rows, None))
    }

    pub async fn pick_list(&self, request_no: &str) -> Result<Reservation, Error> {
        reservations::get(&self.db, request_no)
            .await?
            .filter(|r| r.confirmed_at.is_some())
            .ok_or_else(|| Error::NotFound(format!("pick list {}", pick_list_id(request_no))))
    }

    // ----- inbound ---------------------------------------------------------------------------

    /// Books the delivered lines to PENDING_INSPECTION. The same idempotency key returns the
    /// first receipt; with different lines it is refused.
    pub async fn receive_goods(&self, actor: &str, cmd: ReceiveGoods) -> Result<Receipt, Error> {
        if let Some(r) = receipts::find_by_idempotency_key(&self.db, &cmd.idempotency_key).await? {
            return replay_receipt(r, &cmd);
        }
        let txn = self.db.begin().await?;
        let mut bad = Vec::new();
        for (i, (part_no, _, _)) in cmd.lines.iter().enumerate() {
            if parts::get(&txn, part_no).await?.is_none() {
                bad.push(aftersales_platform::grpc::Violation::new(
                    format!("lines[{i}].part_no"),
                    format!("{part_no} is not in the catalogue"),
                ));
            }
        }
        if !bad.is_empty() {
            return Err(Error::Invalid(bad));
        }
        self.check_period(&txn, cmd.movement_date).await?;
        let receipt = Receipt {
            receipt_id: format!("RC-{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: cmd.idempotency_key.clone(),
            po_number: cmd.po_number.clone(),
            supplier_id: cmd.supplier_id.clone(),
            delivery_note: cmd.delivery_note.clone(),
            inspected: false,
            movement_date: cmd.movement_date,
            received_by: actor.to_owned(),
            received_at: now(),
            inspected_by: String::new(),
            inspected_at: None,
            lines: cmd
                .lines
                .iter()
                .enumerate()
                .map(|(i, (p, q, po))| ReceiptLine {
                    line_no: i as i32 + 1,
                    part_no: p.clone(),
                    quantity: i64::from(*q),
                    po_line_no: *po as i32,
                    passed: 0,
                    failed: 0,
                    failure_reason: String::new(),
                })
                .collect(),
        };
        if let Err(e) = receipts::insert(&txn, &receipt).await {
            if is_unique_violation(&e) {
                drop(txn);
                let r = receipts::find_by_idempotency_key(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| Error::Aborted("a concurrent receipt vanished; retry".into()))?;
                return replay_receipt(r, &cmd);
            }
            return Err(e.into());
        }
        let keys: Vec<(String, Zone)> = receipt
            .lines
            .iter()
            .map(|l| (l.part_no.clone(), Zone::PendingInspection))
            .collect();
        stock::lock(&txn, &keys).await?;
        for l in &receipt.lines {
            stock::post(
                &txn,
                &Movement {
                    part_no: &l.part_no,
                    zone: Zone::PendingInspection,
                    kind: MovementKind::Receipt,
                    quantity: l.quantity,
                    reference_type: "receipt",
                    reference_id: &receipt.receipt_id,
                    request_no: "",
                    reason: &receipt_reason(&receipt),
                    actor,
                    movement_date: receipt.movement_date,
                },
                0,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(receipt)
    }

    /// Moves passed units to QUALIFIED (VALUABLES for valuable parts) and failed ones to
    /// NONCONFORMING, stages `warehouse.goods.received`, then serves open back-orders of the
    /// passed parts in order. Inspecting an inspected receipt with the same result returns it.
    pub async fn record_inspection(
        &self,
        actor: &str,
        receipt_id: &str,
        lines: Vec<InspectionLine>,
    ) -> Result<Receipt, Error> {
        let txn = self.db.begin().await?;
        let mut receipt = receipts::get_for_update(&txn, receipt_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("receipt {receipt_id}")))?;
        let matched = match_inspection(&receipt, &lines)?;
        if receipt.inspected {
            let same =
                receipt.lines.iter().zip(&matched).all(|(l, m)| {
                    l.passed == i64::from(m.passed) && l.failed == i64::from(m.failed)
                });
            if same {
                return Ok(receipt);
            }
            return Err(Error::FailedPrecondition(format!(
                "receipt {receipt_id} was already inspected with a different result"
            )));
        }
        let today = Utc::now().date_naive();
        self.check_period(&txn, today).await?;
        let mut keys = Vec::new();
        let mut valuable = std::collections::HashMap::new();
        for l in &receipt.lines {
            let part = parts::get(&txn, &l.part_no)
                .await?
                .ok_or_else(|| Error::NotFound(format!("part {}", l.part_no)))?;
            let good = Zone::reservable_for(part.valuable);
            keys.push((l.part_no.clone(), Zone::PendingInspection));
            keys.push((l.part_no.clone(), good));
            keys.push((l.part_no.clone(), Zone::Nonconforming));
            valuable.insert(l.part_no.clone(), part.valuable);
        }
        let locked = stock::lock(&txn, &keys).await?;
        // Pending stock may have been adjusted since the receipt; never inspect more than is there.
        for l in &receipt.lines {
            let pending = locked
                .iter()
                .find(|(p, lv)| *p == l.part_no && lv.zone == Zone::PendingInspection)
                .map(|(_, lv)| lv.available())
                .unwrap_or(0);
            let need: i64 = receipt
                .lines
                .iter()
                .filter(|x| x.part_no == l.part_no)
                .map(|x| x.quantity)
                .sum();
            if pending < need {
                return Err(Error::FailedPrecondition(format!(
                    "only {pending} unit(s) of {} are pending inspection, the receipt needs {need}",
                    l.part_no
                )));
            }
        }
        let reason_pass = format!("inspection of receipt {receipt_id}");
        for (l, m) in receipt.lines.iter_mut().zip(&matched) {
            l.passed = i64::from(m.passed);
            l.failed = i64::from(m.failed);
            l.failure_reason = m.failure_reason.clone();
            let good = Zone::reservable_for(valuable.get(&l.part_no).copied().unwrap_or(false));
            for (n, to, kind, reason) in [
                (
                    l.passed,
                    good,
                    MovementKind::InspectionPass,
                    reason_pass.as_str(),
                ),
                (
                    l.failed,
                    Zone::Nonconforming,
                    MovementKind::InspectionFail,
                    if l.failure_reason.is_empty() {
                        reason_pass.as_str()
                    } else {
                        l.failure_reason.as_str()
                    },
                ),
            ] {
                if n == 0 {
                    continue;
                }
                for (zone, q) in [(Zone::PendingInspection, -n), (to, n)] {
                    stock::post(
                        &txn,
                        &Movement {
                            part_no: &l.part_no,
                            zone,
                            kind,
                            quantity: q,
                            reference_type: "receipt",
                            reference_id: receipt_id,
                            request_no: "",
                            reason,
                            actor,
                            movement_date: today,
                        },
                        0,
                    )
                    .await?;
                }
            }
        }
        let at = now();
        receipts::record_inspection(&txn, &receipt, actor, at).await?;
        receipt.inspected = true;
        receipt.inspected_by = actor.to_owned();
        receipt.inspected_at = Some(at);
        let event = pb::GoodsReceived {
            receipt_id: receipt.receipt_id.clone(),
            po_number: receipt.po_number.clone(),
            supplier_id: receipt.supplier_id.clone(),
            delivery_note: receipt.delivery_note.clone(),
            lines: receipt
                .lines
                .iter()
                .map(|l| pb::GoodsReceivedLine {
                    part_no: l.part_no.clone(),
                    po_line_no: l.po_line_no as u32,
                    received: l.quantity as u32,
                    passed: l.passed as u32,
                    failed: l.failed as u32,
                    failure_reason: l.failure_reason.clone(),
                })
                .collect(),
            received_date: receipt.movement_date.to_string(),
            received_at: Some(timestamp(receipt.received_at)),
            inspected_at: Some(timestamp(at)),
        };
        self.outbox
            .stage(
                &txn,
                EventMeta {
                    subject: &receipt.receipt_id,
                    branch: "",
                    request_no: "",
                },
                &event,
            )
            .await?;
        let passed: Vec<String> = receipt
            .lines
            .iter()
            .filter(|l| l.passed > 0)
            .map(|l| l.part_no.clone())
            .collect();
        self.serve_backorders(&txn, &passed).await?;
        let all: Vec<String> = receipt.lines.iter().map(|l| l.part_no.clone()).collect();
        self.check_low(&txn, &all).await?;
        txn.commit().await?;
        Ok(receipt)
    }

    // ----- reservations ----------------------------------------------------------------------

    /// Reserves a request's lines in `txn` (the event handler's transaction): all or nothing
    /// (or partially, when configured). Enough → pick list + `warehouse.reservation.confirmed`;
    /// short → back-order + `warehouse.stock.shortage`. A request that already has a
    /// reservation (or was cancelled first) is left alone.
    pub async fn reserve(
        &self,
        txn: &DatabaseTransaction,
        cmd: &ReserveCommand,
    ) -> Result<ReserveOutcome, Error> {
        let mut wanted: std::collections::BTreeMap<String, i64> = Default::default();
        for (p, q) in &cmd.lines {
            *wanted.entry(p.clone()).or_default() += i64::from(*q);
        }
        if wanted.is_empty() {
            return Ok(ReserveOutcome::NothingToReserve);
        }
        let ship_to = cmd.ship_to.clone().unwrap_or_default().encode_to_vec();
        let inserted = reservations::insert_if_new(
            txn,
            &NewReservation {
                request_no: &cmd.request_no,
                branch: &cmd.branch,
                urgency: cmd.urgency,
                kind: cmd.kind,
                ship_to,
                onsite_required: cmd.onsite_required,
                status: Status::Backordered,
            },
        )
        .await?;
        if !inserted {
            return Ok(ReserveOutcome::AlreadyHandled);
        }
        let mut lines = Vec::new();
        for (part_no, requested) in wanted {
            let zone = match parts::get(txn, &part_no).await? {
                Some(p) => Zone::reservable_for(p.valuable),
                None => Zone::Qualified,
            };
            let line = Line {
                part_no,
                zone,
                requested,
                held: 0,
            };
            reservations::insert_line(txn, &cmd.request_no, &line).await?;
            lines.push(line);
        }
        let mut res = reservations::get(txn, &cmd.request_no)
            .await?
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("reservation vanished")))?;
        let (complete, short) = self.fill(txn, &mut res.lines).await?;
        for l in &res.lines {
            reservations::update_line(txn, &res.request_no, l).await?;
        }
        let parts: Vec<String> = res.lines.iter().map(|l| l.part_no.clone()).collect();
        let outcome = if complete {
            self.confirm(txn, &res, None).await?;
            ReserveOutcome::Confirmed
        } else {
            reservations::set_status(txn, &res.request_no, Status::Backordered).await?;
            let event = pb::StockShortage {
                request_no: res.request_no.clone(),
                branch: res.branch.clone(),
                backorder_id: backorder_id(&res.request_no),
                urgency: urgency_to_proto(res.urgency) as i32,
                lines: res
                    .lines
                    .iter()
                    .zip(&short)
                    .filter(|(_, short)| **short)
                    .map(|(l, _)| backorder_line(l))
                    .collect(),
                partially_reserved: res.lines.iter().any(|l| l.held > 0),
            };
            self.outbox
                .stage(
                    txn,
                    EventMeta::request(&res.request_no, &res.branch),
                    &event,
                )
                .await?;
            ReserveOutcome::Backordered
        };
        self.check_low(txn, &parts).await?;
        Ok(outcome)
    }

    /// Holds what the lines miss, from the locked stock rows, and updates `lines` (the caller
    /// stores them). Returns whether every line is now held in full, and per line whether its
    /// stock was short (what procurement must order).
    async fn fill(
        &self,
        txn: &DatabaseTransaction,
        lines: &mut [Line],
    ) -> Result<(bool, Vec<bool>), Error> {
        let mut keys = Vec::new();
        for l in lines.iter_mut().filter(|l| l.missing() > 0) {
            if let Some(p) = parts::get(txn, &l.part_no).await? {
                // Nothing is held yet when the zone could differ (see upsert_part).
                l.zone = Zone::reservable_for(p.valuable);
            }
            keys.push((l.part_no.clone(), l.zone));
        }
        let locked = stock::lock(txn, &keys).await?;
        let requests: Vec<LineRequest> = lines
            .iter()
            .map(|l| {
                let available = locked
                    .iter()
                    .find(|(p, lv)| *p == l.part_no && lv.zone == l.zone)
                    .map(|(_, lv)| lv.available().max(0))
                    .unwrap_or(0);
                LineRequest {
                    requested: l.requested as u32,
                    reserved: l.held as u32,
                    available: available.min(i64::from(u32::MAX)) as u32,
                }
            })
            .collect();
        let short = requests
            .iter()
            .map(|r| r.available < r.requested - r.reserved)
            .collect();
        let plan = plan_reservation(&requests, self.partial_reservations);
        for (l, take) in lines.iter_mut().zip(&plan.take) {
            if *take == 0 {
                continue;
            }
            stock::add_reserved(txn, &l.part_no, l.zone, i64::from(*take)).await?;
            l.held += i64::from(*take);
        }
        Ok((plan.complete, short))
    }

    async fn confirm(
        &self,
        txn: &DatabaseTransaction,
        res: &Reservation,
        backorder: Option<String>,
    ) -> Result<(), Error> {
        reservations::set_status(txn, &res.request_no, Status::Confirmed).await?;
        let ship_to = common::Address::decode(res.ship_to.as_slice()).ok();
        let event = pb::ReservationConfirmed {
            request_no: res.request_no.clone(),
            branch: res.branch.clone(),
            pick_list_id: pick_list_id(&res.request_no),
            lines: res.lines.iter().map(pick_line).collect(),
            urgency: urgency_to_proto(res.urgency) as i32,
            kind: res.kind,
            ship_to,
            onsite_required: res.onsite_required,
            backorder_id: backorder.unwrap_or_default(),
            reserved_at: Some(timestamp(now())),
        };
        self.outbox
            .stage(
                txn,
                EventMeta::request(&res.request_no, &res.branch),
                &event,
            )
            .await?;
        Ok(())
    }

    /// Serves open back-orders missing any of `parts`, most urgent first, then oldest; one that
    /// cannot be served in full yet (all or nothing) is skipped and keeps its place.
    async fn serve_backorders(
        &self,
        txn: &DatabaseTransaction,
        parts: &[String],
    ) -> Result<(), Error> {
        for request_no in reservations::open_backorders_for(txn, parts).await? {
            let Some(mut res) = reservations::try_lock(txn, &request_no).await? else {
                continue;
            };
            if res.status != Status::Backordered {
                continue;
            }
            let before: Vec<(i64, Zone)> = res.lines.iter().map(|l| (l.held, l.zone)).collect();
            let (complete, _) = self.fill(txn, &mut res.lines).await?;
            for (l, b) in res.lines.iter().zip(before) {
                if (l.held, l.zone) != b {
                    reservations::update_line(txn, &res.request_no, l).await?;
                }
            }
            if complete {
                self.confirm(txn, &res, Some(backorder_id(&res.request_no)))
                    .await?;
            }
        }
        Ok(())
    }

    /// Releases what a cancelled request holds and serves back-orders from it. A request not
    /// reserved yet gets a released reservation, so a later claim.approved reserves nothing.
    /// Issued parts have left the warehouse: nothing to release.
    pub async fn release(
        &self,
        txn: &DatabaseTransaction,
        request_no: &str,
        branch: &str,
    ) -> Result<(), Error> {
        let Some(res) = reservations::get_for_update(txn, request_no).await? else {
            reservations::insert_if_new(
                txn,
                &NewReservation {
                    request_no,
                    branch,
                    urgency: Urgency::Normal,
                    kind: 0,
                    ship_to: vec![],
                    onsite_required: false,
                    status: Status::Released,
                },
            )
            .await?;
            return Ok(());
        };
        if !matches!(res.status, Status::Confirmed | Status::Backordered) {
            return Ok(());
        }
        let keys: Vec<(String, Zone)> = res
            .lines
            .iter()
            .filter(|l| l.held > 0)
            .map(|l| (l.part_no.clone(), l.zone))
            .collect();
        stock::lock(txn, &keys).await?;
        for l in res.lines.iter().filter(|l| l.held > 0) {
            stock::add_reserved(txn, &l.part_no, l.zone, -l.held).await?;
        }
        reservations::set_status(txn, request_no, Status::Released).await?;
        let parts: Vec<String> = keys.into_iter().map(|(p, _)| p).collect();
        self.serve_backorders(txn, &parts).await?;
        self.check_low(txn, &parts).await?;
        Ok(())
    }

    // ----- outbound --------------------------------------------------------------------------

    /// Issues a pick list: the presented lines must equal it (part, quantity), or nothing is
    /// issued and the answer lists every difference. Issuing an issued pick list again with the
    /// same lines returns it.
    pub async fn issue(&self, actor: &str, cmd: IssueParts) -> Result<Reservation, Error> {
        let txn = self.db.begin().await?;
        let res = reservations::get_for_update(&txn, &cmd.request_no)
            .await?
            .filter(|r| r.confirmed_at.is_some())
            .filter(|r| cmd.branch_scope.as_ref().is_none_or(|b| *b == r.branch))
            .ok_or_else(|| {
                Error::NotFound(format!("pick list {}", pick_list_id(&cmd.request_no)))
            })?;
        let pick: Vec<(String, u32)> = res
            .lines
            .iter()
            .map(|l| (l.part_no.clone(), l.held as u32))
            .collect();
        let mismatches = pick_list_mismatches(&pick, &cmd.lines);
        match res.status {
            Status::Issued if mismatches.is_empty() => return Ok(res),
            Status::Issued => {
                return Err(Error::FailedPrecondition(format!(
                    "pick list {} was already issued",
                    pick_list_id(&res.request_no)
                )));
            }
            Status::Released => {
                return Err(Error::FailedPrecondition(format!(
                    "pick list {} was cancelled with its request",
                    pick_list_id(&res.request_no)
                )));
            }
            Status::Backordered => {
                return Err(Error::FailedPrecondition(format!(
                    "pick list {} is not fully reserved",
                    pick_list_id(&res.request_no)
                )));
            }
            Status::Confirmed => {}
        }
        if !mismatches.is_empty() {
            return Err(Error::FailedPrecondition(format!(
                "the lines do not match pick list {}; nothing was issued: {}",
                pick_list_id(&res.request_no),
                mismatches.join("; ")
            )));
        }
        self.check_period(&txn, cmd.movement_date).await?;
        let keys: Vec<(String, Zone)> = res
            .lines
            .iter()
            .map(|l| (l.part_no.clone(), l.zone))
            .collect();
        stock::lock(&txn, &keys).await?;
        let pick_id = pick_list_id(&res.request_no);
        let mut issued = Vec::new();
        for l in &res.lines {
            stock::post(
                &txn,
                &Movement {
                    part_no: &l.part_no,
                    zone: l.zone,
                    kind: MovementKind::Issue,
                    quantity: -l.held,
                    reference_type: "pick_list",
                    reference_id: &pick_id,
                    request_no: &res.request_no,
                    reason: "issued against the pick list",
                    actor,
                    movement_date: cmd.movement_date,
                },
                l.held,
            )
            .await?;
            let part = parts::get(&txn, &l.part_no).await?;
            issued.push(pb::IssuedLine {
                part_no: l.part_no.clone(),
                quantity: l.held as u32,
                zone: zone_to_proto(l.zone) as i32,
                unit_cost: part.map(|p| common::Money {
                    currency: p.unit_cost_currency,
                    amount_minor: p.unit_cost_minor,
                }),
            });
        }
        let at = now();
        reservations::set_issued(&txn, &res.request_no, actor, &cmd.shipment_no, at).await?;
        let event = pb::PartsIssued {
            request_no: res.request_no.clone(),
            branch: res.branch.clone(),
            pick_list_id: pick_id,
            lines: issued,
            shipment_no: cmd.shipment_no.clone(),
            issued_by: actor.to_owned(),
            issued_at: Some(timestamp(at)),
        };
        self.outbox
            .stage(
                &txn,
                EventMeta::request(&res.request_no, &res.branch),
                &event,
            )
            .await?;
        let res = reservations::get(&txn, &cmd.request_no)
            .await?
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("pick list vanished")))?;
        txn.commit().await?;
        Ok(res)
    }

    // ----- adjustments -----------------------------------------------------------------------

    /// Posts a correction of on-hand in one zone. Reserved units cannot be adjusted away.
    pub async fn adjust(&self, actor: &str, a: Adjustment) -> Result<LedgerEntry, Error> {
        let txn = self.db.begin().await?;
        let part = parts::get(&txn, &a.part_no)
            .await?
            .ok_or_else(|| Error::NotFound(format!("part {}", a.part_no)))?;
        if !a.zone.admits(part.valuable) {
            return Err(Error::FailedPrecondition(format!(
                "{} stock of part {} cannot be in {}",
                if part.valuable {
                    "valuable"
                } else {
                    "ordinary"
                },
                a.part_no,
                a.zone
            )));
        }
        self.check_period(&txn, a.movement_date).await?;
        let locked = stock::lock(&txn, &[(a.part_no.clone(), a.zone)]).await?;
        let available = locked.first().map(|(_, l)| l.available()).unwrap_or(0);
        if a.delta < 0 && available < -a.delta {
            return Err(Error::FailedPrecondition(format!(
                "only {available} unreserved unit(s) of {} in {}; cannot remove {}",
                a.part_no, a.zone, -a.delta
            )));
        }
        let entry = stock::post(
            &txn,
            &Movement {
                part_no: &a.part_no,
                zone: a.zone,
                kind: MovementKind::StocktakeAdjustment,
                quantity: a.delta,
                reference_type: "stocktake",
                reference_id: &a.reference_id,
                request_no: "",
                reason: &a.reason,
                actor,
                movement_date: a.movement_date,
            },
            0,
        )
        .await?;
        if a.delta > 0 && matches!(a.zone, Zone::Qualified | Zone::Valuables) {
            self.serve_backorders(&txn, std::slice::from_ref(&a.part_no))
                .await?;
        }
        self.check_low(&txn, std::slice::from_ref(&a.part_no))
            .await?;
        txn.commit().await?;
        Ok(entry)
    }

    // ----- shared ----------------------------------------------------------------------------

    async fn check_period(&self, txn: &DatabaseTransaction, date: NaiveDate) -> Result<(), Error> {
        // Shared with other movements, exclusive with closing the month: a movement that passed
        // this check commits before the month can close.
        let period = date.format("%Y-%m").to_string();
        txn.execute_raw(crate::store::stmt(
            "SELECT pg_advisory_xact_lock_shared($1)",
            [period_lock_key(&period).into()],
        ))
        .await?;
        if stock::period_closed(txn, date).await? {
            return Err(Error::FailedPrecondition(format!(
                "period {} is closed; movements dated {date} are not accepted",
                date.format("%Y-%m")
            )));
        }
        Ok(())
    }

    /// Fires `warehouse.stock.low` for each part whose available fell below its reorder point
    /// (once per crossing), and re-arms the alert of those back at or above it.
    async fn check_low(&self, txn: &DatabaseTransaction, part_nos: &[String]) -> Result<(), Error> {
        let set: BTreeSet<&String> = part_nos.iter().collect();
        for part_no in set {
            let Some(part) = parts::get(txn, part_no).await? else {
                continue;
            };
            let available = stock::reservable(txn, part_no).await?;
            let alerted = parts::low_alerted(txn, part_no).await?;
            match low_stock_transition(alerted, available, part.reorder_point) {
                Some(true) if parts::set_low_alerted(txn, part_no, true).await? => {
                    let event = pb::StockLow {
                        part_no: part.part_no.clone(),
                        name: part.name.clone(),
                        available: available.max(0) as u32,
                        reorder_point: part.reorder_point as u32,
                        reorder_quantity: part.reorder_quantity as u32,
                        safety_stock: part.safety_stock as u32,
                        backordered: reservations::backordered(txn, part_no).await? as u32,
                        lifecycle: lifecycle_to_proto(&part.lifecycle) as i32,
                        unit_cost: Some(common::Money {
                            currency: part.unit_cost_currency.clone(),
                            amount_minor: part.unit_cost_minor,
                        }),
                    };
                    self.outbox
                        .stage(
                            txn,
                            EventMeta {
                                subject: part_no,
                                branch: "",
                                request_no: "",
                            },
                            &event,
                        )
                        .await?;
                }
                Some(false) => {
                    parts::set_low_alerted(txn, part_no, false).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn replay_receipt(r: Receipt, cmd: &ReceiveGoods) -> Result<Receipt, Error> {
    let same = r.po_number == cmd.po_number
        && r.lines.len() == cmd.lines.len()
        && r.lines.iter().zip(&cmd.lines).all(|(a, (p, q, po))| {
            a.part_no == *p && a.quantity == i64::from(*q) && a.po_line_no == *po as i32
        });
    if same {
        Ok(r)
    } else {
        Err(Error::Conflict(
            "idempotency_key was already used for a different receipt; use a new key".into(),
        ))
    }
}

fn receipt_reason(r: &Receipt) -> String {
    if r.po_number.is_empty() {
        format!("free receipt, delivery note {}", r.delivery_note)
    } else {
        format!(
            "receipt against {}, delivery note {}",
            r.po_number, r.delivery_note
        )
    }
}

/// Pairs each receipt line with one inspection line of the same part; every receipt line needs
/// one, and passed + failed must equal what was received.
fn match_inspection<'a>(
    receipt: &Receipt,
    lines: &'a [InspectionLine],
) -> Result<Vec<&'a InspectionLine>, Error> {
    let mut used = vec![false; lines.len()];
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, l) in receipt.lines.iter().enumerate() {
        let found = lines
            .iter()
            .enumerate()
            .find(|(j, x)| !used[*j] && x.part_no == l.part_no);
        match found {
            Some((j, x)) => {
                used[j] = true;
                if i64::from(x.passed) + i64::from(x.failed) != l.quantity {
                    bad.push(aftersales_platform::grpc::Violation::new(
                        format!("lines[{j}]"),
                        format!(
                            "passed + failed must equal the {} unit(s) of {} received",
                            l.quantity, l.part_no
                        ),
                    ));
                }
                out.push(x);
            }
            None => bad.push(aftersales_platform::grpc::Violation::new(
                "lines",
                format!(
                    "receipt line {} ({}) has no inspection result",
                    i + 1,
                    l.part_no
                ),
            )),
        }
    }
    for (j, u) in used.iter().enumerate() {
        if !u {
            bad.push(aftersales_platform::grpc::Violation::new(
                format!("lines[{j}].part_no"),
                format!("{} is not a line of the receipt", lines[j].part_no),
            ));
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(Error::Invalid(bad))
    }
}

pub fn pick_list_id(request_no: &str) -> String {
    format!("PL-{request_no}")
}

pub fn backorder_id(request_no: &str) -> String {
    format!("BO-{request_no}")
}

pub fn pick_line(l: &Line) -> pb::PickLine {
    pb::PickLine {
        part_no: l.part_no.clone(),
        quantity: l.held as u32,
        zone: zone_to_proto(l.zone) as i32,
    }
}

pub fn backorder_line(l: &Line) -> pb::BackorderLine {
    pb::BackorderLine {
        part_no: l.part_no.clone(),
        requested: l.requested as u32,
        reserved: l.held as u32,
        missing: l.missing() as u32,
    }
}

pub fn zone_to_proto(z: Zone) -> pb::Zone {
    match z {
        Zone::Qualified => pb::Zone::Qualified,
        Zone::PendingInspection => pb::Zone::PendingInspection,
        Zone::Nonconforming => pb::Zone::Nonconforming,
        Zone::Valuables => pb::Zone::Valuables,
        Zone::OldParts => pb::Zone::OldParts,
    }
}

pub fn urgency_to_proto(u: Urgency) -> common::Urgency {
    match u {
        Urgency::Low => common::Urgency::Low,
        Urgency::Normal => common::Urgency::Normal,
        Urgency::High => common::Urgency::High,
        Urgency::Critical => common::Urgency::Critical,
    }
}

pub fn lifecycle_to_proto(s: &str) -> pb::Lifecycle {
    pb::Lifecycle::from_str_name(&format!("LIFECYCLE_{s}")).unwrap_or(pb::Lifecycle::Unspecified)
}

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// The advisory lock key of a period ("YYYY-MM"): a fixed prefix and the month number.
fn period_lock_key(period: &str) -> i64 {
    let digits: String = period.chars().filter(char::is_ascii_digit).collect();
    0x0af7_e45a_0000_0000 + digits.parse::<i64>().unwrap_or(0)
}

/// Now, at the precision Postgres keeps (microseconds), so an answer equals a later read.
fn now() -> DateTime<Utc> {
    use chrono::DurationRound;
    let t = Utc::now();
    t.duration_trunc(chrono::Duration::microseconds(1))
        .unwrap_or(t)
}
