//! Who may do what: head office reads and buyers write; a branch sees only the POs serving its
//! own requests.

use aftersales_platform::auth::Role;
use aftersales_platform::proto::procurement::v1 as pb;
use tonic::Code;

use crate::helpers::{registration, request_no, spawn_app};

#[tokio::test]
async fn a_branch_sees_the_pos_serving_its_requests_and_nothing_of_another_branch() {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let no = request_no(1);
    app.shortage(&no, "RMT-01", 1).await;
    let po = app.wait_po_of(&no).await;
    let get = pb::GetPurchaseOrderRequest {
        po_number: po.po_number.clone(),
    };

    let mut sh01 = app.as_role("SH01", Role::BranchAgent);
    let seen = sh01
        .get_purchase_order(get.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.purchase_order.unwrap().po_number, po.po_number);
    let listed = sh01
        .list_purchase_orders(pb::ListPurchaseOrdersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.purchase_orders.len(), 1);

    let mut bj02 = app.as_role("BJ02", Role::BranchAgent);
    let err = bj02.get_purchase_order(get).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "another branch's PO does not exist for it"
    );
    let listed = bj02
        .list_purchase_orders(pb::ListPurchaseOrdersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.purchase_orders.is_empty());

    // The register is head office's.
    let err = sh01
        .get_supplier(pb::GetSupplierRequest {
            supplier_id: "SUP-A".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn only_buyers_at_head_office_write_and_every_caller_must_be_known() {
    let app = spawn_app().await;
    let mut analyst = app.as_role("*", Role::Analyst);
    let err = analyst
        .register_supplier(registration("SUP-A", &["RMT-01"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut branch_buyer = app.as_role("SH01", Role::Procurement);
    let err = branch_buyer
        .register_supplier(registration("SUP-A", &["RMT-01"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut anonymous = app.client_with("not-a-token");
    let err = anonymous
        .list_suppliers(pb::ListSuppliersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(app.count("SELECT count(*)::bigint FROM suppliers").await, 0);

    // Head office reads whatever its role.
    app.register("SUP-A", &["RMT-01"]).await;
    let listed = analyst
        .list_suppliers(pb::ListSuppliersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.suppliers.len(), 1);
    app.stop().await;
}
