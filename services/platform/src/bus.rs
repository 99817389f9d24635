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
//!
//! Failures are sorted as [`crate::error`] says: a malformed event goes to the DLQ at once; a
//! failure of the handler's own logic (or a panic inside it) is retried after a delay and
//! dead-lettered after `max_attempts`; an unavailable database uses no attempt at all: the
//! consumer pauses (holding what it has, taking nothing new), probes the database with backoff
//! and resumes where it stopped. Readiness and `aftersales_consumer_paused` show the pause.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aftersales_proto::catalogue::Event;
use aftersales_proto::common::v1::EventEnvelope;
use futures_util::FutureExt as _;
use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
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

use crate::backoff::Backoff;
use crate::config::AmqpSettings;
use crate::shutdown::Shutdown;
use crate::telemetry::links::{FirstTraces, Sighting};
use crate::telemetry::{self, metrics};
use crate::topology;

/// Header carrying how many times the event was tried by this consumer.
pub const ATTEMPT_HEADER: &str = "x-aftersales-attempt";
/// Header carrying why an event was dead-lettered.
pub const ERROR_HEADER: &str = "x-aftersales-error";
/// Header carrying the event's routing key while it travels through retry queue and DLQ.
pub const ROUTING_KEY_HEADER: &str = "x-aftersales-routing-key";
/// Header set on an event put back from the DLQ (`<service> dlq replay`): when, for the log.
pub const REPLAYED_HEADER: &str = "x-aftersales-replayed-at";

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
        let mut backoff = Backoff::reconnect();
        loop {
            match self.connect(name).await {
                Ok(c) => return Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, connection = name, "broker connection failed; retrying");
                }
            }
            if !backoff.sleep(shutdown).await {
                return None;
            }
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

    /// Declares the exchanges, this service's inbox with its retry queue and DLQ, and the
    /// inbox (with its bindings) of every other row of the topology table, so no event of a
    /// known consumer is routed to nobody, even before that consumer first starts. Another
    /// service's inbox that exists with other arguments (its owner's settings differ) is left
    /// as it is, with a warning: its owner declares it.
    pub async fn declare_topology(&self, conn: &Connection, own: &str) -> anyhow::Result<()> {
        let ch = conn.create_channel().await?;
        self.declare_exchanges(&ch).await?;
        if let Some(row) = topology::inbox(own) {
            self.declare_inbox(&ch, row).await?;
        }
        let _ = ch.close(200, "declared".into()).await;
        for row in topology::TABLE.iter().filter(|r| r.service != own) {
            // A refused declaration closes its channel: one channel per row.
            let ch = conn.create_channel().await?;
            match self.declare_inbox_only(&ch, row).await {
                Ok(()) => {
                    let _ = ch.close(200, "declared".into()).await;
                }
                Err(e) => tracing::warn!(
                    queue = %self.topology.inbox(row.service),
                    error = %e,
                    "another service's inbox exists with other arguments; left to its owner"
                ),
            }
        }
        Ok(())
    }

    /// Declares every inbox of the table in full (the chart's topology Job, tools).
    pub async fn declare_all(&self, conn: &Connection) -> anyhow::Result<()> {
        let ch = conn.create_channel().await?;
        self.declare_exchanges(&ch).await?;
        for row in topology::TABLE {
            self.declare_inbox(&ch, row).await?;
        }
        let _ = ch.close(200, "declared".into()).await;
        Ok(())
    }

    fn inbox_args(&self, row: &topology::Inbox) -> FieldTable {
        let t = &self.topology;
        let mut inbox_args = self.queue_args(true);
        if let Some(bound) = row.bound {
            // The oldest go first; they are dropped, not dead-lettered (a feed, not work).
            inbox_args.insert("x-max-length".into(), AMQPValue::LongUInt(bound.max_length));
            inbox_args.insert(
                "x-overflow".into(),
                AMQPValue::LongString("drop-head".into()),
            );
            inbox_args.insert(
                "x-message-ttl".into(),
                AMQPValue::LongUInt(bound.message_ttl_ms),
            );
            return inbox_args;
        }
        // What the broker itself dead-letters (e.g. a message that crashed the consumer again and
        // again and hit the delivery limit) lands in the DLQ too.
        inbox_args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(t.dead_letter_exchange.as_str().into()),
        );
        inbox_args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(row.service.into()),
        );
        if self.settings.queue_type == "quorum" {
            inbox_args.insert("x-delivery-limit".into(), AMQPValue::LongInt(20));
        }
        inbox_args
    }

    /// The inbox and its bindings.
    async fn declare_inbox_only(&self, ch: &Channel, row: &topology::Inbox) -> lapin::Result<()> {
        let t = &self.topology;
        let inbox = t.inbox(row.service);
        ch.queue_declare(
            inbox.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            self.inbox_args(row),
        )
        .await?;
        let keys = row.routing_keys();
        for rk in &keys {
            ch.queue_bind(
                inbox.as_str().into(),
                t.exchange.as_str().into(),
                (*rk).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        }
        // A key the row no longer has (an earlier version bound it) stops flowing here: no
        // handler would take it. Unbinding a binding that does not exist changes nothing.
        for e in aftersales_proto::catalogue::ALL {
            if !keys.contains(&e.routing_key) {
                ch.queue_unbind(
                    inbox.as_str().into(),
                    t.exchange.as_str().into(),
                    e.routing_key.into(),
                    FieldTable::default(),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Declares one inbox (bound to its routing keys), its retry queue and its DLQ.
    pub async fn declare_inbox(&self, ch: &Channel, row: &topology::Inbox) -> lapin::Result<()> {
        let service = row.service;
        let t = &self.topology;
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        self.declare_inbox_only(ch, row).await?;

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

/// W3C trace context (and the request number of `span`'s work, as baggage) into AMQP headers.
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

/// Why a handler failed (DESIGN §5, [`crate::error`]).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event itself is wrong: straight to the DLQ.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
    /// The handler's own logic failed: retried after a delay, dead-lettered after
    /// `max_attempts`.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// A dependency of the service (its database) is unavailable: no attempt is used; the
    /// consumer pauses until it is back and tries the event again.
    #[error("unavailable: {0:#}")]
    Unavailable(anyhow::Error),
}

impl HandlerError {
    pub fn permanent(e: impl Into<anyhow::Error>) -> Self {
        Self::Permanent(e.into())
    }
    pub fn transient(e: impl Into<anyhow::Error>) -> Self {
        let e = e.into();
        if crate::db::caused_by_unavailable_db(&e) {
            Self::Unavailable(e)
        } else {
            Self::Transient(e)
        }
    }
}

impl From<sea_orm::DbErr> for HandlerError {
    fn from(e: sea_orm::DbErr) -> Self {
        if crate::db::is_unavailable(&e) {
            Self::Unavailable(e.into())
        } else {
            Self::Transient(e.into())
        }
    }
}

/// One consumed event type's handler. It runs inside the transaction that records the event as
/// processed; it must do all its writes through `txn`.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Received)
    -> Result<(), HandlerError>;
}

/// A handler of a service without a database (the gateway's live feed): it keeps its own
/// idempotency (e.g. a Redis `SET NX` per event id).
#[async_trait::async_trait]
pub trait PlainHandler: Send + Sync + 'static {
    async fn handle(&self, event: &Received) -> Result<(), HandlerError>;
}

#[derive(Clone)]
enum Handling {
    InTransaction(Arc<dyn Handler>),
    Plain(Arc<dyn PlainHandler>),
}

/// A routing key and what handles it. A service lists all of them in one place; the list must
/// match the service's row in [`topology::TABLE`].
#[derive(Clone)]
pub struct Subscription {
    pub routing_key: &'static str,
    handling: Handling,
}

impl Subscription {
    pub fn new(routing_key: &'static str, handler: impl Handler) -> Self {
        Self {
            routing_key,
            handling: Handling::InTransaction(Arc::new(handler)),
        }
    }

    /// A handler that runs without a database transaction.
    pub fn plain(routing_key: &'static str, handler: impl PlainHandler) -> Self {
        Self {
            routing_key,
            handling: Handling::Plain(Arc::new(handler)),
        }
    }

    /// The same handler for several keys.
    pub fn shared(routing_key: &'static str, handler: Arc<dyn Handler>) -> Self {
        Self {
            routing_key,
            handling: Handling::InTransaction(handler),
        }
    }

    pub fn plain_shared(routing_key: &'static str, handler: Arc<dyn PlainHandler>) -> Self {
        Self {
            routing_key,
            handling: Handling::Plain(handler),
        }
    }

    fn needs_database(&self) -> bool {
        matches!(self.handling, Handling::InTransaction(_))
    }
}

/// What readiness and the metrics see of a consumer.
#[derive(Debug, Default)]
pub struct ConsumerState {
    /// A channel is open and consuming.
    pub connected: AtomicBool,
    /// Paused because the database is unavailable.
    pub paused: AtomicBool,
}

/// Whether what a paused consumer waits for is back.
pub type DependencyCheck =
    Arc<dyn Fn() -> futures_util::future::BoxFuture<'static, bool> + Send + Sync>;

/// Opens while the database answers; deliveries wait at it while it is closed.
#[derive(Debug)]
struct Gate {
    open: tokio::sync::watch::Sender<bool>,
}

impl Gate {
    fn new() -> Self {
        Self {
            open: tokio::sync::watch::channel(true).0,
        }
    }
    fn close(&self) -> bool {
        self.open.send_if_modified(|o| std::mem::replace(o, false))
    }
    fn open(&self) {
        self.open.send_replace(true);
    }
    /// `false` if shutdown started while waiting.
    async fn wait_open(&self, shutdown: &Shutdown) -> bool {
        let mut rx = self.open.subscribe();
        tokio::select! {
            r = rx.wait_for(|o| *o) => r.is_ok(),
            _ = shutdown.wait() => false,
        }
    }
}

/// Runs a service's consumer until shutdown, reconnecting after any broker failure.
pub struct Consumer {
    db: Option<DatabaseConnection>,
    bus: Bus,
    service: String,
    subscriptions: Arc<HashMap<&'static str, Handling>>,
    state: Arc<ConsumerState>,
    gate: Arc<Gate>,
    /// A probe's own inbox (tests, tools): not in the topology table.
    probe: Option<&'static topology::Inbox>,
    /// For a consumer without a database: what it waits for while paused.
    dependency: Option<DependencyCheck>,
    /// Where a delivery's span finds its request's first trace (DESIGN §9).
    first_traces: Option<FirstTraces>,
}

impl Consumer {
    /// A consumer outside the topology table (a test's stand-in for a service): its inbox is
    /// named after `name` and bound to exactly its handlers' keys.
    pub fn probe(
        db: Option<DatabaseConnection>,
        bus: Bus,
        name: &str,
        subscriptions: Vec<Subscription>,
    ) -> Self {
        let keys: Vec<&'static str> = subscriptions.iter().map(|s| s.routing_key).collect();
        let row: &'static topology::Inbox = Box::leak(Box::new(topology::Inbox {
            service: Box::leak(name.to_owned().into_boxed_str()),
            keys: topology::Keys::List(Box::leak(keys.into_boxed_slice())),
            bound: None,
        }));
        Self {
            db,
            bus,
            service: name.to_owned(),
            subscriptions: Arc::new(
                subscriptions
                    .into_iter()
                    .map(|s| (s.routing_key, s.handling))
                    .collect(),
            ),
            state: Arc::new(ConsumerState::default()),
            gate: Arc::new(Gate::new()),
            probe: Some(row),
            dependency: None,
            first_traces: None,
        }
    }

    /// Records each delivery's request's first trace in this service, and links a delivery in
    /// another trace to it (DESIGN §9). For a transactional handler this rides on the
    /// statement that records the event as processed: no round trip of its own.
    pub fn with_first_traces(mut self, first_traces: Option<FirstTraces>) -> Self {
        self.first_traces = first_traces;
        self
    }

    /// What a paused consumer without a database waits for (the gateway's feed: Redis).
    pub fn waiting_for(mut self, check: DependencyCheck) -> Self {
        self.dependency = Some(check);
        self
    }

    /// Fails when a handler needs a database the service does not have, or when the handlers
    /// do not match the service's row of the topology table.
    pub fn new(
        db: Option<DatabaseConnection>,
        bus: Bus,
        service: &str,
        subscriptions: Vec<Subscription>,
    ) -> anyhow::Result<Self> {
        if db.is_none()
            && let Some(s) = subscriptions.iter().find(|s| s.needs_database())
        {
            anyhow::bail!(
                "{service}: the handler of {} needs a database and the service has none",
                s.routing_key
            );
        }
        let keys: Vec<&str> = subscriptions.iter().map(|s| s.routing_key).collect();
        topology::check(service, &keys).map_err(anyhow::Error::msg)?;
        let map = subscriptions
            .into_iter()
            .map(|s| (s.routing_key, s.handling))
            .collect();
        Ok(Self {
            db,
            bus,
            service: service.to_owned(),
            subscriptions: Arc::new(map),
            state: Arc::new(ConsumerState::default()),
            gate: Arc::new(Gate::new()),
            probe: None,
            dependency: None,
            first_traces: None,
        })
    }

    /// Connected / paused, for readiness.
    pub fn state(&self) -> Arc<ConsumerState> {
        self.state.clone()
    }

    /// Consumes until `shutdown`, then lets the handlers in flight finish and returns. A
    /// broker failure is retried with backoff; it never ends the task.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut backoff = Backoff::reconnect();
        while !shutdown.is_triggered() {
            match self.run_once(&shutdown).await {
                Ok(()) => break,
                Err(e) => {
                    self.state.connected.store(false, Ordering::SeqCst);
                    tracing::warn!(error = %format!("{e:#}"), service = %self.service, "consumer stopped; reconnecting");
                }
            }
            if !backoff.sleep(&shutdown).await {
                break;
            }
        }
        self.state.connected.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// One connection's life: declare, consume until the stream ends or shutdown.
    async fn run_once(&self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let conn = self
            .bus
            .connect(&format!("{}-consumer", self.service))
            .await?;
        self.bus.declare_topology(&conn, &self.service).await?;
        let ch = conn.create_channel().await?;
        if let Some(row) = self.probe {
            self.bus.declare_inbox(&ch, row).await?;
        }
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
        self.state.connected.store(true, Ordering::SeqCst);
        metrics()
            .consumer_paused
            .with_label_values(&[&inbox])
            .set(i64::from(self.state.paused.load(Ordering::SeqCst)));
        tracing::info!(queue = %inbox, keys = self.subscriptions.len(), "consuming");

        let dlq_watch = self.watch_dlq_depth(&conn, shutdown.clone());
        let ctx = ProcessCtx {
            db: self.db.as_ref(),
            bus: &self.bus,
            service: &self.service,
            subscriptions: &self.subscriptions,
            publish_ch: &publish_ch,
            queue: &inbox,
            gate: &self.gate,
            state: &self.state,
            shutdown,
            dependency: self.dependency.as_ref(),
            first_traces: self.first_traces.as_ref(),
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
    db: Option<&'a DatabaseConnection>,
    bus: &'a Bus,
    service: &'a str,
    subscriptions: &'a HashMap<&'static str, Handling>,
    publish_ch: &'a Channel,
    queue: &'a str,
    gate: &'a Gate,
    state: &'a ConsumerState,
    shutdown: &'a Shutdown,
    dependency: Option<&'a DependencyCheck>,
    first_traces: Option<&'a FirstTraces>,
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
            .get(ROUTING_KEY_HEADER)
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
        let parent = telemetry::extract(&headers);
        let from_baggage = telemetry::request::from_baggage(&parent);
        telemetry::set_parent(&span, parent);
        async {
            let outcome = match EventEnvelope::decode(delivery.data.as_slice()) {
                Err(e) => Outcome::Failed(HandlerError::permanent(anyhow::anyhow!(
                    "undecodable envelope: {e}"
                ))),
                Ok(envelope) => {
                    let span = tracing::Span::current();
                    span.record("messaging.message.id", envelope.event_id.as_str());
                    // The envelope's own word first; an event about no request (a supplier's)
                    // leaves it empty, so the baggage the producer sent and the subject (old
                    // producers) count only when they are request numbers.
                    let request_no = if envelope.request_no.is_empty() {
                        from_baggage
                            .iter()
                            .chain(std::iter::once(&envelope.subject))
                            .find(|n| crate::ids::RequestNo::parse(n).is_ok())
                            .map(String::as_str)
                    } else {
                        Some(envelope.request_no.as_str())
                    };
                    if let Some(no) = request_no {
                        span.record("aftersales.request_no", no);
                    }
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
                    match self.handle_until_done(&received).await {
                        Some(outcome) => outcome,
                        // Shutdown while paused: the delivery stays unacked and comes back.
                        None => return,
                    }
                }
            };
            self.settle(delivery, &rk, attempt, outcome).await;
        }
        .instrument(span)
        .await
    }

    /// Handles the event; while the database is unavailable, waits for it and tries again
    /// without counting an attempt. `None` when shutdown came first.
    async fn handle_until_done(&self, received: &Received) -> Option<Outcome> {
        loop {
            if !self.gate.wait_open(self.shutdown).await {
                return None;
            }
            let outcome = self.handle(received).await;
            let unavailable = match &outcome {
                Outcome::Failed(HandlerError::Unavailable(e)) => Some(format!("{e:#}")),
                // A failure of the logic while the database is gone is the outage, not the
                // logic: it uses no attempt either.
                Outcome::Failed(HandlerError::Transient(e)) if !self.database_answers().await => {
                    Some(format!("{e:#}"))
                }
                _ => None,
            };
            match unavailable {
                None => return Some(outcome),
                Some(why) => self.pause(&why).await,
            }
        }
    }

    /// Whether what the consumer depends on answers: its database, or the dependency it was
    /// given (a consumer without either never pauses for a logic failure).
    async fn database_answers(&self) -> bool {
        match (self.db, self.dependency) {
            (Some(db), _) => crate::db::ping(db).await,
            (None, Some(check)) => check().await,
            (None, None) => true,
        }
    }

    /// Closes the gate and (once, whoever closed it) probes the database with backoff until it
    /// answers, then opens it again.
    async fn pause(&self, why: &str) {
        if !self.gate.close() {
            return;
        }
        self.state.paused.store(true, Ordering::SeqCst);
        metrics()
            .consumer_paused
            .with_label_values(&[self.queue])
            .set(1);
        tracing::warn!(
            error = why,
            queue = self.queue,
            "database unavailable; consumer paused"
        );
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        while !self.database_answers().await {
            if !backoff.sleep(self.shutdown).await {
                break;
            }
        }
        self.state.paused.store(false, Ordering::SeqCst);
        metrics()
            .consumer_paused
            .with_label_values(&[self.queue])
            .set(0);
        tracing::info!(queue = self.queue, "dependency back; consumer resumed");
        self.gate.open();
    }

    /// Handles the event; a transaction that lost a race (serialization failure, deadlock) is
    /// run again at once a few times before it counts as a failed attempt: under a burst that
    /// is the normal cost of concurrency, not a failure of the handler.
    async fn handle(&self, received: &Received) -> Outcome {
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(200));
        let mut outcome = self.handle_once(received).await;
        for _ in 0..5 {
            match &outcome {
                Outcome::Failed(HandlerError::Transient(e))
                    if crate::db::caused_by_lost_race(e) =>
                {
                    metrics()
                        .consumer_processed
                        .with_label_values(&[self.queue, &received.routing_key, "race_retried"])
                        .inc();
                    tokio::time::sleep(backoff.next_delay()).await;
                    outcome = self.handle_once(received).await;
                }
                _ => break,
            }
        }
        outcome
    }

    async fn handle_once(&self, received: &Received) -> Outcome {
        let Some(handling) = self.subscriptions.get(received.routing_key.as_str()) else {
            return Outcome::Failed(HandlerError::permanent(anyhow::anyhow!(
                "no handler for routing key {}",
                received.routing_key
            )));
        };
        let run = async {
            match handling {
                Handling::Plain(h) => {
                    let handled = h.handle(received).await.map(|()| true);
                    if let (Ok(true), Some(f)) = (&handled, self.first_traces) {
                        f.observe(&tracing::Span::current());
                    }
                    handled
                }
                Handling::InTransaction(h) => {
                    let Some(db) = self.db else {
                        return Err(HandlerError::permanent(anyhow::anyhow!(
                            "no database for a transactional handler"
                        )));
                    };
                    self.in_transaction(db, h.as_ref(), received).await
                }
            }
        };
        // A panic in a handler is a failure of its logic like any other: retry, then DLQ. The
        // transaction it held is dropped, so nothing it wrote stays.
        let result = match std::panic::AssertUnwindSafe(run).catch_unwind().await {
            Ok(r) => r,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_owned());
                Err(HandlerError::transient(anyhow::anyhow!(
                    "handler panicked: {what}"
                )))
            }
        };
        match result {
            Ok(true) => Outcome::Done,
            Ok(false) => Outcome::Duplicate,
            Err(e) => Outcome::Failed(e),
        }
    }

    async fn in_transaction(
        &self,
        db: &DatabaseConnection,
        handler: &dyn Handler,
        received: &Received,
    ) -> Result<bool, HandlerError> {
        let event_id = uuid::Uuid::parse_str(&received.envelope.event_id).map_err(|_| {
            HandlerError::permanent(anyhow::anyhow!(
                "event_id {:?} is not a UUID",
                received.envelope.event_id
            ))
        })?;
        let span = tracing::Span::current();
        let sighting = match self.first_traces {
            Some(f) => f.sight(&span),
            None => Sighting::Known,
        };
        let txn = db.begin().await?;
        let mut first = None;
        let inserted = match &sighting {
            Sighting::Known => txn
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "INSERT INTO processed_events (consumer, event_id, routing_key) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    [
                        self.service.into(),
                        event_id.into(),
                        received.routing_key.as_str().into(),
                    ],
                ))
                .await?
                .rows_affected(),
            Sighting::Unknown { no, here } => {
                // The first delivery about a request in this service: the same statement
                // records its trace as the request's first (unless one is stored) and reads the
                // one stored before, to link to.
                let row = txn
                    .query_one_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "WITH seen AS (INSERT INTO request_traces (request_no, traceparent)
                                       VALUES ($4, $5) ON CONFLICT DO NOTHING),
                              handled AS (INSERT INTO processed_events (consumer, event_id, routing_key)
                                          VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1)
                         SELECT (SELECT count(*) FROM handled)::bigint AS inserted,
                                (SELECT traceparent FROM request_traces WHERE request_no = $4) AS first",
                        [
                            self.service.into(),
                            event_id.into(),
                            received.routing_key.as_str().into(),
                            no.to_string().into(),
                            crate::telemetry::links::traceparent(here).into(),
                        ],
                    ))
                    .await?
                    .ok_or_else(|| HandlerError::transient(anyhow::anyhow!("no row from the processed-events insert")))?;
                let inserted: i64 = row.try_get("", "inserted")?;
                if inserted > 0
                    && let Some(f) = self.first_traces
                {
                    let stored: Option<String> = row.try_get("", "first")?;
                    first = Some((no.clone(), f.found(&span, here, stored.as_deref())));
                }
                inserted as u64
            }
        };
        if inserted == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        handler.handle(&txn, received).await?;
        txn.commit().await?;
        if let (Some((no, first)), Some(f)) = (first, self.first_traces) {
            f.remember(no, first);
        }
        Ok(true)
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
            Outcome::Done => {
                // One line per handled event, inside its process span: it carries the trace id
                // of the request that caused it, whatever the exporter.
                tracing::info!(routing_key = rk, attempt, "event handled");
                "ok"
            }
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
                headers.insert(ROUTING_KEY_HEADER.into(), AMQPValue::LongString(rk.into()));
                let props = delivery.properties.clone().with_headers(headers);
                // The retry queue dead-letters back into the inbox under the original routing key
                // only if we keep it; the DLX routes by service name.
                let republished = republish(
                    self.publish_ch,
                    &target_exchange,
                    &target_key,
                    rk,
                    &delivery.data,
                    props,
                )
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
}

/// Publishes `data` to `exchange`/`routing_key` and waits for the broker's confirm; `original_key`
/// rides in the `type` property (the DLX routes by service name, the retry queue by queue name).
async fn republish(
    ch: &Channel,
    exchange: &str,
    routing_key: &str,
    original_key: &str,
    data: &[u8],
    props: BasicProperties,
) -> anyhow::Result<()> {
    let props = props.with_type(ShortString::from(original_key));
    let confirm = ch
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

/// One dead-lettered event, as `<service> dlq list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeadLetter {
    pub event_id: String,
    pub routing_key: String,
    pub subject: String,
    pub attempts: u32,
    pub error: String,
}

/// Which dead letters to replay.
#[derive(Debug, Clone)]
pub enum Replay {
    All,
    EventIds(Vec<String>),
}

impl Bus {
    /// The dead letters of `service`, oldest first, left in place.
    pub async fn dlq_list(&self, service: &str) -> anyhow::Result<Vec<DeadLetter>> {
        let conn = self.connect(&format!("{service}-dlq-list")).await?;
        let ch = conn.create_channel().await?;
        let dlq = self.topology.dlq(service);
        let mut out = Vec::new();
        let mut held = Vec::new();
        while let Some(msg) = ch
            .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: false })
            .await?
        {
            out.push(dead_letter(&msg.delivery));
            held.push(msg.delivery);
        }
        // Closing the channel returns every unacked message to the queue, in order.
        drop(held);
        let _ = ch.close(200, "listed".into()).await;
        let _ = conn.close(200, "listed".into()).await;
        Ok(out)
    }

    /// Puts dead letters of `service` back into its inbox with their attempts reset; the
    /// consumer's idempotency still gives each one effect. Returns what was replayed.
    pub async fn dlq_replay(
        &self,
        service: &str,
        which: &Replay,
    ) -> anyhow::Result<Vec<DeadLetter>> {
        let conn = self.connect(&format!("{service}-dlq-replay")).await?;
        let ch = conn.create_channel().await?;
        let publish_ch = conn.create_channel().await?;
        publish_ch
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let dlq = self.topology.dlq(service);
        let inbox = self.topology.inbox(service);
        let mut replayed = Vec::new();
        let mut keep = Vec::new();
        while let Some(msg) = ch
            .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: false })
            .await?
        {
            let d = msg.delivery;
            let letter = dead_letter(&d);
            let wanted = match which {
                Replay::All => true,
                Replay::EventIds(ids) => ids.contains(&letter.event_id),
            };
            if !wanted {
                keep.push(d);
                continue;
            }
            let mut headers = without(
                d.properties.headers().clone().unwrap_or_default(),
                &[ATTEMPT_HEADER, ERROR_HEADER, "x-death", "x-delivery-count"],
            );
            headers.insert(
                ROUTING_KEY_HEADER.into(),
                AMQPValue::LongString(letter.routing_key.as_str().into()),
            );
            headers.insert(
                REPLAYED_HEADER.into(),
                AMQPValue::LongString(chrono::Utc::now().to_rfc3339().into()),
            );
            let props = d.properties.clone().with_headers(headers);
            // Straight into the inbox through the default exchange, confirmed before the dead
            // letter is acked: a crash in between replays it twice, which idempotency absorbs.
            republish(&publish_ch, "", &inbox, &letter.routing_key, &d.data, props).await?;
            d.acker.ack(Default::default()).await?;
            replayed.push(letter);
        }
        drop(keep);
        let _ = ch.close(200, "replayed".into()).await;
        let _ = conn.close(200, "replayed".into()).await;
        Ok(replayed)
    }
}

fn dead_letter(d: &lapin::message::Delivery) -> DeadLetter {
    let headers = header_map(d.properties.headers());
    let envelope = EventEnvelope::decode(d.data.as_slice()).unwrap_or_default();
    let routing_key = headers
        .get(ROUTING_KEY_HEADER)
        .cloned()
        .or_else(|| d.properties.kind().as_ref().map(|k| k.as_str().to_owned()))
        .unwrap_or_else(|| envelope.routing_key.clone());
    DeadLetter {
        event_id: envelope.event_id,
        routing_key,
        subject: envelope.subject,
        attempts: headers
            .get(ATTEMPT_HEADER)
            .and_then(|a| a.parse().ok())
            .unwrap_or(0),
        error: headers.get(ERROR_HEADER).cloned().unwrap_or_default(),
    }
}

/// `headers` without `keys`.
fn without(headers: FieldTable, keys: &[&str]) -> FieldTable {
    let mut out = FieldTable::default();
    for (k, v) in headers.inner() {
        if !keys.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
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
