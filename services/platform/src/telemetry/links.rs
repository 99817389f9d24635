//! Links between one request's traces (DESIGN §9).
//!
//! Each automatic chain of a request is one trace. A step started by a person, a timer or a
//! batch starts a trace of its own, and its work in a service links to the *first* trace that
//! service saw the request in, so that, joined by their links, a request's traces cover every
//! process that touched it.
//!
//! Each service keeps that first trace per request in its own database (`request_traces`,
//! a platform migration), written with `ON CONFLICT DO NOTHING` when a carrier span about the
//! request ends: an RPC that recorded a request number, a consumer's delivery, a scanner's tick,
//! a batch ([`FirstTraces::root_span`]). The carrier links to the stored trace when it is
//! another one.
//!
//! The cost on the hot path: the numbers already sorted out are remembered in process (two
//! generations of 50 000), so a span whose trace is the request's first costs a hash lookup and
//! no database round trip. A consumer sorts a new request out in the statement it runs anyway
//! (the `processed_events` insert grows a CTE). An RPC about a request this process has not seen
//! yet hands the span to a background writer, which does one statement for a batch of them and
//! links the spans it was given before letting them close: the RPC's answer waits for nothing,
//! and its span's end time stays the time it answered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use sea_orm::{DatabaseConnection, DbBackend, Statement};
use tokio::sync::mpsc;
use tracing::instrument::WithSubscriber as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::request;

/// Requests remembered per generation; two generations are kept.
const KNOWN_PER_GENERATION: usize = 50_000;
/// Spans waiting for the writer; beyond that a span closes without its link (a slow database
/// must not grow memory without bound).
const QUEUE: usize = 4096;
/// Requests sorted out by one statement of the writer.
const WRITE_BATCH: usize = 256;

/// Each request's first trace in this service (see the module doc). Cheap to clone.
#[derive(Clone)]
pub struct FirstTraces {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FirstTraces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstTraces").finish_non_exhaustive()
    }
}

struct Inner {
    db: DatabaseConnection,
    known: Arc<Mutex<Known>>,
    /// Started on first use (on the runtime of the first span that needs it).
    writer: Mutex<Option<mpsc::Sender<Job>>>,
}

/// Requests whose first trace this process knows.
#[derive(Default)]
struct Known {
    now: HashMap<Arc<str>, SpanContext>,
    before: HashMap<Arc<str>, SpanContext>,
}

impl Known {
    fn get(&self, no: &str) -> Option<&SpanContext> {
        self.now.get(no).or_else(|| self.before.get(no))
    }

    fn put(&mut self, no: Arc<str>, first: SpanContext) {
        if self.now.len() >= KNOWN_PER_GENERATION {
            self.before = std::mem::take(&mut self.now);
        }
        self.now.insert(no, first);
    }
}

/// A carrier whose requests the writer sorts out; the span stays open until it is linked.
struct Job {
    nos: Vec<Arc<str>>,
    here: SpanContext,
    span: tracing::Span,
}

/// What a consumer does about its delivery's request.
pub(crate) enum Sighting {
    /// Nothing to write: no request, or its first trace is known (and linked if another).
    Known,
    /// The first trace is not known here: the consumer's statement records and reads it.
    Unknown { no: Arc<str>, here: SpanContext },
}

impl FirstTraces {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                known: Arc::new(Mutex::new(Known::default())),
                writer: Mutex::new(None),
            }),
        }
    }

    /// Sorts out the first traces of the requests `span` (a carrier about to end) is about:
    /// links it to each that is another trace, and records this trace as the first of those
    /// the service has not seen before. Without a database round trip when they are known.
    pub fn observe(&self, span: &tracing::Span) {
        let nos = request::of(span);
        if nos.is_empty() {
            return;
        }
        let here = span.context().span().span_context().clone();
        if !here.is_valid() {
            return;
        }
        let mut missing = Vec::new();
        let mut links = Vec::new();
        if let Ok(known) = self.inner.known.lock() {
            for no in nos {
                match known.get(&no) {
                    Some(first) if first.trace_id() != here.trace_id() => links.push(first.clone()),
                    Some(_) => {}
                    None => missing.push(no),
                }
            }
        }
        for first in links {
            span.add_link(first);
        }
        if !missing.is_empty() {
            self.send(Job {
                nos: missing,
                here,
                span: span.clone(),
            });
        }
    }

    /// A span that starts a trace of its own about `request_nos` (a scanner's item, a batch
    /// serving several requests), carrying them (`aftersales.request_no`, or the array
    /// `aftersales.request_nos` for more than one) and linked to each one's first trace.
    /// Everything run inside it carries them too.
    pub fn root_span(&self, name: &str, request_nos: &[&str]) -> tracing::Span {
        let span = if request_nos.len() == 1 {
            tracing::info_span!(
                parent: None,
                "work",
                otel.name = %name,
                aftersales.request_no = tracing::field::Empty,
            )
        } else {
            tracing::info_span!(
                parent: None,
                "batch",
                otel.name = %name,
                aftersales.request_nos = tracing::field::Empty,
                aftersales.batch_size = request_nos.len(),
            )
        };
        for no in request_nos {
            request::record_on(&span, no);
        }
        self.observe(&span);
        span
    }

    /// For a consumer: whether its delivery's request needs the first-trace statement.
    pub(crate) fn sight(&self, span: &tracing::Span) -> Sighting {
        let nos = request::of(span);
        let [no] = nos.as_slice() else {
            if !nos.is_empty() {
                self.observe(span);
            }
            return Sighting::Known;
        };
        let here = span.context().span().span_context().clone();
        if !here.is_valid() {
            return Sighting::Known;
        }
        let first = self
            .inner
            .known
            .lock()
            .ok()
            .and_then(|k| k.get(no).cloned());
        match first {
            Some(first) => {
                if first.trace_id() != here.trace_id() {
                    span.add_link(first);
                }
                Sighting::Known
            }
            None => Sighting::Unknown {
                no: no.clone(),
                here,
            },
        }
    }

    /// For a consumer: the first trace its statement found (`None`: this one is the first);
    /// links `span` to it when it is another. Returns it, to [`FirstTraces::remember`] once
    /// the transaction committed.
    pub(crate) fn found(
        &self,
        span: &tracing::Span,
        here: &SpanContext,
        stored: Option<&str>,
    ) -> SpanContext {
        let first = stored
            .and_then(parse_traceparent)
            .unwrap_or_else(|| here.clone());
        if first.trace_id() != here.trace_id() {
            span.add_link(first.clone());
        }
        first
    }

    pub(crate) fn remember(&self, no: Arc<str>, first: SpanContext) {
        if let Ok(mut known) = self.inner.known.lock() {
            known.put(no, first);
        }
    }

    fn send(&self, job: Job) {
        let Ok(mut writer) = self.inner.writer.lock() else {
            return;
        };
        let job = match writer.as_ref() {
            None => job,
            Some(tx) => match tx.try_send(job) {
                Ok(()) => return,
                // Full: this span closes without its link rather than memory growing.
                Err(mpsc::error::TrySendError::Full(_)) => return,
                // The writer's runtime is gone (a test's): start another on this one.
                Err(mpsc::error::TrySendError::Closed(job)) => job,
            },
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        runtime.spawn(write(self.inner.db.clone(), self.inner.known.clone(), rx));
        let _ = tx.try_send(job);
        *writer = Some(tx);
    }
}

/// The background writer: one statement per batch of carriers, then their links.
async fn write(db: DatabaseConnection, known: Arc<Mutex<Known>>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        // The writer's own statements are bookkeeping, not a request's work: no spans.
        let firsts = resolve(&db, &jobs)
            .with_subscriber(tracing::subscriber::NoSubscriber::default())
            .await;
        match firsts {
            Ok(firsts) => {
                for job in &jobs {
                    for no in &job.nos {
                        if let Some(first) = firsts.get(no)
                            && first.trace_id() != job.here.trace_id()
                        {
                            job.span.add_link(first.clone());
                        }
                    }
                }
                if let Ok(mut k) = known.lock() {
                    for (no, first) in firsts {
                        k.put(no, first);
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "request traces not recorded"),
        }
        // The spans close here, with their links.
        drop(jobs);
    }
}

/// Records each request's first trace where there is none and returns every request's.
async fn resolve(
    db: &DatabaseConnection,
    jobs: &[Job],
) -> Result<HashMap<Arc<str>, SpanContext>, sea_orm::DbErr> {
    use sea_orm::ConnectionTrait as _;
    let mut ours: HashMap<Arc<str>, SpanContext> = HashMap::new();
    let mut values = Vec::new();
    let mut rows = Vec::new();
    for job in jobs {
        for no in &job.nos {
            if ours.contains_key(no) {
                continue;
            }
            ours.insert(no.clone(), job.here.clone());
            rows.push(format!("(${}, ${})", values.len() + 1, values.len() + 2));
            values.push(sea_orm::Value::from(no.to_string()));
            values.push(sea_orm::Value::from(traceparent(&job.here)));
        }
    }
    // Rows committed before this statement come back as they are; the ones it inserted come
    // back from `ins` (a data-modifying CTE's rows are not visible to the rest of its
    // statement).
    let sql = format!(
        "WITH v (request_no, traceparent) AS (VALUES {}),
              ins AS (INSERT INTO request_traces (request_no, traceparent)
                      SELECT request_no, traceparent FROM v
                      ON CONFLICT (request_no) DO NOTHING
                      RETURNING request_no)
         SELECT r.request_no, r.traceparent, false AS ours
           FROM request_traces r WHERE r.request_no IN (SELECT request_no FROM v)
         UNION ALL
         SELECT request_no, NULL, true FROM ins",
        rows.join(", ")
    );
    let found = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    let mut firsts = HashMap::new();
    for row in found {
        let no: String = row.try_get("", "request_no")?;
        let Some((key, here)) = ours.get_key_value(no.as_str()) else {
            continue;
        };
        let first = if row.try_get::<bool>("", "ours")? {
            Some(here.clone())
        } else {
            row.try_get::<Option<String>>("", "traceparent")?
                .as_deref()
                .and_then(parse_traceparent)
        };
        if let Some(first) = first {
            firsts.insert(key.clone(), first);
        }
    }
    // A request neither found nor inserted was inserted by another replica meanwhile: it is
    // sorted out the next time it is seen.
    Ok(firsts)
}

/// The W3C `traceparent` of a span context.
pub(crate) fn traceparent(sc: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    )
}

/// The span context of a W3C `traceparent` (version 00), as the target of a link.
pub(crate) fn parse_traceparent(tp: &str) -> Option<SpanContext> {
    let mut parts = tp.trim().split('-');
    let (Some("00"), Some(trace), Some(span), Some(flags), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
        return None;
    }
    let sc = SpanContext::new(
        TraceId::from_hex(trace).ok()?,
        SpanId::from_hex(span).ok()?,
        TraceFlags::new(u8::from_str_radix(flags, 16).ok()?),
        true,
        TraceState::default(),
    );
    sc.is_valid().then_some(sc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparents_round_trip() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let sc = parse_traceparent(tp).expect("valid");
        assert_eq!(traceparent(&sc), tp);
        assert!(parse_traceparent("00-0000-00f067aa0ba902b7-01").is_none());
        assert!(
            parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none()
        );
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
                .is_none()
        );
    }

    #[test]
    fn the_known_requests_keep_two_generations() {
        let sc = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .expect("valid");
        let mut known = Known::default();
        for i in 0..KNOWN_PER_GENERATION + 1 {
            known.put(format!("AS-{i}").into(), sc.clone());
        }
        assert!(
            known.get("AS-0").is_some(),
            "the previous generation is kept"
        );
        assert!(known.get(&format!("AS-{KNOWN_PER_GENERATION}")).is_some());
        assert_eq!(known.now.len(), 1);
    }
}
