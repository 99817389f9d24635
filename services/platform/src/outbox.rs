//! The transactional outbox (DESIGN §4, §5).
//!
//! [`Outbox::stage`] writes the event in the caller's transaction, with the current trace
//! context, so a state change and its event commit together or not at all. The [`Relay`] (a task
//! beside the server) claims unpublished rows in order with `FOR UPDATE SKIP LOCKED`, publishes a
//! batch persistent and `mandatory`, awaits the whole batch's publisher confirms, marks the rows
//! published and commits. A failure rolls the claim back, so the rows are sent again: delivery
//! is at least once, and a crash anywhere loses nothing committed. It wakes on `NOTIFY` and
//! polls as a fallback.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aftersales_proto::catalogue::Event;
use aftersales_proto::common::v1::EventEnvelope;
use lapin::Confirmation;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Connection};
use prost::Message as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};
use tokio::sync::Notify;
use tracing::Instrument;

use crate::bus::{Bus, headers_with_trace};
use crate::config::OutboxSettings;
use crate::shutdown::Shutdown;
use crate::telemetry::{self, metrics};

/// The NOTIFY channel a commit with staged events wakes the relay on.
pub const NOTIFY_CHANNEL: &str = "aftersales_outbox";

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
            sequence: sequence as u64,
            branch: meta.branch.to_owned(),
            payload: payload.encode_to_vec(),
            routing_key: E::ROUTING_KEY.to_owned(),
            request_no: meta.request_no.to_owned(),
        };
        let trace = telemetry::inject(&tracing::Span::current());
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO outbox (event_id, routing_key, subject, envelope, traceparent, tracestate)
             VALUES ($1, $2, $3, $4, $5, $6)",
            [
                event_id.into(),
                E::ROUTING_KEY.into(),
                meta.subject.into(),
                envelope.encode_to_vec().into(),
                trace.get("traceparent").cloned().into(),
                trace.get("tracestate").cloned().into(),
            ],
        ))
        .await?;
        // Delivered at commit; several in one transaction fold into one.
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, '')",
            [NOTIFY_CHANNEL.into()],
        ))
        .await?;
        Ok(envelope)
    }
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

/// Publishes staged events.
pub struct Relay {
    db: DatabaseConnection,
    bus: Bus,
    producer: String,
    settings: OutboxSettings,
    handle: RelayHandle,
}

impl Relay {
    pub fn new(db: DatabaseConnection, bus: Bus, producer: &str, settings: OutboxSettings) -> Self {
        Self {
            db,
            bus,
            producer: producer.to_owned(),
            settings,
            handle: RelayHandle::default(),
        }
    }

    pub fn handle(&self) -> RelayHandle {
        self.handle.clone()
    }

    /// Runs until shutdown; on the way out it publishes what is pending once more.
    pub async fn run(self, shutdown: Shutdown) {
        let listener = self.spawn_listener(shutdown.clone());
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_triggered() {
            let Some(conn) = self
                .bus
                .connect_with_retry(&format!("{}-relay", self.producer), &shutdown)
                .await
            else {
                break;
            };
            let ch = match self.open_channel(&conn).await {
                Ok(ch) => ch,
                Err(e) => {
                    tracing::warn!(error = %e, "relay channel setup failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            };
            *self.handle.connection.lock().await = Some(conn);
            self.handle.connected.store(true, Ordering::SeqCst);
            let result = self.pump(&ch, &shutdown).await;
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
                    tokio::select! {
                        _ = shutdown.wait() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        listener.abort();
    }

    async fn open_channel(&self, conn: &Connection) -> anyhow::Result<Channel> {
        let ch = conn.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        self.bus.declare_exchanges(&ch).await?;
        Ok(ch)
    }

    /// Publishes until shutdown or a broker failure.
    async fn pump(&self, ch: &Channel, shutdown: &Shutdown) -> anyhow::Result<()> {
        let mut last_cleanup = std::time::Instant::now() - Duration::from_secs(3600);
        loop {
            loop {
                let n = self.publish_batch(ch).await?;
                if n < self.settings.batch_size as usize {
                    break;
                }
            }
            self.report_backlog().await;
            if last_cleanup.elapsed() > Duration::from_secs(600) {
                self.purge_published().await;
                last_cleanup = std::time::Instant::now();
            }
            if shutdown.is_triggered() {
                return Ok(());
            }
            tokio::select! {
                _ = shutdown.wait() => {
                    // One last pass so a clean stop leaves nothing behind.
                    self.publish_batch(ch).await?;
                    return Ok(());
                }
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
            while !shutdown.is_triggered() {
                let mut listener =
                    match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::debug!(error = %e, "outbox LISTEN connection failed");
                            tokio::time::sleep(Duration::from_secs(2)).await;
                            continue;
                        }
                    };
                if listener.listen(NOTIFY_CHANNEL).await.is_err() {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
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

    /// Claims up to `batch_size` rows, publishes them, awaits all confirms, marks them published.
    /// Returns how many rows it claimed.
    pub async fn publish_batch(&self, ch: &Channel) -> anyhow::Result<usize> {
        let txn = self.db.begin().await?;
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT id, event_id, routing_key, subject, envelope, traceparent, tracestate,
                        extract(epoch FROM created_at)::bigint AS created
                   FROM outbox WHERE published_at IS NULL
                  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                [(self.settings.batch_size as i64).into()],
            ))
            .await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok(0);
        }
        let claimed = rows.len();
        let mut in_flight = Vec::with_capacity(claimed);
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
            let span = tracing::info_span!(
                "publish",
                otel.name = %format!("{rk} publish"),
                otel.kind = "producer",
                messaging.system = "rabbitmq",
                messaging.operation.type = "publish",
                messaging.destination.name = %self.bus.topology.exchange,
                messaging.rabbitmq.destination.routing_key = %rk,
                messaging.message.id = %event_id,
                aftersales.request_no = %subject,
            );
            telemetry::set_parent(&span, telemetry::extract(&trace));
            let props = BasicProperties::default()
                .with_message_id(event_id.to_string().into())
                .with_type(rk.as_str().into())
                .with_content_type("application/protobuf".into())
                .with_app_id(self.producer.as_str().into())
                .with_delivery_mode(2)
                .with_timestamp(created.max(0) as u64)
                .with_headers(headers_with_trace(&span));
            let confirm = ch
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
                .await?;
            in_flight.push((id, rk, span, confirm));
        }

        let timeout = Duration::from_millis(self.settings.confirm_timeout_ms);
        let confirms =
            futures_util::future::join_all(in_flight.into_iter().map(|(id, rk, span, confirm)| {
                async move { (id, rk, confirm.await) }.instrument(span)
            }));
        let results = tokio::time::timeout(timeout, confirms)
            .await
            .map_err(|_| anyhow::anyhow!("no publisher confirm within {timeout:?}"))?;

        let mut published = Vec::with_capacity(claimed);
        let mut failed = None;
        for (id, rk, result) in results {
            match result {
                Ok(Confirmation::Ack(returned)) => {
                    if returned.is_some() {
                        // No queue is bound for this key (yet): the event is delivered to nobody,
                        // which is the broker's answer, not a failure to retry forever.
                        metrics()
                            .outbox_unroutable
                            .with_label_values(&[&self.producer, &rk])
                            .inc();
                        tracing::warn!(routing_key = %rk, "event unroutable: no queue bound");
                    }
                    published.push(id);
                }
                Ok(Confirmation::NotRequested) => published.push(id),
                Ok(Confirmation::Nack(_)) => {
                    failed = Some(anyhow::anyhow!("broker nacked event {id}"))
                }
                Err(e) => failed = Some(anyhow::anyhow!("publish of event {id} failed: {e}")),
            }
        }
        if !published.is_empty() {
            // Ids are integers from the database, so formatting them into the statement is safe.
            let ids: Vec<String> = published.iter().map(i64::to_string).collect();
            txn.execute_unprepared(&format!(
                "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id IN ({})",
                ids.join(",")
            ))
            .await?;
        }
        txn.commit().await?;
        metrics()
            .outbox_published
            .with_label_values(&[&self.producer])
            .inc_by(published.len() as u64);
        match failed {
            Some(e) => Err(e),
            None => Ok(claimed),
        }
    }

    async fn report_backlog(&self) {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*)::bigint AS n,
                        coalesce(extract(epoch FROM now() - min(created_at)), 0)::bigint AS age
                   FROM outbox WHERE published_at IS NULL",
            ))
            .await;
        if let Ok(Some(row)) = row {
            let m = metrics();
            m.outbox_backlog
                .with_label_values(&[&self.producer])
                .set(row.try_get::<i64>("", "n").unwrap_or(0));
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
