//! An installation request from its approval to its completion, driven by the events the other
//! services publish and by the dispatcher's and the technician's calls: approved with a part on
//! its way → WAITING_PARTS → parts delivered → scheduled → en route → on site → in repair →
//! exit inspection → completed, every step announced in order, the old part due back named in
//! the completion (what the warehouse expects).

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as S;
use prost::Message;

use crate::helpers::{
    approval, delivery, local, next_event, passed, request_no, spawn_app, time, window,
};

#[tokio::test]
async fn an_installation_goes_from_approval_through_parts_and_visit_to_completion() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let mut events = app.subscribe("fieldservice.#").await;
    let no = request_no(42);

    // Claims approves; the power board is on its way.
    app.publish(
        "claims-review",
        &no,
        &approval(&no, &[("PWR-55-01", 1)], local(0, 8)),
    )
    .await;
    let wo = app
        .wait_work_order(&no, |w| w.status == S::WaitingParts as i32)
        .await;
    assert_eq!(wo.service_category, pb::ServiceCategory::Free as i32);
    assert_eq!(
        wo.arrival_due_at, None,
        "the deadline starts with the delivery"
    );
    assert_eq!(wo.planned_parts[0].part_no, "PWR-55-01");
    let created = next_event(&mut events, "fieldservice.workorder.created", &no).await;
    let waiting = next_event(&mut events, "fieldservice.workorder.status_changed", &no).await;
    assert!(waiting.sequence > created.sequence);

    // The parts arrive at 10:00.
    app.clock().set(local(0, 10));
    app.publish("logistics", &no, &delivery(&no)).await;
    let wo = app
        .wait_work_order(&no, |w| w.status == S::New as i32)
        .await;
    assert_eq!(time(&wo.called_at), local(0, 10));
    assert_eq!(
        time(&wo.arrival_due_at),
        local(0, 16),
        "urban: 6 working hours from delivery"
    );

    // The dispatcher books the 11:00 window; the technician sets off, arrives and repairs.
    let mut d = app.dispatcher();
    let s = d
        .suggest_slots(pb::SuggestSlotsRequest {
            work_order_no: wo.work_order_no.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let best = s.suggestions[0].slot.clone().unwrap();
    assert_eq!(
        (
            best.technician_id.as_str(),
            time(&best.window.as_ref().unwrap().from)
        ),
        ("T-SH01-001", local(0, 11))
    );
    let hold = d
        .hold_slot(pb::HoldSlotRequest {
            work_order_no: wo.work_order_no.clone(),
            technician_id: best.technician_id.clone(),
            window: best.window,
        })
        .await
        .unwrap()
        .into_inner()
        .hold
        .unwrap();
    d.schedule_appointment(pb::ScheduleAppointmentRequest {
        idempotency_key: "book-42".into(),
        work_order_no: wo.work_order_no.clone(),
        window: Some(window(0, 11)),
        technician_id: best.technician_id.clone(),
        hold_id: hold.hold_id,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut t = app.technician("T-SH01-001", "SH01");
    app.clock().set(local(0, 11));
    t.dispatch(pb::DispatchRequest {
        idempotency_key: "go-42".into(),
        work_order_no: wo.work_order_no.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    app.clock()
        .set(local(0, 11) + chrono::Duration::minutes(40));
    app.move_to(&mut t, &wo.work_order_no, S::OnSite, "").await;
    app.move_to(&mut t, &wo.work_order_no, S::InRepair, "")
        .await;
    t.record_final_inspection(pb::RecordFinalInspectionRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        work_order_no: wo.work_order_no.clone(),
        inspection: Some(passed()),
    })
    .await
    .unwrap();
    let version = app.get(&wo.work_order_no).await.version;
    let done = t
        .complete_work_order(pb::CompleteWorkOrderRequest {
            idempotency_key: "done-42".into(),
            work_order_no: wo.work_order_no.clone(),
            expected_version: version,
            parts_used: vec![pb::PartUsed {
                part_no: "PWR-55-01".into(),
                quantity: 1,
                coverage: common::Coverage::Free as i32,
                serial: "PB-NEW-1".into(),
            }],
            labour_minutes: 50,
            old_parts: vec![pb::OldPart {
                part_no: "PWR-55-01".into(),
                quantity: 1,
                serial: "PB-OLD-1".into(),
                must_return: true,
                return_by_date: String::new(),
            }],
            serial: "SN12345678".into(),
            resolution: "power board replaced, set installed".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();

    assert_eq!(done.status, S::Done as i32);
    assert_eq!(
        time(&done.arrived_at),
        local(0, 11) + chrono::Duration::minutes(40)
    );
    assert!(!done.sla_breached);
    assert_eq!(
        done.charge.as_ref().unwrap().amount_minor,
        0,
        "FREE work is not charged"
    );
    assert_eq!(
        done.old_parts[0].return_by_date, "2026-12-14",
        "due back in the policy's 7 days"
    );
    // Every step on the bus, in order.
    let mut steps = Vec::new();
    let completed = loop {
        let env = next_event(&mut events, "fieldservice.workorder.status_changed", &no).await;
        let e = pb::WorkOrderStatusChanged::decode(env.payload.as_slice()).unwrap();
        steps.push(S::try_from(e.to).unwrap());
        if e.to == S::Done as i32 {
            break next_event(&mut events, "fieldservice.workorder.completed", &no).await;
        }
    };
    assert_eq!(
        steps,
        [
            S::New,
            S::Scheduled,
            S::EnRoute,
            S::OnSite,
            S::InRepair,
            S::Done
        ]
    );
    let c = pb::WorkOrderCompleted::decode(completed.payload.as_slice()).unwrap();
    assert_eq!(c.technician_id, "T-SH01-001");
    assert!(c.arrival_on_time);
    assert_eq!(c.serial, "SN12345678");
    assert_eq!(c.parts_used[0].serial, "PB-NEW-1");
    assert!(c.old_parts[0].must_return && c.old_parts[0].serial == "PB-OLD-1");
    assert_eq!(c.labour_minutes, 50);
    assert_eq!(completed.subject, no);
    assert_eq!(completed.branch, "SH01");
    app.stop().await;
}

#[tokio::test]
async fn parts_delivered_before_the_approval_was_handled_are_not_waited_for() {
    let app = spawn_app().await;
    let no = request_no(43);
    app.clock().set(local(0, 10));
    app.publish("logistics", &no, &delivery(&no)).await;
    app.wait_count("SELECT count(*)::bigint FROM delivered_requests", 1)
        .await;

    app.publish(
        "claims-review",
        &no,
        &approval(&no, &[("PNL-55-01", 1)], local(0, 8)),
    )
    .await;
    let wo = app.wait_work_order(&no, |_| true).await;

    assert_eq!(wo.status, S::New as i32);
    assert_eq!(time(&wo.arrival_due_at), local(0, 16));
    app.stop().await;
}

#[tokio::test]
async fn a_repeated_approval_opens_one_work_order_and_one_without_on_site_work_opens_none() {
    let app = spawn_app().await;
    let no = request_no(44);
    let shipped_only = request_no(45);
    let a = approval(&no, &[], local(0, 8));
    let id = uuid::Uuid::now_v7().to_string();
    app.publish_with_id(&id, "claims-review", &no, &a).await;
    app.publish_with_id(&id, "claims-review", &no, &a).await;
    app.publish("claims-review", &no, &a).await;
    let mut parts_only = approval(&shipped_only, &[("PWR-55-01", 1)], local(0, 8));
    parts_only.kind = common::RequestKind::Replacement as i32;
    parts_only.onsite_required = false;
    app.publish("claims-review", &shipped_only, &parts_only)
        .await;
    app.wait_count("SELECT count(*)::bigint FROM processed_events", 3)
        .await;

    assert_eq!(
        app.count("SELECT count(*)::bigint FROM work_orders").await,
        1
    );
    let wo = app.wait_work_order(&no, |_| true).await;
    assert_eq!(wo.status, S::New as i32, "no parts to wait for");
    assert_eq!(time(&wo.called_at), local(0, 8), "the call is the approval");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM outbox WHERE routing_key = 'fieldservice.workorder.created'").await,
        1
    );
    app.stop().await;
}
