//! Traces (DESIGN §9): every span of a request's work carries its number, database spans
//! included; work about a request in another trace than the request's first links to that
//! first trace (an RPC, a delivery, a batch serving several requests); an automatic chain (RPC →
//! outbox → consumer) is one trace without orphans.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use aftersales_platform::bus::{
    Consumer, Handler, HandlerError, Received, Subscription, headers_with_trace,
};
use aftersales_platform::db;
use aftersales_platform::grpc::{self, ClientInterceptor};
use aftersales_platform::http_admin::Readiness;
use aftersales_platform::outbox::{EventMeta, Outbox, Relay};
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::intake::v1::RequestCancelled;
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::telemetry::links::FirstTraces;
use aftersales_platform::testing::{self, CollectedSpan, eventually};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as ProtoSpan};
use prost::{Message, Name};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement,
    TransactionTrait,
};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::helpers::World;

/// The stand-in API's one RPC.
const EXPORT: &str = "opentelemetry.proto.collector.trace.v1.TraceService/Export";
const ONE: &str = "aftersales.request_no";
const LIST: &str = "aftersales.request_nos";
const LONG: Duration = Duration::from_secs(30);
const CANCELLED: &str = "intake.request.cancelled";

/// Spans of every test land in one receiver: a number of its own keeps each test's apart (a
/// tracking number: the baggage carries nothing else).
fn request_no() -> String {
    let random = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_ascii_uppercase();
    let sequence = 1 + u32::from_str_radix(&random[..5], 16).unwrap() % 999_999;
    format!("AS-2611-T{}-{sequence:06}", &random[5..12])
}

/// A span that starts a trace, as a branch's system or a person's click would.
fn root(name: &'static str) -> tracing::Span {
    tracing::info_span!(parent: None, "test", otel.name = name)
}

fn trace_of(span: &tracing::Span) -> String {
    span.context().span().span_context().trace_id().to_string()
}

fn span_id_of(span: &tracing::Span) -> String {
    span.context().span().span_context().span_id().to_string()
}

/// A service's API stand-in (any named gRPC service will do): the first span name of an export
/// is the command. `record AS-…` records the request number; `stage AS-…` runs a statement
/// before it knows the number (as intake's numbering does), then records it and stages an event
/// about it; anything else does nothing.
struct Api {
    db: DatabaseConnection,
    outbox: Outbox,
}

#[tonic::async_trait]
impl TraceService for Api {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let command = req
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .map(|s| s.name)
            .next()
            .unwrap_or_default();
        let (verb, no) = command.split_once(' ').unwrap_or((command.as_str(), ""));
        let internal = |e: sea_orm::DbErr| tonic::Status::internal(e.to_string());
        match verb {
            "record" => grpc::record_request_no(no),
            "stage" => {
                self.db
                    .execute_unprepared("SELECT 1")
                    .await
                    .map_err(internal)?;
                grpc::record_request_no(no);
                let txn = self.db.begin().await.map_err(internal)?;
                self.outbox
                    .stage(&txn, EventMeta::request(no, "SH01"), &cancelled(no))
                    .await
                    .map_err(internal)?;
                txn.commit().await.map_err(internal)?;
            }
            _ => {}
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn cancelled(no: &str) -> RequestCancelled {
    RequestCancelled {
        request_no: no.to_owned(),
        branch: "SH01".into(),
        ..Default::default()
    }
}

struct Server {
    addr: SocketAddr,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(w: &World, producer: &str, first_traces: Option<FirstTraces>) -> Server {
        let api = Api {
            db: w.db.conn.clone(),
            outbox: Outbox::new(producer),
        };
        let services = grpc::Services::default()
            .with(TraceServiceServer::new(api))
            .with_first_traces(first_traces);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let settings = w.settings.server.clone();
        let readiness = Readiness::new(Some(w.db.conn.clone()), &[db::PLATFORM]);
        let task = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { grpc::serve(listener, services, &settings, readiness, None, shutdown).await }
        });
        Server {
            addr,
            shutdown,
            task,
        }
    }

    /// One RPC, in the current span's trace.
    async fn call(&self, command: &str) {
        let channel = grpc::channel(&format!("http://{}", self.addr), Duration::from_secs(10))
            .expect("channel");
        let mut client =
            TraceServiceClient::with_interceptor(channel, ClientInterceptor::default());
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![ProtoSpan {
                        name: command.to_owned(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        client.export(request).await.expect("the RPC");
    }

    async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.unwrap().unwrap();
    }
}

/// The first trace the service stored for `no`.
async fn stored(db: &DatabaseConnection, no: &str) -> Option<String> {
    db.query_one_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT traceparent FROM request_traces WHERE request_no = $1",
        [no.into()],
    ))
    .await
    .unwrap()
    .map(|r| r.try_get::<String>("", "traceparent").unwrap())
}

fn traceparent(s: &CollectedSpan) -> String {
    format!("00-{}-{}-01", s.trace_id, s.span_id)
}

/// Every span below `top` (its trace's spans received so far).
fn below(spans: &[CollectedSpan], top: &CollectedSpan) -> Vec<CollectedSpan> {
    let mut out = Vec::new();
    let mut queue = VecDeque::from([top.span_id.clone()]);
    while let Some(parent) = queue.pop_front() {
        for s in spans
            .iter()
            .filter(|s| s.trace_id == top.trace_id && s.parent_span_id == parent)
        {
            queue.push_back(s.span_id.clone());
            out.push(s.clone());
        }
    }
    out
}

/// Flushes until `done` holds for the spans received, for at most [`LONG`].
async fn spans_until(done: impl Fn(&[CollectedSpan]) -> bool) -> Vec<CollectedSpan> {
    let t = testing::telemetry();
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        t.flush().await;
        let spans = t.spans();
        if done(&spans) {
            return spans;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the expected spans did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_rpc_about_a_request_records_its_first_trace_and_a_later_rpc_from_another_trace_links_to_it()
 {
    let w = World::new("traces-rpc").await;
    let server = Server::start(&w, "traces-rpc", Some(FirstTraces::new(w.db.conn.clone()))).await;
    let no = request_no();
    let t = testing::telemetry();

    // Arrange: the first trace the service sees the request in.
    let a = root("branch system");
    server
        .call(&format!("record {no}"))
        .instrument(a.clone())
        .await;
    let first = t
        .wait_for_span(EXPORT, |s| s.trace_id == trace_of(&a), LONG)
        .await
        .expect("the first RPC's span");
    assert_eq!(first.attributes.get(ONE), Some(&no));
    assert!(first.links.is_empty(), "the first trace links nowhere");
    let recorded = eventually(LONG, || stored(&w.db.conn, &no)).await;
    assert_eq!(
        recorded,
        Some(traceparent(&first)),
        "the first RPC's span is the request's first trace here"
    );

    // Act: more work in the same trace, then a person's step in a trace of its own.
    server
        .call(&format!("record {no}"))
        .instrument(a.clone())
        .await;
    let b = root("a reviewer's click");
    server
        .call(&format!("record {no}"))
        .instrument(b.clone())
        .await;

    // Assert
    let again = t
        .wait_for_span(
            EXPORT,
            |s| s.trace_id == first.trace_id && s.span_id != first.span_id,
            LONG,
        )
        .await
        .expect("the second RPC in the first trace");
    assert!(
        again.links.is_empty(),
        "work in the first trace links nowhere"
    );
    let step = t
        .wait_for_span(EXPORT, |s| s.trace_id == trace_of(&b), LONG)
        .await
        .expect("the person's step");
    assert_eq!(
        step.links,
        vec![(first.trace_id.clone(), first.span_id.clone())],
        "the step links to the request's first trace"
    );

    // Another replica, which remembers nothing, finds the first trace in the database; and the
    // number reaches it as baggage from a caller whose work is about the request, though the
    // handler records none.
    let replica = Server::start(&w, "traces-rpc", Some(FirstTraces::new(w.db.conn.clone()))).await;
    let c = tracing::info_span!(parent: None, "caller", aftersales.request_no = %no);
    replica.call("nothing").instrument(c.clone()).await;
    let via_baggage = t
        .wait_for_span(EXPORT, |s| s.trace_id == trace_of(&c), LONG)
        .await
        .expect("the replica's RPC");
    assert_eq!(
        via_baggage.attributes.get(ONE),
        Some(&no),
        "the number came as baggage"
    );
    assert_eq!(
        via_baggage.links,
        vec![(first.trace_id.clone(), first.span_id.clone())],
        "linked through the stored first trace"
    );
    assert_eq!(stored(&w.db.conn, &no).await, Some(traceparent(&first)));

    drop((a, b, c));
    server.stop().await;
    replica.stop().await;
}

/// Runs a statement in the handler's transaction and one more inside a span of its own.
struct Work;

#[async_trait::async_trait]
impl Handler for Work {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let _: RequestCancelled = ev.payload()?;
        txn.execute_unprepared("SELECT 1").await?;
        async { txn.execute_unprepared("SELECT 2").await }
            .instrument(tracing::info_span!("handler step"))
            .await?;
        Ok(())
    }
}

async fn consume(
    w: &World,
    name: &str,
    first_traces: &FirstTraces,
) -> (Shutdown, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let consumer = Consumer::probe(
        Some(w.db.conn.clone()),
        w.bus(),
        name,
        vec![Subscription::new(CANCELLED, Work)],
    )
    .with_first_traces(Some(first_traces.clone()));
    let state = consumer.state();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    eventually(LONG, || {
        let c = state.clone();
        async move {
            c.connected
                .load(std::sync::atomic::Ordering::SeqCst)
                .then_some(())
        }
    })
    .await
    .expect("consumer connected and declared its queues");
    (shutdown, task)
}

fn envelope(no: &str) -> EventEnvelope {
    EventEnvelope {
        event_id: uuid::Uuid::now_v7().to_string(),
        r#type: RequestCancelled::full_name(),
        routing_key: CANCELLED.into(),
        producer: "intake".into(),
        subject: no.into(),
        request_no: no.into(),
        sequence: 1,
        payload: cancelled(no).encode_to_vec(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_deliverys_span_and_its_database_spans_carry_the_request_number_and_a_later_delivery_links_to_the_first()
 {
    let w = World::new("traces-consumer").await;
    let first_traces = FirstTraces::new(w.db.conn.clone());
    let (stop, task) = consume(&w, "traces-consumer", &first_traces).await;
    let (_conn, ch) = w.channel().await;
    let no = request_no();
    let process_span = format!("{CANCELLED} process");
    let t = testing::telemetry();

    let a = root("producer");
    w.publish(&ch, &envelope(&no), headers_with_trace(&a)).await;
    let process = t
        .wait_for_span(&process_span, |s| s.trace_id == trace_of(&a), LONG)
        .await
        .expect("the delivery's span");
    assert_eq!(process.attributes.get(ONE), Some(&no));
    assert!(process.links.is_empty());
    let spans = spans_until(|spans| below(spans, &process).len() >= 4).await;
    let under = below(&spans, &process);
    let db_spans: Vec<&CollectedSpan> = under
        .iter()
        .filter(|s| s.attributes.get("db.system").map(String::as_str) == Some("postgresql"))
        .collect();
    assert!(
        db_spans.len() >= 3,
        "the processed-events insert and the handler's statements: {under:?}"
    );
    assert!(under.iter().any(|s| s.name == "handler step"));
    let unlabelled: Vec<&str> = under
        .iter()
        .filter(|s| s.attributes.get(ONE) != Some(&no))
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        unlabelled.is_empty(),
        "spans under the delivery without its number: {unlabelled:?}"
    );
    assert_eq!(
        stored(&w.db.conn, &no).await,
        Some(traceparent(&process)),
        "recorded in the statement that marked the event processed"
    );

    // Another delivery about the request, in a trace of its own (a timer's, say).
    let b = root("a timer");
    w.publish(&ch, &envelope(&no), headers_with_trace(&b)).await;
    let later = t
        .wait_for_span(&process_span, |s| s.trace_id == trace_of(&b), LONG)
        .await
        .expect("the later delivery's span");
    assert_eq!(
        later.links,
        vec![(process.trace_id.clone(), process.span_id.clone())]
    );

    drop((a, b));
    stop.trigger();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_batch_span_carries_both_request_numbers_and_links_to_both_first_traces() {
    let w = World::new("traces-batch").await;
    let first_traces = FirstTraces::new(w.db.conn.clone());
    let (x, y) = (request_no(), request_no());
    let t = testing::telemetry();

    // Arrange: each request's first trace.
    let mut firsts = HashSet::new();
    for no in [&x, &y] {
        let span = first_traces.root_span("first sight", &[no.as_str()]);
        firsts.insert((trace_of(&span), span_id_of(&span)));
        let trace = trace_of(&span);
        drop(span);
        let seen = t
            .wait_for_span("first sight", |s| s.trace_id == trace, LONG)
            .await
            .expect("the first sight");
        assert_eq!(seen.attributes.get(ONE), Some(no));
    }

    // Act / Assert: a batch serving both, in this process (remembered) and in another replica
    // (read from the database).
    let replica = FirstTraces::new(w.db.conn.clone());
    for (name, f) in [
        ("batch here", &first_traces),
        ("batch in a replica", &replica),
    ] {
        let batch = f.root_span(name, &[x.as_str(), y.as_str()]);
        let db = w.db.conn.clone();
        async move { db.execute_unprepared("SELECT 1").await.unwrap() }
            .instrument(batch.clone())
            .await;
        let trace = trace_of(&batch);
        drop(batch);
        let span = t
            .wait_for_span(name, |s| s.trace_id == trace, LONG)
            .await
            .expect("the batch span");
        assert_eq!(
            span.attributes.get(LIST),
            Some(&format!("{x},{y}")),
            "{name}"
        );
        let links: HashSet<(String, String)> = span.links.iter().cloned().collect();
        assert_eq!(links, firsts, "{name} links to both first traces");
        let spans = spans_until(|spans| !below(spans, &span).is_empty()).await;
        for s in below(&spans, &span) {
            assert_eq!(
                s.attributes.get(LIST),
                Some(&format!("{x},{y}")),
                "{name}: {s:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_chain_from_an_rpc_through_the_outbox_to_a_consumer_is_one_trace_without_orphans_every_span_carrying_the_request()
 {
    let w = World::new("traces-chain").await;
    let first_traces = FirstTraces::new(w.db.conn.clone());
    let (consumer_stop, consumer) = consume(&w, "traces-chain", &first_traces).await;
    let relay_stop = Shutdown::new();
    let relay = tokio::spawn(
        Relay::new(
            w.db.conn.clone(),
            w.bus(),
            "traces-chain",
            w.settings.outbox.clone().expect("outbox settings"),
        )
        .run(relay_stop.clone()),
    );
    let server = Server::start(&w, "traces-chain", Some(first_traces.clone())).await;
    let no = request_no();

    // Act: a branch's system calls; the RPC learns the number after a first statement, stages
    // an event; the relay publishes it; the consumer handles it.
    let branch = root("branch system");
    server
        .call(&format!("stage {no}"))
        .instrument(branch.clone())
        .await;
    let trace = trace_of(&branch);
    let root_id = span_id_of(&branch);
    drop(branch);

    // Assert
    let process_span = format!("{CANCELLED} process");
    let publish_span = format!("{CANCELLED} publish");
    let spans = spans_until(|spans| {
        let names: HashSet<&str> = spans
            .iter()
            .filter(|s| s.trace_id == trace)
            .map(|s| s.name.as_str())
            .collect();
        [
            "branch system",
            EXPORT,
            publish_span.as_str(),
            process_span.as_str(),
            "handler step",
        ]
        .iter()
        .all(|n| names.contains(n))
    })
    .await;
    let chain: Vec<&CollectedSpan> = spans.iter().filter(|s| s.trace_id == trace).collect();
    let ids: HashSet<&str> = chain.iter().map(|s| s.span_id.as_str()).collect();
    let orphans: Vec<String> = chain
        .iter()
        .filter(|s| s.span_id != root_id && !ids.contains(s.parent_span_id.as_str()))
        .map(|s| format!("{} (parent {})", s.name, s.parent_span_id))
        .collect();
    assert!(orphans.is_empty(), "orphan spans: {orphans:?}");
    let unlabelled: Vec<&str> = chain
        .iter()
        .filter(|s| s.span_id != root_id && s.attributes.get(ONE) != Some(&no))
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        unlabelled.is_empty(),
        "spans of the chain without the request number: {unlabelled:?}"
    );
    let rpc = chain.iter().find(|s| s.name == EXPORT).expect("the RPC");
    assert!(
        // (`execute_unprepared` has no statement attribute; it is the RPC's one such span.)
        chain.iter().any(|s| s.parent_span_id == rpc.span_id
            && s.name == "sea_orm.execute_unprepared"
            && s.attributes.get(ONE) == Some(&no)),
        "the statement that ran before the RPC knew the number carries it too: {:?}",
        chain
            .iter()
            .filter(|s| s.parent_span_id == rpc.span_id)
            .collect::<Vec<_>>()
    );
    let process = chain
        .iter()
        .find(|s| s.name == process_span)
        .expect("the delivery");
    assert!(
        process.links.is_empty(),
        "the consumer saw the request first in this trace"
    );
    let first = stored(&w.db.conn, &no)
        .await
        .expect("the first trace recorded");
    assert!(first.contains(&trace), "{first} is this trace");

    server.stop().await;
    consumer_stop.trigger();
    consumer.await.unwrap().unwrap();
    relay_stop.trigger();
    relay.await.unwrap().unwrap();
}
