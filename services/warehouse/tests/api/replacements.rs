//! Replacements (`logistics.shipment.exception`): a shipment lost or damaged on the way has its
//! affected lines reserved again as the request's next pick list, `PL-<request no>-R<n>`,
//! confirmed with the shipment it replaces and the exception, or back-ordered when stock is
//! short; once per exception, however often it comes; never for a cancelled request, and a
//! cancellation gives back an open replacement with the rest. The books balance throughout.

use std::time::Duration;

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::proto::logistics::v1 as lg;
use aftersales_platform::proto::warehouse::v1 as pb;
use prost::Message;
use sea_orm::TransactionTrait;
use tokio::sync::mpsc;
use tonic::Code;
use warehouse::domain::{PickListId, RequestNo, Urgency};
use warehouse::service::IssueParts;

use crate::helpers::{
    Client, TestApp, approval, assert_books_balance, lines, receive_and_pass, reserve_command,
    ship_to, spawn_app, stock, stock_part,
};

const CONFIRMED: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.reservation.confirmed'";
const EXCEPTIONS_HANDLED: &str = "SELECT count(*)::bigint FROM processed_events \
     WHERE routing_key = 'logistics.shipment.exception'";
const CANCELLATIONS_HANDLED: &str = "SELECT count(*)::bigint FROM processed_events \
     WHERE routing_key = 'intake.request.cancelled'";
const REPLACEMENTS: &str = "SELECT count(*)::bigint FROM reservations WHERE replacement > 0";

/// The next envelope of `rx`, decoded.
async fn next<E: Message + Default>(rx: &mut mpsc::UnboundedReceiver<EventEnvelope>) -> E {
    let env = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("an event within 30 s")
        .expect("the subscription is open");
    E::decode(env.payload.as_slice()).unwrap()
}

/// Logistics reporting shipment `shipment_no` of `no` lost, asking for its lines again.
fn loss(
    no: &str,
    shipment_no: &str,
    exception_id: &str,
    parts: &[(&str, u32)],
) -> lg::ShipmentException {
    lg::ShipmentException {
        request_no: no.into(),
        branch: "SH01".into(),
        shipment_no: shipment_no.into(),
        exception_id: exception_id.into(),
        kind: lg::ExceptionKind::Loss as i32,
        detail: "lost in transit".into(),
        source: lg::ReportSource::Carrier as i32,
        affected_lines: parts
            .iter()
            .map(|(p, q)| common::PartLine {
                part_no: (*p).into(),
                quantity: *q,
            })
            .collect(),
        pick_list_id: format!("PL-{no}"),
        replacement_needed: true,
        urgency: common::Urgency::High as i32,
        ship_to: Some(common::Address {
            recipient: "Li Wei (neighbour)".into(),
            ..ship_to()
        }),
        ..Default::default()
    }
}

/// Issues pick list `id` as it stands, to `shipment_no`.
async fn issue(client: &mut Client, id: &str, shipment_no: &str) -> pb::PickList {
    let pick = client
        .get_pick_list(pb::GetPickListRequest {
            pick_list_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .pick_list
        .unwrap();
    client
        .issue_parts(pb::IssuePartsRequest {
            idempotency_key: format!("issue-{id}"),
            pick_list_id: id.into(),
            lines: pick
                .lines
                .iter()
                .map(|l| common::PartLine {
                    part_no: l.part_no.clone(),
                    quantity: l.quantity,
                })
                .collect(),
            shipment_no: shipment_no.into(),
            movement_date: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .pick_list
        .unwrap()
}

/// Approves `parts` for `no` and waits for its first pick list's confirmation.
async fn approved(
    app: &TestApp,
    confirmations: &mut mpsc::UnboundedReceiver<EventEnvelope>,
    no: &str,
    parts: &[(&str, u32)],
) -> pb::ReservationConfirmed {
    app.publish("claims", no, &approval(no, common::Urgency::Normal, parts))
        .await;
    let c: pb::ReservationConfirmed = next(confirmations).await;
    assert_eq!(c.pick_list_id, format!("PL-{no}"));
    c
}

#[tokio::test]
async fn a_lost_shipment_is_reserved_again_as_a_second_pick_list_that_replaces_it() {
    // Arrange: a request whose pick list was issued to a shipment.
    let app = spawn_app().await;
    let mut confirmations = app.subscribe("warehouse.reservation.confirmed").await;
    let mut issued = app.subscribe("warehouse.parts.issued").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 5).await;
    stock_part(&mut client, "RMT-01", false, 5).await;
    let no = "AS-2611-SH01-000401";
    let parts = [("PWR-55-01", 1), ("RMT-01", 2)];
    approved(&app, &mut confirmations, no, &parts).await;
    issue(&mut client, &format!("PL-{no}"), "SH-2611-000001").await;
    let first: pb::PartsIssued = next(&mut issued).await;
    assert_eq!(first.pick_list_id, format!("PL-{no}"));

    // Act: logistics reports the shipment lost.
    app.publish("logistics", no, &loss(no, "SH-2611-000001", "EX-1", &parts))
        .await;

    // Assert: a second pick list, confirmed as the lost shipment's replacement.
    let c: pb::ReservationConfirmed = next(&mut confirmations).await;
    assert_eq!(c.request_no, no);
    assert_eq!(c.pick_list_id, format!("PL-{no}-R1"));
    assert_eq!(c.replaces_shipment_no, "SH-2611-000001");
    assert_eq!(c.exception_id, "EX-1");
    assert_eq!(c.backorder_id, "");
    assert_eq!(
        c.urgency,
        common::Urgency::High as i32,
        "the exception's urgency"
    );
    assert_eq!(
        c.ship_to.unwrap().recipient,
        "Li Wei (neighbour)",
        "the exception's address"
    );
    assert_eq!(
        c.kind,
        common::RequestKind::Replacement as i32,
        "the request's kind"
    );
    let mut held: Vec<(String, u32)> = c
        .lines
        .iter()
        .map(|l| (l.part_no.clone(), l.quantity))
        .collect();
    held.sort();
    assert_eq!(
        held,
        [("PWR-55-01".to_owned(), 1), ("RMT-01".to_owned(), 2)]
    );
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved, s.available), (4, 1, 3));
    let first_list = client
        .get_pick_list(pb::GetPickListRequest {
            pick_list_id: format!("PL-{no}"),
        })
        .await
        .unwrap()
        .into_inner()
        .pick_list
        .unwrap();
    assert_eq!(
        first_list.status,
        pb::PickListStatus::Issued as i32,
        "the first stays issued"
    );

    // Act: the replacement leaves the warehouse against its own pick list.
    let replacement = issue(&mut client, &format!("pl-{no}-r1"), "SH-2611-000002").await;

    // Assert: issued under its own id, with the catalogue's name for the packing list; the
    // ledger shows both issues.
    assert_eq!(replacement.pick_list_id, format!("PL-{no}-R1"));
    assert_eq!(replacement.status, pb::PickListStatus::Issued as i32);
    let out: pb::PartsIssued = next(&mut issued).await;
    assert_eq!(out.pick_list_id, format!("PL-{no}-R1"));
    assert_eq!(out.shipment_no, "SH-2611-000002");
    assert!(
        out.lines.iter().all(|l| l.name == "Test part"),
        "{:?}",
        out.lines
    );
    let ledger = client
        .list_ledger(pb::ListLedgerRequest {
            request_no: no.into(),
            kinds: vec![pb::MovementKind::Issue as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let mut references: Vec<String> = ledger.iter().map(|e| e.reference_id.clone()).collect();
    references.sort();
    references.dedup();
    assert_eq!(references, [format!("PL-{no}"), format!("PL-{no}-R1")]);
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved), (3, 0));
    assert_eq!(stock(&mut client, "RMT-01").await.on_hand, 1);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn the_same_exception_delivered_twice_or_duplicated_reserves_one_replacement() {
    let app = spawn_app().await;
    let mut confirmations = app.subscribe("warehouse.reservation.confirmed").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 5).await;
    let no = "AS-2611-SH01-000402";
    approved(&app, &mut confirmations, no, &[("PWR-55-01", 1)]).await;
    issue(&mut client, &format!("PL-{no}"), "SH-1").await;

    // Act: the same message twice (a redelivery), then the same exception under a new event id
    // (logistics' relay re-sent it).
    let lost = loss(no, "SH-1", "EX-2", &[("PWR-55-01", 1)]);
    let id = uuid::Uuid::now_v7().to_string();
    app.publish_with_id(&id, "logistics", no, &lost).await;
    app.publish_with_id(&id, "logistics", no, &lost).await;
    app.publish("logistics", no, &lost).await;
    app.wait_count(EXCEPTIONS_HANDLED, 2).await;

    // Assert: one replacement.
    assert_eq!(app.count(REPLACEMENTS).await, 1);
    assert_eq!(
        app.count(CONFIRMED).await,
        2,
        "the first and one replacement"
    );
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved), (4, 1), "reserved once");

    // Act: the replacement is lost too: another exception, on the replacement's shipment.
    issue(&mut client, &format!("PL-{no}-R1"), "SH-2").await;
    app.publish(
        "logistics",
        no,
        &loss(no, "SH-2", "EX-3", &[("PWR-55-01", 1)]),
    )
    .await;

    // Assert: the next replacement is R2, replacing the replacement.
    let r1: pb::ReservationConfirmed = next(&mut confirmations).await;
    assert_eq!(r1.pick_list_id, format!("PL-{no}-R1"));
    let r2: pb::ReservationConfirmed = next(&mut confirmations).await;
    assert_eq!(r2.pick_list_id, format!("PL-{no}-R2"));
    assert_eq!(r2.replaces_shipment_no, "SH-2");
    assert_eq!(r2.exception_id, "EX-3");
    assert_eq!(app.count(REPLACEMENTS).await, 2);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

fn cancellation(no: &str) -> intake::RequestCancelled {
    intake::RequestCancelled {
        request_no: no.into(),
        branch: "SH01".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_exception_for_a_cancelled_request_reserves_nothing() {
    // Arrange: three cancelled requests: one whose pick list was released, one cancelled before
    // its approval (never reserved), one cancelled after its pick list was issued.
    let app = spawn_app().await;
    let mut confirmations = app.subscribe("warehouse.reservation.confirmed").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 5).await;
    let released = "AS-2611-SH01-000403";
    let never = "AS-2611-SH01-000404";
    let issued = "AS-2611-SH01-000407";
    approved(&app, &mut confirmations, released, &[("PWR-55-01", 2)]).await;
    approved(&app, &mut confirmations, issued, &[("PWR-55-01", 1)]).await;
    issue(&mut client, &format!("PL-{issued}"), "SH-7").await;
    for no in [released, never, issued] {
        app.publish("intake", no, &cancellation(no)).await;
    }
    app.wait_count(CANCELLATIONS_HANDLED, 3).await;

    // Act: an exception for each arrives after all.
    for (no, shipment) in [(released, "SH-1"), (never, "SH-9"), (issued, "SH-7")] {
        app.publish(
            "logistics",
            no,
            &loss(no, shipment, &format!("EX-{no}"), &[("PWR-55-01", 1)]),
        )
        .await;
    }
    app.wait_count(EXCEPTIONS_HANDLED, 3).await;

    // Assert: nothing reserved, nothing confirmed.
    assert_eq!(app.count(REPLACEMENTS).await, 0);
    assert_eq!(
        app.count(CONFIRMED).await,
        2,
        "only the first two, before the cancellations"
    );
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved), (4, 0));
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_replacement_short_of_stock_is_back_ordered_and_confirmed_when_stock_arrives() {
    let app = spawn_app().await;
    let mut confirmations = app.subscribe("warehouse.reservation.confirmed").await;
    let mut shortages = app.subscribe("warehouse.stock.shortage").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PNL-55-01", false, 1).await;
    let no = "AS-2611-SH01-000405";
    approved(&app, &mut confirmations, no, &[("PNL-55-01", 1)]).await;
    issue(&mut client, &format!("PL-{no}"), "SH-1").await;

    // Act: the panel arrives broken; the last one has left.
    let mut damaged = loss(no, "SH-1", "EX-6", &[("PNL-55-01", 1)]);
    damaged.kind = lg::ExceptionKind::Damage as i32;
    app.publish("logistics", no, &damaged).await;

    // Assert: back-ordered as the first reservation would be, under the replacement's id.
    let short: pb::StockShortage = next(&mut shortages).await;
    assert_eq!(short.backorder_id, format!("BO-{no}-R1"));
    assert_eq!(short.urgency, common::Urgency::High as i32);
    assert_eq!(
        (short.lines[0].part_no.as_str(), short.lines[0].missing),
        ("PNL-55-01", 1)
    );
    let open = client
        .list_backorders(pb::ListBackordersRequest {
            part_no: "PNL-55-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .backorders;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].backorder_id, format!("BO-{no}-R1"));
    assert_eq!(stock(&mut client, "PNL-55-01").await.backordered, 1);
    let not_yet = client
        .get_pick_list(pb::GetPickListRequest {
            pick_list_id: format!("PL-{no}-R1"),
        })
        .await
        .unwrap_err();
    assert_eq!(not_yet.code(), Code::NotFound);

    // Act: a panel arrives and passes inspection.
    receive_and_pass(&mut client, "PNL-55-01", 1).await;

    // Assert: the back-order is served as the replacement's pick list.
    let c: pb::ReservationConfirmed = next(&mut confirmations).await;
    assert_eq!(c.pick_list_id, format!("PL-{no}-R1"));
    assert_eq!(c.backorder_id, format!("BO-{no}-R1"));
    assert_eq!(c.replaces_shipment_no, "SH-1");
    assert_eq!(c.exception_id, "EX-6");
    let s = stock(&mut client, "PNL-55-01").await;
    assert_eq!((s.on_hand, s.reserved, s.backordered), (1, 1, 0));
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_cancellation_gives_back_an_open_replacement_and_its_pick_list_cannot_be_issued() {
    let app = spawn_app().await;
    let mut confirmations = app.subscribe("warehouse.reservation.confirmed").await;
    let mut released = app.subscribe("warehouse.reservation.released").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 2).await;
    let no = "AS-2611-SH01-000406";
    approved(&app, &mut confirmations, no, &[("PWR-55-01", 1)]).await;
    issue(&mut client, &format!("PL-{no}"), "SH-1").await;
    app.publish(
        "logistics",
        no,
        &loss(no, "SH-1", "EX-7", &[("PWR-55-01", 1)]),
    )
    .await;
    let c: pb::ReservationConfirmed = next(&mut confirmations).await;
    assert_eq!(c.pick_list_id, format!("PL-{no}-R1"));

    // Act: the request is cancelled before the replacement leaves.
    app.publish("intake", no, &cancellation(no)).await;

    // Assert: the replacement's unit goes back, once, under its pick list; the issued first
    // stays issued; the replacement's pick list cannot be issued.
    let r: pb::ReservationReleased = next(&mut released).await;
    assert_eq!(r.pick_list_id, format!("PL-{no}-R1"));
    assert_eq!(r.lines.len(), 1);
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved), (1, 0));
    let refused = client
        .issue_parts(pb::IssuePartsRequest {
            idempotency_key: "late".into(),
            pick_list_id: format!("PL-{no}-R1"),
            lines: vec![common::PartLine {
                part_no: "PWR-55-01".into(),
                quantity: 1,
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM reservations WHERE request_no = '{no}' AND status = 'ISSUED'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.reservation.released'")
            .await,
        1
    );
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

/// How a cancelled request's loss and cancellation reach the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// The loss handled, then the cancellation: the replacement is reserved, then given back.
    LossFirst,
    /// The cancellation handled, then the loss: no replacement.
    CancelFirst,
    /// Side by side, handled concurrently in either order.
    Together,
}

#[tokio::test]
async fn exceptions_and_cancellations_in_any_order_leave_nothing_held_for_the_cancelled_requests() {
    // Arrange: ten requests, each reserved and issued; nine will be cancelled.
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 30).await;
    let w = app.warehouse();
    let nos: Vec<String> = (0..10)
        .map(|i| format!("AS-2611-SH01-{:06}", 410 + i))
        .collect();
    for no in &nos {
        let txn = w.db.begin().await.unwrap();
        w.reserve(
            &txn,
            &reserve_command(no, Urgency::Normal, &[("PWR-55-01", 2)]),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
        w.issue(
            "clerk-1",
            IssueParts {
                pick_list: PickListId::first(RequestNo::parse(no).unwrap()),
                branch_scope: None,
                lines: lines(&[("PWR-55-01", 2)]),
                shipment_no: format!("SH-{no}"),
                movement_date: None,
            },
        )
        .await
        .unwrap();
    }
    let (kept, cancelled) = nos.split_last().unwrap();
    let order = |i: usize| [Order::LossFirst, Order::CancelFirst, Order::Together][i % 3];
    let lost = |no: &str| {
        loss(
            no,
            &format!("SH-{no}"),
            &format!("EX-{no}"),
            &[("PWR-55-01", 2)],
        )
    };

    // Act: each cancelled request's loss and cancellation in its order; the kept one's loss
    // beside them.
    let mut exceptions = 0;
    let mut cancellations = 0;
    for (i, no) in cancelled.iter().enumerate() {
        match order(i) {
            Order::LossFirst => {
                app.publish("logistics", no, &lost(no)).await;
                exceptions += 1;
                app.wait_count(EXCEPTIONS_HANDLED, exceptions).await;
                app.publish("intake", no, &cancellation(no)).await;
                cancellations += 1;
            }
            Order::CancelFirst => {
                app.publish("intake", no, &cancellation(no)).await;
                cancellations += 1;
                app.wait_count(CANCELLATIONS_HANDLED, cancellations).await;
                app.publish("logistics", no, &lost(no)).await;
                exceptions += 1;
            }
            Order::Together => {
                if i % 2 == 0 {
                    app.publish("logistics", no, &lost(no)).await;
                    app.publish("intake", no, &cancellation(no)).await;
                } else {
                    app.publish("intake", no, &cancellation(no)).await;
                    app.publish("logistics", no, &lost(no)).await;
                }
                exceptions += 1;
                cancellations += 1;
            }
        }
    }
    app.publish("logistics", kept, &lost(kept)).await;
    app.wait_count(EXCEPTIONS_HANDLED, exceptions + 1).await;
    app.wait_count(CANCELLATIONS_HANDLED, cancellations).await;

    // Assert: the cancelled requests hold nothing; a replacement reserved before its
    // cancellation was given back, once; the kept one holds its replacement.
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM reservations WHERE status IN ('CONFIRMED', 'BACKORDERED')"
        )
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM reservations WHERE request_no = '{kept}' \
             AND replacement = 1 AND status = 'CONFIRMED'"
        ))
        .await,
        1
    );
    for (i, no) in cancelled.iter().enumerate() {
        let replacements = app
            .count(&format!(
                "SELECT count(*)::bigint FROM reservations WHERE request_no = '{no}' AND replacement > 0"
            ))
            .await;
        match order(i) {
            Order::LossFirst => assert_eq!(replacements, 1, "{no}: reserved, then released"),
            Order::CancelFirst => {
                assert_eq!(replacements, 0, "{no}: reserved after its cancellation")
            }
            Order::Together => assert!(replacements <= 1),
        }
    }
    let released_replacements = app
        .count("SELECT count(*)::bigint FROM reservations WHERE replacement > 0 AND status = 'RELEASED'")
        .await;
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.reservation.released'"
        )
        .await,
        released_replacements,
        "one release per replacement given back, none otherwise"
    );
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved), (30 - 20, 2));
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}
