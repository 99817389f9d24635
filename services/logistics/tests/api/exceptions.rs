//! Exceptions: a delay is a follow-up with the new ETA; a loss (or damage) fails the shipment,
//! `logistics.shipment.exception` asks the warehouse to reserve the lines again, and the next
//! confirmation plans a shipment that replaces the lost one — once, however often the
//! exception or the confirmation is delivered. Exceptions stay open until closed.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use chrono::Duration;
use logistics::scanners::ETA_WATCH;
use tonic::Code;

use crate::helpers::{
    TestApp, builder, confirmed, decode, from_ts, issued, next_event, request_no, spawn_app,
    spawn_app_with, ts, update,
};

async fn dispatched(app: &TestApp, no: &str) -> pb::Shipment {
    let reservation = confirmed(
        no,
        common::Urgency::Normal,
        &[("PWR-55-01", 1), ("RMT-01", 2)],
    );
    app.publish("warehouse", no, &reservation).await;
    let s = app.wait_shipment(no, |_| true).await;
    app.publish("warehouse", no, &issued(&reservation, &s.shipment_no))
        .await;
    app.wait_shipment(no, |s| s.status == pb::ShipmentStatus::Dispatched as i32)
        .await
}

#[tokio::test]
async fn a_lost_shipment_is_replaced_once_by_a_new_shipment_however_often_the_events_come() {
    // Arrange: a dispatched shipment, and a probe as the warehouse would listen.
    let app = spawn_app().await;
    let mut probe = app.subscribe("logistics.#").await;
    let no = request_no("SH01");
    let lost = dispatched(&app, &no).await;
    let mut client = app.operator();
    let now = app.now();

    // Act: the carrier reports the loss — twice, under two event ids (its own retry).
    for id in ["lost-1", "lost-2"] {
        client
            .record_tracking_event(update(
                "sim",
                &lost.waybill_no,
                id,
                pb::TrackingStatus::Lost,
                now,
                now,
            ))
            .await
            .unwrap();
    }

    // Assert: one exception, asking for a replacement of every line of the pick list.
    let env = next_event(&mut probe, "logistics.shipment.exception", &no).await;
    let exception: pb::ShipmentException = decode(&env);
    assert_eq!(exception.kind, pb::ExceptionKind::Loss as i32);
    assert!(exception.replacement_needed);
    assert_eq!(exception.shipment_no, lost.shipment_no);
    assert_eq!(exception.pick_list_id, format!("PL-{no}"));
    let mut affected: Vec<(String, u32)> = exception
        .affected_lines
        .iter()
        .map(|l| (l.part_no.clone(), l.quantity))
        .collect();
    affected.sort();
    assert_eq!(
        affected,
        vec![("PWR-55-01".into(), 1), ("RMT-01".into(), 2)]
    );
    let s = app.shipment(&lost.shipment_no).await;
    assert_eq!(s.status, pb::ShipmentStatus::Failed as i32);
    assert_eq!(
        s.exceptions.len(),
        1,
        "the carrier's second report opened nothing"
    );
    assert!(!s.exceptions[0].resolved);

    // Act: the warehouse, having handled the exception (twice: a redelivery), reserves the lines
    // again under a new pick list and confirms it — the same confirmation twice, then once more
    // under another event id.
    let mut again = confirmed(
        &no,
        common::Urgency::Normal,
        &[("PWR-55-01", 1), ("RMT-01", 2)],
    );
    again.pick_list_id = format!("PL-{no}-R1");
    let id = uuid::Uuid::now_v7().to_string();
    app.publish_with_id(&id, "warehouse", &no, &again).await;
    app.publish_with_id(&id, "warehouse", &no, &again).await;
    app.publish("warehouse", &no, &again).await;
    app.wait_processed("warehouse.reservation.confirmed", 3)
        .await;

    // Assert: one replacement, which replaces the lost shipment.
    let shipments = app.shipments_of(&no).await;
    assert_eq!(shipments.len(), 2, "{shipments:?}");
    let replacement = &shipments[1];
    assert_eq!(replacement.replaces_shipment_no, lost.shipment_no);
    assert_eq!(replacement.pick_list_id, format!("PL-{no}-R1"));
    assert_eq!(
        app.shipment(&lost.shipment_no)
            .await
            .replaced_by_shipment_no,
        replacement.shipment_no
    );
    let planned: pb::ShipmentPlanned =
        decode(&next_event(&mut probe, "logistics.shipment.planned", &no).await);
    let planned = if planned.replaces_shipment_no.is_empty() {
        decode::<pb::ShipmentPlanned>(
            &next_event(&mut probe, "logistics.shipment.planned", &no).await,
        )
    } else {
        planned
    };
    assert_eq!(planned.replaces_shipment_no, lost.shipment_no);

    // Act: the replacement is issued, dispatched; the exception is closed.
    app.publish("warehouse", &no, &issued(&again, &replacement.shipment_no))
        .await;
    let sent = app
        .wait_shipment(&no, |s| {
            s.replaces_shipment_no == lost.shipment_no
                && s.status == pb::ShipmentStatus::Dispatched as i32
        })
        .await;
    let closed = client
        .close_exception(pb::CloseExceptionRequest {
            shipment_no: lost.shipment_no.clone(),
            exception_id: exception.exception_id.clone(),
            resolution: format!(
                "replaced by {}; claim filed with the carrier",
                sent.shipment_no
            ),
        })
        .await
        .unwrap()
        .into_inner();

    // Assert: closed once, and the month's statistics count one loss and two shipments.
    let e = closed.exception.unwrap();
    assert!(e.resolved);
    assert_eq!(e.resolved_by, "clerk-log");
    let month = app.now().format("%Y-%m").to_string();
    let stats = client
        .get_freight_stats(pb::GetFreightStatsRequest {
            group_by: pb::FreightGrouping::Method as i32,
            month,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let total = stats.total.unwrap();
    assert_eq!((total.shipments, total.losses), (2, 1));
    assert_eq!(app.count(&format!("SELECT count(*)::bigint FROM outbox WHERE subject = '{no}' AND routing_key = 'logistics.shipment.exception'")).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_delay_is_a_follow_up_with_the_new_eta_and_stays_open_until_closed() {
    let app = spawn_app().await;
    let mut probe = app.subscribe("logistics.shipment.exception").await;
    let no = request_no("SH01");
    let s = dispatched(&app, &no).await;
    let mut client = app.operator();
    let now = app.now();
    let new_eta = from_ts(s.eta.as_ref().unwrap()) + Duration::days(1);
    let mut delayed = update(
        "sim",
        &s.waybill_no,
        "delay-1",
        pb::TrackingStatus::Delayed,
        now,
        now,
    );
    delayed.eta = Some(ts(new_eta));
    delayed.description = "typhoon: the hub is closed".into();

    client.record_tracking_event(delayed).await.unwrap();

    let e: pb::ShipmentException =
        decode(&next_event(&mut probe, "logistics.shipment.exception", &no).await);
    assert_eq!(e.kind, pb::ExceptionKind::Delay as i32);
    assert!(!e.replacement_needed);
    assert_eq!(from_ts(e.new_eta.as_ref().unwrap()), new_eta);
    assert!(e.detail.contains("typhoon"), "{}", e.detail);
    let after = app.shipment(&s.shipment_no).await;
    assert_eq!(after.status, pb::ShipmentStatus::InTransit as i32);
    assert_eq!(from_ts(after.eta.as_ref().unwrap()), new_eta);
    assert_eq!(
        after.promised_eta, s.promised_eta,
        "on time is measured against the promise"
    );
    assert!(!after.exceptions[0].resolved);
    let listed = client
        .list_shipments(pb::ListShipmentsRequest {
            with_open_exception: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .shipments;
    assert_eq!(listed.len(), 1);

    let close = || pb::CloseExceptionRequest {
        shipment_no: s.shipment_no.clone(),
        exception_id: e.exception_id.clone(),
        resolution: "delivered a day late".into(),
    };
    let first = client
        .close_exception(close())
        .await
        .unwrap()
        .into_inner()
        .exception
        .unwrap();
    let second = client
        .close_exception(close())
        .await
        .unwrap()
        .into_inner()
        .exception
        .unwrap();
    assert!(first.resolved);
    assert_eq!(
        first.resolved_at, second.resolved_at,
        "closing twice changes nothing"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_person_reports_damage_idempotently_and_cannot_report_on_a_planned_shipment() {
    let app = spawn_app().await;
    let no = request_no("SH01");
    let s = dispatched(&app, &no).await;
    let mut client = app.operator();
    let report = pb::ReportExceptionRequest {
        idempotency_key: "damage-1".into(),
        shipment_no: s.shipment_no.clone(),
        kind: pb::ExceptionKind::Damage as i32,
        detail: "carton crushed; board cracked".into(),
        affected_lines: vec![common::PartLine {
            part_no: "PWR-55-01".into(),
            quantity: 1,
        }],
        ..Default::default()
    };
    let first = client
        .report_exception(report.clone())
        .await
        .unwrap()
        .into_inner();
    let again = client
        .report_exception(report.clone())
        .await
        .unwrap()
        .into_inner();
    let mut other = report.clone();
    other.detail = "something else".into();
    let reused = client.report_exception(other).await.unwrap_err();

    assert_eq!(first.exception, again.exception);
    assert_eq!(reused.code(), Code::AlreadyExists);
    let e = first.exception.unwrap();
    assert_eq!(
        e.affected_lines.len(),
        1,
        "only the damaged line is reserved again"
    );
    assert_eq!(
        first.shipment.unwrap().status,
        pb::ShipmentStatus::Failed as i32
    );

    let no2 = request_no("SH01");
    app.publish(
        "warehouse",
        &no2,
        &confirmed(&no2, common::Urgency::Normal, &[("PWR-55-01", 1)]),
    )
    .await;
    let planned = app.wait_shipment(&no2, |_| true).await;
    let mut on_planned = report.clone();
    on_planned.idempotency_key = "damage-2".into();
    on_planned.shipment_no = planned.shipment_no;
    let refused = client.report_exception(on_planned).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    app.stop().await;
}

#[tokio::test]
async fn a_shipment_past_its_eta_gets_one_delay_from_the_eta_watch() {
    // A carrier that sends no tracking of its own: nothing but the clock moves the shipment.
    let app =
        spawn_app_with(builder().env("AFTERSALES__LOGISTICS__CARRIER_OVERRIDE", "manual")).await;
    let no = request_no("SH01");
    let s = dispatched(&app, &no).await;
    assert_eq!(s.carrier, "manual");
    let eta = from_ts(s.eta.as_ref().unwrap());
    let delays = format!(
        "SELECT count(*)::bigint FROM exceptions WHERE shipment_no = '{}' AND kind = 'DELAY'",
        s.shipment_no
    );

    // A minute before the ETA nothing is late (the scanner's own loop wakes with the clock too).
    app.clock().set(eta - Duration::minutes(1));
    assert_eq!(app.scan(ETA_WATCH).await, 0);
    assert_eq!(app.count(&delays).await, 0);
    // An hour after it, one delay, however many scans run.
    app.clock().set(eta + Duration::hours(1));
    app.scan(ETA_WATCH).await;
    app.wait_count(&delays, 1).await;
    assert_eq!(app.scan(ETA_WATCH).await, 0);

    let s = app.shipment(&s.shipment_no).await;
    assert_eq!(s.exceptions.len(), 1);
    assert_eq!(s.exceptions[0].source, pb::ReportSource::Scanner as i32);
    assert!(s.exceptions[0].detail.contains("passed without delivery"));
    app.stop().await;
}
