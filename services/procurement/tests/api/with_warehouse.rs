//! Through the real warehouse: an approved request short of stock is back-ordered, procurement
//! orders the part, the warehouse receives it against the PO in two deliveries, and the
//! back-order is then reserved.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::proto::warehouse::v1 as wh;
use aftersales_platform::proto::warehouse::v1::warehouse_service_client::WarehouseServiceClient;
use aftersales_platform::testing::{self, TestService};

use crate::helpers::{builder, decode, next_event, request_no, spawn_app_with};

type Warehouse = WarehouseServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, ClientInterceptor>,
>;

fn clerk(url: &str) -> Warehouse {
    let channel = aftersales_platform::grpc::channel(url, Duration::from_secs(30)).unwrap();
    WarehouseServiceClient::with_interceptor(
        channel,
        ClientInterceptor::with_token(&testing::token("clerk-1", "*", &[Role::Warehouse])).unwrap(),
    )
}

/// Books `quantity` units delivered against line 1 of `po`, and passes them all.
async fn deliver(client: &mut Warehouse, po: &pb::PurchaseOrder, quantity: u32) {
    let receipt = client
        .receive_goods(wh::ReceiveGoodsRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            po_number: po.po_number.clone(),
            supplier_id: po.supplier_id.clone(),
            delivery_note: format!("DN-{quantity}"),
            lines: vec![wh::ReceiptLine {
                part_no: "RMT-01".into(),
                quantity,
                po_line_no: 1,
                ..Default::default()
            }],
            movement_date: String::new(),
        })
        .await
        .expect("receive against the PO")
        .into_inner()
        .receipt
        .unwrap();
    client
        .record_inspection(wh::RecordInspectionRequest {
            idempotency_key: String::new(),
            receipt_id: receipt.receipt_id,
            lines: vec![wh::InspectionLine {
                part_no: "RMT-01".into(),
                passed: quantity,
                failed: 0,
                failure_reason: String::new(),
            }],
        })
        .await
        .expect("inspection");
}

#[tokio::test]
async fn goods_received_against_the_po_in_two_parts_complete_it_and_the_back_order_is_then_reserved()
 {
    // Arrange: the warehouse knows the remote control but has none; procurement has a supplier.
    let warehouse = TestService::<warehouse::app::App>::builder().start().await;
    let app = spawn_app_with(builder().bus(&warehouse.bus)).await;
    let mut confirmed = app.subscribe("warehouse.reservation.confirmed").await;
    let mut received = app.subscribe("procurement.po.received").await;
    let mut client = clerk(&warehouse.grpc_url());
    client
        .upsert_part(wh::UpsertPartRequest {
            part: Some(warehouse::demo::demo_part(
                "RMT-01",
                "Remote control",
                wh::PartClass::Accessory,
                3_500,
            )),
        })
        .await
        .unwrap();
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let no = request_no(42);

    // Act 1: claims approves a request for three remote controls.
    warehouse
        .publish(
            "claims",
            &no,
            "SH01",
            &claims::ClaimApproved {
                request_no: no.clone(),
                branch: "SH01".into(),
                kind: common::RequestKind::Replacement as i32,
                urgency: common::Urgency::Normal as i32,
                lines: vec![claims::ClaimLine {
                    part_no: "RMT-01".into(),
                    quantity: 3,
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await;

    // The warehouse back-orders it; procurement orders the three from SUP-A.
    let po = app.wait_po_of(&no).await;
    assert_eq!(po.supplier_id, "SUP-A");
    assert_eq!(po.lines[0].quantity, 3);
    assert_eq!(po.backorder_ids, [format!("BO-{no}")]);

    // Act 2: one unit arrives and passes.
    deliver(&mut client, &po, 1).await;
    let partly = app
        .wait_po(&po.po_number, |p| {
            p.status == pb::PurchaseOrderStatus::PartiallyReceived as i32
        })
        .await;
    assert_eq!(partly.lines[0].passed, 1);
    let e: pb::PoReceived = decode(&next_event(&mut received, |_| true).await);
    assert_eq!(e.status, pb::PurchaseOrderStatus::PartiallyReceived as i32);
    // The inspection served back-orders in its own transaction: one unit of three serves none.
    let open = client
        .list_backorders(wh::ListBackordersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .backorders;
    assert!(
        open.iter().any(|b| b.request_no == no),
        "still back-ordered"
    );

    // Act 3: the other two.
    deliver(&mut client, &po, 2).await;
    let done = app
        .wait_po(&po.po_number, |p| {
            p.status == pb::PurchaseOrderStatus::Received as i32
        })
        .await;
    assert_eq!(done.lines[0].passed, 3);
    let e: pb::PoReceived = decode(&next_event(&mut received, |_| true).await);
    assert_eq!(e.status, pb::PurchaseOrderStatus::Received as i32);

    // Assert: the warehouse served the back-order once all three had passed, not before.
    let env = next_event(&mut confirmed, |e| e.subject == no).await;
    let c: wh::ReservationConfirmed = decode(&env);
    assert_eq!(c.backorder_id, format!("BO-{no}"));
    assert_eq!(c.lines.iter().map(|l| l.quantity).sum::<u32>(), 3);
    let stock = client
        .get_stock(wh::GetStockRequest {
            part_no: "RMT-01".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .stock
        .unwrap();
    assert_eq!((stock.on_hand, stock.reserved), (3, 3));

    app.stop().await;
    warehouse.stop().await;
}
