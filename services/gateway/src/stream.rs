//! The live event stream (DESIGN §8).
//!
//! - The feed ([`Feed`]): the gateway's inbox (one queue shared by every replica, bound to every
//!   catalogue key, bounded in length and age) consumed by the platform's consumer; each event is
//!   decoded to JSON (envelope + payload, through the proto descriptors) and appended to a Redis
//!   stream capped at about `gateway.stream_max_len` entries (`XADD MAXLEN ~`), once per event
//!   id. The delivery is acked only after that, so while Redis is down events wait in the
//!   queue: nothing is lost.
//! - The reader ([`Hub::run_reader`]): per replica, one blocking `XREAD` on a connection of its
//!   own, fanned out in process to the open SSE connections.
//! - `GET /v1/events/stream` ([`sse`]): the caller's branch only (head office sees all; a
//!   dealer's token only the events whose payload names its `dealer_code`), an optional `types=`
//!   list; `Last-Event-ID` (the Redis stream id) replays what was missed from
//!   the buffer; heartbeat comments; the stream ends when the gateway shuts down.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use aftersales_platform::auth::Caller;
use aftersales_platform::bus::{HandlerError, PlainHandler, Received, Subscription};
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::topology;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::app::AppState;
use crate::kv::{KvError, READ_BLOCK, Redis, degraded};
use crate::metrics::gateway_metrics;
use crate::problem::Problem;

/// Appends an event to the buffer once per event id (a redelivery is not appended twice).
const XADD_ONCE: &str = r#"
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', 86400) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'branch', ARGV[2], 'type', ARGV[3], 'json', ARGV[4], 'dealer', ARGV[5])
end
return false
"#;

/// Envelope + payload as JSON, through the descriptors of every proto in the mesh.
#[derive(Clone, Debug)]
pub struct Decoder {
    pool: DescriptorPool,
}

impl Decoder {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            pool: DescriptorPool::decode(aftersales_platform::proto::FILE_DESCRIPTOR_SET)?,
        })
    }

    /// The event as JSON; a payload of an unknown type is `null` (the envelope still says what
    /// it was).
    pub fn to_json(&self, env: &EventEnvelope, routing_key: &str) -> Value {
        let options = SerializeOptions::new()
            .use_proto_field_name(true)
            .skip_default_fields(false);
        let payload = self
            .pool
            .get_message_by_name(&env.r#type)
            .and_then(|d| DynamicMessage::decode(d, env.payload.as_slice()).ok())
            .and_then(|m| {
                m.serialize_with_options(serde_json::value::Serializer, &options)
                    .ok()
            })
            .unwrap_or(Value::Null);
        let rk = if env.routing_key.is_empty() {
            routing_key
        } else {
            env.routing_key.as_str()
        };
        json!({
            "event_id": env.event_id,
            "type": rk,
            "payload_type": env.r#type,
            "occurred_at": env.occurred_at.as_ref().and_then(crate::api::wire::rfc3339),
            "producer": env.producer,
            "subject": env.subject,
            "request_no": if env.request_no.is_empty() { &env.subject } else { &env.request_no },
            "branch": env.branch,
            "sequence": env.sequence,
            "payload": payload,
        })
    }
}

/// One buffered event.
#[derive(Debug, Clone)]
pub struct Item {
    /// The Redis stream id (`<ms>-<seq>`): the SSE `id`, what `Last-Event-ID` carries.
    pub id: String,
    pub branch: String,
    pub routing_key: String,
    pub json: String,
    /// The payload's `dealer_code`, for events about a dealer (empty otherwise).
    pub dealer: String,
}

fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (a, b) = id.split_once('-').unwrap_or((id, "0"));
    Some((a.parse().ok()?, b.parse().ok()?))
}

type Entries = Vec<(String, HashMap<String, String>)>;

fn items(entries: Entries) -> Vec<Item> {
    entries
        .into_iter()
        .map(|(id, mut f)| Item {
            id,
            branch: f.remove("branch").unwrap_or_default(),
            routing_key: f.remove("type").unwrap_or_default(),
            json: f.remove("json").unwrap_or_default(),
            dealer: f.remove("dealer").unwrap_or_default(),
        })
        .collect()
}

/// The replica's fan-out of the buffer to its SSE connections.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<Item>>,
    redis: Redis,
    stream_key: String,
}

impl Hub {
    pub fn new(redis: Redis) -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            stream_key: redis.key("events"),
            tx,
            redis,
        }
    }

    pub fn stream_key(&self) -> &str {
        &self.stream_key
    }

    /// Up to `count` entries after `id` (exclusive), oldest first.
    pub async fn after(&self, id: &str, count: usize) -> Result<Vec<Item>, KvError> {
        let entries: Entries = self
            .redis
            .query(
                redis::cmd("XRANGE")
                    .arg(&self.stream_key)
                    .arg(format!("({id}"))
                    .arg("+")
                    .arg("COUNT")
                    .arg(count),
            )
            .await?;
        Ok(items(entries))
    }

    /// When the buffer has dropped (trimmed) entries a client resuming after `id` never got:
    /// the id to resume from without a further gap (just before the oldest entry kept).
    pub async fn trimmed_after(&self, id: &str) -> Result<Option<String>, KvError> {
        let info: Result<HashMap<String, redis::Value>, KvError> = self
            .redis
            .query(redis::cmd("XINFO").arg("STREAM").arg(&self.stream_key))
            .await;
        let info = match info {
            Ok(i) => i,
            // No stream yet: nothing was ever dropped.
            Err(KvError::Redis(e)) if e.to_string().contains("no such key") => return Ok(None),
            Err(e) => return Err(e),
        };
        let number = |k: &str| {
            info.get(k)
                .and_then(|v| redis::from_redis_value::<u64>(v.clone()).ok())
                .unwrap_or(0)
        };
        // Trimming (XADD MAXLEN) removes the oldest entries: more were ever added than are kept.
        if number("entries-added") <= number("length") {
            return Ok(None);
        }
        let Some(first) = info
            .get("recorded-first-entry-id")
            .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
            .and_then(|f| parse_id(&f))
        else {
            return Ok(None);
        };
        let before_first = match first {
            (0, 0) => return Ok(None),
            (ms, 0) => (ms - 1, u64::MAX),
            (ms, seq) => (ms, seq - 1),
        };
        Ok((parse_id(id) < Some(before_first))
            .then(|| format!("{}-{}", before_first.0, before_first.1)))
    }

    /// Follows the buffer with a blocking `XREAD` and hands each new entry to the open streams.
    pub async fn run_reader(self, shutdown: Shutdown) {
        let mut last = "$".to_owned();
        let mut backoff = Duration::from_millis(200);
        while !shutdown.is_triggered() {
            let mut conn = match self.redis.dedicated().await {
                Ok(c) => c,
                Err(e) => {
                    degraded("stream", &e);
                    tokio::select! {
                        _ = shutdown.wait() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(200);
            loop {
                let mut cmd = redis::cmd("XREAD");
                cmd.arg("COUNT")
                    .arg(500)
                    .arg("BLOCK")
                    .arg(READ_BLOCK.as_millis() as u64)
                    .arg("STREAMS")
                    .arg(&self.stream_key)
                    .arg(&last);
                let read = cmd.query_async::<Option<Vec<(String, Entries)>>>(&mut conn);
                let res = tokio::select! {
                    _ = shutdown.wait() => return,
                    r = tokio::time::timeout(READ_BLOCK * 4, read) => r,
                };
                match res {
                    Ok(Ok(Some(streams))) => {
                        for (_, entries) in streams {
                            for item in items(entries) {
                                last = item.id.clone();
                                // No receivers is fine: nobody is watching right now.
                                let _ = self.tx.send(Arc::new(item));
                            }
                        }
                    }
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) => {
                        degraded("stream", &KvError::Redis(e));
                        break;
                    }
                    Err(_) => {
                        tracing::warn!("XREAD did not return; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}

/// What a connection wants to see.
#[derive(Debug, Clone)]
struct Filter {
    caller: Caller,
    types: Vec<String>,
}

impl Filter {
    fn admits(&self, item: &Item) -> bool {
        let branch_ok = match self.caller.branch() {
            None => true,
            Some(b) => item.branch == b,
        };
        // A dealer sees what is about itself (its consignments' shipment notices, its batches,
        // statements, boxes and exchanges), never its branch's customers.
        let dealer_ok = match &self.caller.dealer {
            None => true,
            Some(d) => &item.dealer == d,
        };
        let type_ok = self.types.is_empty()
            || self.types.iter().any(|t| {
                t == &item.routing_key
                    || t.strip_suffix(".*")
                        .is_some_and(|p| item.routing_key.starts_with(&format!("{p}.")))
            });
        branch_ok && dealer_ok && type_ok
    }
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Only these event types, comma-separated: routing keys (`claims.claim.approved`) or
    /// prefixes (`claims.*`).
    #[param(
        max_length = 2000,
        pattern = r"^[A-Za-z0-9_.*, -]*$",
        example = "claims.*,intake.request.submitted"
    )]
    pub types: Option<String>,
    /// `Last-Event-ID` for clients that cannot set headers.
    #[param(
        pattern = r"^[ \t\n\r\x0B\x0C]*[0-9]+(-[0-9]+)?[ \t\n\r\x0B\x0C]*$",
        max_length = 41
    )]
    pub last_event_id: Option<String>,
    /// The bearer token, for `EventSource` (which cannot set headers); accepted on this path
    /// only.
    #[param(max_length = 8192)]
    pub access_token: Option<String>,
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(sse))
}

/// The live event stream (Server-Sent Events)
///
/// Events of the caller's branch (head office: all; a dealer: those about itself, such as the
/// shipment notice `logistics.consignment.dispatched` of its parts orders) as JSON: the envelope and the payload with
/// proto field names; each event's `id` is its position, which `Last-Event-ID` resumes after. A
/// `gap` event says that events were dropped from the buffer; an `expired` event ends the stream
/// when the token expires; comments are heartbeats.
#[utoipa::path(
    get,
    path = "/v1/events/stream",
    tag = "events",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (`<ms>-<seq>`)"),
    ),
    responses((status = 200, description = "The stream (never ends on its own)", content_type = "text/event-stream", body = String)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "dispatcher", "technician", "analyst", "dealer", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400]))),
)]
pub async fn sse(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    let Query(query) = query.map_err(|e| Problem::field("query", e.body_text()))?;
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query.last_event_id)
        .filter(|s| !s.trim().is_empty());
    if let Some(id) = &last_id
        && parse_id(id).is_none()
    {
        return Err(Problem::field(
            "Last-Event-ID",
            "must be an id this stream sent (<ms>-<seq>)",
        ));
    }
    let types = query
        .types
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let filter = Filter { caller, types };
    let (tx, rx) = mpsc::channel::<Event>(256);
    // Subscribe before reading the backlog, so nothing falls between the two.
    let live = state.hub.tx.subscribe();
    tokio::spawn(pump(
        state.hub.clone(),
        live,
        filter,
        last_id,
        tx,
        state.shutdown.clone(),
    ));
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(state.settings.gateway.heartbeat_secs))
            .text("heartbeat"),
    ))
}

/// How a catch-up from the buffer ended.
enum CatchUp {
    /// Up to date; follow the live events.
    Done,
    /// The connection is gone or the gateway is stopping.
    Closed,
}

/// One connection's position in the buffer and what it may see.
struct Cursor {
    filter: Filter,
    last: Option<(u64, u64)>,
    last_text: Option<String>,
}

impl Cursor {
    fn advance(&mut self, id: &str) {
        self.last = parse_id(id);
        self.last_text = Some(id.to_owned());
    }
}

/// An explicit gap: events the client cannot get any more. It carries the id to resume from
/// (as its SSE id, so a reconnect with it is not told again) and the last id it did get.
fn gap_event(resume_from: &str, missed_after: Option<&str>, reason: &str) -> Event {
    Event::default().event("gap").id(resume_from).data(
        json!({
            "type": "gap",
            "resume_from": resume_from,
            "missed_after": missed_after,
            "reason": reason,
        })
        .to_string(),
    )
}

/// Sends what the buffer holds after the cursor, page by page, and says so explicitly when
/// part of it is gone (trimmed) or cannot be read (Redis away), never skipping in silence.
async fn catch_up(
    hub: &Hub,
    cursor: &mut Cursor,
    tx: &mpsc::Sender<Event>,
    shutdown: &Shutdown,
) -> CatchUp {
    const PAGE: usize = 1000;
    let send = |item: &Item| Event::default().id(item.id.clone()).data(item.json.clone());
    let Some(from) = cursor.last_text.clone() else {
        return CatchUp::Done;
    };
    match hub.trimmed_after(&from).await {
        Ok(Some(dropped)) => {
            let gap = gap_event(
                &dropped,
                Some(&from),
                "events after missed_after were dropped from the buffer (stream_max_len); reload what you show, then follow from resume_from",
            );
            if !deliver(tx, gap, shutdown).await {
                return CatchUp::Closed;
            }
            cursor.advance(&dropped);
        }
        Ok(None) => {}
        Err(e) => {
            degraded("stream", &e);
            let gap = gap_event(
                &from,
                Some(&from),
                "the buffer cannot be read right now; reconnect later with Last-Event-ID = resume_from",
            );
            return if deliver(tx, gap, shutdown).await {
                CatchUp::Done
            } else {
                CatchUp::Closed
            };
        }
    }
    loop {
        let from = cursor.last_text.clone().unwrap_or_else(|| "0-0".into());
        let page = match hub.after(&from, PAGE).await {
            Ok(p) => p,
            Err(e) => {
                degraded("stream", &e);
                let gap = gap_event(
                    &from,
                    Some(&from),
                    "the buffer cannot be read right now; reconnect later with Last-Event-ID = resume_from",
                );
                return if deliver(tx, gap, shutdown).await {
                    CatchUp::Done
                } else {
                    CatchUp::Closed
                };
            }
        };
        let full = page.len() == PAGE;
        for item in page {
            cursor.advance(&item.id);
            if cursor.filter.admits(&item) && !deliver(tx, send(&item), shutdown).await {
                return CatchUp::Closed;
            }
        }
        if !full {
            return CatchUp::Done;
        }
    }
}

/// Feeds one SSE connection until it closes, the gateway shuts down (which ends the response,
/// so clients see a clean end of stream and reconnect elsewhere with their id) or the caller's
/// token expires (an `expired` event, then the end: a stream lives no longer than its token).
async fn pump(
    hub: Hub,
    mut live: broadcast::Receiver<Arc<Item>>,
    filter: Filter,
    last_id: Option<String>,
    tx: mpsc::Sender<Event>,
    shutdown: Shutdown,
) {
    let gauge = &gateway_metrics().sse_clients;
    gauge.inc();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let expires_in = Duration::from_secs(filter.caller.expires_at.saturating_sub(now));
    let expiry = tokio::time::sleep(expires_in);
    tokio::pin!(expiry);
    let mut cursor = Cursor {
        last: last_id.as_deref().and_then(parse_id),
        last_text: last_id,
        filter,
    };
    let send = |item: &Item| Event::default().id(item.id.clone()).data(item.json.clone());
    'outer: {
        if let CatchUp::Closed = catch_up(&hub, &mut cursor, &tx, &shutdown).await {
            break 'outer;
        }
        loop {
            let next = tokio::select! {
                _ = shutdown.wait() => break,
                _ = tx.closed() => break,
                _ = &mut expiry => {
                    let bye = Event::default().event("expired").data(
                        json!({"type": "expired", "reason": "the token expired; reconnect with a new one and Last-Event-ID"}).to_string(),
                    );
                    let _ = deliver(&tx, bye, &shutdown).await;
                    break;
                }
                r = live.recv() => r,
            };
            match next {
                Ok(item) => {
                    let id = parse_id(&item.id);
                    if cursor.last.is_some() && id <= cursor.last {
                        continue;
                    }
                    cursor.advance(&item.id);
                    if cursor.filter.admits(&item) && !deliver(&tx, send(&item), &shutdown).await {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Too slow for the in-process buffer: refill from Redis (or say what is lost).
                    // Before the first event there is nothing to refill from: the client asked
                    // for "from now on".
                    if cursor.last_text.is_some()
                        && let CatchUp::Closed = catch_up(&hub, &mut cursor, &tx, &shutdown).await
                    {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    }
    gauge.dec();
}

/// Hands one event to the connection; false once it is gone or the gateway is stopping (a
/// client that stops reading must not hold the shutdown up).
async fn deliver(tx: &mpsc::Sender<Event>, event: Event, shutdown: &Shutdown) -> bool {
    tokio::select! {
        _ = shutdown.wait() => false,
        r = tx.send(event) => r.is_ok(),
    }
}

/// The live feed: every event of the catalogue, from the gateway's inbox (one queue for all
/// replicas, so each event is taken once; bounded, see the topology table) into the Redis
/// stream. A Redis outage pauses the consumer (the event waits in the queue; nothing is lost)
/// without taking the gateway's API down.
pub struct Feed {
    redis: Redis,
    decoder: Decoder,
    script: redis::Script,
    stream_key: String,
    max_len: u64,
}

impl Feed {
    pub fn new(redis: Redis, decoder: Decoder, max_len: u64) -> Self {
        Self {
            stream_key: redis.key("events"),
            script: redis::Script::new(XADD_ONCE),
            redis,
            decoder,
            max_len,
        }
    }

    /// The feed's handler under every routing key of the gateway's row in the topology table.
    pub fn subscriptions(self) -> Vec<Subscription> {
        let feed: Arc<dyn PlainHandler> = Arc::new(self);
        topology::inbox(crate::config::SERVICE)
            .map(|row| row.routing_keys())
            .unwrap_or_default()
            .into_iter()
            .map(|rk| Subscription::plain_shared(rk, feed.clone()))
            .collect()
    }
}

#[async_trait::async_trait]
impl PlainHandler for Feed {
    async fn handle(&self, ev: &Received) -> Result<(), HandlerError> {
        let env = &ev.envelope;
        let value = self.decoder.to_json(env, &ev.routing_key);
        let dealer = value["payload"]["dealer_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let json = value.to_string();
        let seen = self.redis.key(&format!("seen:{}", env.event_id));
        let mut inv = self.script.key(&seen);
        inv.key(&self.stream_key)
            .arg(self.max_len)
            .arg(&env.branch)
            .arg(&ev.routing_key)
            .arg(&json)
            .arg(&dealer);
        match self.redis.script::<Option<String>>(&inv).await {
            Ok(_) => {
                gateway_metrics()
                    .stream_events
                    .with_label_values(&[&ev.routing_key])
                    .inc();
                Ok(())
            }
            Err(e) => {
                degraded("stream", &e);
                // Kept in the queue until Redis is back; no attempt is used.
                Err(HandlerError::Unavailable(anyhow::anyhow!(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftersales_platform::auth::{BranchScope, Role};
    use aftersales_platform::proto::claims::v1 as claims;
    use prost::Message as _;

    fn caller(branch: &str) -> Caller {
        Caller {
            subject: "x".into(),
            scope: if branch == "*" {
                BranchScope::All
            } else {
                BranchScope::Branch(branch.into())
            },
            roles: [Role::BranchAgent].into(),
            token: String::new(),
            expires_at: u64::MAX,
            dealer: None,
        }
    }

    fn item(branch: &str, rk: &str) -> Item {
        Item {
            id: "1-0".into(),
            branch: branch.into(),
            routing_key: rk.into(),
            json: "{}".into(),
            dealer: String::new(),
        }
    }

    #[test]
    fn a_dealer_sees_only_the_events_about_itself() {
        let mut dealer = caller("SH01");
        dealer.roles = [Role::Dealer].into();
        dealer.dealer = Some("D-SH01-0001".into());
        let f = Filter {
            caller: dealer,
            types: vec![],
        };
        let about = |code: &str| Item {
            dealer: code.into(),
            ..item("SH01", "logistics.consignment.dispatched")
        };
        assert!(f.admits(&about("D-SH01-0001")));
        assert!(!f.admits(&about("D-SH01-0002")));
        // Its branch's customers' events are not its business.
        assert!(!f.admits(&item("SH01", "intake.request.submitted")));
    }

    #[test]
    fn the_feed_keeps_the_payloads_dealer_code() {
        use aftersales_platform::proto::logistics::v1 as logistics;
        let d = Decoder::new().unwrap();
        let payload = logistics::ConsignmentDispatched {
            consignment_id: "DO-1".into(),
            dealer_code: "D-SH01-0001".into(),
            ..Default::default()
        };
        let env = EventEnvelope {
            event_id: "e1".into(),
            r#type: <logistics::ConsignmentDispatched as prost::Name>::full_name(),
            branch: "SH01".into(),
            payload: payload.encode_to_vec(),
            routing_key: "logistics.consignment.dispatched".into(),
            ..Default::default()
        };
        let v = d.to_json(&env, "logistics.consignment.dispatched");
        assert_eq!(v["payload"]["dealer_code"], "D-SH01-0001");
    }

    #[test]
    fn a_branch_sees_only_its_events_and_head_office_sees_all() {
        let f = Filter {
            caller: caller("SH01"),
            types: vec![],
        };
        assert!(f.admits(&item("SH01", "intake.request.submitted")));
        assert!(!f.admits(&item("BJ02", "intake.request.submitted")));
        assert!(!f.admits(&item("", "procurement.po.issued")));
        let hq = Filter {
            caller: caller("*"),
            types: vec![],
        };
        assert!(hq.admits(&item("", "procurement.po.issued")));
    }

    #[test]
    fn types_filter_by_exact_key_or_prefix() {
        let f = Filter {
            caller: caller("SH01"),
            types: vec!["claims.*".into(), "intake.request.submitted".into()],
        };
        assert!(f.admits(&item("SH01", "claims.claim.approved")));
        assert!(f.admits(&item("SH01", "intake.request.submitted")));
        assert!(!f.admits(&item("SH01", "intake.request.cancelled")));
    }

    #[test]
    fn stream_ids_order_numerically() {
        assert!(parse_id("10-0") > parse_id("9-5"));
        assert!(parse_id("10-1") > parse_id("10-0"));
        assert_eq!(parse_id("x"), None);
    }

    #[test]
    fn a_payload_decodes_to_json_with_proto_field_names() {
        let d = Decoder::new().unwrap();
        let payload = claims::ClaimApproved {
            request_no: "AS-2611-SH01-000001".into(),
            ..Default::default()
        };
        let env = EventEnvelope {
            event_id: "e1".into(),
            r#type: <claims::ClaimApproved as prost::Name>::full_name(),
            branch: "SH01".into(),
            payload: payload.encode_to_vec(),
            routing_key: "claims.claim.approved".into(),
            ..Default::default()
        };
        let j = d.to_json(&env, "claims.claim.approved");
        assert_eq!(j["type"], "claims.claim.approved");
        assert_eq!(j["payload"]["request_no"], "AS-2611-SH01-000001");
    }
}
