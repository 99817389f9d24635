//! Intake's own metric: open requests whose next step is overdue ("stuck"), by status and
//! branch, refreshed every few seconds by each replica from the database (so any replica's
//! scrape tells the truth; alert on the max over replicas).

use std::sync::OnceLock;
use std::time::Duration;

use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::telemetry::metrics;
use prometheus::{IntGaugeVec, Opts};

use crate::service::Intake;

static STUCK: OnceLock<Result<IntGaugeVec, String>> = OnceLock::new();

fn define() -> Result<IntGaugeVec, prometheus::Error> {
    let g = IntGaugeVec::new(
        Opts::new(
            "requests_stuck",
            "Open requests whose next step is overdue (intake.stuck_after), by status and branch.",
        ),
        &["status", "branch"],
    )?;
    metrics().registry.register(Box::new(g.clone()))?;
    Ok(g)
}

/// Registers the metric (at start: an error stops the service there).
pub fn init() -> anyhow::Result<IntGaugeVec> {
    STUCK
        .get_or_init(|| define().map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| anyhow::anyhow!("intake metrics: {e}"))
}

/// Refreshes the gauge every `every` until `stop`. A failed count keeps the last values and
/// tries again (the database may be away for a while).
pub async fn refresh_stuck(
    intake: Intake,
    gauge: IntGaugeVec,
    every: Duration,
    stop: Shutdown,
) -> anyhow::Result<()> {
    loop {
        match intake.count_stuck().await {
            Ok(counts) => {
                gauge.reset();
                for (status, branch, n) in counts {
                    gauge.with_label_values(&[&status, &branch]).set(n);
                }
            }
            Err(e) => tracing::warn!(error = %e, "counting stuck requests failed; retrying"),
        }
        tokio::select! {
            _ = stop.wait() => return Ok(()),
            _ = tokio::time::sleep(every) => {}
        }
    }
}
