//! Helpers for integration tests against the real Postgres and RabbitMQ (feature `testing`).
//!
//! - [`TestDb`]: a fresh database per test (random name, migrations applied, dropped at the end).
//! - [`settings`]: platform settings with port 0, a unique broker name prefix and quick retries.
//! - [`telemetry`]: one process-wide subscriber exporting over OTLP to an in-process receiver
//!   built on `opentelemetry-proto`, so a test can assert a whole trace. Logs print only with
//!   `TEST_LOG=1`.
//!
//! Servers are found through `AFTERSALES_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and `AFTERSALES_TEST_AMQP_URL` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`). A missing server fails the test with a message
//! that says so; nothing is skipped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use lapin::options::ExchangeDeleteOptions;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::auth::Role;
use crate::db::{self, Migrations};

pub mod demo;
pub mod idp;
pub mod mail;
mod process;
mod proxy;
mod service;

pub use process::{ServiceProcess, sibling_binary};
pub use proxy::{FaultProxy, target_of, via_proxy};
pub use service::{Publisher, TestService, TestServiceBuilder};

/// The JWT secret every test service is configured with.
pub const TEST_JWT_SECRET: &str = "test-secret-for-the-aftersales-mesh";

pub fn admin_database_url() -> String {
    std::env::var("AFTERSALES_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn amqp_url() -> String {
    std::env::var("AFTERSALES_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

fn url_with_database(admin: &str, name: &str) -> String {
    match admin.rsplit_once('/') {
        Some((base, tail)) => {
            let query = tail
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{base}/{name}{query}")
        }
        None => format!("{admin}/{name}"),
    }
}

/// A plain connection to `url` for test tooling (the mesh launcher, the ledger checker): no pool
/// tuning, no migrations. Services connect through `platform::db`.
pub async fn connect(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    sea_orm::Database::connect(url).await
}

/// A database of its own for one test, dropped when the value is.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub conn: DatabaseConnection,
}

impl TestDb {
    /// Creates the database and applies `migrations` (the platform's plus the service's).
    pub async fn create(migrations: &[Migrations]) -> TestDb {
        let admin_url = admin_database_url();
        let admin = sea_orm::Database::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("Postgres is not reachable at {admin_url}: {e}. Start it (make infra) or set AFTERSALES_TEST_DATABASE_URL.")
        });
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = admin.close().await;
        let url = url_with_database(&admin_url, &name);
        let mut opts = sea_orm::ConnectOptions::new(url.clone());
        opts.max_connections(20)
            .sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(30));
        let conn = sea_orm::Database::connect(opts)
            .await
            .unwrap_or_else(|e| panic!("connect {name}: {e}"));
        db::migrate(&conn, migrations)
            .await
            .unwrap_or_else(|e| panic!("migrate {name}: {e:#}"));
        TestDb { name, url, conn }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin_url = admin_database_url();
        // Drop runs inside the test's runtime, which cannot block on itself: a thread of its own
        // with a small runtime does the cleanup.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Deletes a test's exchanges when dropped (its queues expire on their own).
pub struct TestBus {
    pub prefix: String,
}

impl TestBus {
    pub fn new() -> Self {
        Self {
            prefix: format!("t{}.", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        }
    }
}

impl Default for TestBus {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let prefix = self.prefix.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(conn) = lapin::Connection::connect(&amqp_url(), Default::default()).await
                else {
                    return;
                };
                if let Ok(ch) = conn.create_channel().await {
                    let _ = ch
                        .queue_delete(
                            format!("{prefix}aftersales.unrouted").into(),
                            Default::default(),
                        )
                        .await;
                    for row in crate::topology::TABLE {
                        for q in ["inbox", "retry", "dlq"] {
                            let _ = ch
                                .queue_delete(
                                    format!("{prefix}{}.{q}", row.service).into(),
                                    Default::default(),
                                )
                                .await;
                        }
                    }
                    for ex in ["aftersales.events", "aftersales.dlx", "aftersales.unrouted"] {
                        let _ = ch
                            .exchange_delete(
                                format!("{prefix}{ex}").into(),
                                ExchangeDeleteOptions::default(),
                            )
                            .await;
                    }
                }
                let _ = conn.close(200, "test done".into()).await;
            });
        })
        .join();
    }
}

/// The environment of a service under test, as `AFTERSALES__…` variables: its database (when it
/// has one), the test's broker names, port 0 everywhere, quick retries and polls, classic queues
/// that vanish when idle, the test JWT secret and Redis under its own prefix. The same map starts
/// the service in process ([`TestService`]) and as its real binary ([`ServiceProcess`]).
pub fn service_env(
    database_url: Option<&str>,
    bus: &TestBus,
    redis_prefix: Option<&str>,
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("AFTERSALES__SERVER__GRPC_ADDR", "127.0.0.1:0"),
        ("AFTERSALES__SERVER__ADMIN_ADDR", "127.0.0.1:0"),
        ("AFTERSALES__SERVER__SHUTDOWN_GRACE_MS", "3000"),
        // Classic queues that vanish two minutes after their last use: hundreds of tests leave
        // no quorum queues (each a Raft group) behind. The production type is tested where it
        // matters.
        ("AFTERSALES__AMQP__QUEUE_TYPE", "classic"),
        ("AFTERSALES__AMQP__QUEUE_EXPIRES_MS", "120000"),
        ("AFTERSALES__AMQP__RETRY_DELAY_MS", "200"),
        ("AFTERSALES__AMQP__MAX_ATTEMPTS", "3"),
        ("AFTERSALES__AUTH__JWT_SECRET", TEST_JWT_SECRET),
        ("AFTERSALES__TELEMETRY__LOG_FORMAT", "json"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.insert("AFTERSALES__AMQP__URL".into(), amqp_url());
    env.insert("AFTERSALES__AMQP__NAME_PREFIX".into(), bus.prefix.clone());
    if let Some(url) = database_url {
        env.insert("AFTERSALES__DATABASE__URL".into(), url.to_owned());
        env.insert("AFTERSALES__DATABASE__MAX_CONNECTIONS".into(), "10".into());
        env.insert("AFTERSALES__OUTBOX__POLL_INTERVAL_MS".into(), "200".into());
    }
    if let Some(prefix) = redis_prefix {
        env.insert("AFTERSALES__REDIS__URL".into(), redis_url());
        env.insert("AFTERSALES__REDIS__KEY_PREFIX".into(), prefix.to_owned());
    }
    env
}

/// Platform settings for a test of the platform itself (no service around it): port 0, the given
/// database, the test's broker names, quick retries, from the same environment as
/// [`service_env`].
pub fn settings(
    service: &str,
    database_url: &str,
    bus: &TestBus,
) -> crate::config::PlatformSettings {
    let shape = crate::config::Shape {
        service,
        grpc_port: Some(0),
        http_port: None,
        admin_port: 0,
        database: Some("unused"),
        redis: false,
    };
    let defaults = crate::config::PlatformSettings::defaults(&shape);
    let env = service_env(Some(database_url), bus, None);
    crate::config::Layers::load(&defaults, None, crate::config::EnvSource::Map(env))
        .and_then(|l| l.platform())
        .unwrap_or_else(|e| panic!("test settings: {e}"))
}

pub fn redis_url() -> String {
    std::env::var("AFTERSALES_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A token signed with [`TEST_JWT_SECRET`], valid for an hour.
pub fn token(subject: &str, branch: &str, roles: &[Role]) -> String {
    crate::auth::mint_hs256(
        TEST_JWT_SECRET,
        subject,
        branch,
        roles,
        Duration::from_secs(3600),
    )
    .unwrap_or_else(|e| panic!("mint token: {e}"))
}

/// A dealer's token (role `dealer`, claim `dealer`) signed with [`TEST_JWT_SECRET`], valid for
/// an hour.
pub fn dealer_token(subject: &str, branch: &str, dealer: &str) -> String {
    crate::auth::mint_hs256_dealer(
        TEST_JWT_SECRET,
        subject,
        branch,
        dealer,
        Duration::from_secs(3600),
    )
    .unwrap_or_else(|e| panic!("mint token: {e}"))
}

/// The fields an INVALID_ARGUMENT status names (its `google.rpc.BadRequest`), in order.
pub fn bad_request_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    crate::grpc::violations(status)
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// A token signed with [`TEST_JWT_SECRET`] that expired an hour ago.
pub fn expired_token(subject: &str, branch: &str, roles: &[Role]) -> String {
    let an_hour_ago = chrono::Utc::now().timestamp().max(3600) as u64 - 3600;
    crate::auth::mint_hs256_expiring_at(TEST_JWT_SECRET, subject, branch, roles, an_hour_ago)
        .unwrap_or_else(|e| panic!("mint token: {e}"))
}

/// A span as the OTLP receiver got it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CollectedSpan {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    /// OTLP SpanKind: 2 server, 3 client, 4 producer, 5 consumer.
    pub kind: i32,
    pub attributes: HashMap<String, String>,
    /// The exporting process's `service.name` resource attribute.
    pub service: String,
    /// Span links: (trace id, span id) of each linked span.
    pub links: Vec<(String, String)>,
}

#[derive(Default, Clone)]
struct Sink(Arc<Mutex<Vec<CollectedSpan>>>);

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut out = self
            .0
            .lock()
            .map_err(|_| tonic::Status::internal("poisoned"))?;
        for rs in request.into_inner().resource_spans {
            let resource: HashMap<String, String> = rs
                .resource
                .as_ref()
                .map(|r| attribute_map(&r.attributes))
                .unwrap_or_default();
            let service = resource.get("service.name").cloned().unwrap_or_default();
            for ss in rs.scope_spans {
                for s in ss.spans {
                    out.push(CollectedSpan {
                        name: s.name,
                        trace_id: hex(&s.trace_id),
                        span_id: hex(&s.span_id),
                        parent_span_id: hex(&s.parent_span_id),
                        kind: s.kind,
                        attributes: attribute_map(&s.attributes),
                        service: service.clone(),
                        links: s
                            .links
                            .iter()
                            .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                            .collect(),
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn attribute_map(
    attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue],
) -> HashMap<String, String> {
    attributes
        .iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                Some(any_value::Value::IntValue(i)) => i.to_string(),
                Some(any_value::Value::BoolValue(b)) => b.to_string(),
                Some(any_value::Value::DoubleValue(d)) => d.to_string(),
                Some(any_value::Value::ArrayValue(a)) => a
                    .values
                    .iter()
                    .filter_map(|v| match v.value.as_ref() {
                        Some(any_value::Value::StringValue(s)) => Some(s.clone()),
                        Some(any_value::Value::IntValue(i)) => Some(i.to_string()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                _ => String::new(),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

/// An OTLP/gRPC trace receiver of its own (for other processes to export to: the whole mesh's
/// binaries with `OTEL_EXPORTER_OTLP_ENDPOINT=http://<addr>`), collecting every span it gets.
pub struct OtlpReceiver {
    pub addr: std::net::SocketAddr,
    spans: Arc<Mutex<Vec<CollectedSpan>>>,
}

impl OtlpReceiver {
    /// Binds 127.0.0.1:0 and serves on the current runtime.
    pub async fn start() -> OtlpReceiver {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind OTLP receiver: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(Sink(spans.clone())))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        OtlpReceiver { addr, spans }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<CollectedSpan> {
        self.spans.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Forgets what was received (between scenarios).
    pub fn clear(&self) {
        if let Ok(mut s) = self.spans.lock() {
            s.clear();
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The process-wide test telemetry: subscriber, OTLP exporter and the receiver it sends to.
pub struct TestTelemetry {
    spans: Arc<Mutex<Vec<CollectedSpan>>>,
    provider: opentelemetry_sdk::trace::SdkTracerProvider,
}

impl TestTelemetry {
    /// Exports every finished span now.
    pub async fn flush(&self) {
        let p = self.provider.clone();
        let _ = tokio::task::spawn_blocking(move || p.force_flush()).await;
    }

    pub fn spans(&self) -> Vec<CollectedSpan> {
        self.spans.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Flushes until a span named `name` matching `pred` shows up, for at most `timeout`.
    pub async fn wait_for_span(
        &self,
        name: &str,
        pred: impl Fn(&CollectedSpan) -> bool,
        timeout: Duration,
    ) -> Option<CollectedSpan> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.flush().await;
            if let Some(s) = self.spans().into_iter().find(|s| s.name == name && pred(s)) {
                return Some(s);
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Installs the global subscriber once and returns the test telemetry.
pub fn telemetry() -> &'static TestTelemetry {
    static T: OnceLock<TestTelemetry> = OnceLock::new();
    T.get_or_init(|| {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(spans.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        // The receiver and the exporter's channel live on a runtime of their own that outlives
        // every test's runtime.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("telemetry runtime: {e}"));
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap_or_else(|e| panic!("bind OTLP receiver: {e}"));
                let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
                tokio::spawn(
                    tonic::transport::Server::builder()
                        .add_service(TraceServiceServer::new(sink))
                        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
                );
                let provider = crate::telemetry::tracer_provider("tests", &format!("http://{addr}"), 1 << 18)
                    .unwrap_or_else(|e| panic!("OTLP exporter: {e}"));
                let _ = tx.send(provider);
                std::future::pending::<()>().await;
            });
        });
        let provider = rx.recv().unwrap_or_else(|e| panic!("telemetry thread: {e}"));
        opentelemetry::global::set_text_map_propagator(crate::telemetry::propagator());
        opentelemetry::global::set_tracer_provider(provider.clone());
        use opentelemetry::trace::TracerProvider as _;
        let span_filter = || EnvFilter::new("info,h2=off,tower=off,hyper=off,hyper_util=off,tonic=off,lapin=off,sqlx=off,opentelemetry_sdk=off");
        let otel = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("tests"))
            .with_filter(span_filter());
        // As in production: the request numbers' layer before the OpenTelemetry one.
        let request = crate::telemetry::request::layer().with_filter(span_filter());
        let log = std::env::var_os("TEST_LOG").map(|_| {
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        });
        let _ = tracing_subscriber::registry()
            .with(request)
            .with(otel)
            .with(log)
            .try_init();
        TestTelemetry { spans, provider }
    })
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Who an event published by a test claims to come from, and what it is about.
#[derive(Debug, Clone, Copy)]
pub struct TestEvent<'a> {
    pub id: &'a str,
    pub producer: &'a str,
    pub request_no: &'a str,
    pub branch: &'a str,
}

/// Publishes `payload` on the test's events exchange as the producing service's relay would
/// (envelope, message id, type = routing key, persistent) and waits for the broker's confirm.
/// `ch` must be in confirm mode.
pub async fn publish_event<E: aftersales_proto::catalogue::Event>(
    ch: &lapin::Channel,
    bus: &crate::bus::Bus,
    ev: TestEvent<'_>,
    payload: &E,
) {
    use prost::Message as _;
    let now = chrono::Utc::now();
    let env = aftersales_proto::common::v1::EventEnvelope {
        event_id: ev.id.to_owned(),
        r#type: E::full_name(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: now.timestamp(),
            nanos: now.timestamp_subsec_nanos() as i32,
        }),
        producer: ev.producer.into(),
        subject: ev.request_no.into(),
        sequence: 1,
        branch: ev.branch.into(),
        payload: payload.encode_to_vec(),
        routing_key: E::ROUTING_KEY.into(),
        request_no: ev.request_no.into(),
    };
    ch.basic_publish(
        bus.topology.exchange.as_str().into(),
        E::ROUTING_KEY.into(),
        lapin::options::BasicPublishOptions {
            mandatory: true,
            ..Default::default()
        },
        &env.encode_to_vec(),
        lapin::BasicProperties::default()
            .with_message_id(ev.id.into())
            .with_type(E::ROUTING_KEY.into())
            .with_delivery_mode(2),
    )
    .await
    .unwrap_or_else(|e| panic!("publish {}: {e}", E::ROUTING_KEY))
    .await
    .unwrap_or_else(|e| panic!("confirm {}: {e}", E::ROUTING_KEY));
}

/// A queue of its own bound to `pattern` on the test's events exchange, yielding every envelope
/// that arrives (the queue expires when the test is gone).
pub async fn subscribe(
    conn: &lapin::Connection,
    bus: &crate::bus::Bus,
    pattern: &str,
) -> tokio::sync::mpsc::UnboundedReceiver<aftersales_proto::common::v1::EventEnvelope> {
    use futures_util::StreamExt;
    use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
    use lapin::types::{AMQPValue, FieldTable};
    use prost::Message as _;
    let ch = conn
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("probe channel: {e}"));
    let name = format!(
        "{}probe.{}",
        bus.topology.prefix,
        uuid::Uuid::new_v4().simple()
    );
    let mut args = FieldTable::default();
    args.insert("x-expires".into(), AMQPValue::LongUInt(600_000));
    ch.queue_declare(name.as_str().into(), QueueDeclareOptions::default(), args)
        .await
        .unwrap_or_else(|e| panic!("probe queue: {e}"));
    ch.queue_bind(
        name.as_str().into(),
        bus.topology.exchange.as_str().into(),
        pattern.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("bind probe: {e}"));
    let mut consumer = ch
        .basic_consume(
            name.as_str().into(),
            "probe".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("consume probe: {e}"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _keep = ch;
        while let Some(Ok(d)) = consumer.next().await {
            let Ok(env) = aftersales_proto::common::v1::EventEnvelope::decode(d.data.as_slice())
            else {
                continue;
            };
            if tx.send(env).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits until the service's admin port answers `/readyz` with 200 (database, migrations and
/// broker up); panics naming `service` after 90 s.
pub async fn wait_ready(admin: std::net::SocketAddr, service: &str) {
    eventually(Duration::from_secs(90), || async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(admin).await.ok()?;
        s.write_all(b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.ok()?;
        buf.starts_with("HTTP/1.1 200").then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{service} did not become ready (database, migrations, broker)"));
}

/// How many deliveries the consumers of this process handled on `queue` with `outcome` (ok,
/// duplicate, retried, dead_lettered, race_retried), over every routing key: a test waits for
/// a burst to be fully handled with it instead of sleeping.
pub fn consumer_count(queue: &str, outcome: &str) -> u64 {
    use prometheus::core::Collector;
    crate::telemetry::metrics()
        .consumer_processed
        .collect()
        .iter()
        .flat_map(|f| f.get_metric())
        .filter(|m| {
            let labels = m.get_label();
            labels
                .iter()
                .any(|l| l.name() == "queue" && l.value() == queue)
                && labels
                    .iter()
                    .any(|l| l.name() == "outcome" && l.value() == outcome)
        })
        .map(|m| m.get_counter().get_value() as u64)
        .sum()
}

/// Deletes every Redis key under `prefix` (a test's own keys).
pub async fn delete_redis_keys(prefix: &str) {
    let Ok(client) = redis::Client::open(redis_url()) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
    }
}
