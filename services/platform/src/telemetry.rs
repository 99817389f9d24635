//! Logs, traces and metrics.
//!
//! - Logs: `tracing` events as JSON lines carrying `trace_id` and `span_id`, so a log line leads
//!   to its trace (`pretty` for people at a terminal).
//! - Traces: OTLP/gRPC export when an endpoint is configured (`telemetry.otlp_endpoint` or
//!   `OTEL_EXPORTER_OTLP_ENDPOINT`), W3C `traceparent`/`tracestate` and `baggage` propagation
//!   always. `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` are honoured. Every span of a
//!   request's work carries `aftersales.request_no` ([`request`]); a trace that a person, a
//!   timer or a batch started links to each request's first trace ([`links`]).
//! - Metrics: one Prometheus registry per process ([`metrics`]), served on `/metrics`.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, global};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use serde_json::{Map, Value};
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::TelemetrySettings;

pub mod links;
pub mod request;

/// Keeps the tracer provider alive; [`TelemetryGuard::shutdown`] flushes the last batch.
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Flushes and stops the exporter. The SDK's shutdown blocks on an export that needs a free
    /// tokio worker, so it runs on the blocking pool (opentelemetry-rust#2583).
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = provider.shutdown() {
                    eprintln!("telemetry: shutdown: {e}");
                }
            })
            .await;
        }
    }

    /// Exports everything finished so far (tests read spans right after).
    pub async fn flush(&self) {
        if let Some(provider) = self.provider.clone() {
            let _ = tokio::task::spawn_blocking(move || provider.force_flush()).await;
        }
    }
}

/// Installs the global subscriber, propagator and tracer provider. Must run inside the tokio
/// runtime (the OTLP exporter is built on tonic). Calling it twice keeps the first setup.
///
/// Trace context exists whatever the exporter and the log level: without an endpoint the
/// provider records spans and exports nothing, and the log level filters only the log lines,
/// never the spans that carry the context. So `traceparent` is always stored in the outbox,
/// forwarded over gRPC and AMQP, and every log line inside a request carries its `trace_id`.
pub fn init(service: &str, settings: &TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    global::set_text_map_propagator(propagator());
    init_metrics()?;

    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| settings.otlp_endpoint.trim().to_owned());
    let exporting = !endpoint.is_empty();
    let provider = if exporting {
        tracer_provider(service, &endpoint, 8192)?
    } else {
        // Spans get ids and propagate; nothing leaves the process.
        SdkTracerProvider::builder().build()
    };

    let log_filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log_level))?
        // The SDK's own chatter ("global tracer provider is set") is not the service's log.
        .add_directive("opentelemetry=warn".parse()?)
        .add_directive("opentelemetry_sdk=warn".parse()?)
        .add_directive("h2=warn".parse()?)
        .add_directive("hyper_util=warn".parse()?)
        .add_directive("lapin=error".parse()?)
        .add_directive("sqlx=warn".parse()?);
    let fmt_layer = if settings.log_format == "pretty" {
        tracing_subscriber::fmt::layer()
            .with_target(true)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_filter(log_filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .event_format(JsonWithTrace)
            .with_filter(log_filter)
            .boxed()
    };
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(service.to_owned()))
        .with_filter(span_filter()?);
    // Before the OpenTelemetry layer: it sees a span close before that layer ends it.
    let request_layer = request::layer().with_filter(span_filter()?);
    let installed = tracing_subscriber::registry()
        .with(fmt_layer)
        .with(request_layer)
        .with(otel_layer)
        .try_init()
        .is_ok();
    if installed {
        global::set_tracer_provider(provider.clone());
    }
    Ok(TelemetryGuard {
        provider: (installed && exporting).then_some(provider),
    })
}

/// The spans that make traces: ours and the RPC/messaging/database ones at INFO, never the
/// transport crates' internals (the exporter's own spans must not feed back into itself).
pub fn span_filter() -> anyhow::Result<EnvFilter> {
    Ok(EnvFilter::try_new("info")?
        .add_directive("h2=off".parse()?)
        .add_directive("tower=off".parse()?)
        .add_directive("hyper=off".parse()?)
        .add_directive("hyper_util=off".parse()?)
        .add_directive("tonic=off".parse()?)
        .add_directive("opentelemetry_sdk=off".parse()?)
        .add_directive("opentelemetry_otlp=off".parse()?)
        .add_directive("lapin=off".parse()?)
        .add_directive("sqlx=off".parse()?))
}

/// A batch-exporting provider sending OTLP/gRPC to `endpoint`; spans beyond `max_queue` waiting
/// for export are dropped (a slow collector must not grow memory without bound). Spans go through
/// [`request::Stamping`] first, so each leaves with its unit of work's request number.
pub fn tracer_provider(
    service: &str,
    endpoint: &str,
    max_queue: usize,
) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    let named = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| service.to_owned());
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service.to_owned());
    }
    let processor = opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            opentelemetry_sdk::trace::BatchConfigBuilder::default()
                .with_max_queue_size(max_queue)
                .with_max_export_batch_size(512)
                .build(),
        )
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(request::Stamping::new(processor, &named))
        .with_resource(resource.build())
        .build())
}

/// Sets `cx` as the parent of a span that was just created (before it is entered).
pub fn set_parent(span: &tracing::Span, cx: Context) {
    if let Err(e) = span.set_parent(cx) {
        tracing::debug!(error = %e, "could not set the parent of a span");
    }
}

/// Trace context of `span` as W3C headers (`traceparent`, `tracestate`), and the request numbers
/// of its work as `baggage`.
pub fn inject(span: &tracing::Span) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let cx = request::with_baggage(span.context(), span);
    global::get_text_map_propagator(|p| p.inject_context(&cx, &mut MapCarrier(&mut map)));
    map
}

/// Context (and baggage) from W3C headers held in a map.
pub fn extract(map: &HashMap<String, String>) -> Context {
    global::get_text_map_propagator(|p| p.extract(&MapReader(map)))
}

/// The propagator used everywhere (W3C trace context and baggage), for code that carries
/// context in its own header type.
pub fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

struct MapCarrier<'a>(&'a mut HashMap<String, String>);
impl Injector for MapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}
struct MapReader<'a>(&'a HashMap<String, String>);
impl Extractor for MapReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The trace id of the current span, as 32 hex digits, or `None` outside a sampled trace.
pub fn current_trace_id() -> Option<String> {
    let cx = tracing::Span::current().context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// JSON lines: timestamp, level, target, message, the event's fields, the current span's name,
/// and the OpenTelemetry `trace_id`/`span_id` when the span is in a trace.
struct JsonWithTrace;

impl<S, N> FormatEvent<S, N> for JsonWithTrace
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut obj = Map::new();
        obj.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339()),
        );
        obj.insert("level".into(), Value::String(meta.level().to_string()));
        obj.insert("target".into(), Value::String(meta.target().to_owned()));
        let mut fields = JsonVisitor(Map::new());
        event.record(&mut fields);
        obj.extend(fields.0);
        if let Some(span) = ctx.lookup_current() {
            obj.insert("span".into(), Value::String(span.name().to_owned()));
        }
        // The span the event happened in, even when the log level hides that span itself.
        let cx = tracing::Span::current().context();
        let sc = cx.span().span_context().clone();
        if sc.is_valid() {
            obj.insert("trace_id".into(), Value::String(sc.trace_id().to_string()));
            obj.insert("span_id".into(), Value::String(sc.span_id().to_string()));
        }
        if !obj.contains_key("request_no") {
            let nos = request::of(&tracing::Span::current());
            if !nos.is_empty() {
                obj.insert("request_no".into(), Value::String(nos.join(",")));
            }
        }
        let line = serde_json::to_string(&Value::Object(obj)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

struct JsonVisitor(Map<String, Value>);
impl Visit for JsonVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The whole cause chain, so the log says why and not only what.
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        self.0.insert(field.name().to_owned(), Value::String(text));
    }
}

/// The process's metrics: RED per RPC, outbox backlog, consumer lag and failures, DLQ depth.
pub struct Metrics {
    pub registry: Registry,
    pub rpc_requests: IntCounterVec,
    pub rpc_duration: HistogramVec,
    pub outbox_backlog: IntGaugeVec,
    pub outbox_oldest_age_seconds: IntGaugeVec,
    pub outbox_published: IntCounterVec,
    pub outbox_publish_failures: IntCounterVec,
    pub outbox_unroutable: IntCounterVec,
    pub outbox_quarantined: IntGaugeVec,
    pub consumer_processed: IntCounterVec,
    pub consumer_lag: HistogramVec,
    pub handler_failures: IntCounterVec,
    pub dlq_depth: IntGaugeVec,
    pub consumer_paused: IntGaugeVec,
    pub task_failures: IntCounterVec,
    pub ready: IntGaugeVec,
}

static METRICS: OnceLock<Result<Metrics, String>> = OnceLock::new();

/// Defines and registers the process's metrics; an error (a bad definition, a name registered
/// twice) stops the service at start instead of leaving a metric silently unexported.
pub fn init_metrics() -> anyhow::Result<()> {
    METRICS
        .get_or_init(|| Metrics::new().map_err(|e| e.to_string()))
        .as_ref()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("metrics: {e}"))
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    match METRICS.get_or_init(|| Metrics::new().map_err(|e| e.to_string())) {
        Ok(m) => m,
        // Definitions are static: init_metrics() at start reports this before anything runs.
        Err(e) => panic!("metrics: {e}"),
    }
}

impl Metrics {
    fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("aftersales".into()), None)?;
        let lat = vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, prometheus::Error>(g)
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(lat.clone()), labels)?;
            registry.register(Box::new(h.clone()))?;
            Ok::<_, prometheus::Error>(h)
        };
        Ok(Self {
            rpc_requests: counter(
                "rpc_requests_total",
                "RPCs served, by method and gRPC status code.",
                &["method", "code"],
            )?,
            rpc_duration: histogram(
                "rpc_duration_seconds",
                "RPC latency by method.",
                &["method"],
            )?,
            outbox_backlog: gauge(
                "outbox_backlog",
                "Outbox rows not yet published.",
                &["producer"],
            )?,
            outbox_oldest_age_seconds: gauge(
                "outbox_oldest_age_seconds",
                "Age of the oldest unpublished outbox row.",
                &["producer"],
            )?,
            outbox_published: counter(
                "outbox_published_total",
                "Events published and confirmed by the broker.",
                &["producer"],
            )?,
            outbox_publish_failures: counter(
                "outbox_publish_failures_total",
                "Relay batches that failed and will be retried.",
                &["producer"],
            )?,
            outbox_unroutable: counter(
                "outbox_unroutable_total",
                "Events the broker returned because no queue is bound for them.",
                &["producer", "routing_key"],
            )?,
            outbox_quarantined: gauge(
                "outbox_quarantined",
                "Outbox rows set aside after the broker refused them outbox.max_attempts times.",
                &["producer"],
            )?,
            consumer_processed: counter(
                "consumer_events_total",
                "Events handled, by outcome (ok, duplicate, retried, dead_lettered).",
                &["queue", "routing_key", "outcome"],
            )?,
            consumer_lag: histogram(
                "consumer_lag_seconds",
                "Time from the event's commit to its handling.",
                &["queue"],
            )?,
            handler_failures: counter(
                "handler_failures_total",
                "Handler errors, by routing key.",
                &["queue", "routing_key"],
            )?,
            dlq_depth: gauge(
                "dlq_depth",
                "Messages waiting in the dead-letter queue.",
                &["queue"],
            )?,
            consumer_paused: gauge(
                "consumer_paused",
                "1 while the consumer waits for its database to come back.",
                &["queue"],
            )?,
            task_failures: counter(
                "task_failures_total",
                "Long-running tasks of the service that ended or panicked unexpectedly.",
                &["task"],
            )?,
            ready: gauge(
                "ready",
                "1 while the service is ready (what /readyz and gRPC health answer), else 0.",
                &["service"],
            )?,
            registry,
        })
    }

    /// Text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if encoder.encode(&self.registry.gather(), &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_in_prometheus_text_format() {
        metrics()
            .rpc_requests
            .with_label_values(&["/x.v1.S/M", "0"])
            .inc();
        let text = metrics().render();
        assert!(
            text.contains("aftersales_rpc_requests_total{code=\"0\",method=\"/x.v1.S/M\"}"),
            "{text}"
        );
    }

    #[test]
    fn trace_context_round_trips_through_a_map() {
        let mut map = HashMap::new();
        map.insert(
            "traceparent".to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        );
        global::set_text_map_propagator(propagator());
        let cx = extract(&map);
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }
}
