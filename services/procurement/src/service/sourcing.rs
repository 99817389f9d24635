//! What the warehouse's and intake's events set in motion: a shortage is bought, low stock is
//! replenished, a cancelled request's quantity comes off its PO line. These run in the event
//! handler's transaction (the platform records the event there too).
//!
//! A request's shortages and its cancellation may be handled in any order, concurrently and more
//! than once. A request may be short more than once: its first reservation's back-order
//! (`BO-<request no>`) and each replacement's (`BO-<request no>-R<n>`, for a shipment lost or
//! damaged), of the same part too; it is cancelled once, by whichever comes first of intake's
//! cancellation and the warehouse's releases (one per pick list or back-order released). Three
//! rules make every interleaving end with nothing open for a cancelled request:
//! - Both first take the request's lock ([`demands::lock_request`]): they run one after the
//!   other, and the second sees what the first committed. A cancellation handled first leaves
//!   the request marked cancelled (the durable marker), on which a shortage orders nothing; one
//!   handled later takes off every demand of the request, of all its back-orders.
//! - A shortage is recorded once per back-order and part (a redelivery finds it recorded).
//! - A part's demands and the POs that part's needs extend change only under the part's lock,
//!   so the cancellation takes a quantity off exactly the line that carries it, and the sourcing
//!   scan never orders a demand a cancellation is taking off.
//!
//! Shortages of one part within the coalescing window of an automatic PO's issue join that PO's
//! line (the PO is re-issued with the next revision) instead of raising a PO each.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};

use super::orders::{NewLine, NewPo, best_price};
use super::{Procurement, parts_of, sorted_unique};
use crate::domain::replenish::{daily_demand, reorder_quantity};
use crate::domain::rule::{ChoiceRecord, describe};
use crate::domain::{BranchCode, PartNo, PoStatus, PurchaseReason, RequestNo};
use crate::error::Error;
use crate::store::demands::{self, Demand, Kind, Status};
use crate::store::orders;
use crate::store::suppliers;

/// `warehouse.stock.shortage`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub request_no: RequestNo,
    pub branch: BranchCode,
    /// The back-order short (`BO-<request no>`, or a replacement's `BO-<request no>-R<n>`): a
    /// demand is recorded once per back-order and part.
    pub backorder_id: String,
    /// The same part twice is summed.
    pub lines: Vec<ShortageLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortageLine {
    pub part_no: PartNo,
    /// Units missing (0: nothing to buy for it).
    pub missing: u32,
}

/// `warehouse.stock.low`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLow {
    pub part_no: PartNo,
    pub available: u32,
    pub reorder_point: u32,
    /// The envelope's sequence for the part: an older signal arriving late is stale.
    pub sequence: i64,
    pub occurred_at: DateTime<Utc>,
}

/// A request's cancellation (`intake.request.cancelled`, or the warehouse giving back what it
/// held: `warehouse.reservation.released`, one per pick list or back-order; the first of them
/// cancels the whole request, the others find it cancelled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    pub request_no: RequestNo,
    pub branch: BranchCode,
    /// The routing key that said so.
    pub by: &'static str,
}

/// What a cancellation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Nothing was bought for it yet: it is marked, and a later shortage orders nothing.
    Marked,
    /// Its quantities came off their PO lines (or waited for no supplier any more).
    TakenOff,
    /// Cancelled before (the other event, or a redelivery): nothing done.
    AlreadyCancelled,
}

impl Procurement {
    /// Buys what a shortage misses: each part's units join an automatic PO of the window or a
    /// new PO to the supplier the rule chooses; without an eligible quote they wait for one.
    pub async fn shortage(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Shortage,
    ) -> Result<usize, Error> {
        let request =
            demands::lock_request(txn, cmd.request_no.as_str(), cmd.branch.as_str()).await?;
        if request.cancelled_at.is_some() {
            tracing::info!(request_no = %cmd.request_no, "shortage of a cancelled request: nothing is bought");
            return Ok(0);
        }
        let mut missing: BTreeMap<&str, u32> = BTreeMap::new();
        for l in cmd.lines.iter().filter(|l| l.missing > 0) {
            let m = missing.entry(l.part_no.as_str()).or_default();
            *m = m.saturating_add(l.missing);
        }
        let parts: Vec<&str> = missing.keys().copied().collect();
        demands::lock_parts(txn, &parts).await?;
        let now = self.now();
        let mut recorded = 0;
        for (part_no, quantity) in missing {
            let Some(d) = demands::insert_shortage_if_new(
                txn,
                cmd.request_no.as_str(),
                cmd.branch.as_str(),
                part_no,
                quantity,
                &cmd.backorder_id,
                now,
            )
            .await?
            else {
                tracing::info!(request_no = %cmd.request_no, backorder_id = %cmd.backorder_id, part_no, "shortage already recorded");
                continue;
            };
            recorded += 1;
            self.source(txn, &d).await?;
        }
        Ok(recorded)
    }

    /// Takes a cancelled request off what procurement buys for it (every demand, of every
    /// back-order), or marks it so that its shortages, whenever they come, buy nothing.
    pub async fn cancel_request(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Cancellation,
    ) -> Result<CancelOutcome, Error> {
        let request_no = cmd.request_no.as_str();
        let request = demands::lock_request(txn, request_no, cmd.branch.as_str()).await?;
        if request.cancelled_at.is_some() {
            return Ok(CancelOutcome::AlreadyCancelled);
        }
        let now = self.now();
        demands::mark_cancelled(txn, request_no, cmd.by, now).await?;
        let seen = demands::live_of_request(txn, request_no, false).await?;
        if seen.is_empty() {
            return Ok(CancelOutcome::Marked);
        }
        let parts = parts_of(&seen);
        demands::lock_parts(txn, &sorted_unique(parts.iter().map(String::as_str))).await?;
        let live = demands::live_of_request(txn, request_no, true).await?;
        let mut by_po: BTreeMap<String, Vec<Demand>> = BTreeMap::new();
        for d in live {
            match (&d.status, &d.po_number) {
                (Status::Ordered, Some(po)) => by_po.entry(po.clone()).or_default().push(d),
                _ => demands::set_off_order(txn, d.demand_id, Status::Cancelled, now).await?,
            }
        }
        for (po_number, ds) in by_po {
            let mut po = orders::get_for_update(txn, &po_number)
                .await?
                .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("{po_number} vanished")))?;
            let before = po.clone();
            for d in &ds {
                if let Some(line) = d.line_no.and_then(|n| po.line_mut(n)) {
                    let mut state = line.state();
                    state.take_off(d.quantity);
                    line.set_state(state);
                }
                demands::set_off_order(txn, d.demand_id, Status::Cancelled, now).await?;
            }
            self.restate(&mut po);
            if po == before {
                continue;
            }
            po.revision += 1;
            orders::update(txn, &po).await?;
            self.settle_promise_clock(txn, &po).await?;
            let status = po.status;
            if status == PoStatus::Cancelled {
                // Left with nothing: what it still served was this request's quantity.
                let mut served: Vec<String> =
                    ds.iter().filter_map(|d| d.request_no.clone()).collect();
                served.sort_unstable();
                served.dedup();
                self.stage_cancelled(txn, &po, served, "system").await?;
            }
            let view = self.view(txn, po).await?;
            if status.is_open() {
                self.stage_issued(txn, &view, Vec::new()).await?;
            }
            tracing::info!(%po_number, request_no, %status, "cancelled request taken off the purchase order");
        }
        Ok(CancelOutcome::TakenOff)
    }

    /// Replenishes stock that fell below its reorder point: up to the reorder point plus the
    /// demand over the chosen quote's lead time, less what is on order for stock.
    pub async fn stock_low(&self, txn: &DatabaseTransaction, cmd: &StockLow) -> Result<u32, Error> {
        let part_no = cmd.part_no.as_str();
        if !demands::record_low_signal(txn, part_no, cmd.sequence, cmd.occurred_at).await? {
            tracing::info!(
                part_no,
                sequence = cmd.sequence,
                "an older low-stock signal; nothing to do"
            );
            return Ok(0);
        }
        demands::lock_parts(txn, &[part_no]).await?;
        let on_order = orders::open_replenishment_units(txn, part_no).await?
            + demands::unsourced_replenishment_units(txn, part_no).await?;
        let on_order = on_order.max(0) as u64;
        let r = &self.policy.replenishment;
        let since = self.now() - chrono::Duration::days(i64::from(r.demand_window_days));
        let recent = demands::shortage_units_since(txn, part_no, since).await?;
        let daily = daily_demand(
            r.daily_demand(part_no),
            recent.max(0) as u64,
            r.demand_window_days,
        );
        let base = reorder_quantity(cmd.available, cmd.reorder_point, 0, 0, on_order).max(1);
        let (first, offers) = self.choose(txn, part_no, base).await?;
        let lead = first
            .chosen()
            .map(|c| c.candidate.lead_time_days)
            .or_else(|| offers.iter().map(|o| o.quote.lead_time_days).min())
            .unwrap_or(0);
        let mut quantity =
            reorder_quantity(cmd.available, cmd.reorder_point, daily, lead, on_order);
        if quantity == 0 {
            tracing::info!(
                part_no,
                on_order,
                "low stock already covered by what is on order"
            );
            return Ok(0);
        }
        // Stock may be bought in the supplier's minimum lot: a quantity below every minimum is
        // raised to the smallest one a supplier that may take orders quotes.
        let (choice, _) = self.choose(txn, part_no, quantity).await?;
        if choice.chosen.is_none() {
            let today = self.today();
            if let Some(moq) = offers
                .iter()
                .filter(|o| self.policy.may_order_from(o.status) && o.quote.valid_on(today))
                .map(|o| o.quote.min_quantity)
                .min()
            {
                quantity = quantity.max(moq);
            }
        }
        let d = demands::insert_replenishment(txn, part_no, quantity, self.now()).await?;
        self.source(txn, &d).await?;
        Ok(quantity)
    }

    /// Puts a demand on a PO (the caller holds its part's lock): the line of an automatic PO of
    /// the window for the same reason, else a new PO to the supplier the rule chooses. `None`:
    /// no eligible quote, the demand waits (the sourcing scan and every new quote retry it).
    pub(crate) async fn source<C: ConnectionTrait>(
        &self,
        txn: &C,
        d: &Demand,
    ) -> Result<Option<String>, Error> {
        let reason = match d.kind {
            Kind::Shortage => PurchaseReason::Shortage,
            Kind::Replenishment => PurchaseReason::Replenishment,
        };
        let now = self.now();
        let today = self.today();
        let added: Vec<String> = d.request_no.iter().cloned().collect();
        if let Some((po_number, line_no)) =
            orders::coalescing_candidate(txn, &d.part_no, reason, now - self.coalesce_window)
                .await?
            && let Some(mut po) = orders::get_for_update(txn, &po_number).await?
            && po.status == PoStatus::Issued
            && let Some(line) = po.lines.iter().find(|l| l.line_no == line_no)
            && line.received == 0
            && self
                .quote_still_current(txn, line.quote_id.as_deref(), today)
                .await?
            && let Some(supplier) = suppliers::get_for_share(txn, &po.supplier_id).await?
            && self.policy.may_order_from(supplier.status)
        {
            if let Some(line) = po.line_mut(line_no) {
                line.quantity = line.quantity.saturating_add(d.quantity);
            }
            po.revision += 1;
            orders::update(txn, &po).await?;
            demands::set_ordered(txn, d.demand_id, &po_number, line_no, now).await?;
            let view = self.view(txn, po).await?;
            self.stage_issued(txn, &view, added).await?;
            tracing::info!(%po_number, part_no = %d.part_no, quantity = d.quantity, "need joined the open purchase order");
            return Ok(Some(po_number));
        }
        let (choice, offers) = self.choose(txn, &d.part_no, d.quantity).await?;
        let Some(best) = choice.chosen() else {
            tracing::warn!(part_no = %d.part_no, quantity = d.quantity, why = %choice.explanation, "no eligible quote: the need waits for a supplier");
            return Ok(None);
        };
        let Some(offer) = offers
            .iter()
            .find(|o| o.quote.quote_id == best.candidate.quote_id)
        else {
            return Ok(None);
        };
        // The offers were read without a lock: the supplier's status is checked again under
        // one, so a suspension committed meanwhile is seen.
        let Some(supplier) = suppliers::get_for_share(txn, &offer.quote.supplier_id).await? else {
            return Ok(None);
        };
        if !self.policy.may_order_from(supplier.status) {
            tracing::warn!(supplier_id = %supplier.supplier_id, status = %supplier.status, "the chosen supplier may no longer take orders: the need waits");
            return Ok(None);
        }
        let q = &offer.quote;
        let po = self
            .insert_po(
                txn,
                NewPo {
                    supplier_id: supplier.supplier_id.clone(),
                    reason,
                    automatic: true,
                    lines: vec![NewLine {
                        part_no: d.part_no.clone(),
                        specification: q.specification.clone(),
                        quantity: d.quantity,
                        unit_price_minor: q.unit_price_minor,
                        quote_id: Some(q.quote_id.clone()),
                        quoted_price_minor: q.unit_price_minor,
                        best_price_minor: best_price(&choice).unwrap_or(q.unit_price_minor),
                        manual_request_nos: Vec::new(),
                    }],
                    promise: super::promised::Promise::LeadTime(q.lead_time_days),
                    freight_minor: q.freight_minor,
                    choice: Some(ChoiceRecord::of(&choice, describe(&self.policy))),
                    note: String::new(),
                    backorder_ids: Vec::new(),
                    issued_by: crate::config::SERVICE.to_owned(),
                    idempotency_key: None,
                    fingerprint: String::new(),
                },
            )
            .await?;
        demands::set_ordered(txn, d.demand_id, &po.po_number, 1, now).await?;
        let view = self.view(txn, po).await?;
        self.stage_issued(txn, &view, added).await?;
        tracing::info!(po_number = %view.po.po_number, supplier_id = %view.po.supplier_id, part_no = %d.part_no, quantity = d.quantity, "purchase order issued by the rule");
        Ok(Some(view.po.po_number.clone()))
    }

    async fn quote_still_current<C: ConnectionTrait>(
        &self,
        conn: &C,
        quote_id: Option<&str>,
        today: NaiveDate,
    ) -> Result<bool, Error> {
        let Some(id) = quote_id else {
            return Ok(true);
        };
        Ok(crate::store::quotes::get(conn, id)
            .await?
            .is_some_and(|q| q.valid_on(today)))
    }

    /// Orders the demands of `part_no` that wait for a supplier, in one transaction under the
    /// part's lock; how many were ordered.
    pub async fn source_part(&self, part_no: &str) -> Result<usize, Error> {
        let txn = self.db.begin().await?;
        demands::lock_parts(&txn, &[part_no]).await?;
        let now = self.now();
        let mut n = 0;
        for d in demands::unsourced_of_part(&txn, part_no).await? {
            if let Some(r) = &d.request_no
                && demands::is_cancelled(&txn, r).await?
            {
                demands::set_off_order(&txn, d.demand_id, Status::Cancelled, now).await?;
                continue;
            }
            if self.source(&txn, &d).await?.is_some() {
                n += 1;
            }
        }
        txn.commit().await?;
        Ok(n)
    }

    /// Best effort after a quote or a reinstatement: orders what waits for these parts. A
    /// failure is logged; the sourcing scan retries.
    pub(crate) async fn source_parts(&self, part_nos: &[String]) {
        for p in part_nos {
            if let Err(e) = self.source_part(p).await {
                tracing::warn!(part_no = %p, error = %format!("{e:#}"), "sourcing waiting needs failed; the sourcing scan retries");
            }
        }
    }
}
