//! Token buckets in Redis, shared by every replica: one per caller (`sub` within its branch) and
//! one per branch. A request takes a token from both or from neither, so one client over its own
//! limit is refused without draining its branch's bucket (it cannot starve its colleagues), and
//! a branch as a whole stays within its limit. One Lua script reads, refills, takes and writes
//! back atomically, on Redis's clock (replicas' clocks never matter). A POST with an
//! `Idempotency-Key` is claimed by the same script once its tokens are given
//! ([`crate::idempotency`] decides with the claim after the gate), so the two cost one round trip.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use aftersales_platform::auth::Caller;
use axum::Extension;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::idempotency::{self, Claim, Outcome, Prepared};
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
-- A keyed POST that got its tokens claims its idempotency record in the same round trip:
-- 1 = claimed, 2 = held already (with the record found).
if allowed == 1 and KEYS[3] then
  if redis.call('SET', KEYS[3], ARGV[5], 'NX', 'EX', tonumber(ARGV[6])) then
    return {1, 0, 0, 1, false}
  end
  return {1, 0, 0, 2, redis.call('GET', KEYS[3])}
end
return {allowed, wait_ms, which, 0, false}
"#;

fn script() -> &'static redis::Script {
    static S: OnceLock<redis::Script> = OnceLock::new();
    S.get_or_init(|| redis::Script::new(TOKEN_BUCKETS))
}

/// Takes one token from the caller's bucket and one from its branch's (`*` for head office);
/// 429 with `Retry-After` when either is empty. Without Redis the request goes through. A keyed
/// POST's idempotency record is claimed in the same script; if the gate then refuses the
/// request before the idempotency layer takes the claim, the key is given back.
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
    let (req, keyed) = match idempotency::prepare(&state, req).await {
        Prepared::Plain(req) => (Ok(req), None),
        Prepared::Keyed(req, keyed) => (Ok(req), Some(keyed)),
        // A bad key or an oversized body: answered once the tokens are taken.
        Prepared::Refused(res) => (Err(res), None),
    };
    let mut inv = script().key(&caller_key);
    inv.key(&branch_key);
    if let Some(k) = &keyed {
        inv.key(&k.key);
    }
    inv.arg(g.rate_limit_caller_burst)
        .arg(g.rate_limit_caller_per_second)
        .arg(g.rate_limit_burst)
        .arg(g.rate_limit_per_second);
    if let Some(k) = &keyed {
        inv.arg(&k.pending).arg(k.pending_ttl);
    }
    let verdict = state
        .redis
        .script::<(i64, i64, i64, i64, Option<String>)>(&inv)
        .await;
    let allowed = match verdict {
        Ok((1, _, _, claim, held)) => keyed.map(|keyed| Claim {
            keyed,
            outcome: if claim == 1 {
                Outcome::Claimed
            } else {
                Outcome::Held(held)
            },
            taken: Arc::new(AtomicBool::new(false)),
        }),
        Ok((_, wait_ms, which, _, _)) => {
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
            return p.into_response();
        }
        Err(e) => {
            degraded("rate_limit", &e);
            None
        }
    };
    let mut req = match req {
        Ok(req) => req,
        Err(refused) => return refused,
    };
    let Some(claim) = allowed else {
        return next.run(req).await;
    };
    let given_back = matches!(claim.outcome, Outcome::Claimed)
        .then(|| (claim.keyed.key.clone(), claim.taken.clone()));
    req.extensions_mut().insert(claim);
    let response = next.run(req).await;
    if let Some((key, taken)) = given_back
        && !taken.load(Ordering::Acquire)
    {
        // The gate refused it (400, 403, 404 …) before the idempotency layer: the key is free
        // for the corrected request.
        if let Err(e) = state.redis.query::<i64>(redis::cmd("DEL").arg(&key)).await {
            degraded("idempotency", &e);
        }
    }
    response
}
