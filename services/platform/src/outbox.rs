//! The transactional outbox (DESIGN §4, §5).
//!
//! [`Outbox::stage`] writes the event in the caller's transaction, with the current trace
//! context, so a state change and its event commit together or not at all
//! ([`Outbox::first_of_subject`] + [`cte`] let a new aggregate's insert write its first
//! event in the same statement). The [`Relay`] (a task beside the server) claims unpublished rows
//! in order with `FOR UPDATE SKIP LOCKED`, publishes them persistent and `mandatory`, and, while
//! that batch's publisher confirms are on their way, claims and publishes the rows committed
//! since: up to a few batches are in flight at once, each holding its claim until every one of
//! its confirms is in, then marking its rows published and committing. A failure rolls a claim
//! back, so its rows are sent again: delivery is at least once (order across batches is not
//! guaranteed, DESIGN §5: consumers go by `sequence`), and a crash anywhere loses nothing
//! committed. It wakes on `NOTIFY` and polls as a fallback.
//!
//! A row the broker refuses (a nack, or a channel it closes while taking that row) must not hold
//! up the rows behind it: after a failed batch the relay publishes one row at a time for a
//! while, so a failure is charged to the row that caused it; a row refused
//! `outbox.max_attempts` times is quarantined (set aside with its error, counted in
//! `aftersales_outbox_quarantined`, shown by `/readyz`) and `<service> outbox retry-quarantined`
//! puts it back.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use aftersales_proto::catalogue::Event;
use aftersales_proto::common::v1::EventEnvelope;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use lapin::Confirmation;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Connection};
use prost::Message as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};
use tokio::sync::Notify;
use tracing::Instrument;

use crate::backoff::Backoff;
use crate::bus::{Bus, headers_with_trace};
use crate::config::OutboxSettings;
use crate::shutdown::Shutdown;
use crate::telemetry::{self, metrics};

macro_rules! notify_channel {
    () => {
        "aftersales_outbox"
    };
}

/// The NOTIFY channel a commit with staged events wakes the relay on.
pub const NOTIFY_CHANNEL: &str = notify_channel!();

/// What an event is about.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventMeta<'a> {
    /// The aggregate: the request number where there is one.
    pub subject: &'a str,
    pub branch: &'a str,
    /// The request the event belongs to, when the subject is something else.
    pub request_no: &'a str,
}

impl<'a> EventMeta<'a> {
    /// An event about a request.
    pub fn request(request_no: &'a str, branch: &'a str) -> Self {
        Self {
            subject: request_no,
            branch,
            request_no,
        }
    }
}

/// Stages events for one producer.
#[derive(Debug, Clone)]
pub struct Outbox {
    producer: String,
}

impl Outbox {
    pub fn new(producer: &str) -> Self {
        Self {
            producer: producer.to_owned(),
        }
    }

    pub fn producer(&self) -> &str {
        &self.producer
    }

    /// Writes `payload` into the outbox in `txn` and returns the envelope as it will be sent.
    pub async fn stage<E: Event, C: ConnectionTrait>(
        &self,
        txn: &C,
        meta: EventMeta<'_>,
        payload: &E,
    ) -> Result<EventEnvelope, DbErr> {
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO outbox_sequences (subject, last) VALUES ($1, 1)
                 ON CONFLICT (subject) DO UPDATE SET last = outbox_sequences.last + 1
                 RETURNING last",
                [meta.subject.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("sequence upsert returned no row".into()))?;
        let sequence: i64 = row.try_get("", "last")?;
        let staged = self.build(meta, payload, sequence as u64);
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO outbox (event_id, routing_key, subject, envelope, traceparent, tracestate, baggage)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            staged.row_values(),
        ))
        .await?;
        // Delivered at commit; several in one transaction fold into one.
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, '')",
            [NOTIFY_CHANNEL.into()],
        ))
        .await?;
        Ok(staged.envelope)
    }

    /// The first event of a subject that has none yet (a new aggregate, such as a request
    /// just numbered): its sequence is 1. Nothing is written: the caller writes it with its
    /// own statement ([`cte`]), so the business row, the sequence, the event and the
    /// relay's wake-up go to the database in one round trip instead of four.
    pub fn first_of_subject<E: Event>(&self, meta: EventMeta<'_>, payload: &E) -> Staged {
        self.build(meta, payload, 1)
    }

    fn build<E: Event>(&self, meta: EventMeta<'_>, payload: &E, sequence: u64) -> Staged {
        let now = chrono::Utc::now();
        let event_id = uuid::Uuid::now_v7();
        let envelope = EventEnvelope {
            event_id: event_id.to_string(),
            r#type: <E as prost::Name>::full_name(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: now.timestamp(),
                nanos: now.timestamp_subsec_nanos() as i32,
            }),
            producer: self.producer.clone(),
            subject: meta.subject.to_owned(),
            sequence,
            branch: meta.branch.to_owned(),
            payload: payload.encode_to_vec(),
            routing_key: E::ROUTING_KEY.to_owned(),
            request_no: meta.request_no.to_owned(),
        };
        let mut trace = telemetry::inject(&tracing::Span::current());
        Staged {
            body: envelope.encode_to_vec(),
            envelope,
            event_id,
            routing_key: E::ROUTING_KEY,
            traceparent: trace.remove("traceparent"),
            tracestate: trace.remove("tracestate"),
            baggage: trace.remove("baggage"),
        }
    }
}

/// An event built but not yet written (see [`Outbox::first_of_subject`]).
#[derive(Debug, Clone)]
pub struct Staged {
    /// The envelope as it will be sent.
    pub envelope: EventEnvelope,
    pub event_id: uuid::Uuid,
    routing_key: &'static str,
    /// The envelope's bytes, encoded once.
    body: Vec<u8>,
    traceparent: Option<String>,
    tracestate: Option<String>,
    /// The staging work's request numbers (W3C baggage).
    baggage: Option<String>,
}

/// Two data-modifying CTE items, `<name>_seq` and `<name>_row`, that write `events` (at least
/// one): each subject's sequence row (a subject that already has one fails with a unique
/// violation on `outbox_sequences_pkey`: the subject was not new) and the outbox rows. Their
/// parameters are appended to `values` and numbered accordingly. End the statement with
/// [`NOTIFY_SELECT`] so the relay wakes at commit.
pub fn cte<'a>(
    name: &str,
    events: impl IntoIterator<Item = &'a Staged>,
    values: &mut Vec<sea_orm::Value>,
) -> String {
    let mut seqs = Vec::new();
    let mut rows = Vec::new();
    for e in events {
        let first = values.len() + 1;
        values.extend(e.row_values());
        let p = |i: usize| format!("${}", first + i);
        seqs.push(format!("({}, 1)", p(2)));
        rows.push(format!(
            "({}, {}, {}, {}, {}, {}, {})",
            p(0),
            p(1),
            p(2),
            p(3),
            p(4),
            p(5),
            p(6)
        ));
    }
    format!(
        "{name}_seq AS (INSERT INTO outbox_sequences (subject, last) VALUES {}), \
         {name}_row AS (INSERT INTO outbox (event_id, routing_key, subject, envelope, traceparent, tracestate, baggage) VALUES {})",
        seqs.join(", "),
        rows.join(", ")
    )
}

/// The main query of a statement whose CTE ([`cte`]) wrote events: wakes the relay at
/// commit (a data-modifying CTE always runs; a plain `SELECT` in a CTE would not).
pub const NOTIFY_SELECT: &str = concat!("SELECT pg_notify('", notify_channel!(), "', '')");

impl Staged {
    fn row_values(&self) -> Vec<sea_orm::Value> {
        vec![
            self.event_id.into(),
            self.routing_key.into(),
            self.envelope.subject.clone().into(),
            self.body.clone().into(),
            self.traceparent.clone().into(),
            self.tracestate.clone().into(),
            self.baggage.clone().into(),
        ]
    }

    /// The two data-modifying CTE items of [`cte`] for this one event.
    pub fn cte(&self, name: &str, values: &mut Vec<sea_orm::Value>) -> String {
        cte(name, [self], values)
    }
}

/// The span of one transaction that stages the events of several requests at once (group
/// commit): a trace of its own, linked to each request's span (DESIGN §9: a batch serving
/// several requests starts its own trace with links), under which its database statements
/// appear. Each event still carries its own request's trace context ([`Outbox::first_of_subject`]
/// called inside that request's span), so every publish joins its request's trace.
pub fn batch_span(name: &str, members: &[tracing::Span]) -> tracing::Span {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let span = tracing::info_span!(
        parent: None,
        "batch",
        otel.name = %name,
        aftersales.batch_size = members.len(),
    );
    for m in members {
        let cx = m.context();
        let linked = cx.span().span_context().clone();
        if linked.is_valid() {
            span.add_link(linked);
        }
    }
    span
}

/// Lets the owner of a running relay watch it and, for tests and operators, cut its broker
/// connection (the relay reconnects and re-sends what was not confirmed).
#[derive(Clone, Default)]
pub struct RelayHandle {
    connected: Arc<AtomicBool>,
    connection: Arc<tokio::sync::Mutex<Option<Connection>>>,
    kick: Arc<Notify>,
}

impl RelayHandle {
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// Closes the relay's broker connection as a broker failure would.
    pub async fn drop_connection(&self) {
        if let Some(c) = self.connection.lock().await.as_ref() {
            let _ = c.close(320, "closed by operator".into()).await;
        }
    }

    /// Wakes the relay now.
    pub fn wake(&self) {
        self.kick.notify_one();
    }
}

/// Rows published one at a time after a failed batch, to find the row that caused it.
const CAREFUL_ROWS: u32 = 50;

/// Batches published and awaiting their confirms at once, at most. One batch at a time (publish,
/// wait for every confirm, commit, only then claim again) leaves rows that commit meanwhile
/// waiting a whole round; with a window, a row is claimed and sent as soon as it commits. Each
/// batch in flight holds one pooled connection (its claim's transaction), so the window is also
/// kept to a third of the pool ([`Relay::window`]): the service's own work keeps the rest.
const BATCHES_IN_FLIGHT: usize = 4;

/// A claimed, published batch whose confirms are still to come.
struct InFlight {
    /// Holds the claim (row locks) until the batch is settled.
    txn: sea_orm::DatabaseTransaction,
    pending: Vec<(i64, String, tracing::Span, lapin::PublisherConfirm)>,
    /// A publish that failed outright (the channel is gone); later rows were not sent.
    channel_failure: Option<RowFailure>,
    careful: bool,
    claimed: usize,
    limit: usize,
}

/// Lets every batch still in flight finish (commit what was confirmed, roll back the rest)
/// before the relay reconnects.
async fn drain<F: std::future::Future<Output = anyhow::Result<()>>>(
    in_flight: &mut FuturesOrdered<F>,
) {
    while let Some(r) = in_flight.next().await {
        if let Err(e) = r {
            tracing::debug!(error = %format!("{e:#}"), "a batch in flight failed too");
        }
    }
}

/// Publishes staged events.
pub struct Relay {
    db: DatabaseConnection,
    bus: Bus,
    producer: String,
    settings: OutboxSettings,
    handle: RelayHandle,
    /// Rows still to publish one by one after a failure.
    careful: AtomicU32,
}

/// Why a row was not published.
struct RowFailure {
    id: i64,
    error: String,
}

impl Relay {
    pub fn new(db: DatabaseConnection, bus: Bus, producer: &str, settings: OutboxSettings) -> Self {
        Self {
            db,
            bus,
            producer: producer.to_owned(),
            settings,
            handle: RelayHandle::default(),
            careful: AtomicU32::new(0),
        }
    }

    pub fn handle(&self) -> RelayHandle {
        self.handle.clone()
    }

    /// Runs until `stop`; on the way out it publishes what is pending once more (the service
    /// stops its relay last, after the server and the consumers drained, so what they committed
    /// goes out with it). A broker failure is retried with backoff; it never ends the task.
    pub async fn run(self, stop: Shutdown) -> anyhow::Result<()> {
        let listener = self.spawn_listener(stop.clone());
        // The producer's series exist from the start (0 until something happens), so a scrape
        // shows they are counted and rate() has a baseline.
        let m = metrics();
        m.outbox_publish_failures
            .with_label_values(&[&self.producer])
            .inc_by(0);
        m.outbox_published
            .with_label_values(&[&self.producer])
            .inc_by(0);
        let mut backoff = Backoff::reconnect();
        while !stop.is_triggered() {
            let Some(conn) = self
                .bus
                .connect_with_retry(&format!("{}-relay", self.producer), &stop)
                .await
            else {
                break;
            };
            let ch = match self.open_channel(&conn).await {
                Ok(ch) => ch,
                Err(e) => {
                    tracing::warn!(error = %e, "relay channel setup failed");
                    if !backoff.sleep(&stop).await {
                        break;
                    }
                    continue;
                }
            };
            *self.handle.connection.lock().await = Some(conn);
            self.handle.connected.store(true, Ordering::SeqCst);
            let result = self.pump(&ch, &stop, &mut backoff).await;
            self.handle.connected.store(false, Ordering::SeqCst);
            if let Some(c) = self.handle.connection.lock().await.take() {
                let _ = c.close(200, "relay restarting".into()).await;
            }
            match result {
                Ok(()) => break,
                Err(e) => {
                    metrics()
                        .outbox_publish_failures
                        .with_label_values(&[&self.producer])
                        .inc();
                    tracing::warn!(error = %format!("{e:#}"), "relay failed; reconnecting");
                    if !backoff.sleep(&stop).await {
                        break;
                    }
                }
            }
        }
        listener.abort();
        Ok(())
    }

    async fn open_channel(&self, conn: &Connection) -> anyhow::Result<Channel> {
        let ch = conn.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        self.bus.declare_exchanges(&ch).await?;
        Ok(ch)
    }

    /// Publishes until `stop` or a broker failure. Rows are claimed and published as soon as
    /// they commit; up to [`Relay::window`] batches wait for their confirms at once, each
    /// holding its claim (its transaction) until its confirms are in, so a row is marked
    /// published only once the broker has it and a failure anywhere sends it again.
    async fn pump(
        &self,
        ch: &Channel,
        stop: &Shutdown,
        backoff: &mut Backoff,
    ) -> anyhow::Result<()> {
        let mut last_cleanup = std::time::Instant::now() - Duration::from_secs(3600);
        let mut last_report = std::time::Instant::now();
        let mut in_flight = FuturesOrdered::new();
        loop {
            if stop.is_triggered() {
                // Settle what is out, then one last pass so a clean stop leaves nothing behind.
                while let Some(settled) = in_flight.next().await {
                    if let Err(e) = settled {
                        drain(&mut in_flight).await;
                        return Err(e);
                    }
                }
                while {
                    let (claimed, limit) = self.publish_batch(ch).await?;
                    claimed == limit
                } {}
                return Ok(());
            }
            // Fill the window: claim and publish while there are rows and room.
            let mut more = true;
            while more && in_flight.len() < self.window() {
                let careful = self.careful.load(Ordering::SeqCst) > 0;
                if careful && !in_flight.is_empty() {
                    // After a failure rows go one at a time, each settled before the next.
                    break;
                }
                match self.send_batch(ch, careful).await {
                    Ok(Some(batch)) => {
                        more = batch.claimed == batch.limit;
                        in_flight.push_back(self.settle(batch));
                    }
                    Ok(None) => more = false,
                    Err(e) => {
                        drain(&mut in_flight).await;
                        return Err(e);
                    }
                }
            }
            if last_report.elapsed() > Duration::from_secs(1) {
                self.report_backlog().await;
                last_report = std::time::Instant::now();
            }
            if !in_flight.is_empty() {
                // Settle the oldest batch, or claim what a commit just staged.
                tokio::select! {
                    settled = in_flight.next() => {
                        if let Some(Err(e)) = settled {
                            drain(&mut in_flight).await;
                            return Err(e);
                        }
                        backoff.reset();
                    }
                    _ = self.handle.kick.notified() => {}
                    _ = stop.wait() => {}
                }
                continue;
            }
            if more {
                continue;
            }
            self.report_backlog().await;
            last_report = std::time::Instant::now();
            if last_cleanup.elapsed() > Duration::from_secs(600) {
                self.purge_published().await;
                last_cleanup = std::time::Instant::now();
            }
            tokio::select! {
                _ = stop.wait() => {}
                _ = self.handle.kick.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(self.settings.poll_interval_ms)) => {}
            }
            if !ch.status().connected() {
                anyhow::bail!("channel closed");
            }
        }
    }

    /// LISTEN on the NOTIFY channel and wake the relay on each notification. If listening fails
    /// the relay still polls.
    fn spawn_listener(&self, shutdown: Shutdown) -> tokio::task::JoinHandle<()> {
        let pool = self.db.get_postgres_connection_pool().clone();
        let kick = self.handle.kick.clone();
        tokio::spawn(async move {
            let mut backoff = Backoff::reconnect();
            while !shutdown.is_triggered() {
                let mut listener =
                    match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::debug!(error = %e, "outbox LISTEN connection failed");
                            if !backoff.sleep(&shutdown).await {
                                return;
                            }
                            continue;
                        }
                    };
                if listener.listen(NOTIFY_CHANNEL).await.is_err() {
                    if !backoff.sleep(&shutdown).await {
                        return;
                    }
                    continue;
                }
                backoff.reset();
                loop {
                    tokio::select! {
                        _ = shutdown.wait() => return,
                        n = listener.recv() => match n {
                            Ok(_) => kick.notify_one(),
                            Err(_) => break,
                        }
                    }
                }
            }
        })
    }

    /// Claims up to a batch of rows (one after a failure), publishes them, awaits all confirms,
    /// marks them published and charges refusals to their rows. Returns how many rows it
    /// claimed and how many it could have.
    pub async fn publish_batch(&self, ch: &Channel) -> anyhow::Result<(usize, usize)> {
        let careful = self.careful.load(Ordering::SeqCst) > 0;
        match self.send_batch(ch, careful).await? {
            Some(batch) => {
                let counts = (batch.claimed, batch.limit);
                self.settle(batch).await?;
                Ok(counts)
            }
            None => Ok((0, if careful { 1 } else { self.batch_limit() })),
        }
    }

    /// Batches in flight at most: [`BATCHES_IN_FLIGHT`], and no more than a third of the pool.
    fn window(&self) -> usize {
        let pool = self
            .db
            .get_postgres_connection_pool()
            .options()
            .get_max_connections() as usize;
        (pool / 3).clamp(1, BATCHES_IN_FLIGHT)
    }

    fn batch_limit(&self) -> usize {
        self.settings.batch_size as usize
    }

    /// Claims up to a batch of rows (one in careful mode) in a transaction of its own and
    /// publishes them; the confirms are awaited by [`Relay::settle`]. `None` when there was
    /// nothing to claim.
    async fn send_batch(&self, ch: &Channel, careful: bool) -> anyhow::Result<Option<InFlight>> {
        let limit = if careful { 1 } else { self.batch_limit() };
        let txn = self.db.begin().await?;
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT id, event_id, routing_key, subject, envelope, traceparent, tracestate, baggage,
                        extract(epoch FROM created_at)::bigint AS created
                   FROM outbox WHERE published_at IS NULL AND quarantined_at IS NULL
                  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                [(limit as i64).into()],
            ))
            .await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok(None);
        }
        let claimed = rows.len();
        let mut pending = Vec::with_capacity(claimed);
        let mut channel_failure: Option<RowFailure> = None;
        for row in rows {
            let id: i64 = row.try_get("", "id")?;
            let event_id: uuid::Uuid = row.try_get("", "event_id")?;
            let rk: String = row.try_get("", "routing_key")?;
            let subject: String = row.try_get("", "subject")?;
            let body: Vec<u8> = row.try_get("", "envelope")?;
            let created: i64 = row.try_get("", "created")?;
            let mut trace = HashMap::new();
            if let Some(tp) = row.try_get::<Option<String>>("", "traceparent")? {
                trace.insert("traceparent".to_owned(), tp);
            }
            if let Some(ts) = row.try_get::<Option<String>>("", "tracestate")? {
                trace.insert("tracestate".to_owned(), ts);
            }
            if let Some(b) = row.try_get::<Option<String>>("", "baggage")? {
                trace.insert("baggage".to_owned(), b);
            }
            let span = tracing::info_span!(
                "publish",
                otel.name = %format!("{rk} publish"),
                otel.kind = "producer",
                messaging.system = "rabbitmq",
                messaging.operation.type = "publish",
                messaging.destination.name = %self.bus.topology.exchange,
                messaging.rabbitmq.destination.routing_key = %rk,
                messaging.message.id = %event_id,
                aftersales.request_no = tracing::field::Empty,
            );
            // The request: the subject when it is one; otherwise (a PO, a shipment) the one the
            // staging work was about, from its baggage.
            let parent = telemetry::extract(&trace);
            if crate::ids::RequestNo::parse(&subject).is_ok() {
                telemetry::request::record_on(&span, &subject);
            } else {
                telemetry::request::note_from_baggage(&span, &parent);
            }
            telemetry::set_parent(&span, parent);
            let props = BasicProperties::default()
                .with_message_id(event_id.to_string().into())
                .with_type(rk.as_str().into())
                .with_content_type("application/protobuf".into())
                .with_app_id(self.producer.as_str().into())
                .with_delivery_mode(2)
                .with_timestamp(created.max(0) as u64)
                .with_headers(headers_with_trace(&span));
            let published = ch
                .basic_publish(
                    self.bus.topology.exchange.as_str().into(),
                    rk.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &body,
                    props,
                )
                .instrument(span.clone())
                .await;
            match published {
                Ok(confirm) => pending.push((id, rk, span, confirm)),
                Err(e) => {
                    channel_failure = Some(RowFailure {
                        id,
                        error: format!("publish failed: {e}"),
                    });
                    break;
                }
            }
        }

        Ok(Some(InFlight {
            txn,
            pending,
            channel_failure,
            careful,
            claimed,
            limit,
        }))
    }

    /// Awaits a published batch's confirms, marks what the broker took as published, charges
    /// refusals, and commits; a channel failure or a missing confirm ends the batch in
    /// [`Relay::abandon`] (what was not confirmed goes again).
    async fn settle(&self, batch: InFlight) -> anyhow::Result<()> {
        let InFlight {
            txn,
            pending,
            mut channel_failure,
            careful,
            claimed,
            ..
        } = batch;
        let timeout = Duration::from_millis(self.settings.confirm_timeout_ms);
        let confirms =
            futures_util::future::join_all(pending.into_iter().map(|(id, rk, span, confirm)| {
                async move { (id, rk, confirm.await) }.instrument(span)
            }));
        let results = match tokio::time::timeout(timeout, confirms).await {
            Ok(r) => r,
            Err(_) => {
                return self
                    .abandon(
                        txn,
                        careful,
                        None,
                        format!("no publisher confirm within {timeout:?}"),
                    )
                    .await;
            }
        };

        let mut published = Vec::with_capacity(claimed);
        let mut refused = Vec::new();
        for (id, rk, result) in results {
            match result {
                Ok(Confirmation::Ack(returned)) => {
                    if returned.is_some() {
                        // No queue is bound for this key, and the alternate exchange did not
                        // take it either: the broker's answer, not a failure to retry forever.
                        metrics()
                            .outbox_unroutable
                            .with_label_values(&[&self.producer, &rk])
                            .inc();
                        tracing::warn!(routing_key = %rk, "event unroutable: no queue bound");
                    }
                    published.push(id);
                }
                Ok(Confirmation::NotRequested) => published.push(id),
                Ok(Confirmation::Nack(_)) => refused.push(RowFailure {
                    id,
                    error: "the broker refused the event (nack)".into(),
                }),
                Err(e) => {
                    channel_failure.get_or_insert(RowFailure {
                        id,
                        error: format!("publish failed: {e}"),
                    });
                }
            }
        }
        if let Some(failure) = channel_failure {
            // The channel is gone: only what was confirmed before is known to be out. Mark that,
            // and charge the failure to the row when it was published alone.
            self.mark_published(&txn, &published).await?;
            return self
                .abandon(txn, careful, Some(failure.id), failure.error)
                .await;
        }
        self.mark_published(&txn, &published).await?;
        for f in &refused {
            self.charge(&txn, f).await?;
        }
        txn.commit().await?;
        metrics()
            .outbox_published
            .with_label_values(&[&self.producer])
            .inc_by(published.len() as u64);
        if careful {
            let _ = self
                .careful
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    Some(n.saturating_sub(1))
                });
        }
        if !refused.is_empty() && !careful {
            self.careful.store(CAREFUL_ROWS, Ordering::SeqCst);
        }
        Ok(())
    }

    /// A batch failed as a whole: in careful mode the one row is charged (committed, so it
    /// counts even though the relay reconnects), otherwise nothing is and the next rows go one
    /// at a time.
    async fn abandon(
        &self,
        txn: sea_orm::DatabaseTransaction,
        careful: bool,
        row: Option<i64>,
        error: String,
    ) -> anyhow::Result<()> {
        if careful {
            let id = match row {
                Some(id) => Some(id),
                None => txn
                    .query_one_raw(Statement::from_string(
                        DbBackend::Postgres,
                        "SELECT id FROM outbox WHERE published_at IS NULL AND quarantined_at IS NULL
                          ORDER BY id LIMIT 1",
                    ))
                    .await?
                    .and_then(|r| r.try_get::<i64>("", "id").ok()),
            };
            if let Some(id) = id {
                self.charge(
                    &txn,
                    &RowFailure {
                        id,
                        error: error.clone(),
                    },
                )
                .await?;
            }
            txn.commit().await?;
        } else {
            drop(txn);
        }
        self.careful.store(CAREFUL_ROWS, Ordering::SeqCst);
        anyhow::bail!(error)
    }

    async fn mark_published(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        ids: &[i64],
    ) -> Result<(), DbErr> {
        if ids.is_empty() {
            return Ok(());
        }
        // Ids are integers from the database, so formatting them into the statement is safe.
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        txn.execute_unprepared(&format!(
            "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id IN ({})",
            ids.join(",")
        ))
        .await?;
        Ok(())
    }

    /// Records a refusal against its row; at `max_attempts` the row is quarantined.
    async fn charge(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        f: &RowFailure,
    ) -> Result<(), DbErr> {
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE outbox SET failures = failures + 1, attempts = attempts + 1, last_error = $2,
                        quarantined_at = CASE WHEN failures + 1 >= $3 THEN now() END
                  WHERE id = $1
              RETURNING event_id, routing_key, quarantined_at IS NOT NULL AS quarantined",
                [
                    f.id.into(),
                    f.error.clone().into(),
                    (self.settings.max_attempts as i32).into(),
                ],
            ))
            .await?;
        if let Some(row) = row
            && row.try_get::<bool>("", "quarantined").unwrap_or(false)
        {
            let event_id: uuid::Uuid = row.try_get("", "event_id")?;
            let rk: String = row.try_get("", "routing_key")?;
            tracing::error!(%event_id, routing_key = %rk, error = %f.error,
                "outbox row quarantined: the broker refused it {} times", self.settings.max_attempts);
        } else {
            tracing::warn!(row = f.id, error = %f.error, "the broker refused an outbox row");
        }
        Ok(())
    }

    async fn report_backlog(&self) {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*) FILTER (WHERE quarantined_at IS NULL)::bigint AS n,
                        count(*) FILTER (WHERE quarantined_at IS NOT NULL)::bigint AS q,
                        coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE quarantined_at IS NULL)), 0)::bigint AS age
                   FROM outbox WHERE published_at IS NULL",
            ))
            .await;
        if let Ok(Some(row)) = row {
            let m = metrics();
            m.outbox_backlog
                .with_label_values(&[&self.producer])
                .set(row.try_get::<i64>("", "n").unwrap_or(0));
            m.outbox_quarantined
                .with_label_values(&[&self.producer])
                .set(row.try_get::<i64>("", "q").unwrap_or(0));
            m.outbox_oldest_age_seconds
                .with_label_values(&[&self.producer])
                .set(row.try_get::<i64>("", "age").unwrap_or(0));
        }
    }

    async fn purge_published(&self) {
        let sql = format!(
            "DELETE FROM outbox WHERE published_at < now() - interval '{} hours'",
            self.settings.retention_hours
        );
        if let Err(e) = self.db.execute_unprepared(&sql).await {
            tracing::warn!(error = %e, "outbox purge failed");
        }
    }
}

/// Quarantined rows: how many (for `/readyz`).
pub async fn quarantined(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*)::bigint AS n FROM outbox WHERE quarantined_at IS NOT NULL AND published_at IS NULL",
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0))
}

/// A quarantined row, as `<service> outbox list-quarantined` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QuarantinedRow {
    pub event_id: String,
    pub routing_key: String,
    pub subject: String,
    pub failures: i32,
    pub last_error: String,
}

pub async fn list_quarantined(db: &DatabaseConnection) -> Result<Vec<QuarantinedRow>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT event_id::text AS event_id, routing_key, subject, failures, coalesce(last_error, '') AS last_error
               FROM outbox WHERE quarantined_at IS NOT NULL AND published_at IS NULL ORDER BY id",
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(QuarantinedRow {
                event_id: r.try_get("", "event_id")?,
                routing_key: r.try_get("", "routing_key")?,
                subject: r.try_get("", "subject")?,
                failures: r.try_get("", "failures")?,
                last_error: r.try_get("", "last_error")?,
            })
        })
        .collect()
}

/// Puts quarantined rows back in line (all, or one event); returns how many.
pub async fn retry_quarantined(
    db: &DatabaseConnection,
    event_id: Option<uuid::Uuid>,
) -> Result<u64, DbErr> {
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE outbox SET quarantined_at = NULL, failures = 0
              WHERE quarantined_at IS NOT NULL AND published_at IS NULL
                AND ($1::uuid IS NULL OR event_id = $1)",
            [event_id.into()],
        ))
        .await?;
    let n = res.rows_affected();
    if n > 0 {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, '')",
            [NOTIFY_CHANNEL.into()],
        ))
        .await?;
    }
    Ok(n)
}
