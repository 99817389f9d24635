//! Dealers' consignments: `warehouse.consignment.issued` is shipped at once with a waybill and
//! announced once (`logistics.consignment.dispatched`), however often it arrives; it never
//! becomes a request's shipment; a bad one is dead-lettered; a dealer reads only its own.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::logistics::v1 as pb;
use aftersales_platform::proto::warehouse::v1 as wh;
use aftersales_platform::testing;
use tokio::sync::mpsc;
use tonic::Code;

use crate::helpers::{
    TestApp, consignment, decode, next_event, order_id, spawn_app, until_sentinel,
};

const DISPATCHED: &str = "logistics.consignment.dispatched";

fn get(id: &str) -> pb::GetConsignmentRequest {
    pb::GetConsignmentRequest {
        consignment_id: id.into(),
    }
}

/// Head office's dispatcher (a reader of consignments).
fn dispatcher(app: &TestApp) -> crate::helpers::Client {
    app.client_with(&testing::token("disp-1", "*", &[Role::Dispatcher]))
}

/// Every event on `rx` up to a sentinel, once logistics has published all it staged: "nothing
/// more came" without sleeping.
async fn everything_published(
    app: &TestApp,
    rx: &mut mpsc::UnboundedReceiver<EventEnvelope>,
) -> Vec<EventEnvelope> {
    app.wait_count(
        "SELECT count(*)::bigint FROM outbox WHERE published_at IS NULL",
        0,
    )
    .await;
    let sentinel = order_id();
    app.svc
        .publish(
            "logistics",
            &sentinel,
            "SH01",
            &pb::ConsignmentDispatched {
                consignment_id: sentinel.clone(),
                ..Default::default()
            },
        )
        .await;
    until_sentinel(rx, &sentinel).await
}

#[tokio::test]
async fn a_dealer_order_is_dispatched_with_a_waybill_and_one_shipment_notice() {
    let app = spawn_app().await;
    let mut rx = app.subscribe("logistics.#").await;
    let id = order_id();
    let mut issued = consignment(&id, "D-SH-0001", "SH01", &[("PWR-55-01", 2), ("RMT-01", 1)]);
    issued.lines[0].zone = wh::Zone::Valuables as i32;

    app.publish_consignment(&issued).await;

    let env = next_event(&mut rx, DISPATCHED, &id).await;
    assert_eq!(env.branch, "SH01");
    let notice: pb::ConsignmentDispatched = decode(&env);
    assert_eq!(notice.consignment_id, id);
    assert_eq!(notice.kind, common::ConsignmentKind::DealerOrder as i32);
    assert_eq!(notice.dealer_code, "D-SH-0001");
    assert_eq!(notice.branch, "SH01");
    assert!(
        notice.shipment_no.starts_with("CS-2611-"),
        "{}",
        notice.shipment_no
    );
    assert_eq!(notice.carrier, "sim");
    assert_eq!(notice.waybill_no, format!("SIM-{}", notice.shipment_no));
    assert_ne!(notice.method, pb::DeliveryMethod::Unspecified as i32);
    let lines: Vec<(String, u32)> = notice
        .lines
        .iter()
        .map(|l| (l.part_no.clone(), l.quantity))
        .collect();
    assert_eq!(
        lines,
        [("PWR-55-01".to_owned(), 2), ("RMT-01".to_owned(), 1)]
    );
    assert_eq!(notice.value, issued.value);
    assert_eq!(notice.dealer_reference, "PO-7781");
    assert_eq!(
        notice.ship_to.as_ref().unwrap().address,
        "12 Dealer Road, Minhang, Shanghai"
    );
    assert!(notice.eta.is_some() && notice.dispatched_at.is_some());
    assert!(notice.estimated_cost.unwrap().amount_minor > 0);
    // The valuable line travels insured at its declared value.
    assert_eq!(
        app.count("SELECT insured_value_minor FROM consignments")
            .await,
        90_000
    );

    // Read back as the dealer: dispatched, the same waybill.
    let read = app
        .dealer("SH01", "D-SH-0001")
        .get_consignment(get(&id))
        .await
        .unwrap()
        .into_inner()
        .consignment
        .unwrap();
    assert_eq!(read.status, pb::ConsignmentStatus::Dispatched as i32);
    assert_eq!(read.shipment_no, notice.shipment_no);
    assert_eq!(read.waybill_no, notice.waybill_no);
    assert_eq!(read.carrier, notice.carrier);
    assert_eq!(read.method, notice.method);
    assert!(!read.method_reason.is_empty());
    assert_eq!(read.lines, notice.lines);
    assert_eq!(read.value, issued.value);

    // Exactly one notice.
    let rest = everything_published(&app, &mut rx).await;
    assert!(
        rest.iter()
            .all(|e| !(e.routing_key == DISPATCHED && e.subject == id)),
        "a second notice: {rest:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_same_consignment_delivered_again_or_under_a_new_event_id_ships_once() {
    let app = spawn_app().await;
    let mut rx = app.subscribe("logistics.#").await;
    let id = order_id();
    let issued = consignment(&id, "D-SH-0001", "SH01", &[("PWR-55-01", 1), ("RMT-01", 4)]);
    let event_id = uuid::Uuid::now_v7().to_string();

    for _ in 0..3 {
        app.publish_consignment_with_id(&event_id, &issued).await;
    }
    app.publish_consignment(&issued).await;

    // Every one of the four deliveries finished.
    testing::eventually(Duration::from_secs(30), || async {
        (app.deliveries_finished() >= 4).then_some(())
    })
    .await
    .expect("the four deliveries are handled");
    app.wait_processed("warehouse.consignment.issued", 2).await;
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM consignments").await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = '{DISPATCHED}'"
        ))
        .await,
        1
    );
    // The repeat took no shipment number either.
    assert_eq!(
        app.count("SELECT last FROM number_sequences WHERE prefix = 'CS'")
            .await,
        1
    );
    let notices = everything_published(&app, &mut rx)
        .await
        .into_iter()
        .filter(|e| e.routing_key == DISPATCHED && e.subject == id)
        .count();
    assert_eq!(notices, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_urgent_advance_exchange_takes_the_fastest_method() {
    let app = spawn_app().await;
    let exchange = consignment(
        &format!("AE-{}", uuid::Uuid::new_v4().simple()),
        "D-SH-0001",
        "SH01",
        &[("PWR-55-01", 1)],
    );
    let urgent = wh::ConsignmentIssued {
        kind: common::ConsignmentKind::AdvanceExchange as i32,
        // The rate table's urgent level (`urgent = ["critical"]`).
        urgency: common::Urgency::Critical as i32,
        dealer_reference: "SN-X55-0042".into(),
        ..exchange
    };
    let normal = consignment(&order_id(), "D-SH-0001", "SH01", &[("PWR-55-01", 1)]);

    app.publish_consignment(&urgent).await;
    app.publish_consignment(&normal).await;
    app.wait_processed("warehouse.consignment.issued", 2).await;

    let mut reader = dispatcher(&app);
    let fast = reader
        .get_consignment(get(&urgent.consignment_id))
        .await
        .unwrap()
        .into_inner()
        .consignment
        .unwrap();
    assert_eq!(fast.kind, common::ConsignmentKind::AdvanceExchange as i32);
    // Urban: the special vehicle arrives the same day.
    assert_eq!(fast.method, pb::DeliveryMethod::SpecialVehicle as i32);
    assert!(
        fast.method_reason.contains("Urgent (critical)"),
        "{}",
        fast.method_reason
    );
    assert_eq!(fast.dealer_reference, "SN-X55-0042");
    let slow = reader
        .get_consignment(get(&normal.consignment_id))
        .await
        .unwrap()
        .into_inner()
        .consignment
        .unwrap();
    assert_ne!(
        slow.method, fast.method,
        "a normal order goes the cheaper way"
    );
    assert!(
        fast.eta.unwrap().seconds < slow.eta.unwrap().seconds,
        "the urgent one arrives first"
    );
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM consignments \
             WHERE method_rule = 'urgent_fastest' AND urgency = 'CRITICAL'"
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn a_consignment_without_id_address_or_lines_is_dead_lettered_and_writes_nothing() {
    let app = spawn_app().await;
    let mut bad = consignment("", "D-SH-0001", "SH01", &[]);
    bad.ship_to = Some(common::Address {
        branch: "SH01".into(),
        ..Default::default()
    });

    app.svc.publish("warehouse", "no-id", "SH01", &bad).await;

    let dead = testing::eventually(Duration::from_secs(30), || async {
        let d = app.svc.bus_settings().dlq_list("logistics").await.ok()?;
        (!d.is_empty()).then_some(d)
    })
    .await
    .expect("dead-lettered");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].routing_key, "warehouse.consignment.issued");
    for field in ["consignment_id", "ship_to.address", "lines"] {
        assert!(dead[0].error.contains(field), "{field}: {}", dead[0].error);
    }
    assert_eq!(
        app.count(
            "SELECT (SELECT count(*) FROM consignments) + (SELECT count(*) FROM outbox) \
             + (SELECT count(*) FROM number_sequences) + (SELECT count(*) FROM processed_events)"
        )
        .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_consignment_is_no_request_and_publishes_no_shipment_event() {
    let app = spawn_app().await;
    let mut rx = app.subscribe("logistics.#").await;
    let id = order_id();

    app.publish_consignment(&consignment(
        &id,
        "D-SH-0001",
        "SH01",
        &[("PWR-55-01", 1), ("PNL-55-01", 1)],
    ))
    .await;
    next_event(&mut rx, DISPATCHED, &id).await;

    assert_eq!(
        app.count(
            "SELECT (SELECT count(*) FROM shipments) + (SELECT count(*) FROM requests) \
             + (SELECT count(*) FROM pending_issues) + (SELECT count(*) FROM pickups) \
             + (SELECT count(*) FROM sim_schedule)"
        )
        .await,
        0
    );
    let others: Vec<String> = everything_published(&app, &mut rx)
        .await
        .into_iter()
        .map(|e| e.routing_key)
        .filter(|k| k != DISPATCHED)
        .collect();
    assert!(others.is_empty(), "{others:?}");
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key LIKE 'logistics.shipment.%'"
        )
        .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_dealer_reads_its_own_consignment_and_not_another_dealers() {
    let app = spawn_app().await;
    let id = order_id();
    app.publish_consignment(&consignment(&id, "D-SH-0001", "SH01", &[("RMT-01", 2)]))
        .await;
    app.wait_processed("warehouse.consignment.issued", 1).await;

    let own = app
        .dealer("SH01", "D-SH-0001")
        .get_consignment(get(&id))
        .await
        .unwrap()
        .into_inner()
        .consignment
        .unwrap();
    assert_eq!(own.dealer_code, "D-SH-0001");

    let other = app
        .dealer("SH01", "D-SH-0002")
        .get_consignment(get(&id))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    let unknown = app
        .dealer("SH01", "D-SH-0001")
        .get_consignment(get(&order_id()))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // Staff: the dealer's branch sees it, another branch does not, a role without business
    // with consignments is refused.
    let reviewer =
        |branch: &str| app.client_with(&testing::token("rev-1", branch, &[Role::Reviewer]));
    assert!(reviewer("SH01").get_consignment(get(&id)).await.is_ok());
    assert_eq!(
        reviewer("BJ02")
            .get_consignment(get(&id))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        app.agent("SH01")
            .get_consignment(get(&id))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let blank = dispatcher(&app)
        .get_consignment(get(" "))
        .await
        .unwrap_err();
    assert_eq!(blank.code(), Code::InvalidArgument);
    app.stop().await;
}
