//! The arrival deadline with the service's own clock: a technician not on site by it is
//! announced once (`fieldservice.workorder.sla_breached`), however often the scanner runs; an
//! order reached in time never is; a late arrival the scanner did not catch is announced at
//! arrival, once. The working-hour arithmetic itself (end of day, weekend, holiday, urban and
//! suburban) is unit-tested in `domain::sla`.

use std::time::Duration;

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as S;
use prost::Message;
use sea_orm::ConnectionTrait;

use crate::helpers::{TestApp, local, request_no, spawn_app, time, window};

const BREACHES: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'fieldservice.workorder.sla_breached'";

/// Waits until everything staged is published, then publishes a sentinel breach after it: once
/// the sentinel arrives, every copy of what came before has arrived too.
async fn drain(
    app: &TestApp,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<common::EventEnvelope>,
) -> Vec<String> {
    app.wait_count(
        "SELECT count(*)::bigint FROM outbox WHERE published_at IS NULL",
        0,
    )
    .await;
    let sentinel = request_no(999_999);
    app.publish(
        "field-service",
        &sentinel,
        &pb::WorkOrderSlaBreached {
            request_no: sentinel.clone(),
            ..Default::default()
        },
    )
    .await;
    let mut seen = Vec::new();
    loop {
        let env = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("the sentinel arrives")
            .expect("stream open");
        if env.subject == sentinel {
            return seen;
        }
        seen.push(env.subject);
    }
}

#[tokio::test]
async fn an_order_nobody_reached_in_time_is_announced_breached_exactly_once() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let mut rx = app.subscribe("fieldservice.workorder.sla_breached").await;
    let wo = app.open(1, "SN-S-1").await;
    // Booked after the deadline (15:00): the technician will be late.
    app.dispatcher()
        .schedule_appointment(pb::ScheduleAppointmentRequest {
            work_order_no: wo.work_order_no.clone(),
            window: Some(window(0, 15)),
            technician_id: "T-SH01-001".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let due = time(&wo.arrival_due_at);
    assert_eq!(
        due,
        local(0, 15),
        "called 08:00, urban: 09:00 + 6 working hours"
    );

    // A minute before the deadline nothing is late; a minute after, it is, once. (Moving the
    // clock also wakes the scanner's own loop: whichever run gets there first announces it.)
    app.clock().set(due - chrono::Duration::minutes(1));
    let before = app.scan().await;
    assert_eq!(app.count(BREACHES).await, 0);
    app.clock().set(due + chrono::Duration::minutes(1));
    let at = app.scan().await;
    app.clock().advance(chrono::Duration::hours(3));
    let later = app.scan().await;
    let again = app.scan().await;

    assert_eq!(before, 0);
    assert!(at <= 1 && later == 0 && again == 0, "{at} {later} {again}");
    assert_eq!(app.count(BREACHES).await, 1);
    let seen = drain(&app, &mut rx).await;
    assert_eq!(
        seen,
        vec![wo.request_no.clone()],
        "one sla_breached on the bus"
    );
    let breached = app.get(&wo.work_order_no).await;
    assert!(breached.sla_breached);
    assert!(
        breached.arrival_seconds_left < 0,
        "the board shows it overdue"
    );
    // Arriving late afterwards announces nothing more.
    let mut t = app.technician("T-SH01-001", "SH01");
    t.dispatch(pb::DispatchRequest {
        work_order_no: wo.work_order_no.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    app.move_to(&mut t, &wo.work_order_no, S::OnSite, "").await;
    assert_eq!(app.count(BREACHES).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_order_reached_in_time_is_never_announced() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let wo = app.open(1, "SN-S-2").await;
    app.repair_on_site(&wo.work_order_no, "T-SH01-001", 0, 11)
        .await;
    let arrived = app.get(&wo.work_order_no).await;

    for hours in [1, 8, 48, 24 * 30] {
        app.clock()
            .set(local(0, 8) + chrono::Duration::hours(hours));
        assert_eq!(app.scan().await, 0, "{hours} h on");
    }

    assert_eq!(app.count(BREACHES).await, 0);
    assert!(!arrived.sla_breached);
    assert_eq!(
        arrived.arrival_seconds_left, 0,
        "arrived: no time left to show"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_late_arrival_is_announced_once_whether_the_scan_or_the_arrival_catches_it() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let wo = app.open(1, "SN-S-3").await;
    let mut d = app.dispatcher();
    d.schedule_appointment(pb::ScheduleAppointmentRequest {
        work_order_no: wo.work_order_no.clone(),
        window: Some(window(0, 15)),
        technician_id: "T-SH01-001".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut t = app.technician("T-SH01-001", "SH01");
    t.dispatch(pb::DispatchRequest {
        work_order_no: wo.work_order_no.clone(),
        ..Default::default()
    })
    .await
    .unwrap();

    // 15:30: past the deadline; the arrival is recorded (the scanner's loop, woken by the clock,
    // may get there first: either way it is announced once).
    app.clock()
        .set(local(0, 15) + chrono::Duration::minutes(30));
    app.move_to(&mut t, &wo.work_order_no, S::OnSite, "").await;
    let after = app.scan().await;

    assert_eq!(after, 0);
    assert_eq!(app.count(BREACHES).await, 1);
    let row = app
        .svc
        .conn()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT envelope FROM outbox WHERE routing_key = 'fieldservice.workorder.sla_breached'",
        ))
        .await
        .unwrap()
        .unwrap();
    let env =
        common::EventEnvelope::decode(row.try_get::<Vec<u8>>("", "envelope").unwrap().as_slice())
            .unwrap();
    let e = pb::WorkOrderSlaBreached::decode(env.payload.as_slice()).unwrap();
    assert_eq!(e.status, S::EnRoute as i32, "the status when it broke");
    assert_eq!(e.technician_id, "T-SH01-001");
    assert_eq!(time(&e.due_at), local(0, 15));
    app.stop().await;
}

#[tokio::test]
async fn a_suburban_customer_gets_seven_working_hours_and_the_night_does_not_count() {
    let app = spawn_app().await;
    // Called at 16:00: two hours today, five tomorrow.
    app.clock().set(local(0, 16));
    let mut req = crate::helpers::manual(1, "SN-S-4");
    req.customer.as_mut().unwrap().region = common::Region::Suburban as i32;
    let wo = app
        .dispatcher()
        .create_work_order(req)
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();

    assert_eq!(time(&wo.arrival_due_at), local(1, 14));
    app.clock().set(local(1, 9));
    assert_eq!(
        app.get(&wo.work_order_no).await.arrival_seconds_left,
        5 * 3600
    );
    app.clock().set(local(1, 13));
    app.scan().await;
    assert_eq!(app.count(BREACHES).await, 0, "an hour left");
    app.clock().set(local(1, 14) + chrono::Duration::seconds(1));
    app.scan().await;
    assert_eq!(app.count(BREACHES).await, 1);
    app.stop().await;
}
