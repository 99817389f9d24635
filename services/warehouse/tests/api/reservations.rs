use std::time::Duration;

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::testing::{self, TestService};
use prost::Message;
use sea_orm::ConnectionTrait;

use crate::helpers::{
    Client, approval, assert_books_balance, receive_and_pass, ship_to, spawn_app, spawn_app_with,
    stock, stock_part,
};

const CONFIRMED: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.reservation.confirmed'";

async fn backorders(client: &mut Client, part_no: &str) -> Vec<pb::Backorder> {
    client
        .list_backorders(pb::ListBackordersRequest {
            part_no: part_no.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .backorders
}

#[tokio::test]
async fn an_approved_claim_with_stock_gets_a_pick_list_and_a_confirmation() {
    let app = spawn_app().await;
    let mut events = app.subscribe("warehouse.reservation.confirmed").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 5).await;

    app.publish(
        "claims",
        "AS-2611-SH01-000001",
        &approval(
            "AS-2611-SH01-000001",
            common::Urgency::High,
            &[("PWR-55-01", 2)],
        ),
    )
    .await;

    let env = tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("confirmation published")
        .unwrap();
    let c = pb::ReservationConfirmed::decode(env.payload.as_slice()).unwrap();
    assert_eq!(c.request_no, "AS-2611-SH01-000001");
    assert_eq!(c.pick_list_id, "PL-AS-2611-SH01-000001");
    assert_eq!(c.lines.len(), 1);
    assert_eq!(c.lines[0].quantity, 2);
    assert_eq!(c.lines[0].zone, pb::Zone::Qualified as i32);
    assert_eq!(c.urgency, common::Urgency::High as i32);
    assert_eq!(c.ship_to.unwrap().recipient, "Li Wei");
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved, s.available), (5, 2, 3));
    let pick = client
        .get_pick_list(pb::GetPickListRequest {
            pick_list_id: c.pick_list_id,
        })
        .await
        .unwrap()
        .into_inner()
        .pick_list
        .unwrap();
    assert_eq!(pick.status, pb::PickListStatus::Open as i32);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_redelivered_claim_approved_reserves_once() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 5).await;
    let approved = approval(
        "AS-2611-SH01-000002",
        common::Urgency::Normal,
        &[("PWR-55-01", 2)],
    );

    // The same message twice (broker redelivery) and the same approval under a new event id.
    let id = uuid::Uuid::now_v7().to_string();
    app.publish_with_id(&id, "claims", "AS-2611-SH01-000002", &approved)
        .await;
    app.publish_with_id(&id, "claims", "AS-2611-SH01-000002", &approved)
        .await;
    app.publish("claims", "AS-2611-SH01-000002", &approved)
        .await;
    app.wait_count(
        "SELECT count(*)::bigint FROM processed_events WHERE routing_key = 'claims.claim.approved'",
        2,
    )
    .await;

    assert_eq!(app.count(CONFIRMED).await, 1);
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.reserved, s.available), (2, 3), "reserved once");
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_short_request_is_back_ordered_with_the_missing_quantities_and_served_after_receipt() {
    let app = spawn_app().await;
    let mut shortages = app.subscribe("warehouse.stock.shortage").await;
    let mut confirmations = app.subscribe("warehouse.reservation.confirmed").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PNL-55-01", false, 1).await;
    stock_part(&mut client, "RMT-01", false, 0).await;

    app.publish(
        "claims",
        "AS-2611-SH01-000003",
        &approval(
            "AS-2611-SH01-000003",
            common::Urgency::Normal,
            &[("PNL-55-01", 1), ("RMT-01", 2)],
        ),
    )
    .await;
    let env = tokio::time::timeout(Duration::from_secs(30), shortages.recv())
        .await
        .expect("shortage published")
        .unwrap();
    let short = pb::StockShortage::decode(env.payload.as_slice()).unwrap();
    assert_eq!(short.backorder_id, "BO-AS-2611-SH01-000003");
    assert!(!short.partially_reserved, "all or nothing holds nothing");
    assert_eq!(short.lines.len(), 1, "only the line with something missing");
    assert_eq!(
        (short.lines[0].part_no.as_str(), short.lines[0].missing),
        ("RMT-01", 2)
    );
    assert_eq!(stock(&mut client, "PNL-55-01").await.reserved, 0);
    let open = backorders(&mut client, "RMT-01").await;
    assert_eq!(open.len(), 1);
    assert_eq!(stock(&mut client, "RMT-01").await.backordered, 2);

    // Stock arrives and passes inspection: the back-order is served.
    receive_and_pass(&mut client, "RMT-01", 5).await;
    let env = tokio::time::timeout(Duration::from_secs(30), confirmations.recv())
        .await
        .expect("confirmation published")
        .unwrap();
    let c = pb::ReservationConfirmed::decode(env.payload.as_slice()).unwrap();
    assert_eq!(c.backorder_id, "BO-AS-2611-SH01-000003");
    assert_eq!(c.lines.len(), 2);
    assert!(backorders(&mut client, "RMT-01").await.is_empty());
    let s = stock(&mut client, "RMT-01").await;
    assert_eq!((s.on_hand, s.reserved, s.backordered), (5, 2, 0));
    assert_eq!(stock(&mut client, "PNL-55-01").await.reserved, 1);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn back_orders_are_served_most_urgent_first_then_oldest_first() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "RMT-01", false, 0).await;
    for (no, urgency) in [
        ("AS-2611-SH01-000011", common::Urgency::Normal),
        ("AS-2611-SH01-000012", common::Urgency::Normal),
        ("AS-2611-SH01-000013", common::Urgency::Critical),
    ] {
        app.publish("claims", no, &approval(no, urgency, &[("RMT-01", 1)]))
            .await;
        app.wait_count(
            &format!("SELECT count(*)::bigint FROM reservations WHERE request_no = '{no}'"),
            1,
        )
        .await;
    }
    let order: Vec<String> = backorders(&mut client, "RMT-01")
        .await
        .into_iter()
        .map(|b| b.request_no)
        .collect();
    assert_eq!(
        order,
        [
            "AS-2611-SH01-000013",
            "AS-2611-SH01-000011",
            "AS-2611-SH01-000012"
        ]
    );

    receive_and_pass(&mut client, "RMT-01", 2).await;

    let still_open: Vec<String> = backorders(&mut client, "RMT-01")
        .await
        .into_iter()
        .map(|b| b.request_no)
        .collect();
    assert_eq!(still_open, ["AS-2611-SH01-000012"]);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_cancelled_request_releases_its_units_to_the_next_back_order() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 1).await;
    for no in ["AS-2611-SH01-000021", "AS-2611-SH01-000022"] {
        app.publish(
            "claims",
            no,
            &approval(no, common::Urgency::Normal, &[("PWR-55-01", 1)]),
        )
        .await;
        app.wait_count(
            &format!("SELECT count(*)::bigint FROM reservations WHERE request_no = '{no}'"),
            1,
        )
        .await;
    }
    assert_eq!(app.count(CONFIRMED).await, 1);

    let cancelled = intake::RequestCancelled {
        request_no: "AS-2611-SH01-000021".into(),
        branch: "SH01".into(),
        reason: "customer fixed it".into(),
        ..Default::default()
    };
    app.publish("intake", "AS-2611-SH01-000021", &cancelled)
        .await;
    app.wait_count(CONFIRMED, 2).await;

    let released = client
        .get_pick_list(pb::GetPickListRequest {
            pick_list_id: "PL-AS-2611-SH01-000021".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .pick_list
        .unwrap();
    assert_eq!(released.status, pb::PickListStatus::Cancelled as i32);
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved, s.backordered), (1, 1, 0));
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

/// A return is refunded: its approval ships nothing out (the unit comes back by a door pick-up),
/// while an exchange's approval reserves the good unit as any replacement does.
#[tokio::test]
async fn an_approved_return_reserves_nothing_and_an_exchange_reserves_its_unit() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 3).await;
    let (ret, exchange) = ("AS-2611-SH01-000041", "AS-2611-SH01-000042");
    let mut approved = approval(ret, common::Urgency::Normal, &[("PWR-55-01", 1)]);
    approved.kind = common::RequestKind::Return as i32;
    app.publish("claims", ret, &approved).await;
    app.wait_count("SELECT count(*)::bigint FROM processed_events", 1)
        .await;
    assert_eq!(app.count(CONFIRMED).await, 0);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM reservations").await,
        0
    );
    assert_eq!(stock(&mut client, "PWR-55-01").await.reserved, 0);
    let mut approved = approval(exchange, common::Urgency::Normal, &[("PWR-55-01", 1)]);
    approved.kind = common::RequestKind::Exchange as i32;
    app.publish("claims", exchange, &approved).await;
    app.wait_count(CONFIRMED, 1).await;
    assert_eq!(stock(&mut client, "PWR-55-01").await.reserved, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_approval_arriving_after_the_cancellation_reserves_nothing() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 3).await;
    let no = "AS-2611-SH01-000031";
    app.publish(
        "intake",
        no,
        &intake::RequestCancelled {
            request_no: no.into(),
            branch: "SH01".into(),
            ..Default::default()
        },
    )
    .await;
    app.wait_count("SELECT count(*)::bigint FROM processed_events", 1)
        .await;
    app.publish(
        "claims",
        no,
        &approval(no, common::Urgency::Normal, &[("PWR-55-01", 1)]),
    )
    .await;
    app.wait_count("SELECT count(*)::bigint FROM processed_events", 2)
        .await;
    assert_eq!(app.count(CONFIRMED).await, 0);
    assert_eq!(stock(&mut client, "PWR-55-01").await.reserved, 0);
    app.stop().await;
}

#[tokio::test]
async fn with_partial_reservations_the_available_units_are_held_and_the_rest_back_ordered() {
    let app = spawn_app_with(
        TestService::builder().env("AFTERSALES__WAREHOUSE__PARTIAL_RESERVATIONS", "true"),
    )
    .await;
    let mut shortages = app.subscribe("warehouse.stock.shortage").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PNL-55-01", false, 2).await;
    let no = "AS-2611-SH01-000041";
    app.publish(
        "claims",
        no,
        &approval(no, common::Urgency::Normal, &[("PNL-55-01", 5)]),
    )
    .await;
    let env = tokio::time::timeout(Duration::from_secs(30), shortages.recv())
        .await
        .expect("shortage published")
        .unwrap();
    let short = pb::StockShortage::decode(env.payload.as_slice()).unwrap();
    assert!(short.partially_reserved);
    assert_eq!((short.lines[0].reserved, short.lines[0].missing), (2, 3));
    let s = stock(&mut client, "PNL-55-01").await;
    assert_eq!((s.reserved, s.available, s.backordered), (2, 0, 3));

    receive_and_pass(&mut client, "PNL-55-01", 3).await;
    app.wait_count(CONFIRMED, 1).await;
    let s = stock(&mut client, "PNL-55-01").await;
    assert_eq!((s.on_hand, s.reserved, s.backordered), (5, 5, 0));
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn stock_low_fires_once_per_crossing_of_the_reorder_point() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(crate::helpers::part("LOW-1", false, 5)),
        })
        .await
        .unwrap();
    const LOW: &str =
        "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.stock.low'";
    // A new part starts below its point without crossing it: no alert.
    assert_eq!(app.count(LOW).await, 0);
    receive_and_pass(&mut client, "LOW-1", 8).await;
    assert_eq!(app.count(LOW).await, 0, "rising re-arms, it does not fire");
    for (i, n) in [(1, 2), (2, 1), (3, 1)] {
        let no = format!("AS-2611-SH01-00005{i}");
        app.publish(
            "claims",
            &no,
            &approval(&no, common::Urgency::Normal, &[("LOW-1", n)]),
        )
        .await;
        app.wait_count(
            &format!("SELECT count(*)::bigint FROM reservations WHERE request_no = '{no}'"),
            1,
        )
        .await;
    }
    // 8 → 6 → 5 → 4: crossed once, below the point.
    assert_eq!(app.count(LOW).await, 1);
    let env = app
        .count("SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.stock.low' AND subject = 'LOW-1'")
        .await;
    assert_eq!(env, 1);

    // Back to 6 (a cancellation re-arms), then down to 3: the second crossing fires again.
    app.publish(
        "intake",
        "AS-2611-SH01-000051",
        &intake::RequestCancelled {
            request_no: "AS-2611-SH01-000051".into(),
            branch: "SH01".into(),
            ..Default::default()
        },
    )
    .await;
    app.wait_count(
        "SELECT count(*)::bigint FROM reservations WHERE status = 'RELEASED'",
        1,
    )
    .await;
    assert_eq!(app.count(LOW).await, 1);
    let no = "AS-2611-SH01-000059";
    app.publish(
        "claims",
        no,
        &approval(no, common::Urgency::Normal, &[("LOW-1", 3)]),
    )
    .await;
    app.wait_count(LOW, 2).await;
    app.stop().await;
}

#[tokio::test]
async fn a_new_reservation_keeps_its_address_as_json_and_one_stored_as_protobuf_bytes_still_ships()
{
    let app = spawn_app().await;
    let mut confirmations = app.subscribe("warehouse.reservation.confirmed").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "RMT-01", false, 0).await;
    // Arrange: a back-order written before migration 5, its address an encoded common.Address.
    let legacy = "AS-2611-SH01-000061";
    let bytes: String = ship_to()
        .encode_to_vec()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    app.db
        .conn
        .execute_unprepared(&format!(
            "INSERT INTO reservations (request_no, branch, urgency, urgency_rank, kind, ship_to, \
             onsite_required, status, backordered_at) VALUES ('{legacy}', 'SH01', 'NORMAL', 1, 1, \
             decode('{bytes}', 'hex'), false, 'BACKORDERED', now()); \
             INSERT INTO reservation_lines (request_no, part_no, zone, requested) \
             VALUES ('{legacy}', 'RMT-01', 'QUALIFIED', 1)"
        ))
        .await
        .unwrap();
    let fresh = "AS-2611-SH01-000062";
    app.publish(
        "claims",
        fresh,
        &approval(fresh, common::Urgency::Normal, &[("RMT-01", 1)]),
    )
    .await;
    app.wait_count(
        &format!("SELECT count(*)::bigint FROM reservations WHERE request_no = '{fresh}'"),
        1,
    )
    .await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM reservations WHERE request_no = '{fresh}' \
             AND ship_to IS NULL AND ship_to_json->>'recipient' = 'Li Wei' \
             AND ship_to_json->>'region' = 'URBAN'"
        ))
        .await,
        1,
        "a new row writes only JSON"
    );

    // Act: stock arrives for both.
    receive_and_pass(&mut client, "RMT-01", 2).await;

    // Assert: both confirmations carry the address.
    let mut shipped = Vec::new();
    for _ in 0..2 {
        let env = tokio::time::timeout(Duration::from_secs(30), confirmations.recv())
            .await
            .expect("confirmation published")
            .unwrap();
        let c = pb::ReservationConfirmed::decode(env.payload.as_slice()).unwrap();
        assert_eq!(c.ship_to, Some(ship_to()), "{}", c.request_no);
        assert_eq!(c.kind, common::RequestKind::Replacement as i32);
        shipped.push(c.request_no);
    }
    shipped.sort();
    assert_eq!(shipped, [legacy, fresh]);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn an_approval_with_a_bad_part_number_is_dead_lettered_and_the_next_is_still_reserved() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 1).await;

    let bad = "AS-2611-SH01-000081";
    app.publish(
        "claims",
        bad,
        &approval(bad, common::Urgency::Normal, &[("PWR 55/01", 1)]),
    )
    .await;
    let good = "AS-2611-SH01-000082";
    app.publish(
        "claims",
        good,
        &approval(good, common::Urgency::Normal, &[("pwr-55-01", 1)]),
    )
    .await;

    app.wait_count(CONFIRMED, 1).await;
    let bus = app.svc.bus_settings();
    let dead = testing::eventually(Duration::from_secs(30), || {
        let bus = bus.clone();
        async move {
            let letters = bus.dlq_list("warehouse").await.ok()?;
            (!letters.is_empty()).then_some(letters)
        }
    })
    .await
    .expect("the bad approval reached the DLQ");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].subject, bad);
    assert!(
        dead[0].error.contains("lines[0].part_no"),
        "{}",
        dead[0].error
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM reservations WHERE request_no = '{bad}'"
        ))
        .await,
        0
    );
    assert_eq!(stock(&mut client, "PWR-55-01").await.reserved, 1);
    app.stop().await;
}
