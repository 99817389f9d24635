//! The gateway's own metrics, in the platform's registry (served on `/metrics`).

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

pub fn gateway_metrics() -> &'static GatewayMetrics {
    static M: OnceLock<GatewayMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let registry = &metrics().registry;
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)
                .unwrap_or_else(|e| panic!("metric {name}: {e}"));
            let _ = registry.register(Box::new(c.clone()));
            c
        };
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP latency by route."),
            &["route"],
        )
        .unwrap_or_else(|e| panic!("metric http_request_duration_seconds: {e}"));
        let _ = registry.register(Box::new(http_duration.clone()));
        let sse_clients = IntGauge::new("sse_clients", "Open event-stream connections.")
            .unwrap_or_else(|e| panic!("metric sse_clients: {e}"));
        let _ = registry.register(Box::new(sse_clients.clone()));
        GatewayMetrics {
            http_requests: counter(
                "http_requests_total",
                "HTTP requests by route, method and status.",
                &["route", "method", "status"],
            ),
            http_duration,
            redis_degraded: counter(
                "redis_degraded_total",
                "Requests served without Redis, by feature (rate_limit, idempotency, stream).",
                &["feature"],
            ),
            rate_limited: counter(
                "rate_limited_total",
                "Requests refused by the per-branch rate limit.",
                &["branch"],
            ),
            idempotent_replays: counter(
                "idempotent_replays_total",
                "POSTs answered from the idempotency store, by outcome (replayed, conflict).",
                &["outcome"],
            ),
            stream_events: counter(
                "stream_events_total",
                "Events appended to the recent-events buffer, by routing key.",
                &["routing_key"],
            ),
            sse_clients,
        }
    })
}
