use std::time::Duration;

use aftersales_platform::proto::fieldservice::v1 as fieldservice;
use aftersales_platform::proto::warehouse::v1 as pb;
use prost::Message;
use tonic::Code;

use crate::helpers::{assert_books_balance, spawn_app, stock, stock_part, violations, zone};

#[tokio::test]
async fn an_expected_old_part_is_overdue_until_booked_in_and_can_go_back_to_the_supplier() {
    let app = spawn_app().await;
    let mut received = app.subscribe("warehouse.oldpart.received").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 0).await;
    let due = chrono::Utc::now().date_naive() - chrono::Duration::days(3);
    let completed = fieldservice::WorkOrderCompleted {
        request_no: "AS-2611-SH01-000800".into(),
        branch: "SH01".into(),
        work_order_no: "WO-1".into(),
        technician_id: "tech-7".into(),
        old_parts: vec![fieldservice::OldPart {
            part_no: "PWR-55-01".into(),
            quantity: 1,
            serial: "OLD-SN".into(),
            must_return: true,
            return_by_date: due.to_string(),
        }],
        ..Default::default()
    };
    app.publish("fieldservice", "AS-2611-SH01-000800", &completed)
        .await;
    app.wait_count("SELECT count(*)::bigint FROM expected_old_parts", 1)
        .await;

    let overdue = client
        .list_overdue_old_parts(pb::ListOverdueOldPartsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .old_parts;
    assert_eq!(overdue.len(), 1);
    assert_eq!(
        (overdue[0].technician_id.as_str(), overdue[0].days_overdue),
        ("tech-7", 3)
    );

    let req = pb::ReceiveOldPartRequest {
        idempotency_key: "op-1".into(),
        work_order_no: "WO-1".into(),
        request_no: String::new(),
        part_no: "PWR-55-01".into(),
        quantity: 1,
        serial: "OLD-SN".into(),
        condition: "burnt capacitor".into(),
        movement_date: String::new(),
    };
    let first = client
        .receive_old_part(req.clone())
        .await
        .unwrap()
        .into_inner();
    let again = client.receive_old_part(req).await.unwrap().into_inner();
    assert!(first.was_expected);
    assert_eq!(first, again, "booked once");
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!(zone(&s, pb::Zone::OldParts).on_hand, 1);
    assert_eq!(s.available, 0, "old parts are not reservable");
    let env = tokio::time::timeout(Duration::from_secs(30), received.recv())
        .await
        .expect("oldpart.received published")
        .unwrap();
    let e = pb::OldPartReceived::decode(env.payload.as_slice()).unwrap();
    assert_eq!(
        (e.request_no.as_str(), e.days_late),
        ("AS-2611-SH01-000800", 3)
    );
    assert!(
        client
            .list_overdue_old_parts(pb::ListOverdueOldPartsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .old_parts
            .is_empty()
    );

    let back = |qty, z: pb::Zone| pb::ReturnToSupplierRequest {
        idempotency_key: format!("sr-{qty}-{}", z as i32),
        supplier_id: "SUP-1".into(),
        po_number: String::new(),
        rma_no: "RMA-1".into(),
        lines: vec![pb::SupplierReturnLine {
            part_no: "PWR-55-01".into(),
            quantity: qty,
            zone: z as i32,
        }],
        reason: "warranty claim against the supplier".into(),
        movement_date: String::new(),
    };
    let err = client
        .return_to_supplier(back(2, pb::Zone::OldParts))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = client
        .return_to_supplier(back(1, pb::Zone::Qualified))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err).contains_key("lines[0].zone"));
    let r = client
        .return_to_supplier(back(1, pb::Zone::OldParts))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.entries.len(), 1);
    assert_eq!(r.entries[0].quantity, -1);
    assert_eq!(
        zone(&stock(&mut client, "PWR-55-01").await, pb::Zone::OldParts).on_hand,
        0
    );
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}
