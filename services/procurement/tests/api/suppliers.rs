//! The qualified-supplier register: admission, idempotent registration, status by hand.

use aftersales_platform::proto::procurement::v1 as pb;
use tonic::Code;

use crate::helpers::{decode, next_event, registration, spawn_app};

#[tokio::test]
async fn a_qualified_supplier_is_admitted_active_with_the_neutral_score_and_listed_by_part() {
    let app = spawn_app().await;
    let s = app.register("SUP-A", &["pwr-55-01", "RMT-01"]).await;
    assert_eq!(s.supplier_id, "SUP-A");
    assert_eq!(s.status, pb::SupplierStatus::Active as i32);
    assert_eq!(s.score_bp, 9_000, "the demo policy's neutral score");
    assert_eq!(
        s.part_nos,
        ["PWR-55-01", "RMT-01"],
        "part numbers upper-cased, sorted"
    );
    app.register("SUP-B", &["PNL-55-01"]).await;

    let listed = app
        .buyer()
        .list_suppliers(pb::ListSuppliersRequest {
            part_no: "RMT-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = listed
        .suppliers
        .iter()
        .map(|s| s.supplier_id.as_str())
        .collect();
    assert_eq!(ids, ["SUP-A"]);

    let page = app
        .buyer()
        .list_suppliers(pb::ListSuppliersRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.suppliers.len(), 1);
    let rest = app
        .buyer()
        .list_suppliers(pb::ListSuppliersRequest {
            page_size: 1,
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.suppliers.len(), 1);
    assert_ne!(rest.suppliers[0].supplier_id, page.suppliers[0].supplier_id);
    app.stop().await;
}

#[tokio::test]
async fn registering_twice_with_one_key_returns_the_first_and_a_reused_key_is_refused() {
    let app = spawn_app().await;
    let first = app.register("SUP-A", &["RMT-01"]).await;
    let again = app
        .buyer()
        .register_supplier(registration("SUP-A", &["RMT-01"]))
        .await
        .unwrap()
        .into_inner()
        .supplier
        .unwrap();
    assert_eq!(again, first);

    let mut other = registration("SUP-B", &["RMT-01"]);
    other.idempotency_key = "register-SUP-A".into();
    let err = app.buyer().register_supplier(other).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);

    let mut same_id = registration("SUP-A", &["RMT-01"]);
    same_id.idempotency_key = "another-key".into();
    let err = app.buyer().register_supplier(same_id).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(app.count("SELECT count(*)::bigint FROM suppliers").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_candidate_below_the_admission_minimums_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let mut r = registration("SUP-WEAK", &["RMT-01"]);
    if let Some(q) = r.supplier.as_mut().and_then(|s| s.qualification.as_mut()) {
        q.quality_bp = 4_000;
    }
    let err = app.buyer().register_supplier(r).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("quality 40.00"), "{}", err.message());
    assert_eq!(app.count("SELECT count(*)::bigint FROM suppliers").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_supplier_registered_without_an_id_gets_one() {
    let app = spawn_app().await;
    let s = app
        .buyer()
        .register_supplier(registration("", &["RMT-01"]))
        .await
        .unwrap()
        .into_inner()
        .supplier
        .unwrap();
    assert!(s.supplier_id.starts_with("SUP-0"), "{}", s.supplier_id);
    app.stop().await;
}

#[tokio::test]
async fn a_status_set_by_hand_is_announced_once_and_a_terminated_supplier_stays_terminated() {
    let app = spawn_app().await;
    let mut changes = app.subscribe("procurement.supplier.status_changed").await;
    app.register("SUP-A", &["RMT-01"]).await;
    let set = |status: pb::SupplierStatus, reason: &str| pb::SetSupplierStatusRequest {
        supplier_id: "SUP-A".into(),
        status: status as i32,
        reason: reason.into(),
        fix_by_date: String::new(),
    };

    let s = app
        .buyer()
        .set_supplier_status(set(pb::SupplierStatus::Warned, "late paperwork"))
        .await
        .unwrap()
        .into_inner()
        .supplier
        .unwrap();
    assert_eq!(s.status, pb::SupplierStatus::Warned as i32);
    assert_eq!(
        s.fix_by_date,
        (app.today() + chrono::Duration::days(30)).to_string(),
        "the policy's 30 days to correct"
    );
    // The same status again changes nothing and announces nothing.
    app.buyer()
        .set_supplier_status(set(pb::SupplierStatus::Warned, "again"))
        .await
        .unwrap();
    app.buyer()
        .set_supplier_status(set(pb::SupplierStatus::Terminated, "contract ended"))
        .await
        .unwrap();
    let err = app
        .buyer()
        .set_supplier_status(set(pb::SupplierStatus::Active, "second thoughts"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    let first: pb::SupplierStatusChanged = decode(&next_event(&mut changes, |_| true).await);
    assert_eq!(
        (first.from, first.to),
        (
            pb::SupplierStatus::Active as i32,
            pb::SupplierStatus::Warned as i32
        )
    );
    assert_eq!(first.reason, "late paperwork");
    assert_eq!(first.changed_by, "buyer-1");
    let second: pb::SupplierStatusChanged = decode(&next_event(&mut changes, |_| true).await);
    assert_eq!(second.to, pb::SupplierStatus::Terminated as i32);
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'procurement.supplier.status_changed'"
        )
        .await,
        2,
        "one event per change, none for the repeated status"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_new_supplier_scorecard_has_no_data_and_the_neutral_score() {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    let card = app
        .buyer()
        .get_scorecard(pb::GetScorecardRequest {
            supplier_id: "SUP-A".into(),
            period: None,
        })
        .await
        .unwrap()
        .into_inner()
        .scorecard
        .unwrap();
    assert_eq!(card.deliveries, 0);
    assert_eq!(card.score_bp, 9_000);
    assert_eq!((card.warn_below_bp, card.suspend_below_bp), (8_000, 6_000));
    assert!(
        card.formula.contains("40 % on-time rate"),
        "{}",
        card.formula
    );
    assert!(!card.field_failures_counted);
    app.stop().await;
}
