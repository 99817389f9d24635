//! Through the real warehouse (its crate, on the same broker): an approved request is reserved
//! there, planned here, issued over the warehouse's gRPC against its pick list, dispatched with a
//! waybill, and delivered by the sim carrier; a request cancelled between reservation and
//! dispatch is never dispatched and its pick list cannot be issued; a returned unit's completed
//! pick-up is booked at the warehouse's returns intake and inspected.

use std::time::Duration as StdDuration;

use aftersales_platform::auth::Role;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use aftersales_platform::proto::warehouse::v1 as wh;
use aftersales_platform::proto::warehouse::v1::warehouse_service_client::WarehouseServiceClient;
use aftersales_platform::testing::{self, TestService};
use chrono::Duration;
use logistics::scanners::SIM_CARRIER;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::helpers::{
    TestApp, approved_return, builder, cancelled, decode, next_event, request_no, ship_to,
    spawn_app_with,
};

type Warehouse = WarehouseServiceClient<InterceptedService<Channel, ClientInterceptor>>;

struct Mesh {
    warehouse: TestService<warehouse::app::App>,
    logistics: TestApp,
}

impl Mesh {
    async fn start() -> Mesh {
        let warehouse = TestService::<warehouse::app::App>::start().await;
        let logistics = spawn_app_with(builder().bus(&warehouse.bus)).await;
        Mesh {
            warehouse,
            logistics,
        }
    }

    fn clerk(&self) -> Warehouse {
        let channel = aftersales_platform::grpc::channel(
            &self.warehouse.grpc_url(),
            StdDuration::from_secs(30),
        )
        .unwrap();
        let token = testing::token("clerk-wh", "*", &[Role::Warehouse]);
        WarehouseServiceClient::with_interceptor(
            channel,
            ClientInterceptor::with_token(&token).unwrap(),
        )
    }

    /// Puts `qty` passed units of a part into the warehouse.
    async fn stock(&self, part_no: &str, qty: u32) {
        let mut clerk = self.clerk();
        clerk
            .upsert_part(wh::UpsertPartRequest {
                part: Some(warehouse::demo::demo_part(
                    part_no,
                    "Test part",
                    wh::PartClass::Unit,
                    45_000,
                )),
            })
            .await
            .expect("upsert part");
        let r = clerk
            .receive_goods(wh::ReceiveGoodsRequest {
                idempotency_key: uuid::Uuid::new_v4().to_string(),
                delivery_note: "DN-1".into(),
                lines: vec![wh::ReceiptLine {
                    part_no: part_no.into(),
                    quantity: qty,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .await
            .expect("receive")
            .into_inner()
            .receipt
            .unwrap();
        clerk
            .record_inspection(wh::RecordInspectionRequest {
                idempotency_key: String::new(),
                receipt_id: r.receipt_id,
                lines: vec![wh::InspectionLine {
                    part_no: part_no.into(),
                    passed: qty,
                    failed: 0,
                    failure_reason: String::new(),
                }],
            })
            .await
            .expect("inspect");
    }

    async fn stop(self) {
        self.logistics.stop().await;
        self.warehouse.stop().await;
    }
}

/// claims-review's approval of a replacement power board.
fn approval(no: &str) -> claims::ClaimApproved {
    claims::ClaimApproved {
        request_no: no.into(),
        branch: "SH01".into(),
        kind: common::RequestKind::Replacement as i32,
        urgency: common::Urgency::Normal as i32,
        region: common::Region::Urban as i32,
        lines: vec![claims::ClaimLine {
            part_no: "PWR-55-01".into(),
            quantity: 1,
            ..Default::default()
        }],
        ship_to: Some(ship_to("SH01")),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_approved_request_is_reserved_planned_issued_dispatched_and_delivered_through_the_real_warehouse()
 {
    let mesh = Mesh::start().await;
    mesh.stock("PWR-55-01", 5).await;
    let app = &mesh.logistics;
    let mut probe = app.subscribe("logistics.#").await;
    let no = request_no("SH01");

    // Act: claims-review approves; the warehouse reserves and confirms; logistics plans.
    app.publish("claims", &no, &approval(&no)).await;
    let planned: pb::ShipmentPlanned =
        decode(&next_event(&mut probe, "logistics.shipment.planned", &no).await);
    assert_eq!(planned.pick_list_id, format!("PL-{no}"));

    // Act: the clerk issues the pick list over the warehouse's gRPC, to the shipment.
    let mut clerk = mesh.clerk();
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
        .expect("issue");

    // Assert: dispatched with a waybill; the ledger shows the issue to the shipment.
    let dispatched: pb::ShipmentDispatched =
        decode(&next_event(&mut probe, "logistics.shipment.dispatched", &no).await);
    assert_eq!(
        dispatched.waybill_no,
        format!("SIM-{}", planned.shipment_no)
    );
    assert_eq!(dispatched.insured_value.as_ref().unwrap().amount_minor, 0);
    let ledger = clerk
        .list_ledger(wh::ListLedgerRequest {
            request_no: no.clone(),
            kinds: vec![wh::MovementKind::Issue as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].reference_id, planned.pick_list_id);
    let issued_list = clerk
        .get_pick_list(wh::GetPickListRequest {
            pick_list_id: planned.pick_list_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .pick_list
        .unwrap();
    assert_eq!(issued_list.shipment_no, planned.shipment_no);

    // Act: the sim carrier drives it to the door.
    app.clock().advance(Duration::days(3));
    app.scan(SIM_CARRIER).await;
    let delivered: pb::ShipmentDelivered =
        decode(&next_event(&mut probe, "logistics.shipment.delivered", &no).await);
    assert!(delivered.on_time);
    assert_eq!(delivered.waybill_no, dispatched.waybill_no);
    mesh.stop().await;
}

#[tokio::test]
async fn requests_cancelled_between_reservation_and_dispatch_are_never_dispatched_and_their_pick_lists_cannot_be_issued()
 {
    let mesh = Mesh::start().await;
    mesh.stock("PWR-55-01", 40).await;
    let app = &mesh.logistics;
    let mut clerk = mesh.clerk();
    let kept = request_no("SH01");
    let racing: Vec<String> = (0..8).map(|_| request_no("SH01")).collect();
    let planned_first: Vec<String> = (0..2).map(|_| request_no("SH01")).collect();

    // Act: two are cancelled only once their shipment is planned, so a confirmed pick list is
    // always withdrawn whatever the race below does; eight are approved and cancelled at once —
    // their confirmation and the cancellation race through the warehouse and logistics; a kept
    // one goes through beside them.
    for no in &planned_first {
        app.publish("claims", no, &approval(no)).await;
        app.wait_shipment(no, |_| true).await;
        app.publish("intake", no, &cancelled(no)).await;
    }
    app.publish("claims", &kept, &approval(&kept)).await;
    for (i, no) in racing.iter().enumerate() {
        if i % 2 == 0 {
            app.publish("claims", no, &approval(no)).await;
            app.publish("intake", no, &cancelled(no)).await;
        } else {
            app.publish("intake", no, &cancelled(no)).await;
            app.publish("claims", no, &approval(no)).await;
        }
    }
    let nos: Vec<String> = planned_first.into_iter().chain(racing).collect();
    app.wait_processed("intake.request.cancelled", nos.len() as i64)
        .await;
    let kept_shipment = app.wait_shipment(&kept, |_| true).await;
    mesh.warehouse
        .wait_count("SELECT count(*)::bigint FROM processed_events WHERE routing_key = 'claims.claim.approved'", nos.len() as i64 + 1)
        .await;
    // Everything the warehouse published has been handled here.
    mesh.warehouse
        .wait_count(
            "SELECT count(*)::bigint FROM outbox WHERE published_at IS NULL",
            0,
        )
        .await;
    let released = mesh
        .warehouse
        .count("SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.reservation.released'")
        .await;
    let confirmed = mesh
        .warehouse
        .count("SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.reservation.confirmed'")
        .await;
    // At least the two planned before their cancellation were released (withdrawn here too).
    assert!(released >= 2, "{released} reservations released");
    app.wait_processed("warehouse.reservation.released", released)
        .await;
    app.wait_processed("warehouse.reservation.confirmed", confirmed)
        .await;

    // Assert: the pick lists of the cancelled requests cannot be issued; nothing of them is open
    // or dispatched; the kept one is issued and dispatched.
    for no in &nos {
        let refused = clerk
            .issue_parts(wh::IssuePartsRequest {
                idempotency_key: format!("issue-{no}"),
                pick_list_id: format!("PL-{no}"),
                lines: vec![common::PartLine {
                    part_no: "PWR-55-01".into(),
                    quantity: 1,
                }],
                shipment_no: String::new(),
                movement_date: String::new(),
            })
            .await
            .expect_err("a cancelled request's pick list is issued");
        assert!(
            matches!(refused.code(), Code::FailedPrecondition | Code::NotFound),
            "{no}: {refused:?}"
        );
        let shipments = app.shipments_of(no).await;
        assert!(
            shipments.iter().all(
                |s| s.status == pb::ShipmentStatus::Cancelled as i32 && s.waybill_no.is_empty()
            ),
            "{no}: {shipments:?}"
        );
    }
    clerk
        .issue_parts(wh::IssuePartsRequest {
            idempotency_key: format!("issue-{kept}"),
            pick_list_id: format!("PL-{kept}"),
            lines: vec![common::PartLine {
                part_no: "PWR-55-01".into(),
                quantity: 1,
            }],
            shipment_no: kept_shipment.shipment_no.clone(),
            movement_date: String::new(),
        })
        .await
        .expect("the kept request's pick list is issued");
    app.wait_shipment(&kept, |s| s.status == pb::ShipmentStatus::Dispatched as i32)
        .await;
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM outbox WHERE routing_key = 'logistics.shipment.dispatched'").await,
        1,
        "only the kept request was dispatched"
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM shipments WHERE status = 'PLANNED'")
            .await,
        0
    );
    mesh.stop().await;
}

#[tokio::test]
async fn a_returned_units_completed_pick_up_is_booked_at_the_returns_intake_and_inspected() {
    let mesh = Mesh::start().await;
    let app = &mesh.logistics;
    let mut clerk = mesh.clerk();
    clerk
        .upsert_part(wh::UpsertPartRequest {
            part: Some(warehouse::demo::demo_part(
                "TV-X55",
                "X55 television",
                wh::PartClass::Unit,
                300_000,
            )),
        })
        .await
        .unwrap();
    let mut probe = app.subscribe("#").await;
    let no = request_no("SH01");

    app.publish("claims", &no, &approved_return(&no, true))
        .await;
    let scheduled: pb::PickupScheduled =
        decode(&next_event(&mut probe, "logistics.pickup.scheduled", &no).await);
    app.clock().advance(Duration::days(5));
    app.scan(SIM_CARRIER).await;
    let done: pb::PickupCompleted =
        decode(&next_event(&mut probe, "logistics.pickup.completed", &no).await);
    assert_eq!(done.pickup_no, scheduled.pickup_no);

    // The returns intake books what arrived under the pick-up, and inspects it.
    let unit = clerk
        .receive_return(wh::ReceiveReturnRequest {
            idempotency_key: format!("return-{}", done.pickup_no),
            request_no: done.request_no.clone(),
            pickup_no: done.pickup_no.clone(),
            part_no: done.part_no.clone(),
            serial: done.serial.clone(),
            model: done.model.clone(),
            movement_date: String::new(),
        })
        .await
        .expect("received at the returns intake")
        .into_inner()
        .returned_unit
        .unwrap();
    clerk
        .inspect_return(wh::InspectReturnRequest {
            idempotency_key: String::new(),
            return_id: unit.return_id.clone(),
            accessories: vec![],
            resaleable: true,
            inspection_note: "as new".into(),
        })
        .await
        .expect("inspected");
    let inspected: wh::ReturnInspected =
        decode(&next_event(&mut probe, "warehouse.return.inspected", &no).await);
    assert_eq!(inspected.pickup_no, scheduled.pickup_no);
    assert_eq!(inspected.serial, "SN12345678");
    mesh.stop().await;
}
