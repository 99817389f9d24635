//! An in-warranty request's path through logistics, driven by the events the warehouse publishes
//! and the manual clock: planned on the reservation, packed and dispatched with a waybill when
//! the parts are issued, delivered by the sim carrier.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use chrono::Duration;
use logistics::scanners::SIM_CARRIER;

use crate::helpers::{confirmed, decode, from_ts, issued, next_event, request_no, spawn_app};

#[tokio::test]
async fn a_reserved_request_is_planned_dispatched_with_a_waybill_and_delivered_by_the_sim_carrier()
{
    // Arrange: logistics on a Monday morning, and a probe on everything it publishes.
    let app = spawn_app().await;
    let mut probe = app.subscribe("logistics.#").await;
    let no = request_no("SH01");
    let reservation = confirmed(&no, common::Urgency::Normal, &[("PWR-55-01", 1)]);

    // Act: the warehouse confirms the reservation.
    app.publish("warehouse", &no, &reservation).await;

    // Assert: a shipment is planned with the method and why.
    let env = next_event(&mut probe, "logistics.shipment.planned", &no).await;
    let planned: pb::ShipmentPlanned = decode(&env);
    assert_eq!(planned.pick_list_id, format!("PL-{no}"));
    assert_eq!(planned.method, pb::DeliveryMethod::DedicatedLine as i32);
    assert!(
        planned
            .method_reason
            .contains("cheapest that keeps the promised 3 working day(s)"),
        "{}",
        planned.method_reason
    );
    assert_eq!(planned.estimated_cost.as_ref().unwrap().amount_minor, 950);
    let s = app.shipment(&planned.shipment_no).await;
    assert_eq!(s.status, pb::ShipmentStatus::Planned as i32);
    assert_eq!(s.method_rule, "cheapest_within_promise");
    assert!(s.waybill_no.is_empty());

    // Act: the clerk issues the pick list to the shipment.
    app.publish(
        "warehouse",
        &no,
        &issued(&reservation, &planned.shipment_no),
    )
    .await;

    // Assert: dispatched with the sim carrier's waybill, the packing list printed, the ETA two
    // working days on (the dedicated line's transit).
    let env = next_event(&mut probe, "logistics.shipment.dispatched", &no).await;
    let dispatched: pb::ShipmentDispatched = decode(&env);
    assert_eq!(dispatched.shipment_no, planned.shipment_no);
    assert_eq!(
        dispatched.waybill_no,
        format!("SIM-{}", planned.shipment_no)
    );
    assert_eq!(dispatched.carrier, "sim");
    assert_eq!(dispatched.packing_list.len(), 1);
    let line = &dispatched.packing_list[0];
    assert_eq!(
        (line.part_no.as_str(), line.quantity, line.package_no),
        ("PWR-55-01", 1, 1)
    );
    assert_eq!(line.name, "TV power board");
    let eta = from_ts(dispatched.eta.as_ref().unwrap());
    assert_eq!(
        eta,
        app.now() + Duration::days(2),
        "Monday 10:00 + 2 working days"
    );
    let s = app.shipment(&planned.shipment_no).await;
    assert_eq!(s.status, pb::ShipmentStatus::Dispatched as i32);
    assert_eq!(s.packages, 1);

    // Act: time passes; the sim carrier sends what is due.
    app.clock().advance(Duration::days(3));
    app.scan(SIM_CARRIER).await;

    // Assert: delivered, on time, with every update recorded in order and applied.
    let env = next_event(&mut probe, "logistics.shipment.delivered", &no).await;
    let delivered: pb::ShipmentDelivered = decode(&env);
    assert!(delivered.on_time);
    assert_eq!(delivered.waybill_no, dispatched.waybill_no);
    assert_eq!(delivered.kind, common::RequestKind::Replacement as i32);
    let s = app.shipment(&planned.shipment_no).await;
    assert_eq!(s.status, pb::ShipmentStatus::Delivered as i32);
    let statuses: Vec<i32> = s.tracking.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [
            pb::TrackingStatus::PickedUp as i32,
            pb::TrackingStatus::InTransit as i32,
            pb::TrackingStatus::OutForDelivery as i32,
            pb::TrackingStatus::Delivered as i32,
        ]
    );
    assert!(s.tracking.iter().all(|t| t.applied));
    assert!(from_ts(s.delivered_at.as_ref().unwrap()) <= eta);
    // A second scan finds nothing left to send.
    assert_eq!(app.scan(SIM_CARRIER).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn parts_issued_before_the_plan_arrived_are_dispatched_as_soon_as_it_does() {
    let app = spawn_app().await;
    let mut probe = app.subscribe("logistics.#").await;
    let no = request_no("SH01");
    let reservation = confirmed(&no, common::Urgency::High, &[("PWR-55-01", 2)]);

    // Act: the issue overtakes the confirmation.
    app.publish("warehouse", &no, &issued(&reservation, ""))
        .await;
    app.wait_processed("warehouse.parts.issued", 1).await;
    app.publish("warehouse", &no, &reservation).await;

    // Assert: planned (high urgency in town: express, one working day) and dispatched at once.
    let planned: pb::ShipmentPlanned =
        decode(&next_event(&mut probe, "logistics.shipment.planned", &no).await);
    assert_eq!(planned.method, pb::DeliveryMethod::Express as i32);
    let dispatched: pb::ShipmentDispatched =
        decode(&next_event(&mut probe, "logistics.shipment.dispatched", &no).await);
    assert_eq!(dispatched.shipment_no, planned.shipment_no);
    assert_eq!(dispatched.packing_list[0].quantity, 2);
    app.stop().await;
}

#[tokio::test]
async fn non_urgent_shipments_to_one_door_on_one_day_travel_together_and_an_urgent_one_alone() {
    let app = spawn_app().await;
    let (a, b, c) = (request_no("SH01"), request_no("SH01"), request_no("SH01"));
    app.publish(
        "warehouse",
        &a,
        &confirmed(&a, common::Urgency::Normal, &[("PWR-55-01", 1)]),
    )
    .await;
    let first = app.wait_shipment(&a, |_| true).await;
    app.publish(
        "warehouse",
        &b,
        &confirmed(&b, common::Urgency::Low, &[("RMT-01", 1)]),
    )
    .await;
    app.publish(
        "warehouse",
        &c,
        &confirmed(&c, common::Urgency::Critical, &[("RMT-01", 1)]),
    )
    .await;
    let second = app.wait_shipment(&b, |_| true).await;
    let urgent = app.wait_shipment(&c, |_| true).await;

    assert_eq!(second.consolidation_id, first.shipment_no);
    assert_eq!(second.method_rule, "consolidated");
    assert_eq!(second.method, first.method);
    assert!(
        second.method_reason.contains(&first.shipment_no),
        "{}",
        second.method_reason
    );
    // The base fee is paid once, by the first.
    assert_eq!(second.estimated_cost.as_ref().unwrap().amount_minor, 150);
    assert_eq!(
        app.shipment(&first.shipment_no).await.consolidation_id,
        first.shipment_no
    );
    assert_eq!(urgent.consolidation_id, "");
    assert_eq!(urgent.method_rule, "urgent_fastest");
    assert_eq!(urgent.method, pb::DeliveryMethod::SpecialVehicle as i32);
    app.stop().await;
}

#[tokio::test]
async fn valuables_travel_insured_at_what_the_warehouse_says_they_cost() {
    let app = spawn_app().await;
    let mut probe = app.subscribe("logistics.#").await;
    let no = request_no("SH01");
    let mut reservation = confirmed(&no, common::Urgency::Normal, &[("PNL-55-01", 1)]);
    reservation.lines[0].zone = aftersales_platform::proto::warehouse::v1::Zone::Valuables as i32;
    app.publish("warehouse", &no, &reservation).await;
    let planned: pb::ShipmentPlanned =
        decode(&next_event(&mut probe, "logistics.shipment.planned", &no).await);
    // The rate table's declared value of a panel, and its premium in the cost.
    assert_eq!(
        planned.insured_value.as_ref().unwrap().amount_minor,
        180_000
    );
    assert!(
        planned.method_reason.contains("insured at 1800.00 CNY"),
        "{}",
        planned.method_reason
    );
    app.publish(
        "warehouse",
        &no,
        &issued(&reservation, &planned.shipment_no),
    )
    .await;
    let dispatched: pb::ShipmentDispatched =
        decode(&next_event(&mut probe, "logistics.shipment.dispatched", &no).await);
    assert_eq!(
        dispatched.insured_value.as_ref().unwrap().amount_minor,
        45_000,
        "the unit cost at issue"
    );
    app.stop().await;
}
