//! Background scans on a schedule (deadline scanners, overdue alarms): each tick runs on at most
//! one replica at a time, under a transaction-scoped advisory lock named after the service and
//! the scan, so two replicas never scan at once. What a scan changes it records in the same
//! transaction as its event, so a scan repeated by another replica after the first finished finds
//! nothing left to do: a deadline fires once, however many replicas run.
//!
//! The scan reads "now" from the service's [`Clock`]; a manual clock (tests) wakes the scanner
//! whenever it moves, and [`ScannerHandle::run_now`] runs one tick and says what it did.
//!
//! A timer starts its own trace (DESIGN §9): each tick runs in a root span `<scan> scan` that
//! collects the request numbers its work records (`grpc::record_request_no`, or an event staged
//! about a request) as `aftersales.request_nos`, and links to each request's first trace when
//! the tick ends. A scan that handles requests one by one gives each item a trace of its own
//! with [`FirstTraces::root_span`] (`Ctx::first_traces`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use sha2::Digest;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::shutdown::Shutdown;
use crate::telemetry::links::FirstTraces;

type ScanFn = Arc<dyn Fn(DateTime<Utc>) -> BoxFuture<'static, anyhow::Result<usize>> + Send + Sync>;

/// A scan and how often it runs.
pub struct Scanner {
    pub name: &'static str,
    pub every: Duration,
    scan: ScanFn,
    first_traces: Option<FirstTraces>,
}

impl Scanner {
    /// `scan(now)` does the work and returns how many things it handled.
    pub fn new<F, Fut>(name: &'static str, every: Duration, scan: F) -> Self
    where
        F: Fn(DateTime<Utc>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<usize>> + Send + 'static,
    {
        Self {
            name,
            every,
            scan: Arc::new(move |now| Box::pin(scan(now))),
            first_traces: None,
        }
    }

    /// Links each tick to the first traces of the requests it handled (the kit sets it).
    pub fn with_first_traces(mut self, first_traces: Option<FirstTraces>) -> Self {
        self.first_traces = first_traces;
        self
    }
}

/// Runs one tick now (tests, tools) and wakes the scanner.
#[derive(Clone)]
pub struct ScannerHandle {
    inner: Arc<Shared>,
}

struct Shared {
    name: &'static str,
    key: i64,
    db: DatabaseConnection,
    clock: Clock,
    scan: ScanFn,
    kick: Notify,
    first_traces: Option<FirstTraces>,
}

impl ScannerHandle {
    /// One tick at the clock's now: `Some(n)` when this replica scanned (handling `n` things),
    /// `None` when another replica held the scan at that moment.
    pub async fn run_now(&self) -> anyhow::Result<Option<usize>> {
        self.inner.tick().await
    }

    /// Wakes the scanner's loop.
    pub fn kick(&self) {
        self.inner.kick.notify_one();
    }

    pub fn name(&self) -> &'static str {
        self.inner.name
    }
}

impl Shared {
    async fn tick(&self) -> anyhow::Result<Option<usize>> {
        let span = tracing::info_span!(
            parent: None,
            "scan",
            otel.name = %format!("{} scan", self.name),
            aftersales.scanner = self.name,
            aftersales.handled = tracing::field::Empty,
            aftersales.request_nos = tracing::field::Empty,
        );
        let n = tracing::Instrument::instrument(self.tick_in_span(), span.clone()).await;
        if let Ok(Some(n)) = &n {
            span.record("aftersales.handled", *n as u64);
        }
        if let Some(f) = &self.first_traces {
            f.observe(&span);
        }
        n
    }

    async fn tick_in_span(&self) -> anyhow::Result<Option<usize>> {
        let txn = self.db.begin().await?;
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock($1) AS locked",
                [self.key.into()],
            ))
            .await?;
        let locked = row
            .and_then(|r| r.try_get::<bool>("", "locked").ok())
            .unwrap_or(false);
        if !locked {
            txn.rollback().await?;
            return Ok(None);
        }
        // The lock is held (by this transaction's connection) while the scan does its own
        // transactions; committing releases it.
        let n = (self.scan)(self.clock.now()).await;
        txn.commit().await?;
        n.map(Some)
    }
}

/// Starts a scanner: the handle, and the loop to run until `stop`.
pub fn start(
    scanner: Scanner,
    service: &str,
    db: DatabaseConnection,
    clock: Clock,
) -> (
    ScannerHandle,
    impl FnOnce(Shutdown) -> BoxFuture<'static, anyhow::Result<()>>,
) {
    let digest = sha2::Sha256::digest(format!("scanner:{service}:{}", scanner.name).as_bytes());
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    let handle = ScannerHandle {
        inner: Arc::new(Shared {
            name: scanner.name,
            key: i64::from_be_bytes(key),
            db,
            clock,
            scan: scanner.scan,
            kick: Notify::new(),
            first_traces: scanner.first_traces,
        }),
    };
    let every = scanner.every;
    let h = handle.clone();
    let run = move |stop: Shutdown| -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            let mut moves = h.inner.clock.watch();
            loop {
                tokio::select! {
                    _ = stop.wait() => return Ok(()),
                    _ = tokio::time::sleep(every) => {}
                    _ = moves.moved() => {}
                    _ = h.inner.kick.notified() => {}
                }
                match h.inner.tick().await {
                    Ok(Some(0)) | Ok(None) => {}
                    Ok(Some(n)) => tracing::info!(scanner = h.inner.name, handled = n, "scan done"),
                    // A failed scan (the database away, say) is retried at the next tick; it
                    // does not end the task.
                    Err(e) => {
                        tracing::warn!(scanner = h.inner.name, error = %format!("{e:#}"), "scan failed; the next tick retries")
                    }
                }
            }
        })
    };
    (handle, run)
}
