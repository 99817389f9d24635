//! Advance exchange from turnover stock: QUALIFIED units moved to TURNOVER, good units sent to a
//! dealer ahead of its defective one, the defective one received back, and the overdue scanner
//! on the kit's clock announcing an exchange not back by its deadline once, with its charge.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::clock::Clock;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::testing::{self, TestService};
use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::TransactionTrait;
use tonic::Code;
use warehouse::app::App;
use warehouse::domain::Urgency;
use warehouse::service::{OVERDUE_SCANNER, ReserveOutcome};

use crate::helpers::{
    Client, TestApp, assert_books_balance, reserve_command, ship_to, spawn_app_with, stock,
    violations, zone,
};

const DEALER: &str = "D-SH-0001";
const PART: &str = "PWR-55-01";
const OVERDUE: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.advance_exchange.overdue'";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The warehouse on a manual clock (Tuesday 2026-12-01 10:00 in Shanghai) whose overdue
/// scanner runs only when the test asks (or moves the clock).
async fn spawn() -> TestApp {
    spawn_app_with(
        TestService::builder()
            .clock(Clock::manual(at("2026-12-01T02:00:00Z")))
            .env(
                "AFTERSALES__WAREHOUSE__EXCHANGE_SCAN_INTERVAL_MS",
                "3600000",
            ),
    )
    .await
}

/// PART at 123.45 CNY a unit, `qualified` units passed, `turnover` of them moved to TURNOVER.
async fn arrange(app: &TestApp, qualified: u32, turnover: u32) -> Client {
    let mut client = app.clerk().await;
    client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(warehouse::demo::demo_part(
                PART,
                "Power board",
                pb::PartClass::Unit,
                12_345,
            )),
        })
        .await
        .unwrap();
    crate::helpers::receive_and_pass(&mut client, PART, qualified).await;
    let moved = client
        .transfer_to_turnover(pb::TransferToTurnoverRequest {
            idempotency_key: "tt-1".into(),
            part_no: PART.into(),
            quantity: turnover,
            reason: "turnover stock for dealers".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        moved
            .entries
            .iter()
            .map(|e| (e.zone, e.quantity))
            .collect::<Vec<_>>(),
        vec![
            (pb::Zone::Qualified as i32, -(turnover as i32)),
            (pb::Zone::Turnover as i32, turnover as i32)
        ]
    );
    client
}

fn exchange(key: &str, quantity: u32, serial: &str, days: u32) -> pb::CreateAdvanceExchangeRequest {
    pb::CreateAdvanceExchangeRequest {
        idempotency_key: key.into(),
        dealer_code: DEALER.into(),
        branch: "SH01".into(),
        part_no: PART.into(),
        quantity,
        defective_serial: serial.into(),
        ship_to: Some(ship_to()),
        return_days: days,
    }
}

fn back(id: &str, serial: &str) -> pb::ReceiveAdvanceExchangeReturnRequest {
    pb::ReceiveAdvanceExchangeReturnRequest {
        exchange_id: id.into(),
        serial: serial.into(),
        zone: pb::Zone::Unspecified as i32,
        note: String::new(),
    }
}

async fn dealer(app: &TestApp, code: &str) -> Client {
    app.client_with(&testing::dealer_token("dealer-1", "SH01", code))
        .await
}

#[tokio::test]
async fn an_exchange_not_back_by_its_deadline_is_announced_once_with_its_charge_and_a_returned_one_never()
 {
    // Arrange: 4 units in TURNOVER; a dealer gets 2 (due in the default 15 days) and 1 (5 days).
    let app = spawn().await;
    let mut overdue_events = app.subscribe("warehouse.advance_exchange.overdue").await;
    let mut clerk = arrange(&app, 5, 4).await;
    let mut own = dealer(&app, DEALER).await;
    let late = own
        .create_advance_exchange(exchange("ax-1", 2, "DEF-1", 0))
        .await
        .unwrap()
        .into_inner();
    let again = own
        .create_advance_exchange(exchange("ax-1", 2, "DEF-1", 0))
        .await
        .unwrap()
        .into_inner();
    let late = late.exchange.unwrap();
    assert!(again.replayed, "the same key ships once");
    let prompt = clerk
        .create_advance_exchange(exchange("ax-2", 1, "DEF-2", 5))
        .await
        .unwrap()
        .into_inner()
        .exchange
        .unwrap();
    let shipped = at("2026-12-01T02:00:00Z");
    assert_eq!(
        late.due_at.as_ref().unwrap().seconds,
        (shipped + chrono::Duration::days(15)).timestamp(),
        "return_days 0: the configured default of 15 days"
    );
    assert_eq!(late.status, pb::AdvanceExchangeStatus::Outstanding as i32);
    assert_eq!(late.charge.as_ref().unwrap().amount_minor, 24_690);
    let s = stock(&mut clerk, PART).await;
    assert_eq!(zone(&s, pb::Zone::Turnover).on_hand, 1, "4 - 2 - 1");
    assert_eq!(
        s.available, 1,
        "TURNOVER is not reservable: only QUALIFIED's unit"
    );

    // The prompt one comes back in time (its serial checked).
    let err = clerk
        .receive_advance_exchange_return(back(&prompt.exchange_id, "DEF-1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err).contains_key("serial"), "{err:?}");
    let returned = clerk
        .receive_advance_exchange_return(back(&prompt.exchange_id, "DEF-2"))
        .await
        .unwrap()
        .into_inner();
    assert!(!returned.was_overdue);
    assert_eq!(
        returned.exchange.unwrap().status,
        pb::AdvanceExchangeStatus::Returned as i32
    );

    // Act: one minute before the late one's deadline, nothing is due.
    app.svc
        .clock()
        .set(shipped + chrono::Duration::days(15) - chrono::Duration::minutes(1));
    app.svc.scan(OVERDUE_SCANNER).await;
    assert_eq!(app.count(OVERDUE).await, 0);

    // Past it: announced once, however often the scanner runs.
    app.svc.clock().set(shipped + chrono::Duration::days(16));
    app.svc.scan(OVERDUE_SCANNER).await;
    app.svc.scan(OVERDUE_SCANNER).await;
    app.svc.clock().advance(chrono::Duration::days(30));
    app.svc.scan(OVERDUE_SCANNER).await;

    // Assert: exactly one event, for the late one, charging 2 x 123.45.
    assert_eq!(app.count(OVERDUE).await, 1);
    let env = tokio::time::timeout(Duration::from_secs(30), overdue_events.recv())
        .await
        .expect("advance_exchange.overdue published")
        .unwrap();
    assert_eq!(
        (env.subject.as_str(), env.branch.as_str()),
        (late.exchange_id.as_str(), "SH01")
    );
    let e = pb::AdvanceExchangeOverdue::decode(env.payload.as_slice()).unwrap();
    assert_eq!(
        (
            e.dealer_code.as_str(),
            e.part_no.as_str(),
            e.quantity,
            e.defective_serial.as_str()
        ),
        (DEALER, PART, 2, "DEF-1")
    );
    let charge = e.charge.unwrap();
    assert_eq!(
        (charge.currency.as_str(), charge.amount_minor),
        ("CNY", 24_690)
    );
    let listed = own
        .list_advance_exchanges(pb::ListAdvanceExchangesRequest {
            overdue_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .exchanges;
    assert_eq!(
        listed
            .iter()
            .map(|x| x.exchange_id.as_str())
            .collect::<Vec<_>>(),
        [late.exchange_id.as_str()]
    );

    // The late unit still comes back: RETURNED, and said to be late; nothing announced again.
    let back_late = clerk
        .receive_advance_exchange_return(back(&late.exchange_id, "DEF-1"))
        .await
        .unwrap()
        .into_inner();
    assert!(back_late.was_overdue);
    let x = back_late.exchange.unwrap();
    assert_eq!(x.status, pb::AdvanceExchangeStatus::Returned as i32);
    assert!(x.returned_late);
    let twice = clerk
        .receive_advance_exchange_return(back(&late.exchange_id, "DEF-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        twice.exchange.unwrap(),
        x,
        "receiving it again changes nothing"
    );
    app.svc.scan(OVERDUE_SCANNER).await;
    assert_eq!(app.count(OVERDUE).await, 1);
    let s = stock(&mut clerk, PART).await;
    assert_eq!(
        zone(&s, pb::Zone::OldParts).on_hand,
        3,
        "both defective units are back"
    );
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn short_turnover_stock_is_refused_naming_the_part_and_customers_never_reserve_from_it() {
    // Arrange: 3 units, all moved to TURNOVER.
    let app = spawn().await;
    let mut clerk = arrange(&app, 3, 3).await;
    let ledger = "SELECT count(*)::bigint FROM ledger";
    let rows = app.count(ledger).await;

    // Act + Assert: more than TURNOVER holds is refused, naming the part, and nothing moves.
    let err = clerk
        .create_advance_exchange(exchange("ax-1", 4, "DEF-1", 0))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains(PART), "{}", err.message());
    let err = clerk
        .transfer_to_turnover(pb::TransferToTurnoverRequest {
            idempotency_key: "tt-2".into(),
            part_no: PART.into(),
            quantity: 1,
            reason: "more".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "QUALIFIED is empty");
    assert!(err.message().contains(PART), "{}", err.message());
    assert_eq!(app.count(ledger).await, rows, "nothing moved");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM advance_exchanges")
            .await,
        0
    );

    // Bad fields are named.
    let err = clerk
        .create_advance_exchange(pb::CreateAdvanceExchangeRequest {
            quantity: 0,
            defective_serial: String::new(),
            ship_to: None,
            ..exchange("ax-3", 1, "", 0)
        })
        .await
        .unwrap_err();
    let v = violations(&err);
    for f in ["quantity", "defective_serial", "ship_to.address"] {
        assert!(v.contains_key(f), "{f} not named: {v:?}");
    }

    // A customer's request finds nothing reservable: it is back-ordered, TURNOVER untouched.
    let w = app.warehouse();
    let txn = w.db.begin().await.unwrap();
    let outcome = w
        .reserve(
            &txn,
            &reserve_command("AS-2612-SH01-000001", Urgency::Critical, &[(PART, 1)]),
        )
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(outcome, ReserveOutcome::Backordered);
    let s = stock(&mut clerk, PART).await;
    assert_eq!(zone(&s, pb::Zone::Turnover).reserved, 0);
    assert_eq!(zone(&s, pb::Zone::Turnover).on_hand, 3);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_dealer_asks_exchanges_for_itself_only_and_lists_only_its_own() {
    let app = spawn().await;
    let _clerk = arrange(&app, 2, 2).await;
    let mut own = dealer(&app, DEALER).await;
    let mut other = dealer(&app, "D-SH-0002").await;

    let err = other
        .create_advance_exchange(exchange("ax-1", 1, "DEF-1", 0))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    own.create_advance_exchange(exchange("ax-1", 1, "DEF-1", 0))
        .await
        .unwrap();

    let list = |dealer_code: &str| pb::ListAdvanceExchangesRequest {
        dealer_code: dealer_code.into(),
        ..Default::default()
    };
    let n = |r: tonic::Response<pb::ListAdvanceExchangesResponse>| r.into_inner().exchanges.len();
    assert_eq!(n(own.list_advance_exchanges(list("")).await.unwrap()), 1);
    assert_eq!(n(other.list_advance_exchanges(list("")).await.unwrap()), 0);
    assert_eq!(
        n(other.list_advance_exchanges(list(DEALER)).await.unwrap()),
        0,
        "another dealer's exchanges are not listed, even when asked for"
    );
    let mut reviewer = app.as_role("*", Role::Reviewer).await;
    assert_eq!(
        n(reviewer.list_advance_exchanges(list(DEALER)).await.unwrap()),
        1
    );
    let mut elsewhere = app.as_role("BJ01", Role::Reviewer).await;
    assert_eq!(
        n(elsewhere.list_advance_exchanges(list("")).await.unwrap()),
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn two_replicas_scanning_one_overdue_exchange_at_the_same_moment_announce_it_once() {
    // Arrange: one exchange, and a second instance on the same database and broker names.
    let first = spawn().await;
    let mut clerk = arrange(&first, 1, 1).await;
    let x = clerk
        .create_advance_exchange(exchange("ax-1", 1, "DEF-1", 3))
        .await
        .unwrap()
        .into_inner()
        .exchange
        .unwrap();
    let second = TestService::<App>::builder()
        .clock(Clock::manual(first.svc.clock().now()))
        .env(
            "AFTERSALES__WAREHOUSE__EXCHANGE_SCAN_INTERVAL_MS",
            "3600000",
        )
        .bus(&first.svc.bus)
        .database_url(&first.svc.database_url())
        .start()
        .await;
    let past = at("2026-12-01T02:00:00Z") + chrono::Duration::days(4);

    // Act: both clocks pass the deadline and both scan at once, then again.
    first.svc.clock().set(past);
    second.clock().set(past);
    let (a, b) = tokio::join!(
        first.svc.try_scan(OVERDUE_SCANNER),
        second.try_scan(OVERDUE_SCANNER)
    );
    first.svc.scan(OVERDUE_SCANNER).await;
    second.scan(OVERDUE_SCANNER).await;

    // Assert
    assert!(
        a.unwrap_or(0) + b.unwrap_or(0) <= 1,
        "at most one of the concurrent scans handled it: {a:?} {b:?}"
    );
    assert_eq!(
        first
            .count(&format!(
                "SELECT count(*)::bigint FROM outbox WHERE routing_key = \
                 'warehouse.advance_exchange.overdue' AND subject = '{}'",
                x.exchange_id
            ))
            .await,
        1
    );
    second.stop().await;
    first.stop().await;
}
