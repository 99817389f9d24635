//! Sabotage: the shipments table goes away under a confirmation. The failure is reported (retried,
//! then dead-lettered, counted), nothing half-done is left, and after the repair a replay plans
//! the shipment exactly once.

use std::time::Duration;

use aftersales_platform::bus::Replay;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::telemetry::metrics;
use aftersales_platform::testing;
use sea_orm::ConnectionTrait;

use crate::helpers::{confirmed, request_no, spawn_app};

#[tokio::test]
async fn a_confirmation_failing_on_a_missing_table_is_dead_lettered_and_planned_once_after_a_replay()
 {
    let app = spawn_app().await;
    let bus = app.svc.bus_settings();
    let queue = bus.topology.inbox("logistics");
    let failures = || {
        metrics()
            .handler_failures
            .with_label_values(&[queue.as_str(), "warehouse.reservation.confirmed"])
            .get()
    };
    let before = failures();
    let no = request_no("SH01");

    // Break: the table the plan writes to is gone.
    app.svc
        .conn()
        .execute_unprepared("ALTER TABLE shipments RENAME TO shipments_gone")
        .await
        .unwrap();
    app.publish(
        "warehouse",
        &no,
        &confirmed(&no, common::Urgency::Normal, &[("PWR-55-01", 1)]),
    )
    .await;

    // Reported: retried, then parked in the DLQ; nothing of it committed.
    let dead = testing::eventually(Duration::from_secs(60), || async {
        let d = bus.dlq_list("logistics").await.ok()?;
        (!d.is_empty()).then_some(d)
    })
    .await
    .expect("the confirmation is dead-lettered");
    assert_eq!(dead[0].routing_key, "warehouse.reservation.confirmed");
    assert!(dead[0].error.contains("shipments"), "{}", dead[0].error);
    assert!(failures() > before, "the failure is counted");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM processed_events")
            .await,
        0
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM outbox").await, 0);
    assert_eq!(app.count("SELECT count(*)::bigint FROM requests").await, 0);

    // Repair, replay: planned once.
    app.svc
        .conn()
        .execute_unprepared("ALTER TABLE shipments_gone RENAME TO shipments")
        .await
        .unwrap();
    bus.dlq_replay("logistics", &Replay::All).await.unwrap();
    let s = app.wait_shipment(&no, |_| true).await;
    assert_eq!(s.request_no, no);
    app.wait_processed("warehouse.reservation.confirmed", 1)
        .await;
    assert_eq!(app.count("SELECT count(*)::bigint FROM shipments").await, 1);
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'logistics.shipment.planned'"
        )
        .await,
        1
    );
    app.stop().await;
}
