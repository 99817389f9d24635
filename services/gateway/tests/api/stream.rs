use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::testing;

use crate::helpers::{SseEvent, SseStream, TestApp, agent, redis_url, spawn_app, spawn_app_with};

const WAIT: Duration = Duration::from_secs(30);

/// The next event about `request_no` (other tests' traffic never reaches this test's exchange,
/// but intake's own events about other requests may).
async fn next_about(s: &mut SseStream, request_no: &str) -> SseEvent {
    loop {
        let e = s.next(WAIT).await.expect("an event within the wait");
        if e.data["request_no"] == request_no {
            return e;
        }
    }
}

async fn approve(app: &TestApp, request_no: &str, branch: &str) -> String {
    app.publish(
        "claims-review",
        request_no,
        branch,
        &claims::ClaimApproved {
            request_no: request_no.into(),
            branch: branch.into(),
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn the_stream_delivers_a_branchs_events_as_json_and_resumes_from_last_event_id() {
    // Arrange: a branch agent subscribes.
    let app = spawn_app().await;
    let token = agent("SH01");
    let mut stream = app.stream(&token, "", None).await;
    assert_eq!(stream.status, 200);

    // Act: a request is submitted through the API; claims-review approves it.
    let no = app.create("SH01").await["request_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let submitted = next_about(&mut stream, &no).await;
    let approved_id = approve(&app, &no, "SH01").await;
    let approved = next_about(&mut stream, &no).await;

    // Assert: both arrive as JSON, envelope plus decoded payload.
    assert_eq!(submitted.data["type"], "intake.request.submitted");
    assert_eq!(submitted.data["branch"], "SH01");
    assert_eq!(
        submitted.data["payload_type"],
        "aftersales.intake.v1.RequestSubmitted"
    );
    assert_eq!(
        submitted.data["payload"]["request"]["request_no"],
        no.as_str()
    );
    assert_eq!(
        submitted.data["payload"]["request"]["product"]["serial"],
        "SN12345678"
    );
    assert_eq!(approved.data["type"], "claims.claim.approved");
    assert_eq!(approved.data["event_id"], approved_id.as_str());
    assert_eq!(approved.data["payload"]["request_no"], no.as_str());
    assert!(!approved.id.is_empty());
    drop(stream);

    // While disconnected: two events for SH01 and one for BJ02.
    let other = app.create("BJ02").await["request_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let missed_1 = approve(&app, &no, "SH01").await;
    let missed_2 = app
        .publish(
            "claims-review",
            &no,
            "SH01",
            &claims::ClaimInfoRequested {
                request_no: no.clone(),
                ..Default::default()
            },
        )
        .await;
    approve(&app, &other, "BJ02").await;
    // Wait until the buffer holds all of them (4 events after the approval we saw: BJ02's
    // submission, missed_1, missed_2, BJ02's approval).
    let hq = testing::token("hq", "*", &[Role::Analyst]);
    let mut probe = app.stream(&hq, "", Some(&approved.id)).await;
    for _ in 0..4 {
        probe.next(WAIT).await.expect("buffered event");
    }
    drop(probe);

    // Reconnect with Last-Event-ID, then a marker event after reconnecting.
    let mut resumed = app.stream(&token, "", Some(&approved.id)).await;
    let marker = approve(&app, &no, "SH01").await;
    let mut got = Vec::new();
    loop {
        let e = resumed.next(WAIT).await.expect("resumed event");
        let id = e.data["event_id"].as_str().unwrap().to_owned();
        got.push(id.clone());
        if id == marker {
            break;
        }
    }

    // Exactly the missed ones of our branch, in order, then the live one.
    assert_eq!(got, vec![missed_1, missed_2, marker]);
    app.stop().await;
}

#[tokio::test]
async fn the_types_filter_and_heartbeats_and_a_clean_end_on_shutdown() {
    let app = spawn_app().await;
    let token = agent("SH01");
    let mut stream = app.stream(&token, "?types=claims.*", None).await;
    let no = app.create("SH01").await["request_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = approve(&app, &no, "SH01").await;
    // The submission is filtered out: the first event is the approval.
    let first = stream.next(WAIT).await.expect("approval");
    assert_eq!(first.data["event_id"], id.as_str());
    // Idle connections get heartbeat comments.
    assert!(stream.heartbeat(WAIT).await, "no heartbeat comment");

    // Shutdown ends the stream instead of leaving it hanging.
    app.begin_shutdown();
    assert!(stream.ends_within(WAIT).await);
    app.stop().await;
}

#[tokio::test]
async fn a_garbage_last_event_id_is_a_400() {
    let app = spawn_app().await;
    let s = app.stream(&agent("SH01"), "", Some("yesterday")).await;
    assert_eq!(s.status, 400);
    app.stop().await;
}

#[tokio::test]
async fn events_wait_in_the_queue_while_redis_is_down_and_reach_the_stream_after() {
    // Sabotage: the gateway runs without Redis.
    let mut app = spawn_app_with(|p, _| {
        let r = p.redis.as_mut().expect("the gateway has redis");
        r.url = "redis://127.0.0.1:1".to_owned().into();
        r.command_timeout_ms = 200;
    })
    .await;
    let no = app.create("SH01").await["request_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = approve(&app, &no, "SH01").await;
    // Wait until the feed has tried and failed at least once.
    testing::eventually(WAIT, || async {
        let m = app.admin("/metrics").await;
        String::from_utf8_lossy(&m.body)
            .contains("aftersales_redis_degraded_total{feature=\"stream\"}")
            .then_some(())
    })
    .await
    .expect("the feed reported Redis missing");

    // Redis comes back (a gateway that reaches it takes over the queue).
    app.restart_gateway(|p, _| {
        let r = p.redis.as_mut().expect("the gateway has redis");
        r.url = redis_url().into();
        r.command_timeout_ms = 1000;
    })
    .await;

    // Nothing was lost: both events are in the buffer, from the start.
    let mut s = app.stream(&agent("SH01"), "", Some("0-0")).await;
    // In either order: intake's outbox relays the submission on its own schedule, and the test
    // published the approval right after the 201.
    let events = [next_about(&mut s, &no).await, next_about(&mut s, &no).await];
    assert!(
        events
            .iter()
            .any(|e| e.data["type"] == "intake.request.submitted"),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e.data["event_id"] == id.as_str()),
        "{events:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_dealers_stream_carries_its_own_shipment_notices_and_nothing_else() {
    use aftersales_platform::proto::logistics::v1 as logistics;
    let app = spawn_app().await;
    let token = testing::dealer_token("dealer", "SH01", "D-SH01-0001");
    let mut stream = app.stream(&token, "", None).await;
    assert_eq!(stream.status, 200);
    let notice = |consignment: &str, dealer: &str| logistics::ConsignmentDispatched {
        consignment_id: consignment.into(),
        dealer_code: dealer.into(),
        branch: "SH01".into(),
        waybill_no: format!("SF{consignment}"),
        ..Default::default()
    };
    // Another dealer of the same branch, then this dealer's, then a customer's event of the
    // branch, then this dealer's again.
    app.publish("logistics", "DO-2", "SH01", &notice("DO-2", "D-SH01-0002"))
        .await;
    let own = app
        .publish("logistics", "DO-1", "SH01", &notice("DO-1", "D-SH01-0001"))
        .await;
    approve(&app, "AS-2612-SH01-000001", "SH01").await;
    let own_again = app
        .publish("logistics", "DO-3", "SH01", &notice("DO-3", "D-SH01-0001"))
        .await;

    let first = stream.next(WAIT).await.expect("the dealer's notice");
    assert_eq!(first.data["event_id"], own.as_str());
    assert_eq!(first.data["type"], "logistics.consignment.dispatched");
    assert_eq!(first.data["payload"]["waybill_no"], "SFDO-1");
    let second = stream.next(WAIT).await.expect("the dealer's second notice");
    assert_eq!(second.data["event_id"], own_again.as_str());
    app.stop().await;
}
