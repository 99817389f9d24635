//! Return visits: scheduled from the events that make them due (one per job), called off with
//! their request, called by an agent, listed.
//!
//! Scheduling and cancelling serialize on the request's `cases` row, so any order or overlap of
//! a job's event and the request's cancellation ends the same way: nothing open for a cancelled
//! request. A cancellation that comes first marks the row, and the job's event schedules nothing.

use aftersales_platform::auth::Caller;
use aftersales_platform::grpc::record_request_no;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::{Feedback, new_id, sees};
use crate::domain::visit::{Customer, Outcome, Trigger, Visit, VisitStatus};
use crate::error::Error;
use crate::store::{cases, log, visits};
use crate::wire;

/// A call's outcome, as an agent records it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordVisit {
    pub idempotency_key: String,
    pub visit_id: String,
    pub outcome: Outcome,
    pub note: String,
    pub call_back_at: Option<DateTime<Utc>>,
}

/// What a list of visits asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ListVisits {
    pub branch: Option<String>,
    pub due_by: Option<NaiveDate>,
    pub statuses: Vec<VisitStatus>,
    pub request_no: Option<String>,
    pub page_size: u64,
    pub after: Option<(DateTime<Utc>, String)>,
}

impl Feedback {
    /// Schedules the visit a job makes due, in the event handler's transaction. Nothing for a
    /// cancelled request, and nothing when the job has its visit already. The new visit, if any.
    pub async fn schedule(
        &self,
        txn: &DatabaseTransaction,
        trigger: &Trigger,
    ) -> Result<Option<Visit>, Error> {
        record_request_no(&trigger.request_no);
        let case = cases::lock(txn, &trigger.request_no, &trigger.branch).await?;
        if case.cancelled_at.is_some() {
            tracing::info!(request_no = %trigger.request_no, "request cancelled; no return visit");
            return Ok(None);
        }
        let key = trigger.key();
        if visits::trigger_exists(txn, &key).await? {
            tracing::info!(request_no = %trigger.request_no, %key, "the job has its visit already");
            return Ok(None);
        }
        // Who to call, from intake's submission. Read under the request's lock: a submission
        // handled at the same moment either committed before (and is read here) or waits for
        // this visit and fills it in (`learn_customer`).
        let mut trigger = trigger.clone();
        if let Some((customer, model, serial)) =
            log::first_of(txn, &trigger.request_no, "intake.request.submitted")
                .await?
                .as_deref()
                .and_then(wire::submission)
        {
            trigger.customer = trigger.customer.or(Some(customer));
            if trigger.product_model.is_empty() && trigger.serial.is_empty() {
                trigger.product_model = model;
                trigger.serial = serial;
            }
        }
        let v = Visit::schedule(
            new_id("V"),
            &trigger,
            &self.calendar,
            self.offset,
            self.policy.visit_due_days,
            self.now(),
        );
        visits::insert(txn, &v, &key).await?;
        self.start_visit_clock(txn, &v, trigger.at, &key).await?;
        self.emit(
            txn,
            super::meta(&v.request_no, &v.visit_id, &v.branch),
            &wire::visit_scheduled(&v),
        )
        .await?;
        tracing::info!(request_no = %v.request_no, visit_id = %v.visit_id, due = %v.due_date, "return visit scheduled");
        Ok(Some(v))
    }

    /// The request was cancelled: its open visits are called off, and the mark stays so that a
    /// job's event arriving later schedules nothing. How many visits were called off.
    pub async fn cancel_request(
        &self,
        txn: &DatabaseTransaction,
        request_no: &str,
        branch: &str,
        reason: &str,
    ) -> Result<usize, Error> {
        record_request_no(request_no);
        cases::lock(txn, request_no, branch).await?;
        cases::mark_cancelled(txn, request_no, branch, self.now(), reason).await?;
        let mut n = 0;
        for mut v in visits::open_of_request_for_update(txn, request_no).await? {
            if v.cancel() {
                visits::update(txn, &v).await?;
                self.stop_visit_clock(txn, &v).await?;
                n += 1;
            }
        }
        tracing::info!(request_no, called_off = n, "request cancelled");
        Ok(n)
    }

    /// Intake's submission: visits scheduled before it arrived learn who to call. Under the
    /// request's lock, so a visit being scheduled at the same moment is either seen here or reads
    /// this submission itself.
    pub async fn learn_customer(
        &self,
        txn: &DatabaseTransaction,
        request_no: &str,
        branch: &str,
        customer: &Customer,
        model: &str,
        serial: &str,
    ) -> Result<(), Error> {
        cases::lock(txn, request_no, branch).await?;
        visits::fill_from_submission(txn, request_no, customer, model, serial).await?;
        Ok(())
    }

    /// The visit, if the caller may see it (another branch's is simply not found).
    pub async fn visit(&self, caller: &Caller, visit_id: &str) -> Result<Visit, Error> {
        match visits::get(&self.db, visit_id).await? {
            Some(v) if sees(caller, &v.branch) => {
                record_request_no(&v.request_no);
                Ok(v)
            }
            _ => Err(Error::not_found(format!("visit {visit_id}"))),
        }
    }

    /// One page of visits, soonest due first, and where the next starts.
    pub async fn list_visits(
        &self,
        caller: &Caller,
        q: ListVisits,
    ) -> Result<(Vec<Visit>, Option<(DateTime<Utc>, String)>), Error> {
        let branch = match (caller.branch(), q.branch) {
            (Some(own), None) => Some(own.to_owned()),
            (Some(own), Some(asked)) if asked == own => Some(own.to_owned()),
            // Another branch's visits look exactly like none.
            (Some(_), Some(_)) => return Ok((Vec::new(), None)),
            (None, asked) => asked,
        };
        let statuses = if q.statuses.is_empty() {
            VisitStatus::OPEN.to_vec()
        } else {
            q.statuses
        };
        // By default the visits due by today; a request's visits are all listed.
        let due_by = match (q.due_by, &q.request_no) {
            (Some(d), _) => Some(d),
            (None, Some(_)) => None,
            (None, None) => Some(self.today()),
        };
        let mut rows = visits::list(
            &self.db,
            &visits::Filter {
                branch,
                statuses,
                due_by,
                request_no: q.request_no,
                after: q.after,
                limit: q.page_size + 1,
            },
        )
        .await?;
        let more = rows.len() as u64 > q.page_size;
        rows.truncate(q.page_size as usize);
        let next = if more {
            rows.last().map(|v| (v.due_at, v.visit_id.clone()))
        } else {
            None
        };
        Ok((rows, next))
    }

    /// A call or visit. Repeating the same command (same key) answers the visit as it is.
    pub async fn record_visit(&self, caller: &Caller, cmd: RecordVisit) -> Result<Visit, Error> {
        let txn = self.db.begin().await?;
        if self
            .claim_key(
                &txn,
                &cmd.idempotency_key,
                "record_visit",
                &cmd,
                &cmd.visit_id,
            )
            .await?
            .is_some()
        {
            drop(txn);
            return self.visit(caller, &cmd.visit_id).await;
        }
        let Some(seen) = visits::get(&txn, &cmd.visit_id).await? else {
            return Err(Error::not_found(format!("visit {}", cmd.visit_id)));
        };
        if !sees(caller, &seen.branch) {
            return Err(Error::not_found(format!("visit {}", cmd.visit_id)));
        }
        record_request_no(&seen.request_no);
        // The request first, then the visit: the order a cancellation takes them in.
        cases::lock(&txn, &seen.request_no, &seen.branch).await?;
        let Some(mut v) = visits::get_for_update(&txn, &cmd.visit_id).await? else {
            return Err(Error::not_found(format!("visit {}", cmd.visit_id)));
        };
        v.record(
            cmd.outcome,
            cmd.note.clone(),
            cmd.call_back_at,
            self.now(),
            self.policy.visit_max_attempts,
        )
        .map_err(|e| Error::precondition(format!("visit {}: {e}", v.visit_id)))?;
        visits::update(&txn, &v).await?;
        self.stop_visit_clock(&txn, &v).await?;
        txn.commit().await?;
        Ok(v)
    }
}
