//! Claims-review's operations, each one transaction: open and cancel a claim (from intake's
//! events), get, list, decide, provide information; the refund of a return ([`refund`]) and the
//! deadline scan ([`crate::sla`]) are beside. The gRPC layer parses and authorizes, then calls
//! these with domain commands; the event handlers call them inside their own transaction.
//! "Now" is always the kit's [`Clock`], so tests move time instead of waiting for it.

pub mod dealers;
pub mod refund;

use std::sync::Arc;

use aftersales_platform::auth::Caller;
use aftersales_platform::calendar::Calendar;
use aftersales_platform::clock::Clock;
use aftersales_platform::grpc::record_request_no;
use aftersales_platform::ids::{BranchCode, RequestNo};
use aftersales_platform::outbox::Outbox;
use aftersales_platform::sla::{self, Budget, ClockRef, Clocks, Mark, Marks};
use aftersales_platform::validate::Violation;
use chrono::{DateTime, Duration, DurationRound, FixedOffset, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::domain::claim::{ClaimLine, ShipTo};
use crate::domain::command::{
    ApprovedLine, Decide, Decision, Info, ListClaims, Money, QueueKey, Submission,
};
use crate::domain::{Claim, ClaimEvent, Coverage, Policy, deadline, evaluate};
use crate::error::Error;
use crate::mapping;
use crate::store::claims::{self, ListFilter};

/// What the operations need.
#[derive(Clone)]
pub struct Claims {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub policy: Arc<Policy>,
    pub calendar: Calendar,
    /// The department's local offset: windows are judged on the local date.
    pub offset: FixedOffset,
    /// The one "now" of every deadline, decision and scan.
    pub clock: Clock,
    /// The review deadlines' SLA clocks (their inputs, re-derivable: [`crate::sla`]).
    pub clocks: Clocks,
}

/// The kind of the review deadline's SLA clock.
pub const REVIEW_CLOCK: &str = "review";

/// The id of a claim's review clock.
pub fn review_clock(request_no: &str) -> String {
    sla::clock_id(REVIEW_CLOCK, request_no)
}

impl Claims {
    /// Now, at the precision Postgres keeps (microseconds), so an answer equals a later read.
    pub fn now(&self) -> DateTime<Utc> {
        micros(self.clock.now())
    }

    /// Today in the department's local time.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().with_timezone(&self.offset).date_naive()
    }

    /// Opens the claim of a submitted request in `txn`, evaluates it and, when the policy
    /// decides alone, approves it. A request that already has a claim is left as it is: an
    /// event redelivered under another id opens nothing, and neither does a submission whose
    /// cancellation came first (it left a cancelled claim). Whether a claim was opened.
    pub async fn open(&self, txn: &DatabaseTransaction, s: &Submission) -> Result<bool, Error> {
        record_request_no(s.request_no.as_str());
        let now = self.now();
        // Windows are judged on the day the customer came forward.
        let on = s
            .submitted_at
            .unwrap_or(now)
            .with_timezone(&self.offset)
            .date_naive();
        let evaluation = evaluate::evaluate(&self.policy, &s.input(on));
        let budget = self.review_budget();
        let start = Mark::start(now, "opened");
        let due = sla::derive(
            &Marks::from_iter([start.clone()]),
            &budget,
            self.clocks.calendar(),
        )
        .due_at
        .unwrap_or(now);
        let mut c = Claim::open(s, &evaluation, now, due);
        // The insert is what serializes an opening with a cancellation of the same request:
        // whichever inserts first holds the row, the other waits for its commit and then finds
        // it (the cancellation closes it; the opening leaves it).
        if !claims::insert_if_absent(txn, &c).await? {
            tracing::info!(request_no = %s.request_no, "the request has a claim already (or was cancelled first); nothing to do");
            return Ok(false);
        }
        self.clocks
            .record(
                txn,
                ClockRef {
                    kind: REVIEW_CLOCK,
                    subject: &c.request_no,
                    request_no: &c.request_no,
                    branch: &c.branch,
                },
                budget,
                &self.policy.version,
                [start],
                now,
            )
            .await?;
        self.stage(txn, &c, &ClaimEvent::Opened).await?;
        if evaluation.auto_approve {
            self.stop_clock(txn, &c.request_no, now, "approved").await?;
            c.approve(now, "");
            self.write(txn, &c).await?;
            self.stage(txn, &c, &ClaimEvent::Approved { at: now })
                .await?;
        }
        Ok(true)
    }

    /// Closes the claim of a cancelled request in `txn`, whatever it waits for and also when it
    /// was approved; a rejected or already cancelled claim stays as it is. A cancellation that
    /// overtakes the submission leaves a cancelled claim behind, so the late submission opens
    /// nothing. Publishes nothing: every department that acts on a claim consumes
    /// `intake.request.cancelled` itself. Whether a claim was closed (or left closed).
    pub async fn cancel(
        &self,
        txn: &DatabaseTransaction,
        request_no: &RequestNo,
        branch: &BranchCode,
        reason: &str,
    ) -> Result<bool, Error> {
        record_request_no(request_no.as_str());
        let note = if reason.trim().is_empty() {
            "request cancelled".to_owned()
        } else {
            format!("request cancelled: {}", reason.trim())
        };
        let first = Claim::cancelled_before_opening(
            request_no.as_str(),
            branch.as_str(),
            self.now(),
            note.clone(),
        );
        if claims::insert_if_absent(txn, &first).await? {
            tracing::info!(request_no = %request_no, "cancelled before its claim opened; the submission will open nothing");
            return Ok(true);
        }
        // The claim exists (an opening that raced this insert has committed by now): lock it, so
        // a decision or a deadline scan either finished before or sees it cancelled.
        let Some(mut c) = claims::get_for_update(txn, request_no.as_str()).await? else {
            return Err(Error::Aborted(format!(
                "claim {request_no} vanished while it was being cancelled"
            )));
        };
        // "Now" once the row is ours: the cancellation is dated after any change it follows.
        let was = c.status;
        let now = self.now();
        if !c.cancel(now, note) {
            tracing::info!(request_no = %request_no, status = %c.status, "claim already rejected or cancelled; kept as it is");
            return Ok(false);
        }
        self.stop_clock(txn, &c.request_no, now, "cancelled")
            .await?;
        self.write(txn, &c).await?;
        tracing::info!(request_no = %request_no, was = %was, "claim cancelled with its request");
        Ok(true)
    }

    /// The claim, if the caller may see it (another branch's claim is simply not found).
    pub async fn get(&self, caller: &Caller, request_no: &RequestNo) -> Result<Claim, Error> {
        record_request_no(request_no.as_str());
        self.visible(&self.db, caller, request_no).await
    }

    /// One page of the queue, as far as the caller may see it, and where the next page starts
    /// (`None` on the last page).
    pub async fn list(
        &self,
        caller: &Caller,
        q: ListClaims,
    ) -> Result<(Vec<Claim>, Option<QueueKey>), Error> {
        let branch = match (caller.branch(), q.branch) {
            (Some(own), None) => Some(own.to_owned()),
            (Some(own), Some(asked)) if asked.as_str() == own => Some(own.to_owned()),
            // Another branch's queue looks exactly like an empty one.
            (Some(_), Some(_)) => return Ok((Vec::new(), None)),
            (None, asked) => asked.map(BranchCode::into_string),
        };
        let filter = ListFilter {
            branch,
            statuses: q.statuses,
            due_before: q.due_before,
            escalated_only: q.escalated_only,
            after: q.after,
            // One more than asked, to know whether another page follows.
            limit: q.page_size + 1,
        };
        let mut rows = claims::list(&self.db, &filter).await?;
        let more = rows.len() as u64 > q.page_size;
        rows.truncate(q.page_size as usize);
        let next = if more {
            rows.last().map(QueueKey::from)
        } else {
            None
        };
        Ok((rows, next))
    }

    /// A reviewer's decision on a pending claim, with the version the reviewer saw.
    pub async fn decide(&self, caller: &Caller, cmd: Decide) -> Result<Claim, Error> {
        let no = &cmd.request_no;
        record_request_no(no.as_str());
        let txn = self.db.begin().await?;
        if !claims::record_command(&txn, &cmd.idempotency_key, no.as_str(), "decide").await? {
            drop(txn);
            return self.replay(caller, &cmd.idempotency_key, no).await;
        }
        let mut c = self.visible(&txn, caller, no).await?;
        if c.version as u64 != cmd.expected_version {
            return Err(Error::Aborted(format!(
                "claim {} is at version {}, not {}: someone changed it first; reload and decide again",
                c.request_no, c.version, cmd.expected_version
            )));
        }
        if !c.status.can_decide() {
            return Err(Error::precondition(format!(
                "claim {} is {}; only a pending claim can be decided",
                c.request_no, c.status
            )));
        }
        let now = self.now();
        c.detail.note = cmd.note.clone();
        let event = match cmd.decision {
            Decision::Approve {
                lines,
                onsite_required,
                ship_to,
                own_reasons,
            } => {
                c.detail.own_reasons = own_reasons;
                if !lines.is_empty() {
                    c.detail.lines = self.approved_lines(&c, &lines)?;
                    let total: i64 = c
                        .detail
                        .lines
                        .iter()
                        .filter_map(|l| l.fee.as_ref().map(|f| f.minor))
                        .sum();
                    c.detail.total_fee = Some(self.money(total));
                }
                if let Some(o) = onsite_required {
                    c.detail.onsite_required = o;
                }
                if let Some(a) = ship_to {
                    c.detail.ship_to = Some(ShipTo::given(&a, &c.branch));
                }
                self.stop_clock(&txn, &c.request_no, now, "approved")
                    .await?;
                c.approve(now, &caller.subject);
                ClaimEvent::Approved { at: now }
            }
            Decision::Reject { reason } => {
                self.stop_clock(&txn, &c.request_no, now, "rejected")
                    .await?;
                c.reject(now, &caller.subject, reason);
                ClaimEvent::Rejected { at: now }
            }
            Decision::RequestInfo { missing } => {
                let n = c.version;
                let paused = self
                    .clocks
                    .mark(
                        &txn,
                        &review_clock(&c.request_no),
                        [Mark::pause(
                            format!("info:{n}"),
                            now,
                            format!("info_requested:{n}"),
                        )],
                        now,
                    )
                    .await?;
                let left = match paused {
                    Some(r) => r.after().left,
                    // A claim opened before its clock was kept: as it was paused then.
                    None => c
                        .due_at
                        .map(|due| deadline::pause(&self.calendar, now, due))
                        .unwrap_or_else(Duration::zero),
                };
                c.request_info(now, left, missing);
                ClaimEvent::InfoRequested {
                    at: now,
                    by: caller.subject.clone(),
                }
            }
        };
        self.write(&txn, &c).await?;
        self.stage(&txn, &c, &event).await?;
        txn.commit().await?;
        Ok(c)
    }

    /// The branch supplies what was asked for: the claim is re-evaluated, goes back to PENDING
    /// and its deadline resumes with the working time that was left.
    pub async fn provide_info(&self, caller: &Caller, info: Info) -> Result<Claim, Error> {
        let no = &info.request_no;
        record_request_no(no.as_str());
        let txn = self.db.begin().await?;
        if !claims::record_command(&txn, &info.idempotency_key, no.as_str(), "provide_info").await?
        {
            drop(txn);
            return self.replay(caller, &info.idempotency_key, no).await;
        }
        let mut c = self.visible(&txn, caller, no).await?;
        if !c.status.can_provide_info() {
            return Err(Error::precondition(format!(
                "claim {} is {}; information can be provided only when it was requested",
                c.request_no, c.status
            )));
        }
        let now = self.now();
        let d = &mut c.detail;
        let product = d.product.get_or_insert_with(Default::default);
        let set = |target: &mut String, v: &str| {
            if !v.is_empty() {
                *target = v.to_owned();
            }
        };
        set(&mut product.invoice_no, &info.invoice_no);
        if let Some(s) = &info.serial {
            product.serial = s.to_string();
        }
        set(&mut product.service_contract_no, &info.service_contract_no);
        for (target, given) in [
            (&mut product.invoice_date, info.invoice_date),
            (&mut product.receipt_date, info.receipt_date),
            (&mut product.purchase_date, info.purchase_date),
        ] {
            if given.is_some() {
                *target = given;
            }
        }
        set(&mut d.fault_description, &info.fault_description);
        d.photos.extend(info.photos.iter().cloned());
        if let Some(p) = &info.payment {
            d.payment = Some(p.clone());
        }
        set(&mut d.note, &info.note);
        // New part lines replace the requested ones; the evaluation prices them.
        let parts = if info.parts.is_empty() {
            d.parts()
        } else {
            info.parts
                .iter()
                .map(|(p, q)| (p.to_string(), *q))
                .collect()
        };
        let opened = c.opened_at.with_timezone(&self.offset).date_naive();
        let input = c
            .detail
            .input(parts, opened)
            .map_err(|m| Error::invalid("request", m))?;
        let evaluation = evaluate::evaluate(&self.policy, &input);
        c.detail.apply(&evaluation);
        let resumed = self
            .clocks
            .resume_open(
                &txn,
                &review_clock(&c.request_no),
                now,
                &format!("info_provided:{}", c.version),
                now,
            )
            .await?;
        let due = match resumed.and_then(|r| r.new_due()) {
            Some(due) => due,
            // A claim opened before its clock was kept: as it was resumed then.
            None => {
                let left = Duration::milliseconds(c.paused_left_ms.unwrap_or(0));
                deadline::resume(&self.calendar, now, left)
            }
        };
        c.resume(now, due);
        self.write(&txn, &c).await?;
        txn.commit().await?;
        Ok(c)
    }

    async fn visible<C: ConnectionTrait>(
        &self,
        conn: &C,
        caller: &Caller,
        request_no: &RequestNo,
    ) -> Result<Claim, Error> {
        claims::get(conn, request_no.as_str())
            .await?
            .filter(|c| caller.sees_branch(&c.branch))
            .ok_or_else(|| Error::not_found(format!("claim {request_no}")))
    }

    /// A command retried with its key: the claim as it is now.
    async fn replay(
        &self,
        caller: &Caller,
        key: &str,
        request_no: &RequestNo,
    ) -> Result<Claim, Error> {
        match claims::command_request(&self.db, key).await? {
            Some(r) if r == request_no.as_str() => self.get(caller, request_no).await,
            _ => Err(Error::AlreadyExists(
                "idempotency_key was already used for another claim; use a new key".into(),
            )),
        }
    }

    /// `amount` in the policy's currency.
    fn money(&self, minor: i64) -> Money {
        Money {
            currency: self.policy.currency.clone(),
            minor,
        }
    }

    fn approved_lines(
        &self,
        claim: &Claim,
        lines: &[ApprovedLine],
    ) -> Result<Vec<ClaimLine>, Error> {
        let mut bad = Vec::new();
        let mut out = Vec::new();
        let category = claim
            .detail
            .product
            .as_ref()
            .map(|p| p.category.as_str())
            .unwrap_or("");
        for (i, a) in lines.iter().enumerate() {
            let Some(orig) = claim
                .detail
                .lines
                .iter()
                .find(|l| l.part_no == a.part_no.as_str())
            else {
                bad.push(Violation::new(
                    format!("approve.lines[{i}].part_no"),
                    format!("{} is not a line of this claim", a.part_no),
                ));
                continue;
            };
            if a.quantity == 0 || a.quantity > orig.quantity {
                bad.push(Violation::new(
                    format!("approve.lines[{i}].quantity"),
                    format!("must be between 1 and the requested {}", orig.quantity),
                ));
                continue;
            }
            let mut line = orig.clone();
            line.quantity = a.quantity;
            if let Some(cov) = a.coverage {
                line.coverage = cov;
            }
            line.fee =
                (line.coverage == Coverage::Paid).then(|| {
                    self.money(a.fee.unwrap_or_else(|| {
                        self.policy.fee(category, a.part_no.as_str(), a.quantity)
                    }))
                });
            out.push(line);
        }
        if !bad.is_empty() {
            return Err(Error::Invalid(bad));
        }
        Ok(out)
    }

    /// The review deadline's budget under the policy in force.
    pub fn review_budget(&self) -> Budget {
        Budget::working_days(self.clocks.calendar(), self.policy.review_days)
    }

    /// Stops the claim's review clock at `at` (decided, cancelled), in `txn`.
    pub(crate) async fn stop_clock(
        &self,
        txn: &DatabaseTransaction,
        request_no: &str,
        at: DateTime<Utc>,
        why: &str,
    ) -> Result<(), Error> {
        self.clocks
            .mark(
                txn,
                &review_clock(request_no),
                [Mark::stop(at, why)],
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// Writes `c` if nobody changed it since it was read.
    pub(crate) async fn write(&self, txn: &DatabaseTransaction, c: &Claim) -> Result<(), Error> {
        if !claims::update_versioned(txn, c).await? {
            return Err(Error::Aborted(format!(
                "claim {} was changed by someone else at the same time; reload and decide again",
                c.request_no
            )));
        }
        Ok(())
    }

    /// Stages `event` about `c` in `txn`: it goes out if and only if `txn` commits.
    pub(crate) async fn stage(
        &self,
        txn: &DatabaseTransaction,
        c: &Claim,
        event: &ClaimEvent,
    ) -> Result<(), Error> {
        mapping::events::stage(&self.outbox, txn, c, event).await
    }
}

/// `t` at the precision Postgres keeps (microseconds).
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}
