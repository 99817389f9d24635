//! Token buckets in Redis, shared by every replica: one per caller (`sub` within its branch) and
//! one per branch. A request takes a token from both or from neither, so one client over its own
//! limit is refused without draining its branch's bucket (it cannot starve its colleagues), and
//! a branch as a whole stays within its limit. One Lua script reads, refills, takes and writes
//! back atomically, on Redis's clock (replicas' clocks never matter).

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
use sha2::{Digest, Sha256};

const TOKEN_BUCKETS: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function level(key, cap, rate)
  local b = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(b[1])
  local ts = tonumber(b[2])
  if tokens == nil or ts == nil then
    tokens = cap
    ts = now
  end
  return math.min(cap, tokens + math.max(0, now - ts) * rate / 1000)
end
local function store(key, tokens, cap, rate)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(cap * 1000 / rate) + 1000)
end
local ccap, crate = tonumber(ARGV[1]), tonumber(ARGV[2])
local bcap, brate = tonumber(ARGV[3]), tonumber(ARGV[4])
local caller = level(KEYS[1], ccap, crate)
local branch = level(KEYS[2], bcap, brate)
local allowed = 0
local wait_ms = 0
local which = 0
if caller < 1 then
  wait_ms = math.ceil((1 - caller) * 1000 / crate)
  which = 1
elseif branch < 1 then
  wait_ms = math.ceil((1 - branch) * 1000 / brate)
  which = 2
else
  caller = caller - 1
  branch = branch - 1
  allowed = 1
end
store(KEYS[1], caller, ccap, crate)
store(KEYS[2], branch, bcap, brate)
return {allowed, wait_ms, which}
"#;

fn script() -> &'static redis::Script {
    static S: OnceLock<redis::Script> = OnceLock::new();
    S.get_or_init(|| redis::Script::new(TOKEN_BUCKETS))
}

/// Takes one token from the caller's bucket and one from its branch's (`*` for head office);
/// 429 with `Retry-After` when either is empty. Without Redis the request goes through.
pub async fn limit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
    next: Next,
) -> Response {
    let branch = caller.branch().unwrap_or("*").to_owned();
    let g = &state.settings.gateway;
    // The subject is hashed: a key name never carries a user's identifier into Redis's logs.
    let who = hex::encode(&Sha256::digest(caller.subject.as_bytes())[..12]);
    let caller_key = state.redis.key(&format!("rl:{branch}:{who}"));
    let branch_key = state.redis.key(&format!("rl:{branch}"));
    let mut inv = script().key(&caller_key);
    inv.key(&branch_key)
        .arg(g.rate_limit_caller_burst)
        .arg(g.rate_limit_caller_per_second)
        .arg(g.rate_limit_burst)
        .arg(g.rate_limit_per_second);
    match state.redis.script::<(i64, i64, i64)>(&inv).await {
        Ok((1, _, _)) => next.run(req).await,
        Ok((_, wait_ms, which)) => {
            let (label, whose) = if which == 1 {
                ("caller", "this caller")
            } else {
                ("branch", "this branch")
            };
            gateway_metrics()
                .rate_limited
                .with_label_values(&[&branch, label])
                .inc();
            let secs = (wait_ms.max(1) as u64).div_ceil(1000);
            let mut p = Problem::too_many_requests(secs);
            p.detail = format!("too many requests from {whose}; retry in {secs} s");
            p.into_response()
        }
        Err(e) => {
            degraded("rate_limit", &e);
            next.run(req).await
        }
    }
}
