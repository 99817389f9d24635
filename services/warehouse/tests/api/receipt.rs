use std::time::Duration;

use aftersales_platform::proto::warehouse::v1 as pb;
use prost::Message;
use tonic::Code;

use crate::helpers::{assert_books_balance, part, spawn_app, stock, violations, zone};

#[tokio::test]
async fn received_goods_wait_in_inspection_then_pass_or_fail_into_their_zones() {
    let app = spawn_app().await;
    let mut received = app.subscribe("warehouse.goods.received").await;
    let mut client = app.clerk().await;
    for (p, valuable) in [("PWR-55-01", false), ("GOLD-1", true)] {
        client
            .upsert_part(pb::UpsertPartRequest {
                part: Some(part(p, valuable, 0)),
            })
            .await
            .unwrap();
    }

    let r = client
        .receive_goods(pb::ReceiveGoodsRequest {
            idempotency_key: "rc-1".into(),
            po_number: "PO-7".into(),
            supplier_id: "SUP-1".into(),
            delivery_note: "DN-9".into(),
            lines: vec![
                pb::ReceiptLine {
                    part_no: "PWR-55-01".into(),
                    quantity: 10,
                    po_line_no: 1,
                    ..Default::default()
                },
                pb::ReceiptLine {
                    part_no: "GOLD-1".into(),
                    quantity: 2,
                    po_line_no: 2,
                    ..Default::default()
                },
            ],
            movement_date: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .receipt
        .unwrap();
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!(zone(&s, pb::Zone::PendingInspection).on_hand, 10);
    assert_eq!(s.available, 0, "nothing reservable before inspection");

    client
        .record_inspection(pb::RecordInspectionRequest {
            idempotency_key: String::new(),
            receipt_id: r.receipt_id.clone(),
            lines: vec![
                pb::InspectionLine {
                    part_no: "PWR-55-01".into(),
                    passed: 8,
                    failed: 2,
                    failure_reason: "scratched".into(),
                },
                pb::InspectionLine {
                    part_no: "GOLD-1".into(),
                    passed: 2,
                    failed: 0,
                    failure_reason: String::new(),
                },
            ],
        })
        .await
        .unwrap();

    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!(zone(&s, pb::Zone::PendingInspection).on_hand, 0);
    assert_eq!(zone(&s, pb::Zone::Qualified).on_hand, 8);
    assert_eq!(zone(&s, pb::Zone::Nonconforming).on_hand, 2);
    assert_eq!(s.available, 8);
    let g = stock(&mut client, "GOLD-1").await;
    assert_eq!(zone(&g, pb::Zone::Valuables).on_hand, 2);
    assert_eq!(
        zone(&g, pb::Zone::Qualified).on_hand,
        0,
        "valuables only in VALUABLES"
    );

    let env = tokio::time::timeout(Duration::from_secs(30), received.recv())
        .await
        .expect("goods.received published")
        .unwrap();
    let e = pb::GoodsReceived::decode(env.payload.as_slice()).unwrap();
    assert_eq!(e.po_number, "PO-7");
    let pwr = e.lines.iter().find(|l| l.part_no == "PWR-55-01").unwrap();
    assert_eq!((pwr.received, pwr.passed, pwr.failed), (10, 8, 2));
    assert_eq!(pwr.failure_reason, "scratched");

    let ledger = client
        .list_ledger(pb::ListLedgerRequest {
            part_no: "PWR-55-01".into(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ledger.entries.len(), 2);
    assert!(!ledger.next_page_token.is_empty());
    let rest = client
        .list_ledger(pb::ListLedgerRequest {
            part_no: "PWR-55-01".into(),
            page_size: 10,
            page_token: ledger.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        rest.entries.len(),
        3,
        "receipt + pass out/in + fail out/in = 5 rows"
    );
    assert!(rest.entries.iter().all(|e| e.actor == "clerk-1"));
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_receipt_with_bad_lines_names_every_field_and_stores_nothing() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(part("PWR-55-01", false, 0)),
        })
        .await
        .unwrap();

    let err = client
        .receive_goods(pb::ReceiveGoodsRequest {
            idempotency_key: String::new(),
            lines: vec![
                pb::ReceiptLine {
                    part_no: "PWR-55-01".into(),
                    quantity: 0,
                    ..Default::default()
                },
                pb::ReceiptLine {
                    part_no: "bad part!".into(),
                    quantity: 1,
                    ..Default::default()
                },
            ],
            movement_date: "yesterday".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let bad = violations(&err);
    for f in [
        "idempotency_key",
        "lines[0].quantity",
        "lines[1].part_no",
        "movement_date",
    ] {
        assert!(bad.contains_key(f), "{f} missing from {bad:?}");
    }

    let err = client
        .receive_goods(pb::ReceiveGoodsRequest {
            idempotency_key: "k".into(),
            lines: vec![pb::ReceiptLine {
                part_no: "NOPE-1".into(),
                quantity: 1,
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err)["lines[0].part_no"].contains("not in the catalogue"));
    assert_eq!(app.count("SELECT count(*)::bigint FROM receipts").await, 0);
    assert_eq!(app.count("SELECT count(*)::bigint FROM ledger").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_movement_dated_in_a_closed_period_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(part("PWR-55-01", false, 0)),
        })
        .await
        .unwrap();
    let closed = client
        .close_period(pb::ClosePeriodRequest {
            period: "2026-01".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .period
        .unwrap();
    assert!(closed.closed);

    let err = client
        .receive_goods(pb::ReceiveGoodsRequest {
            idempotency_key: "k".into(),
            lines: vec![pb::ReceiptLine {
                part_no: "PWR-55-01".into(),
                quantity: 1,
                ..Default::default()
            }],
            movement_date: "2026-01-15".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();

    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("2026-01 is closed"),
        "{}",
        err.message()
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM receipts").await, 0);
    assert_eq!(app.count("SELECT count(*)::bigint FROM ledger").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn inspection_results_must_add_up_to_what_was_received() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(part("PWR-55-01", false, 0)),
        })
        .await
        .unwrap();
    let r = client
        .receive_goods(pb::ReceiveGoodsRequest {
            idempotency_key: "k".into(),
            lines: vec![pb::ReceiptLine {
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
    let err = client
        .record_inspection(pb::RecordInspectionRequest {
            idempotency_key: String::new(),
            receipt_id: r.receipt_id,
            lines: vec![pb::InspectionLine {
                part_no: "PWR-55-01".into(),
                passed: 3,
                failed: 1,
                failure_reason: "dent".into(),
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err).contains_key("lines[0]"));
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!(
        zone(&s, pb::Zone::PendingInspection).on_hand,
        5,
        "nothing moved"
    );
    app.stop().await;
}
