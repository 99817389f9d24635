//! The admin port: `/healthz` (the process is alive), `/readyz` (database reachable, broker
//! connected, migrations applied) and `/metrics` (Prometheus text format).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::db::{self, Migrations};
use crate::shutdown::Shutdown;
use crate::telemetry::metrics;

/// What "ready" means for a service.
#[derive(Clone)]
pub struct Readiness {
    db: Option<DatabaseConnection>,
    migrations: &'static [Migrations],
    broker: Vec<Arc<AtomicBool>>,
}

/// The answer of one readiness check.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ReadyReport {
    pub database: bool,
    pub migrations: bool,
    pub broker: bool,
}

impl ReadyReport {
    pub fn ready(&self) -> bool {
        self.database && self.migrations && self.broker
    }
}

impl Readiness {
    pub fn new(db: Option<DatabaseConnection>, migrations: &'static [Migrations]) -> Self {
        Self {
            db,
            migrations,
            broker: Vec::new(),
        }
    }

    /// Adds a flag that is true while a broker link (consumer, relay) is up.
    pub fn with_broker_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.broker.push(flag);
        self
    }

    pub async fn check(&self) -> ReadyReport {
        let (database, migrations) = match &self.db {
            Some(db) => {
                let up = db::ping(db).await;
                (up, up && db::migrations_done(db, self.migrations).await)
            }
            None => (true, true),
        };
        let broker = self.broker.iter().all(|f| f.load(Ordering::SeqCst));
        ReadyReport {
            database,
            migrations,
            broker,
        }
    }
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
    let code = if report.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(report))
}

/// Serves the admin endpoints until shutdown.
pub async fn serve(
    listener: TcpListener,
    readiness: Readiness,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    axum::serve(listener, router(readiness))
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
}
