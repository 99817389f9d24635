//! Through the real services on one bus: a branch submits an installation at intake,
//! claims-review approves it automatically (demo policy), the warehouse reserves the power
//! board, field-service opens the work order waiting for it; the parts are delivered (logistics
//! is not built yet: its event is published as it would), booked, visited, repaired, inspected
//! and completed. Intake's timeline shows each step and the warehouse expects the old part back.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as S;
use aftersales_platform::proto::intake::v1 as intake_pb;
use aftersales_platform::proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftersales_platform::testing::{self, TEST_JWT_SECRET, TestService};
use sea_orm::ConnectionTrait;

use crate::helpers::{TestApp, builder, delivery, passed, window};

#[tokio::test]
async fn an_installation_submitted_at_intake_is_approved_reserved_visited_and_completed() {
    // Arrange: the four services on one bus, the demo stock and a technician.
    let fs = TestApp {
        svc: builder().start().await,
    };
    let bus = fs.svc.bus.clone();
    let intake = TestService::<intake::app::App>::builder()
        .bus(&bus)
        .start()
        .await;
    let claims = TestService::<claims_review::app::App>::builder()
        .bus(&bus)
        .start()
        .await;
    let warehouse = TestService::<warehouse::app::App>::builder()
        .bus(&bus)
        .start()
        .await;
    warehouse::demo::seed(&warehouse.grpc_url(), TEST_JWT_SECRET)
        .await
        .unwrap();
    fs.technician_of("T-SH01-001", 4).await;
    let channel =
        aftersales_platform::grpc::channel(&intake.grpc_url(), Duration::from_secs(30)).unwrap();
    let mut branch = IntakeServiceClient::with_interceptor(
        channel,
        ClientInterceptor::with_token(&testing::token("agent-SH01", "SH01", &[Role::BranchAgent]))
            .unwrap(),
    );

    // Act: the branch submits an installation with the power board.
    let mut submission = testing::demo::submission("SH01");
    submission.kind = common::RequestKind::Installation as i32;
    let no = branch
        .submit_request(submission)
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap()
        .request_no;
    let wo = fs
        .wait_work_order(&no, |w| w.status == S::WaitingParts as i32)
        .await;
    fs.publish("logistics", &no, &delivery(&no)).await;
    fs.wait_work_order(&no, |w| w.status == S::New as i32).await;
    let mut d = fs.dispatcher();
    d.schedule_appointment(pb::ScheduleAppointmentRequest {
        work_order_no: wo.work_order_no.clone(),
        window: Some(window(0, 11)),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut t = fs.technician("T-SH01-001", "SH01");
    t.dispatch(pb::DispatchRequest {
        work_order_no: wo.work_order_no.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    fs.move_to(&mut t, &wo.work_order_no, S::OnSite, "").await;
    fs.move_to(&mut t, &wo.work_order_no, S::InRepair, "").await;
    t.record_final_inspection(pb::RecordFinalInspectionRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        work_order_no: wo.work_order_no.clone(),
        inspection: Some(passed()),
    })
    .await
    .unwrap();
    let version = fs.get(&wo.work_order_no).await.version;
    t.complete_work_order(pb::CompleteWorkOrderRequest {
        work_order_no: wo.work_order_no.clone(),
        expected_version: version,
        parts_used: vec![pb::PartUsed {
            part_no: "PWR-55-01".into(),
            quantity: 1,
            coverage: common::Coverage::Free as i32,
            serial: "PB-NEW-7".into(),
        }],
        labour_minutes: 55,
        old_parts: vec![pb::OldPart {
            part_no: "PWR-55-01".into(),
            quantity: 1,
            serial: "PB-OLD-7".into(),
            must_return: true,
            return_by_date: String::new(),
        }],
        resolution: "installed; power board replaced".into(),
        ..Default::default()
    })
    .await
    .unwrap();

    // Assert: the work order came from the real approval, the timeline has every step, the
    // warehouse waits for the old board.
    assert_eq!(wo.service_category, pb::ServiceCategory::Free as i32);
    assert_eq!(wo.planned_parts[0].part_no, "PWR-55-01");
    let expected = [
        "claims.claim.approved",
        "warehouse.reservation.confirmed",
        "fieldservice.workorder.created",
        "logistics.shipment.delivered",
        "fieldservice.workorder.scheduled",
        "fieldservice.workorder.completed",
    ];
    let timeline = testing::eventually(Duration::from_secs(30), || {
        let mut branch = branch.clone();
        let no = no.clone();
        async move {
            let t = branch
                .get_timeline(intake_pb::GetTimelineRequest { request_no: no })
                .await
                .ok()?
                .into_inner();
            let types: Vec<String> = t.entries.iter().map(|e| e.r#type.clone()).collect();
            expected
                .iter()
                .all(|k| types.iter().any(|t| t == k))
                .then_some(types)
        }
    })
    .await
    .expect("the timeline shows every step");
    let moves = timeline
        .iter()
        .filter(|t| *t == "fieldservice.workorder.status_changed")
        .count();
    assert!(
        moves >= 6,
        "waiting, new, scheduled, en route, on site, in repair, done: {timeline:?}"
    );
    let old_part = format!(
        "SELECT count(*)::bigint FROM expected_old_parts WHERE work_order_no = '{}' AND part_no = 'PWR-55-01'",
        wo.work_order_no
    );
    warehouse.wait_count(&old_part, 1).await;
    let row = warehouse
        .conn()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*)::bigint AS n FROM expected_old_parts",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1);

    warehouse.stop().await;
    claims.stop().await;
    intake.stop().await;
    fs.stop().await;
}
