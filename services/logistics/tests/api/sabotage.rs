//! Sabotage: the shipments table goes away under a confirmation; the consignments table refuses
//! a dealer's consignment. Each failure is reported (retried, then dead-lettered, counted),
//! nothing half-done is left, and after the repair a replay ships exactly once.

use std::time::Duration;

use aftersales_platform::bus::Replay;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::telemetry::metrics;
use aftersales_platform::testing;
use sea_orm::ConnectionTrait;

use crate::helpers::{confirmed, consignment, order_id, request_no, spawn_app};

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

#[tokio::test]
async fn a_consignment_whose_insert_fails_leaves_nothing_and_ships_once_after_a_replay() {
    let app = spawn_app().await;
    let bus = app.svc.bus_settings();
    let queue = bus.topology.inbox("logistics");
    let failures = || {
        metrics()
            .handler_failures
            .with_label_values(&[queue.as_str(), "warehouse.consignment.issued"])
            .get()
    };
    let before = failures();
    let id = order_id();

    // Break: every insert into consignments fails, after the number and the booking were made
    // in the same transaction.
    app.svc
        .conn()
        .execute_unprepared(
            "CREATE FUNCTION sabotage() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'sabotaged consignments'; END $$; \
             CREATE TRIGGER sabotage BEFORE INSERT ON consignments \
             FOR EACH ROW EXECUTE FUNCTION sabotage();",
        )
        .await
        .unwrap();
    app.publish_consignment(&consignment(&id, "D-SH-0001", "SH01", &[("RMT-01", 1)]))
        .await;

    // Reported: retried, then parked in the DLQ, and it was the sabotage that struck.
    let dead = testing::eventually(Duration::from_secs(60), || async {
        let d = bus.dlq_list("logistics").await.ok()?;
        (!d.is_empty()).then_some(d)
    })
    .await
    .expect("the consignment is dead-lettered");
    assert_eq!(dead[0].routing_key, "warehouse.consignment.issued");
    assert!(
        dead[0].error.contains("sabotaged consignments"),
        "{}",
        dead[0].error
    );
    assert!(
        failures() >= before + 2,
        "retried before it was dead-lettered"
    );
    // Nothing of it committed: no row, no notice, no number taken, not marked processed.
    assert_eq!(
        app.count(
            "SELECT (SELECT count(*) FROM consignments) + (SELECT count(*) FROM outbox) \
             + (SELECT count(*) FROM number_sequences) + (SELECT count(*) FROM processed_events)"
        )
        .await,
        0
    );

    // Repair, replay: shipped once.
    app.svc
        .conn()
        .execute_unprepared("DROP TRIGGER sabotage ON consignments; DROP FUNCTION sabotage();")
        .await
        .unwrap();
    bus.dlq_replay("logistics", &Replay::All).await.unwrap();
    app.wait_processed("warehouse.consignment.issued", 1).await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM consignments WHERE consignment_id = '{id}' \
             AND status = 'DISPATCHED' AND shipment_no = 'CS-2611-000001'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'logistics.consignment.dispatched'"
        )
        .await,
        1
    );
    assert!(bus.dlq_list("logistics").await.unwrap().is_empty());
    app.stop().await;
}
