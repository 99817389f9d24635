//! Claims-review's operations, each one transaction: open and cancel a claim (from intake's
//! events), get, list, decide, provide information; the refund of a return ([`refund`]) and the
//! deadline scan ([`crate::sla`]) are beside. The gRPC layer parses and authorizes, then calls
//! these with domain commands; the event handlers call them inside their own transaction.
//! "Now" is always the kit's [`Clock`], so tests move time instead of waiting for it.

pub mod refund;

use std::sync::Arc;

use aftersales_platform::auth::Caller;
use aftersales_platform::calendar::Calendar;
use aftersales_platform::clock::Clock;
use aftersales_platform::grpc::record_request_no;
use aftersales_platform::ids::{BranchCode, RequestNo};
use aftersales_platform::outbox::{EventMeta, Outbox};
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::validate::Violation;
use chrono::{DateTime, Duration, DurationRound, FixedOffset, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::domain::command::{ApprovedLine, Decide, Decision, Info, ListClaims, QueueKey};
use crate::domain::{ClaimStatus, Policy, deadline, evaluate};
use crate::error::Error;
use crate::mapping::{self, from_timestamp, money, timestamp};
use crate::store::claims::{self, ListFilter, StoredClaim};

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
    /// decides alone, approves it. A request that already has a claim is left as it is (an
    /// event redelivered under another id opens nothing). Whether a claim was opened.
    pub async fn open(
        &self,
        txn: &DatabaseTransaction,
        r: &intake::ServiceRequest,
    ) -> Result<bool, Error> {
        let request_no =
            RequestNo::parse(&r.request_no).map_err(|e| Error::invalid("request.request_no", e))?;
        let branch =
            BranchCode::parse(&r.branch).map_err(|e| Error::invalid("request.branch", e))?;
        record_request_no(request_no.as_str());
        let now = self.now();
        // Windows are judged on the day the customer came forward.
        let submitted = r
            .created_at
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or(now);
        let on = submitted.with_timezone(&self.offset).date_naive();
        let input = mapping::request_input(r, on).map_err(|m| Error::invalid("request", m))?;
        let evaluation = evaluate::evaluate(&self.policy, &input);
        let due = deadline::due_at(&self.calendar, now, self.policy.review_days);
        let customer = r.customer.clone().unwrap_or_default();
        let mut claim = pb::Claim {
            request_no: request_no.to_string(),
            branch: branch.to_string(),
            status: pb::ClaimStatus::Pending as i32,
            kind: r.kind,
            urgency: r.urgency,
            ship_to: Some(mapping::ship_to(&customer, branch.as_str())),
            customer: Some(customer),
            product: r.product.clone(),
            fault_description: r.fault_description.clone(),
            photos: r.photos.clone(),
            due_at: Some(timestamp(due)),
            opened_at: Some(timestamp(now)),
            version: 1,
            misuse_suspected: r.misuse_suspected,
            ..Default::default()
        };
        mapping::apply_evaluation(&mut claim, &evaluation);
        let stored = StoredClaim {
            request_no: request_no.to_string(),
            branch: branch.to_string(),
            status: ClaimStatus::Pending,
            version: 1,
            opened_at: now,
            due_at: Some(due),
            paused_left_ms: None,
            escalated: false,
            breach_announced_for: None,
            updated_at: now,
            claim,
        };
        if !claims::insert_if_absent(txn, &stored).await? {
            tracing::info!(request_no = %request_no, "claim already open; nothing to do");
            return Ok(false);
        }
        let c = &stored.claim;
        let opened = pb::ClaimOpened {
            request_no: c.request_no.clone(),
            branch: c.branch.clone(),
            kind: c.kind,
            urgency: c.urgency,
            recommendation: c.recommendation,
            policy_version: c.policy_version.clone(),
            opened_at: c.opened_at,
            due_at: c.due_at,
            lines: c.lines.clone(),
            explanation: c.explanation.clone(),
        };
        self.stage(txn, &stored, &opened).await?;
        if evaluation.auto_approve {
            let mut next = stored.clone();
            approve(&mut next, now, "");
            self.write(txn, &next).await?;
            self.stage(txn, &next, &mapping::approved_event(&next.claim, now))
                .await?;
        }
        Ok(true)
    }

    /// Closes the claim of a cancelled request in `txn` unless it was decided already. A
    /// cancellation that overtakes the submission leaves a cancelled claim behind, so the late
    /// submission opens nothing. Whether a claim was closed.
    pub async fn cancel(
        &self,
        txn: &DatabaseTransaction,
        request_no: &RequestNo,
        branch: &BranchCode,
        reason: &str,
    ) -> Result<bool, Error> {
        record_request_no(request_no.as_str());
        let now = self.now();
        let note = if reason.trim().is_empty() {
            "request cancelled".to_owned()
        } else {
            format!("request cancelled: {}", reason.trim())
        };
        let Some(mut c) = claims::get(txn, request_no.as_str()).await? else {
            let placeholder = StoredClaim {
                request_no: request_no.to_string(),
                branch: branch.to_string(),
                status: ClaimStatus::Cancelled,
                version: 1,
                opened_at: now,
                due_at: None,
                paused_left_ms: None,
                escalated: false,
                breach_announced_for: None,
                updated_at: now,
                claim: pb::Claim {
                    request_no: request_no.to_string(),
                    branch: branch.to_string(),
                    status: pb::ClaimStatus::Cancelled as i32,
                    note,
                    opened_at: Some(timestamp(now)),
                    version: 1,
                    ..Default::default()
                },
            };
            return Ok(claims::insert_if_absent(txn, &placeholder).await?);
        };
        if !c.status.can_cancel() {
            tracing::info!(request_no = %request_no, status = %c.status, "request cancelled after the decision; claim kept");
            return Ok(false);
        }
        c.status = ClaimStatus::Cancelled;
        c.due_at = None;
        c.paused_left_ms = None;
        c.version += 1;
        c.updated_at = now;
        c.claim.status = pb::ClaimStatus::Cancelled as i32;
        c.claim.due_at = None;
        c.claim.note = note;
        c.claim.version = c.version as u64;
        self.write(txn, &c).await?;
        Ok(true)
    }

    /// The claim, if the caller may see it (another branch's claim is simply not found).
    pub async fn get(&self, caller: &Caller, request_no: &RequestNo) -> Result<StoredClaim, Error> {
        record_request_no(request_no.as_str());
        self.visible(&self.db, caller, request_no).await
    }

    /// One page of the queue, as far as the caller may see it, and where the next page starts
    /// (`None` on the last page).
    pub async fn list(
        &self,
        caller: &Caller,
        q: ListClaims,
    ) -> Result<(Vec<StoredClaim>, Option<QueueKey>), Error> {
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
    pub async fn decide(&self, caller: &Caller, cmd: Decide) -> Result<StoredClaim, Error> {
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
        c.claim.note = cmd.note.clone();
        match cmd.decision {
            Decision::Approve {
                lines,
                onsite_required,
                ship_to,
                own_reasons,
            } => {
                c.claim.own_reasons = own_reasons;
                if !lines.is_empty() {
                    c.claim.lines = self.approved_lines(&c.claim, &lines)?;
                    let total: i64 = c
                        .claim
                        .lines
                        .iter()
                        .filter_map(|l| l.fee.as_ref().map(|f| f.amount_minor))
                        .sum();
                    c.claim.total_fee = Some(money(total, &self.policy.currency));
                }
                if let Some(o) = onsite_required {
                    c.claim.onsite_required = o;
                }
                if let Some(a) = ship_to {
                    c.claim.ship_to = Some(mapping::address_to_proto(&a, &c.branch));
                }
                approve(&mut c, now, &caller.subject);
                self.write(&txn, &c).await?;
                self.stage(&txn, &c, &mapping::approved_event(&c.claim, now))
                    .await?;
            }
            Decision::Reject { reason } => {
                c.status = ClaimStatus::Rejected;
                c.due_at = None;
                c.version += 1;
                c.updated_at = now;
                c.claim.status = pb::ClaimStatus::Rejected as i32;
                c.claim.reject_reason = mapping::reject_reason_to_proto(reason) as i32;
                c.claim.decided_at = Some(timestamp(now));
                c.claim.decided_by = caller.subject.clone();
                c.claim.auto_decided = false;
                c.claim.due_at = None;
                c.claim.version = c.version as u64;
                self.write(&txn, &c).await?;
                let event = pb::ClaimRejected {
                    request_no: c.request_no.clone(),
                    branch: c.branch.clone(),
                    reason_code: c.claim.reject_reason,
                    reason: cmd.note.clone(),
                    policy_version: c.claim.policy_version.clone(),
                    explanation: c.claim.explanation.clone(),
                    auto_rejected: false,
                    rejected_by: caller.subject.clone(),
                    rejected_at: Some(timestamp(now)),
                };
                self.stage(&txn, &c, &event).await?;
            }
            Decision::RequestInfo { missing } => {
                let left = c
                    .due_at
                    .map(|due| deadline::pause(&self.calendar, now, due))
                    .unwrap_or_else(Duration::zero);
                c.status = ClaimStatus::InfoRequested;
                c.paused_left_ms = Some(left.num_milliseconds());
                c.due_at = None;
                c.version += 1;
                c.updated_at = now;
                c.claim.status = pb::ClaimStatus::InfoRequested as i32;
                c.claim.missing_info = missing
                    .iter()
                    .map(|m| mapping::missing_info_to_proto(*m) as i32)
                    .collect();
                c.claim.due_at = None;
                c.claim.version = c.version as u64;
                self.write(&txn, &c).await?;
                let event = pb::ClaimInfoRequested {
                    request_no: c.request_no.clone(),
                    branch: c.branch.clone(),
                    missing: c.claim.missing_info.clone(),
                    text: cmd.note.clone(),
                    requested_by: caller.subject.clone(),
                    requested_at: Some(timestamp(now)),
                };
                self.stage(&txn, &c, &event).await?;
            }
        }
        txn.commit().await?;
        Ok(c)
    }

    /// The branch supplies what was asked for: the claim is re-evaluated, goes back to PENDING
    /// and its deadline resumes with the working time that was left.
    pub async fn provide_info(&self, caller: &Caller, info: Info) -> Result<StoredClaim, Error> {
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
        let claim = &mut c.claim;
        let product = claim.product.get_or_insert_with(Default::default);
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
        for (target, d) in [
            (&mut product.invoice_date, info.invoice_date),
            (&mut product.receipt_date, info.receipt_date),
            (&mut product.purchase_date, info.purchase_date),
        ] {
            if let Some(d) = d {
                *target = d.to_string();
            }
        }
        set(&mut claim.fault_description, &info.fault_description);
        claim.photos.extend(info.photos.iter().cloned());
        if let Some(p) = &info.payment {
            claim.payment = Some(mapping::payment_to_proto(p));
        }
        if !info.parts.is_empty() {
            claim.lines = info
                .parts
                .iter()
                .map(|(p, q)| pb::ClaimLine {
                    part_no: p.to_string(),
                    quantity: *q,
                    ..Default::default()
                })
                .collect();
        }
        set(&mut claim.note, &info.note);
        let opened = c.opened_at.with_timezone(&self.offset).date_naive();
        let input =
            mapping::claim_input(claim, opened).map_err(|m| Error::invalid("request", m))?;
        let evaluation = evaluate::evaluate(&self.policy, &input);
        mapping::apply_evaluation(claim, &evaluation);
        let left = Duration::milliseconds(c.paused_left_ms.unwrap_or(0));
        let due = deadline::resume(&self.calendar, now, left);
        c.status = ClaimStatus::Pending;
        c.due_at = Some(due);
        c.paused_left_ms = None;
        c.version += 1;
        c.updated_at = now;
        c.claim.status = pb::ClaimStatus::Pending as i32;
        c.claim.missing_info.clear();
        c.claim.due_at = Some(timestamp(due));
        c.claim.version = c.version as u64;
        self.write(&txn, &c).await?;
        txn.commit().await?;
        Ok(c)
    }

    async fn visible<C: ConnectionTrait>(
        &self,
        conn: &C,
        caller: &Caller,
        request_no: &RequestNo,
    ) -> Result<StoredClaim, Error> {
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
    ) -> Result<StoredClaim, Error> {
        match claims::command_request(&self.db, key).await? {
            Some(r) if r == request_no.as_str() => self.get(caller, request_no).await,
            _ => Err(Error::AlreadyExists(
                "idempotency_key was already used for another claim; use a new key".into(),
            )),
        }
    }

    fn approved_lines(
        &self,
        claim: &pb::Claim,
        lines: &[ApprovedLine],
    ) -> Result<Vec<pb::ClaimLine>, Error> {
        let mut bad = Vec::new();
        let mut out = Vec::new();
        let category = claim
            .product
            .as_ref()
            .map(|p| p.category.as_str())
            .unwrap_or("");
        for (i, a) in lines.iter().enumerate() {
            let Some(orig) = claim.lines.iter().find(|l| l.part_no == a.part_no.as_str()) else {
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
                line.coverage = mapping::coverage_to_proto(cov) as i32;
            }
            line.fee = if line.coverage == common::Coverage::Paid as i32 {
                let fee = a
                    .fee
                    .unwrap_or_else(|| self.policy.fee(category, a.part_no.as_str(), a.quantity));
                Some(money(fee, &self.policy.currency))
            } else {
                None
            };
            out.push(line);
        }
        if !bad.is_empty() {
            return Err(Error::Invalid(bad));
        }
        Ok(out)
    }

    /// Writes `c` if nobody changed it since it was read.
    pub(crate) async fn write(
        &self,
        txn: &DatabaseTransaction,
        c: &StoredClaim,
    ) -> Result<(), Error> {
        if !claims::update_versioned(txn, c).await? {
            return Err(Error::Aborted(format!(
                "claim {} was changed by someone else at the same time; reload and decide again",
                c.request_no
            )));
        }
        Ok(())
    }

    /// Stages `event` about `c` in `txn`: it goes out if and only if `txn` commits.
    pub(crate) async fn stage<E: Event>(
        &self,
        txn: &DatabaseTransaction,
        c: &StoredClaim,
        event: &E,
    ) -> Result<(), Error> {
        self.outbox
            .stage(txn, EventMeta::request(&c.request_no, &c.branch), event)
            .await?;
        Ok(())
    }
}

/// Approves `c` at `now`; `by` is the reviewer, empty for the policy itself.
pub(crate) fn approve(c: &mut StoredClaim, now: DateTime<Utc>, by: &str) {
    c.status = ClaimStatus::Approved;
    c.due_at = None;
    c.paused_left_ms = None;
    c.version += 1;
    c.updated_at = now;
    c.claim.status = pb::ClaimStatus::Approved as i32;
    c.claim.decided_at = Some(timestamp(now));
    c.claim.decided_by = by.to_owned();
    c.claim.auto_decided = by.is_empty();
    c.claim.due_at = None;
    c.claim.version = c.version as u64;
}

/// `t` at the precision Postgres keeps (microseconds).
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}
