//! The whole chain through the real services on one broker: a branch submits an in-warranty
//! request to intake, claims-review approves it by policy, the warehouse reserves it, logistics
//! plans it, the clerk issues the pick list, logistics dispatches it with a waybill and the sim
//! carrier delivers it; the request's timeline shows each step and the waybill number.

use std::time::Duration as StdDuration;

use aftersales_platform::auth::Role;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as intake_pb;
use aftersales_platform::proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftersales_platform::proto::logistics::v1 as pb;
use aftersales_platform::proto::warehouse::v1 as wh;
use aftersales_platform::proto::warehouse::v1::warehouse_service_client::WarehouseServiceClient;
use aftersales_platform::testing::{self, TestService};
use chrono::Duration;
use logistics::scanners::SIM_CARRIER;

use crate::helpers::{builder, decode, next_event, spawn_app_with};

fn channel(url: &str) -> tonic::transport::Channel {
    aftersales_platform::grpc::channel(url, StdDuration::from_secs(30)).unwrap()
}

#[tokio::test]
async fn an_in_warranty_request_reaches_its_customer_and_the_timeline_shows_the_waybill() {
    // Arrange: intake, claims-review, the warehouse (with power boards) and logistics.
    let intake = TestService::<intake::app::App>::start().await;
    let claims = TestService::<claims_review::app::App>::builder()
        .bus(&intake.bus)
        .start()
        .await;
    let warehouse = TestService::<warehouse::app::App>::builder()
        .bus(&intake.bus)
        .start()
        .await;
    let app = spawn_app_with(builder().bus(&intake.bus)).await;
    let clerk_token = testing::token("clerk-wh", "*", &[Role::Warehouse]);
    let mut clerk = WarehouseServiceClient::with_interceptor(
        channel(&warehouse.grpc_url()),
        ClientInterceptor::with_token(&clerk_token).unwrap(),
    );
    clerk
        .upsert_part(wh::UpsertPartRequest {
            part: Some(warehouse::demo::demo_part(
                "PWR-55-01",
                "TV power board",
                wh::PartClass::Unit,
                45_000,
            )),
        })
        .await
        .unwrap();
    let receipt = clerk
        .receive_goods(wh::ReceiveGoodsRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            delivery_note: "DN-1".into(),
            lines: vec![wh::ReceiptLine {
                part_no: "PWR-55-01".into(),
                quantity: 5,
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .receipt
        .unwrap();
    clerk
        .record_inspection(wh::RecordInspectionRequest {
            idempotency_key: String::new(),
            receipt_id: receipt.receipt_id,
            lines: vec![wh::InspectionLine {
                part_no: "PWR-55-01".into(),
                passed: 5,
                failed: 0,
                failure_reason: String::new(),
            }],
        })
        .await
        .unwrap();
    let mut probe = app.subscribe("logistics.#").await;
    let agent_token = testing::token("agent-1", "SH01", &[Role::BranchAgent]);
    let mut branch = IntakeServiceClient::with_interceptor(
        channel(&intake.grpc_url()),
        ClientInterceptor::with_token(&agent_token).unwrap(),
    );

    // Act: the branch submits the demo request (a TV power board, in warranty).
    let no = branch
        .submit_request(testing::demo::submission("SH01"))
        .await
        .expect("submitted")
        .into_inner()
        .request
        .unwrap()
        .request_no;

    // Assert: planned, then — once the clerk issues its pick list — dispatched with a waybill.
    let planned: pb::ShipmentPlanned =
        decode(&next_event(&mut probe, "logistics.shipment.planned", &no).await);
    let pick = clerk
        .get_pick_list(wh::GetPickListRequest {
            pick_list_id: planned.pick_list_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .pick_list
        .unwrap();
    clerk
        .issue_parts(wh::IssuePartsRequest {
            idempotency_key: format!("issue-{no}"),
            pick_list_id: pick.pick_list_id.clone(),
            lines: pick
                .lines
                .iter()
                .map(|l| common::PartLine {
                    part_no: l.part_no.clone(),
                    quantity: l.quantity,
                })
                .collect(),
            shipment_no: planned.shipment_no.clone(),
            movement_date: String::new(),
        })
        .await
        .expect("issued");
    let dispatched: pb::ShipmentDispatched =
        decode(&next_event(&mut probe, "logistics.shipment.dispatched", &no).await);
    app.clock().advance(Duration::days(4));
    app.scan(SIM_CARRIER).await;
    next_event(&mut probe, "logistics.shipment.delivered", &no).await;

    // Assert: the timeline shows every step, the waybill included, and the request is delivered.
    let timeline = testing::eventually(StdDuration::from_secs(30), || {
        let mut branch = branch.clone();
        let no = no.clone();
        async move {
            let t = branch
                .get_timeline(intake_pb::GetTimelineRequest { request_no: no })
                .await
                .ok()?
                .into_inner();
            t.entries
                .iter()
                .any(|e| e.r#type == "logistics.shipment.delivered")
                .then_some(t)
        }
    })
    .await
    .expect("the delivery reaches the timeline");
    let types: Vec<&str> = timeline.entries.iter().map(|e| e.r#type.as_str()).collect();
    for step in [
        "intake.request.submitted",
        "claims.claim.approved",
        "warehouse.reservation.confirmed",
        "logistics.shipment.planned",
        "warehouse.parts.issued",
        "logistics.shipment.dispatched",
        "logistics.shipment.delivered",
    ] {
        assert!(types.contains(&step), "{step} missing from {types:?}");
    }
    let shipped = timeline
        .entries
        .iter()
        .find(|e| e.r#type == "logistics.shipment.dispatched")
        .unwrap();
    assert!(
        shipped.summary.contains(&dispatched.waybill_no),
        "{}",
        shipped.summary
    );
    let request = branch
        .get_request(intake_pb::GetRequestRequest {
            request_no: no.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    assert_eq!(request.status, intake_pb::RequestStatus::Delivered as i32);

    app.stop().await;
    warehouse.stop().await;
    claims.stop().await;
    intake.stop().await;
}
