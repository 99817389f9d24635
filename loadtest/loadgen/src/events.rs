//! Events as a consumer sees them: a queue of the generator's own on the events exchange (or
//! the gateway's SSE stream), each envelope with the moment it arrived. The lag of an event is
//! that moment minus the envelope's `occurred_at`, which the producer stamps in the transaction
//! that stages it (so the lag includes the commit, the relay and the broker).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aftersales_proto::common::v1::EventEnvelope;
use anyhow::Context as _;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};
use lapin::options::{BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use prost::Message as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::Load;
use crate::run::{histogram, latency_json};

/// Seconds since the epoch, now.
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub fn occurred_at(env: &EventEnvelope) -> f64 {
    env.occurred_at
        .as_ref()
        .map(|t| t.seconds as f64 + t.nanos as f64 / 1e9)
        .unwrap_or(0.0)
}

/// An envelope and when it arrived (seconds since the epoch).
pub struct Arrival {
    pub envelope: EventEnvelope,
    pub at: f64,
}

/// A queue of our own bound to `keys` on `exchange`, deleted when we disconnect.
pub struct Subscriber {
    pub rx: mpsc::UnboundedReceiver<Arrival>,
    _conn: lapin::Connection,
    task: JoinHandle<()>,
}

impl Subscriber {
    pub async fn start(amqp: &str, exchange: &str, keys: &[&str]) -> anyhow::Result<Self> {
        let conn = lapin::Connection::connect(amqp, lapin::ConnectionProperties::default())
            .await
            .with_context(|| format!("RabbitMQ at {amqp}"))?;
        let ch = conn.create_channel().await?;
        let name = format!("loadgen.{}", uuid::Uuid::new_v4().simple());
        let mut args = FieldTable::default();
        args.insert("x-expires".into(), AMQPValue::LongUInt(120_000));
        ch.queue_declare(
            name.as_str().into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            args,
        )
        .await?;
        for k in keys {
            ch.queue_bind(
                name.as_str().into(),
                exchange.into(),
                (*k).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("binding {k} on {exchange}"))?;
        }
        ch.basic_qos(2000, BasicQosOptions::default()).await?;
        let mut consumer = ch
            .basic_consume(
                name.as_str().into(),
                "loadgen".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let _keep = ch;
            while let Some(Ok(d)) = consumer.next().await {
                let at = now_secs();
                let Ok(envelope) = EventEnvelope::decode(d.data.as_slice()) else {
                    continue;
                };
                if tx.send(Arrival { envelope, at }).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            rx,
            _conn: conn,
            task,
        })
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The lag of `intake.request.submitted` during a run: to a consumer queue, and to the
/// gateway's SSE stream when asked.
pub struct LagProbe {
    since: f64,
    amqp: Option<Subscriber>,
    sse: Option<(JoinHandle<()>, mpsc::UnboundedReceiver<f64>)>,
}

const KEY: &str = "intake.request.submitted";

impl LagProbe {
    pub async fn start(load: &Load, gateway_url: &str) -> anyhow::Result<Self> {
        let amqp = match &load.lag_exchange {
            Some(x) => Some(Subscriber::start(&load.amqp, x, &[KEY]).await?),
            None => None,
        };
        let sse = match &load.sse_url {
            Some(u) => {
                let base = if u.is_empty() { gateway_url } else { u };
                Some(sse_lags(base, &load.secret).await?)
            }
            None => None,
        };
        Ok(Self {
            since: now_secs(),
            amqp,
            sse,
        })
    }

    /// Waits a moment for the last events, then the lag percentiles.
    pub async fn finish(mut self) -> Value {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut out = json!({});
        if let Some(mut s) = self.amqp.take() {
            let mut h = histogram();
            while let Ok(a) = s.rx.try_recv() {
                let t = occurred_at(&a.envelope);
                if t >= self.since {
                    let _ = h.record((((a.at - t) * 1e6).max(1.0)) as u64);
                }
            }
            out["consumer_ms"] = latency_json(&h);
        }
        if let Some((task, mut rx)) = self.sse.take() {
            task.abort();
            let mut h = histogram();
            while let Ok(lag) = rx.try_recv() {
                let _ = h.record(((lag * 1e6).max(1.0)) as u64);
            }
            out["sse_ms"] = latency_json(&h);
        }
        out
    }
}

/// Reads the gateway's SSE stream of `intake.request.submitted` as head office, sending each
/// event's lag in seconds.
async fn sse_lags(
    base: &str,
    secret: &str,
) -> anyhow::Result<(JoinHandle<()>, mpsc::UnboundedReceiver<f64>)> {
    let uri: http::Uri = base.parse()?;
    let authority = uri.authority().context("SSE URL has no host")?.to_string();
    let token = aftersales_platform::auth::mint_hs256(
        secret,
        "loadgen-sse",
        "*",
        &[aftersales_platform::auth::Role::Dispatcher],
        Duration::from_secs(6 * 3600),
    )?;
    let tcp = tokio::net::TcpStream::connect(authority.replace("localhost", "127.0.0.1")).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = hyper::Request::get(format!("/v1/events/stream?types={KEY}"))
        .header(hyper::header::HOST, authority)
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(hyper::header::ACCEPT, "text/event-stream")
        .body(Empty::<bytes::Bytes>::new())?;
    let resp = sender.send_request(req).await?;
    anyhow::ensure!(
        resp.status().is_success(),
        "the SSE stream answered {}",
        resp.status()
    );
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut body = resp.into_body();
        let mut pending = String::new();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let at = now_secs();
            pending.push_str(&String::from_utf8_lossy(&data));
            while let Some(i) = pending.find('\n') {
                let line: String = pending.drain(..=i).collect();
                let Some(json) = line.trim_end().strip_prefix("data:") else {
                    continue;
                };
                let Ok(v) = serde_json::from_str::<Value>(json.trim()) else {
                    continue;
                };
                let stamp = v
                    .get("occurred_at")
                    .or_else(|| v.get("envelope").and_then(|e| e.get("occurred_at")))
                    .and_then(Value::as_str)
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
                if let Some(t) = stamp {
                    let t = t.timestamp() as f64 + t.timestamp_subsec_nanos() as f64 / 1e9;
                    let _ = tx.send(at - t);
                }
            }
        }
    });
    Ok((task, rx))
}
