//! The service kit: a service declares what it is ([`Spec`]), its own settings section
//! ([`Config`]) and builds its domain ([`Service::build`] → [`Parts`]: gRPC services, event
//! subscriptions, background tasks and scanners); the kit does everything else, the same way for
//! every service:
//!
//! config (defaults → file → `AFTERSALES__…`, validated, exit 64 naming the key) → telemetry →
//! database and migrations → gRPC / HTTP / admin listeners → the service's parts → the broker
//! topology, the outbox relay and the consumer → serving until SIGTERM, under one
//! [`supervisor`]: a task that ends or panics unexpectedly takes readiness down and the process
//! out (non-zero) after the grace period. Shutdown drains in order: stop taking work (gRPC,
//! deliveries, scanners), finish what is in flight, a last relay pass, then the admin port.
//!
//! The command line is the same everywhere (`serve` (default), `migrate`, `dlq list|replay`,
//! `outbox list-quarantined|retry-quarantined`, `topology declare`, `config keys`) plus the
//! service's own subcommands ([`Service::Command`]).
//!
//! A service's `main.rs` is `aftersales_platform::kit::main::<TheService>()`; its tests start it
//! with `platform::testing::TestService`.

pub mod cli;
pub mod supervisor;

use std::collections::HashMap;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use chrono::FixedOffset;
use sea_orm::DatabaseConnection;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;

use crate::auth::Verifier;
use crate::bus::{Bus, Consumer, Subscription};
use crate::calendar::Calendar;
use crate::clock::Clock;
use crate::config::{ConfigError, EnvSource, Layers, PlatformSettings, Shape, Validated};
use crate::db::{self, Migrations};
use crate::grpc::Services;
use crate::http_admin::{self, Readiness};
use crate::kv::Redis;
use crate::outbox::{Outbox, Relay, RelayHandle};
use crate::scanner::{self, Scanner, ScannerHandle};
use crate::shutdown::Shutdown;
use crate::telemetry::links::FirstTraces;

pub use cli::{NoCommand, main};

/// What a service is.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// `claims-review`: the producer of its events, its queues, its log lines.
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// Its own settings section (`claims_review`: `AFTERSALES__CLAIMS_REVIEW__…`).
    pub section: &'static str,
    /// Default gRPC port; `None` for a service without a gRPC API.
    pub grpc_port: Option<u16>,
    /// Default public HTTP port (the gateway); `None` for the others.
    pub http_port: Option<u16>,
    /// Default admin port (`/healthz`, `/readyz`, `/metrics`).
    pub admin_port: u16,
    /// The database it owns (default name), if any.
    pub database: Option<&'static str>,
    /// Every migration it runs, platform first.
    pub migrations: &'static [Migrations],
    /// Whether it uses Redis.
    pub redis: bool,
}

impl Spec {
    fn shape(&self) -> Shape<'static> {
        Shape {
            service: self.name,
            grpc_port: self.grpc_port,
            http_port: self.http_port,
            admin_port: self.admin_port,
            database: self.database,
            redis: self.redis,
        }
    }
}

/// A service's own settings section.
pub trait Config: DeserializeOwned + Clone + Debug + Send + Sync + 'static {
    /// The section's defaults: TOML key lines, without the `[section]` header.
    const DEFAULTS: &'static str;
    /// Dotted keys read without a default (secrets: `intake.notify.smtp_password`), so
    /// `config keys` lists them and setting one is not warned about as unread.
    const OPTIONAL_KEYS: &'static [&'static str] = &[];
    /// Reads the settings from the merged layers: by default the section named in the
    /// service's [`Spec`]; a service with more sections of its own (the gateway's `peers`)
    /// reads them here.
    fn from_layers(layers: &Layers, section: &str) -> Result<Self, ConfigError> {
        layers.section(section)
    }

    /// Checks the values (naming the key, `claims_review.max_page_size`) and loads what they
    /// point at (a policy file). Runs after the test hook, so a test may set what it loads.
    fn prepare(&mut self, _platform: &PlatformSettings) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// For a service without a section of its own.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NoConfig {}

impl Config for NoConfig {
    const DEFAULTS: &'static str = "";
}

/// A service's settings: the platform's and its own.
#[derive(Debug, Clone)]
pub struct Settings<C> {
    pub platform: PlatformSettings,
    pub own: C,
    pub validated: Validated,
}

/// The merged defaults of a service: the platform's sections and its own.
pub fn defaults<S: Service>() -> String {
    let spec = S::SPEC;
    let mut toml = PlatformSettings::defaults(&spec.shape());
    toml.push_str(&format!("\n[{}]\n{}\n", spec.section, S::Config::DEFAULTS));
    toml
}

/// Loads and validates a service's settings. `adjust` (tests) may change them before they are
/// validated.
pub fn load<S: Service>(
    file: Option<&Path>,
    env: EnvSource,
    adjust: impl FnOnce(&mut PlatformSettings, &mut S::Config),
) -> Result<Settings<S::Config>, ConfigError> {
    let layers = Layers::load(&defaults::<S>(), file, env)?;
    let mut platform = layers.platform()?;
    let mut own = S::Config::from_layers(&layers, S::SPEC.section)?;
    adjust(&mut platform, &mut own);
    let validated = platform.validate()?;
    own.prepare(&platform)?;
    Ok(Settings {
        platform,
        own,
        validated,
    })
}

/// A service: what it is, its settings, how its domain is built from what the kit provides.
pub trait Service: Sized + Send + Sync + 'static {
    const SPEC: Spec;
    type Config: Config;
    /// Its own subcommands beside the common ones ([`NoCommand`] for none).
    type Command: clap::Subcommand + Send + 'static;

    /// Builds the domain: gRPC services, subscriptions, tasks, scanners.
    fn build(ctx: &mut Ctx<Self::Config>) -> impl Future<Output = anyhow::Result<Parts>> + Send;

    /// Runs one of its own subcommands.
    fn command(
        command: Self::Command,
        tool: Tool<Self::Config>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        let _ = (command, tool);
        async { Ok(()) }
    }
}

/// What the kit gives a service to build its domain with.
pub struct Ctx<C> {
    pub settings: Arc<Settings<C>>,
    pub clock: Clock,
    pub calendar: Calendar,
    /// The department's local time.
    pub offset: FixedOffset,
    pub verifier: Verifier,
    /// Stages this service's events.
    pub outbox: Outbox,
    pub bus: Bus,
    /// Fires when the service stops taking work.
    pub shutdown: Shutdown,
    pub readiness: Readiness,
    db: Option<DatabaseConnection>,
    redis: Option<Redis>,
    http: Option<TcpListener>,
    first_traces: Option<FirstTraces>,
}

impl<C> Ctx<C> {
    pub fn config(&self) -> &C {
        &self.settings.own
    }

    pub fn platform(&self) -> &PlatformSettings {
        &self.settings.platform
    }

    /// The SLA clocks under the configured calendar.
    pub fn clocks(&self) -> Result<crate::sla::Clocks, ConfigError> {
        crate::sla::Clocks::new(&self.settings.platform.calendar)
            .map_err(|e| ConfigError::new(e.key, e.message))
    }

    /// The service's database (its [`Spec`] names one).
    pub fn db(&self) -> anyhow::Result<DatabaseConnection> {
        self.db
            .clone()
            .ok_or_else(|| anyhow::anyhow!("{} has no database", self.outbox.producer()))
    }

    /// Each request's first trace in this service (a service with a database): for a span
    /// that starts a trace of its own about requests (a scanner's item, a batch serving several
    /// requests: [`FirstTraces::root_span`]), linked to their first traces (DESIGN §9). RPCs,
    /// deliveries and scanner ticks get their links from the kit.
    pub fn first_traces(&self) -> Option<FirstTraces> {
        self.first_traces.clone()
    }

    /// Redis, under this process's key prefix (its [`Spec`] asks for it).
    pub fn redis(&self) -> anyhow::Result<Redis> {
        self.redis
            .clone()
            .ok_or_else(|| anyhow::anyhow!("{} has no redis", self.outbox.producer()))
    }

    /// The bound public HTTP listener (once).
    pub fn take_http_listener(&mut self) -> anyhow::Result<TcpListener> {
        self.http
            .take()
            .ok_or_else(|| anyhow::anyhow!("no server.http_addr for this service"))
    }

    /// The largest gRPC message, for the generated servers' limits (see [`grpc_server!`]).
    pub fn max_message_bytes(&self) -> usize {
        self.settings.platform.server.max_message_bytes
    }
}

/// A tonic-generated server with the configured message size limits both ways:
/// `grpc_server!(IntakeServiceServer::new(api), ctx)`. (Generated servers share no trait for
/// these setters, hence a macro.)
#[macro_export]
macro_rules! grpc_server {
    ($server:expr, $ctx:expr) => {{
        let max = $ctx.max_message_bytes();
        $server
            .max_decoding_message_size(max)
            .max_encoding_message_size(max)
    }};
}

/// A long-running task of a service: runs until the shutdown it is given fires; ending before
/// that (or panicking) is a failure that takes the process down.
pub type TaskFn = Box<
    dyn FnOnce(Shutdown) -> futures_util::future::BoxFuture<'static, anyhow::Result<()>> + Send,
>;

/// What a service runs.
#[derive(Default)]
pub struct Parts {
    pub(crate) grpc: Services,
    pub(crate) subscriptions: Vec<Subscription>,
    pub(crate) tasks: Vec<(String, TaskFn)>,
    pub(crate) scanners: Vec<Scanner>,
    pub(crate) dependency: Option<crate::bus::DependencyCheck>,
}

impl Parts {
    pub fn new() -> Self {
        Self::default()
    }

    /// A gRPC service (served with health and reflection).
    pub fn grpc<S>(mut self, svc: S) -> Self
    where
        S: tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = std::convert::Infallible,
            > + tonic::server::NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.grpc = self.grpc.with(svc);
        self
    }

    /// The event handlers (their keys must match the service's row of the topology table).
    pub fn subscriptions(mut self, subs: Vec<Subscription>) -> Self {
        self.subscriptions.extend(subs);
        self
    }

    /// A long-running task; it must end when its shutdown fires.
    pub fn task<F, Fut>(mut self, name: &str, run: F) -> Self
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.tasks
            .push((name.to_owned(), Box::new(move |s| Box::pin(run(s)))));
        self
    }

    /// A scan on a schedule, once across replicas.
    pub fn scanner(mut self, scanner: Scanner) -> Self {
        self.scanners.push(scanner);
        self
    }

    /// What a paused consumer waits for, for a service without a database (the gateway's feed
    /// waits for Redis); a service with one waits for its database.
    pub fn consumer_waits_for<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.dependency = Some(std::sync::Arc::new(move || Box::pin(check())));
        self
    }
}

/// A started service.
pub struct Running {
    pub name: &'static str,
    pub grpc_addr: Option<SocketAddr>,
    pub http_addr: Option<SocketAddr>,
    pub admin_addr: SocketAddr,
    /// Stops it (SIGTERM does the same).
    pub shutdown: Shutdown,
    pub readiness: Readiness,
    pub clock: Clock,
    pub db: Option<DatabaseConnection>,
    pub relay: Option<RelayHandle>,
    pub scanners: HashMap<&'static str, ScannerHandle>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Waits until it stopped; an error when a task failed.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.done.await?
    }

    /// Stops it and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        self.wait().await
    }

    /// Whether it stopped already.
    pub fn is_finished(&self) -> bool {
        self.done.is_finished()
    }

    pub fn scanner(&self, name: &str) -> anyhow::Result<ScannerHandle> {
        self.scanners
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{} has no scanner {name}", self.name))
    }
}

/// Connects to the service's database and applies its migrations.
pub async fn connect_and_migrate<S: Service>(
    platform: &PlatformSettings,
) -> anyhow::Result<Option<DatabaseConnection>> {
    let Some(_) = S::SPEC.database else {
        return Ok(None);
    };
    let settings = platform.database()?;
    let conn = db::connect(settings).await?;
    let applied = db::migrate(&conn, S::SPEC.migrations).await?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    Ok(Some(conn))
}

/// Starts the service: everything up to serving, then the supervisor in the background.
pub async fn start<S: Service>(
    settings: Settings<S::Config>,
    clock: Clock,
) -> anyhow::Result<Running> {
    let spec = S::SPEC;
    let platform = &settings.platform;
    let calendar = platform
        .calendar
        .build()
        .map_err(|e| ConfigError::new(e.key, e.message))?;
    let offset = FixedOffset::east_opt(platform.calendar.utc_offset_minutes * 60)
        .ok_or_else(|| ConfigError::new("calendar.utc_offset_minutes", "out of range"))?;
    let verifier = Verifier::from_settings(&platform.auth)?;
    let db = connect_and_migrate::<S>(platform).await?;
    let redis = match (&platform.redis, spec.redis) {
        (Some(r), true) => Some(Redis::new(r)?),
        _ => None,
    };
    let v = &settings.validated;
    let grpc_listener = match v.grpc_addr {
        Some(a) => Some(TcpListener::bind(a).await?),
        None => None,
    };
    let http_listener = match v.http_addr {
        Some(a) => Some(TcpListener::bind(a).await?),
        None => None,
    };
    let admin_listener = TcpListener::bind(v.admin_addr).await?;
    let grpc_addr = grpc_listener.as_ref().map(|l| l.local_addr()).transpose()?;
    let http_addr = http_listener.as_ref().map(|l| l.local_addr()).transpose()?;
    let admin_addr = admin_listener.local_addr()?;

    let shutdown = Shutdown::new();
    let readiness = Readiness::new(db.clone(), spec.migrations).named(spec.name);
    let bus = Bus::new(&platform.amqp);
    let first_traces = db.clone().map(FirstTraces::new);
    let settings = Arc::new(settings);
    let mut ctx = Ctx {
        settings: settings.clone(),
        clock: clock.clone(),
        calendar,
        offset,
        verifier: verifier.clone(),
        outbox: Outbox::new(spec.name),
        bus: bus.clone(),
        shutdown: shutdown.clone(),
        readiness: readiness.clone(),
        db: db.clone(),
        redis,
        http: http_listener,
        first_traces: first_traces.clone(),
    };
    let parts = S::build(&mut ctx).await?;
    drop(ctx);

    let mut sup = supervisor::Supervisor::new(
        spec.name,
        shutdown.clone(),
        readiness.clone(),
        std::time::Duration::from_millis(settings.platform.server.shutdown_grace_ms),
    );
    // Work comes in: gRPC, deliveries, scanners, the service's own tasks.
    if let Some(listener) = grpc_listener {
        let server_settings = settings.platform.server.clone();
        let r = readiness.clone();
        let services = parts.grpc.with_first_traces(first_traces.clone());
        let v = verifier.clone();
        sup.intake("grpc", move |stop| async move {
            crate::grpc::serve(listener, services, &server_settings, r, Some(v), stop).await
        });
    }
    if verifier.uses_jwks() {
        let v = verifier.clone();
        sup.intake("jwks refresh", move |stop| v.keep_keys_fresh(stop));
    }
    if !parts.subscriptions.is_empty() {
        let mut consumer = Consumer::new(db.clone(), bus.clone(), spec.name, parts.subscriptions)?
            .with_first_traces(first_traces.clone());
        if let Some(check) = parts.dependency {
            consumer = consumer.waiting_for(check);
        }
        readiness.add_consumer(consumer.state());
        sup.intake("consumer", move |stop| consumer.run(stop));
    }
    let mut scanners = HashMap::new();
    for s in parts.scanners {
        let db = db
            .clone()
            .ok_or_else(|| anyhow::anyhow!("scanner {} needs a database", s.name))?;
        let name = s.name;
        let s = s.with_first_traces(first_traces.clone());
        let (handle, run) = scanner::start(s, spec.name, db, clock.clone());
        scanners.insert(name, handle);
        sup.intake(&format!("scanner {name}"), run);
    }
    for (name, run) in parts.tasks {
        sup.intake(&name, run);
    }
    // Work goes out: the relay stops after everything above drained.
    let relay = match &db {
        Some(db) => {
            let outbox = settings
                .platform
                .outbox
                .clone()
                .ok_or_else(|| ConfigError::new("outbox.batch_size", "missing"))?;
            let relay = Relay::new(db.clone(), bus.clone(), spec.name, outbox);
            let handle = relay.handle();
            readiness.set_relay(handle.clone());
            sup.outflow("relay", move |stop| relay.run(stop));
            Some(handle)
        }
        None => None,
    };
    {
        let r = readiness.clone();
        sup.admin("admin", move |stop| {
            http_admin::serve(admin_listener, r, stop)
        });
    }
    tracing::info!(
        grpc = grpc_addr.map(|a| a.to_string()).unwrap_or_default(),
        http = http_addr.map(|a| a.to_string()).unwrap_or_default(),
        admin = %admin_addr,
        "serving"
    );
    let done = tokio::spawn(sup.run());
    Ok(Running {
        name: spec.name,
        grpc_addr,
        http_addr,
        admin_addr,
        shutdown,
        readiness,
        clock,
        db,
        relay,
        scanners,
        done,
    })
}

/// What a service's own subcommand gets: its settings and lazy access to its database.
pub struct Tool<C> {
    pub settings: Settings<C>,
}

impl<C> Tool<C> {
    /// The development HS256 secret (seeding the demo data, minting development tokens); an
    /// error naming the key when the deployment verifies with public keys instead.
    pub fn dev_secret(&self) -> Result<String, ConfigError> {
        use secrecy::ExposeSecret;
        let a = &self.settings.platform.auth;
        if !a.dev_tokens {
            return Err(ConfigError::new(
                "auth.dev_tokens",
                "minting development tokens is off (set it to true in development; make up does)",
            ));
        }
        if a.jwks_url.is_some() || a.jwt_public_key_file.is_some() {
            return Err(ConfigError::new(
                "auth.dev_tokens",
                "this deployment verifies with an identity provider's keys: it mints no tokens",
            ));
        }
        a.jwt_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .ok_or_else(|| {
                ConfigError::new("auth.jwt_secret", "development tools need the HS256 secret")
            })
    }

    pub async fn db(&self) -> anyhow::Result<DatabaseConnection> {
        Ok(db::connect(self.settings.platform.database()?).await?)
    }

    pub fn bus(&self) -> Bus {
        Bus::new(&self.settings.platform.amqp)
    }

    pub fn config(&self) -> &C {
        &self.settings.own
    }

    /// The working calendar, as `serve` builds it.
    pub fn calendar(&self) -> Result<Calendar, ConfigError> {
        self.settings
            .platform
            .calendar
            .build()
            .map_err(|e| ConfigError::new(e.key, e.message))
    }

    /// The department's local offset.
    pub fn offset(&self) -> Result<FixedOffset, ConfigError> {
        FixedOffset::east_opt(self.settings.platform.calendar.utc_offset_minutes * 60)
            .ok_or_else(|| ConfigError::new("calendar.utc_offset_minutes", "out of range"))
    }

    /// The SLA clocks under the configured calendar (`<service> sla recompute`).
    pub fn clocks(&self) -> Result<crate::sla::Clocks, ConfigError> {
        crate::sla::Clocks::new(&self.settings.platform.calendar)
            .map_err(|e| ConfigError::new(e.key, e.message))
    }

    /// Redis under the configured key prefix (connects on first use).
    pub fn redis(&self) -> anyhow::Result<Redis> {
        let settings = self
            .settings
            .platform
            .redis
            .as_ref()
            .ok_or_else(|| ConfigError::new("redis.url", "this tool needs Redis"))?;
        Redis::new(settings)
    }
}
