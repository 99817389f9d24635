//! What the fault issue asks of the front door and the topology (issue 12): an inbox exists
//! before its service first starts, trace context without any exporter, an explicit gap and an
//! expiry on the event stream, and health and metrics kept off the public port.

use std::time::Duration;

use aftersales_platform::auth::{self, Role};
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::testing::{
    self, ServiceProcess, TestBus, TestDb, TestService, sibling_binary,
};
use serde_json::Value;

use crate::helpers::{agent, request_body, spawn_app, spawn_app_with};

#[tokio::test]
async fn an_event_published_before_its_consumers_inbox_existed_is_delivered_once_that_service_starts()
 {
    // Arrange: intake and the gateway (its live feed consuming) run; claims-review never ran on
    // these broker names, so only the topology table declared its inbox.
    let app = spawn_app().await;

    // Act: a request is submitted; intake publishes intake.request.submitted. Then claims-review
    // starts for the first time.
    let no = app.create("SH01").await["request_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut live = app
        .stream(
            &agent("SH01"),
            "?types=intake.request.submitted",
            Some("0-0"),
        )
        .await;
    let seen = live
        .next(Duration::from_secs(20))
        .await
        .expect("the feed got the event");
    assert_eq!(seen.data["request_no"], no.as_str());
    let claims = TestService::<claims_review::app::App>::builder()
        .bus(app.bus())
        .start()
        .await;

    // Assert: its claim is opened from the event that waited in its inbox.
    claims
        .wait_count(
            &format!("SELECT count(*)::bigint FROM claims WHERE request_no = '{no}'"),
            1,
        )
        .await;
    claims.stop().await;
    app.stop().await;
}

/// One HTTP request to `addr`, read whole.
async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "gateway")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .unwrap();
    let res = sender.send_request(req).await.expect("send");
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn without_an_otlp_endpoint_the_consumers_log_line_carries_the_gateways_trace_id() {
    // Arrange: the real binaries, no exporter configured anywhere, JSON logs.
    let bus = TestBus::new();
    let intake_db = TestDb::create(intake::store::ALL_MIGRATIONS).await;
    let claims_db = TestDb::create(claims_review::store::ALL_MIGRATIONS).await;
    let intake = ServiceProcess::start(
        &sibling_binary("intake"),
        &testing::service_env(Some(&intake_db.url), &bus, None),
    )
    .await;
    let claims = ServiceProcess::start(
        &sibling_binary("claims-review"),
        &testing::service_env(Some(&claims_db.url), &bus, None),
    )
    .await;
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let mut env = testing::service_env(None, &bus, Some(&prefix));
    env.insert("AFTERSALES__SERVER__HTTP_ADDR".into(), "127.0.0.1:0".into());
    env.insert(
        "AFTERSALES__PEERS__INTAKE__URL".into(),
        format!("http://{}", intake.grpc_addr.expect("intake gRPC")),
    );
    let gateway = ServiceProcess::start(env!("CARGO_BIN_EXE_gateway"), &env).await;

    // Act: a request through the gateway.
    let (status, body) = http(
        gateway.http_addr.expect("gateway HTTP"),
        "POST",
        "/v1/requests",
        &agent("SH01"),
        &request_body("SH01"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let no = body["request_no"].as_str().unwrap().to_owned();

    // Assert: the gateway's access line and claims-review's line for the event share a trace id.
    let served = testing::eventually(Duration::from_secs(20), || async {
        gateway.json_logs().into_iter().find(|l| {
            l["message"] == "request served"
                && l["route"] == "/v1/requests"
                && l["method"] == "POST"
        })
    })
    .await
    .expect("the gateway logged the request");
    let trace_id = served["trace_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the gateway's line has a trace id: {served}"))
        .to_owned();
    let handled = testing::eventually(Duration::from_secs(30), || async {
        claims.json_logs().into_iter().find(|l| {
            l["message"] == "event handled" && l["routing_key"] == "intake.request.submitted"
        })
    })
    .await
    .unwrap_or_else(|| panic!("claims-review handled the submission of {no}"));
    assert_eq!(
        handled["trace_id"].as_str(),
        Some(trace_id.as_str()),
        "one trace from the gateway to the consumer: {handled}"
    );
    testing::delete_redis_keys(&prefix).await;
}

#[tokio::test]
async fn a_client_resuming_after_trimmed_events_gets_an_explicit_gap_event() {
    // Arrange: a tiny buffer, then many events (Redis trims a stream in whole nodes of 100).
    let app = spawn_app_with(|_, c| c.gateway.stream_max_len = 1).await;
    let no = "AS-2611-SH01-000001";
    for _ in 0..300 {
        app.publish(
            "claims-review",
            no,
            "SH01",
            &claims::ClaimApproved {
                request_no: no.into(),
                branch: "SH01".into(),
                ..Default::default()
            },
        )
        .await;
    }

    // Act / Assert: resuming from before the trimmed part starts with a gap event saying where
    // to resume from.
    let first = testing::eventually(Duration::from_secs(30), || async {
        let mut s = app.stream(&agent("SH01"), "", Some("0-1")).await;
        let e = s.next(Duration::from_secs(2)).await?;
        (e.data["type"] == "gap").then_some(e)
    })
    .await
    .expect("a gap event once the buffer was trimmed");
    assert_eq!(first.data["missed_after"], "0-1");
    assert!(
        first.data["resume_from"]
            .as_str()
            .is_some_and(|s| s.contains('-'))
    );
    assert_eq!(first.id, first.data["resume_from"].as_str().unwrap());
    // Resuming from where the gap event points gives the kept events, with no second gap.
    let mut again = app.stream(&agent("SH01"), "", Some(&first.id)).await;
    let next = again
        .next(Duration::from_secs(10))
        .await
        .expect("the kept events follow");
    assert_eq!(
        next.data["type"], "claims.claim.approved",
        "{:?}",
        next.data
    );
    app.stop().await;
}

#[tokio::test]
async fn an_event_stream_ends_when_its_token_expires() {
    let app = spawn_app().await;
    let short = auth::mint_hs256(
        testing::TEST_JWT_SECRET,
        "agent-SH01",
        "SH01",
        &[Role::BranchAgent],
        Duration::from_secs(2),
    )
    .unwrap();
    let mut s = app.stream(&short, "", None).await;
    assert_eq!(s.status, 200);
    let bye = s
        .next(Duration::from_secs(15))
        .await
        .expect("an expired event");
    assert_eq!(bye.data["type"], "expired");
    assert!(
        s.ends_within(Duration::from_secs(5)).await,
        "then the stream ends"
    );
    app.stop().await;
}

#[tokio::test]
async fn health_and_metrics_are_on_the_admin_port_only() {
    let app = spawn_app().await;
    for path in ["/readyz", "/metrics", "/healthz"] {
        assert_eq!(
            app.send("GET", path, None, &[], None).await.status,
            404,
            "{path} public"
        );
        assert_eq!(
            app.admin(path).await.status,
            200,
            "{path} on the admin port"
        );
    }
    app.stop().await;
}
