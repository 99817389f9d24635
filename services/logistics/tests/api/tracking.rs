//! The carrier webhook's guarantees, as RecordTrackingEvent keeps them (the gateway checks the
//! HMAC and forwards the signed body's event id and send time): a duplicate event id changes
//! nothing, a send time outside the window is refused, and updates arriving in any order never
//! move a shipment backwards.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use chrono::Duration;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use tonic::Code;

use crate::helpers::{TestApp, confirmed, issued, request_no, spawn_app, update};

/// A dispatched shipment's number and waybill.
async fn dispatched(app: &TestApp) -> (String, String, String) {
    let no = request_no("SH01");
    let reservation = confirmed(&no, common::Urgency::Normal, &[("PWR-55-01", 1)]);
    app.publish("warehouse", &no, &reservation).await;
    let s = app.wait_shipment(&no, |_| true).await;
    app.publish("warehouse", &no, &issued(&reservation, &s.shipment_no))
        .await;
    let s = app
        .wait_shipment(&no, |s| s.status == pb::ShipmentStatus::Dispatched as i32)
        .await;
    (no, s.shipment_no, s.waybill_no)
}

fn outbox_of(no: &str) -> String {
    format!("SELECT count(*)::bigint FROM outbox WHERE subject = '{no}'")
}

#[tokio::test]
async fn a_duplicate_carrier_event_id_answers_ok_and_changes_nothing() {
    let app = spawn_app().await;
    let (no, shipment_no, waybill) = dispatched(&app).await;
    let mut client = app.operator();
    let now = app.now();
    let delivered = update(
        "sim",
        &waybill,
        "evt-1",
        pb::TrackingStatus::Delivered,
        now,
        now,
    );

    let first = client
        .record_tracking_event(delivered.clone())
        .await
        .unwrap()
        .into_inner();
    let events = app.count(&outbox_of(&no)).await;
    // The carrier retries the same event, signed again a minute later.
    app.clock().advance(Duration::minutes(1));
    let mut again = delivered.clone();
    again.sent_at = Some(crate::helpers::ts(app.now()));
    let second = client
        .record_tracking_event(again)
        .await
        .unwrap()
        .into_inner();

    assert!(first.applied);
    assert!(!second.applied, "a replay is reported as such");
    let Some(pb::record_tracking_event_response::Target::Shipment(s)) = second.target else {
        panic!("the waybill is a shipment's");
    };
    assert_eq!(s.shipment_no, shipment_no);
    assert_eq!(s.status, pb::ShipmentStatus::Delivered as i32);
    assert_eq!(s.tracking.len(), 1, "recorded once");
    assert_eq!(
        app.count(&outbox_of(&no)).await,
        events,
        "no second delivery event"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_send_time_outside_the_window_is_refused_and_records_nothing() {
    let app = spawn_app().await;
    let (_, shipment_no, waybill) = dispatched(&app).await;
    let mut client = app.operator();
    let now = app.now();

    // A call captured and replayed six minutes later (the window is five).
    let stale = update(
        "sim",
        &waybill,
        "evt-late",
        pb::TrackingStatus::Lost,
        now,
        now - Duration::minutes(6),
    );
    let refused = client.record_tracking_event(stale).await.unwrap_err();
    // From the future, too.
    let early = update(
        "sim",
        &waybill,
        "evt-early",
        pb::TrackingStatus::Lost,
        now,
        now + Duration::minutes(6),
    );
    let refused_too = client.record_tracking_event(early).await.unwrap_err();
    // Without a send time.
    let mut unsigned = update(
        "sim",
        &waybill,
        "evt-none",
        pb::TrackingStatus::Lost,
        now,
        now,
    );
    unsigned.sent_at = None;
    let invalid = client.record_tracking_event(unsigned).await.unwrap_err();

    assert_eq!(
        refused.code(),
        Code::Unauthenticated,
        "{}",
        refused.message()
    );
    assert!(
        refused.message().contains("sent_at"),
        "{}",
        refused.message()
    );
    assert_eq!(refused_too.code(), Code::Unauthenticated);
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert!(crate::helpers::violations(&invalid).contains_key("sent_at"));
    let s = app.shipment(&shipment_no).await;
    assert_eq!(s.status, pb::ShipmentStatus::Dispatched as i32);
    assert!(s.tracking.is_empty());
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM tracking_events")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM exceptions").await,
        0
    );
    // Within the window the same update is taken.
    let fresh = update(
        "sim",
        &waybill,
        "evt-late",
        pb::TrackingStatus::InTransit,
        now,
        now - Duration::minutes(4),
    );
    assert!(
        client
            .record_tracking_event(fresh)
            .await
            .unwrap()
            .into_inner()
            .applied
    );
    app.stop().await;
}

#[tokio::test]
async fn a_late_in_transit_after_delivered_is_recorded_and_changes_nothing() {
    let app = spawn_app().await;
    let (no, shipment_no, waybill) = dispatched(&app).await;
    let mut client = app.operator();
    let now = app.now();
    let t = |m: i64| now + Duration::minutes(m);
    client
        .record_tracking_event(update(
            "sim",
            &waybill,
            "e3",
            pb::TrackingStatus::Delivered,
            t(30),
            now,
        ))
        .await
        .unwrap();
    let events = app.count(&outbox_of(&no)).await;

    let late = client
        .record_tracking_event(update(
            "sim",
            &waybill,
            "e2",
            pb::TrackingStatus::InTransit,
            t(10),
            now,
        ))
        .await
        .unwrap()
        .into_inner();
    let lost_after = client
        .record_tracking_event(update(
            "sim",
            &waybill,
            "e4",
            pb::TrackingStatus::Lost,
            t(40),
            now,
        ))
        .await
        .unwrap()
        .into_inner();

    // New to the service (not a replay), but recorded only.
    assert!(late.applied);
    let s = app.shipment(&shipment_no).await;
    assert_eq!(s.status, pb::ShipmentStatus::Delivered as i32);
    assert_eq!(s.tracking.len(), 3, "every update is recorded");
    let by_id = |id: &str| {
        s.tracking
            .iter()
            .find(|e| e.carrier_event_id == id)
            .unwrap()
            .clone()
    };
    assert!(by_id("e3").applied);
    assert!(!by_id("e2").applied);
    assert!(
        by_id("e2").note.contains("delivered already"),
        "{}",
        by_id("e2").note
    );
    assert!(
        !by_id("e4").applied,
        "a delivered shipment is not lost afterwards"
    );
    assert!(lost_after.target.is_some());
    assert_eq!(
        app.count(&outbox_of(&no)).await,
        events,
        "nothing published"
    );
    assert!(s.exceptions.is_empty());
    app.stop().await;
}

fn rank(status: i32) -> u8 {
    use pb::ShipmentStatus as S;
    match S::try_from(status).unwrap() {
        S::Planned => 0,
        S::Dispatched => 1,
        S::InTransit => 2,
        S::Delivered | S::Failed | S::Cancelled => 3,
        S::Unspecified => 0,
    }
}

#[tokio::test]
async fn updates_in_any_order_never_move_a_shipment_backwards() {
    // Arrange: one service, and shuffled sequences of updates (with repeats) for eight shipments.
    let app = spawn_app().await;
    let mut client = app.operator();
    let statuses = [
        pb::TrackingStatus::PickedUp,
        pb::TrackingStatus::InTransit,
        pb::TrackingStatus::OutForDelivery,
        pb::TrackingStatus::DeliveryFailed,
        pb::TrackingStatus::Delivered,
    ];
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let orders = proptest::collection::vec(
        proptest::sample::subsequence((0..statuses.len()).collect::<Vec<_>>(), 2..=statuses.len())
            .prop_shuffle(),
        8,
    );
    let orders = orders.new_tree(&mut runner).unwrap().current();
    let mut reached_backwards = 0;
    for (i, order) in orders.iter().enumerate() {
        let (_, shipment_no, waybill) = dispatched(&app).await;
        let now = app.now();
        let mut last_rank = rank(pb::ShipmentStatus::Dispatched as i32);
        // Act: each update happened at its place in the natural order, arrives in the shuffled one.
        for (k, idx) in order.iter().enumerate() {
            let happened = now + Duration::minutes(*idx as i64 * 10);
            let id = format!("s{i}-e{idx}");
            let r = client
                .record_tracking_event(update("sim", &waybill, &id, statuses[*idx], happened, now))
                .await
                .unwrap()
                .into_inner();
            let Some(pb::record_tracking_event_response::Target::Shipment(s)) = r.target else {
                panic!("a shipment's waybill");
            };
            // Assert: never backwards, and a repeat of an earlier update is a replay.
            assert!(
                rank(s.status) >= last_rank,
                "{shipment_no}: {order:?} at {k}"
            );
            assert!(r.applied, "a new event id is no replay");
            if s.tracking.iter().any(|t| !t.applied) {
                reached_backwards += 1;
            }
            last_rank = rank(s.status);
            let replay = client
                .record_tracking_event(update("sim", &waybill, &id, statuses[*idx], happened, now))
                .await
                .unwrap()
                .into_inner();
            assert!(!replay.applied);
        }
        let s = app.shipment(&shipment_no).await;
        let applied: Vec<_> = s.tracking.iter().filter(|t| t.applied).collect();
        // The applied updates happened in order, and the state is the latest of them.
        assert!(
            applied
                .windows(2)
                .all(|w| w[0].occurred_at.as_ref().unwrap().seconds
                    <= w[1].occurred_at.as_ref().unwrap().seconds)
        );
        if order.contains(&4) {
            assert_eq!(s.status, pb::ShipmentStatus::Delivered as i32, "{order:?}");
        }
    }
    assert!(reached_backwards > 0, "some update arrived out of order");
    app.stop().await;
}
