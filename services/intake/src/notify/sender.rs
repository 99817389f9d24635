//! Sends the due messages from `notifications`, as the relay sends events from the outbox: a
//! scan (one replica at a time) claims due messages with a lease, sends each, and records the
//! answer. A sender that dies between sending and recording leaves the lease; once it passes the
//! message is sent again with the same id (Message-ID, idempotency key), so it goes out at most
//! once more and the receiver can tell the copy.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};

use super::Notifier;
use super::channels::{Channels, Outcome};
use crate::store::notifications;

/// Messages claimed per round of a tick.
const BATCH: u64 = 50;

#[derive(Clone)]
pub struct Sender {
    db: DatabaseConnection,
    notifier: Notifier,
    channels: Arc<Channels>,
}

impl Sender {
    pub fn new(db: DatabaseConnection, notifier: Notifier) -> anyhow::Result<Sender> {
        let channels = Arc::new(Channels::new(&notifier.settings)?);
        Ok(Sender {
            db,
            notifier,
            channels,
        })
    }

    /// Sends everything due at `now`; returns how many attempts it made.
    pub async fn tick(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let s = &self.notifier.settings;
        let lease = Duration::seconds(s.lease_secs as i64);
        let mut attempts = 0;
        loop {
            let txn = self.db.begin().await?;
            let due = notifications::claim_due(&txn, now, now + lease, BATCH).await?;
            txn.commit().await?;
            if due.is_empty() {
                return Ok(attempts);
            }
            for m in &due {
                attempts += 1;
                let outcome = self.channels.send(m).await;
                if s.crash_after_send {
                    // Test hook: what a crash here leaves — the message handed over, nothing
                    // recorded, the lease held.
                    anyhow::bail!(
                        "crash_after_send: stopped after sending {} before recording it",
                        m.message_id
                    );
                }
                let tried = m.attempts.max(1) as u32;
                match outcome {
                    Outcome::Accepted { status, answer } => {
                        notifications::sent(&self.db, m.message_id, now, &answer, status).await?;
                    }
                    Outcome::Retry(answer) if tried < s.max_attempts => {
                        tracing::warn!(message_id = %m.message_id, channel = %m.channel, attempt = tried, %answer, "message not taken; trying again later");
                        let at = now + self.notifier.retry_after(tried);
                        notifications::attempt_failed(&self.db, m.message_id, &answer, Some(at))
                            .await?;
                    }
                    Outcome::Retry(answer) | Outcome::Refused(answer) => {
                        tracing::error!(message_id = %m.message_id, channel = %m.channel, attempt = tried, %answer, "message failed");
                        notifications::attempt_failed(&self.db, m.message_id, &answer, None)
                            .await?;
                    }
                }
            }
            if (due.len() as u64) < BATCH {
                return Ok(attempts);
            }
        }
    }
}
