//! Rework: the same serial repaired again within the policy's window (90 days) raises
//! `workorder.rework_detected` once, naming the earlier work order and technician; after the
//! window it does not; a failed exit inspection is internal rework and reopens a done job; the
//! repeat-repair statistics count both per model and per technician.

use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as S;
use prost::Message;

use crate::helpers::{TestApp, next_event, spawn_app};

const REWORK: &str = "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'fieldservice.workorder.rework_detected'";

/// A job on `serial` for request `n`, repaired and completed by `tech` on the clock's day.
async fn repaired(app: &TestApp, n: u32, serial: &str, tech: &str) -> pb::WorkOrder {
    let wo = app.open(n, serial).await;
    let day = (app.clock().now() - crate::helpers::monday_8am()).num_days();
    app.repair_on_site(
        &wo.work_order_no,
        tech,
        day,
        [9, 11, 13, 15][n as usize % 4],
    )
    .await;
    app.finish(&wo.work_order_no, tech).await
}

#[tokio::test]
async fn a_repeat_repair_of_one_serial_inside_the_window_raises_rework_once() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    app.technician_of("T-SH01-002", 4).await;
    let mut rx = app
        .subscribe("fieldservice.workorder.rework_detected")
        .await;
    let first = repaired(&app, 1, "SN-RW-1", "T-SH01-001").await;

    // Six weeks later the same set fails again (a Monday, another technician).
    app.clock().advance(chrono::Duration::days(42));
    let second = app.open(2, "SN-RW-1").await;
    app.repair_on_site(&second.work_order_no, "T-SH01-002", 42, 9)
        .await;
    let done = app.finish(&second.work_order_no, "T-SH01-002").await;
    // The customer's sign-off fails: back to repair, then completed again.
    let mut t = app.technician("T-SH01-002", "SH01");
    let reopened = t
        .record_final_inspection(pb::RecordFinalInspectionRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            work_order_no: second.work_order_no.clone(),
            inspection: Some(pb::FinalInspection {
                passed: false,
                checklist: vec!["picture".into()],
                note: "flickers after an hour".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    let redone = app.finish(&second.work_order_no, "T-SH01-002").await;

    assert_eq!(done.rework_of, first.work_order_no);
    assert_eq!(reopened.status, S::InRepair as i32);
    assert_eq!(reopened.internal_rework_count, 1);
    assert_eq!(redone.status, S::Done as i32);
    let external = next_event(
        &mut rx,
        "fieldservice.workorder.rework_detected",
        &second.request_no,
    )
    .await;
    let e = pb::WorkOrderReworkDetected::decode(external.payload.as_slice()).unwrap();
    assert_eq!(e.kind, pb::ReworkKind::External as i32);
    assert_eq!(e.previous_work_order_no, first.work_order_no);
    assert_eq!(e.previous_technician_id, "T-SH01-001");
    assert_eq!(e.technician_id, "T-SH01-002");
    assert_eq!(e.serial, "SN-RW-1");
    assert_eq!(
        e.days_since, 42,
        "completed on a Monday, called six weeks later"
    );
    let internal = next_event(
        &mut rx,
        "fieldservice.workorder.rework_detected",
        &second.request_no,
    )
    .await;
    let i = pb::WorkOrderReworkDetected::decode(internal.payload.as_slice()).unwrap();
    assert_eq!(i.kind, pb::ReworkKind::Internal as i32);
    assert_eq!(i.previous_work_order_no, second.work_order_no);
    assert_eq!(
        app.count(REWORK).await,
        2,
        "external once (not again on the second completion), internal once"
    );

    let stats = app
        .dispatcher()
        .get_rework_statistics(pb::GetReworkStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.window_days, 90);
    let x55 = &stats.by_model[0];
    assert_eq!(
        (
            x55.key.as_str(),
            x55.completed,
            x55.external_rework,
            x55.internal_rework
        ),
        ("X55", 2, 1, 1)
    );
    let t1 = stats
        .by_technician
        .iter()
        .find(|s| s.key == "T-SH01-001")
        .unwrap();
    let t2 = stats
        .by_technician
        .iter()
        .find(|s| s.key == "T-SH01-002")
        .unwrap();
    assert_eq!(
        (t1.completed, t1.external_rework, t1.internal_rework),
        (1, 1, 0)
    );
    assert_eq!(
        (t2.completed, t2.external_rework, t2.internal_rework),
        (1, 0, 1)
    );
    assert!((t1.rework_rate - 1.0).abs() < 1e-9);
    app.stop().await;
}

#[tokio::test]
async fn a_repair_after_the_window_or_of_another_serial_is_not_rework() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    repaired(&app, 1, "SN-RW-2", "T-SH01-001").await;
    repaired(&app, 2, "SN-RW-3", "T-SH01-001").await;

    // 91 days on (a Monday: 13 weeks).
    app.clock().advance(chrono::Duration::days(91));
    let late = repaired(&app, 3, "SN-RW-2", "T-SH01-001").await;

    assert_eq!(late.rework_of, "");
    assert_eq!(app.count(REWORK).await, 0);
    app.stop().await;
}
