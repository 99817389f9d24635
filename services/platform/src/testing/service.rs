//! Any service of the mesh, started in process for a test on a fresh database, the test's broker
//! names and port 0, from the same `AFTERSALES__…` environment its binary would read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aftersales_proto::catalogue::Event;
use aftersales_proto::common::v1::EventEnvelope;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::{OnceCell, mpsc};

use crate::bus::Bus;
use crate::clock::Clock;
use crate::config::{EnvSource, PlatformSettings};
use crate::kit::{self, Running, Service, Settings};
use crate::testing::{self, TestBus, TestDb, TestEvent};

type Adjust<C> = Box<dyn FnOnce(&mut PlatformSettings, &mut C) + Send>;

/// How to start a service for a test.
pub struct TestServiceBuilder<S: Service> {
    bus: Option<Arc<TestBus>>,
    database_url: Option<String>,
    env: HashMap<String, String>,
    clock: Clock,
    adjust: Option<Adjust<S::Config>>,
    wait_ready: bool,
    redis_prefix: Option<String>,
}

impl<S: Service> TestServiceBuilder<S> {
    /// Shares the broker names of other services of the test (their events flow to it).
    pub fn bus(mut self, bus: &Arc<TestBus>) -> Self {
        self.bus = Some(bus.clone());
        self
    }

    /// Uses an existing database (a second replica of a service) instead of a fresh one.
    pub fn database_url(mut self, url: &str) -> Self {
        self.database_url = Some(url.to_owned());
        self
    }

    /// One more `AFTERSALES__…` variable.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.insert(key.to_owned(), value.into());
        self
    }

    /// A clock of the test's (e.g. [`Clock::manual`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Changes the loaded settings before they are validated and prepared.
    pub fn adjust(
        mut self,
        f: impl FnOnce(&mut PlatformSettings, &mut S::Config) + Send + 'static,
    ) -> Self {
        self.adjust = Some(Box::new(f));
        self
    }

    /// Uses an existing Redis key prefix (a restarted or second instance sharing the data).
    pub fn redis_prefix(mut self, prefix: &str) -> Self {
        self.redis_prefix = Some(prefix.to_owned());
        self
    }

    /// Returns as soon as it serves, without waiting for `/readyz`.
    pub fn no_wait(mut self) -> Self {
        self.wait_ready = false;
        self
    }

    pub async fn start(self) -> TestService<S> {
        testing::telemetry();
        let spec = S::SPEC;
        let bus = self.bus.unwrap_or_else(|| Arc::new(TestBus::new()));
        let (db, url) = match (spec.database, self.database_url) {
            (None, _) => (None, None),
            (Some(_), Some(url)) => (None, Some(url)),
            (Some(_), None) => {
                let db = TestDb::create(spec.migrations).await;
                let url = db.url.clone();
                (Some(db), Some(url))
            }
        };
        let redis_prefix = match (spec.redis, self.redis_prefix) {
            (false, _) => None,
            (true, Some(p)) => Some(p),
            (true, None) => Some(format!("test:{}:", uuid::Uuid::new_v4().simple())),
        };
        let mut env = testing::service_env(url.as_deref(), &bus, redis_prefix.as_deref());
        env.extend(self.env);
        let adjust = self.adjust;
        let settings = kit::load::<S>(None, EnvSource::Map(env.clone()), |p, c| {
            if let Some(f) = adjust {
                f(p, c)
            }
        })
        .unwrap_or_else(|e| panic!("{} test settings: {e}", spec.name));
        let running = kit::start::<S>(settings.clone(), self.clock)
            .await
            .unwrap_or_else(|e| panic!("{} starts: {e:#}", spec.name));
        let t = TestService {
            running: Some(running),
            db,
            bus,
            env,
            settings,
            redis_prefix,
            publisher: OnceCell::new(),
        };
        if self.wait_ready {
            testing::wait_ready(t.admin_addr(), spec.name).await;
        }
        t
    }
}

/// A service running in process for a test. Dropping it stops nothing cleanly: call
/// [`TestService::stop`].
pub struct TestService<S: Service> {
    running: Option<Running>,
    /// Its database, when the test created it (dropped with the service).
    pub db: Option<TestDb>,
    pub bus: Arc<TestBus>,
    /// The environment it was started with (start its binary with the same).
    pub env: HashMap<String, String>,
    pub settings: Settings<S::Config>,
    pub redis_prefix: Option<String>,
    publisher: OnceCell<Publisher>,
}

impl<S: Service> TestService<S> {
    pub fn builder() -> TestServiceBuilder<S> {
        TestServiceBuilder {
            bus: None,
            database_url: None,
            env: HashMap::new(),
            clock: Clock::system(),
            adjust: None,
            wait_ready: true,
            redis_prefix: None,
        }
    }

    /// Started with the defaults, ready.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn running(&self) -> &Running {
        self.running
            .as_ref()
            .unwrap_or_else(|| panic!("{} was stopped", S::SPEC.name))
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.running()
            .grpc_addr
            .unwrap_or_else(|| panic!("{} has no gRPC listener", S::SPEC.name))
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc_addr())
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.running()
            .http_addr
            .unwrap_or_else(|| panic!("{} has no HTTP listener", S::SPEC.name))
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.running().admin_addr
    }

    pub fn clock(&self) -> &Clock {
        &self.running().clock
    }

    /// Its database connection.
    pub fn conn(&self) -> &DatabaseConnection {
        self.running()
            .db
            .as_ref()
            .unwrap_or_else(|| panic!("{} has no database", S::SPEC.name))
    }

    /// Its database's URL.
    pub fn database_url(&self) -> String {
        self.env
            .get("AFTERSALES__DATABASE__URL")
            .cloned()
            .unwrap_or_else(|| panic!("{} has no database", S::SPEC.name))
    }

    pub fn bus_settings(&self) -> Bus {
        Bus::new(&self.settings.platform.amqp)
    }

    /// The first column of the first row of `sql` as a number.
    pub async fn count(&self, sql: &str) -> i64 {
        let row = self
            .conn()
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unwrap_or_else(|| panic!("{sql}: no row"));
        row.try_get_by_index::<i64>(0)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Waits until `sql` counts `expected`, for at most 30 s.
    pub async fn wait_count(&self, sql: &str, expected: i64) {
        let mut last = -1;
        for _ in 0..600 {
            last = self.count(sql).await;
            if last == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{sql}: {last}, expected {expected}");
    }

    async fn publisher(&self) -> &Publisher {
        self.publisher
            .get_or_init(|| Publisher::connect(&self.bus))
            .await
    }

    /// Publishes `payload` as `producer`'s relay would, about `request_no`; returns the event id.
    pub async fn publish<E: Event>(
        &self,
        producer: &str,
        request_no: &str,
        branch: &str,
        payload: &E,
    ) -> String {
        self.publisher()
            .await
            .publish(producer, request_no, branch, payload)
            .await
    }

    pub async fn publish_with_id<E: Event>(
        &self,
        id: &str,
        producer: &str,
        request_no: &str,
        branch: &str,
        payload: &E,
    ) {
        self.publisher()
            .await
            .publish_with_id(id, producer, request_no, branch, payload)
            .await
    }

    /// A queue of the test's own bound to `pattern`, yielding every envelope.
    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        self.publisher().await.subscribe(pattern).await
    }

    /// Runs the scanner `name` once at the clock's now: `Some(n)` handled, `None` when another
    /// replica (or this one's own loop, woken by a clock move) held it at that moment.
    pub async fn try_scan(&self, name: &str) -> Option<usize> {
        self.running()
            .scanner(name)
            .unwrap_or_else(|e| panic!("{e}"))
            .run_now()
            .await
            .unwrap_or_else(|e| panic!("scan {name}: {e:#}"))
    }

    /// Runs the scanner `name` once at the clock's now, waiting (up to 30 s) while another run
    /// holds it; how many things this run handled.
    pub async fn scan(&self, name: &str) -> usize {
        testing::eventually(Duration::from_secs(30), || self.try_scan(name))
            .await
            .unwrap_or_else(|| panic!("scanner {name} stayed busy for 30 s"))
    }

    /// Stops it (as SIGTERM would) and checks it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop()
                .await
                .unwrap_or_else(|e| panic!("{} stopped with an error: {e:#}", S::SPEC.name));
        }
        if let Some(prefix) = &self.redis_prefix {
            testing::delete_redis_keys(prefix).await;
        }
    }

    /// Stops it and returns how it ended (a test that makes a task fail expects an error).
    pub async fn stop_result(mut self) -> anyhow::Result<()> {
        match self.running.take() {
            Some(r) => r.stop().await,
            None => Ok(()),
        }
    }

    /// Takes the running service out (to wait on it, say), leaving the test's database and bus.
    pub fn take_running(&mut self) -> Running {
        self.running
            .take()
            .unwrap_or_else(|| panic!("{} was stopped", S::SPEC.name))
    }
}

/// Publishes events onto a test's exchange as the producing services' relays would, straight to
/// the real broker (never through a service's fault proxy), and subscribes test queues to it.
pub struct Publisher {
    bus: Bus,
    conn: lapin::Connection,
    ch: lapin::Channel,
}

impl Publisher {
    pub async fn connect(names: &TestBus) -> Publisher {
        let env = testing::service_env(None, names, None);
        let defaults = crate::config::PlatformSettings::defaults(&crate::config::Shape {
            service: "test-publisher",
            grpc_port: None,
            http_port: None,
            admin_port: 0,
            database: None,
            redis: false,
        });
        let settings = crate::config::Layers::load(&defaults, None, EnvSource::Map(env))
            .and_then(|l| l.platform())
            .unwrap_or_else(|e| panic!("publisher settings: {e}"));
        let bus = Bus::new(&settings.amqp);
        let conn = bus.connect("test-publisher").await.unwrap_or_else(|e| {
            panic!(
                "RabbitMQ is not reachable at {}: {e}. Start it (make infra).",
                testing::amqp_url()
            )
        });
        let ch = conn
            .create_channel()
            .await
            .unwrap_or_else(|e| panic!("channel: {e}"));
        ch.confirm_select(Default::default())
            .await
            .unwrap_or_else(|e| panic!("confirms: {e}"));
        bus.declare_exchanges(&ch)
            .await
            .unwrap_or_else(|e| panic!("exchanges: {e}"));
        Publisher { bus, conn, ch }
    }

    pub async fn publish<E: Event>(
        &self,
        producer: &str,
        request_no: &str,
        branch: &str,
        payload: &E,
    ) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        self.publish_with_id(&id, producer, request_no, branch, payload)
            .await;
        id
    }

    pub async fn publish_with_id<E: Event>(
        &self,
        id: &str,
        producer: &str,
        request_no: &str,
        branch: &str,
        payload: &E,
    ) {
        testing::publish_event(
            &self.ch,
            &self.bus,
            TestEvent {
                id,
                producer,
                request_no,
                branch,
            },
            payload,
        )
        .await;
    }

    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        testing::subscribe(&self.conn, &self.bus, pattern).await
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }
}
