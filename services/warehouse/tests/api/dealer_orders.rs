//! Dealers' parts orders: every line issued at once out of its part's zone (ISSUE ledger rows,
//! valued at the catalogue's unit cost) or nothing at all, announced once as a consignment
//! (`warehouse.consignment.issued`), replayed by its idempotency key; a dealer orders for itself
//! and reads its own orders only. An advance exchange's good unit is announced the same way.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::clock::Clock;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::testing::{self, TestService};
use prost::Message;
use sea_orm::TransactionTrait;
use tokio::sync::mpsc::UnboundedReceiver;
use tonic::Code;
use warehouse::domain::Urgency;
use warehouse::service::ReserveOutcome;

use crate::helpers::{
    Client, TestApp, assert_books_balance, receive_and_pass, reserve_command, ship_to, spawn_app,
    spawn_app_with, stock, violations, zone,
};

const DEALER: &str = "D-SH-0001";
/// An ordinary part at 123.45 CNY a unit: issued from QUALIFIED.
const BOARD: &str = "PWR-55-01";
const BOARD_COST: i64 = 12_345;
/// A valuable part at 800.00 CNY a unit: issued from VALUABLES.
const PANEL: &str = "PNL-55-01";
const PANEL_COST: i64 = 80_000;
const CONSIGNMENTS: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.consignment.issued'";
const ORDER_ROWS: &str =
    "SELECT count(*)::bigint FROM ledger WHERE reference_type = 'dealer_order'";
const ORDERS: &str = "SELECT count(*)::bigint FROM dealer_orders";

/// BOARD with `boards` units in QUALIFIED and PANEL with `panels` units in VALUABLES.
async fn arrange(app: &TestApp, boards: u32, panels: u32) -> Client {
    let mut clerk = app.clerk().await;
    for (part_no, name, cost, valuable, qty) in [
        (BOARD, "Power board", BOARD_COST, false, boards),
        (PANEL, "Display panel", PANEL_COST, true, panels),
    ] {
        let mut part = warehouse::demo::demo_part(part_no, name, pb::PartClass::Unit, cost);
        part.valuable = valuable;
        clerk
            .upsert_part(pb::UpsertPartRequest { part: Some(part) })
            .await
            .unwrap();
        if qty > 0 {
            receive_and_pass(&mut clerk, part_no, qty).await;
        }
    }
    clerk
}

async fn dealer(app: &TestApp, code: &str) -> Client {
    app.client_with(&testing::dealer_token("dealer-1", "SH01", code))
        .await
}

fn order(key: &str, lines: &[(&str, u32)]) -> pb::CreateDealerOrderRequest {
    pb::CreateDealerOrderRequest {
        idempotency_key: key.into(),
        dealer_code: DEALER.into(),
        branch: "SH01".into(),
        lines: lines
            .iter()
            .map(|(p, q)| pb::DealerOrderLine {
                part_no: (*p).into(),
                quantity: *q,
                ..Default::default()
            })
            .collect(),
        ship_to: Some(ship_to()),
        dealer_reference: "PO-7781".into(),
    }
}

async fn next_consignment(
    rx: &mut UnboundedReceiver<EventEnvelope>,
) -> (EventEnvelope, pb::ConsignmentIssued) {
    let env = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("consignment.issued published")
        .unwrap();
    let e = pb::ConsignmentIssued::decode(env.payload.as_slice()).unwrap();
    (env, e)
}

#[tokio::test]
async fn an_order_of_two_lines_issues_exactly_those_quantities_and_announces_one_consignment_with_its_value()
 {
    // Arrange
    let app = spawn_app().await;
    let mut consignments = app.subscribe("warehouse.consignment.issued").await;
    let mut clerk = arrange(&app, 10, 3).await;
    let mut own = dealer(&app, DEALER).await;

    // Act
    let created = own
        .create_dealer_order(order("do-1", &[(BOARD, 4), (PANEL, 2)]))
        .await
        .unwrap()
        .into_inner();

    // Assert: the order, its zones and its value (4 x 123.45 + 2 x 800.00).
    let value = 4 * 12_345 + 2 * 80_000;
    assert_eq!(value, 209_380);
    assert!(!created.replayed);
    let o = created.order.unwrap();
    let hex = o.order_id.strip_prefix("DO-").expect("DO- prefix");
    assert_eq!(hex.len(), 32, "{}", o.order_id);
    assert!(
        hex.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{}",
        o.order_id
    );
    assert_eq!(
        (
            o.dealer_code.as_str(),
            o.branch.as_str(),
            o.created_by.as_str()
        ),
        (DEALER, "SH01", "dealer-1")
    );
    assert_eq!(
        o.lines
            .iter()
            .map(|l| (
                l.part_no.as_str(),
                l.quantity,
                l.zone,
                l.unit_cost.as_ref().unwrap().amount_minor
            ))
            .collect::<Vec<_>>(),
        [
            (BOARD, 4, pb::Zone::Qualified as i32, BOARD_COST),
            (PANEL, 2, pb::Zone::Valuables as i32, PANEL_COST)
        ]
    );
    let v = o.value.clone().unwrap();
    assert_eq!((v.currency.as_str(), v.amount_minor), ("CNY", value));

    // One ISSUE row per line, referring to the order; stock down by exactly that.
    assert_eq!(app.count(ORDER_ROWS).await, 2);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM ledger WHERE kind = 'ISSUE' \
             AND reference_type = 'dealer_order' AND reference_id = '{}' AND ( \
               (part_no = '{BOARD}' AND zone = 'QUALIFIED' AND quantity = -4) OR \
               (part_no = '{PANEL}' AND zone = 'VALUABLES' AND quantity = -2))",
            o.order_id
        ))
        .await,
        2
    );
    assert_eq!(
        zone(&stock(&mut clerk, BOARD).await, pb::Zone::Qualified).on_hand,
        6
    );
    assert_eq!(
        zone(&stock(&mut clerk, PANEL).await, pb::Zone::Valuables).on_hand,
        1
    );

    // Exactly one consignment, about the order, for the dealer's branch.
    assert_eq!(app.count(CONSIGNMENTS).await, 1);
    let (env, e) = next_consignment(&mut consignments).await;
    assert_eq!(
        (env.subject.as_str(), env.branch.as_str()),
        (o.order_id.as_str(), "SH01")
    );
    assert_eq!(e.consignment_id, o.order_id);
    assert_eq!(e.kind, common::ConsignmentKind::DealerOrder as i32);
    assert_eq!(
        (
            e.dealer_code.as_str(),
            e.branch.as_str(),
            e.dealer_reference.as_str()
        ),
        (DEALER, "SH01", "PO-7781")
    );
    assert_eq!(e.urgency, common::Urgency::Normal as i32);
    assert_eq!(e.ship_to, Some(ship_to()));
    assert_eq!(
        e.lines,
        [
            pb::PickLine {
                part_no: BOARD.into(),
                quantity: 4,
                zone: pb::Zone::Qualified as i32
            },
            pb::PickLine {
                part_no: PANEL.into(),
                quantity: 2,
                zone: pb::Zone::Valuables as i32
            }
        ]
    );
    let ev = e.value.unwrap();
    assert_eq!((ev.currency.as_str(), ev.amount_minor), ("CNY", value));
    assert_eq!(e.issued_at, o.issued_at);

    // The order reads back as it was answered: to the dealer and head office, not elsewhere.
    let get = || pb::GetDealerOrderRequest {
        order_id: o.order_id.clone(),
    };
    let read = own.get_dealer_order(get()).await.unwrap().into_inner();
    assert_eq!(read.order.as_ref(), Some(&o));
    let mut reviewer = app.as_role("*", Role::Reviewer).await;
    assert_eq!(
        reviewer
            .get_dealer_order(get())
            .await
            .unwrap()
            .into_inner()
            .order,
        Some(o.clone())
    );
    let mut same_branch = app.as_role("SH01", Role::Reviewer).await;
    assert!(same_branch.get_dealer_order(get()).await.is_ok());
    let mut elsewhere = app.as_role("BJ01", Role::Reviewer).await;
    let err = elsewhere.get_dealer_order(get()).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn the_same_key_answers_the_first_order_and_another_order_under_it_is_refused() {
    // Arrange: one order placed.
    let app = spawn_app().await;
    let mut clerk = arrange(&app, 10, 3).await;
    let mut own = dealer(&app, DEALER).await;
    let first = own
        .create_dealer_order(order("do-1", &[(BOARD, 4), (PANEL, 2)]))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();

    // Act: the same order again under its key, then another order under it.
    let again = own
        .create_dealer_order(order("do-1", &[(BOARD, 4), (PANEL, 2)]))
        .await
        .unwrap()
        .into_inner();
    let other = own
        .create_dealer_order(order("do-1", &[(BOARD, 5)]))
        .await
        .unwrap_err();

    // Assert: the first answer, nothing issued or announced a second time.
    assert!(again.replayed);
    assert_eq!(again.order, Some(first));
    assert_eq!(other.code(), Code::AlreadyExists, "{other:?}");
    assert_eq!(app.count(ORDERS).await, 1);
    assert_eq!(app.count(ORDER_ROWS).await, 2);
    assert_eq!(app.count(CONSIGNMENTS).await, 1);
    assert_eq!(
        zone(&stock(&mut clerk, BOARD).await, pb::Zone::Qualified).on_hand,
        6
    );
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_short_line_refuses_the_whole_order_naming_that_line_and_issues_nothing() {
    // Arrange: 10 boards, 1 panel.
    let app = spawn_app().await;
    let mut clerk = arrange(&app, 10, 1).await;
    let mut own = dealer(&app, DEALER).await;
    let ledger_rows = app.count("SELECT count(*)::bigint FROM ledger").await;

    // Act: 4 boards (there are) and 2 panels (there is 1).
    let err = own
        .create_dealer_order(order("do-1", &[(BOARD, 4), (PANEL, 2)]))
        .await
        .unwrap_err();

    // Assert
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains("lines[1].part_no"),
        "{}",
        err.message()
    );
    assert!(!err.message().contains("lines[0]"), "{}", err.message());
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM ledger").await,
        ledger_rows,
        "nothing was issued"
    );
    let s = stock(&mut clerk, BOARD).await;
    assert_eq!(zone(&s, pb::Zone::Qualified).on_hand, 10, "the boards stay");
    assert_eq!(
        zone(&stock(&mut clerk, PANEL).await, pb::Zone::Valuables).on_hand,
        1
    );
    assert_eq!(app.count(ORDERS).await, 0);
    assert_eq!(app.count(CONSIGNMENTS).await, 0);

    // The key was not used up: the order that fits goes through under it.
    let ok = own
        .create_dealer_order(order("do-1", &[(BOARD, 4), (PANEL, 1)]))
        .await
        .unwrap()
        .into_inner();
    assert!(!ok.replayed);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn every_bad_field_of_an_order_is_named_at_once_and_nothing_is_written() {
    let app = spawn_app().await;
    let mut clerk = arrange(&app, 10, 3).await;
    let ledger = "SELECT count(*)::bigint FROM ledger";
    let rows = app.count(ledger).await;

    // A missing dealer code, a zero quantity, an unknown part, a part twice, an address short.
    let mut bad = order(
        "do-1",
        &[
            (BOARD, 0),
            ("NOPE-1", 1),
            (PANEL, 1),
            (PANEL, 2),
            (BOARD, 1001),
        ],
    );
    bad.dealer_code = String::new();
    bad.ship_to = Some(common::Address {
        address: "  ".into(),
        ..ship_to()
    });
    let err = clerk.create_dealer_order(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let v = violations(&err);
    for f in [
        "dealer_code",
        "lines[0].quantity",
        "lines[1].part_no",
        "lines[3].part_no",
        "lines[4].quantity",
        "ship_to.address",
    ] {
        assert!(v.contains_key(f), "{f} not named: {v:?}");
    }
    assert!(
        v["lines[1].part_no"].contains("not in the catalogue"),
        "{v:?}"
    );
    assert!(v["lines[3].part_no"].contains("lines[2]"), "{v:?}");
    assert!(!v.contains_key("lines[2].part_no"), "{v:?}");
    // lines[4] repeats lines[0]'s part too.
    assert!(v["lines[4].part_no"].contains("lines[0]"), "{v:?}");

    // No lines, no branch, no address at all.
    let err = clerk
        .create_dealer_order(pb::CreateDealerOrderRequest {
            lines: vec![],
            branch: String::new(),
            ship_to: None,
            ..order("do-2", &[])
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = violations(&err);
    for f in ["lines", "branch", "ship_to"] {
        assert!(v.contains_key(f), "{f} not named: {v:?}");
    }

    // Only an unknown part (everything else well-formed): named by the catalogue's check.
    let err = clerk
        .create_dealer_order(order("do-3", &[(BOARD, 1), ("NOPE-2", 1)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = violations(&err);
    assert_eq!(v.keys().collect::<Vec<_>>(), ["lines[1].part_no"], "{v:?}");

    // Too many lines.
    let many: Vec<String> = (0..51).map(|i| format!("X-{i}")).collect();
    let lines: Vec<(&str, u32)> = many.iter().map(|p| (p.as_str(), 1)).collect();
    let err = clerk
        .create_dealer_order(order("do-4", &lines))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err).contains_key("lines"), "{err:?}");

    // Nothing written.
    assert_eq!(app.count(ledger).await, rows);
    assert_eq!(app.count(ORDERS).await, 0);
    assert_eq!(app.count(CONSIGNMENTS).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_dealer_orders_for_itself_only_and_reads_only_its_own_orders() {
    // Arrange: an order of DEALER.
    let app = spawn_app().await;
    let _clerk = arrange(&app, 10, 3).await;
    let mut own = dealer(&app, DEALER).await;
    let mut other = dealer(&app, "D-SH-0002").await;
    let o = own
        .create_dealer_order(order("do-1", &[(BOARD, 1)]))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();

    // Act + Assert: another dealer may not order in DEALER's name, nor for another branch.
    let err = other
        .create_dealer_order(order("do-2", &[(BOARD, 1)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = own
        .create_dealer_order(pb::CreateDealerOrderRequest {
            branch: "BJ01".into(),
            ..order("do-3", &[(BOARD, 1)])
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // A branch's warehouse clerk does not issue the central warehouse's stock either.
    let mut branch_clerk = app.as_role("SH01", Role::Warehouse).await;
    let err = branch_clerk
        .create_dealer_order(order("do-4", &[(BOARD, 1)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(app.count(ORDERS).await, 1);
    assert_eq!(app.count(CONSIGNMENTS).await, 1);

    // Another dealer's order does not exist for it; an unknown one does not either.
    let err = other
        .get_dealer_order(pb::GetDealerOrderRequest {
            order_id: o.order_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let err = own
        .get_dealer_order(pb::GetDealerOrderRequest {
            order_id: "DO-0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let err = own
        .get_dealer_order(pb::GetDealerOrderRequest {
            order_id: "AX-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(violations(&err).contains_key("order_id"));
    app.stop().await;
}

#[tokio::test]
async fn concurrent_orders_for_the_last_units_never_drive_stock_negative() {
    // Arrange: 5 boards and 3 panels; 8 dealers' orders of one of each, at once.
    let app = spawn_app().await;
    let mut clerk = arrange(&app, 5, 3).await;
    let url = app.svc.grpc_url();

    // Act
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                let mut c =
                    crate::helpers::client_at(&url, &testing::dealer_token("d", "SH01", DEALER));
                c.create_dealer_order(order(&format!("do-{i}"), &[(PANEL, 1), (BOARD, 1)]))
                    .await
                    .map(|r| r.into_inner())
            })
        })
        .collect();
    let mut issued = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => issued += 1,
            Err(e) => assert!(
                matches!(e.code(), Code::FailedPrecondition | Code::Aborted),
                "{e:?}"
            ),
        }
    }

    // Assert: exactly the three panels went, each with its board and its consignment.
    assert_eq!(issued, 3);
    assert_eq!(
        zone(&stock(&mut clerk, PANEL).await, pb::Zone::Valuables).on_hand,
        0
    );
    assert_eq!(
        zone(&stock(&mut clerk, BOARD).await, pb::Zone::Qualified).on_hand,
        2
    );
    assert_eq!(app.count(ORDER_ROWS).await, 6);
    assert_eq!(app.count(CONSIGNMENTS).await, 3);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn an_advance_exchange_announces_its_good_unit_as_an_urgent_consignment_once() {
    // Arrange: 3 boards, 2 of them in TURNOVER.
    let app = spawn_app().await;
    let mut consignments = app.subscribe("warehouse.consignment.issued").await;
    let mut clerk = arrange(&app, 3, 0).await;
    clerk
        .transfer_to_turnover(pb::TransferToTurnoverRequest {
            idempotency_key: "tt-1".into(),
            part_no: BOARD.into(),
            quantity: 2,
            reason: "turnover stock for dealers".into(),
        })
        .await
        .unwrap();
    let mut own = dealer(&app, DEALER).await;
    let exchange = || pb::CreateAdvanceExchangeRequest {
        idempotency_key: "ax-1".into(),
        dealer_code: DEALER.into(),
        branch: "SH01".into(),
        part_no: BOARD.into(),
        quantity: 2,
        defective_serial: "DEF-1".into(),
        ship_to: Some(ship_to()),
        return_days: 0,
    };

    // Act: the exchange, and its replay.
    let x = own
        .create_advance_exchange(exchange())
        .await
        .unwrap()
        .into_inner()
        .exchange
        .unwrap();
    let again = own
        .create_advance_exchange(exchange())
        .await
        .unwrap()
        .into_inner();

    // Assert: one consignment, about the exchange, its value the charge (2 x 123.45).
    assert!(again.replayed);
    assert_eq!(app.count(CONSIGNMENTS).await, 1);
    let (env, e) = next_consignment(&mut consignments).await;
    assert_eq!(
        (env.subject.as_str(), env.branch.as_str()),
        (x.exchange_id.as_str(), "SH01")
    );
    assert_eq!(e.consignment_id, x.exchange_id);
    assert_eq!(e.kind, common::ConsignmentKind::AdvanceExchange as i32);
    assert_eq!(
        e.urgency,
        common::Urgency::Critical as i32,
        "the customer waits"
    );
    assert_eq!(
        (
            e.dealer_code.as_str(),
            e.branch.as_str(),
            e.dealer_reference.as_str()
        ),
        (DEALER, "SH01", "DEF-1")
    );
    assert_eq!(
        e.lines,
        [pb::PickLine {
            part_no: BOARD.into(),
            quantity: 2,
            zone: pb::Zone::Turnover as i32
        }]
    );
    let value = e.value.unwrap();
    assert_eq!(
        (value.currency.as_str(), value.amount_minor),
        ("CNY", 2 * 12_345)
    );
    assert_eq!(Some(value), x.charge);
    assert_eq!(e.issued_at, x.shipped_at);
    assert_eq!(e.ship_to, Some(ship_to()));
    app.stop().await;
}

#[tokio::test]
async fn units_reserved_for_customers_are_never_issued_to_a_dealer() {
    // Arrange: 3 boards, 2 of them held for a customer's request.
    let app = spawn_app().await;
    let mut clerk = arrange(&app, 3, 0).await;
    let w = app.warehouse();
    let txn = w.db.begin().await.unwrap();
    let held = w
        .reserve(
            &txn,
            &reserve_command("AS-2612-SH01-000001", Urgency::Normal, &[(BOARD, 2)]),
        )
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(held, ReserveOutcome::Confirmed);
    let mut own = dealer(&app, DEALER).await;

    // Act
    let err = own
        .create_dealer_order(order("do-1", &[(BOARD, 2)]))
        .await
        .unwrap_err();
    let one = own.create_dealer_order(order("do-2", &[(BOARD, 1)])).await;

    // Assert: only the unit nobody holds went.
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains("lines[0].part_no"),
        "{}",
        err.message()
    );
    assert!(one.is_ok(), "{one:?}");
    let s = stock(&mut clerk, BOARD).await;
    let q = zone(&s, pb::Zone::Qualified);
    assert_eq!((q.on_hand, q.reserved), (2, 2));
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn an_order_in_a_closed_period_is_refused_and_issues_nothing() {
    // Arrange: stock booked on 2026-11-30, November closed on 2026-12-01, and a clerk's clock
    // back on November 30th (a replica whose day has not turned yet).
    let nov_30 = chrono::DateTime::parse_from_rfc3339("2026-11-30T08:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let app = spawn_app_with(TestService::builder().clock(Clock::manual(nov_30))).await;
    let mut clerk = arrange(&app, 5, 0).await;
    app.svc.clock().set(nov_30 + chrono::Duration::days(1));
    clerk
        .close_period(pb::ClosePeriodRequest {
            period: "2026-11".into(),
        })
        .await
        .unwrap();
    app.svc.clock().set(nov_30);
    let mut own = dealer(&app, DEALER).await;

    // Act
    let err = own
        .create_dealer_order(order("do-1", &[(BOARD, 1)]))
        .await
        .unwrap_err();

    // Assert
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("2026-11"), "{}", err.message());
    assert_eq!(app.count(ORDERS).await, 0);
    assert_eq!(app.count(ORDER_ROWS).await, 0);
    assert_eq!(app.count(CONSIGNMENTS).await, 0);
    assert_eq!(
        zone(&stock(&mut clerk, BOARD).await, pb::Zone::Qualified).on_hand,
        5
    );
    app.stop().await;
}
