//! Overdue alarms: once per promised date, on one replica, with a controllable clock.

use aftersales_platform::clock::Clock;
use aftersales_platform::proto::procurement::v1 as pb;
use procurement::service::scans::OVERDUE;

use crate::helpers::{TestApp, at, builder, day, decode, manual_clock, request_no, spawn_app_with};

async fn overdue_events(app: &TestApp, po_number: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'procurement.po.overdue' AND subject = '{po_number}'"
    ))
    .await
}

/// 10:00 in Shanghai on `date`.
fn morning(date: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    at(&format!("{date}T02:00:00Z"))
}

async fn overdue_list(app: &TestApp) -> Vec<String> {
    app.buyer()
        .list_purchase_orders(pb::ListPurchaseOrdersRequest {
            overdue_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .purchase_orders
        .into_iter()
        .map(|p| p.po_number)
        .collect()
}

#[tokio::test]
async fn a_po_past_its_promised_date_is_announced_once_and_again_only_after_a_new_date_passes() {
    // Arrange: a PO promised in three working days.
    let app = spawn_app_with(builder().clock(manual_clock())).await;
    let mut overdue = app.subscribe("procurement.po.overdue").await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let no = request_no(1);
    app.shortage(&no, "RMT-01", 4).await;
    let po = app.wait_po_of(&no).await;
    let promised = day(&po.promised_date);
    assert_eq!(
        promised,
        day("2026-12-04"),
        "Tuesday 10:00 + 3 working days"
    );

    // On the promised date itself: not overdue.
    app.clock().set(morning(promised));
    app.svc.scan(OVERDUE).await;
    assert_eq!(overdue_events(&app, &po.po_number).await, 0);
    assert!(overdue_list(&app).await.is_empty());

    // The day after: once, however often the scanner runs.
    app.clock()
        .set(morning(promised + chrono::Duration::days(1)));
    app.svc.scan(OVERDUE).await;
    app.svc.scan(OVERDUE).await;
    app.clock().advance(chrono::Duration::days(3));
    app.svc.scan(OVERDUE).await;
    assert_eq!(overdue_events(&app, &po.po_number).await, 1);
    assert_eq!(
        overdue_list(&app).await,
        std::slice::from_ref(&po.po_number)
    );
    assert!(app.po(&po.po_number).await.overdue);
    let env = crate::helpers::next_event(&mut overdue, |e| e.subject == po.po_number).await;
    let e: pb::PoOverdue = decode(&env);
    assert_eq!(e.promised_date, promised.to_string());
    assert_eq!(e.days_overdue, 1);
    assert_eq!(e.outstanding.len(), 1);
    assert_eq!(e.outstanding[0].quantity, 4);
    assert_eq!(e.request_nos, std::slice::from_ref(&no));

    // The supplier promises a new date: announced again once that one passes.
    let new_date = promised + chrono::Duration::days(10);
    let revised = app
        .buyer()
        .revise_promised_date(pb::RevisePromisedDateRequest {
            po_number: po.po_number.clone(),
            promised_date: new_date.to_string(),
            reason: "supplier's line stopped for a week".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .purchase_order
        .unwrap();
    assert!(!revised.overdue);
    assert!(revised.note.contains("supplier's line stopped"));
    app.svc.scan(OVERDUE).await;
    assert_eq!(overdue_events(&app, &po.po_number).await, 1);
    app.clock()
        .set(morning(new_date + chrono::Duration::days(1)));
    app.svc.scan(OVERDUE).await;
    app.svc.scan(OVERDUE).await;
    assert_eq!(overdue_events(&app, &po.po_number).await, 2);
    app.stop().await;
}

#[tokio::test]
async fn two_replicas_scanning_one_overdue_po_at_the_same_moment_announce_it_exactly_once() {
    let first = spawn_app_with(builder().clock(manual_clock())).await;
    let second = first
        .replica(builder().clock(Clock::manual(first.clock().now())))
        .await;
    first.register("SUP-A", &["RMT-01"]).await;
    first.quote("SUP-A", "RMT-01", 3_300, 3).await;
    first.shortage(&request_no(1), "RMT-01", 1).await;
    let po = first.wait_po_of(&request_no(1)).await;
    let past = morning(day(&po.promised_date) + chrono::Duration::days(2));

    first.clock().set(past);
    second.clock().set(past);
    let (a, b) = tokio::join!(first.svc.try_scan(OVERDUE), second.svc.try_scan(OVERDUE));
    first.svc.scan(OVERDUE).await;
    second.svc.scan(OVERDUE).await;

    assert!(
        a.unwrap_or(0) + b.unwrap_or(0) <= 1,
        "at most one of the concurrent scans handled it: {a:?} {b:?}"
    );
    assert_eq!(overdue_events(&first, &po.po_number).await, 1);
    second.stop().await;
    first.stop().await;
}
