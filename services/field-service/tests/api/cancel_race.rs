//! A request cancelled while its work order waits for parts (issue 12), raced in every order
//! against what else can happen to it: a booking or a move of its appointment by a dispatcher,
//! the parts' delivery, a redelivered cancellation, the approval itself arriving before,
//! together with or after the cancellation, and a late re-approval. Whatever the order, after
//! everything is handled the request has no open work order, no booked slot and no hold: every
//! slot it had can be booked by another work order, and nothing was scheduled after its
//! cancellation.

use std::collections::BTreeMap;

use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as S;
use prost::Message;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::{
    TestApp, approval, cancellation, delivery, local, request_no, spawn_app, window,
};

const REQUESTS: usize = 36;
const TECHNICIANS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// Waiting for parts with a booked slot; the cancellation published, then the dispatcher
    /// moves the appointment at once.
    CancelThenMove,
    /// Waiting for parts, not booked yet; the dispatcher books, the cancellation follows at once.
    BookThenCancel,
    /// Booked through a hold; the cancellation, the delivery and the cancellation again (the
    /// same event redelivered), back to back.
    CancelDeliverRedeliver,
    /// Booked, and another slot held; the delivery and the cancellation back to back.
    DeliverThenCancel,
    /// The cancellation handled before the approval and the delivery arrive (amid the race).
    CancelBeforeApproval,
    /// The approval and the cancellation back to back, no waiting.
    ApproveAndCancelTogether,
}

fn script(i: usize) -> Script {
    match i % 6 {
        0 => Script::CancelThenMove,
        1 => Script::BookThenCancel,
        2 => Script::CancelDeliverRedeliver,
        3 => Script::DeliverThenCancel,
        4 => Script::CancelBeforeApproval,
        _ => Script::ApproveAndCancelTogether,
    }
}

fn tech(i: usize) -> String {
    format!("T-SH01-{:03}", i % TECHNICIANS + 1)
}

/// Request `i`'s own Monday window (unique per request with its technician).
fn hour(i: usize) -> u32 {
    [9, 11, 13, 15][(i / TECHNICIANS) % 4]
}

struct Request {
    no: String,
    script: Script,
    approval_id: String,
    cancellation_id: String,
    delivery_id: String,
}

async fn publish_approval(app: &TestApp, r: &Request) {
    let a = approval(&r.no, &[("PWR-55-01", 1)], local(0, 8));
    app.publish_with_id(&r.approval_id, "claims-review", &r.no, &a)
        .await;
}

async fn publish_cancellation(app: &TestApp, r: &Request) {
    app.publish_with_id(&r.cancellation_id, "intake", &r.no, &cancellation(&r.no))
        .await;
}

async fn publish_delivery(app: &TestApp, r: &Request) {
    app.publish_with_id(&r.delivery_id, "logistics", &r.no, &delivery(&r.no))
        .await;
}

async fn work_order_of(app: &TestApp, request: &str) -> Option<String> {
    app.svc
        .conn()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT work_order_no FROM work_orders WHERE request_no = '{request}'"),
        ))
        .await
        .unwrap()
        .map(|r| r.try_get::<String>("", "work_order_no").unwrap())
}

fn book(no: &str, tech: &str, day: i64, hour: u32) -> pb::ScheduleAppointmentRequest {
    pb::ScheduleAppointmentRequest {
        work_order_no: no.into(),
        window: Some(window(day, hour)),
        technician_id: tech.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_request_cancelled_while_its_work_order_waits_for_parts_ends_cancelled_with_its_slots_free_in_any_order()
 {
    let app = spawn_app().await;
    for t in 0..TECHNICIANS {
        app.technician_of(&tech(t), 4).await;
    }
    let requests: Vec<Request> = (0..REQUESTS)
        .map(|i| Request {
            no: request_no(500 + i as u32),
            script: script(i),
            approval_id: uuid::Uuid::now_v7().to_string(),
            cancellation_id: uuid::Uuid::now_v7().to_string(),
            delivery_id: uuid::Uuid::now_v7().to_string(),
        })
        .collect();
    let mut published = 0i64;

    // Phase 0: the cancellations that come first, handled before anything else of theirs.
    let early = requests
        .iter()
        .filter(|r| r.script == Script::CancelBeforeApproval)
        .collect::<Vec<_>>();
    for r in &early {
        publish_cancellation(&app, r).await;
        published += 1;
    }
    app.wait_count(
        "SELECT count(*)::bigint FROM cancelled_requests",
        early.len() as i64,
    )
    .await;

    // Phase 1: the approvals (for the approve-and-cancel script, its whole story at once).
    for r in &requests {
        match r.script {
            Script::CancelBeforeApproval => {}
            Script::ApproveAndCancelTogether => {
                publish_approval(&app, r).await;
                publish_cancellation(&app, r).await;
                published += 2;
            }
            _ => {
                publish_approval(&app, r).await;
                published += 1;
            }
        }
    }
    let waiting = requests
        .iter()
        .filter(|r| {
            !matches!(
                r.script,
                Script::CancelBeforeApproval | Script::ApproveAndCancelTogether
            )
        })
        .count() as i64;
    app.wait_count(
        "SELECT count(*)::bigint FROM work_orders WHERE status = 'WAITING_PARTS'",
        waiting,
    )
    .await;

    // Phase 2: what the dispatcher did while the parts were on their way.
    let mut d = app.dispatcher();
    let mut orders = BTreeMap::new();
    for (i, r) in requests.iter().enumerate() {
        if matches!(
            r.script,
            Script::CancelBeforeApproval | Script::ApproveAndCancelTogether
        ) {
            continue;
        }
        let no = work_order_of(&app, &r.no)
            .await
            .expect("opened and waiting");
        match r.script {
            Script::CancelThenMove | Script::DeliverThenCancel => {
                d.schedule_appointment(book(&no, &tech(i), 0, hour(i)))
                    .await
                    .unwrap();
            }
            Script::CancelDeliverRedeliver => {
                let h = d
                    .hold_slot(pb::HoldSlotRequest {
                        work_order_no: no.clone(),
                        technician_id: tech(i),
                        window: Some(window(0, hour(i))),
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .hold
                    .unwrap();
                let mut b = book(&no, &tech(i), 0, hour(i));
                b.hold_id = h.hold_id;
                d.schedule_appointment(b).await.unwrap();
            }
            _ => {}
        }
        if r.script == Script::DeliverThenCancel {
            // A hold on Tuesday's slot besides the booking (the dispatcher was about to move it).
            d.hold_slot(pb::HoldSlotRequest {
                work_order_no: no.clone(),
                technician_id: tech(i),
                window: Some(window(1, hour(i))),
            })
            .await
            .unwrap();
        }
        orders.insert(r.no.clone(), no);
    }
    for (r, no) in requests
        .iter()
        .filter_map(|r| orders.get(&r.no).map(|n| (r, n)))
    {
        let wo = app.get(no).await;
        assert_eq!(
            wo.status,
            S::WaitingParts as i32,
            "{} before the race",
            r.no
        );
    }

    // The race starts with slots to free: every booked request holds one.
    let booked_before = requests
        .iter()
        .filter(|r| {
            matches!(
                r.script,
                Script::CancelThenMove | Script::CancelDeliverRedeliver | Script::DeliverThenCancel
            )
        })
        .count() as i64;
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM appointments WHERE released_at IS NULL")
            .await,
        booked_before
    );

    // Phase 3: the race, every request at once.
    let mut tasks = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let no = orders.get(&r.no).cloned();
        match r.script {
            Script::CancelThenMove => {
                publish_cancellation(&app, r).await;
                published += 1;
                let mut c = app.dispatcher();
                let no = no.unwrap();
                tasks.push(tokio::spawn(async move {
                    let _ = c
                        .schedule_appointment(book(&no, &tech(i), 1, hour(i)))
                        .await;
                }));
            }
            Script::BookThenCancel => {
                let mut c = app.dispatcher();
                let no = no.unwrap();
                tasks.push(tokio::spawn(async move {
                    let _ = c
                        .schedule_appointment(book(&no, &tech(i), 0, hour(i)))
                        .await;
                }));
                publish_cancellation(&app, r).await;
                published += 1;
            }
            Script::CancelDeliverRedeliver => {
                publish_cancellation(&app, r).await;
                publish_delivery(&app, r).await;
                publish_cancellation(&app, r).await;
                published += 2;
            }
            Script::DeliverThenCancel => {
                publish_delivery(&app, r).await;
                publish_cancellation(&app, r).await;
                published += 2;
            }
            Script::CancelBeforeApproval => {
                // Its approval and delivery, long after the cancellation, amid the race.
                publish_approval(&app, r).await;
                publish_delivery(&app, r).await;
                published += 2;
            }
            Script::ApproveAndCancelTogether => {}
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    app.wait_count("SELECT count(*)::bigint FROM processed_events", published)
        .await;

    // Phase 4: claims approves some again long after (a new event): nothing reopens.
    for r in requests
        .iter()
        .filter(|r| r.script == Script::CancelBeforeApproval)
    {
        let again = approval(&r.no, &[("PWR-55-01", 1)], local(0, 9));
        app.publish("claims-review", &r.no, &again).await;
        published += 1;
    }
    app.wait_count("SELECT count(*)::bigint FROM processed_events", published)
        .await;
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM processed_events")
            .await,
        published,
        "every event handled once, the redelivered one too"
    );

    // Assert: nothing open, nothing booked, nothing held.
    let open = app
        .count("SELECT count(*)::bigint FROM work_orders WHERE status NOT IN ('CANCELLED')")
        .await;
    assert_eq!(
        open, 0,
        "every work order of a cancelled request is cancelled"
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM appointments WHERE released_at IS NULL")
            .await,
        0,
        "no slot stays booked"
    );
    for r in &requests {
        let has = orders.contains_key(&r.no) || work_order_of(&app, &r.no).await.is_some();
        match r.script {
            Script::CancelBeforeApproval => {
                assert!(!has, "{}: cancelled first, nothing opened", r.no)
            }
            Script::ApproveAndCancelTogether => {}
            _ => assert!(has, "{}", r.no),
        }
    }
    // The last thing each work order announced is its cancellation; once.
    let rows = app
        .svc
        .conn()
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT subject, routing_key, envelope FROM outbox \
             WHERE routing_key IN ('fieldservice.workorder.status_changed', 'fieldservice.workorder.scheduled') \
             ORDER BY id",
        ))
        .await
        .unwrap();
    let mut last: BTreeMap<String, (String, i32)> = BTreeMap::new();
    let mut cancelled: BTreeMap<String, u32> = BTreeMap::new();
    for row in rows {
        let subject: String = row.try_get("", "subject").unwrap();
        let key: String = row.try_get("", "routing_key").unwrap();
        let env = aftersales_platform::proto::common::v1::EventEnvelope::decode(
            row.try_get::<Vec<u8>>("", "envelope").unwrap().as_slice(),
        )
        .unwrap();
        let to = if key.ends_with("status_changed") {
            pb::WorkOrderStatusChanged::decode(env.payload.as_slice())
                .unwrap()
                .to
        } else {
            0
        };
        if to == S::Cancelled as i32 {
            *cancelled.entry(subject.clone()).or_default() += 1;
        }
        last.insert(subject, (key, to));
    }
    for (subject, (key, to)) in &last {
        assert_eq!(
            (key.as_str(), *to),
            ("fieldservice.workorder.status_changed", S::Cancelled as i32),
            "{subject}: nothing after the cancellation"
        );
    }
    assert!(cancelled.values().all(|n| *n == 1), "{cancelled:?}");

    // Every slot these requests had, or could have had, is free: another work order books it.
    let mut fresh_orders = Vec::new();
    for i in 0..REQUESTS {
        for day in [0, 1] {
            let no = app
                .open(900 + (i * 2 + day) as u32, &format!("SN-F-{i}-{day}"))
                .await;
            fresh_orders.push((no.work_order_no, i, day as i64));
        }
    }
    let mut d = app.dispatcher();
    for (no, i, day) in fresh_orders {
        let r = d
            .schedule_appointment(book(&no, &tech(i), day, hour(i)))
            .await;
        assert!(
            r.is_ok(),
            "{}'s slot ({} day {day} {}:00) is free: {r:?}",
            requests[i].no,
            tech(i),
            hour(i)
        );
    }
    app.stop().await;
}
