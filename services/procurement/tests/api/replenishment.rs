//! Low stock reordered up to the reorder point plus the lead-time demand.

use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::proto::warehouse::v1 as warehouse;

use crate::helpers::spawn_app;

const LOW: &str = "warehouse.stock.low";

fn low(part: &str, available: u32, reorder_point: u32) -> warehouse::StockLow {
    warehouse::StockLow {
        part_no: part.into(),
        name: "Remote control".into(),
        available,
        reorder_point,
        reorder_quantity: reorder_point * 2,
        ..Default::default()
    }
}

#[tokio::test]
async fn low_stock_is_ordered_up_to_the_reorder_point_plus_lead_time_demand_once() {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;

    // 3 left, reorder point 20, the policy's 2 a day over the quote's 3 working days: 20 + 6 - 3.
    app.publish("warehouse", "RMT-01", &low("RMT-01", 3, 20))
        .await;
    app.wait_settled(LOW, 1).await;
    let pos = app
        .buyer()
        .list_purchase_orders(pb::ListPurchaseOrdersRequest {
            part_no: "RMT-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .purchase_orders;
    assert_eq!(pos.len(), 1);
    assert_eq!(pos[0].reason, pb::PurchaseReason::Replenishment as i32);
    assert_eq!(pos[0].lines[0].quantity, 23);
    assert!(pos[0].request_nos.is_empty(), "for stock, no request");

    // The next crossing with the same stock finds it on order already.
    app.publish("warehouse", "RMT-01", &low("RMT-01", 3, 20))
        .await;
    app.wait_settled(LOW, 2).await;
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        1
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM po_lines").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_older_low_stock_signal_arriving_late_changes_nothing() {
    let app = spawn_app().await;
    app.register("SUP-A", &["PWR-55-01"]).await;
    app.quote("SUP-A", "PWR-55-01", 17_500, 5).await;
    // A newer signal of the part was handled already (sequence 5); this one is sequence 1.
    app.count(
        "WITH s AS (INSERT INTO part_signals (part_no, last_low_sequence, last_low_at) \
         VALUES ('PWR-55-01', 5, now()) RETURNING 1) SELECT count(*)::bigint FROM s",
    )
    .await;
    app.publish("warehouse", "PWR-55-01", &low("PWR-55-01", 1, 50))
        .await;
    app.wait_settled(LOW, 1).await;
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        0
    );
    app.stop().await;
}
