//! Completed pick-ups (`logistics.pickup.completed`): the unit collected at the customer's door is
//! received at the returns intake by itself, as ReceiveReturn receives it, once per pick-up:
//! however often the event comes, and whether a clerk books the unit by hand before or after it.

use std::time::Duration;

use aftersales_platform::proto::logistics::v1 as lg;
use aftersales_platform::proto::warehouse::v1 as pb;
use tonic::Code;

use crate::helpers::{assert_books_balance, spawn_app, stock, stock_part, zone};

const PICKUPS_HANDLED: &str = "SELECT count(*)::bigint FROM processed_events \
     WHERE routing_key = 'logistics.pickup.completed'";
const UNITS: &str = "SELECT count(*)::bigint FROM returned_units";
const CUSTOMER_RETURNS: &str = "SELECT count(*)::bigint FROM ledger WHERE kind = 'CUSTOMER_RETURN'";

fn completed(no: &str, pickup_no: &str) -> lg::PickupCompleted {
    lg::PickupCompleted {
        request_no: no.into(),
        branch: "SH01".into(),
        pickup_no: pickup_no.into(),
        carrier: "sim".into(),
        waybill_no: format!("SIM-{pickup_no}"),
        part_no: "TV-X55".into(),
        serial: "SN12345678".into(),
        model: "X55".into(),
        items: vec!["television".into(), "remote".into()],
        destination: "WH-SH".into(),
        free_of_charge: true,
        ..Default::default()
    }
}

/// What the returns intake clerk enters for the unit of `pickup_no`, under `key`.
fn by_hand(key: &str, no: &str, pickup_no: &str, serial: &str) -> pb::ReceiveReturnRequest {
    pb::ReceiveReturnRequest {
        idempotency_key: key.into(),
        request_no: no.into(),
        pickup_no: pickup_no.into(),
        part_no: "TV-X55".into(),
        serial: serial.into(),
        model: "X55".into(),
        movement_date: String::new(),
    }
}

#[tokio::test]
async fn a_completed_pick_up_is_received_once_however_often_it_comes_and_when_the_clerk_books_it_too()
 {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "TV-X55", false, 0).await;
    let no = "AS-2611-SH01-000501";

    // Act: the event twice (a redelivery) and once more under a new id (logistics re-sent it).
    let event = completed(no, "PU-2611-000001");
    let id = uuid::Uuid::now_v7().to_string();
    app.publish_with_id(&id, "logistics", no, &event).await;
    app.publish_with_id(&id, "logistics", no, &event).await;
    app.publish("logistics", no, &event).await;
    app.wait_count(PICKUPS_HANDLED, 2).await;

    // Assert: one unit, pending inspection, booked under the pick-up.
    assert_eq!(app.count(UNITS).await, 1);
    assert_eq!(app.count(CUSTOMER_RETURNS).await, 1);
    let s = stock(&mut client, "TV-X55").await;
    assert_eq!(zone(&s, pb::Zone::PendingInspection).on_hand, 1);
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM returned_units WHERE pickup_no = 'PU-2611-000001' \
             AND request_no = 'AS-2611-SH01-000501' AND branch = 'SH01' AND serial = 'SN12345678' \
             AND model = 'X55' AND status = 'RECEIVED'"
        )
        .await,
        1
    );

    // Act: the clerk, not knowing, books the same unit by hand (twice: a retried call).
    let unit = client
        .receive_return(by_hand("clerk-key", no, "PU-2611-000001", "SN12345678"))
        .await
        .expect("the unit received already is the answer")
        .into_inner()
        .returned_unit
        .unwrap();
    client
        .receive_return(by_hand("clerk-key", no, "PU-2611-000001", "SN12345678"))
        .await
        .unwrap();

    // Assert: still one unit; it can be inspected as usual.
    assert_eq!(unit.pickup_no, "PU-2611-000001");
    assert_eq!(app.count(UNITS).await, 1);
    assert_eq!(app.count(CUSTOMER_RETURNS).await, 1);
    client
        .inspect_return(pb::InspectReturnRequest {
            return_id: unit.return_id,
            resaleable: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let s = stock(&mut client, "TV-X55").await;
    assert_eq!(
        (
            zone(&s, pb::Zone::PendingInspection).on_hand,
            zone(&s, pb::Zone::Qualified).on_hand
        ),
        (0, 1)
    );
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_pick_up_the_clerk_received_first_is_not_received_again_by_its_event() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "TV-X55", false, 0).await;
    let no = "AS-2611-SH01-000502";

    // Arrange: the clerk books the unit as it arrives, before the event.
    let unit = client
        .receive_return(by_hand("counter-1", no, "PU-2611-000002", "SN12345678"))
        .await
        .unwrap()
        .into_inner()
        .returned_unit
        .unwrap();

    // Act: the pick-up's completion arrives; then, as a sentinel that the consumer went past
    // it, another pick-up's.
    app.publish("logistics", no, &completed(no, "PU-2611-000002"))
        .await;
    app.publish("logistics", no, &completed(no, "PU-2611-000003"))
        .await;
    app.wait_count(PICKUPS_HANDLED, 2).await;

    // Assert: the first pick-up's unit once, the second's once.
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM returned_units WHERE pickup_no = 'PU-2611-000002'")
            .await,
        1
    );
    assert_eq!(app.count(UNITS).await, 2);
    assert_eq!(app.count(CUSTOMER_RETURNS).await, 2);

    // Act: another unit under the same pick-up (a different serial) is refused.
    let refused = client
        .receive_return(by_hand("counter-2", no, "PU-2611-000002", "SN-OTHER-1"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::AlreadyExists, "{refused:?}");
    assert!(refused.message().contains(&unit.return_id), "{refused:?}");
    let s = stock(&mut client, "TV-X55").await;
    assert_eq!(zone(&s, pb::Zone::PendingInspection).on_hand, 2);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_pick_up_and_the_clerks_booking_at_the_same_moment_receive_one_unit() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "TV-X55", false, 0).await;
    let no = "AS-2611-SH01-000503";

    // Act: for each of ten pick-ups, its event and two clerks' bookings at once.
    let pickups: Vec<String> = (1..=10).map(|i| format!("PU-2611-1000{i:02}")).collect();
    let mut calls = Vec::new();
    for p in &pickups {
        app.publish("logistics", no, &completed(no, p)).await;
        for clerk in ["a", "b"] {
            let mut client = client.clone();
            let req = by_hand(&format!("{clerk}-{p}"), no, p, "SN12345678");
            calls.push(tokio::spawn(
                async move { client.receive_return(req).await },
            ));
        }
    }
    let mut ids = std::collections::HashMap::new();
    for (i, call) in calls.into_iter().enumerate() {
        let unit = call
            .await
            .unwrap()
            .expect("a booking succeeds or answers with the unit received")
            .into_inner()
            .returned_unit
            .unwrap();
        ids.entry(pickups[i / 2].clone())
            .or_insert_with(Vec::new)
            .push(unit.return_id);
    }
    app.wait_count(PICKUPS_HANDLED, pickups.len() as i64).await;

    // Assert: one unit per pick-up, which both clerks were told of.
    assert_eq!(app.count(UNITS).await, pickups.len() as i64);
    assert_eq!(app.count(CUSTOMER_RETURNS).await, pickups.len() as i64);
    for (p, returned) in ids {
        assert_eq!(returned[0], returned[1], "{p}: two units");
    }
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn bad_exceptions_and_pick_ups_are_dead_lettered_naming_the_field_and_the_next_is_handled() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "TV-X55", false, 0).await;
    let no = "AS-2611-SH01-000504";

    // Act: an exception asking for a replacement of nothing, with a bad part number and no id;
    // a pick-up without its number; a pick-up of a part the catalogue does not have; then a
    // good pick-up behind them.
    let bad_exception = lg::ShipmentException {
        request_no: no.into(),
        branch: "SH01".into(),
        shipment_no: "SH-1".into(),
        exception_id: String::new(),
        kind: lg::ExceptionKind::Loss as i32,
        replacement_needed: true,
        affected_lines: vec![aftersales_platform::proto::common::v1::PartLine {
            part_no: "PWR 55/01".into(),
            quantity: 0,
        }],
        ..Default::default()
    };
    app.publish("logistics", no, &bad_exception).await;
    app.publish("logistics", no, &completed(no, "  ")).await;
    let mut unknown = completed(no, "PU-2611-000009");
    unknown.part_no = "NOT-CATALOGUED".into();
    app.publish("logistics", no, &unknown).await;
    // A delay needs nothing of the warehouse: handled, not dead-lettered.
    app.publish(
        "logistics",
        no,
        &lg::ShipmentException {
            kind: lg::ExceptionKind::Delay as i32,
            replacement_needed: false,
            ..bad_exception.clone()
        },
    )
    .await;
    app.publish("logistics", no, &completed(no, "PU-2611-000010"))
        .await;

    // Assert: the good one received; the three bad ones dead-lettered, each naming its fields.
    app.wait_count(UNITS, 1).await;
    let bus = app.svc.bus_settings();
    let dead = aftersales_platform::testing::eventually(Duration::from_secs(60), || {
        let bus = bus.clone();
        async move {
            let letters = bus.dlq_list("warehouse").await.ok()?;
            (letters.len() >= 3).then_some(letters)
        }
    })
    .await
    .expect("the bad events reached the DLQ");
    assert_eq!(dead.len(), 3, "{dead:?}");
    let error = |key: &str| {
        dead.iter()
            .filter(|d| d.routing_key == key)
            .map(|d| d.error.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let exception = error("logistics.shipment.exception");
    for field in [
        "exception_id",
        "affected_lines[0].part_no",
        "affected_lines[0].quantity",
    ] {
        assert!(exception.contains(field), "{field} not named: {exception}");
    }
    let pickups = error("logistics.pickup.completed");
    assert!(pickups.contains("pickup_no"), "{pickups}");
    assert!(pickups.contains("not in the catalogue"), "{pickups}");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM reservations").await,
        0
    );
    assert_eq!(app.count(UNITS).await, 1);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}
