//! The gateway's own metrics, in the platform's registry (served on the admin port's
//! `/metrics`). [`init`] registers them at start: a bad definition or a name registered twice
//! stops the gateway there instead of leaving a metric silently unexported.

use std::sync::OnceLock;

use aftersales_platform::telemetry::metrics;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts};

pub struct GatewayMetrics {
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub redis_degraded: IntCounterVec,
    pub rate_limited: IntCounterVec,
    pub idempotent_replays: IntCounterVec,
    pub stream_events: IntCounterVec,
    pub sse_clients: IntGauge,
}

static METRICS: OnceLock<Result<GatewayMetrics, String>> = OnceLock::new();

/// Defines and registers the gateway's metrics (once).
pub fn init() -> anyhow::Result<()> {
    METRICS
        .get_or_init(|| define().map_err(|e| e.to_string()))
        .as_ref()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("gateway metrics: {e}"))
}

pub fn gateway_metrics() -> &'static GatewayMetrics {
    match METRICS.get_or_init(|| define().map_err(|e| e.to_string())) {
        Ok(m) => m,
        // Definitions are static: init() at start reports this before anything serves.
        Err(e) => panic!("gateway metrics: {e}"),
    }
}

fn define() -> Result<GatewayMetrics, prometheus::Error> {
    let registry = &metrics().registry;
    let counter = |name: &str, help: &str, labels: &[&str]| {
        let c = IntCounterVec::new(Opts::new(name, help), labels)?;
        registry.register(Box::new(c.clone()))?;
        Ok::<_, prometheus::Error>(c)
    };
    let http_duration = HistogramVec::new(
        HistogramOpts::new("http_request_duration_seconds", "HTTP latency by route."),
        &["route"],
    )?;
    registry.register(Box::new(http_duration.clone()))?;
    let sse_clients = IntGauge::new("sse_clients", "Open event-stream connections.")?;
    registry.register(Box::new(sse_clients.clone()))?;
    Ok(GatewayMetrics {
        http_requests: counter(
            "http_requests_total",
            "HTTP requests by route, method and status.",
            &["route", "method", "status"],
        )?,
        http_duration,
        redis_degraded: counter(
            "redis_degraded_total",
            "Requests served without Redis, by feature (rate_limit, idempotency, stream).",
            &["feature"],
        )?,
        rate_limited: counter(
            "rate_limited_total",
            "Requests refused by a rate limit, by branch and which bucket (caller, branch).",
            &["branch", "bucket"],
        )?,
        idempotent_replays: counter(
            "idempotent_replays_total",
            "POSTs answered from the idempotency store, by outcome (replayed, conflict).",
            &["outcome"],
        )?,
        stream_events: counter(
            "stream_events_total",
            "Events appended to the recent-events buffer, by routing key.",
            &["routing_key"],
        )?,
        sse_clients,
    })
}
