//! The arrival deadline: its SLA clock and its scanner.
//!
//! - The clock (the platform's [`aftersales_platform::sla`], kind `arrival`, one per work order
//!   with a region): started at the call (the claim's approval, the dispatcher's call, the
//!   survey's follow-up), paused while the job waits for its parts (`parts`: from the approval
//!   to the delivery's `delivered_at`, however late the delivery is handled — a delivery dated
//!   before the approval makes the wait void), stopped at the arrival (or when the job closes
//!   without one). Its budget is the policy's working hours for the region. Field-service is its
//!   [`Owner`]: a re-derived deadline is written to the work order and announced
//!   (`fieldservice.workorder.deadline_changed`); a late arrival announced before that no longer
//!   holds is withdrawn (`fieldservice.workorder.sla_breach_withdrawn`) and may fire again, once.
//! - The scanner ("arrival-sla"): an open work order whose arrival deadline passed with nobody on
//!   site is announced once (`fieldservice.workorder.sla_breached`). The platform's [`Scanner`]
//!   runs it on one replica at a time; the breach is recorded on the work order in the same
//!   transaction as its event and rows are taken with `SKIP LOCKED`, so a scan repeated anywhere
//!   (or an arrival recorded meanwhile) finds nothing left to announce.

use std::time::Duration;

use aftersales_platform::scanner::Scanner;
use aftersales_platform::sla::{
    self, Budget, ClockRef, Mark, Marks, Move, Owner, Rederived, State, StoredClock,
};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::FieldService;
use crate::domain::{Region, WorkOrder};
use crate::error::Error;
use crate::store::work_orders;

/// The kind of the arrival deadline's SLA clock.
pub const ARRIVAL_CLOCK: &str = "arrival";

/// The pause key of a job waiting for its parts.
pub const PARTS: &str = "parts";

/// The id of a work order's arrival clock.
pub fn arrival_clock(work_order_no: &str) -> String {
    sla::clock_id(ARRIVAL_CLOCK, work_order_no)
}

/// The scanner's name (its lock, its log lines, `TestService::scan`).
pub const SCANNER: &str = "arrival-sla";

/// Work orders one scan handles at most; the next tick takes the rest.
const BATCH: u64 = 200;

pub fn scanner(svc: &FieldService, every: Duration) -> Scanner {
    let svc = svc.clone();
    Scanner::new(SCANNER, every, move |now| {
        let svc = svc.clone();
        async move { Ok(svc.scan_arrivals(now).await?) }
    })
}

impl FieldService {
    /// Announces every late arrival at `now` once; how many.
    pub async fn scan_arrivals(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let now = super::micros(now);
        let txn = self.db.begin().await?;
        let overdue = work_orders::overdue_arrivals(&txn, now, BATCH).await?;
        let mut n = 0;
        for mut wo in overdue {
            if !wo.breach(now) {
                continue;
            }
            work_orders::save(&txn, &wo).await?;
            self.stage_breach(&txn, &wo, wo.status, now).await?;
            tracing::info!(work_order_no = %wo.work_order_no, request_no = %wo.request_no, "arrival deadline breached");
            n += 1;
        }
        txn.commit().await?;
        Ok(n)
    }
}

impl FieldService {
    /// The arrival budget of a job in `region` under the policy in force (none without one).
    pub(crate) fn arrival_budget(&self, region: Option<Region>) -> Option<Budget> {
        region.map(|r| Budget::working_hours(self.policy.arrival.hours(r)))
    }

    /// The arrival deadline `marks` give a job in `region` (before its clock is kept): `None`
    /// without a region, or while it waits.
    pub(crate) fn arrival_due(
        &self,
        region: Option<Region>,
        marks: &[Mark],
    ) -> Option<DateTime<Utc>> {
        let budget = self.arrival_budget(region)?;
        let marks: Marks = marks.iter().cloned().collect();
        let d = sla::derive(&marks, &budget, self.clocks.calendar());
        (d.state == State::Running).then_some(d.due_at).flatten()
    }

    /// Keeps the arrival clock of `wo` (just opened) with `marks`; nothing without a region.
    pub(crate) async fn keep_arrival_clock(
        &self,
        txn: &DatabaseTransaction,
        wo: &WorkOrder,
        marks: Vec<Mark>,
    ) -> Result<(), Error> {
        let Some(budget) = self.arrival_budget(wo.region()) else {
            return Ok(());
        };
        self.clocks
            .record(
                txn,
                ClockRef {
                    kind: ARRIVAL_CLOCK,
                    subject: &wo.work_order_no,
                    request_no: &wo.request_no,
                    branch: &wo.branch,
                },
                budget,
                &self.policy.version,
                marks,
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// Adds `marks` to a work order's arrival clock; `None` when it has none (no region, or
    /// opened before clocks were kept).
    pub(crate) async fn mark_arrival(
        &self,
        txn: &DatabaseTransaction,
        work_order_no: &str,
        marks: Vec<Mark>,
    ) -> Result<Option<Rederived>, Error> {
        Ok(self
            .clocks
            .mark(txn, &arrival_clock(work_order_no), marks, self.now())
            .await?)
    }

    /// Stops the arrival clock once someone is on site (at the arrival) or the job closed
    /// without anyone coming (now).
    pub(crate) async fn stop_arrival_clock(
        &self,
        txn: &DatabaseTransaction,
        wo: &WorkOrder,
    ) -> Result<(), Error> {
        let at = match (wo.arrived_at, wo.status.is_open()) {
            (Some(at), _) => at,
            (None, false) => self.now(),
            (None, true) => return Ok(()),
        };
        let why = if wo.arrived_at.is_some() {
            "arrived"
        } else {
            wo.status.as_str()
        };
        self.mark_arrival(txn, &wo.work_order_no, vec![Mark::stop(at, why)])
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Owner for FieldService {
    fn policy_version(&self) -> String {
        self.policy.version.clone()
    }

    async fn budget(
        &self,
        txn: &DatabaseTransaction,
        clock: &StoredClock,
    ) -> anyhow::Result<Budget> {
        let wo = work_orders::get(txn, &clock.subject).await?;
        Ok(wo
            .and_then(|w| self.arrival_budget(w.region()))
            .unwrap_or(clock.budget))
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        r: &Rederived,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let now = super::micros(now);
        let Some(mut wo) = work_orders::lock(txn, &r.clock.subject).await? else {
            return Ok(());
        };
        let announced = wo.arrival_due_at;
        let after = r.after();
        let due = (after.state == State::Running)
            .then_some(after.due_at)
            .flatten();
        let withdrawn = wo.rederive_arrival(due, after.breached_at(now).is_some());
        work_orders::save(txn, &wo).await?;
        let m = self.clocks.describe(r, reason, now);
        if r.moved() {
            self.stage_deadline_changed(txn, &wo, &m).await?;
        }
        if withdrawn {
            let m = Move {
                old_due: announced,
                ..m
            };
            self.stage_breach_withdrawn(txn, &wo, &m).await?;
            tracing::info!(work_order_no = %wo.work_order_no, %reason, "late arrival withdrawn");
        }
        Ok(())
    }
}
