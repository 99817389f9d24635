//! Purchase orders: issuing (by the rule, or to a supplier a person names), reading and listing,
//! cancelling by hand, re-dating. What the warehouse's events do to POs is in
//! [`super::sourcing`] and [`super::receipts`].

use std::collections::BTreeSet;

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::validate::Violations;
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde::Serialize;

use super::{Page, Procurement, fingerprint, key_reused, sorted_unique, vanished};
use crate::domain::order::{may_cancel, status_of};
use crate::domain::rule::{Choice, ChoiceRecord};
use crate::domain::{PartNo, PoStatus, Price, PurchaseReason, Quantity, RequestNo, SupplierId};
use crate::error::Error;
use crate::store::demands::{self, Demand, Kind, Status};
use crate::store::orders::{self, Filter, Po, PoLine};
use crate::store::quotes::{self, Quote};
use crate::store::suppliers::{self, Supplier};
use crate::wire;

/// One line of a PO a person raises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoLineInput {
    pub part_no: PartNo,
    pub quantity: Quantity,
    /// A negotiated price; `None`: the quote's.
    pub unit_price: Option<Price>,
    pub quote_id: Option<String>,
    pub request_nos: Vec<RequestNo>,
    /// `None`: the quote's.
    pub specification: Option<String>,
}

/// A PO a person raises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatePo {
    pub idempotency_key: String,
    /// `None`: chosen by the rule (every line must then resolve to the same supplier).
    pub supplier_id: Option<SupplierId>,
    pub reason: PurchaseReason,
    pub lines: Vec<PoLineInput>,
    /// `None`: today + the longest lead time of the lines' quotes (working days).
    pub promised_date: Option<NaiveDate>,
    pub backorder_ids: Vec<String>,
    pub note: String,
    /// `None`: the freight of the first line's quote.
    pub freight_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelPo {
    pub po_number: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisePromisedDate {
    pub po_number: String,
    pub promised_date: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct PoQuery {
    pub filter: Filter,
    /// Only open POs past their promised date as of today.
    pub overdue_only: bool,
    pub page: Page<(i64, String)>,
}

/// A PO with what it serves: the supplier's name and the shortages ordered on its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoView {
    pub po: Po,
    pub supplier_name: String,
    /// The demands ordered on its lines.
    pub demands: Vec<Demand>,
}

impl PoView {
    /// The requests a line serves: its shortages and the requests a person named on it.
    pub fn line_requests(&self, line_no: u32) -> Vec<String> {
        let mut v: BTreeSet<String> = self
            .demands
            .iter()
            .filter(|d| d.line_no == Some(line_no))
            .filter_map(|d| d.request_no.clone())
            .collect();
        if let Some(l) = self.po.lines.iter().find(|l| l.line_no == line_no) {
            v.extend(l.manual_request_nos.iter().cloned());
        }
        v.into_iter().collect()
    }

    /// Every request served, over all lines, sorted.
    pub fn request_nos(&self) -> Vec<String> {
        let mut v: BTreeSet<String> = BTreeSet::new();
        for l in &self.po.lines {
            v.extend(self.line_requests(l.line_no));
        }
        v.into_iter().collect()
    }

    /// The back-orders it serves: those a person named and those of its shortages.
    pub fn backorder_ids(&self) -> Vec<String> {
        let mut v: BTreeSet<String> = self.po.backorder_ids.iter().cloned().collect();
        v.extend(
            self.demands
                .iter()
                .filter(|d| !d.backorder_id.is_empty())
                .map(|d| d.backorder_id.clone()),
        );
        v.into_iter().collect()
    }

    /// Whether a caller of `branch` may see it: it serves one of the branch's requests.
    pub fn serves_branch(&self, branch: &str) -> bool {
        self.demands.iter().any(|d| d.branch == branch)
            || self.request_nos().iter().any(|r| {
                RequestNo::parse(r)
                    .map(|n| n.branch() == branch)
                    .unwrap_or(false)
            })
    }
}

/// A line as it goes onto a new PO.
pub(crate) struct NewLine {
    pub part_no: String,
    pub specification: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
    pub quote_id: Option<String>,
    pub quoted_price_minor: i64,
    pub best_price_minor: i64,
    pub manual_request_nos: Vec<String>,
}

/// A PO about to be issued.
pub(crate) struct NewPo {
    pub supplier_id: String,
    pub reason: PurchaseReason,
    pub automatic: bool,
    pub lines: Vec<NewLine>,
    pub promise: super::promised::Promise,
    pub freight_minor: i64,
    pub choice: Option<ChoiceRecord>,
    pub note: String,
    pub backorder_ids: Vec<String>,
    pub issued_by: String,
    pub idempotency_key: Option<String>,
    pub fingerprint: String,
}

/// The cheapest eligible price of a choice (the best current quote when ordered).
pub(crate) fn best_price(choice: &Choice) -> Option<i64> {
    choice
        .ranked
        .iter()
        .filter(|r| r.eligible)
        .map(|r| r.candidate.unit_price_minor)
        .min()
}

impl Procurement {
    /// The PO with what it serves.
    pub async fn view<C: ConnectionTrait>(&self, conn: &C, po: Po) -> Result<PoView, Error> {
        let supplier_name = suppliers::get(conn, &po.supplier_id)
            .await?
            .map(|s| s.name)
            .unwrap_or_default();
        let demands = demands::ordered_on(conn, &po.po_number).await?;
        Ok(PoView {
            po,
            supplier_name,
            demands,
        })
    }

    pub async fn purchase_order(&self, po_number: &str) -> Result<PoView, Error> {
        let po = orders::get(&self.db, po_number)
            .await?
            .ok_or_else(|| Error::not_found(format!("purchase order {po_number}")))?;
        self.view(&self.db, po).await
    }

    pub async fn list_purchase_orders(
        &self,
        mut q: PoQuery,
    ) -> Result<(Vec<PoView>, Option<(i64, String)>), Error> {
        q.filter.overdue_on = q.overdue_only.then(|| self.today());
        let rows = orders::list(&self.db, &q.filter, q.page.after.as_ref(), q.page.size).await?;
        let (rows, next) = q.page.next(rows, |p| {
            (p.issued_at.timestamp_micros(), p.po_number.clone())
        });
        let mut out = Vec::with_capacity(rows.len());
        for po in rows {
            out.push(self.view(&self.db, po).await?);
        }
        Ok((out, next))
    }

    /// Inserts a new PO in `txn` (its events are the caller's: an automatic PO first records
    /// the demands it carries).
    pub(crate) async fn insert_po<C: ConnectionTrait>(
        &self,
        txn: &C,
        new: NewPo,
    ) -> Result<Po, Error> {
        let now = self.now();
        let (marks, budget, promised_date) = self.promise(now, new.promise);
        let seq = orders::next_number(txn).await?;
        let po = Po {
            po_number: format!("PO-{}-{seq:06}", self.today().format("%y%m")),
            idempotency_key: new.idempotency_key,
            fingerprint: new.fingerprint,
            supplier_id: new.supplier_id,
            status: PoStatus::Issued,
            reason: new.reason,
            automatic: new.automatic,
            currency: self.policy.currency.clone(),
            freight_minor: new.freight_minor,
            promised_date,
            overdue_announced_for: None,
            delivery_place: self.delivery_place.clone(),
            choice: new.choice,
            revision: 1,
            note: new.note,
            backorder_ids: new.backorder_ids,
            issued_by: new.issued_by,
            issued_at: now,
            received_at: None,
            cancelled_at: None,
            cancel_reason: String::new(),
            lines: new
                .lines
                .into_iter()
                .enumerate()
                .map(|(i, l)| PoLine {
                    line_no: i as u32 + 1,
                    part_no: l.part_no,
                    specification: l.specification,
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price_minor,
                    quote_id: l.quote_id,
                    quoted_price_minor: l.quoted_price_minor,
                    best_price_minor: l.best_price_minor,
                    received: 0,
                    passed: 0,
                    failed: 0,
                    manual_request_nos: l.manual_request_nos,
                })
                .collect(),
        };
        orders::insert(txn, &po).await?;
        self.keep_promise_clock(txn, &po, marks, budget).await?;
        Ok(po)
    }

    /// Stages `procurement.po.issued` for the PO as it now is (`added`: the requests this
    /// revision added).
    pub(crate) async fn stage_issued<C: ConnectionTrait>(
        &self,
        txn: &C,
        view: &PoView,
        added: Vec<String>,
    ) -> Result<(), Error> {
        let event = wire::po_issued(view, added);
        self.stage(txn, &view.po.po_number, &event.request_nos, &event)
            .await
    }

    /// Stages `procurement.po.cancelled` for a PO that was just cancelled (`by`: who, or
    /// "system" when its last request was cancelled).
    pub(crate) async fn stage_cancelled<C: ConnectionTrait>(
        &self,
        txn: &C,
        po: &Po,
        request_nos: Vec<String>,
        by: &str,
    ) -> Result<(), Error> {
        let event = aftersales_platform::proto::procurement::v1::PoCancelled {
            po_number: po.po_number.clone(),
            supplier_id: po.supplier_id.clone(),
            reason: po.cancel_reason.clone(),
            request_nos,
            cancelled_at: po.cancelled_at.map(wire::timestamp),
            cancelled_by: by.to_owned(),
        };
        self.stage(txn, &po.po_number, &event.request_nos, &event)
            .await
    }

    /// Issues a PO a person raised. Every bad field is named at once and nothing is written:
    /// a supplier or quote that does not exist, a part procurement does not buy or the supplier
    /// is not qualified for, a promised date in the past. A supplier that may not take orders,
    /// lines without a price or without an eligible quote are FAILED_PRECONDITION. The same
    /// idempotency key returns the first PO.
    pub async fn create_purchase_order(&self, actor: &str, cmd: CreatePo) -> Result<PoView, Error> {
        let print = fingerprint(&cmd);
        if let Some(po) = orders::find_by_idempotency_key(&self.db, &cmd.idempotency_key).await? {
            return self.replay_po(po, &print).await;
        }
        let today = self.today();
        let mut v = Violations::new();
        let named = match &cmd.supplier_id {
            Some(id) => {
                let s = suppliers::get(&self.db, id.as_str()).await?;
                if s.is_none() {
                    v.add("supplier_id", format!("no supplier {id} in the register"));
                }
                s
            }
            None => None,
        };
        let mut given_quotes: Vec<Option<Quote>> = Vec::with_capacity(cmd.lines.len());
        for (i, l) in cmd.lines.iter().enumerate() {
            let field = format!("lines[{i}].part_no");
            if !suppliers::part_known(&self.db, l.part_no.as_str()).await? {
                v.add(field, self.not_supplied("", &l.part_no).await?);
            } else if let Some(s) = &named
                && !s.part_nos.iter().any(|p| p == l.part_no.as_str())
            {
                v.add(field, self.not_supplied(&s.supplier_id, &l.part_no).await?);
            }
            let q = match &l.quote_id {
                Some(id) => {
                    let q = quotes::get(&self.db, id).await?;
                    let field = format!("lines[{i}].quote_id");
                    match &q {
                        None => v.add(field, format!("no quote {id}")),
                        Some(q) if q.part_no != l.part_no.as_str() => {
                            v.add(field, format!("{id} is a quote for {}", q.part_no))
                        }
                        Some(q)
                            if cmd
                                .supplier_id
                                .as_ref()
                                .is_some_and(|s| s.as_str() != q.supplier_id) =>
                        {
                            v.add(field, format!("{id} is a quote of {}", q.supplier_id))
                        }
                        Some(_) => {}
                    }
                    q
                }
                None => None,
            };
            given_quotes.push(q);
        }
        if let Some(d) = cmd.promised_date
            && d < today
        {
            v.add("promised_date", format!("{d} is in the past"));
        }
        v.finish()?;

        // The supplier: the one named, or the rule's for every line.
        let mut choices: Vec<Choice> = Vec::with_capacity(cmd.lines.len());
        for l in &cmd.lines {
            let (choice, _) = self
                .choose(&self.db, l.part_no.as_str(), l.quantity.get())
                .await?;
            choices.push(choice);
        }
        let (supplier, choice): (Supplier, Option<ChoiceRecord>) = match named {
            Some(s) => (s, None),
            None => {
                let mut picked = Vec::new();
                for (l, c) in cmd.lines.iter().zip(&choices) {
                    let Some(best) = c.chosen() else {
                        return Err(Error::precondition(format!(
                            "no eligible quote for {}: {}",
                            l.part_no, c.explanation
                        )));
                    };
                    picked.push((l.part_no.as_str(), best.candidate.supplier_id.clone()));
                }
                let first = picked
                    .first()
                    .map(|(_, s)| s.clone())
                    .ok_or_else(|| Error::invalid("lines", "at least one line is required"))?;
                if picked.iter().any(|(_, s)| *s != first) {
                    let list: Vec<String> =
                        picked.iter().map(|(p, s)| format!("{p}: {s}")).collect();
                    return Err(Error::precondition(format!(
                        "the lines resolve to different suppliers ({}): give supplier_id or split the order",
                        list.join(", ")
                    )));
                }
                let s = suppliers::get(&self.db, &first)
                    .await?
                    .ok_or_else(|| vanished("supplier"))?;
                let rule = crate::domain::rule::describe(&self.policy);
                (s, Some(ChoiceRecord::of(&choices[0], rule)))
            }
        };
        if !self.policy.may_order_from(supplier.status) {
            return Err(Error::precondition(format!(
                "{} is {}: it may not take orders",
                supplier.supplier_id, supplier.status
            )));
        }
        let mut lines = Vec::with_capacity(cmd.lines.len());
        let mut lead = 0u32;
        let mut freight = None;
        for (i, ((l, q), c)) in cmd.lines.iter().zip(given_quotes).zip(&choices).enumerate() {
            let quote = match q {
                Some(q) if !q.valid_on(today) => {
                    return Err(Error::precondition(format!(
                        "lines[{i}].quote_id: quote {} is not current (valid {} to {})",
                        q.quote_id, q.valid_from, q.valid_until
                    )));
                }
                Some(q) => Some(q),
                None => quotes::current_offers(&self.db, l.part_no.as_str(), today)
                    .await?
                    .into_iter()
                    .map(|o| o.quote)
                    .find(|q| q.supplier_id == supplier.supplier_id && q.valid_on(today)),
            };
            let unit = match (l.unit_price, &quote) {
                (Some(p), _) => p.minor(),
                (None, Some(q)) => q.unit_price_minor,
                (None, None) => {
                    return Err(Error::precondition(format!(
                        "{} has no current quote for {}: give lines[{i}].unit_price",
                        supplier.supplier_id, l.part_no
                    )));
                }
            };
            let best = best_price(c);
            if let Some(q) = &quote {
                lead = lead.max(q.lead_time_days);
                if freight.is_none() {
                    freight = Some(q.freight_minor);
                }
            } else {
                lead = lead.max(supplier.lead_time_days);
            }
            let quoted = quote
                .as_ref()
                .map(|q| q.unit_price_minor)
                .or(best)
                .unwrap_or(unit);
            lines.push(NewLine {
                part_no: l.part_no.as_str().to_owned(),
                specification: l
                    .specification
                    .clone()
                    .or_else(|| quote.as_ref().map(|q| q.specification.clone()))
                    .unwrap_or_default(),
                quantity: l.quantity.get(),
                unit_price_minor: unit,
                quote_id: quote.as_ref().map(|q| q.quote_id.clone()),
                quoted_price_minor: quoted,
                best_price_minor: best.unwrap_or(quoted),
                manual_request_nos: l
                    .request_nos
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .collect(),
            });
        }
        let promise = match cmd.promised_date {
            Some(date) => super::promised::Promise::Date(date),
            None => super::promised::Promise::LeadTime(lead),
        };
        let txn = self.db.begin().await?;
        let locked = suppliers::get_for_share(&txn, &supplier.supplier_id)
            .await?
            .ok_or_else(|| vanished("supplier"))?;
        if !self.policy.may_order_from(locked.status) {
            return Err(Error::precondition(format!(
                "{} is {}: it may not take orders",
                locked.supplier_id, locked.status
            )));
        }
        let inserted = self
            .insert_po(
                &txn,
                NewPo {
                    supplier_id: supplier.supplier_id.clone(),
                    reason: cmd.reason,
                    automatic: false,
                    lines,
                    promise,
                    freight_minor: cmd.freight_minor.or(freight).unwrap_or(0),
                    choice,
                    note: cmd.note.clone(),
                    backorder_ids: cmd.backorder_ids.clone(),
                    issued_by: actor.to_owned(),
                    idempotency_key: Some(cmd.idempotency_key.clone()),
                    fingerprint: print.clone(),
                },
            )
            .await;
        let po = match inserted {
            Ok(po) => po,
            Err(Error::Unexpected(e))
                if e.downcast_ref::<sea_orm::DbErr>()
                    .is_some_and(is_unique_violation) =>
            {
                drop(txn);
                let po = orders::find_by_idempotency_key(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| vanished("purchase order"))?;
                return self.replay_po(po, &print).await;
            }
            Err(e) => return Err(e),
        };
        let view = self.view(&txn, po).await?;
        self.stage_issued(&txn, &view, view.request_nos()).await?;
        txn.commit().await?;
        tracing::info!(po_number = %view.po.po_number, supplier_id = %view.po.supplier_id, "purchase order issued by hand");
        Ok(view)
    }

    async fn replay_po(&self, po: Po, print: &str) -> Result<PoView, Error> {
        if po.fingerprint == print {
            self.view(&self.db, po).await
        } else {
            Err(key_reused("purchase order"))
        }
    }

    /// Cancels a PO nothing was received on. Cancelling a cancelled PO returns it. The shortages
    /// it carried wait for a supplier again (the sourcing scan orders them by the rule); stock
    /// it replenished is left to the next low-stock signal.
    pub async fn cancel_purchase_order(&self, actor: &str, cmd: CancelPo) -> Result<PoView, Error> {
        let po = orders::get(&self.db, &cmd.po_number)
            .await?
            .ok_or_else(|| Error::not_found(format!("purchase order {}", cmd.po_number)))?;
        let parts = sorted_unique(po.lines.iter().map(|l| l.part_no.as_str()));
        let txn = self.db.begin().await?;
        demands::lock_parts(&txn, &parts).await?;
        let mut po = orders::get_for_update(&txn, &cmd.po_number)
            .await?
            .ok_or_else(|| vanished("purchase order"))?;
        if po.status == PoStatus::Cancelled {
            return self.view(&self.db, po).await;
        }
        may_cancel(po.status, &po.states()).map_err(|why| {
            Error::precondition(format!(
                "purchase order {} cannot be cancelled: {why}",
                po.po_number
            ))
        })?;
        let now = self.now();
        po.status = PoStatus::Cancelled;
        po.cancelled_at = Some(now);
        po.cancel_reason = cmd.reason.clone();
        orders::update(&txn, &po).await?;
        self.settle_promise_clock(&txn, &po).await?;
        let mut served = BTreeSet::new();
        for d in demands::ordered_on(&txn, &po.po_number).await? {
            let back = match d.kind {
                Kind::Shortage => Status::Unsourced,
                Kind::Replenishment => Status::Cancelled,
            };
            served.extend(d.request_no.clone());
            demands::set_off_order(&txn, d.demand_id, back, now).await?;
        }
        for l in &po.lines {
            served.extend(l.manual_request_nos.iter().cloned());
        }
        self.stage_cancelled(&txn, &po, served.into_iter().collect(), actor)
            .await?;
        let view = self.view(&txn, po).await?;
        txn.commit().await?;
        tracing::info!(po_number = %cmd.po_number, reason = %cmd.reason, "purchase order cancelled by hand");
        Ok(view)
    }

    /// Moves an open PO's promised date (the supplier's new word). The same date changes
    /// nothing; `procurement.po.overdue` fires again once the new date passes.
    pub async fn revise_promised_date(&self, cmd: RevisePromisedDate) -> Result<PoView, Error> {
        let txn = self.db.begin().await?;
        let mut po = orders::get_for_update(&txn, &cmd.po_number)
            .await?
            .ok_or_else(|| Error::not_found(format!("purchase order {}", cmd.po_number)))?;
        if po.promised_date == cmd.promised_date {
            return self.view(&self.db, po).await;
        }
        if !po.status.is_open() {
            return Err(Error::precondition(format!(
                "purchase order {} is {}: nothing is awaited",
                po.po_number, po.status
            )));
        }
        let issued = self.local_date(po.issued_at);
        if cmd.promised_date < issued {
            return Err(Error::invalid(
                "promised_date",
                format!("must not be before the PO was issued ({issued})"),
            ));
        }
        let line = format!(
            "promised date {} → {}: {}",
            po.promised_date, cmd.promised_date, cmd.reason
        );
        po.note = if po.note.is_empty() {
            line
        } else {
            format!("{}\n{line}", po.note)
        };
        let old_date = po.promised_date;
        po.promised_date = cmd.promised_date;
        let reason = format!("the supplier's new date: {}", cmd.reason);
        let withdrawn = self.promise_given(&txn, &mut po, &reason).await?;
        orders::update(&txn, &po).await?;
        let view = self.view(&txn, po).await?;
        self.announce_promise(&txn, &view, old_date, withdrawn, &reason)
            .await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Recomputes a PO's status from its lines after they changed.
    pub(crate) fn restate(&self, po: &mut Po) {
        let before = po.status;
        po.status = status_of(po.status, &po.states());
        if po.status != before {
            let now = self.now();
            match po.status {
                PoStatus::Received => po.received_at = Some(now),
                PoStatus::Cancelled => {
                    po.cancelled_at = Some(now);
                    po.cancel_reason = "every request it served was cancelled".into();
                }
                _ => {}
            }
        }
    }
}
