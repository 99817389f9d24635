use std::time::Duration;

use aftersales_platform::proto::warehouse::v1 as pb;
use prost::Message;
use tonic::Code;

use crate::helpers::{assert_books_balance, spawn_app, stock, stock_part, violations, zone};

fn receive(key: &str, part_no: &str) -> pb::ReceiveReturnRequest {
    pb::ReceiveReturnRequest {
        idempotency_key: key.into(),
        request_no: "AS-2611-SH01-000700".into(),
        pickup_no: "PU-1".into(),
        part_no: part_no.into(),
        serial: "SN-1".into(),
        model: "X55".into(),
        movement_date: String::new(),
    }
}

#[tokio::test]
async fn a_returned_unit_is_inspected_into_stock_and_its_missing_accessories_are_announced() {
    let app = spawn_app().await;
    let mut inspected = app.subscribe("warehouse.return.inspected").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "TV-X55", false, 0).await;

    let u = client
        .receive_return(receive("ret-1", "TV-X55"))
        .await
        .unwrap()
        .into_inner()
        .returned_unit
        .unwrap();
    let again = client
        .receive_return(receive("ret-1", "TV-X55"))
        .await
        .unwrap()
        .into_inner()
        .returned_unit
        .unwrap();
    assert_eq!(u.return_id, again.return_id, "received once");
    let s = stock(&mut client, "TV-X55").await;
    assert_eq!(zone(&s, pb::Zone::PendingInspection).on_hand, 1);

    let req = pb::InspectReturnRequest {
        idempotency_key: "insp-1".into(),
        return_id: u.return_id.clone(),
        accessories: vec![
            pb::AccessoryCheck {
                part_no: "RMT-01".into(),
                name: "remote control".into(),
                expected: 1,
                present: 0,
            },
            pb::AccessoryCheck {
                part_no: String::new(),
                name: "power cable".into(),
                expected: 1,
                present: 1,
            },
        ],
        resaleable: true,
        inspection_note: "box opened".into(),
    };
    let done = client
        .inspect_return(req.clone())
        .await
        .unwrap()
        .into_inner()
        .returned_unit
        .unwrap();
    client.inspect_return(req).await.unwrap();

    assert_eq!(done.zone, pb::Zone::Qualified as i32);
    let s = stock(&mut client, "TV-X55").await;
    assert_eq!(zone(&s, pb::Zone::PendingInspection).on_hand, 0);
    assert_eq!(zone(&s, pb::Zone::Qualified).on_hand, 1);
    let env = tokio::time::timeout(Duration::from_secs(30), inspected.recv())
        .await
        .expect("return.inspected published")
        .unwrap();
    let e = pb::ReturnInspected::decode(env.payload.as_slice()).unwrap();
    assert_eq!(e.missing_accessories, ["RMT-01"]);
    assert!(e.resaleable);
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.return.inspected'"
        )
        .await,
        1
    );
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_unit_that_cannot_be_resold_goes_to_nonconforming_and_bad_checks_are_named() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "TV-X55", false, 0).await;
    let u = client
        .receive_return(receive("ret-2", "TV-X55"))
        .await
        .unwrap()
        .into_inner()
        .returned_unit
        .unwrap();
    let err = client
        .inspect_return(pb::InspectReturnRequest {
            return_id: u.return_id.clone(),
            accessories: vec![pb::AccessoryCheck {
                part_no: String::new(),
                name: String::new(),
                expected: 1,
                present: 2,
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let bad = violations(&err);
    assert!(bad.contains_key("accessories[0].name"), "{bad:?}");
    assert!(bad.contains_key("accessories[0].present"), "{bad:?}");

    client
        .inspect_return(pb::InspectReturnRequest {
            return_id: u.return_id,
            resaleable: false,
            inspection_note: "cracked housing".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let s = stock(&mut client, "TV-X55").await;
    assert_eq!(zone(&s, pb::Zone::Nonconforming).on_hand, 1);
    assert_eq!(s.available, 0);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}
