//! The demo dealer's day through the eight real binaries, as the demo operator plays it: a batch
//! of three repairs decided by claims-review, its box of old parts received and inspected by the
//! warehouse clerk (one board works, one never came), a board shipped ahead of a defective one
//! from turnover stock, and a spare board ordered, shipped by logistics and billed on the
//! statement.

use std::time::Duration;

use aftersales_mesh::operator::DEMO_DEALER;
use aftersales_platform::auth::Role;

use crate::harness::{at_head_office, items, shared, until};

const WITHIN: Duration = Duration::from_secs(180);

#[tokio::test]
async fn the_demo_dealers_day_reaches_its_statement_its_box_its_exchange_and_its_order() {
    let op = shared().operator.clone();
    let deadline = std::time::Instant::now() + WITHIN;
    while op.actions().done.get("dealer_day").copied().unwrap_or(0) == 0 {
        let a = op.actions();
        assert!(
            std::time::Instant::now() < deadline,
            "the demo dealer's day: not within {WITHIN:?}; the operator's last error ({} failed calls): {}",
            a.failed,
            a.last_error
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    // The no-fault verdict reaches claims-review by the bus: the charge-back follows; the
    // order's shipment notice bills the parts.
    let statement = until(
        "the dealer's statement with its charge-back and its shipped order",
        WITHIN,
        || {
            let reviewer = at_head_office("e2e-dealer-reviewer", Role::Reviewer);
            let path = format!("/v1/dealers/{DEMO_DEALER}/statements/{month}");
            async move {
                let s = reviewer.get(&path).await.ok()?.json;
                let kinds: Vec<&str> = s["entries"]
                    .as_array()?
                    .iter()
                    .filter_map(|e| e["kind"].as_str())
                    .collect();
                (kinds.contains(&"claim")
                    && kinds.contains(&"charge_back")
                    && kinds.contains(&"parts_order"))
                .then_some(s.clone())
            }
        },
    )
    .await;
    assert!(
        statement["claims_total"]["amount_minor"]
            .as_i64()
            .unwrap_or(0)
            > 0,
        "{statement}"
    );
    assert!(
        statement["old_parts_returned"].as_u64().unwrap_or(0) >= 2,
        "{statement}"
    );
    // The order's board at least (the exchange's board ships too, once logistics had it).
    assert!(
        statement["parts_shipped"].as_u64().unwrap_or(0) >= 1,
        "{statement}"
    );
    assert!(
        statement["parts_orders_total"]["amount_minor"]
            .as_i64()
            .unwrap_or(0)
            > 0,
        "{statement}"
    );
    let clerk = at_head_office("e2e-dealer-clerk", Role::Warehouse);
    let exchanges = items(
        clerk
            .get(&format!("/v1/advance-exchanges?dealer_code={DEMO_DEALER}"))
            .await
            .expect("list exchanges"),
    );
    assert!(
        exchanges
            .iter()
            .any(|x| x["status"] == "outstanding" && x["part_no"] == "PWR-55-01"),
        "{exchanges:?}"
    );
    println!(
        "e2e: demo dealer {DEMO_DEALER}: {} statement entries, net {}, {} exchange(s), {} part(s) shipped",
        statement["entries"].as_array().map_or(0, Vec::len),
        statement["net"]["amount_minor"],
        exchanges.len(),
        statement["parts_shipped"]
    );
}
