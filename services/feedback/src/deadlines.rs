//! Feedback's deadlines: their SLA clocks and the complaint-deadline scanner.
//!
//! - The clocks (the platform's [`aftersales_platform::sla`]): a return visit's (`return_visit`)
//!   starts when the job that made it due happened (the completion, delivery or refund's own
//!   time) and stops when the visit closes; its budget is the policy's `visit_due_days` working
//!   days. A complaint's (`complaint_response`) starts when it opens and stops when it is
//!   resolved; its budget is the policy's working hours for its severity. Feedback is their
//!   [`Owner`]: a re-derived deadline is written back and announced
//!   (`feedback.visit.deadline_changed`, `feedback.complaint.deadline_changed`); a lapse that no
//!   longer holds is withdrawn with the escalation it made
//!   (`feedback.complaint.sla_breach_withdrawn`), and the new deadline may lapse once.
//! - The scanner ("complaint-deadlines"): an unresolved MINOR or MAJOR complaint whose response
//!   deadline passed is escalated one level, once (`feedback.complaint.escalated` with
//!   `deadline_passed`). The platform's [`Scanner`] runs it on one replica at a time, reading
//!   "now" from the kit's clock; the lapse is recorded in the same transaction as its event and
//!   the rows are taken with `SKIP LOCKED`, so a scan repeated anywhere finds nothing left to do.

use std::time::Duration;

use aftersales_platform::scanner::Scanner;
use aftersales_platform::sla::{self, Budget, ClockRef, Mark, Move, Owner, Rederived, StoredClock};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::domain::complaint::Complaint;
use crate::domain::visit::Visit;
use crate::error::Error;
use crate::service::{Feedback, meta, micros};
use crate::store::{complaints, visits};
use aftersales_platform::proto::feedback::v1 as pb;

/// The kind of a return visit's SLA clock.
pub const VISIT_CLOCK: &str = "return_visit";
/// The kind of a complaint's response SLA clock.
pub const COMPLAINT_CLOCK: &str = "complaint_response";

/// The scanner's name (its lock, its log lines, `TestService::scan`).
pub const SCANNER: &str = "complaint-deadlines";

pub fn scanner(feedback: &Feedback, every: Duration) -> Scanner {
    let feedback = feedback.clone();
    Scanner::new(SCANNER, every, move |now| {
        let feedback = feedback.clone();
        async move { Ok(feedback.scan_deadlines(now).await?) }
    })
}

impl Feedback {
    fn visit_budget(&self) -> Budget {
        Budget::working_days(self.clocks.calendar(), self.policy.visit_due_days)
    }

    fn complaint_budget(&self, c: &Complaint) -> Budget {
        Budget::working_hours(self.policy.ladder.response_hours(c.severity))
    }

    /// Keeps the clock of a visit just scheduled: from `at`, the job's own time.
    pub(crate) async fn start_visit_clock<C: ConnectionTrait>(
        &self,
        conn: &C,
        v: &Visit,
        at: DateTime<Utc>,
        source: &str,
    ) -> Result<(), Error> {
        self.clocks
            .record(
                conn,
                ClockRef {
                    kind: VISIT_CLOCK,
                    subject: &v.visit_id,
                    request_no: &v.request_no,
                    branch: &v.branch,
                },
                self.visit_budget(),
                &self.policy.version,
                [Mark::start(at, source)],
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// Stops a visit's clock once it closed (done, unreached, refused, called off).
    pub(crate) async fn stop_visit_clock<C: ConnectionTrait>(
        &self,
        conn: &C,
        v: &Visit,
    ) -> Result<(), Error> {
        if v.status.is_open() {
            return Ok(());
        }
        let now = self.now();
        self.clocks
            .mark(
                conn,
                &sla::clock_id(VISIT_CLOCK, &v.visit_id),
                [Mark::stop(now, v.status.as_str())],
                now,
            )
            .await?;
        Ok(())
    }

    /// Keeps the clock of a complaint just opened.
    pub(crate) async fn start_complaint_clock<C: ConnectionTrait>(
        &self,
        conn: &C,
        c: &Complaint,
    ) -> Result<(), Error> {
        self.clocks
            .record(
                conn,
                ClockRef {
                    kind: COMPLAINT_CLOCK,
                    subject: &c.complaint_id,
                    request_no: &c.request_no,
                    branch: &c.branch,
                },
                self.complaint_budget(c),
                &self.policy.version,
                [Mark::start(c.opened_at, "opened")],
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// Stops a complaint's clock once it is resolved.
    pub(crate) async fn stop_complaint_clock<C: ConnectionTrait>(
        &self,
        conn: &C,
        c: &Complaint,
    ) -> Result<(), Error> {
        let Some(at) = c.resolved_at else {
            return Ok(());
        };
        self.clocks
            .mark(
                conn,
                &sla::clock_id(COMPLAINT_CLOCK, &c.complaint_id),
                [Mark::stop(at, "resolved")],
                self.now(),
            )
            .await?;
        Ok(())
    }

    async fn rederive_visit(
        &self,
        txn: &DatabaseTransaction,
        r: &Rederived,
        m: &Move,
    ) -> Result<(), Error> {
        let (Some(mut v), Some(due)) = (
            visits::get_for_update(txn, &r.clock.subject).await?,
            r.new_due(),
        ) else {
            return Ok(());
        };
        if !v.status.is_open() {
            return Ok(());
        }
        v.due_at = due;
        v.due_date = due.with_timezone(&self.offset).date_naive();
        visits::set_due(txn, &v).await?;
        if r.moved() {
            let e = pb::VisitDeadlineChanged {
                request_no: v.request_no.clone(),
                branch: v.branch.clone(),
                visit_id: v.visit_id.clone(),
                change: Some(m.change()),
                due_date: v.due_date.to_string(),
            };
            self.emit(txn, meta(&v.request_no, &v.visit_id, &v.branch), &e)
                .await?;
        }
        Ok(())
    }

    async fn rederive_complaint(
        &self,
        txn: &DatabaseTransaction,
        r: &Rederived,
        m: &Move,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (Some(mut c), Some(due)) = (
            complaints::get_for_update(txn, &r.clock.subject).await?,
            r.new_due(),
        ) else {
            return Ok(());
        };
        let announced = c.respond_by;
        let withdrawn = c.rederive_deadline(&self.policy.ladder, due, now);
        complaints::set_respond_by(txn, &c).await?;
        let at = meta(&c.request_no, &c.complaint_id, &c.branch);
        if r.moved() {
            let e = pb::ComplaintDeadlineChanged {
                request_no: c.request_no.clone(),
                branch: c.branch.clone(),
                complaint_id: c.complaint_id.clone(),
                change: Some(m.change()),
            };
            self.emit(txn, at, &e).await?;
        }
        if withdrawn == Some(true) {
            let w = Move {
                old_due: Some(announced),
                ..m.clone()
            };
            let e = pb::ComplaintSlaBreachWithdrawn {
                request_no: c.request_no.clone(),
                branch: c.branch.clone(),
                complaint_id: c.complaint_id.clone(),
                withdrawal: Some(w.withdrawal()),
                escalation_level: c.escalation_level,
                assignee: c.assignee.clone(),
            };
            self.emit(txn, at, &e).await?;
            tracing::info!(complaint_id = %c.complaint_id, to = %c.assignee, "complaint deadline lapse withdrawn");
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Owner for Feedback {
    fn policy_version(&self) -> String {
        self.policy.version.clone()
    }

    async fn budget(
        &self,
        txn: &DatabaseTransaction,
        clock: &StoredClock,
    ) -> anyhow::Result<Budget> {
        Ok(match clock.kind.as_str() {
            VISIT_CLOCK => self.visit_budget(),
            COMPLAINT_CLOCK => match complaints::get(txn, &clock.subject).await? {
                Some(c) => self.complaint_budget(&c),
                None => clock.budget,
            },
            _ => clock.budget,
        })
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        r: &Rederived,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let now = micros(now);
        let m = self.clocks.describe(r, reason, now);
        match r.clock.kind.as_str() {
            VISIT_CLOCK => self.rederive_visit(txn, r, &m).await?,
            COMPLAINT_CLOCK => self.rederive_complaint(txn, r, &m, now).await?,
            _ => {}
        }
        Ok(())
    }
}
