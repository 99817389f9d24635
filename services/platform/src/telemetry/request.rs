//! The request a span is about: `aftersales.request_no` on every span of the request (DESIGN §9),
//! `aftersales.request_nos` (an array) on every span of a batch serving several.
//!
//! A unit of work has one *carrier* span: a span that declares the field (the RPC server span,
//! the consumer's process span, the gateway's HTTP span, the relay's publish span, a scanner's
//! tick, a batch). The request number is set on the carrier wherever it becomes known
//! ([`record`]: RPC handlers and the gateway through `grpc::record_request_no`; the consumer from
//! the envelope; the RPC server and the gateway from the W3C `baggage` header the caller sent),
//! and every span below the carrier in the same process carries it too, database spans included:
//!
//! - [`layer`] keeps the number in the carrier's span extensions and, when any span below it
//!   closes, writes the carrier's number onto that span. A span that closes *before* its
//!   carrier knows the number (the statement that issues the number, the gRPC client call whose
//!   answer brings it) is held back by [`Stamping`], the span processor in front of the
//!   exporter, until its carrier ends, and then stamped with the carrier's number. Nothing
//!   reaches the exporter without the number its unit of work ended up with.
//! - Across processes the number travels as W3C baggage (`aftersales.request_no`, or
//!   `aftersales.request_nos` for a list) beside `traceparent`: [`inject`](super::inject) adds
//!   it (gRPC metadata, AMQP headers), [`from_baggage`] reads it at the next hop. Events also
//!   carry it in the envelope, which the consumer prefers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{SpanId, TraceContextExt as _};
use opentelemetry::{Array, Context, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanProcessor};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The request a span is about.
pub const ATTRIBUTE: &str = "aftersales.request_no";
/// The requests a batch span (and everything below it) serves, as an array.
pub const LIST_ATTRIBUTE: &str = "aftersales.request_nos";

/// What a span knows of its request, in its extensions.
#[derive(Debug)]
struct Tag {
    /// `Some` for a carrier: a span that declares one of the fields.
    carrier: Option<Kind>,
    /// Empty while unknown.
    nos: Vec<Arc<str>>,
    /// The number came through the span's own field, so the attribute is on the span already.
    via_field: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `aftersales.request_no`: one request; a later number replaces the earlier.
    One,
    /// `aftersales.request_nos`: a batch; numbers accumulate.
    Many,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The number is the span's (a handler that knows).
    Set,
    /// The number, unless the span has one already (a hint: baggage, a staged event).
    Note,
}

impl Tag {
    fn apply(&mut self, no: &str, mode: Mode) {
        if self.carrier == Some(Kind::Many) {
            if !self.nos.iter().any(|n| &**n == no) {
                self.nos.push(no.into());
                self.via_field = false;
            }
            return;
        }
        let unchanged = self.nos.len() == 1 && &*self.nos[0] == no;
        if unchanged || (mode == Mode::Note && !self.nos.is_empty()) {
            return;
        }
        self.nos = vec![no.into()];
        self.via_field = false;
    }

    fn many(&self) -> bool {
        self.carrier == Some(Kind::Many) || self.nos.len() > 1
    }
}

/// Records that the work of the current span is about `request_no`: on the span's carrier (the
/// RPC, the delivery, the batch it belongs to), so that every span of that work carries it.
pub fn record(request_no: &str) {
    record_on(&tracing::Span::current(), request_no);
}

/// [`record`] for the work `span` belongs to.
pub fn record_on(span: &tracing::Span, request_no: &str) {
    apply(span, request_no, Mode::Set);
}

/// Like [`record_on`], unless the work already has a number (a batch adds it to its list).
pub fn note_on(span: &tracing::Span, request_no: &str) {
    apply(span, request_no, Mode::Note);
}

fn apply(span: &tracing::Span, request_no: &str, mode: Mode) {
    let request_no = request_no.trim();
    if request_no.is_empty() {
        return;
    }
    with_registry(span, |registry, id| {
        let Some(start) = registry.span(id) else {
            return;
        };
        let carrier = start.scope().find(|s| {
            s.extensions()
                .get::<Tag>()
                .is_some_and(|t| t.carrier.is_some())
        });
        let target = carrier.unwrap_or(start);
        let mut ext = target.extensions_mut();
        match ext.get_mut::<Tag>() {
            Some(tag) => tag.apply(request_no, mode),
            None => {
                ext.insert(Tag {
                    carrier: None,
                    nos: vec![request_no.into()],
                    via_field: false,
                });
            }
        }
    });
}

/// The request numbers the work of `span` is about: its own, or its nearest carrier's.
pub fn of(span: &tracing::Span) -> Vec<Arc<str>> {
    with_registry(span, |registry, id| {
        let start = registry.span(id)?;
        for s in start.scope() {
            if let Some(tag) = s.extensions().get::<Tag>()
                && (!tag.nos.is_empty() || tag.carrier.is_some())
            {
                return Some(tag.nos.clone());
            }
        }
        None
    })
    .flatten()
    .unwrap_or_default()
}

fn with_registry<T>(span: &tracing::Span, f: impl FnOnce(&Registry, &Id) -> T) -> Option<T> {
    span.with_subscriber(|(id, dispatch)| dispatch.downcast_ref::<Registry>().map(|r| f(r, id)))
        .flatten()
}

/// `cx` with the request numbers of `span`'s work in its baggage (replacing any the caller
/// sent: the work may be about another request than the one that started the trace).
pub fn with_baggage(cx: Context, span: &tracing::Span) -> Context {
    let nos = of(span);
    if nos.is_empty() {
        return cx;
    }
    let (key, value) = if nos.len() == 1 {
        (ATTRIBUTE, nos[0].to_string())
    } else {
        (LIST_ATTRIBUTE, nos.join(","))
    };
    let entries: Vec<KeyValue> = cx
        .baggage()
        .iter()
        .filter(|(k, _)| k.as_str() != ATTRIBUTE && k.as_str() != LIST_ATTRIBUTE)
        .map(|(k, (v, _))| KeyValue::new(k.clone(), Value::String(v.clone())))
        .chain(std::iter::once(KeyValue::new(key, value)))
        .collect();
    cx.with_baggage(entries)
}

/// The request numbers a caller sent as baggage. Only tracking numbers count: baggage may come
/// from outside (the gateway's callers), and what it names ends up in `request_traces`.
pub fn from_baggage(cx: &Context) -> Vec<String> {
    let baggage = cx.baggage();
    let sent = match (baggage.get(LIST_ATTRIBUTE), baggage.get(ATTRIBUTE)) {
        (Some(list), _) => list.as_str().split(',').map(str::to_owned).collect(),
        (None, Some(one)) => vec![one.as_str().to_owned()],
        (None, None) => Vec::new(),
    };
    sent.iter()
        .filter_map(|n| crate::ids::RequestNo::parse(n).ok())
        .map(|n| n.into_string())
        .collect()
}

/// Notes the request numbers a caller sent as baggage on `span` (a server span just made).
pub fn note_from_baggage(span: &tracing::Span, cx: &Context) {
    for no in from_baggage(cx) {
        note_on(span, &no);
    }
}

/// The layer that carries request numbers from carriers to every span below them. Install it
/// with the same filter as the OpenTelemetry layer and *before* it (closer to the registry), so
/// that it sees a span close before the OpenTelemetry layer ends it.
pub fn layer() -> RequestLayer {
    RequestLayer::default()
}

/// See [`layer`].
#[derive(Debug, Default)]
pub struct RequestLayer {
    /// The subscriber this layer is part of: spans are stamped through the OpenTelemetry layer
    /// beside it (weak: the subscriber owns the layer).
    dispatch: OnceLock<tracing::dispatcher::WeakDispatch>,
}

#[derive(Default)]
struct Fields {
    seen: bool,
    nos: Vec<Arc<str>>,
}

impl Fields {
    fn take(&mut self, field: &Field, value: &str) {
        match field.name() {
            ATTRIBUTE => {
                self.seen = true;
                self.nos = Some(value.trim())
                    .filter(|v| !v.is_empty())
                    .map(Arc::from)
                    .into_iter()
                    .collect();
            }
            LIST_ATTRIBUTE => {
                self.seen = true;
                self.nos = value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(Arc::from)
                    .collect();
            }
            _ => {}
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.take(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if matches!(field.name(), ATTRIBUTE | LIST_ATTRIBUTE) {
            self.take(field, &format!("{value:?}"));
        }
    }
}

/// Where a closing span gets its number from.
enum Source {
    /// Nothing to do.
    None,
    /// Write these numbers onto the span.
    Stamp(Vec<Arc<str>>, bool),
    /// Its carrier does not know yet: hold the span until the carrier ends.
    Carrier(Id),
}

impl<S> Layer<S> for RequestLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let fields = attrs.metadata().fields();
        let kind = if fields.field(LIST_ATTRIBUTE).is_some() {
            Kind::Many
        } else if fields.field(ATTRIBUTE).is_some() {
            Kind::One
        } else {
            return;
        };
        let mut values = Fields::default();
        attrs.record(&mut values);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Tag {
                carrier: Some(kind),
                via_field: !values.nos.is_empty(),
                nos: values.nos,
            });
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        if !fields.seen {
            return;
        }
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(tag) = ext.get_mut::<Tag>() {
                tag.via_field = !fields.nos.is_empty();
                tag.nos = fields.nos;
            }
        }
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let mut source = Source::None;
        for (depth, s) in span.scope().enumerate() {
            let ext = s.extensions();
            let Some(tag) = ext.get::<Tag>() else {
                continue;
            };
            if !tag.nos.is_empty() {
                if !(depth == 0 && tag.via_field) {
                    source = Source::Stamp(tag.nos.clone(), tag.many());
                }
                break;
            }
            if tag.carrier.is_some() {
                if depth > 0 {
                    source = Source::Carrier(s.id());
                }
                break;
            }
        }
        drop(span);
        if matches!(source, Source::None) {
            return;
        }
        let Some(dispatch) = self.dispatch.get().and_then(|d| d.upgrade()) else {
            return;
        };
        match source {
            Source::None => {}
            Source::Stamp(nos, many) => {
                if let Some(cx) = tracing_opentelemetry::get_otel_context(&id, &dispatch) {
                    cx.span().set_attribute(attribute(&nos, many));
                }
            }
            Source::Carrier(carrier) => {
                if !STAMPS.active.load(Ordering::Relaxed) {
                    return;
                }
                let child = tracing_opentelemetry::get_otel_context(&id, &dispatch)
                    .map(|cx| cx.span().span_context().clone());
                let parent = tracing_opentelemetry::get_otel_context(&carrier, &dispatch)
                    .map(|cx| cx.span().span_context().clone());
                if let (Some(child), Some(parent)) = (child, parent)
                    && child.is_sampled()
                    && parent.is_sampled()
                {
                    STAMPS.hold_for(child.span_id(), parent.span_id());
                }
            }
        }
    }
}

fn attribute(nos: &[Arc<str>], many: bool) -> KeyValue {
    if many {
        KeyValue::new(
            LIST_ATTRIBUTE,
            Value::Array(Array::String(
                nos.iter().map(|n| StringValue::from(n.clone())).collect(),
            )),
        )
    } else {
        KeyValue::new(ATTRIBUTE, Value::String(StringValue::from(nos[0].clone())))
    }
}

/// Spans held for their carrier, at most this many at once (a carrier that never ends, an
/// exporter that sees the children of carriers it never sees): beyond it they go out as they are.
const MAX_HELD: usize = 20_000;

/// Spans waiting for their carrier's number, shared by the layer (which says which span waits
/// for which) and the processor (which holds them).
struct Stamps {
    /// A [`Stamping`] processor exists: without one, nothing would ever release a held span.
    active: AtomicBool,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    carrier_of: HashMap<SpanId, SpanId>,
    spans: HashMap<SpanId, Vec<SpanData>>,
    count: usize,
}

static STAMPS: LazyLock<Stamps> = LazyLock::new(|| Stamps {
    active: AtomicBool::new(false),
    held: Mutex::new(Held::default()),
});

impl Stamps {
    /// Holds `child` back until `carrier` ends (bounded by MAX_HELD).
    fn hold_for(&self, child: SpanId, carrier: SpanId) {
        if let Ok(mut held) = self.held.lock()
            && held.carrier_of.len() < MAX_HELD
        {
            held.carrier_of.insert(child, carrier);
        }
    }
}

/// The span attribute naming the process a span comes from (its resource's `service.name`, on
/// the span itself for trace backends that show no resource, e.g. Arize Phoenix).
pub const SERVICE_ATTRIBUTE: &str = "aftersales.service";

/// The span processor in front of the exporter's: holds a span whose carrier did not know the
/// request number when it closed, and sends it on, stamped with the carrier's number, when the
/// carrier ends (see the module doc); every span also carries its process's name
/// ([`SERVICE_ATTRIBUTE`]).
#[derive(Debug)]
pub struct Stamping<P> {
    inner: P,
    service: KeyValue,
}

impl<P: SpanProcessor> Stamping<P> {
    pub fn new(inner: P, service: &str) -> Self {
        STAMPS.active.store(true, Ordering::Relaxed);
        Self {
            inner,
            // Reference-counted: each span's copy is a pointer, not an allocation.
            service: KeyValue::new(
                SERVICE_ATTRIBUTE,
                Value::String(StringValue::from(Arc::<str>::from(service))),
            ),
        }
    }

    fn release_all(&self) {
        let spans: Vec<SpanData> = match STAMPS.held.lock() {
            Ok(mut held) => {
                held.carrier_of.clear();
                held.count = 0;
                held.spans.drain().flat_map(|(_, v)| v).collect()
            }
            Err(_) => Vec::new(),
        };
        for s in spans {
            self.inner.on_end(s);
        }
    }
}

impl<P: SpanProcessor> SpanProcessor for Stamping<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &Context) {
        use opentelemetry::trace::Span as _;
        span.set_attribute(self.service.clone());
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let id = span.span_context.span_id();
        let mut out = {
            let Ok(mut held) = STAMPS.held.lock() else {
                drop(span);
                return;
            };
            if let Some(carrier) = held.carrier_of.remove(&id) {
                if held.count < MAX_HELD {
                    held.count += 1;
                    held.spans.entry(carrier).or_default().push(span);
                    return;
                }
                vec![span]
            } else if let Some(children) = held.spans.remove(&id) {
                held.count -= children.len();
                let mut out = children;
                out.push(span);
                out
            } else {
                vec![span]
            }
        };
        if out.len() > 1
            && let Some(carrier) = out.last()
        {
            let stamp: Vec<KeyValue> = carrier
                .attributes
                .iter()
                .filter(|kv| is_request_key(&kv.key))
                .cloned()
                .collect();
            if !stamp.is_empty() {
                let n = out.len() - 1;
                for child in &mut out[..n] {
                    if !child.attributes.iter().any(|kv| is_request_key(&kv.key)) {
                        child.attributes.extend(stamp.iter().cloned());
                    }
                }
            }
        }
        for s in out.drain(..) {
            self.inner.on_end(s);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        // Held spans wait for their carriers, which are still open: a flush does not cut
        // them off from their number.
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.release_all();
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

fn is_request_key(key: &Key) -> bool {
    matches!(key.as_str(), ATTRIBUTE | LIST_ATTRIBUTE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_carrier_keeps_one_number_and_a_batch_a_list() {
        let mut one = Tag {
            carrier: Some(Kind::One),
            nos: Vec::new(),
            via_field: false,
        };
        one.apply("AS-1", Mode::Note);
        one.apply("AS-2", Mode::Note);
        assert_eq!(one.nos, vec![Arc::from("AS-1")], "a hint does not replace");
        one.apply("AS-2", Mode::Set);
        assert_eq!(
            one.nos,
            vec![Arc::from("AS-2")],
            "the handler's number does"
        );
        let mut many = Tag {
            carrier: Some(Kind::Many),
            nos: Vec::new(),
            via_field: false,
        };
        for n in ["AS-1", "AS-2", "AS-1"] {
            many.apply(n, Mode::Set);
        }
        assert_eq!(many.nos, vec![Arc::from("AS-1"), Arc::from("AS-2")]);
        assert!(many.many());
    }

    #[test]
    fn request_numbers_travel_as_baggage() {
        let cx = Context::new().with_baggage(vec![
            KeyValue::new("other", "kept"),
            KeyValue::new(
                LIST_ATTRIBUTE,
                "AS-2611-SH01-000001, as-2611-sh01-000002,not-a-number",
            ),
        ]);
        assert_eq!(
            from_baggage(&cx),
            vec!["AS-2611-SH01-000001", "AS-2611-SH01-000002"],
            "tracking numbers only, as the rest of the system spells them"
        );
        let cx = Context::new().with_baggage(vec![KeyValue::new(ATTRIBUTE, "AS-2611-BJ02-000003")]);
        assert_eq!(from_baggage(&cx), vec!["AS-2611-BJ02-000003"]);
        let cx = Context::new().with_baggage(vec![KeyValue::new(ATTRIBUTE, "DROP TABLE")]);
        assert!(from_baggage(&cx).is_empty());
        assert!(from_baggage(&Context::new()).is_empty());
    }
}
