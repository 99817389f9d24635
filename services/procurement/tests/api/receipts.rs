//! Receipts from the warehouse advance the PO and score its supplier.

use aftersales_platform::proto::procurement::v1 as pb;

use crate::helpers::{
    TestApp, at, builder, day, decode, manual_clock, next_event, receipt, request_no, spawn_app,
    spawn_app_with,
};

const RECEIVED: &str = "warehouse.goods.received";

/// A supplier SUP-A quoting RMT-01 (3 working days) and a shortage PO of `quantity` to it.
async fn po_of(app: &TestApp, quantity: u32) -> pb::PurchaseOrder {
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    app.shortage(&request_no(1), "RMT-01", quantity).await;
    app.wait_po_of(&request_no(1)).await
}

#[tokio::test]
async fn two_partial_receipts_move_the_po_to_partially_received_then_received() {
    let app = spawn_app().await;
    let mut received = app.subscribe("procurement.po.received").await;
    let po = po_of(&app, 5).await;
    let promised = day(&po.promised_date);

    // First delivery: 2 of 5.
    app.publish(
        "warehouse",
        "RC-1",
        &receipt("RC-1", &po.po_number, "RMT-01", 2, 0, promised),
    )
    .await;
    let after_first = app
        .wait_po(&po.po_number, |p| {
            p.status == pb::PurchaseOrderStatus::PartiallyReceived as i32
        })
        .await;
    assert_eq!(
        (
            after_first.lines[0].received,
            after_first.lines[0].passed,
            after_first.lines[0].outstanding
        ),
        (2, 2, 3)
    );
    let e: pb::PoReceived = decode(&next_event(&mut received, |_| true).await);
    assert_eq!(e.status, pb::PurchaseOrderStatus::PartiallyReceived as i32);
    assert_eq!(e.receipt_id, "RC-1");
    let err = app
        .buyer()
        .cancel_purchase_order(pb::CancelPurchaseOrderRequest {
            idempotency_key: String::new(),
            po_number: po.po_number.clone(),
            reason: "too late".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        tonic::Code::FailedPrecondition,
        "goods arrived already"
    );
    assert!(e.on_time);
    assert_eq!(e.lines[0].outstanding, 3);
    assert_eq!(e.request_nos, [request_no(1)]);

    // Second delivery: the remaining 3 (one day late).
    let late = promised + chrono::Duration::days(1);
    let second = receipt("RC-2", &po.po_number, "RMT-01", 3, 0, late);
    app.publish("warehouse", "RC-2", &second).await;
    let done = app
        .wait_po(&po.po_number, |p| {
            p.status == pb::PurchaseOrderStatus::Received as i32
        })
        .await;
    assert!(done.received_at.is_some());
    assert_eq!(done.lines[0].outstanding, 0);
    assert!(!done.overdue);
    let e: pb::PoReceived = decode(&next_event(&mut received, |_| true).await);
    assert_eq!(e.status, pb::PurchaseOrderStatus::Received as i32);
    assert!(!e.on_time, "delivered after the promised date");

    // The same receipt announced again changes nothing.
    app.publish("warehouse", "RC-2", &second).await;
    app.wait_settled(RECEIVED, 3).await;
    assert_eq!(app.po(&po.po_number).await.lines[0].received, 5);
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'procurement.po.received'"
        )
        .await,
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn a_supplier_whose_deliveries_fail_inspection_is_warned_then_suspended_each_with_its_reason()
{
    // The scorecard counts receipts up to today: the clock moves to each delivery's day.
    let app = spawn_app_with(builder().clock(manual_clock())).await;
    let mut changes = app.subscribe("procurement.supplier.status_changed").await;
    let po = po_of(&app, 20).await;
    let promised = day(&po.promised_date);

    // Ten units, all failing, on time: 40 % × 100 + 40 % × 0 + 20 % × 100 = 60.00 < 80.00.
    let today = app.today();
    app.publish(
        "warehouse",
        "RC-1",
        &receipt("RC-1", &po.po_number, "RMT-01", 0, 10, today),
    )
    .await;
    let warned: pb::SupplierStatusChanged = decode(&next_event(&mut changes, |_| true).await);
    assert_eq!(
        (warned.from, warned.to),
        (
            pb::SupplierStatus::Active as i32,
            pb::SupplierStatus::Warned as i32
        )
    );
    assert_eq!(warned.score_bp, 6_000);
    assert!(
        warned.reason.contains("below the warning threshold 80.00")
            && warned
                .reason
                .contains("passed inspection 0.00 % of 10 units"),
        "{}",
        warned.reason
    );
    assert!(warned.changed_by.is_empty(), "the scorecard decided");
    assert!(!warned.fix_by_date.is_empty());
    let card = warned.scorecard.expect("the scorecard behind the change");
    assert_eq!((card.units_inspected, card.units_passed), (10, 0));
    let s = app.supplier("SUP-A").await;
    assert_eq!(s.status, pb::SupplierStatus::Warned as i32);
    assert_eq!(s.fix_by_date, warned.fix_by_date);

    // Ten more failing, late: on time 50 %: 40 % × 50 + 0 + 20 % × 100 = 40.00 < 60.00.
    let late = promised + chrono::Duration::days(2);
    app.clock().set(at(&format!("{late}T02:00:00Z")));
    app.publish(
        "warehouse",
        "RC-2",
        &receipt("RC-2", &po.po_number, "RMT-01", 0, 10, late),
    )
    .await;
    let suspended: pb::SupplierStatusChanged = decode(&next_event(&mut changes, |_| true).await);
    assert_eq!(
        (suspended.from, suspended.to),
        (
            pb::SupplierStatus::Warned as i32,
            pb::SupplierStatus::Suspended as i32
        )
    );
    assert_eq!(suspended.score_bp, 4_000);
    assert!(
        suspended
            .reason
            .contains("below the suspension threshold 60.00 while warned"),
        "{}",
        suspended.reason
    );
    assert_eq!(
        app.supplier("SUP-A").await.status,
        pb::SupplierStatus::Suspended as i32
    );

    // A suspended supplier gets no new order: the next shortage waits for another supplier.
    app.shortage(&request_no(2), "RMT-01", 1).await;
    app.wait_settled("warehouse.stock.shortage", 2).await;
    assert!(app.pos_of(&request_no(2)).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_free_receipt_or_one_against_a_po_procurement_did_not_issue_changes_nothing() {
    let app = spawn_app().await;
    app.publish(
        "warehouse",
        "RC-1",
        &receipt("RC-1", "", "RMT-01", 5, 0, day("2026-12-01")),
    )
    .await;
    app.publish(
        "warehouse",
        "RC-2",
        &receipt("RC-2", "PO-2612-999999", "RMT-01", 5, 0, day("2026-12-01")),
    )
    .await;
    app.wait_settled(RECEIVED, 2).await;
    assert_eq!(app.count("SELECT count(*)::bigint FROM receipts").await, 0);
    assert_eq!(app.count("SELECT count(*)::bigint FROM outbox").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_warned_supplier_still_below_the_threshold_after_its_fix_by_date_is_suspended_by_the_scan()
 {
    let app = spawn_app_with(builder().clock(manual_clock())).await;
    let mut changes = app.subscribe("procurement.supplier.status_changed").await;
    let po = po_of(&app, 10).await;
    // 3 of 10 pass, on time: 40 % × 100 + 40 % × 30 + 20 % × 100 = 72.00: warned, not suspended.
    let today = app.today();
    app.publish(
        "warehouse",
        "RC-1",
        &receipt("RC-1", &po.po_number, "RMT-01", 3, 7, today),
    )
    .await;
    let warned: pb::SupplierStatusChanged = decode(&next_event(&mut changes, |_| true).await);
    assert_eq!(warned.to, pb::SupplierStatus::Warned as i32);
    let fix_by = day(&warned.fix_by_date);

    // On the fix-by date it still has time; the day after, the scan suspends it.
    app.clock().set(at(&format!("{fix_by}T02:00:00Z")));
    app.svc.scan(procurement::service::scans::FIX_BY).await;
    assert_eq!(
        app.supplier("SUP-A").await.status,
        pb::SupplierStatus::Warned as i32
    );
    app.clock().set(at(&format!(
        "{}T02:00:00Z",
        fix_by + chrono::Duration::days(1)
    )));
    app.svc.scan(procurement::service::scans::FIX_BY).await;
    let suspended: pb::SupplierStatusChanged = decode(&next_event(&mut changes, |_| true).await);
    assert_eq!(suspended.to, pb::SupplierStatus::Suspended as i32);
    assert!(
        suspended.reason.contains("after the fix-by date"),
        "{}",
        suspended.reason
    );
    app.stop().await;
}
