//! Bad input answers INVALID_ARGUMENT naming every bad field, and writes nothing; a caller
//! without a token or the role gets nowhere.

use aftersales_platform::auth::Role;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::testing;
use tonic::Code;

use crate::helpers::{TestApp, fields, manual, registration, spawn_app, window};

async fn nothing_written(app: &TestApp) {
    for table in [
        "work_orders",
        "appointments",
        "outbox",
        "tool_loans",
        "idempotency_keys",
    ] {
        assert_eq!(
            app.count(&format!("SELECT count(*)::bigint FROM {table}"))
                .await,
            0,
            "{table} is untouched"
        );
    }
}

#[tokio::test]
async fn a_bad_work_order_names_every_bad_field_and_writes_nothing() {
    let app = spawn_app().await;
    let mut bad = manual(1, "SN 1");
    bad.idempotency_key = String::new();
    bad.request_no = "AS-12".into();
    bad.customer.as_mut().unwrap().phone = "call me".into();
    bad.customer.as_mut().unwrap().region = common::Region::Unspecified as i32;
    bad.product.as_mut().unwrap().category = " ".into();
    bad.planned_parts = vec![pb::PartUsed {
        part_no: "PWR#1".into(),
        quantity: 0,
        ..Default::default()
    }];

    let e = app.dispatcher().create_work_order(bad).await.unwrap_err();

    let mut got = fields(&e);
    got.sort();
    assert_eq!(
        got,
        [
            "customer.phone",
            "customer.region",
            "idempotency_key",
            "planned_parts[0].part_no",
            "planned_parts[0].quantity",
            "product.category",
            "product.serial",
            "request_no",
        ]
    );
    nothing_written(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn bad_moves_bookings_loans_and_registrations_name_their_fields_and_write_nothing() {
    let app = spawn_app().await;
    let mut d = app.dispatcher();

    let register = d
        .register_technician(pb::RegisterTechnicianRequest {
            technician: Some(pb::Technician {
                technician_id: "T SH01".into(),
                branch: "1X".into(),
                daily_capacity: 0,
                regions: vec![0],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    let too_many = d
        .register_technician(registration("T-SH01-001", "SH01", 5))
        .await
        .unwrap_err();
    let status = d
        .update_status(pb::UpdateStatusRequest {
            work_order_no: "WO-1".into(),
            status: pb::WorkOrderStatus::Stopped as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let booking = d
        .schedule_appointment(pb::ScheduleAppointmentRequest {
            work_order_no: "WO-2612-SH01-000001".into(),
            window: None,
            technician_id: "T SH01".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let loan = d
        .loan_tool(pb::LoanToolRequest {
            tool_id: "".into(),
            technician_id: "T-SH01-001".into(),
            due_back_date: "next week".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let complete = d
        .complete_work_order(pb::CompleteWorkOrderRequest {
            work_order_no: "WO-2612-SH01-000001".into(),
            expected_version: 0,
            labour_minutes: 0,
            old_parts: vec![pb::OldPart {
                part_no: "PWR-55-01".into(),
                quantity: 1,
                must_return: false,
                return_by_date: "2026-12-20".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();

    let inspection = d
        .record_final_inspection(pb::RecordFinalInspectionRequest {
            idempotency_key: String::new(),
            work_order_no: "WO-2612-SH01-000001".into(),
            inspection: Some(pb::FinalInspection {
                passed: true,
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();

    let sorted = |e: &tonic::Status| {
        let mut f = fields(e);
        f.sort();
        f
    };
    assert_eq!(
        sorted(&register),
        [
            "technician.branch",
            "technician.daily_capacity",
            "technician.name",
            "technician.phone",
            "technician.regions[0]",
            "technician.skills",
            "technician.technician_id",
        ]
    );
    assert_eq!(sorted(&too_many), ["technician.daily_capacity"]);
    assert_eq!(
        sorted(&status),
        ["expected_version", "note", "work_order_no"]
    );
    assert_eq!(sorted(&booking), ["technician_id", "window"]);
    assert_eq!(
        sorted(&loan),
        ["due_back_date", "idempotency_key", "tool_id", "tool_name"]
    );
    assert_eq!(
        sorted(&complete),
        [
            "expected_version",
            "labour_minutes",
            "old_parts[0].return_by_date"
        ]
    );
    assert_eq!(
        sorted(&inspection),
        ["idempotency_key", "inspection.checklist"]
    );
    nothing_written(&app).await;
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM technicians").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_window_that_is_not_a_slot_is_refused_naming_it() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let wo = app.open(1, "SN-V-1").await;
    let mut d = app.dispatcher();
    let book =
        |w: aftersales_platform::proto::common::v1::TimeRange| pb::ScheduleAppointmentRequest {
            work_order_no: wo.work_order_no.clone(),
            window: Some(w),
            technician_id: "T-SH01-001".into(),
            ..Default::default()
        };

    let off_grid = d
        .schedule_appointment(book(window(0, 10)))
        .await
        .unwrap_err();
    let saturday = d
        .schedule_appointment(book(window(5, 9)))
        .await
        .unwrap_err();
    let mut wrong_end = window(0, 9);
    wrong_end.to = window(0, 10).from;
    let end = d.schedule_appointment(book(wrong_end)).await.unwrap_err();
    app.clock().advance(chrono::Duration::hours(2));
    let past = d
        .schedule_appointment(book(window(0, 9)))
        .await
        .unwrap_err();

    assert_eq!(fields(&off_grid), ["window.from"]);
    assert!(
        off_grid.message().contains("09:00, 11:00, 13:00, 15:00"),
        "{}",
        off_grid.message()
    );
    assert_eq!(fields(&saturday), ["window.from"]);
    assert_eq!(fields(&end), ["window.to"]);
    assert_eq!(fields(&past), ["window.from"]);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM appointments").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn without_a_token_or_the_role_nothing_is_answered() {
    let app = spawn_app().await;
    let mut anonymous = crate::helpers::client_at(&app.svc.grpc_url(), "not-a-jwt");
    let mut reviewer = app.client(&testing::token("rev", "*", &[Role::Reviewer]));
    let mut agent = app.client(&testing::token("agent", "SH01", &[Role::BranchAgent]));

    let a = anonymous
        .get_board(pb::GetBoardRequest::default())
        .await
        .unwrap_err();
    let b = reviewer
        .get_board(pb::GetBoardRequest::default())
        .await
        .unwrap_err();
    let c = agent
        .create_work_order(manual(1, "SN-A-1"))
        .await
        .unwrap_err();

    assert_eq!(a.code(), Code::Unauthenticated);
    assert_eq!(b.code(), Code::PermissionDenied);
    assert_eq!(c.code(), Code::PermissionDenied);
    nothing_written(&app).await;
    app.stop().await;
}
