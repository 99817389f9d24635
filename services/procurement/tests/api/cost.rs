//! The purchase-cost report: spend against the best quote and the line's quote, with freight.

use aftersales_platform::proto::procurement::v1 as pb;

use crate::helpers::{money, spawn_app};

fn line(part: &str, quantity: u32, price: Option<i64>, quote: &str) -> pb::PurchaseOrderLineInput {
    pb::PurchaseOrderLineInput {
        part_no: part.into(),
        quantity,
        unit_price: price.and_then(money),
        quote_id: quote.into(),
        ..Default::default()
    }
}

fn minor(m: &Option<aftersales_platform::proto::common::v1::Money>) -> i64 {
    m.as_ref().map(|m| m.amount_minor).unwrap_or_default()
}

#[tokio::test]
async fn the_cost_report_sets_spend_against_the_best_quote_per_part_and_supplier_with_freight() {
    // Arrange: a negotiated price above the best quote at SUP-A, quoted prices at SUP-B, and a
    // cancelled PO that does not count.
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.register("SUP-B", &["RMT-01", "PWR-55-01"]).await;
    let qa = app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    app.quote("SUP-B", "RMT-01", 3_100, 5).await;
    app.quote("SUP-B", "PWR-55-01", 17_500, 5).await;
    let mut buyer = app.buyer();
    let create = |supplier: &str, lines, freight: i64| pb::CreatePurchaseOrderRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        supplier_id: supplier.into(),
        lines,
        freight: money(freight),
        ..Default::default()
    };
    let po1 = buyer
        .create_purchase_order(create(
            "SUP-A",
            vec![line("RMT-01", 10, Some(3_200), &qa.quote_id)],
            500,
        ))
        .await
        .unwrap()
        .into_inner()
        .purchase_order
        .unwrap();
    assert_eq!(
        po1.lines[0]
            .quoted_unit_price
            .as_ref()
            .unwrap()
            .amount_minor,
        3_300
    );
    assert_eq!(
        po1.lines[0]
            .best_quoted_unit_price
            .as_ref()
            .unwrap()
            .amount_minor,
        3_100
    );
    assert_eq!(po1.issued_by, "buyer-1");
    assert!(po1.choice.is_none(), "a supplier given by hand");
    buyer
        .create_purchase_order(create(
            "SUP-B",
            vec![line("RMT-01", 5, None, ""), line("PWR-55-01", 2, None, "")],
            1_000,
        ))
        .await
        .unwrap();
    let po3 = buyer
        .create_purchase_order(create("SUP-B", vec![line("RMT-01", 99, None, "")], 0))
        .await
        .unwrap()
        .into_inner()
        .purchase_order
        .unwrap();
    buyer
        .cancel_purchase_order(pb::CancelPurchaseOrderRequest {
            idempotency_key: String::new(),
            po_number: po3.po_number.clone(),
            reason: "ordered by mistake".into(),
        })
        .await
        .unwrap();

    // Act
    let by_part = buyer
        .get_cost_report(pb::GetCostReportRequest {
            period: None,
            group_by: pb::CostGrouping::Part as i32,
        })
        .await
        .unwrap()
        .into_inner();
    let by_supplier = buyer
        .get_cost_report(pb::GetCostReportRequest {
            period: None,
            group_by: pb::CostGrouping::Supplier as i32,
        })
        .await
        .unwrap()
        .into_inner();

    // Assert: per part.
    let rmt = by_part.rows.iter().find(|r| r.key == "RMT-01").unwrap();
    assert_eq!((rmt.orders, rmt.quantity), (2, 15));
    assert_eq!(minor(&rmt.spend), 10 * 3_200 + 5 * 3_100);
    assert_eq!(
        minor(&rmt.quoted),
        15 * 3_100,
        "at the best quote when ordered"
    );
    assert_eq!(minor(&rmt.variance), 1_000);
    assert_eq!(minor(&rmt.at_line_quotes), 10 * 3_300 + 5 * 3_100);
    // PO 2's freight 1000 shared by value: 15500 / 50500 → 306 (+1 remainder to its first line).
    assert_eq!(minor(&rmt.freight), 500 + 307);
    let pwr = by_part.rows.iter().find(|r| r.key == "PWR-55-01").unwrap();
    assert_eq!(minor(&pwr.freight), 693);
    let total = by_part.total.unwrap();
    assert_eq!(total.orders, 2, "the cancelled PO does not count");
    assert_eq!(minor(&total.spend), 82_500);
    assert_eq!(minor(&total.freight), 1_500);
    assert_eq!(minor(&total.total_cost), 84_000);

    // Per supplier.
    let a = by_supplier.rows.iter().find(|r| r.key == "SUP-A").unwrap();
    assert_eq!(minor(&a.spend), 32_000);
    assert_eq!(minor(&a.variance), 32_000 - 31_000);
    let b = by_supplier.rows.iter().find(|r| r.key == "SUP-B").unwrap();
    assert_eq!(minor(&b.spend), 50_500);
    assert_eq!(minor(&b.variance), 0);
    app.stop().await;
}
