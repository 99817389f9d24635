use std::time::Duration;

use aftersales_platform::bus::{Consumer, Handler, HandlerError, Received, Subscription};
use aftersales_platform::proto::intake::v1 as pb;
use aftersales_platform::testing;
use sea_orm::DatabaseTransaction;

use crate::helpers::spawn_app;

/// Stands in for claims-review: consumes `intake.request.submitted` and does nothing else.
struct Noop;

#[async_trait::async_trait]
impl Handler for Noop {
    async fn handle(&self, _: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let _: pb::RequestSubmitted = ev.payload()?;
        Ok(())
    }
}

#[tokio::test]
async fn the_rpc_the_publish_and_a_consumers_processing_share_one_trace() {
    let app = spawn_app().await;
    let consumer = Consumer::probe(
        Some(app.db.conn.clone()),
        app.bus(),
        "claims-probe",
        vec![Subscription::new("intake.request.submitted", Noop)],
    );
    let state = consumer.state();
    let probe_stop = aftersales_platform::shutdown::Shutdown::new();
    let task = tokio::spawn(consumer.run(probe_stop.clone()));
    testing::eventually(Duration::from_secs(90), || {
        let c = state.clone();
        async move {
            c.connected
                .load(std::sync::atomic::Ordering::SeqCst)
                .then_some(())
        }
    })
    .await
    .expect("probe consumer up");

    // Spans of every test land in one receiver: a branch no other test uses keeps the request
    // number unique.
    let mut client = app.agent("TR99").await;
    let r = crate::helpers::submit(&mut client, "TR99").await;
    let no = r.request_no.clone();
    let t = testing::telemetry();
    let long = Duration::from_secs(30);

    let rpc = t
        .wait_for_span(
            "aftersales.intake.v1.IntakeService/SubmitRequest",
            |s| s.attributes.get("aftersales.request_no") == Some(&no),
            long,
        )
        .await
        .expect("the server span of the RPC, tagged with the request number");
    assert_eq!(rpc.kind, 2, "server span");
    let publish = t
        .wait_for_span(
            "intake.request.submitted publish",
            |s| s.trace_id == rpc.trace_id,
            long,
        )
        .await
        .expect("the relay's publish span joined the RPC's trace");
    assert_eq!(publish.kind, 4, "producer span");
    assert_eq!(
        publish.parent_span_id, rpc.span_id,
        "published from within the RPC's transaction"
    );
    assert_eq!(publish.attributes.get("aftersales.request_no"), Some(&no));
    let process = t
        .wait_for_span(
            "intake.request.submitted process",
            |s| s.trace_id == rpc.trace_id,
            long,
        )
        .await
        .expect("the consumer's process span joined the same trace");
    assert_eq!(process.kind, 5, "consumer span");
    assert_eq!(process.parent_span_id, publish.span_id);
    assert_eq!(
        process
            .attributes
            .get("messaging.system")
            .map(String::as_str),
        Some("rabbitmq")
    );

    app.stop().await;
    probe_stop.trigger();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_submission_trace_has_database_spans_under_the_rpc_span() {
    let app = spawn_app().await;
    let mut client = app.agent("DB77").await;
    let no = crate::helpers::submit(&mut client, "DB77").await.request_no;
    let t = testing::telemetry();
    let rpc = t
        .wait_for_span(
            "aftersales.intake.v1.IntakeService/SubmitRequest",
            |s| s.attributes.get("aftersales.request_no") == Some(&no),
            Duration::from_secs(30),
        )
        .await
        .expect("the RPC span");
    // Database spans (sea-orm's, with the OpenTelemetry db.* attributes) in the same trace,
    // each one a descendant of the RPC span.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let db_spans = loop {
        t.flush().await;
        let all: Vec<_> = t
            .spans()
            .into_iter()
            .filter(|s| s.trace_id == rpc.trace_id)
            .collect();
        let db: Vec<_> = all
            .iter()
            .filter(|s| s.attributes.get("db.system").map(String::as_str) == Some("postgresql"))
            .cloned()
            .collect();
        if db.len() >= 3 || tokio::time::Instant::now() > deadline {
            let under_rpc = |span: &aftersales_platform::testing::CollectedSpan| {
                let mut parent = span.parent_span_id.clone();
                for _ in 0..20 {
                    if parent == rpc.span_id {
                        return true;
                    }
                    match all.iter().find(|s| s.span_id == parent) {
                        Some(p) => parent = p.parent_span_id.clone(),
                        None => return false,
                    }
                }
                false
            };
            assert!(
                db.iter().all(under_rpc),
                "every db span sits under the RPC span"
            );
            break db;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        db_spans.len() >= 3,
        "the submit transaction's statements: {}",
        db_spans.len()
    );
    let ops: Vec<&str> = db_spans
        .iter()
        .filter_map(|s| s.attributes.get("db.operation").map(String::as_str))
        .collect();
    assert!(ops.contains(&"INSERT"), "{ops:?}");
    let statements: Vec<&str> = db_spans
        .iter()
        .filter_map(|s| s.attributes.get("db.statement").map(String::as_str))
        .collect();
    assert!(
        statements
            .iter()
            .any(|s| s.contains("INSERT INTO requests")),
        "the statement names its table: {statements:?}"
    );
    assert!(
        statements
            .iter()
            .all(|s| !s.contains("Li Wei") && !s.contains("138 0013")),
        "no parameter values in the spans"
    );
    app.stop().await;
}
