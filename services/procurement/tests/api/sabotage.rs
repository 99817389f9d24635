//! A broken dependency: the failure is reported and nothing is lost.

use std::time::Duration;

use aftersales_platform::bus::Replay;
use aftersales_platform::testing;
use sea_orm::ConnectionTrait;

use crate::helpers::{request_no, spawn_app};

#[tokio::test]
async fn a_shortage_that_cannot_be_recorded_is_parked_in_the_dlq_and_ordered_once_replayed() {
    // Arrange: the demands table is away.
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let db = &app.svc.db.as_ref().unwrap().conn;
    db.execute_unprepared("ALTER TABLE demands RENAME TO demands_broken")
        .await
        .unwrap();
    let no = request_no(9);

    // Act
    let id = app.shortage(&no, "RMT-01", 2).await;

    // Assert: retried, then dead-lettered with its error, nothing half-done.
    let bus = app.svc.bus_settings();
    let dead = testing::eventually(Duration::from_secs(60), || async {
        let letters = bus.dlq_list("procurement").await.ok()?;
        letters.into_iter().find(|l| l.event_id == id)
    })
    .await
    .expect("the shortage is parked in procurement.dlq");
    assert_eq!(dead.routing_key, "warehouse.stock.shortage");
    assert!(dead.error.contains("demands"), "{}", dead.error);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM requests").await,
        0,
        "rolled back whole"
    );

    // Repaired, the replayed shortage is ordered.
    db.execute_unprepared("ALTER TABLE demands_broken RENAME TO demands")
        .await
        .unwrap();
    bus.dlq_replay("procurement", &Replay::All).await.unwrap();
    let po = app.wait_po_of(&no).await;
    assert_eq!(po.lines[0].quantity, 2);
    app.stop().await;
}
