use std::sync::Arc;

use sea_orm::TransactionTrait;
use tokio::sync::Barrier;
use warehouse::domain::Urgency;
use warehouse::service::ReserveOutcome;

use crate::helpers::{assert_books_balance, reserve_command, spawn_app, stock, stock_part};

#[tokio::test]
async fn fifty_parallel_reservations_for_ten_units_confirm_exactly_ten_and_back_order_forty() {
    // Arrange: 10 units of one part in QUALIFIED.
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "CONC-1", false, 10).await;
    let warehouse = app.warehouse();
    let barrier = Arc::new(Barrier::new(50));

    // Act: 50 requests for one unit each, each reserved in its own transaction, all at once.
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let warehouse = warehouse.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                // Sequences start at 1: 000000 is not a tracking number.
                let cmd = reserve_command(
                    &format!("AS-2611-SH01-{:06}", i + 1),
                    Urgency::Normal,
                    &[("CONC-1", 1)],
                );
                barrier.wait().await;
                let txn = warehouse.db.begin().await.expect("begin");
                let outcome = warehouse.reserve(&txn, &cmd).await.expect("reserve");
                txn.commit().await.expect("commit");
                outcome
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }

    // Assert
    let confirmed = outcomes
        .iter()
        .filter(|o| **o == ReserveOutcome::Confirmed)
        .count();
    let backordered = outcomes
        .iter()
        .filter(|o| **o == ReserveOutcome::Backordered)
        .count();
    assert_eq!((confirmed, backordered), (10, 40));
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM reservations WHERE status = 'CONFIRMED'")
            .await,
        10
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM reservations WHERE status = 'BACKORDERED'")
            .await,
        40
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.reservation.confirmed'")
            .await,
        10
    );
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.stock.shortage'"
        )
        .await,
        40
    );
    let s = stock(&mut client, "CONC-1").await;
    assert_eq!(
        (s.on_hand, s.reserved, s.available, s.backordered),
        (10, 10, 0, 40)
    );
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}
