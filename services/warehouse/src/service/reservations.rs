//! Reservations: an approved request's lines are held all or nothing (or partially, when
//! configured) and confirmed as a pick list, or back-ordered and served as stock arrives, most
//! urgent first; a cancelled request gives back what it held. A shipment lost or damaged on the
//! way is replaced by a further reservation of the request, reserved and served the same way
//! (pick list `PL-<request no>-R<n>`). These run in the event handler's transaction.
//!
//! Approval, replacements and cancellation of one request may be handled in any order,
//! concurrently (a backlog handled 32 at a time) and more than once. Two rules make every
//! interleaving come out right:
//! - [`Warehouse::reserve`], [`Warehouse::reserve_replacement`] and [`Warehouse::release`] first
//!   take the request's transaction lock ([`reservations::lock_request`]): they run one after
//!   the other, and each sees what the one before committed, including "nothing yet". Whichever
//!   comes first decides.
//! - Once a reservation row exists, everything else that changes it (serving a back-order,
//!   issuing the pick list) holds its row lock, which the release takes too
//!   ([`reservations::of_request_for_update`]); each checks the status under that lock, so a
//!   RELEASED reservation is never served, confirmed or issued.
//!
//! A cancellation handled first leaves a RELEASED first reservation without lines, the durable
//! marker on which every later approval or replacement reserves and publishes nothing; one
//! handled after the first pick list was issued leaves it ISSUED, stamped `request_cancelled_at`,
//! on which no replacement is reserved either.

use std::collections::{BTreeMap, BTreeSet};

use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::warehouse::v1 as pb;
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::Warehouse;
use crate::domain::{
    Address, BranchCode, LineRequest, ModelCode, PartLine, PickListId, RequestKind, RequestNo,
    Urgency, Zone, plan_reservation,
};
use crate::error::Error;
use crate::store::reservations::{self, Line, NewReservation, Reservation, Status};
use crate::store::{parts, stock};
use crate::wire;

/// A request's lines to reserve, as claims approved them.
#[derive(Debug, Clone)]
pub struct ReserveCommand {
    pub request_no: RequestNo,
    pub branch: BranchCode,
    pub urgency: Urgency,
    /// Handed on to the confirmation; `None` when the approval did not say.
    pub kind: Option<RequestKind>,
    pub ship_to: Option<Address>,
    pub onsite_required: bool,
    /// The product the parts are for (the claim's `product.model`), whose lifecycle the
    /// reservation events carry; `None` when the claim named none.
    pub product_model: Option<ModelCode>,
    /// The same part twice is summed.
    pub lines: Vec<PartLine>,
}

/// A replacement for a shipment lost or damaged on the way, as logistics reported it
/// (`logistics.shipment.exception` asking for one).
#[derive(Debug, Clone)]
pub struct ReplaceCommand {
    /// The exception: a replacement is reserved once per exception, however often it comes.
    pub exception_id: String,
    pub request_no: RequestNo,
    pub branch: BranchCode,
    /// The shipment lost or damaged, which the replacement replaces.
    pub shipment_no: String,
    pub urgency: Urgency,
    /// Where the replacement goes; the first reservation's address when `None`.
    pub ship_to: Option<Address>,
    /// The same part twice is summed.
    pub lines: Vec<PartLine>,
}

/// What a release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseOutcome {
    /// Nothing was reserved yet: the request is marked so that its approval reserves nothing.
    Marked,
    /// What the request held (pick lists, back-orders, units) was given back.
    Released,
    /// Released before (a redelivered or repeated cancellation): nothing done.
    AlreadyReleased,
    /// Its parts were issued and left the warehouse (and no replacement is open): nothing to
    /// give back.
    AlreadyIssued,
}

/// What a reservation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveOutcome {
    Confirmed,
    Backordered,
    /// The request already had a reservation (redelivery) or was cancelled before; for a
    /// replacement: its exception was handled before. Nothing done.
    AlreadyHandled,
    /// A replacement for a request that was cancelled (its reservation released): nothing done.
    Cancelled,
    /// Nothing to reserve (no part lines).
    NothingToReserve,
}

/// The units wanted per part (the same part twice is summed), in part order.
fn wanted(lines: &[PartLine]) -> BTreeMap<&str, i64> {
    let mut wanted: BTreeMap<&str, i64> = BTreeMap::new();
    for l in lines {
        *wanted.entry(l.part_no.as_str()).or_default() += i64::from(l.quantity.get());
    }
    wanted
}

impl Warehouse {
    /// Reserves a request's lines in `txn` (the event handler's transaction): all or nothing
    /// (or partially, when configured). Enough → pick list + `warehouse.reservation.confirmed`;
    /// short → back-order + `warehouse.stock.shortage`. A request that already has a
    /// reservation (or was cancelled first) is left alone.
    pub async fn reserve(
        &self,
        txn: &DatabaseTransaction,
        cmd: &ReserveCommand,
    ) -> Result<ReserveOutcome, Error> {
        let wanted = wanted(&cmd.lines);
        if wanted.is_empty() {
            return Ok(ReserveOutcome::NothingToReserve);
        }
        let request_no = cmd.request_no.as_str();
        reservations::lock_request(txn, request_no).await?;
        // Under the lock, an existing row is final: an earlier approval, or the cancellation's
        // marker.
        let new = NewReservation {
            request_no,
            replacement: 0,
            exception_id: None,
            replaces_shipment_no: "",
            branch: cmd.branch.as_str(),
            urgency: cmd.urgency,
            kind: cmd.kind,
            ship_to: cmd.ship_to.as_ref(),
            onsite_required: cmd.onsite_required,
            product_model: cmd.product_model.as_ref().map_or("", ModelCode::as_str),
            status: Status::Backordered,
        };
        self.hold_new(txn, &new, wanted).await
    }

    /// Reserves the lines of a shipment lost or damaged again, as the request's next pick list
    /// (`PL-<request no>-R<n>`), in `txn` (the event handler's transaction), exactly as the
    /// first reservation: confirmed with `replaces_shipment_no` and `exception_id`, or
    /// back-ordered. Once per exception; nothing for a cancelled request. Its kind, on-site
    /// flag and product model are the first reservation's, its address the exception's (else
    /// the first's).
    pub async fn reserve_replacement(
        &self,
        txn: &DatabaseTransaction,
        cmd: &ReplaceCommand,
    ) -> Result<ReserveOutcome, Error> {
        let wanted = wanted(&cmd.lines);
        if wanted.is_empty() {
            return Ok(ReserveOutcome::NothingToReserve);
        }
        let request_no = cmd.request_no.as_str();
        reservations::lock_request(txn, request_no).await?;
        if reservations::by_exception(txn, &cmd.exception_id)
            .await?
            .is_some()
        {
            return Ok(ReserveOutcome::AlreadyHandled);
        }
        // Under the lock a handled cancellation shows on the first reservation (a request
        // issued before it stays ISSUED); one handled after this commits releases the
        // replacement with the rest.
        let first = reservations::get(txn, request_no).await?;
        if first
            .as_ref()
            .is_some_and(|f| f.status == Status::Released || f.request_cancelled_at.is_some())
        {
            return Ok(ReserveOutcome::Cancelled);
        }
        let replacement = reservations::next_replacement(txn, request_no).await?;
        if replacement.unsigned_abs() > PickListId::MAX_REPLACEMENT {
            return Err(Error::precondition(format!(
                "request {request_no} has had {} replacements already",
                PickListId::MAX_REPLACEMENT
            )));
        }
        let new = NewReservation {
            request_no,
            replacement,
            exception_id: Some(&cmd.exception_id),
            replaces_shipment_no: &cmd.shipment_no,
            branch: cmd.branch.as_str(),
            urgency: cmd.urgency,
            kind: first.as_ref().and_then(|f| f.kind),
            ship_to: cmd
                .ship_to
                .as_ref()
                .or_else(|| first.as_ref().and_then(|f| f.ship_to.as_ref())),
            onsite_required: first.as_ref().is_some_and(|f| f.onsite_required),
            product_model: first.as_ref().map_or("", |f| f.product_model.as_str()),
            status: Status::Backordered,
        };
        self.hold_new(txn, &new, wanted).await
    }

    /// Under the request's lock: stores `new` with the `wanted` lines unless it exists
    /// ([`ReserveOutcome::AlreadyHandled`]), and holds them, or back-orders them.
    async fn hold_new(
        &self,
        txn: &DatabaseTransaction,
        new: &NewReservation<'_>,
        wanted: BTreeMap<&str, i64>,
    ) -> Result<ReserveOutcome, Error> {
        let (request_no, replacement) = (new.request_no, new.replacement);
        if !reservations::insert_if_new(txn, new).await? {
            return Ok(ReserveOutcome::AlreadyHandled);
        }
        for (part_no, requested) in wanted {
            let zone = match parts::get(txn, part_no).await? {
                Some(p) => Zone::reservable_for(p.valuable),
                None => Zone::Qualified,
            };
            let line = Line {
                part_no: part_no.to_owned(),
                zone,
                requested,
                held: 0,
            };
            reservations::insert_line(txn, request_no, replacement, &line).await?;
        }
        let mut res = reservations::get_nth(txn, request_no, replacement)
            .await?
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("reservation vanished")))?;
        let (complete, short) = self.fill(txn, &mut res.lines).await?;
        for l in &res.lines {
            reservations::update_line(txn, request_no, replacement, l).await?;
        }
        let parts: Vec<String> = res.lines.iter().map(|l| l.part_no.clone()).collect();
        let outcome = if complete {
            self.confirm(txn, &res, None).await?;
            ReserveOutcome::Confirmed
        } else {
            reservations::set_status(txn, request_no, replacement, Status::Backordered).await?;
            let model = self.model_facts(txn, &res.product_model).await?;
            let event = pb::StockShortage {
                request_no: res.request_no.clone(),
                branch: res.branch.clone(),
                backorder_id: res.backorder_id(),
                urgency: wire::urgency(res.urgency),
                lines: res
                    .lines
                    .iter()
                    .zip(&short)
                    .filter(|(_, short)| **short)
                    .map(|(l, _)| wire::backorder_line(l))
                    .collect(),
                partially_reserved: res.lines.iter().any(|l| l.held > 0),
                product_model: model.product_model,
                model_lifecycle: model.model_lifecycle,
                model_discontinued_date: model.model_discontinued_date,
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
        reservations::set_status(txn, &res.request_no, res.replacement, Status::Confirmed).await?;
        let model = self.model_facts(txn, &res.product_model).await?;
        let event = pb::ReservationConfirmed {
            request_no: res.request_no.clone(),
            branch: res.branch.clone(),
            pick_list_id: res.pick_list_id(),
            lines: res.lines.iter().map(wire::pick_line).collect(),
            urgency: wire::urgency(res.urgency),
            kind: wire::request_kind(res.kind),
            ship_to: res.ship_to.as_ref().map(wire::address),
            onsite_required: res.onsite_required,
            backorder_id: backorder.unwrap_or_default(),
            reserved_at: Some(wire::timestamp(self.now())),
            replaces_shipment_no: res.replaces_shipment_no.clone(),
            exception_id: res.exception_id.clone(),
            product_model: model.product_model,
            model_lifecycle: model.model_lifecycle,
            model_discontinued_date: model.model_discontinued_date,
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

    /// Locks the stock rows of `own`, and every row that serving the open back-orders of `parts`
    /// will lock, all in the one (part_no, zone) order of [`stock::lock`]; a transaction that
    /// serves back-orders takes its rows through this, before it changes anything. Serving
    /// them otherwise locks rows after the caller's own and out of order: releases, receipts
    /// and reservations running at once then deadlock, and each deadlock costs an event one of
    /// its attempts (a burst of them dead-lettered cancellations).
    ///
    /// The back-orders read before the locks are a guess: one may be created while this waits
    /// (by the very transaction it waits for). Once the rows are held the list is final, since
    /// creating a back-order missing one of `parts` locks the same rows. So the rows are taken
    /// in a savepoint, the list read again, and if it needs more rows, the savepoint is rolled
    /// back (which lets go of them) and the whole set taken again, in order.
    pub(super) async fn lock_for_serving(
        &self,
        txn: &DatabaseTransaction,
        own: &[(String, Zone)],
        parts: &[String],
    ) -> Result<Vec<(String, stock::Level)>, Error> {
        let mut keys: BTreeSet<(String, Zone)> = own.iter().cloned().collect();
        keys.extend(self.backorder_keys(txn, parts).await?);
        loop {
            let attempt = txn.begin().await?;
            let wanted: Vec<(String, Zone)> = keys.iter().cloned().collect();
            let locked = stock::lock(&attempt, &wanted).await?;
            let more: Vec<(String, Zone)> = self
                .backorder_keys(&attempt, parts)
                .await?
                .into_iter()
                .filter(|k| !keys.contains(k))
                .collect();
            if more.is_empty() {
                attempt.commit().await?;
                return Ok(locked);
            }
            tracing::debug!(rows = ?more, "back-orders appeared while waiting; locking again in order");
            attempt.rollback().await?;
            keys.extend(more);
        }
    }

    /// The stock rows serving the open back-orders of `parts` locks: the reservable zone of each
    /// part they still miss.
    async fn backorder_keys(
        &self,
        txn: &DatabaseTransaction,
        part_nos: &[String],
    ) -> Result<Vec<(String, Zone)>, Error> {
        let mut keys = Vec::new();
        for (part_no, zone) in reservations::open_backorder_lines_for(txn, part_nos).await? {
            // The zone fill() will use: the catalogue's, where the part is there.
            let zone = match parts::get(txn, &part_no).await? {
                Some(p) => Zone::reservable_for(p.valuable),
                None => zone,
            };
            keys.push((part_no, zone));
        }
        Ok(keys)
    }

    /// Serves open back-orders missing any of `parts`, most urgent first, then oldest; one that
    /// cannot be served in full yet (all or nothing) is skipped and keeps its place.
    pub(super) async fn serve_backorders(
        &self,
        txn: &DatabaseTransaction,
        parts: &[String],
    ) -> Result<(), Error> {
        for (request_no, replacement) in reservations::open_backorders_for(txn, parts).await? {
            // Locked elsewhere: being released (or served) there. Skipping cannot serve a
            // cancelled request; waiting could deadlock.
            let Some(mut res) = reservations::try_lock(txn, &request_no, replacement).await? else {
                continue;
            };
            // Read under the lock: a release that committed since the listing shows here.
            if res.status != Status::Backordered {
                continue;
            }
            let before: Vec<(i64, Zone)> = res.lines.iter().map(|l| (l.held, l.zone)).collect();
            let (complete, _) = self.fill(txn, &mut res.lines).await?;
            for (l, b) in res.lines.iter().zip(before) {
                if (l.held, l.zone) != b {
                    reservations::update_line(txn, &res.request_no, res.replacement, l).await?;
                }
            }
            if complete {
                self.confirm(txn, &res, Some(res.backorder_id())).await?;
            }
        }
        Ok(())
    }

    /// Releases what a cancelled request holds and serves back-orders from it: the units of its
    /// open pick lists and back-orders (the first and any replacement) go back, its open pick
    /// lists are withdrawn (they can no longer be issued), its back-orders give up their place,
    /// and `warehouse.reservation.released` says so, once per pick list or back-order. A request
    /// not reserved yet is marked instead (a RELEASED first reservation without lines), so that
    /// its approval, or a replacement, whenever it comes, reserves nothing; an issued one is
    /// marked too (`request_cancelled_at`), so that no replacement follows. Issued parts have
    /// left the warehouse: nothing to release.
    pub async fn release(
        &self,
        txn: &DatabaseTransaction,
        request_no: &RequestNo,
        branch: &BranchCode,
    ) -> Result<ReleaseOutcome, Error> {
        let request_no = request_no.as_str();
        reservations::lock_request(txn, request_no).await?;
        let marker = NewReservation {
            request_no,
            replacement: 0,
            exception_id: None,
            replaces_shipment_no: "",
            branch: branch.as_str(),
            urgency: Urgency::Normal,
            kind: None,
            ship_to: None,
            onsite_required: false,
            product_model: "",
            status: Status::Released,
        };
        let marked = reservations::insert_if_new(txn, &marker).await?;
        // Whatever is left to give back: no replacement is reserved after this.
        reservations::mark_cancelled(txn, request_no).await?;
        // The rows' locks order this release with serving the back-orders and with issuing the
        // pick lists, which take them too.
        let all = reservations::of_request_for_update(txn, request_no).await?;
        let open: Vec<&Reservation> = all
            .iter()
            .filter(|r| matches!(r.status, Status::Confirmed | Status::Backordered))
            .collect();
        if open.is_empty() {
            return Ok(match all.first().map(|r| r.status) {
                _ if marked => ReleaseOutcome::Marked,
                Some(Status::Issued) => ReleaseOutcome::AlreadyIssued,
                _ => ReleaseOutcome::AlreadyReleased,
            });
        }
        let held: Vec<&Line> = open
            .iter()
            .flat_map(|r| r.lines.iter())
            .filter(|l| l.held > 0)
            .collect();
        let parts: Vec<String> = held.iter().map(|l| l.part_no.clone()).collect();
        let keys: Vec<(String, Zone)> = held.iter().map(|l| (l.part_no.clone(), l.zone)).collect();
        // The back-orders served below from these units lock their rows too: all in one go.
        self.lock_for_serving(txn, &keys, &parts).await?;
        for l in &held {
            stock::add_reserved(txn, &l.part_no, l.zone, -l.held).await?;
        }
        for res in open {
            reservations::set_status(txn, request_no, res.replacement, Status::Released).await?;
            let confirmed = res.status == Status::Confirmed;
            let event = pb::ReservationReleased {
                request_no: res.request_no.clone(),
                branch: res.branch.clone(),
                pick_list_id: if confirmed {
                    res.pick_list_id()
                } else {
                    String::new()
                },
                lines: res
                    .lines
                    .iter()
                    .filter(|l| l.held > 0)
                    .map(wire::pick_line)
                    .collect(),
                backorder_id: if confirmed {
                    String::new()
                } else {
                    res.backorder_id()
                },
                reason: RELEASED_BECAUSE_CANCELLED.to_owned(),
                released_at: Some(wire::timestamp(self.now())),
            };
            self.outbox
                .stage(
                    txn,
                    EventMeta::request(&res.request_no, &res.branch),
                    &event,
                )
                .await?;
        }
        self.serve_backorders(txn, &parts).await?;
        self.check_low(txn, &parts).await?;
        Ok(ReleaseOutcome::Released)
    }
}

/// `ReservationReleased.reason` for a cancelled request (the only reason so far).
const RELEASED_BECAUSE_CANCELLED: &str = "request_cancelled";
