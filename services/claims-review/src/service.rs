//! Claims-review's operations, each one transaction: open and cancel a claim (from intake's
//! events), get, list, decide, provide information, the deadline scan, and the refund of a
//! return (from the warehouse's inspection). The gRPC layer parses and
//! authorizes, then calls these; the event handlers call [`Claims::open`] inside their own
//! transaction.

use std::sync::Arc;

use aftersales_platform::auth::Caller;
use aftersales_platform::calendar::Calendar;
use aftersales_platform::outbox::{EventMeta, Outbox};
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::domain::policy::LapseAction;
use crate::domain::{ClaimStatus, Policy, RejectReason, deadline, evaluate, refund};
use crate::error::Error;
use crate::mapping::{self, from_timestamp, money, timestamp};
use crate::store::claims::{self, ListFilter, StoredClaim};
use crate::store::refunds;

/// What the operations need.
#[derive(Clone)]
pub struct Claims {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub policy: Arc<Policy>,
    pub calendar: Calendar,
    /// The department's local offset: windows are judged on the local date.
    pub offset: FixedOffset,
}

/// A line as the reviewer approves it.
#[derive(Debug, Clone)]
pub struct ApprovedLine {
    pub part_no: String,
    pub quantity: u32,
    pub coverage: Option<crate::domain::Coverage>,
    pub fee: Option<i64>,
}

#[derive(Debug, Clone)]
pub enum Decision {
    Approve {
        /// Empty: the claim's lines as evaluated.
        lines: Vec<ApprovedLine>,
        onsite_required: Option<bool>,
        ship_to: Option<common::Address>,
        /// A return for the customer's own reasons: the service fee applies, the pick-up is
        /// charged.
        own_reasons: bool,
    },
    Reject {
        reason: RejectReason,
    },
    RequestInfo {
        missing: Vec<pb::MissingInfo>,
    },
}

#[derive(Debug, Clone)]
pub struct Decide {
    pub idempotency_key: String,
    pub request_no: String,
    pub expected_version: u64,
    pub decision: Decision,
    pub note: String,
}

/// What the branch supplies; empty fields keep their value.
#[derive(Debug, Clone, Default)]
pub struct Info {
    pub idempotency_key: String,
    pub request_no: String,
    pub invoice_no: String,
    pub invoice_date: Option<NaiveDate>,
    pub receipt_date: Option<NaiveDate>,
    pub serial: String,
    pub purchase_date: Option<NaiveDate>,
    pub service_contract_no: String,
    pub photos: Vec<String>,
    pub payment: Option<pb::Payment>,
    pub fault_description: String,
    pub parts: Vec<(String, u32)>,
    pub note: String,
}

impl Claims {
    pub fn new(
        db: DatabaseConnection,
        policy: Arc<Policy>,
        calendar: Calendar,
        offset: FixedOffset,
    ) -> Self {
        Self {
            db,
            outbox: Outbox::new(crate::config::SERVICE),
            policy,
            calendar,
            offset,
        }
    }

    /// Opens the claim of a submitted request in `txn`, evaluates it and, when the policy
    /// decides alone, approves it. A request that already has a claim is left as it is (an
    /// event redelivered under another id opens nothing). Whether a claim was opened.
    pub async fn open(
        &self,
        txn: &DatabaseTransaction,
        r: &intake::ServiceRequest,
    ) -> Result<bool, Error> {
        let invalid = |m: String| {
            Error::Invalid(vec![aftersales_platform::grpc::Violation::new(
                "request", m,
            )])
        };
        if r.request_no.trim().is_empty() || r.branch.trim().is_empty() {
            return Err(invalid("request_no and branch are required".into()));
        }
        aftersales_platform::grpc::record_request_no(&r.request_no);
        let now = now();
        // Windows are judged on the day the customer came forward.
        let submitted = r
            .created_at
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or(now);
        let on = submitted.with_timezone(&self.offset).date_naive();
        let input = mapping::request_input(r, on).map_err(invalid)?;
        let evaluation = evaluate::evaluate(&self.policy, &input);
        let due = deadline::due_at(&self.calendar, now, self.policy.review_days);
        let customer = r.customer.clone().unwrap_or_default();
        let mut claim = pb::Claim {
            request_no: r.request_no.clone(),
            branch: r.branch.clone(),
            status: pb::ClaimStatus::Pending as i32,
            kind: r.kind,
            urgency: r.urgency,
            ship_to: Some(mapping::ship_to(&customer, &r.branch)),
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
            request_no: r.request_no.clone(),
            branch: r.branch.clone(),
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
            tracing::info!(request_no = %r.request_no, "claim already open; nothing to do");
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
        request_no: &str,
        branch: &str,
        reason: &str,
    ) -> Result<bool, Error> {
        aftersales_platform::grpc::record_request_no(request_no);
        let now = now();
        let note = if reason.trim().is_empty() {
            "request cancelled".to_owned()
        } else {
            format!("request cancelled: {}", reason.trim())
        };
        let Some(mut c) = claims::get(txn, request_no).await? else {
            let placeholder = StoredClaim {
                request_no: request_no.to_owned(),
                branch: branch.to_owned(),
                status: ClaimStatus::Cancelled,
                version: 1,
                opened_at: now,
                due_at: None,
                paused_left_ms: None,
                escalated: false,
                breach_announced_for: None,
                updated_at: now,
                claim: pb::Claim {
                    request_no: request_no.to_owned(),
                    branch: branch.to_owned(),
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
            tracing::info!(request_no, status = %c.status, "request cancelled after the decision; claim kept");
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

    /// Authorizes the refund of an approved return after the warehouse inspected the unit, in
    /// `txn`: the price paid less the missing accessories and, for the customer's own reasons,
    /// the service fee; to the original payment route. Once per request. Whether a refund was
    /// authorized (an exchange or a claim that is not an approved return gets none).
    pub async fn authorize_refund(
        &self,
        txn: &DatabaseTransaction,
        inspected: &warehouse::ReturnInspected,
    ) -> Result<bool, Error> {
        let request_no = inspected.request_no.as_str();
        aftersales_platform::grpc::record_request_no(request_no);
        let Some(c) = claims::get(txn, request_no).await? else {
            tracing::warn!(
                request_no,
                "return inspected for a request without a claim; ignored"
            );
            return Ok(false);
        };
        let is_return = c.claim.kind == common::RequestKind::Return as i32;
        if c.status != ClaimStatus::Approved || !is_return {
            tracing::info!(request_no, status = %c.status, "not an approved return; no refund");
            return Ok(false);
        }
        if refunds::get(txn, request_no).await?.is_some() {
            return Ok(false);
        }
        let payment = c
            .claim
            .payment
            .clone()
            .filter(|p| p.amount.is_some())
            .ok_or_else(|| {
                Error::Invalid(vec![aftersales_platform::grpc::Violation::new(
                    "payment",
                    format!("claim {request_no} has no payment on record; provide it, then replay this event"),
                )])
            })?;
        let gross = payment.amount.clone().unwrap_or_default();
        let category = c
            .claim
            .product
            .as_ref()
            .map(|p| p.category.clone())
            .unwrap_or_default();
        let mut missing: Vec<refund::Missing> = inspected
            .accessories
            .iter()
            .filter(|a| a.present < a.expected)
            .map(|a| {
                let part = if a.part_no.trim().is_empty() {
                    a.name.trim().to_owned()
                } else {
                    a.part_no.trim().to_uppercase()
                };
                refund::Missing {
                    unit_price: self.policy.price(&category, &part),
                    part,
                    quantity: a.expected - a.present,
                }
            })
            .collect();
        if inspected.accessories.is_empty() {
            missing = inspected
                .missing_accessories
                .iter()
                .map(|p| refund::Missing {
                    part: p.trim().to_uppercase(),
                    quantity: 1,
                    unit_price: self.policy.price(&category, &p.trim().to_uppercase()),
                })
                .collect();
        }
        let calc = refund::compute(
            gross.amount_minor,
            &missing,
            c.claim.own_reasons,
            &self.policy.service_fee,
        );
        let now = now();
        let refund_id = uuid::Uuid::now_v7();
        let currency = gross.currency.as_str();
        let deductions: Vec<pb::Deduction> = calc
            .deductions
            .iter()
            .map(|d| pb::Deduction {
                reason: match d.reason {
                    refund::DeductionReason::MissingAccessory => {
                        pb::DeductionReason::MissingAccessory
                    }
                    refund::DeductionReason::ServiceFee => pb::DeductionReason::ServiceFee,
                } as i32,
                description: d.description.clone(),
                amount: Some(money(d.amount, currency)),
                part_no: d.part_no.clone(),
            })
            .collect();
        let record = pb::Refund {
            refund_id: refund_id.to_string(),
            request_no: c.request_no.clone(),
            branch: c.branch.clone(),
            gross: Some(money(calc.gross, currency)),
            deductions: deductions.clone(),
            service_fee: Some(money(calc.service_fee, currency)),
            amount: Some(money(calc.amount, currency)),
            payment: Some(payment.clone()),
            return_id: inspected.return_id.clone(),
            policy_version: self.policy.version.clone(),
            authorized_at: Some(timestamp(now)),
            authorized_by: String::new(),
            own_reasons: c.claim.own_reasons,
        };
        if !refunds::insert_if_absent(txn, refund_id, now, &record).await? {
            return Ok(false);
        }
        let event = pb::RefundAuthorized {
            request_no: c.request_no.clone(),
            branch: c.branch.clone(),
            refund_id: record.refund_id.clone(),
            kind: c.claim.kind,
            amount: record.amount.clone(),
            gross: record.gross.clone(),
            deductions,
            service_fee: record.service_fee.clone(),
            payment: Some(payment),
            return_id: record.return_id.clone(),
            policy_version: record.policy_version.clone(),
            authorized_at: record.authorized_at,
            authorized_by: String::new(),
            customer: c.claim.customer.clone(),
        };
        self.stage(txn, &c, &event).await?;
        Ok(true)
    }

    /// The refund of a request, if the caller may see the claim and there is one.
    pub async fn refund(&self, caller: &Caller, request_no: &str) -> Result<pb::Refund, Error> {
        self.get(caller, request_no).await?;
        refunds::get(&self.db, request_no)
            .await?
            .ok_or_else(|| Error::NotFound(format!("refund of {request_no}")))
    }

    /// The claim, if the caller may see it (another branch's claim is simply not found).
    pub async fn get(&self, caller: &Caller, request_no: &str) -> Result<StoredClaim, Error> {
        aftersales_platform::grpc::record_request_no(request_no);
        claims::get(&self.db, request_no)
            .await?
            .filter(|c| caller.sees_branch(&c.branch))
            .ok_or_else(|| Error::NotFound(format!("claim {request_no}")))
    }

    /// One page of the queue and whether another follows.
    pub async fn list(&self, filter: ListFilter) -> Result<(Vec<StoredClaim>, bool), Error> {
        let limit = filter.limit as usize;
        let mut rows = claims::list(&self.db, &filter).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        Ok((rows, more))
    }

    /// A reviewer's decision on a pending claim, with the version the reviewer saw.
    pub async fn decide(&self, caller: &Caller, cmd: Decide) -> Result<StoredClaim, Error> {
        aftersales_platform::grpc::record_request_no(&cmd.request_no);
        let txn = self.db.begin().await?;
        if !claims::record_command(&txn, &cmd.idempotency_key, &cmd.request_no, "decide").await? {
            drop(txn);
            return self
                .replay(caller, &cmd.idempotency_key, &cmd.request_no)
                .await;
        }
        let mut c = self.visible(&txn, caller, &cmd.request_no).await?;
        if c.version as u64 != cmd.expected_version {
            return Err(Error::Aborted(format!(
                "claim {} is at version {}, not {}: someone changed it first; reload and decide again",
                c.request_no, c.version, cmd.expected_version
            )));
        }
        if !c.status.can_decide() {
            return Err(Error::FailedPrecondition(format!(
                "claim {} is {}; only a pending claim can be decided",
                c.request_no, c.status
            )));
        }
        let now = now();
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
                    let currency = &self.policy.currency;
                    let total: i64 = c
                        .claim
                        .lines
                        .iter()
                        .filter_map(|l| l.fee.as_ref().map(|f| f.amount_minor))
                        .sum();
                    c.claim.total_fee = Some(money(total, currency));
                }
                if let Some(o) = onsite_required {
                    c.claim.onsite_required = o;
                }
                if let Some(a) = ship_to {
                    c.claim.ship_to = Some(a);
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
                c.claim.missing_info = missing.iter().map(|m| *m as i32).collect();
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
        aftersales_platform::grpc::record_request_no(&info.request_no);
        let txn = self.db.begin().await?;
        if !claims::record_command(
            &txn,
            &info.idempotency_key,
            &info.request_no,
            "provide_info",
        )
        .await?
        {
            drop(txn);
            return self
                .replay(caller, &info.idempotency_key, &info.request_no)
                .await;
        }
        let mut c = self.visible(&txn, caller, &info.request_no).await?;
        if !c.status.can_provide_info() {
            return Err(Error::FailedPrecondition(format!(
                "claim {} is {}; information can be provided only when it was requested",
                c.request_no, c.status
            )));
        }
        let now = now();
        let claim = &mut c.claim;
        let product = claim.product.get_or_insert_with(Default::default);
        let set = |target: &mut String, v: &str| {
            if !v.trim().is_empty() {
                *target = v.trim().to_owned();
            }
        };
        set(&mut product.invoice_no, &info.invoice_no);
        set(&mut product.serial, &info.serial);
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
        if info.payment.is_some() {
            claim.payment = info.payment.clone();
        }
        if !info.parts.is_empty() {
            claim.lines = info
                .parts
                .iter()
                .map(|(p, q)| pb::ClaimLine {
                    part_no: p.clone(),
                    quantity: *q,
                    ..Default::default()
                })
                .collect();
        }
        if !info.note.trim().is_empty() {
            claim.note = info.note.trim().to_owned();
        }
        let opened = c.opened_at.with_timezone(&self.offset).date_naive();
        let input = mapping::claim_input(claim, opened).map_err(|m| {
            Error::Invalid(vec![aftersales_platform::grpc::Violation::new(
                "request", m,
            )])
        })?;
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

    /// Announces every pending claim past its deadline once, and applies the policy's lapse
    /// action (escalate, or approve automatically). How many claims breached.
    pub async fn scan_deadlines(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let txn = self.db.begin().await?;
        let overdue = claims::overdue(&txn, now, 100).await?;
        let n = overdue.len();
        for mut c in overdue {
            let Some(due) = c.due_at else { continue };
            c.breach_announced_for = Some(due);
            let action = match self.policy.on_deadline {
                LapseAction::Escalate => {
                    c.escalated = true;
                    c.claim.escalated = true;
                    c.version += 1;
                    c.updated_at = now;
                    c.claim.version = c.version as u64;
                    pb::SlaAction::Escalated
                }
                LapseAction::AutoApprove => {
                    c.claim.note = "approved automatically: the review deadline passed".into();
                    approve(&mut c, now, "");
                    // The breach is kept on record although the deadline no longer runs.
                    c.breach_announced_for = Some(due);
                    pb::SlaAction::AutoApproved
                }
            };
            self.write(&txn, &c).await?;
            let breached = pb::ClaimSlaBreached {
                request_no: c.request_no.clone(),
                branch: c.branch.clone(),
                due_at: Some(timestamp(due)),
                breached_at: Some(timestamp(now)),
                action: action as i32,
                status: c.claim.status,
                policy_version: c.claim.policy_version.clone(),
            };
            self.stage(&txn, &c, &breached).await?;
            if action == pb::SlaAction::AutoApproved {
                self.stage(&txn, &c, &mapping::approved_event(&c.claim, now))
                    .await?;
            }
            tracing::info!(request_no = %c.request_no, ?action, "review deadline breached");
        }
        txn.commit().await?;
        Ok(n)
    }

    async fn visible<C: ConnectionTrait>(
        &self,
        conn: &C,
        caller: &Caller,
        request_no: &str,
    ) -> Result<StoredClaim, Error> {
        claims::get(conn, request_no)
            .await?
            .filter(|c| caller.sees_branch(&c.branch))
            .ok_or_else(|| Error::NotFound(format!("claim {request_no}")))
    }

    /// A command retried with its key: the claim as it is now.
    async fn replay(
        &self,
        caller: &Caller,
        key: &str,
        request_no: &str,
    ) -> Result<StoredClaim, Error> {
        match claims::command_request(&self.db, key).await? {
            Some(r) if r == request_no => self.get(caller, request_no).await,
            _ => Err(Error::Invalid(vec![
                aftersales_platform::grpc::Violation::new(
                    "idempotency_key",
                    "was already used for another claim; use a new key",
                ),
            ])),
        }
    }

    fn approved_lines(
        &self,
        claim: &pb::Claim,
        lines: &[ApprovedLine],
    ) -> Result<Vec<pb::ClaimLine>, Error> {
        let mut v = Vec::new();
        let mut out = Vec::new();
        let category = claim
            .product
            .as_ref()
            .map(|p| p.category.as_str())
            .unwrap_or("");
        for (i, a) in lines.iter().enumerate() {
            let Some(orig) = claim.lines.iter().find(|l| l.part_no == a.part_no) else {
                v.push(aftersales_platform::grpc::Violation::new(
                    format!("approve.lines[{i}].part_no"),
                    format!("{} is not a line of this claim", a.part_no),
                ));
                continue;
            };
            if a.quantity == 0 || a.quantity > orig.quantity {
                v.push(aftersales_platform::grpc::Violation::new(
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
                    .unwrap_or_else(|| self.policy.fee(category, &a.part_no, a.quantity));
                Some(money(fee, &self.policy.currency))
            } else {
                None
            };
            out.push(line);
        }
        if !v.is_empty() {
            return Err(Error::Invalid(v));
        }
        Ok(out)
    }

    async fn write(&self, txn: &DatabaseTransaction, c: &StoredClaim) -> Result<(), Error> {
        if !claims::update_versioned(txn, c).await? {
            return Err(Error::Aborted(format!(
                "claim {} was changed by someone else at the same time; reload and decide again",
                c.request_no
            )));
        }
        Ok(())
    }

    async fn stage<E: aftersales_platform::proto::catalogue::Event>(
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
fn approve(c: &mut StoredClaim, now: DateTime<Utc>, by: &str) {
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

/// Now, at the precision Postgres keeps (microseconds), so an answer equals a later read.
fn now() -> DateTime<Utc> {
    use chrono::DurationRound;
    let t = Utc::now();
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}
