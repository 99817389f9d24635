use std::time::Duration;

use aftersales_platform::proto::warehouse::v1 as pb;
use chrono::Datelike;
use prost::Message;
use tonic::Code;

use crate::helpers::{Client, assert_books_balance, spawn_app, stock, stock_part, violations};

async fn count(client: &mut Client, id: &str, part_no: &str, counted: u32) {
    client
        .record_count(pb::RecordCountRequest {
            stocktake_id: id.into(),
            part_no: part_no.into(),
            zone: pb::Zone::Qualified as i32,
            counted,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_stocktake_with_differences_posts_exactly_those_adjustments_and_reports_accuracy() {
    let app = spawn_app().await;
    let mut closed_events = app.subscribe("warehouse.stocktake.closed").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 10).await;
    stock_part(&mut client, "PNL-55-01", false, 5).await;
    stock_part(&mut client, "RMT-01", false, 4).await;

    let st = client
        .open_stocktake(pb::OpenStocktakeRequest {
            idempotency_key: "st-1".into(),
            zones: vec![pb::Zone::Qualified as i32],
            part_nos: vec!["PWR-55-01".into(), "PNL-55-01".into(), "RMT-01".into()],
            note: "November count".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .stocktake
        .unwrap();
    assert_eq!(st.lines.len(), 3);
    assert!(st.lines.iter().all(|l| l.counted.is_none()));
    let id = st.stocktake_id.clone();
    count(&mut client, &id, "PWR-55-01", 8).await; // two lost
    count(&mut client, &id, "PNL-55-01", 5).await; // matches
    count(&mut client, &id, "RMT-01", 6).await; // two found
    let adjustments_before = app
        .count("SELECT count(*)::bigint FROM ledger WHERE kind = 'STOCKTAKE_ADJUSTMENT'")
        .await;
    assert_eq!(adjustments_before, 0);

    let close = pb::CloseStocktakeRequest {
        idempotency_key: "close-1".into(),
        stocktake_id: id.clone(),
        reasons: vec![pb::AdjustmentReason {
            part_no: "PWR-55-01".into(),
            zone: pb::Zone::Qualified as i32,
            reason: "damaged in storage".into(),
        }],
        default_reason: "found on the wrong shelf".into(),
        allow_uncounted: false,
    };
    let closed = client
        .close_stocktake(close.clone())
        .await
        .unwrap()
        .into_inner()
        .stocktake
        .unwrap();
    let again = client
        .close_stocktake(close)
        .await
        .unwrap()
        .into_inner()
        .stocktake
        .unwrap();

    assert_eq!(closed.status, pb::StocktakeStatus::Closed as i32);
    // 1 of 3 lines matched: 3333 basis points (matched / counted, rounded down).
    assert_eq!(closed.accuracy_bp, 3_333);
    assert_eq!(
        closed.difference_value.clone().unwrap().amount_minor,
        4 * 1_000
    );
    assert_eq!(again, closed, "closing twice changes nothing");
    let rows = client
        .list_ledger(pb::ListLedgerRequest {
            kinds: vec![pb::MovementKind::StocktakeAdjustment as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let mut posted: Vec<(String, i32, String)> = rows
        .iter()
        .map(|e| (e.part_no.clone(), e.quantity, e.reason.clone()))
        .collect();
    posted.sort();
    assert_eq!(
        posted,
        [
            ("PWR-55-01".to_owned(), -2, "damaged in storage".to_owned()),
            (
                "RMT-01".to_owned(),
                2,
                "found on the wrong shelf".to_owned()
            ),
        ]
    );
    assert!(rows.iter().all(|e| e.reference_id == id));
    assert_eq!(stock(&mut client, "PWR-55-01").await.on_hand, 8);
    assert_eq!(stock(&mut client, "RMT-01").await.on_hand, 6);

    let env = tokio::time::timeout(Duration::from_secs(30), closed_events.recv())
        .await
        .expect("stocktake.closed published")
        .unwrap();
    let e = pb::StocktakeClosed::decode(env.payload.as_slice()).unwrap();
    assert_eq!(
        (e.lines_counted, e.lines_matched, e.accuracy_bp),
        (3, 1, 3_333)
    );
    assert_eq!(e.adjustments.len(), 2);
    assert_eq!(e.net_adjustment_value.unwrap().amount_minor, 0);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn an_uncounted_line_keeps_the_stocktake_open_unless_allowed() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 10).await;
    let st = client
        .open_stocktake(pb::OpenStocktakeRequest {
            idempotency_key: "st-2".into(),
            zones: vec![pb::Zone::Qualified as i32],
            part_nos: vec!["PWR-55-01".into()],
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .stocktake
        .unwrap();
    let close = |allow| pb::CloseStocktakeRequest {
        idempotency_key: "c".into(),
        stocktake_id: st.stocktake_id.clone(),
        reasons: vec![],
        default_reason: String::new(),
        allow_uncounted: allow,
    };
    let err = client.close_stocktake(close(false)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("PWR-55-01 in QUALIFIED"),
        "{}",
        err.message()
    );
    let closed = client
        .close_stocktake(close(true))
        .await
        .unwrap()
        .into_inner()
        .stocktake
        .unwrap();
    assert_eq!(closed.accuracy_bp, 10_000);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM ledger WHERE kind = 'STOCKTAKE_ADJUSTMENT'")
            .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_closed_period_refuses_back_dated_movements_and_only_past_months_close() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 1).await;
    let today = chrono::Utc::now().date_naive();
    let last_month = today.with_day(1).unwrap() - chrono::Duration::days(1);

    let err = client
        .close_period(pb::ClosePeriodRequest {
            period: today.format("%Y-%m").to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = client
        .close_period(pb::ClosePeriodRequest {
            period: "2026-13".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err).contains_key("period"));

    client
        .close_period(pb::ClosePeriodRequest {
            period: last_month.format("%Y-%m").to_string(),
        })
        .await
        .unwrap();
    let err = client
        .receive_goods(pb::ReceiveGoodsRequest {
            idempotency_key: "late".into(),
            lines: vec![pb::ReceiptLine {
                part_no: "PWR-55-01".into(),
                quantity: 1,
                ..Default::default()
            }],
            movement_date: last_month.to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM receipts WHERE idempotency_key = 'late'")
            .await,
        0
    );
    app.stop().await;
}
