//! A PO's promised date as an SLA clock (the platform's [`aftersales_platform::sla`], kind
//! `promised_date`): it starts when the PO is issued and stops when it is received or cancelled;
//! its budget is the supplier's lead time in working days (the quote's), or a date a person or
//! the supplier gave, which the calendar does not move. The promised date is the local date of
//! the clock's deadline.
//!
//! Procurement is the clock's [`Owner`]: a recompute (at start-up when the calendar changed, or
//! `procurement sla recompute`) moves a lead-time date a holiday or a make-up day shifts, and
//! announces it (`procurement.po.deadline_changed`); so does a date the supplier revises. A
//! `procurement.po.overdue` announced for a date that no longer has passed is withdrawn
//! (`procurement.po.overdue_withdrawn`); a re-derived date still passed stays announced (not
//! twice), a revised one is announced again once it passes (the scanner's rule).

use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::sla::{
    self, Budget, ClockRef, Mark, Marks, Move, Owner, Rederived, StoredClock,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::{PoView, Procurement};
use crate::error::Error;
use crate::store::orders::{self, Po};

/// The kind of the promised date's SLA clock.
pub const PROMISE_CLOCK: &str = "promised_date";

/// The id of a PO's promised-date clock.
pub fn promise_clock(po_number: &str) -> String {
    sla::clock_id(PROMISE_CLOCK, po_number)
}

/// What a new PO's promised date comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promise {
    /// The supplier's lead time, working days from the issue.
    LeadTime(u32),
    /// A date a person gave.
    Date(NaiveDate),
}

/// After the promised date moved: an overdue announced before that no longer holds is withdrawn
/// (the date it was announced for); one that still holds stays announced — for the new date when
/// `rederived` (the same promise, recounted), else for the old one, so that the new date is
/// announced once it passes.
fn settle_overdue(
    promised: NaiveDate,
    announced_for: &mut Option<NaiveDate>,
    today: NaiveDate,
    rederived: bool,
) -> Option<NaiveDate> {
    let announced = (*announced_for)?;
    if promised >= today {
        *announced_for = None;
        return Some(announced);
    }
    if rederived {
        *announced_for = Some(promised);
    }
    None
}

impl Procurement {
    fn budget_of(&self, p: Promise) -> Budget {
        match p {
            Promise::LeadTime(days) => Budget::working_days(self.clocks.calendar(), days),
            Promise::Date(d) => Budget::until(self.clocks.calendar().start_of_day(d)),
        }
    }

    /// A new PO's clock inputs (issued at `now`) and the promised date they derive.
    pub(crate) fn promise(&self, now: DateTime<Utc>, p: Promise) -> (Vec<Mark>, Budget, NaiveDate) {
        let budget = self.budget_of(p);
        let marks = vec![Mark::start(now, "issued")];
        let set: Marks = marks.iter().cloned().collect();
        let due = sla::derive(&set, &budget, self.clocks.calendar())
            .due_at
            .unwrap_or(now);
        (marks, budget, self.local_date(due))
    }

    /// Keeps the clock of a PO just issued.
    pub(crate) async fn keep_promise_clock<C: ConnectionTrait>(
        &self,
        txn: &C,
        po: &Po,
        marks: Vec<Mark>,
        budget: Budget,
    ) -> Result<(), Error> {
        self.clocks
            .record(
                txn,
                ClockRef {
                    kind: PROMISE_CLOCK,
                    subject: &po.po_number,
                    request_no: "",
                    branch: "",
                },
                budget,
                &self.policy.version,
                marks,
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// Stops the clock of a PO that is received or cancelled.
    pub(crate) async fn settle_promise_clock<C: ConnectionTrait>(
        &self,
        txn: &C,
        po: &Po,
    ) -> Result<(), Error> {
        if po.status.is_open() {
            return Ok(());
        }
        let at = po
            .received_at
            .or(po.cancelled_at)
            .unwrap_or_else(|| self.now());
        self.clocks
            .mark(
                txn,
                &promise_clock(&po.po_number),
                [Mark::stop(at, po.status.as_str())],
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// The supplier gave `po.promised_date` (set already): the clock keeps that date from now on,
    /// the move is recorded with `reason`, and an overdue that no longer holds is withdrawn (the
    /// date it was announced for).
    pub(crate) async fn promise_given(
        &self,
        txn: &DatabaseTransaction,
        po: &mut Po,
        reason: &str,
    ) -> Result<Option<NaiveDate>, Error> {
        let now = self.now();
        let budget = self.budget_of(Promise::Date(po.promised_date));
        if let Some(r) = self
            .clocks
            .rebudget(txn, &promise_clock(&po.po_number), budget, now)
            .await?
            && r.moved()
        {
            self.clocks.log_change(txn, &r, reason, now).await?;
        }
        Ok(settle_overdue(
            po.promised_date,
            &mut po.overdue_announced_for,
            self.local_date(now),
            false,
        ))
    }

    /// The promised date of `view` moved from `old`: announced; and the withdrawn overdue, if
    /// any.
    pub(crate) async fn announce_promise(
        &self,
        txn: &DatabaseTransaction,
        view: &PoView,
        old: NaiveDate,
        withdrawn: Option<NaiveDate>,
        reason: &str,
    ) -> Result<(), Error> {
        let po = &view.po;
        let now = self.now();
        let cal = self.clocks.calendar();
        let m = Move {
            deadline: PROMISE_CLOCK.into(),
            old_due: Some(cal.start_of_day(old)),
            new_due: Some(cal.start_of_day(po.promised_date)),
            reason: reason.to_owned(),
            policy_version: self.policy.version.clone(),
            used: Duration::zero(),
            at: now,
            offset: self.offset,
        };
        let request_nos = view.request_nos();
        if old != po.promised_date {
            let e = pb::PoDeadlineChanged {
                po_number: po.po_number.clone(),
                supplier_id: po.supplier_id.clone(),
                old_promised_date: old.to_string(),
                new_promised_date: po.promised_date.to_string(),
                request_nos: request_nos.clone(),
                change: Some(m.change()),
            };
            self.stage(txn, &po.po_number, &request_nos, &e).await?;
        }
        if let Some(announced) = withdrawn {
            let w = Move {
                old_due: Some(cal.start_of_day(announced)),
                ..m
            };
            let e = pb::PoOverdueWithdrawn {
                po_number: po.po_number.clone(),
                supplier_id: po.supplier_id.clone(),
                promised_date: announced.to_string(),
                new_promised_date: po.promised_date.to_string(),
                request_nos: request_nos.clone(),
                withdrawal: Some(w.withdrawal()),
            };
            self.stage(txn, &po.po_number, &request_nos, &e).await?;
            tracing::info!(po_number = %po.po_number, %announced, new = %po.promised_date, "overdue withdrawn");
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Owner for Procurement {
    fn policy_version(&self) -> String {
        self.policy.version.clone()
    }

    async fn budget(&self, _: &DatabaseTransaction, clock: &StoredClock) -> anyhow::Result<Budget> {
        // The lead time is the quote's, a given date a person's: no policy changes either.
        Ok(clock.budget)
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        r: &Rederived,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let (Some(mut po), Some(due)) = (
            orders::get_for_update(txn, &r.clock.subject).await?,
            r.new_due(),
        ) else {
            return Ok(());
        };
        let old = po.promised_date;
        let new = self.local_date(due);
        if !po.status.is_open() || old == new {
            return Ok(());
        }
        po.promised_date = new;
        let withdrawn = settle_overdue(
            new,
            &mut po.overdue_announced_for,
            self.local_date(now),
            true,
        );
        orders::update(txn, &po).await?;
        let view = self.view(txn, po).await?;
        self.announce_promise(txn, &view, old, withdrawn, reason)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overdue_is_withdrawn_only_when_the_new_date_has_not_passed() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-12-10");
        let mut announced = Some(d("2026-12-04"));
        assert_eq!(
            settle_overdue(d("2026-12-11"), &mut announced, today, true),
            Some(d("2026-12-04"))
        );
        assert_eq!(announced, None);
        assert_eq!(
            settle_overdue(d("2026-12-11"), &mut announced, today, true),
            None,
            "once"
        );
        // Still passed: a recount keeps it announced for the new date, a revision for the old.
        announced = Some(d("2026-12-04"));
        assert_eq!(
            settle_overdue(d("2026-12-07"), &mut announced, today, false),
            None
        );
        assert_eq!(announced, Some(d("2026-12-04")));
        assert_eq!(
            settle_overdue(d("2026-12-07"), &mut announced, today, true),
            None
        );
        assert_eq!(announced, Some(d("2026-12-07")));
    }
}
