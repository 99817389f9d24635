use std::time::Duration;

use aftersales_platform::testing;

use crate::helpers::{agent, request_body, spawn_app};

#[tokio::test]
async fn the_gateway_span_is_the_root_of_the_requests_trace_down_to_intake() {
    let app = spawn_app().await;
    let r = app
        .post("/v1/requests", &agent("SH01"), &request_body("SH01"), &[])
        .await;
    let no = r.json()["request_no"].as_str().unwrap().to_owned();
    let t = testing::telemetry();

    let root = t
        .wait_for_span(
            "POST /v1/requests",
            |s| s.attributes.get("aftersales.request_no") == Some(&no),
            Duration::from_secs(30),
        )
        .await
        .expect("the gateway's server span");
    assert_eq!(root.kind, 2);
    assert!(
        root.parent_span_id.is_empty() || root.parent_span_id == "0000000000000000",
        "{root:?}"
    );
    let client = t
        .wait_for_span(
            "aftersales.intake.v1.IntakeService/SubmitRequest",
            |s| s.kind == 3 && s.trace_id == root.trace_id,
            Duration::from_secs(30),
        )
        .await
        .expect("the gRPC client span");
    assert_eq!(client.parent_span_id, root.span_id);
    let server = t
        .wait_for_span(
            "aftersales.intake.v1.IntakeService/SubmitRequest",
            |s| s.kind == 2 && s.trace_id == root.trace_id,
            Duration::from_secs(30),
        )
        .await
        .expect("intake's server span, in the same trace");
    assert_eq!(server.parent_span_id, client.span_id);
    app.stop().await;
}
