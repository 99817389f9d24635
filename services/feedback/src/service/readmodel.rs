//! Rebuilding the KPI read model from the event log: empty it, then project every logged
//! envelope again, in log order, in one transaction. Because every fact merges independently of
//! order, the figures after a rebuild are the figures before it.

use aftersales_platform::proto::common::v1::EventEnvelope;
use prost::Message;
use sea_orm::TransactionTrait;

use super::Feedback;
use crate::error::Error;
use crate::store::{log, readmodel as rm};

/// Envelopes read from the log at a time.
const BATCH: u64 = 500;

impl Feedback {
    /// How many logged envelopes were projected again.
    pub async fn rebuild_read_model(&self) -> Result<u64, Error> {
        let txn = self.db.begin().await?;
        rm::truncate(&txn).await?;
        let mut after = 0i64;
        let mut n = 0u64;
        loop {
            let batch = log::batch(&txn, after, BATCH).await?;
            let Some((last, _)) = batch.last() else {
                break;
            };
            after = *last;
            for (seq, bytes) in &batch {
                match EventEnvelope::decode(bytes.as_slice()) {
                    Ok(env) => self.project(&txn, &env).await?,
                    // Only well-formed envelopes are ever logged; say so if one is not.
                    Err(e) => tracing::warn!(seq, error = %e, "logged envelope does not decode"),
                }
                n += 1;
            }
        }
        txn.commit().await?;
        tracing::info!(events = n, "read model rebuilt from the event log");
        Ok(n)
    }
}
