//! Per-branch token bucket in Redis, shared by every replica. One Lua script reads, refills,
//! takes and writes back atomically, on Redis's clock (replicas' clocks never matter).

use std::sync::OnceLock;

use aftersales_platform::auth::Caller;
use axum::Extension;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::kv::degraded;
use crate::metrics::gateway_metrics;
use crate::problem::Problem;

const TOKEN_BUCKET: &str = r#"
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = cap
  ts = now
end
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
local wait_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait_ms = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap * 1000 / rate) + 1000)
return {allowed, wait_ms}
"#;

fn script() -> &'static redis::Script {
    static S: OnceLock<redis::Script> = OnceLock::new();
    S.get_or_init(|| redis::Script::new(TOKEN_BUCKET))
}

/// Takes one token from the caller's branch bucket (`*` for head office); 429 with
/// `Retry-After` when it is empty. Without Redis the request goes through.
pub async fn limit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
    next: Next,
) -> Response {
    let branch = caller.branch().unwrap_or("*").to_owned();
    let g = &state.settings.gateway;
    let key = state.redis.key(&format!("rl:{branch}"));
    let mut inv = script().key(&key);
    inv.arg(g.rate_limit_burst).arg(g.rate_limit_per_second);
    match state.redis.script::<(i64, i64)>(&inv).await {
        Ok((1, _)) => next.run(req).await,
        Ok((_, wait_ms)) => {
            gateway_metrics()
                .rate_limited
                .with_label_values(&[&branch])
                .inc();
            let secs = (wait_ms.max(1) as u64).div_ceil(1000);
            Problem::too_many_requests(secs).into_response()
        }
        Err(e) => {
            degraded("rate_limit", &e);
            next.run(req).await
        }
    }
}
