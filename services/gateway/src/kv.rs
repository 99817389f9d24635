//! Redis, shared by every replica: the rate-limit buckets, the idempotency records and the
//! recent-events buffer (the client is the platform's, under the gateway's key prefix). Losing it
//! loses no business data: each feature that needs it degrades with a logged warning and a
//! metric ([`degraded`]) instead of failing the request.

pub use aftersales_platform::kv::{KvError, READ_BLOCK, Redis};

use crate::metrics::gateway_metrics;

/// Records that `feature` ran without Redis this time.
pub fn degraded(feature: &'static str, error: &KvError) {
    tracing::warn!(feature, error = %error, "redis unavailable; serving without it");
    gateway_metrics()
        .redis_degraded
        .with_label_values(&[feature])
        .inc();
}
