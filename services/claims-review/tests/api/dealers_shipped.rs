//! Goods shipped to dealers (issue 23, `logistics.consignment.dispatched`) against the real
//! Postgres and RabbitMQ: a parts order billed with the dealer's parts margin on the month it
//! shipped and every unit counted, once however often the event arrives; a shipment dated in an
//! issued month goes on the next open one; bad events are dead-lettered and write nothing.

use std::collections::HashMap;
use std::time::Duration;

use aftersales_platform::bus;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as logistics;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use aftersales_platform::testing;
use lapin::options::BasicGetOptions;

use crate::dealers::{PLAIN_LINE, SCANNER, at, minor, register, repair, spawn, unique};
use crate::helpers::{TestApp, prost_timestamp};

// Hand-computed: the warehouse's value 1 000.00 plus the contract's 10 % parts margin.
const ORDER_VALUE: i64 = 100_000;
const ORDER_OWED: i64 = 110_000;

fn cny(amount_minor: i64) -> Option<common::Money> {
    Some(common::Money {
        currency: "CNY".into(),
        amount_minor,
    })
}

fn lines(quantities: &[u32]) -> Vec<common::PartLine> {
    quantities
        .iter()
        .enumerate()
        .map(|(i, q)| common::PartLine {
            part_no: format!("PART-{i:02}"),
            quantity: *q,
        })
        .collect()
}

/// The dealer's parts order `id` handed to the carrier at `dispatched`.
fn order(
    dealer: &str,
    id: &str,
    dispatched: &str,
    value: i64,
    quantities: &[u32],
) -> logistics::ConsignmentDispatched {
    logistics::ConsignmentDispatched {
        consignment_id: id.into(),
        kind: common::ConsignmentKind::DealerOrder as i32,
        dealer_code: dealer.into(),
        branch: "SH01".into(),
        shipment_no: "CS-2611-000042".into(),
        waybill_no: "SF100200300".into(),
        carrier: "SF Express".into(),
        lines: lines(quantities),
        value: cny(value),
        dispatched_at: Some(prost_timestamp(at(dispatched))),
        dealer_reference: "PO-77".into(),
        ..Default::default()
    }
}

/// The good unit(s) of an advance exchange handed to the carrier at `dispatched`.
fn exchange(
    dealer: &str,
    id: &str,
    dispatched: &str,
    quantity: u32,
) -> logistics::ConsignmentDispatched {
    logistics::ConsignmentDispatched {
        kind: common::ConsignmentKind::AdvanceExchange as i32,
        value: cny(80_000),
        dealer_reference: "PNL-BAD-1".into(),
        ..order(dealer, id, dispatched, 0, &[quantity])
    }
}

async fn publish(app: &TestApp, ev: &logistics::ConsignmentDispatched) -> String {
    app.publish(&ev.consignment_id, "SH01", ev).await
}

/// Waits until `id` is recorded.
async fn recorded(app: &TestApp, id: &str) {
    app.svc
        .wait_count(
            &format!(
                "SELECT count(*)::bigint FROM dealer_consignments WHERE consignment_id = '{id}'"
            ),
            1,
        )
        .await;
}

async fn statement(app: &TestApp, code: &str, period: &str) -> pb::Statement {
    app.reviewer("hq")
        .await
        .get_statement(pb::GetStatementRequest {
            dealer_code: code.into(),
            period: period.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap()
}

fn kinds(s: &pb::Statement) -> Vec<pb::StatementEntryKind> {
    s.entries.iter().map(|e| e.kind()).collect()
}

#[tokio::test]
async fn a_dealers_order_is_billed_with_its_parts_margin_and_every_unit_shipped_is_counted() {
    // Arrange: a claim line and an overdue exchange on November, so all three totals count.
    let app = spawn("2026-11-10T02:00:00Z").await;
    let code = register(&app, "SH01", 30).await;
    let mut dealer = app
        .client_with(&testing::dealer_token("dealer-1", "SH01", &code))
        .await;
    dealer
        .submit_dealer_batch(pb::SubmitDealerBatchRequest {
            dealer_code: code.clone(),
            lines: vec![repair(&unique("SN"), "2026-06-01", "2026-11-05", 45)],
            idempotency_key: "b1".into(),
        })
        .await
        .unwrap();
    let overdue = warehouse::AdvanceExchangeOverdue {
        exchange_id: unique("AX-"),
        dealer_code: code.clone(),
        branch: "SH01".into(),
        part_no: "PNL-55-01".into(),
        quantity: 1,
        defective_serial: "PNL-BAD-0".into(),
        shipped_at: None,
        due_at: None,
        charge: cny(20_000),
    };
    app.publish(&overdue.exchange_id, "SH01", &overdue).await;
    app.svc
        .wait_count(
            &format!(
                "SELECT count(*)::bigint FROM dealer_entries WHERE reference = '{}'",
                overdue.exchange_id
            ),
            1,
        )
        .await;

    // Act: an order of 2 + 3 units shipped on November 10th, an exchange's unit on the 12th.
    let ordered = order(
        &code,
        &unique("DO-"),
        "2026-11-10T06:00:00Z",
        ORDER_VALUE,
        &[2, 3],
    );
    publish(&app, &ordered).await;
    recorded(&app, &ordered.consignment_id).await;
    let sent = exchange(&code, &unique("AX-"), "2026-11-12T06:00:00Z", 1);
    publish(&app, &sent).await;
    recorded(&app, &sent.consignment_id).await;

    // Assert
    let november = statement(&app, &code, "2026-11").await;
    assert_eq!(november.status(), pb::StatementStatus::Open);
    assert_eq!(
        kinds(&november),
        vec![
            pb::StatementEntryKind::Claim,
            pb::StatementEntryKind::AdvanceExchangeOverdue,
            pb::StatementEntryKind::PartsOrder,
        ]
    );
    let parts = &november.entries[2];
    assert_eq!(parts.reference, ordered.consignment_id);
    assert_eq!(minor(&parts.amount), -ORDER_OWED, "owed by the dealer");
    assert_eq!(parts.at, ordered.dispatched_at);
    assert_eq!(minor(&november.claims_total), PLAIN_LINE);
    assert_eq!(minor(&november.charges_total), 20_000);
    assert_eq!(minor(&november.parts_orders_total), ORDER_OWED);
    assert_eq!(minor(&november.net), PLAIN_LINE - 20_000 - ORDER_OWED);
    assert_eq!(november.parts_shipped, 2 + 3 + 1);
    assert_eq!(november.new_parts_sent, 1, "the claim line's part only");
    app.stop().await;
}

#[tokio::test]
async fn a_shipment_delivered_again_or_replayed_under_another_event_id_counts_once() {
    // Arrange
    let app = spawn("2026-11-10T02:00:00Z").await;
    let code = register(&app, "SH01", 30).await;
    let ordered = order(
        &code,
        &unique("DO-"),
        "2026-11-10T06:00:00Z",
        ORDER_VALUE,
        &[4],
    );
    let id = uuid::Uuid::now_v7().to_string();
    let inbox = app.bus().topology.inbox("claims-review");
    let duplicates = testing::consumer_count(&inbox, "duplicate");

    // Act: the same event three times, then the same consignment under a new event id.
    for _ in 0..3 {
        app.publish_with_id(&id, &ordered.consignment_id, "SH01", &ordered)
            .await;
    }
    let replay = publish(&app, &ordered).await;

    // Assert: both events handled, the redeliveries seen as duplicates, one effect.
    app.svc
        .wait_count(
            &format!(
                "SELECT count(*)::bigint FROM processed_events WHERE event_id::text IN ('{id}', '{replay}')"
            ),
            2,
        )
        .await;
    testing::eventually(Duration::from_secs(30), || async {
        (testing::consumer_count(&inbox, "duplicate") >= duplicates + 2).then_some(())
    })
    .await
    .expect("the two redeliveries handled as duplicates");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM dealer_consignments")
            .await,
        1
    );
    let november = statement(&app, &code, "2026-11").await;
    assert_eq!(kinds(&november), vec![pb::StatementEntryKind::PartsOrder]);
    assert_eq!(minor(&november.parts_orders_total), ORDER_OWED);
    assert_eq!(november.parts_shipped, 4);
    app.stop().await;
}

#[tokio::test]
async fn a_shipment_dated_in_an_issued_month_goes_on_the_next_open_one_and_the_issued_one_never_changes()
 {
    // Arrange: an order shipped on November 10th; November is issued on December 1st, 00:30
    // local, owing the order.
    let app = spawn("2026-11-10T02:00:00Z").await;
    let code = register(&app, "SH01", 30).await;
    let first = order(
        &code,
        &unique("DO-"),
        "2026-11-10T06:00:00Z",
        ORDER_VALUE,
        &[1],
    );
    publish(&app, &first).await;
    recorded(&app, &first.consignment_id).await;
    app.clock().set(at("2026-11-30T16:30:00Z"));
    app.svc.scan(SCANNER).await;
    let november = statement(&app, &code, "2026-11").await;
    assert_eq!(november.status(), pb::StatementStatus::Issued);
    assert_eq!(minor(&november.net), -ORDER_OWED);
    assert_eq!(november.parts_shipped, 1);

    // Act: logistics reports shipments of November 28th and 29th only now.
    let late = order(
        &code,
        &unique("DO-"),
        "2026-11-28T06:00:00Z",
        50_000,
        &[3, 1],
    );
    publish(&app, &late).await;
    recorded(&app, &late.consignment_id).await;
    let late_unit = exchange(&code, &unique("AX-"), "2026-11-29T06:00:00Z", 2);
    publish(&app, &late_unit).await;
    recorded(&app, &late_unit.consignment_id).await;

    // Assert: November exactly as issued; both on December, which carries November's debt.
    assert_eq!(statement(&app, &code, "2026-11").await, november);
    let december = statement(&app, &code, "2026-12").await;
    assert_eq!(december.status(), pb::StatementStatus::Open);
    assert_eq!(kinds(&december), vec![pb::StatementEntryKind::PartsOrder]);
    assert_eq!(december.entries[0].reference, late.consignment_id);
    assert_eq!(december.entries[0].at, late.dispatched_at);
    // 500.00 + 10 % margin.
    assert_eq!(minor(&december.parts_orders_total), 55_000);
    assert_eq!(minor(&december.net), -55_000);
    assert_eq!(december.parts_shipped, 3 + 1 + 2);
    assert_eq!(minor(&december.arrears), ORDER_OWED);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_shipment_is_dead_lettered_and_an_unknown_dealers_is_acknowledged_both_writing_nothing()
 {
    // Arrange
    let app = spawn("2026-11-10T02:00:00Z").await;
    let code = register(&app, "SH01", 30).await;
    let good = || {
        order(
            &code,
            &unique("DO-"),
            "2026-11-10T06:00:00Z",
            ORDER_VALUE,
            &[1],
        )
    };
    let mut no_id = good();
    no_id.consignment_id = String::new();
    let mut negative = good();
    negative.value = cny(-1);
    let mut no_value = good();
    no_value.value = None;
    let mut no_kind = good();
    no_kind.kind = common::ConsignmentKind::Unspecified as i32;
    let mut no_units = good();
    no_units.lines = lines(&[0]);
    let unknown = order("D-NOBODY", &unique("DO-"), "2026-11-10T06:00:00Z", 1, &[1]);

    // Act
    let mut bad = Vec::new();
    for (ev, field) in [
        (&no_id, "consignment_id"),
        (&negative, "value.amount_minor"),
        (&no_value, "value"),
        (&no_kind, "kind"),
        (&no_units, "lines[0].quantity"),
    ] {
        bad.push((publish(&app, ev).await, field));
    }
    let acked = publish(&app, &unknown).await;

    // Assert: every bad one in claims-review's DLQ at once, named by its field; the unknown
    // dealer's handled.
    let conn = app.bus().connect("dealers-shipped-probe").await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let dlq = app.bus().topology.dlq("claims-review");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut dead: HashMap<String, String> = HashMap::new();
    while !bad.iter().all(|(id, _)| dead.contains_key(id)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "dead-lettered {dead:?}, expected {bad:?}"
        );
        match ch
            .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            Some(m) => {
                let p = &m.delivery.properties;
                let headers = bus::header_map(p.headers());
                let id = p.message_id().as_ref().map(|id| id.as_str().to_owned());
                dead.insert(
                    id.unwrap_or_default(),
                    headers.get(bus::ERROR_HEADER).cloned().unwrap_or_default(),
                );
            }
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    for (id, field) in &bad {
        let why = &dead[id];
        assert!(
            why.contains("invalid event") && why.contains(&format!("{field}: ")),
            "{field}: {why}"
        );
    }
    app.svc
        .wait_count(
            &format!(
                "SELECT count(*)::bigint FROM processed_events WHERE event_id::text = '{acked}'"
            ),
            1,
        )
        .await;
    let ids = bad
        .iter()
        .map(|(id, _)| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM processed_events WHERE event_id::text IN ({ids})"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM dealer_consignments")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM dealer_entries")
            .await,
        0
    );
    let november = statement(&app, &code, "2026-11").await;
    assert!(november.entries.is_empty());
    assert_eq!(november.parts_shipped, 0);
    app.stop().await;
}
