//! Appointments against capacity: 50 bookings at once for 10 free slots book exactly 10 and
//! nobody twice (through the real Postgres and Redis); a slot held for one work order is
//! refused to another until its hold expires (on the service's clock); without Redis a slot is
//! still booked once; suggestions leave out what is booked or held.

use std::collections::{BTreeMap, BTreeSet};

use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as S;
use sea_orm::ConnectionTrait;
use tonic::Code;

use crate::helpers::{Client, builder, local, spawn_app, spawn_with, time, window};

const TECHNICIANS: usize = 5;
const CAPACITY: u32 = 2;
const BOOKINGS: usize = 50;

/// One booking attempt: optionally hold the slot first, then book it.
async fn attempt(
    mut c: Client,
    no: String,
    tech: String,
    hour: u32,
    hold_first: bool,
) -> Result<(), tonic::Status> {
    let mut hold_id = String::new();
    if hold_first {
        hold_id = c
            .hold_slot(pb::HoldSlotRequest {
                work_order_no: no.clone(),
                technician_id: tech.clone(),
                window: Some(window(0, hour)),
            })
            .await?
            .into_inner()
            .hold
            .unwrap()
            .hold_id;
    }
    c.schedule_appointment(pb::ScheduleAppointmentRequest {
        idempotency_key: format!("book-{no}"),
        work_order_no: no,
        window: Some(window(0, hour)),
        technician_id: tech,
        hold_id,
        ..Default::default()
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn fifty_bookings_at_once_for_ten_free_slots_book_exactly_ten_and_nobody_twice() {
    // Arrange: five technicians with two appointments a day each (10 slots on Monday), 50 work
    // orders, every window of every technician wanted by at least two of them.
    let app = spawn_app().await;
    for t in 0..TECHNICIANS {
        app.technician_of(&format!("T-SH01-{:03}", t + 1), CAPACITY)
            .await;
    }
    let mut orders = Vec::new();
    for i in 0..BOOKINGS {
        orders.push(
            app.open(i as u32 + 1, &format!("SN-C-{i}"))
                .await
                .work_order_no,
        );
    }

    // Act: all at once, half holding the slot first.
    let tasks: Vec<_> = orders
        .iter()
        .enumerate()
        .map(|(i, no)| {
            let tech = format!("T-SH01-{:03}", i % TECHNICIANS + 1);
            let hour = [9, 11, 13, 15][(i / TECHNICIANS) % 4];
            tokio::spawn(attempt(
                app.dispatcher(),
                no.clone(),
                tech,
                hour,
                i % 2 == 0,
            ))
        })
        .collect();
    let mut ok = 0;
    let mut refused = BTreeMap::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => *refused.entry(format!("{:?}", e.code())).or_insert(0) += 1,
        }
    }

    // Assert: ten booked, the rest refused as taken, every technician at capacity and no slot
    // twice.
    assert_eq!(ok, 10, "refusals: {refused:?}");
    assert_eq!(
        refused,
        BTreeMap::from([(format!("{:?}", Code::FailedPrecondition), BOOKINGS - 10)])
    );
    let rows = app
        .svc
        .conn()
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT technician_id, window_start, work_order_no FROM appointments WHERE released_at IS NULL",
        ))
        .await
        .unwrap();
    let mut slots = BTreeSet::new();
    let mut per_tech: BTreeMap<String, u32> = BTreeMap::new();
    let mut booked_orders = BTreeSet::new();
    for r in &rows {
        let t: String = r.try_get("", "technician_id").unwrap();
        let w: chrono::DateTime<chrono::Utc> = r.try_get("", "window_start").unwrap();
        assert!(slots.insert((t.clone(), w)), "{t} booked twice at {w}");
        *per_tech.entry(t).or_default() += 1;
        booked_orders.insert(r.try_get::<String>("", "work_order_no").unwrap());
    }
    assert_eq!(rows.len(), 10);
    assert!(per_tech.values().all(|n| *n == CAPACITY), "{per_tech:?}");
    assert_eq!(per_tech.len(), TECHNICIANS);
    for no in &orders {
        let wo = app.get(no).await;
        let expected = if booked_orders.contains(no) {
            S::Scheduled
        } else {
            S::New
        };
        assert_eq!(wo.status, expected as i32, "{no}");
    }
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM outbox WHERE routing_key = 'fieldservice.workorder.scheduled'").await,
        10
    );
    app.stop().await;
}

#[tokio::test]
async fn a_held_slot_is_refused_to_another_work_order_until_its_hold_expires() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let a = app.open(1, "SN-H-1").await.work_order_no;
    let b = app.open(2, "SN-H-2").await.work_order_no;
    let mut d = app.dispatcher();
    let hold = |no: &str| pb::HoldSlotRequest {
        work_order_no: no.into(),
        technician_id: "T-SH01-001".into(),
        window: Some(window(0, 9)),
    };
    let book = |no: &str, hold_id: &str| pb::ScheduleAppointmentRequest {
        work_order_no: no.into(),
        window: Some(window(0, 9)),
        technician_id: "T-SH01-001".into(),
        hold_id: hold_id.into(),
        ..Default::default()
    };

    let held = d
        .hold_slot(hold(&a))
        .await
        .unwrap()
        .into_inner()
        .hold
        .unwrap();
    let refreshed = d
        .hold_slot(hold(&a))
        .await
        .unwrap()
        .into_inner()
        .hold
        .unwrap();
    let other_hold = d.hold_slot(hold(&b)).await.unwrap_err();
    let other_book = d.schedule_appointment(book(&b, "")).await.unwrap_err();
    let suggested = d
        .suggest_slots(pb::SuggestSlotsRequest {
            work_order_no: b.clone(),
            days: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    assert_eq!(
        held.hold_id, refreshed.hold_id,
        "holding again refreshes the same hold"
    );
    assert_eq!(
        time(&held.expires_at),
        local(0, 8) + chrono::Duration::seconds(300)
    );
    assert_eq!(other_hold.code(), Code::FailedPrecondition);
    assert!(
        other_book.message().contains(&a),
        "{}",
        other_book.message()
    );
    assert_eq!(other_book.code(), Code::FailedPrecondition);
    assert!(
        suggested
            .suggestions
            .iter()
            .all(|s| time(&s.slot.as_ref().unwrap().window.as_ref().unwrap().from) != local(0, 9)),
        "the held slot is not suggested to another work order"
    );

    // Five minutes later the hold has lapsed: the slot is free for the other work order, and
    // the one that held it finds it booked.
    app.clock().advance(chrono::Duration::seconds(301));
    let b_booked = d
        .schedule_appointment(book(&b, ""))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    let a_late = d
        .schedule_appointment(book(&a, &held.hold_id))
        .await
        .unwrap_err();

    assert_eq!(b_booked.status, S::Scheduled as i32);
    assert_eq!(a_late.code(), Code::FailedPrecondition);
    assert_eq!(app.get(&a).await.status, S::New as i32);
    app.stop().await;
}

#[tokio::test]
async fn without_redis_holds_are_refused_but_a_slot_is_still_booked_exactly_once() {
    // Sabotage: Redis points at a port nobody listens on.
    let app = spawn_with(builder().env("AFTERSALES__REDIS__URL", "redis://127.0.0.1:1")).await;
    app.technician_of("T-SH01-001", 4).await;
    let mut orders = Vec::new();
    for i in 0..12 {
        orders.push(app.open(i + 1, &format!("SN-R-{i}")).await.work_order_no);
    }
    let mut d = app.dispatcher();

    let hold = d
        .hold_slot(pb::HoldSlotRequest {
            work_order_no: orders[0].clone(),
            technician_id: "T-SH01-001".into(),
            window: Some(window(0, 11)),
        })
        .await
        .unwrap_err();
    let tasks: Vec<_> = orders
        .iter()
        .map(|no| {
            tokio::spawn(attempt(
                app.dispatcher(),
                no.clone(),
                "T-SH01-001".into(),
                11,
                false,
            ))
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            ok += 1;
        }
    }

    assert_eq!(hold.code(), Code::FailedPrecondition);
    assert!(hold.message().contains("unavailable"), "{}", hold.message());
    assert_eq!(ok, 1, "one booking of the one slot");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM appointments WHERE released_at IS NULL")
            .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn suggestions_prefer_the_territory_and_the_lighter_day_and_leave_out_booked_slots() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let mut elsewhere = crate::helpers::registration("T-SH01-002", "SH01", 4);
    elsewhere.technician.as_mut().unwrap().territories = vec!["Xuhui".into()];
    app.dispatcher()
        .register_technician(elsewhere)
        .await
        .unwrap();
    let booked = app.open(1, "SN-G-1").await.work_order_no;
    let wanted = app.open(2, "SN-G-2").await.work_order_no;
    let mut d = app.dispatcher();
    d.schedule_appointment(pb::ScheduleAppointmentRequest {
        work_order_no: booked,
        window: Some(window(0, 9)),
        technician_id: "T-SH01-001".into(),
        ..Default::default()
    })
    .await
    .unwrap();

    let s = d
        .suggest_slots(pb::SuggestSlotsRequest {
            work_order_no: wanted.clone(),
            days: 1,
            limit: 20,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // Booking without a technician takes the best one for the window.
    let auto = d
        .schedule_appointment(pb::ScheduleAppointmentRequest {
            work_order_no: wanted,
            window: Some(window(0, 11)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();

    let slot = |x: &pb::SlotSuggestion| {
        let sl = x.slot.as_ref().unwrap();
        (
            sl.technician_id.clone(),
            time(&sl.window.as_ref().unwrap().from),
        )
    };
    let all: Vec<_> = s.suggestions.iter().map(slot).collect();
    assert_eq!(all.len(), 7, "8 slots of Monday, one booked: {all:?}");
    assert!(!all.contains(&("T-SH01-001".to_owned(), local(0, 9))));
    assert_eq!(
        all[0],
        ("T-SH01-001".to_owned(), local(0, 11)),
        "in the territory, before the deadline"
    );
    assert!(s.suggestions[0].territory_match && s.suggestions[0].before_arrival_due);
    assert_eq!(s.suggestions[0].booked, 1);
    assert!(
        s.suggestions
            .iter()
            .all(|x| x.score <= s.suggestions[0].score)
    );
    assert_eq!(time(&s.arrival_due_at), local(0, 15));
    assert_eq!(auto.technician_id, "T-SH01-001");
    app.stop().await;
}

#[tokio::test]
async fn moving_an_appointment_frees_the_old_slot_and_announces_the_reschedule() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    app.technician_of("T-SH01-002", 4).await;
    let no = app.open(1, "SN-M-1").await.work_order_no;
    let other = app.open(2, "SN-M-2").await.work_order_no;
    let mut rx = app.subscribe("fieldservice.workorder.scheduled").await;
    let mut d = app.dispatcher();
    let book = |no: &str, tech: &str, hour: u32, key: &str| pb::ScheduleAppointmentRequest {
        idempotency_key: key.into(),
        work_order_no: no.into(),
        window: Some(window(0, hour)),
        technician_id: tech.into(),
        note: "customer asked for later".into(),
        ..Default::default()
    };

    d.schedule_appointment(book(&no, "T-SH01-001", 9, "k1"))
        .await
        .unwrap();
    let replay = d
        .schedule_appointment(book(&no, "T-SH01-001", 9, "k1"))
        .await
        .unwrap();
    let moved = d
        .schedule_appointment(book(&no, "T-SH01-002", 13, "k2"))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    let reused_key = d
        .schedule_appointment(book(&no, "T-SH01-002", 15, "k2"))
        .await
        .unwrap_err();
    let freed = d
        .schedule_appointment(book(&other, "T-SH01-001", 9, "k3"))
        .await;

    assert_eq!(replay.into_inner().work_order.unwrap().version, 2);
    assert_eq!(moved.status, S::Scheduled as i32);
    assert_eq!(moved.technician_id, "T-SH01-002");
    assert_eq!(time(&moved.appointment.unwrap().from), local(0, 13));
    assert_eq!(reused_key.code(), Code::AlreadyExists);
    assert!(freed.is_ok(), "the old slot is free again: {freed:?}");
    let first = crate::helpers::next_event(
        &mut rx,
        "fieldservice.workorder.scheduled",
        &moved.request_no,
    )
    .await;
    let second = crate::helpers::next_event(
        &mut rx,
        "fieldservice.workorder.scheduled",
        &moved.request_no,
    )
    .await;
    use prost::Message;
    let e1 = pb::WorkOrderScheduled::decode(first.payload.as_slice()).unwrap();
    let e2 = pb::WorkOrderScheduled::decode(second.payload.as_slice()).unwrap();
    assert!(!e1.rescheduled && e2.rescheduled);
    assert_eq!(e2.technician_id, "T-SH01-002");
    assert!(second.sequence > first.sequence);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM appointments WHERE released_at IS NOT NULL")
            .await,
        1
    );
    app.stop().await;
}
