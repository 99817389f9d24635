//! The admin port: `/healthz` (the process is alive), `/readyz` (ready to take work: database
//! reachable and migrated, broker links up, no consumer paused, every long-running task alive,
//! not stopping) and `/metrics` (Prometheus text format). It is never behind the public ingress.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::bus::ConsumerState;
use crate::db::{self, Migrations};
use crate::outbox::RelayHandle;
use crate::shutdown::Shutdown;
use crate::telemetry::metrics;

/// What "ready" means for a service. Cheap to clone; the parts register themselves as the
/// service starts.
#[derive(Clone, Default)]
pub struct Readiness(Arc<Inner>);

#[derive(Default)]
struct Inner {
    /// The service's name, the label of `aftersales_ready`.
    service: Mutex<String>,
    db: Option<DatabaseConnection>,
    migrations: &'static [Migrations],
    consumers: Mutex<Vec<Arc<ConsumerState>>>,
    relay: Mutex<Option<RelayHandle>>,
    /// Other links that must be up (name, up).
    links: Mutex<Vec<(&'static str, Arc<AtomicBool>)>>,
    failed: Mutex<Vec<String>>,
    stopping: AtomicBool,
}

/// The answer of one readiness check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReadyReport {
    pub ready: bool,
    pub database: bool,
    pub migrations: bool,
    /// Every consumer and the relay hold a broker connection.
    pub broker: bool,
    /// A consumer waits for the database to come back.
    pub consumer_paused: bool,
    /// Other links (name → up).
    pub links: Vec<(&'static str, bool)>,
    /// Long-running tasks that ended or panicked: the process is going down.
    pub failed_tasks: Vec<String>,
    pub stopping: bool,
    /// Outbox rows set aside after the broker refused them (ready all the same: an operator
    /// looks at them, `<service> outbox retry-quarantined` puts them back).
    pub outbox_quarantined: i64,
}

impl Readiness {
    pub fn new(db: Option<DatabaseConnection>, migrations: &'static [Migrations]) -> Self {
        Self(Arc::new(Inner {
            db,
            migrations,
            ..Default::default()
        }))
    }

    /// Names the service in `aftersales_ready`.
    pub fn named(self, service: &str) -> Self {
        *lock(&self.0.service) = service.to_owned();
        self
    }

    pub fn add_consumer(&self, state: Arc<ConsumerState>) {
        lock(&self.0.consumers).push(state);
    }

    pub fn set_relay(&self, relay: RelayHandle) {
        *lock(&self.0.relay) = Some(relay);
    }

    /// A link that must be up for the service to be ready (e.g. the gateway's event feed).
    pub fn add_link(&self, name: &'static str, up: Arc<AtomicBool>) {
        lock(&self.0.links).push((name, up));
    }

    /// A long-running task ended or panicked: never ready again.
    pub fn fail(&self, task: &str) {
        lock(&self.0.failed).push(task.to_owned());
    }

    /// Shutdown started: take no new work.
    pub fn stopping(&self) {
        self.0.stopping.store(true, Ordering::SeqCst);
    }

    pub async fn check(&self) -> ReadyReport {
        let i = &self.0;
        let (database, migrations, quarantined) = match &i.db {
            Some(db) => {
                let up = db::ping(db).await;
                let migrated = up && db::migrations_done(db, i.migrations).await;
                let q = if up {
                    crate::outbox::quarantined(db).await.unwrap_or(0)
                } else {
                    0
                };
                (up, migrated, q)
            }
            None => (true, true, 0),
        };
        let consumers = lock(&i.consumers).clone();
        let relay_up = lock(&i.relay)
            .as_ref()
            .map(RelayHandle::is_connected)
            .unwrap_or(true);
        let broker = relay_up && consumers.iter().all(|c| c.connected.load(Ordering::SeqCst));
        let consumer_paused = consumers.iter().any(|c| c.paused.load(Ordering::SeqCst));
        let links: Vec<(&'static str, bool)> = lock(&i.links)
            .iter()
            .map(|(n, up)| (*n, up.load(Ordering::SeqCst)))
            .collect();
        let failed_tasks = lock(&i.failed).clone();
        let stopping = i.stopping.load(Ordering::SeqCst);
        // A paused consumer is reported, not a reason to stop serving: a database-backed
        // service is unready through `database` already, and the gateway serves its API while
        // its feed waits for Redis.
        let ready = database
            && migrations
            && broker
            && links.iter().all(|(_, up)| *up)
            && failed_tasks.is_empty()
            && !stopping;
        let name = lock(&i.service).clone();
        metrics()
            .ready
            .with_label_values(&[&name])
            .set(i64::from(ready));
        ReadyReport {
            ready,
            database,
            migrations,
            broker,
            consumer_paused,
            links,
            failed_tasks,
            stopping,
            outbox_quarantined: quarantined,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { metrics().render() }))
        .with_state(readiness)
}

async fn readyz(State(r): State<Readiness>) -> impl IntoResponse {
    let report = r.check().await;
    let code = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(report))
}

/// Serves the admin endpoints until `shutdown` (the last thing a service stops).
pub async fn serve(
    listener: TcpListener,
    readiness: Readiness,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    axum::serve(listener, router(readiness))
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await?;
    Ok(())
}
