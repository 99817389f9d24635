//! RabbitMQ: connection, topology, and the consumer loop (DESIGN §5).
//!
//! Topology: one durable topic exchange (`aftersales.events`) whose alternate exchange
//! (`aftersales.unrouted`, with a queue of the same name) keeps events nobody was bound for, and
//! a dead-letter exchange (`aftersales.dlx`). Each consuming service has `<svc>.inbox` (quorum) bound to the routing
//! keys it handles, `<svc>.retry` whose messages return to the inbox after a delay, and
//! `<svc>.dlq` bound to the DLX.
//!
//! The consumer acks a delivery only after its handler's transaction committed, or after the
//! delivery was safely (confirmed) moved to the retry queue or the DLQ: nothing is acked and
//! dropped. The handler runs in a transaction that also records the event id in
//! `processed_events`, so a redelivered event has its effect once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aftersales_proto::catalogue::Event;
use aftersales_proto::common::v1::EventEnvelope;
use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use prost::Message as _;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement,
    TransactionTrait,
};
use secrecy::ExposeSecret;
use tracing::Instrument;

use crate::config::AmqpSettings;
use crate::shutdown::Shutdown;
use crate::telemetry::{self, metrics};

/// Header carrying how many times the event was tried by this consumer.
const ATTEMPT_HEADER: &str = "x-aftersales-attempt";
/// Header carrying why an event was dead-lettered.
const ERROR_HEADER: &str = "x-aftersales-error";

/// Names of exchanges and queues, all under one prefix (empty in production).
#[derive(Debug, Clone)]
pub struct Topology {
    pub exchange: String,
    pub dead_letter_exchange: String,
    pub prefix: String,
}

impl Topology {
    pub fn from_settings(s: &AmqpSettings) -> Self {
        Self {
            exchange: format!("{}{}", s.name_prefix, s.exchange),
            dead_letter_exchange: format!("{}{}", s.name_prefix, s.dead_letter_exchange),
            prefix: s.name_prefix.clone(),
        }
    }
    pub fn inbox(&self, service: &str) -> String {
        format!("{}{service}.inbox", self.prefix)
    }
    pub fn retry(&self, service: &str) -> String {
        format!("{}{service}.retry", self.prefix)
    }
    pub fn dlq(&self, service: &str) -> String {
        format!("{}{service}.dlq", self.prefix)
    }
    /// Exchange and queue holding events no queue was bound for.
    pub fn unrouted(&self) -> String {
        format!("{}aftersales.unrouted", self.prefix)
    }
}

/// The broker as the service sees it: where it is and how its names are laid out.
#[derive(Clone)]
pub struct Bus {
    pub settings: AmqpSettings,
    pub topology: Topology,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("topology", &self.topology)
            .finish()
    }
}

impl Bus {
    pub fn new(settings: &AmqpSettings) -> Self {
        Self {
            settings: settings.clone(),
            topology: Topology::from_settings(settings),
        }
    }

    /// One connection, named so an operator can tell it apart in the broker's list.
    pub async fn connect(&self, name: &str) -> lapin::Result<Connection> {
        let props = ConnectionProperties::default().with_connection_name(name.to_owned().into());
        Connection::connect(self.settings.url.expose_secret(), props).await
    }

    /// Connects, retrying with backoff until it works or shutdown starts.
    pub async fn connect_with_retry(&self, name: &str, shutdown: &Shutdown) -> Option<Connection> {
        let mut delay = Duration::from_millis(200);
        loop {
            match self.connect(name).await {
                Ok(c) => return Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, connection = name, "broker connection failed; retrying");
                }
            }
            tokio::select! {
                _ = shutdown.wait() => return None,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    /// Declares the exchanges (idempotent): the events exchange, whose unroutable messages go to
    /// the `unrouted` exchange and queue instead of vanishing (an event published before its
    /// consumer's queue existed can be inspected and replayed from there), and the DLX.
    pub async fn declare_exchanges(&self, ch: &Channel) -> lapin::Result<()> {
        let opts = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        let unrouted = self.topology.unrouted();
        ch.exchange_declare(
            unrouted.as_str().into(),
            ExchangeKind::Fanout,
            opts,
            FieldTable::default(),
        )
        .await?;
        ch.queue_declare(
            unrouted.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            self.queue_args(false),
        )
        .await?;
        ch.queue_bind(
            unrouted.as_str().into(),
            unrouted.as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
        let mut args = FieldTable::default();
        args.insert(
            "alternate-exchange".into(),
            AMQPValue::LongString(unrouted.as_str().into()),
        );
        ch.exchange_declare(
            self.topology.exchange.as_str().into(),
            ExchangeKind::Topic,
            opts,
            args,
        )
        .await?;
        ch.exchange_declare(
            self.topology.dead_letter_exchange.as_str().into(),
            ExchangeKind::Topic,
            opts,
            FieldTable::default(),
        )
        .await
    }

    fn queue_args(&self, quorum: bool) -> FieldTable {
        let mut args = FieldTable::default();
        if quorum && self.settings.queue_type == "quorum" {
            args.insert(
                "x-queue-type".into(),
                AMQPValue::LongString("quorum".into()),
            );
        }
        if self.settings.queue_expires_ms > 0 {
            args.insert(
                "x-expires".into(),
                AMQPValue::LongUInt(self.settings.queue_expires_ms),
            );
        }
        args
    }

    /// Declares the service's inbox (bound to `routing_keys`), retry queue and DLQ.
    pub async fn declare_service_queues(
        &self,
        ch: &Channel,
        service: &str,
        routing_keys: &[&str],
    ) -> lapin::Result<()> {
        self.declare_exchanges(ch).await?;
        let t = &self.topology;
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };

        let mut inbox_args = self.queue_args(true);
        // What the broker itself dead-letters (e.g. a message that crashed the consumer again and
        // again and hit the delivery limit) lands in the DLQ too.
        inbox_args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(t.dead_letter_exchange.as_str().into()),
        );
        inbox_args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(service.into()),
        );
        if self.settings.queue_type == "quorum" {
            inbox_args.insert("x-delivery-limit".into(), AMQPValue::LongInt(20));
        }
        ch.queue_declare(t.inbox(service).as_str().into(), durable, inbox_args)
            .await?;
        for rk in routing_keys {
            ch.queue_bind(
                t.inbox(service).as_str().into(),
                t.exchange.as_str().into(),
                (*rk).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        }

        let mut retry_args = self.queue_args(false);
        retry_args.insert(
            "x-message-ttl".into(),
            AMQPValue::LongUInt(self.settings.retry_delay_ms),
        );
        retry_args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        retry_args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(t.inbox(service).as_str().into()),
        );
        ch.queue_declare(t.retry(service).as_str().into(), durable, retry_args)
            .await?;

        ch.queue_declare(
            t.dlq(service).as_str().into(),
            durable,
            self.queue_args(true),
        )
        .await?;
        ch.queue_bind(
            t.dlq(service).as_str().into(),
            t.dead_letter_exchange.as_str().into(),
            service.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
        Ok(())
    }
}

/// W3C trace context into AMQP headers.
pub fn headers_with_trace(span: &tracing::Span) -> FieldTable {
    let mut ft = FieldTable::default();
    for (k, v) in telemetry::inject(span) {
        ft.insert(k.into(), AMQPValue::LongString(v.into()));
    }
    ft
}

/// String-valued headers (trace context, our own attempt counter) out of a field table.
pub fn header_map(headers: &Option<FieldTable>) -> HashMap<String, String> {
    let mut map = HashMap::new();
    if let Some(ft) = headers {
        for (k, v) in ft.inner() {
            let s = match v {
                AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                AMQPValue::ShortString(s) => s.as_str().to_owned(),
                AMQPValue::LongUInt(n) => n.to_string(),
                AMQPValue::LongInt(n) => n.to_string(),
                AMQPValue::LongLongInt(n) => n.to_string(),
                _ => continue,
            };
            map.insert(k.as_str().to_owned(), s);
        }
    }
    map
}

/// An event as a handler sees it.
#[derive(Debug, Clone)]
pub struct Received {
    pub envelope: EventEnvelope,
    pub routing_key: String,
    /// 0 on the first try.
    pub attempt: u32,
}

impl Received {
    /// The typed payload; a type that does not match the routing key is a permanent error.
    pub fn payload<E: Event>(&self) -> Result<E, HandlerError> {
        let expected = <E as prost::Name>::full_name();
        if self.envelope.r#type != expected {
            return Err(HandlerError::permanent(anyhow::anyhow!(
                "payload type {} where {expected} was expected",
                self.envelope.r#type
            )));
        }
        E::decode(self.envelope.payload.as_slice())
            .map_err(|e| HandlerError::permanent(anyhow::anyhow!("undecodable {expected}: {e}")))
    }

    pub fn occurred_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.envelope
            .occurred_at
            .as_ref()
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
            .unwrap_or_else(chrono::Utc::now)
    }
}

/// Why a handler failed: a permanent error goes straight to the DLQ, a transient one is retried.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
}

impl HandlerError {
    pub fn permanent(e: impl Into<anyhow::Error>) -> Self {
        Self::Permanent(e.into())
    }
    pub fn transient(e: impl Into<anyhow::Error>) -> Self {
        Self::Transient(e.into())
    }
}

impl From<sea_orm::DbErr> for HandlerError {
    fn from(e: sea_orm::DbErr) -> Self {
        // The database may come back; the broker retries later.
        Self::Transient(e.into())
    }
}

/// One consumed event type's handler. It runs inside the transaction that records the event as
/// processed; it must do all its writes through `txn`.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Received)
    -> Result<(), HandlerError>;
}

/// A routing key and what handles it. A service lists all of them in one place.
#[derive(Clone)]
pub struct Subscription {
    pub routing_key: &'static str,
    pub handler: Arc<dyn Handler>,
}

impl Subscription {
    pub fn new(routing_key: &'static str, handler: impl Handler) -> Self {
        Self {
            routing_key,
            handler: Arc::new(handler),
        }
    }
}

/// Runs a service's consumer until shutdown, reconnecting after any broker failure.
pub struct Consumer {
    db: DatabaseConnection,
    bus: Bus,
    service: String,
    subscriptions: Arc<HashMap<&'static str, Arc<dyn Handler>>>,
    connected: Arc<AtomicBool>,
}

impl Consumer {
    pub fn new(
        db: DatabaseConnection,
        bus: Bus,
        service: &str,
        subscriptions: Vec<Subscription>,
    ) -> Self {
        let map = subscriptions
            .into_iter()
            .map(|s| (s.routing_key, s.handler))
            .collect();
        Self {
            db,
            bus,
            service: service.to_owned(),
            subscriptions: Arc::new(map),
            connected: Arc::new(AtomicBool::new(false)),
        }
    }

    /// True while the consumer holds a live channel (for readiness).
    pub fn connected_flag(&self) -> Arc<AtomicBool> {
        self.connected.clone()
    }

    pub async fn run(self, shutdown: Shutdown) {
        let mut delay = Duration::from_millis(200);
        while !shutdown.is_triggered() {
            match self.run_once(&shutdown).await {
                Ok(()) => break,
                Err(e) => {
                    self.connected.store(false, Ordering::SeqCst);
                    tracing::warn!(error = %e, service = %self.service, "consumer stopped; reconnecting");
                }
            }
            tokio::select! {
                _ = shutdown.wait() => break,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
        self.connected.store(false, Ordering::SeqCst);
    }

    /// One connection's life: declare, consume until the stream ends or shutdown.
    async fn run_once(&self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let conn = self
            .bus
            .connect(&format!("{}-consumer", self.service))
            .await?;
        let ch = conn.create_channel().await?;
        let mut keys: Vec<&str> = self.subscriptions.keys().copied().collect();
        keys.sort_unstable();
        self.bus
            .declare_service_queues(&ch, &self.service, &keys)
            .await?;
        // Republishing to retry/DLQ waits for confirms, on a channel of its own.
        let publish_ch = conn.create_channel().await?;
        publish_ch
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        ch.basic_qos(self.bus.settings.prefetch, BasicQosOptions::default())
            .await?;
        let inbox = self.bus.topology.inbox(&self.service);
        let consumer = ch
            .basic_consume(
                inbox.as_str().into(),
                format!("{}-{}", self.service, uuid::Uuid::new_v4()).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        self.connected.store(true, Ordering::SeqCst);
        tracing::info!(queue = %inbox, keys = ?keys, "consuming");

        let dlq_watch = self.watch_dlq_depth(&conn, shutdown.clone());
        let ctx = ProcessCtx {
            db: &self.db,
            bus: &self.bus,
            service: &self.service,
            subscriptions: &self.subscriptions,
            publish_ch: &publish_ch,
            queue: &inbox,
        };
        let concurrency = self.bus.settings.prefetch as usize;
        let processing =
            consumer
                .take_until(shutdown.wait())
                .for_each_concurrent(concurrency, |delivery| {
                    let ctx = &ctx;
                    async move {
                        match delivery {
                            Ok(d) => ctx.process(d).await,
                            Err(e) => tracing::warn!(error = %e, "delivery error"),
                        }
                    }
                });
        tokio::select! {
            _ = processing => {},
            _ = dlq_watch => {},
        }
        let _ = conn.close(200, "shutdown".into()).await;
        if shutdown.is_triggered() {
            Ok(())
        } else {
            anyhow::bail!("consumer stream ended")
        }
    }

    /// Reports the DLQ depth every 15 s until the connection fails.
    async fn watch_dlq_depth(&self, conn: &Connection, shutdown: Shutdown) {
        let Ok(ch) = conn.create_channel().await else {
            return;
        };
        let dlq = self.bus.topology.dlq(&self.service);
        loop {
            let opts = QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            match ch
                .queue_declare(dlq.as_str().into(), opts, FieldTable::default())
                .await
            {
                Ok(q) => metrics()
                    .dlq_depth
                    .with_label_values(&[&dlq])
                    .set(q.message_count() as i64),
                Err(_) => return std::future::pending().await,
            }
            tokio::select! {
                _ = shutdown.wait() => return,
                _ = tokio::time::sleep(Duration::from_secs(15)) => {}
            }
        }
    }
}

struct ProcessCtx<'a> {
    db: &'a DatabaseConnection,
    bus: &'a Bus,
    service: &'a str,
    subscriptions: &'a HashMap<&'static str, Arc<dyn Handler>>,
    publish_ch: &'a Channel,
    queue: &'a str,
}

enum Outcome {
    Done,
    Duplicate,
    Failed(HandlerError),
}

impl ProcessCtx<'_> {
    async fn process(&self, delivery: lapin::message::Delivery) {
        let headers = header_map(delivery.properties.headers());
        // A retried event comes back from the retry queue under the queue's name; the original
        // key travels in the `type` property (set by the relay) and in our header.
        let rk = headers
            .get("x-aftersales-routing-key")
            .cloned()
            .or_else(|| {
                delivery
                    .properties
                    .kind()
                    .as_ref()
                    .map(|k| k.as_str().to_owned())
            })
            .unwrap_or_else(|| delivery.routing_key.as_str().to_owned());
        let attempt: u32 = headers
            .get(ATTEMPT_HEADER)
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        let span = tracing::info_span!(
            "process",
            otel.name = %format!("{rk} process"),
            otel.kind = "consumer",
            messaging.system = "rabbitmq",
            messaging.operation.type = "process",
            messaging.destination.name = %self.queue,
            messaging.rabbitmq.destination.routing_key = %rk,
            messaging.message.id = tracing::field::Empty,
            aftersales.request_no = tracing::field::Empty,
            aftersales.attempt = attempt,
        );
        telemetry::set_parent(&span, telemetry::extract(&headers));
        async {
            let outcome = match EventEnvelope::decode(delivery.data.as_slice()) {
                Err(e) => Outcome::Failed(HandlerError::permanent(anyhow::anyhow!(
                    "undecodable envelope: {e}"
                ))),
                Ok(envelope) => {
                    let span = tracing::Span::current();
                    span.record("messaging.message.id", envelope.event_id.as_str());
                    let request_no = if envelope.request_no.is_empty() {
                        &envelope.subject
                    } else {
                        &envelope.request_no
                    };
                    span.record("aftersales.request_no", request_no.as_str());
                    let received = Received {
                        envelope,
                        routing_key: rk.clone(),
                        attempt,
                    };
                    if let Some(t) = received.envelope.occurred_at.as_ref() {
                        let lag = chrono::Utc::now().timestamp_millis()
                            - (t.seconds * 1000 + t.nanos as i64 / 1_000_000);
                        metrics()
                            .consumer_lag
                            .with_label_values(&[self.queue])
                            .observe(lag.max(0) as f64 / 1000.0);
                    }
                    self.handle(&received).await
                }
            };
            self.settle(delivery, &rk, attempt, outcome).await;
        }
        .instrument(span)
        .await
    }

    async fn handle(&self, received: &Received) -> Outcome {
        let Some(handler) = self.subscriptions.get(received.routing_key.as_str()) else {
            return Outcome::Failed(HandlerError::permanent(anyhow::anyhow!(
                "no handler for routing key {}",
                received.routing_key
            )));
        };
        let event_id = match uuid::Uuid::parse_str(&received.envelope.event_id) {
            Ok(id) => id,
            Err(_) => {
                return Outcome::Failed(HandlerError::permanent(anyhow::anyhow!(
                    "event_id {:?} is not a UUID",
                    received.envelope.event_id
                )));
            }
        };
        let result: Result<bool, HandlerError> = async {
            let txn = self.db.begin().await?;
            let inserted = txn
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "INSERT INTO processed_events (consumer, event_id, routing_key) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    [self.service.into(), event_id.into(), received.routing_key.as_str().into()],
                ))
                .await?
                .rows_affected();
            if inserted == 0 {
                txn.rollback().await?;
                return Ok(false);
            }
            handler.handle(&txn, received).await?;
            txn.commit().await?;
            Ok(true)
        }
        .await;
        match result {
            Ok(true) => Outcome::Done,
            Ok(false) => Outcome::Duplicate,
            Err(e) => Outcome::Failed(e),
        }
    }

    /// Acks once the delivery's fate is durable: handled, or confirmed into retry or DLQ.
    async fn settle(
        &self,
        delivery: lapin::message::Delivery,
        rk: &str,
        attempt: u32,
        outcome: Outcome,
    ) {
        let m = metrics();
        let label = match outcome {
            Outcome::Done => "ok",
            Outcome::Duplicate => {
                tracing::info!(routing_key = rk, "duplicate delivery; already processed");
                "duplicate"
            }
            Outcome::Failed(err) => {
                m.handler_failures
                    .with_label_values(&[self.queue, rk])
                    .inc();
                let next = attempt + 1;
                let permanent = matches!(err, HandlerError::Permanent(_));
                let (target_exchange, target_key, label) = if permanent
                    || next >= self.bus.settings.max_attempts
                {
                    tracing::error!(error = %err, routing_key = rk, attempt = next, "event dead-lettered");
                    (
                        self.bus.topology.dead_letter_exchange.clone(),
                        self.service.to_owned(),
                        "dead_lettered",
                    )
                } else {
                    tracing::warn!(error = %err, routing_key = rk, attempt = next, "event failed; will retry");
                    (
                        String::new(),
                        self.bus.topology.retry(self.service),
                        "retried",
                    )
                };
                let mut headers = delivery.properties.headers().clone().unwrap_or_default();
                headers.insert(ATTEMPT_HEADER.into(), AMQPValue::LongUInt(next));
                headers.insert(
                    ERROR_HEADER.into(),
                    AMQPValue::LongString(truncate(&err.to_string(), 1000).into()),
                );
                headers.insert(
                    "x-aftersales-routing-key".into(),
                    AMQPValue::LongString(rk.into()),
                );
                let props = delivery.properties.clone().with_headers(headers);
                // The retry queue dead-letters back into the inbox under the original routing key
                // only if we keep it; the DLX routes by service name.
                let republished = self
                    .republish(&target_exchange, &target_key, rk, &delivery.data, props)
                    .await;
                if let Err(e) = republished {
                    tracing::error!(error = %e, "could not move the failed event; leaving it to the broker");
                    let _ = delivery
                        .acker
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..Default::default()
                        })
                        .await;
                    return;
                }
                label
            }
        };
        m.consumer_processed
            .with_label_values(&[self.queue, rk, label])
            .inc();
        if let Err(e) = delivery.acker.ack(Default::default()).await {
            // The broker redelivers; processed_events makes that harmless.
            tracing::warn!(error = %e, "ack failed");
        }
    }

    async fn republish(
        &self,
        exchange: &str,
        routing_key: &str,
        original_key: &str,
        data: &[u8],
        props: BasicProperties,
    ) -> anyhow::Result<()> {
        let props = if exchange.is_empty() {
            // Back through the default exchange into the retry queue; on expiry it dead-letters
            // into the inbox. The original routing key travels in a header.
            props
        } else {
            props.with_type(ShortString::from(original_key))
        };
        let confirm = self
            .publish_ch
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                data,
                props,
            )
            .await?;
        let confirmation = tokio::time::timeout(Duration::from_secs(10), confirm).await??;
        if !confirmation.is_ack() {
            anyhow::bail!("broker nacked the republish");
        }
        if let lapin::Confirmation::Ack(Some(_)) = confirmation {
            anyhow::bail!("republish to {exchange}/{routing_key} was unroutable");
        }
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
