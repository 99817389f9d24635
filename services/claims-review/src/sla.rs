//! The deadline scanner: every interval, pending claims past their review deadline are
//! announced once (`claims.claim.sla_breached`) and handled as the policy says (escalate, or
//! approve automatically). Several replicas may scan at once: the rows are locked with
//! `SKIP LOCKED` and each breach is recorded in the same transaction as its event.

use std::time::Duration;

use aftersales_platform::shutdown::Shutdown;

use crate::service::Claims;

pub async fn run(claims: Claims, every: Duration, shutdown: Shutdown) {
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match claims.scan_deadlines(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(breached = n, "review deadlines scanned"),
            Err(e) => tracing::warn!(error = %e, "deadline scan failed; next interval retries"),
        }
    }
}
