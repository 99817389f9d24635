//! The review deadline: its SLA clock and its scanner.
//!
//! - The clock (the platform's [`aftersales_platform::sla`]): started when the claim opens,
//!   paused while it waits for the branch's information (one pause per request, `info:<n>`),
//!   resumed when the information arrives, stopped by the decision or the cancellation; its
//!   budget is the policy's `review_days` working days. Claims-review is its [`Owner`]: a
//!   re-derived deadline (`claims-review sla recompute`, or at start-up when the calendar or the
//!   policy version changed) is written to the claim, announced (`claims.claim.deadline_changed`)
//!   and a breach that no longer holds is withdrawn (`claims.claim.sla_breach_withdrawn`, the
//!   escalation taken back).
//! - The scanner ("review-deadlines"): pending claims past their deadline are announced once
//!   (`claims.claim.sla_breached`) and handled as the policy says (escalate, or approve
//!   automatically). The platform's [`Scanner`] runs it on one replica at a time; each breach is
//!   also recorded (`breach_announced_for`) in the same transaction as its event and the rows are
//!   taken with `SKIP LOCKED`, so a scan repeated anywhere finds nothing left to do. A deadline
//!   that moved after its breach was withdrawn is announced again, once, if it passes.

use std::time::Duration;

use aftersales_platform::scanner::Scanner;
use aftersales_platform::sla::{Budget, Owner, Rederived, StoredClock};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use crate::domain::policy::LapseAction;
use crate::domain::{ClaimEvent, ClaimStatus};
use crate::error::Error;
use crate::service::{Claims, micros};
use crate::store::claims;

/// The scanner's name (its lock, its log lines, `TestService::scan`).
pub const SCANNER: &str = "review-deadlines";

/// How many overdue claims one scan handles; the next tick takes the rest.
const BATCH: u32 = 100;

pub fn scanner(claims: &Claims, every: Duration) -> Scanner {
    let claims = claims.clone();
    Scanner::new(SCANNER, every, move |now| {
        let claims = claims.clone();
        async move { Ok(claims.scan_deadlines(now).await?) }
    })
}

impl Claims {
    /// Announces every pending claim past its deadline at `now` once, and applies the policy's
    /// lapse action. How many claims breached.
    pub async fn scan_deadlines(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let now = micros(now);
        let txn = self.db.begin().await?;
        let overdue = claims::overdue(&txn, now, BATCH).await?;
        let n = overdue.len();
        for mut c in overdue {
            // Only a running deadline can lapse; the query asks for nothing else (a cancelled
            // claim is never pending), this says so where the change is made.
            let (Some(due), true) = (c.due_at, c.status.deadline_runs()) else {
                continue;
            };
            let action = self.policy.on_deadline;
            match action {
                LapseAction::Escalate => c.escalate(now, due),
                LapseAction::AutoApprove => {
                    self.stop_clock(&txn, &c.request_no, now, "auto_approved")
                        .await?;
                    c.detail.note = "approved automatically: the review deadline passed".into();
                    c.approve(now, "");
                    // The breach is kept on record although the deadline no longer runs.
                    c.breach_announced_for = Some(due);
                }
            }
            self.write(&txn, &c).await?;
            let breached = ClaimEvent::SlaBreached {
                due,
                at: now,
                action,
            };
            self.stage(&txn, &c, &breached).await?;
            if action == LapseAction::AutoApprove {
                self.stage(&txn, &c, &ClaimEvent::Approved { at: now })
                    .await?;
            }
            tracing::info!(request_no = %c.request_no, ?action, "review deadline breached");
        }
        txn.commit().await?;
        Ok(n)
    }
}

#[async_trait::async_trait]
impl Owner for Claims {
    fn policy_version(&self) -> String {
        self.policy.version.clone()
    }

    async fn budget(&self, _: &DatabaseTransaction, _: &StoredClock) -> anyhow::Result<Budget> {
        Ok(self.review_budget())
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        r: &Rederived,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let now = micros(now);
        let Some(mut c) = claims::get_for_update(txn, &r.clock.subject).await? else {
            return Ok(());
        };
        let announced = c.breach_announced_for;
        let after = r.after();
        let withdrawn = c.rederive(now, after.due_at, after.left);
        claims::set_deadline(txn, &c).await?;
        let m = self.clocks.describe(r, reason, now);
        if r.moved() && c.status == ClaimStatus::Pending {
            self.stage(txn, &c, &ClaimEvent::DeadlineChanged(m.clone()))
                .await?;
        }
        if withdrawn {
            let m = aftersales_platform::sla::Move {
                old_due: announced,
                ..m
            };
            self.stage(txn, &c, &ClaimEvent::SlaBreachWithdrawn(m))
                .await?;
            tracing::info!(request_no = %c.request_no, %reason, "review deadline breach withdrawn");
        }
        Ok(())
    }
}
