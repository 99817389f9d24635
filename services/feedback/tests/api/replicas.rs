//! Two replicas of feedback on one database and one broker, as the chart runs them.

use aftersales_platform::clock::Clock;
use aftersales_platform::proto::feedback::v1 as pb;

use crate::helpers::{SCANNER, builder, clock_at, key, local, wrap};

#[tokio::test]
async fn two_replicas_scanning_one_lapsed_complaint_at_the_same_moment_escalate_it_exactly_once() {
    // Arrange: two replicas sharing the database and the broker, each with its own clock.
    let first = wrap(
        builder()
            .clock(clock_at(local(2026, 11, 20, 10, 0)))
            .start()
            .await,
    );
    let second = wrap(
        builder()
            .clock(Clock::manual(first.clock().now()))
            .database_url(&first.svc.database_url())
            .bus(&first.svc.bus)
            .start()
            .await,
    );
    let mut events = first.subscribe("feedback.#").await;
    let c = first
        .agent("SH01")
        .await
        .open_complaint(pb::OpenComplaintRequest {
            idempotency_key: key(),
            branch: "SH01".into(),
            category: pb::ComplaintCategory::Other as i32,
            severity: pb::Severity::Major as i32,
            description: "nobody called back".into(),
            source: "web".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();

    // Act: both clocks a day past the deadline; both replicas scan at once (their own loops,
    // woken by the clocks, join in).
    let past = local(2026, 11, 23, 18, 0);
    first.clock().set(past);
    second.clock().set(past);
    let (a, b) = tokio::join!(first.svc.try_scan(SCANNER), second.svc.try_scan(SCANNER));
    assert_eq!(first.scan().await, 0);
    assert_eq!(second.scan().await, 0);

    // Assert
    assert!(a.unwrap_or(0) + b.unwrap_or(0) <= 1, "{a:?} {b:?}");
    let all = first.drain(&mut events).await;
    let escalated = all
        .iter()
        .filter(|e| e.routing_key == "feedback.complaint.escalated" && e.subject == c.complaint_id)
        .count();
    assert_eq!(escalated, 1, "one escalation for the lapse");
    second.stop().await;
    first.stop().await;
}
