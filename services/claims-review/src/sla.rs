//! The review deadline scanner ("review-deadlines"): pending claims past their deadline are
//! announced once (`claims.claim.sla_breached`) and handled as the policy says (escalate, or
//! approve automatically). The platform's [`Scanner`] runs it on one replica at a time; each
//! breach is also recorded (`breach_announced_for`) in the same transaction as its event and the
//! rows are taken with `SKIP LOCKED`, so a scan repeated anywhere finds nothing left to do.

use std::time::Duration;

use aftersales_platform::scanner::Scanner;
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;

use crate::domain::ClaimEvent;
use crate::domain::policy::LapseAction;
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
