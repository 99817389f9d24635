use sea_orm::{ConnectionTrait, TransactionTrait};
use warehouse::domain::Urgency;

use crate::helpers::{assert_books_balance, reserve_command, spawn_app, stock, stock_part};

#[tokio::test]
async fn the_database_itself_refuses_negative_stock_over_reservation_and_ledger_edits() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 3).await;
    let db = &app.db.conn;

    for sql in [
        "UPDATE stock_levels SET on_hand = -1 WHERE part_no = 'PWR-55-01' AND zone = 'QUALIFIED'",
        "UPDATE stock_levels SET reserved = 4 WHERE part_no = 'PWR-55-01' AND zone = 'QUALIFIED'",
        "UPDATE ledger SET quantity = 100",
        "DELETE FROM ledger",
    ] {
        let err = db.execute_unprepared(sql).await;
        assert!(err.is_err(), "{sql} was accepted");
    }

    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved), (3, 0));
    assert_books_balance(db).await;
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_whose_transaction_fails_leaves_nothing_behind() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 3).await;
    let w = app.warehouse();
    // Break the outbox: staging the confirmation fails inside the reservation's transaction.
    app.db
        .conn
        .execute_unprepared("ALTER TABLE outbox RENAME TO outbox_broken")
        .await
        .unwrap();

    let txn = w.db.begin().await.unwrap();
    let cmd = reserve_command("AS-2611-SH01-000900", Urgency::Normal, &[("PWR-55-01", 2)]);
    let r = w.reserve(&txn, &cmd).await;
    assert!(r.is_err(), "the failure is reported");
    drop(txn);
    app.db
        .conn
        .execute_unprepared("ALTER TABLE outbox_broken RENAME TO outbox")
        .await
        .unwrap();

    assert_eq!(
        app.count("SELECT count(*)::bigint FROM reservations").await,
        0
    );
    assert_eq!(stock(&mut client, "PWR-55-01").await.reserved, 0);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}
