//! Intake's own metric: open requests whose next step is overdue ("stuck"), by status and
//! branch, refreshed every few seconds by each replica from the database (so any replica's
//! scrape tells the truth; alert on the max over replicas).

use std::sync::OnceLock;
use std::time::Duration;

use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::telemetry::metrics;
use prometheus::{IntGaugeVec, Opts};

use crate::service::Intake;

/// Intake's gauges.
#[derive(Clone)]
pub struct Gauges {
    /// Open requests whose next step is overdue.
    pub stuck: IntGaugeVec,
    /// Every request by status and branch: the lifecycle funnel.
    pub by_status: IntGaugeVec,
}

static GAUGES: OnceLock<Result<Gauges, String>> = OnceLock::new();

fn define() -> Result<Gauges, prometheus::Error> {
    let gauge = |name: &str, help: &str| {
        let g = IntGaugeVec::new(Opts::new(name, help), &["status", "branch"])?;
        metrics().registry.register(Box::new(g.clone()))?;
        Ok::<_, prometheus::Error>(g)
    };
    Ok(Gauges {
        stuck: gauge(
            "requests_stuck",
            "Open requests whose next step is overdue (intake.stuck_after), by status and branch.",
        )?,
        by_status: gauge(
            "requests_by_status",
            "Requests by their current status and branch (the lifecycle funnel).",
        )?,
    })
}

/// Registers the metrics (at start: an error stops the service there).
pub fn init() -> anyhow::Result<Gauges> {
    GAUGES
        .get_or_init(|| define().map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| anyhow::anyhow!("intake metrics: {e}"))
}

/// Refreshes the gauges every `every` until `stop`. A failed count keeps the last values and
/// tries again (the database may be away for a while).
pub async fn refresh_stuck(
    intake: Intake,
    gauges: Gauges,
    every: Duration,
    stop: Shutdown,
) -> anyhow::Result<()> {
    loop {
        // Every status and branch with requests gets a stuck series, 0 when none is overdue: a
        // series that exists says "counted, none stuck", which an absent one cannot.
        let by_status = intake.count_by_status().await;
        match intake.count_stuck().await {
            Ok(counts) => {
                gauges.stuck.reset();
                if let Ok(all) = &by_status {
                    for (status, branch, _) in all {
                        gauges.stuck.with_label_values(&[status, branch]).set(0);
                    }
                }
                for (status, branch, n) in counts {
                    gauges.stuck.with_label_values(&[&status, &branch]).set(n);
                }
            }
            Err(e) => tracing::warn!(error = %e, "counting stuck requests failed; retrying"),
        }
        match by_status {
            Ok(counts) => {
                gauges.by_status.reset();
                for (status, branch, n) in counts {
                    gauges
                        .by_status
                        .with_label_values(&[&status, &branch])
                        .set(n);
                }
            }
            Err(e) => tracing::warn!(error = %e, "counting requests by status failed; retrying"),
        }
        tokio::select! {
            _ = stop.wait() => return Ok(()),
            _ = tokio::time::sleep(every) => {}
        }
    }
}
