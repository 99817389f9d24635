//! The review deadline scanner ("review-deadlines"): pending claims past their deadline are
//! announced once (`claims.claim.sla_breached`) and handled as the policy says (escalate, or
//! approve automatically). The platform's [`Scanner`] runs it on one replica at a time; each
//! breach is also recorded (`breach_announced_for`) in the same transaction as its event and the
//! rows are taken with `SKIP LOCKED`, so a scan repeated anywhere finds nothing left to do.

use std::time::Duration;

use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::scanner::Scanner;
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;

use crate::domain::policy::LapseAction;
use crate::error::Error;
use crate::mapping::{self, timestamp};
use crate::service::{Claims, approve, micros};
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
}
