//! Reverse logistics: an approved return gets a door pick-up — free for a quality problem,
//! charged otherwise — collected at the door and completed once when the unit reaches the
//! warehouse's returns intake; a customer who ships it themselves is chased once; a cancelled
//! request's pick-up is called off.

use aftersales_platform::auth::Role;
use aftersales_platform::proto::logistics::v1 as pb;
use aftersales_platform::testing;
use chrono::{Duration, TimeZone};
use logistics::scanners::{RETURN_CHASE, SIM_CARRIER};

use crate::helpers::{
    TestApp, approved_return, cancelled, decode, from_ts, next_event, request_no, spawn_app,
    until_sentinel,
};

fn completed_events(no: &str) -> String {
    format!(
        "SELECT count(*)::bigint FROM outbox WHERE subject = '{no}' AND routing_key = 'logistics.pickup.completed'"
    )
}

async fn scheduled(app: &TestApp, no: &str, free: bool) -> pb::PickupScheduled {
    let mut probe = app.subscribe("logistics.pickup.#").await;
    app.publish("claims", no, &approved_return(no, free)).await;
    decode(&next_event(&mut probe, "logistics.pickup.scheduled", no).await)
}

#[tokio::test]
async fn an_approved_quality_return_is_picked_up_free_and_completed_once_at_the_returns_intake() {
    // Arrange: a probe on the pick-up events.
    let app = spawn_app().await;
    let mut probe = app.subscribe("logistics.pickup.#").await;
    let no = request_no("SH01");

    // Act: claims-review approves a return for a quality problem — delivered twice.
    let approval = approved_return(&no, true);
    let id = app.publish("claims", &no, &approval).await;
    app.publish("claims", &no, &approval).await;
    app.publish_with_id(&id, "claims", &no, &approval).await;

    // Assert: one pick-up, free, at the customer's door, in the next working day's hours.
    let s: pb::PickupScheduled =
        decode(&next_event(&mut probe, "logistics.pickup.scheduled", &no).await);
    assert!(s.free_of_charge);
    assert_eq!(s.fee.as_ref().unwrap().amount_minor, 0);
    assert_eq!(s.waybill_no, format!("SIM-{}", s.pickup_no));
    assert_eq!(
        s.pickup_address.as_ref().unwrap().address,
        "88 Century Avenue, Pudong, Shanghai"
    );
    assert_eq!(s.serial, "SN12345678");
    let window = s.window.unwrap();
    let tuesday_nine = chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert_eq!(from_ts(window.from.as_ref().unwrap()), tuesday_nine);
    assert_eq!(
        from_ts(window.to.as_ref().unwrap()),
        tuesday_nine + Duration::hours(9)
    );
    app.wait_processed("claims.claim.approved", 2).await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM pickups WHERE request_no = '{no}'"
        ))
        .await,
        1
    );

    // Act: time passes; the courier collects the unit and it reaches the returns intake.
    app.clock().advance(Duration::days(5));
    app.scan(SIM_CARRIER).await;

    // Assert: completed once, with the unit's data for the warehouse.
    let c: pb::PickupCompleted =
        decode(&next_event(&mut probe, "logistics.pickup.completed", &no).await);
    assert_eq!(c.pickup_no, s.pickup_no);
    assert_eq!(c.destination, "WH-SH");
    assert!(c.collected_at.is_some() && c.arrived_at.is_some());
    assert!(from_ts(c.collected_at.as_ref().unwrap()) >= tuesday_nine);
    assert!(c.free_of_charge);
    let mut intake = app.client_with(&testing::token("clerk-wh", "*", &[Role::Warehouse]));
    let p = intake
        .complete_pickup(pb::CompletePickupRequest {
            idempotency_key: "arrived-1".into(),
            pickup_no: s.pickup_no.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .pickup
        .unwrap();
    assert_eq!(p.status, pb::PickupStatus::Delivered as i32);
    assert_eq!(
        p.arrived_at, c.arrived_at,
        "completing it again changes nothing"
    );
    assert_eq!(app.count(&completed_events(&no)).await, 1);
    let statuses: Vec<i32> = p.tracking.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [
            pb::TrackingStatus::PickedUp as i32,
            pb::TrackingStatus::InTransit as i32,
            pb::TrackingStatus::Delivered as i32
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_return_for_the_customers_own_reasons_pays_the_regions_pick_up_fee() {
    let app = spawn_app().await;
    let no = request_no("SH01");
    let s = scheduled(&app, &no, false).await;
    assert!(!s.free_of_charge);
    assert_eq!(s.fee.as_ref().unwrap().amount_minor, 2000);
    let p = app
        .operator()
        .get_pickup(pb::GetPickupRequest {
            pickup_no: s.pickup_no.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .pickup
        .unwrap();
    assert!(
        p.fee_reason.contains("customer's own reasons"),
        "{}",
        p.fee_reason
    );
    assert!(p.fee_reason.contains("20.00 CNY"));
    app.stop().await;
}

#[tokio::test]
async fn a_customer_shipping_the_unit_themselves_is_chased_once_after_five_working_days() {
    let app = spawn_app().await;
    let mut overdue = app.subscribe("logistics.pickup.overdue").await;
    let no = request_no("SH01");
    let mut agent = app.agent("SH01");
    let p = agent
        .schedule_pickup(pb::SchedulePickupRequest {
            idempotency_key: "self-ship-1".into(),
            request_no: no.clone(),
            pickup_address: Some(crate::helpers::ship_to("SH01")),
            part_no: "TV-X55".into(),
            serial: "SN12345678".into(),
            customer_ships: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .pickup
        .unwrap();
    assert!(p.customer_ships);
    assert!(p.waybill_no.is_empty());
    assert_eq!(p.fee.as_ref().unwrap().amount_minor, 0);
    let due = from_ts(p.chase_due_at.as_ref().unwrap());
    // Monday 10:00 + 5 working days: the next Monday 10:00.
    assert_eq!(due, app.now() + Duration::days(7));

    app.clock().set(due - Duration::minutes(1));
    assert_eq!(app.scan(RETURN_CHASE).await, 0);
    app.clock().set(due + Duration::minutes(1));
    app.scan(RETURN_CHASE).await;
    let chased = format!(
        "SELECT count(*)::bigint FROM pickups WHERE pickup_no = '{}' AND chased_at IS NOT NULL",
        p.pickup_no
    );
    app.wait_count(&chased, 1).await;
    let first = app
        .operator()
        .get_pickup(pb::GetPickupRequest {
            pickup_no: p.pickup_no.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .pickup
        .unwrap();
    app.clock().advance(Duration::days(3));
    assert_eq!(app.scan(RETURN_CHASE).await, 0, "chased once");
    let again = app
        .operator()
        .get_pickup(pb::GetPickupRequest {
            pickup_no: p.pickup_no.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .pickup
        .unwrap();
    assert_eq!(first.chased_at, again.chased_at);
    // Announced once, for the branch to call the customer.
    let env = crate::helpers::next_event(&mut overdue, "logistics.pickup.overdue", &no).await;
    let ev: aftersales_platform::proto::logistics::v1::PickupOverdue = crate::helpers::decode(&env);
    assert_eq!(
        (ev.pickup_no.as_str(), ev.request_no.as_str()),
        (p.pickup_no.as_str(), no.as_str())
    );
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(500), overdue.recv())
            .await
            .is_err(),
        "a second pickup.overdue"
    );

    // It arrives after all: completed (and no more chasing).
    let done = app
        .operator()
        .complete_pickup(pb::CompletePickupRequest {
            idempotency_key: "arrived".into(),
            pickup_no: p.pickup_no.clone(),
            items: vec!["remote control".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .pickup
        .unwrap();
    assert_eq!(done.status, pb::PickupStatus::Delivered as i32);
    assert_eq!(app.count(&completed_events(&no)).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_cancelled_return_calls_its_pick_up_off_and_nothing_arrives_afterwards() {
    let app = spawn_app().await;
    let mut probe = app.subscribe("logistics.#").await;
    let no = request_no("SH01");
    let s = scheduled(&app, &no, true).await;

    app.publish("intake", &no, &cancelled(&no)).await;
    app.wait_processed("intake.request.cancelled", 1).await;
    app.clock().advance(Duration::days(5));
    app.scan(SIM_CARRIER).await;

    let p = app
        .operator()
        .get_pickup(pb::GetPickupRequest {
            pickup_no: s.pickup_no.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .pickup
        .unwrap();
    assert_eq!(p.status, pb::PickupStatus::Cancelled as i32);
    assert!(p.tracking.is_empty(), "the sim carrier sent nothing for it");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM sim_schedule").await,
        0
    );
    // An approval arriving after the cancellation books nothing either.
    let late = request_no("SH01");
    app.publish("intake", &late, &cancelled(&late)).await;
    app.wait_processed("intake.request.cancelled", 2).await;
    app.publish("claims", &late, &approved_return(&late, true))
        .await;
    app.wait_processed("claims.claim.approved", 2).await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM pickups WHERE request_no = '{late}'"
        ))
        .await,
        0
    );
    // Nothing was published for either after the schedule: the sentinel comes next.
    app.wait_count(
        "SELECT count(*)::bigint FROM outbox WHERE published_at IS NULL",
        0,
    )
    .await;
    let sentinel = request_no("SH01");
    app.publish(
        "logistics",
        &sentinel,
        &pb::PickupScheduled {
            request_no: sentinel.clone(),
            ..Default::default()
        },
    )
    .await;
    let seen = until_sentinel(&mut probe, &sentinel).await;
    let after: Vec<&str> = seen
        .iter()
        .filter(|e| e.routing_key != "logistics.pickup.scheduled")
        .map(|e| e.routing_key.as_str())
        .collect();
    assert!(after.is_empty(), "{after:?}");
    app.stop().await;
}
