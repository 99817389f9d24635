//! Purchase orders a person raises, cancels and re-dates.

use aftersales_platform::proto::procurement::v1 as pb;
use procurement::service::scans::SOURCING;
use tonic::Code;

use crate::helpers::{decode, next_event, request_no, spawn_app};

fn line(part: &str, quantity: u32) -> pb::PurchaseOrderLineInput {
    pb::PurchaseOrderLineInput {
        part_no: part.into(),
        quantity,
        ..Default::default()
    }
}

fn create(
    key: &str,
    supplier: &str,
    lines: Vec<pb::PurchaseOrderLineInput>,
) -> pb::CreatePurchaseOrderRequest {
    pb::CreatePurchaseOrderRequest {
        idempotency_key: key.into(),
        supplier_id: supplier.into(),
        lines,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_po_without_a_supplier_goes_to_the_rules_choice_and_one_key_issues_it_once() {
    let app = spawn_app().await;
    let mut issued = app.subscribe("procurement.po.issued").await;
    app.register("SUP-A", &["RMT-01", "PNL-55-01"]).await;
    app.register("SUP-B", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    app.quote("SUP-B", "RMT-01", 3_100, 5).await;
    let mut manual = line("RMT-01", 10);
    manual.request_nos = vec![request_no(5)];

    let po = app
        .buyer()
        .create_purchase_order(create("po-1", "", vec![manual.clone()]))
        .await
        .unwrap()
        .into_inner()
        .purchase_order
        .unwrap();
    let again = app
        .buyer()
        .create_purchase_order(create("po-1", "", vec![manual]))
        .await
        .unwrap()
        .into_inner()
        .purchase_order
        .unwrap();

    assert_eq!(po.supplier_id, "SUP-A");
    assert_eq!(po.reason, pb::PurchaseReason::Manual as i32);
    assert_eq!(po.choice.as_ref().unwrap().runner_up_supplier_id, "SUP-B");
    assert_eq!(po.request_nos, [request_no(5)]);
    assert_eq!(again.po_number, po.po_number, "the same key: the same PO");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        1
    );
    let env = crate::helpers::next_event(&mut issued, |e| e.subject == po.po_number).await;
    assert_eq!(env.request_no, request_no(5));

    // A branch agent of SH01 sees it: it serves one of the branch's requests.
    let seen = app
        .as_role("SH01", aftersales_platform::auth::Role::BranchAgent)
        .get_purchase_order(pb::GetPurchaseOrderRequest {
            po_number: po.po_number.clone(),
        })
        .await;
    assert!(seen.is_ok());

    // Lines the rule gives to different suppliers need a supplier named.
    app.register("SUP-C", &["PWR-55-01"]).await;
    app.quote("SUP-C", "PWR-55-01", 17_500, 5).await;
    let err = app
        .buyer()
        .create_purchase_order(create(
            "po-2",
            "",
            vec![line("RMT-01", 1), line("PWR-55-01", 1)],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("different suppliers"),
        "{}",
        err.message()
    );

    // A line without a quote needs a price.
    let err = app
        .buyer()
        .create_purchase_order(create("po-3", "SUP-A", vec![line("PNL-55-01", 1)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("unit_price"), "{}", err.message());
    app.stop().await;
}

#[tokio::test]
async fn no_order_goes_to_a_suspended_supplier_even_by_hand() {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    app.buyer()
        .set_supplier_status(pb::SetSupplierStatusRequest {
            supplier_id: "SUP-A".into(),
            status: pb::SupplierStatus::Suspended as i32,
            reason: "audit failed".into(),
            fix_by_date: String::new(),
        })
        .await
        .unwrap();
    let err = app
        .buyer()
        .create_purchase_order(create("po-1", "SUP-A", vec![line("RMT-01", 1)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("SUSPENDED"), "{}", err.message());
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_shortage_po_cancelled_by_hand_is_ordered_again_by_the_sourcing_scan() {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let no = request_no(1);
    let mut cancelled_events = app.subscribe("procurement.po.cancelled").await;
    app.shortage(&no, "RMT-01", 2).await;
    let first = app.wait_po_of(&no).await;

    let cancel = pb::CancelPurchaseOrderRequest {
        idempotency_key: String::new(),
        po_number: first.po_number.clone(),
        reason: "the supplier cannot deliver this month".into(),
    };
    let cancelled = app
        .buyer()
        .cancel_purchase_order(cancel.clone())
        .await
        .unwrap()
        .into_inner()
        .purchase_order
        .unwrap();
    assert_eq!(cancelled.status, pb::PurchaseOrderStatus::Cancelled as i32);
    assert!(
        cancelled.request_nos.is_empty(),
        "its shortage waits for a supplier again"
    );
    let twice = app.buyer().cancel_purchase_order(cancel).await.unwrap();
    assert_eq!(twice.into_inner().purchase_order.unwrap(), cancelled);
    // Announced once, with the request it served, the reason and who.
    let env = next_event(&mut cancelled_events, |_| true).await;
    let ev: aftersales_platform::proto::procurement::v1::PoCancelled = decode(&env);
    assert_eq!(ev.po_number, first.po_number);
    assert_eq!(ev.request_nos, vec![no.clone()]);
    assert_eq!(ev.reason, "the supplier cannot deliver this month");
    assert!(!ev.cancelled_by.is_empty() && ev.cancelled_by != "system");
    assert_eq!(env.request_no, no);
    // A cancelled PO is not re-dated.
    let err = app
        .buyer()
        .revise_promised_date(pb::RevisePromisedDateRequest {
            po_number: first.po_number.clone(),
            promised_date: "2030-01-01".into(),
            reason: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    assert_eq!(app.svc.scan(SOURCING).await, 1);

    let pos = app.pos_of(&no).await;
    assert_eq!(pos.len(), 1);
    assert_ne!(pos[0].po_number, first.po_number);
    assert_eq!(pos[0].lines[0].quantity, 2);
    app.stop().await;
}
