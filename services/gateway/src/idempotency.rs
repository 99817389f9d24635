//! `Idempotency-Key` on every POST: the first response is stored (24 h by default) and
//! replayed for a retry with the same key; the same key with a different body answers 422.
//! Records are scoped to the caller's subject AND branch, so one caller's key never replays to
//! another, nor to the same subject acting for another branch. A replay is served only after the
//! request passed the gate again ([`crate::contract`] runs before this layer): a caller whose
//! role was removed since gets 403, not the stored answer. Without Redis the request is served
//! as is (intake's own idempotency key still holds).
//!
//! The key is claimed in the rate limiter's Redis round trip ([`crate::ratelimit::limit`] runs
//! one script that takes the tokens and, when they were given, claims the key or reads its
//! record); this layer, after the gate, decides with that claim. Only the answer's record is a
//! round trip of its own: two per keyed POST instead of three.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aftersales_platform::auth::Caller;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::kv::{KvError, degraded};
use crate::metrics::gateway_metrics;
use crate::problem::Problem;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on a response that was replayed from the store.
pub const REPLAYED: &str = "idempotent-replayed";
/// Largest response kept for replay.
const MAX_STORED_RESPONSE: usize = 4 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Record {
    /// The first request is still being served.
    Pending { fingerprint: String },
    Done {
        fingerprint: String,
        status: u16,
        content_type: String,
        location: Option<String>,
        body: String,
    },
}

impl Record {
    fn fingerprint(&self) -> &str {
        match self {
            Record::Pending { fingerprint } | Record::Done { fingerprint, .. } => fingerprint,
        }
    }
}

/// The key handed to a peer's own idempotency (intake): derived from the caller and the
/// client's key, in the alphabet the peers accept; a fresh one when the client sent none.
pub fn upstream_key(caller: &Caller, headers: &HeaderMap) -> String {
    match headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.trim().is_empty())
    {
        Some(k) => format!("gw-{}", &scoped(caller, k)[..40]),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// The client's key within the caller's scope: its subject and its branch (`*` for head office).
fn scoped(caller: &Caller, key: &str) -> String {
    hex_digest(&[
        caller.subject.as_bytes(),
        b"\0",
        caller.branch().unwrap_or("*").as_bytes(),
        b"\0",
        key.as_bytes(),
    ])
}

fn hex_digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// A keyed POST, read once: its record's key in Redis, the request's fingerprint (method, path
/// and body) and the records to write.
#[derive(Clone)]
pub struct Keyed {
    pub key: String,
    fingerprint: String,
    /// The pending record, written when the key is claimed.
    pub pending: String,
    /// Seconds the pending record lives.
    pub pending_ttl: u64,
    ttl: u64,
}

/// Where a keyed POST's record stood when it was claimed.
#[derive(Clone)]
pub enum Outcome {
    /// This request holds the key now: it is served and its answer kept.
    Claimed,
    /// The key was held already: the record found (none if it expired in between).
    Held(Option<String>),
}

/// A claim made before the gate, in the same Redis round trip as the rate limiter's tokens
/// ([`crate::ratelimit::limit`]); this layer, after the gate, decides with it instead of asking
/// Redis again. `taken` tells the limiter the claim reached this layer: a request the gate
/// refused gives its key back.
#[derive(Clone)]
pub struct Claim {
    pub keyed: Keyed,
    pub outcome: Outcome,
    pub taken: Arc<AtomicBool>,
}

/// A POST as the store sees it.
pub enum Prepared {
    /// No key (or no POST, or no caller): served as is.
    Plain(Request),
    Keyed(Request, Keyed),
    /// A bad key or a body over the limit: answered with this problem.
    Refused(Response),
}

/// The alphabet the document gives the key (`IdempotencyKey`: `[A-Za-z0-9._:-]{1,128}`).
fn valid_key(k: &str) -> bool {
    (1..=128).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Reads a POST's `Idempotency-Key` and body (the body is buffered and put back).
pub async fn prepare(state: &AppState, req: Request) -> Prepared {
    if req.method() != Method::POST {
        return Prepared::Plain(req);
    }
    // An empty key is no key.
    let Some(client_key) = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .filter(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace))
        .cloned()
    else {
        return Prepared::Plain(req);
    };
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return Prepared::Plain(req);
    };
    let client_key = match client_key.to_str().map(str::trim) {
        Ok(k) if valid_key(k) => k.to_owned(),
        _ => {
            return Prepared::Refused(
                Problem::field(
                    "Idempotency-Key",
                    "must be 1 to 128 letters, digits, '.', '_', ':' or '-' (a UUID is fine)",
                )
                .into_response(),
            );
        }
    };
    let (parts, body) = req.into_parts();
    // A photo upload is fingerprinted like any body: read whole once (at most its route's
    // limit, 10 MiB and the part headers) and handed on as read, not copied.
    let photo = crate::api::photos::body_limit(parts.uri.path());
    let limit = photo.unwrap_or(state.settings.server.max_body_bytes);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) if photo.is_some() => {
            return Prepared::Refused(crate::api::photos::too_large().into_response());
        }
        Err(_) => {
            return Prepared::Refused(
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    format!("the body must be at most {limit} bytes"),
                )
                .into_response(),
            );
        }
    };
    let fingerprint = hex_digest(&[
        parts.method.as_str().as_bytes(),
        b" ",
        parts.uri.path().as_bytes(),
        b"\n",
        &bytes,
    ]);
    let key = state
        .redis
        .key(&format!("idem:{}", scoped(&caller, &client_key)));
    let ttl = state.settings.gateway.idempotency_ttl_secs;
    // A request that never finishes (a crash mid-way) must not block its key for a day: the
    // pending marker outlives the longest upstream call only a little.
    let pending_ttl = (state.settings.server.request_timeout_ms / 1000 * 3).clamp(30, ttl.max(30));
    let pending = serde_json::to_string(&Record::Pending {
        fingerprint: fingerprint.clone(),
    })
    .unwrap_or_default();
    Prepared::Keyed(
        Request::from_parts(parts, Body::from(bytes)),
        Keyed {
            key,
            fingerprint,
            pending,
            pending_ttl,
            ttl,
        },
    )
}

pub async fn idempotency(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    // Claimed already, with the rate limiter's tokens.
    if let Some(claim) = req.extensions_mut().remove::<Claim>() {
        claim.taken.store(true, Ordering::Release);
        return decide(&state, req, next, claim.keyed, Ok(claim.outcome)).await;
    }
    match prepare(&state, req).await {
        Prepared::Plain(req) => next.run(req).await,
        Prepared::Refused(res) => res,
        Prepared::Keyed(req, keyed) => {
            let outcome = claim(&state, &keyed).await;
            decide(&state, req, next, keyed, outcome).await
        }
    }
}

/// Claims the key on its own (when the limiter could not): `SET NX`, then the record if held.
async fn claim(state: &AppState, keyed: &Keyed) -> Result<Outcome, KvError> {
    let claimed = state
        .redis
        .query::<Option<String>>(
            redis::cmd("SET")
                .arg(&keyed.key)
                .arg(&keyed.pending)
                .arg("NX")
                .arg("EX")
                .arg(keyed.pending_ttl),
        )
        .await?;
    if claimed.is_some() {
        return Ok(Outcome::Claimed);
    }
    let held = state
        .redis
        .query::<Option<String>>(redis::cmd("GET").arg(&keyed.key))
        .await?;
    Ok(Outcome::Held(held))
}

/// Serves a keyed POST by where its record stood: first (served, answer kept), a replay, a
/// conflict, or still in progress.
async fn decide(
    state: &AppState,
    req: Request,
    next: Next,
    keyed: Keyed,
    outcome: Result<Outcome, KvError>,
) -> Response {
    let Keyed {
        key,
        fingerprint,
        ttl,
        ..
    } = keyed;
    match outcome {
        Err(e) => {
            degraded("idempotency", &e);
            next.run(req).await
        }
        Ok(Outcome::Claimed) => {
            let response = next.run(req).await;
            store(state, &key, fingerprint, ttl, response).await
        }
        // Expired between the claim and the read: serve it as a first request would be.
        Ok(Outcome::Held(None)) => next.run(req).await,
        Ok(Outcome::Held(Some(text))) => match serde_json::from_str::<Record>(&text) {
            Ok(record) if record.fingerprint() != fingerprint => {
                gateway_metrics()
                    .idempotent_replays
                    .with_label_values(&["conflict"])
                    .inc();
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency-key-reused",
                    "this Idempotency-Key was used with a different request; use a new key",
                )
                .into_response()
            }
            Ok(Record::Pending { .. }) => Problem::new(
                StatusCode::CONFLICT,
                "in-progress",
                "the first request with this Idempotency-Key is still being served; retry shortly",
            )
            .into_response(),
            Ok(Record::Done {
                status,
                content_type,
                location,
                body,
                ..
            }) => {
                gateway_metrics()
                    .idempotent_replays
                    .with_label_values(&["replayed"])
                    .inc();
                replay(status, &content_type, location.as_deref(), body)
            }
            Err(e) => {
                tracing::warn!(error = %e, "unreadable idempotency record; serving afresh");
                next.run(req).await
            }
        },
    }
}

fn replay(status: u16, content_type: &str, location: Option<&str>, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        h.insert(header::LOCATION, v);
    }
    h.insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

/// Keeps the first response; a server-side failure (5xx) is forgotten so a retry can succeed.
async fn store(
    state: &AppState,
    key: &str,
    fingerprint: String,
    ttl: u64,
    response: Response,
) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_STORED_RESPONSE).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "response too large to keep for idempotent replay");
            let _ = state.redis.query::<i64>(redis::cmd("DEL").arg(key)).await;
            return Problem::internal().into_response();
        }
    };
    let result = if parts.status.is_server_error() {
        state
            .redis
            .query::<i64>(redis::cmd("DEL").arg(key))
            .await
            .map(|_| ())
    } else {
        let record = Record::Done {
            fingerprint,
            status: parts.status.as_u16(),
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_owned(),
            location: parts
                .headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        let text = serde_json::to_string(&record).unwrap_or_default();
        state
            .redis
            .query::<Option<String>>(redis::cmd("SET").arg(key).arg(text).arg("EX").arg(ttl))
            .await
            .map(|_| ())
    };
    if let Err(e) = result {
        degraded("idempotency", &e);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn a_key_is_what_the_document_says() {
        for ok in [
            "6f1c2a9e-3b7d-4c1e-9a55-2f0d8e4b7c10",
            "stale-1",
            "a.b_c:d",
            &"k".repeat(128),
        ] {
            assert!(valid_key(ok), "{ok}");
        }
        for bad in ["", "two words", "ключ", "a/b", "{}", &"k".repeat(129)] {
            assert!(!valid_key(bad), "{bad}");
        }
    }
}
