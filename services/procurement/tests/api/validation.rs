//! Bad input answers INVALID_ARGUMENT naming each bad field, and writes nothing.

use aftersales_platform::proto::procurement::v1 as pb;
use tonic::Code;

use crate::helpers::{TestApp, money, quote_request, spawn_app, violations};

/// Rows of every table a refused request could have written.
async fn written(app: &TestApp) -> [i64; 4] {
    [
        app.count("SELECT count(*)::bigint FROM suppliers").await,
        app.count("SELECT count(*)::bigint FROM quotes").await,
        app.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        app.count("SELECT count(*)::bigint FROM outbox").await,
    ]
}

fn line(part: &str, quantity: u32) -> pb::PurchaseOrderLineInput {
    pb::PurchaseOrderLineInput {
        part_no: part.into(),
        quantity,
        ..Default::default()
    }
}

fn po(supplier: &str, lines: Vec<pb::PurchaseOrderLineInput>) -> pb::CreatePurchaseOrderRequest {
    pb::CreatePurchaseOrderRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        supplier_id: supplier.into(),
        lines,
        ..Default::default()
    }
}

#[tokio::test]
async fn bad_quotes_name_the_field_and_write_nothing() {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.register("SUP-B", &["PWR-55-01"]).await;
    let before = written(&app).await;
    let today = app.today();
    let next_year = today + chrono::Duration::days(365);
    let cases: Vec<(&str, pb::SubmitQuoteRequest, &str)> = vec![
        (
            "an unknown part",
            quote_request("SUP-A", "NO-SUCH-PART", 100, 1, next_year),
            "quote.part_no",
        ),
        (
            "a part the supplier is not qualified for",
            quote_request("SUP-A", "PWR-55-01", 100, 1, next_year),
            "quote.part_no",
        ),
        (
            "a negative price",
            quote_request("SUP-A", "RMT-01", -5, 1, next_year),
            "quote.unit_price",
        ),
        (
            "a zero price",
            quote_request("SUP-A", "RMT-01", 0, 1, next_year),
            "quote.unit_price",
        ),
        (
            "a validity already over",
            quote_request("SUP-A", "RMT-01", 100, 1, today - chrono::Duration::days(1)),
            "quote.valid_until_date",
        ),
        (
            "an unknown supplier",
            quote_request("SUP-NOBODY", "RMT-01", 100, 1, next_year),
            "quote.supplier_id",
        ),
        (
            "a malformed part number",
            quote_request("SUP-A", "RMT 01", 100, 1, next_year),
            "quote.part_no",
        ),
    ];
    for (what, request, field) in cases {
        let err = app.buyer().submit_quote(request).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{what}");
        let v = violations(&err);
        assert!(v.contains_key(field), "{what}: {v:?}");
    }
    let mut foreign = quote_request("SUP-A", "RMT-01", 100, 1, next_year);
    if let Some(q) = foreign.quote.as_mut() {
        q.unit_price = Some(aftersales_platform::proto::common::v1::Money {
            currency: "USD".into(),
            amount_minor: 100,
        });
    }
    let err = app.buyer().submit_quote(foreign).await.unwrap_err();
    assert_eq!(
        violations(&err)["quote.unit_price"],
        "must be in CNY, not USD"
    );
    assert_eq!(written(&app).await, before, "nothing written");
    app.stop().await;
}

#[tokio::test]
async fn every_bad_field_of_a_purchase_order_is_named_at_once_and_nothing_is_written() {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let before = written(&app).await;

    // Zero quantity and a negative price, together.
    let mut negative = line("RMT-01", 0);
    negative.unit_price = money(-100);
    let err = app
        .buyer()
        .create_purchase_order(po("SUP-A", vec![negative, line("RMT-01", 2)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = violations(&err);
    assert_eq!(v["lines[0].quantity"], "must be at least 1");
    assert_eq!(v["lines[0].unit_price"], "must not be negative");
    assert_eq!(v.len(), 2, "{v:?}");

    // An unknown supplier and an unknown part, together.
    let err = app
        .buyer()
        .create_purchase_order(po("SUP-NOBODY", vec![line("NO-SUCH-PART", 1)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = violations(&err);
    assert!(v["supplier_id"].contains("no supplier SUP-NOBODY"), "{v:?}");
    assert!(
        v["lines[0].part_no"].contains("not a part procurement buys"),
        "{v:?}"
    );

    // A promised date in the past and an unknown quote.
    let mut req = po("SUP-A", vec![line("RMT-01", 1)]);
    req.promised_date = (app.today() - chrono::Duration::days(3)).to_string();
    req.lines[0].quote_id = "QT-NOPE".into();
    let err = app.buyer().create_purchase_order(req).await.unwrap_err();
    let v = violations(&err);
    assert!(
        v.contains_key("promised_date") && v.contains_key("lines[0].quote_id"),
        "{v:?}"
    );

    // No lines at all.
    let err = app
        .buyer()
        .create_purchase_order(po("SUP-A", vec![]))
        .await
        .unwrap_err();
    assert!(violations(&err).contains_key("lines"));

    assert_eq!(written(&app).await, before, "nothing written");
    app.stop().await;
}

#[tokio::test]
async fn a_comparison_of_zero_units_or_an_unknown_part_is_refused() {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    let err = app
        .buyer()
        .compare_quotes(pb::CompareQuotesRequest {
            part_no: "RMT-01".into(),
            quantity: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err)["quantity"], "must be at least 1");
    let err = app
        .buyer()
        .compare_quotes(pb::CompareQuotesRequest {
            part_no: "NO-SUCH-PART".into(),
            quantity: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err).contains_key("part_no"));
    app.stop().await;
}

#[tokio::test]
async fn a_registration_names_every_bad_field() {
    let app = spawn_app().await;
    let err = app
        .buyer()
        .register_supplier(pb::RegisterSupplierRequest {
            idempotency_key: String::new(),
            supplier: Some(pb::Supplier {
                supplier_id: "SUP A".into(),
                phone: "call me".into(),
                email: "nobody".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = violations(&err);
    for field in [
        "idempotency_key",
        "supplier.supplier_id",
        "supplier.name",
        "supplier.phone",
        "supplier.email",
        "supplier.part_nos",
        "supplier.qualification",
    ] {
        assert!(v.contains_key(field), "{field}: {v:?}");
    }
    assert_eq!(app.count("SELECT count(*)::bigint FROM suppliers").await, 0);
    app.stop().await;
}
