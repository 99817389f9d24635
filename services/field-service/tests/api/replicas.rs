//! Two replicas of field-service on one database, one broker and one Redis, as the chart runs
//! them: the arrival-deadline scanner announces a breach once however both scan, and a slot held
//! through one replica is held for the other.

use aftersales_platform::clock::Clock;
use aftersales_platform::proto::fieldservice::v1 as pb;
use tonic::Code;

use crate::helpers::{SCANNER, builder, spawn_app, spawn_with, window};

#[tokio::test]
async fn two_replicas_scanning_one_late_arrival_at_the_same_moment_announce_it_once() {
    let first = spawn_app().await;
    let second = spawn_with(
        builder()
            .clock(Clock::manual(first.clock().now()))
            .database_url(&first.svc.database_url())
            .bus(&first.svc.bus)
            .redis_prefix(first.svc.redis_prefix.as_deref().unwrap()),
    )
    .await;
    first.technician_of("T-SH01-001", 4).await;
    let wo = first.open(1, "SN-2R-1").await;
    let due = crate::helpers::time(&wo.arrival_due_at);
    const BREACHES: &str = "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'fieldservice.workorder.sla_breached'";

    // Both replicas an hour past the deadline, both scanning at once (and their own loops, woken
    // by the clocks, too).
    let past = due + chrono::Duration::hours(1);
    first.clock().set(past);
    second.clock().set(past);
    let (a, b) = tokio::join!(first.svc.try_scan(SCANNER), second.svc.try_scan(SCANNER));
    first.scan().await;
    second.scan().await;

    assert!(a.unwrap_or(0) + b.unwrap_or(0) <= 1, "{a:?} {b:?}");
    assert_eq!(first.count(BREACHES).await, 1);

    // A hold taken through one replica holds for the other.
    let other = first.open(2, "SN-2R-2").await;
    let mut via_first = first.dispatcher();
    let mut via_second = second.dispatcher();
    let hold = |no: &str| pb::HoldSlotRequest {
        work_order_no: no.into(),
        technician_id: "T-SH01-001".into(),
        window: Some(window(1, 9)),
    };
    via_first.hold_slot(hold(&wo.work_order_no)).await.unwrap();
    let refused = via_second
        .hold_slot(hold(&other.work_order_no))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);

    second.stop().await;
    first.stop().await;
}
