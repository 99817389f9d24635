//! Shortages bought: the rule's supplier, coalescing within the window, redelivery, a
//! replacement's shortage beside the first reservation's.

use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::proto::warehouse::v1 as warehouse;

use crate::helpers::{
    builder, decode, manual_clock, next_event, request_no, shortage, spawn_app, spawn_app_with,
};

const SHORTAGE: &str = "warehouse.stock.shortage";

#[tokio::test]
async fn a_shortage_is_ordered_from_the_supplier_the_rule_picks_never_the_cheaper_suspended_one() {
    // Arrange: three suppliers of the remote control; the cheapest is suspended.
    let app = spawn_app().await;
    let mut issued = app.subscribe("procurement.po.issued").await;
    for s in ["SUP-A", "SUP-B", "SUP-CHEAP"] {
        app.register(s, &["RMT-01"]).await;
    }
    let a = app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let b = app.quote("SUP-B", "RMT-01", 3_100, 5).await;
    app.quote("SUP-CHEAP", "RMT-01", 2_000, 1).await;
    app.buyer()
        .set_supplier_status(pb::SetSupplierStatusRequest {
            supplier_id: "SUP-CHEAP".into(),
            status: pb::SupplierStatus::Suspended as i32,
            reason: "counterfeit parts found".into(),
            fix_by_date: String::new(),
        })
        .await
        .unwrap();
    let no = request_no(1);

    // Act
    app.shortage(&no, "RMT-01", 2).await;

    // Assert: A's shorter lead time outweighs B's lower price (50/30/20); B is the runner-up.
    let po = app.wait_po_of(&no).await;
    assert_eq!(po.supplier_id, "SUP-A");
    assert_eq!(po.status, pb::PurchaseOrderStatus::Issued as i32);
    assert_eq!(po.reason, pb::PurchaseReason::Shortage as i32);
    assert_eq!(po.lines.len(), 1);
    let line = &po.lines[0];
    assert_eq!((line.part_no.as_str(), line.quantity), ("RMT-01", 2));
    assert_eq!(line.quote_id, a.quote_id);
    assert_eq!(line.unit_price.as_ref().unwrap().amount_minor, 3_300);
    assert_eq!(line.quoted_unit_price.as_ref().unwrap().amount_minor, 3_300);
    assert_eq!(
        line.best_quoted_unit_price.as_ref().unwrap().amount_minor,
        3_100,
        "the cheapest eligible quote, not the suspended one"
    );
    assert_eq!(line.request_nos, std::slice::from_ref(&no));
    let choice = po.choice.clone().expect("the rule's choice is recorded");
    assert_eq!(choice.chosen_quote_id, a.quote_id);
    assert_eq!(choice.runner_up_supplier_id, "SUP-B");
    assert_eq!(choice.runner_up_quote_id, b.quote_id);
    assert!(choice.chosen_value_bp > choice.runner_up_value_bp);
    assert!(choice.rule.contains("50 % price"), "{}", choice.rule);
    assert!(
        choice.explanation.contains("higher weighted value"),
        "{}",
        choice.explanation
    );
    assert_eq!(po.delivery_place, "Central spare-parts warehouse");
    assert_eq!(po.backorder_ids, [format!("BO-{no}")]);

    let env = next_event(&mut issued, |e| e.subject == po.po_number).await;
    assert_eq!(
        env.request_no, no,
        "the envelope names the one request it serves"
    );
    let e: pb::PoIssued = decode(&env);
    assert_eq!(e.revision, 1);
    assert_eq!(e.request_nos, std::slice::from_ref(&no));
    assert_eq!(e.added_request_nos, std::slice::from_ref(&no));
    assert_eq!(e.supplier_name, "Supplier SUP-A");
    assert_eq!(e.total.unwrap().amount_minor, 6_600);
    app.stop().await;
}

#[tokio::test]
async fn ten_shortages_of_one_part_arriving_together_give_one_po_line_of_the_summed_quantity() {
    // Arrange: the shortages pile up while procurement is away, then a fresh instance takes them
    // all at once (its prefetch handles them concurrently).
    let mut app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    app.stop_consuming().await;
    let requests: Vec<String> = (1..=10).map(request_no).collect();
    let publishes = requests
        .iter()
        .enumerate()
        .map(|(i, no)| app.shortage(no, "RMT-01", i as u32 + 1));
    futures_util::future::join_all(publishes).await;

    // Act
    let live = app.replica(builder()).await;
    live.wait_settled(SHORTAGE, 10).await;

    // Assert
    assert_eq!(
        live.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        1
    );
    let po = live.wait_po_of(&requests[0]).await;
    assert_eq!(po.lines.len(), 1);
    assert_eq!(po.lines[0].quantity, 55, "1 + 2 + … + 10");
    let mut served = po.lines[0].request_nos.clone();
    served.sort();
    assert_eq!(served, requests);
    assert_eq!(po.revision, 10, "issued once, extended nine times");
    assert_eq!(
        live.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'procurement.po.issued'"
        )
        .await,
        10
    );
    live.stop().await;
}

#[tokio::test]
async fn the_same_shortage_delivered_twice_or_announced_again_changes_nothing() {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let no = request_no(7);
    let event = shortage(&no, "RMT-01", 3);
    let id = uuid::Uuid::now_v7().to_string();

    // The same delivery twice (a redelivery), and the same shortage under a new event id.
    app.publish_with_id(&id, "warehouse", &no, &event).await;
    app.publish_with_id(&id, "warehouse", &no, &event).await;
    app.publish("warehouse", &no, &event).await;
    app.wait_settled(SHORTAGE, 3).await;

    assert_eq!(
        app.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        1
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM demands").await, 1);
    let po = app.wait_po_of(&no).await;
    assert_eq!(po.lines[0].quantity, 3);
    assert_eq!(po.revision, 1);
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'procurement.po.issued'"
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn a_shortage_after_the_coalescing_window_gets_a_po_of_its_own() {
    let app = spawn_app_with(builder().clock(manual_clock())).await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    app.shortage(&request_no(1), "RMT-01", 1).await;
    let first = app.wait_po_of(&request_no(1)).await;

    // Within the hour: joins. After it: a new PO.
    app.clock().advance(chrono::Duration::minutes(59));
    app.shortage(&request_no(2), "RMT-01", 1).await;
    app.wait_settled(SHORTAGE, 2).await;
    app.clock().advance(chrono::Duration::minutes(2));
    app.shortage(&request_no(3), "RMT-01", 1).await;
    let third = app.wait_po_of(&request_no(3)).await;

    assert_eq!(
        app.wait_po_of(&request_no(2)).await.po_number,
        first.po_number
    );
    assert_ne!(third.po_number, first.po_number);
    assert_eq!(app.po(&first.po_number).await.lines[0].quantity, 2);
    assert_eq!(third.lines[0].quantity, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_shortage_without_a_quote_waits_and_is_ordered_when_a_quote_arrives() {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    let no = request_no(3);
    app.shortage(&no, "RMT-01", 4).await;
    app.wait_settled(SHORTAGE, 1).await;
    assert!(app.pos_of(&no).await.is_empty(), "no quote, no PO");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM demands WHERE status = 'UNSOURCED'")
            .await,
        1
    );

    app.quote("SUP-A", "RMT-01", 3_300, 3).await;

    let po = app.wait_po_of(&no).await;
    assert_eq!(po.lines[0].quantity, 4);
    assert_eq!(po.supplier_id, "SUP-A");
    app.stop().await;
}

/// The warehouse's shortage of a replacement's back-order (`BO-<no>-R<n>`: a shipment lost or
/// damaged reserved again, and short).
fn replacement_shortage(no: &str, n: u32, part: &str, missing: u32) -> warehouse::StockShortage {
    warehouse::StockShortage {
        backorder_id: format!("BO-{no}-R{n}"),
        ..shortage(no, part, missing)
    }
}

/// The warehouse giving back what back-order `backorder_id` of cancelled `no` held.
fn released(no: &str, backorder_id: &str) -> warehouse::ReservationReleased {
    warehouse::ReservationReleased {
        request_no: no.into(),
        branch: "SH01".into(),
        backorder_id: backorder_id.into(),
        reason: "request_cancelled".into(),
        ..Default::default()
    }
}

const DEMANDS: &str = "SELECT count(*)::bigint FROM demands";

#[tokio::test]
async fn a_replacements_shortage_of_a_part_the_first_reservation_was_short_of_is_ordered_too() {
    // Arrange: the request's first reservation was short of two remote controls, ordered.
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let no = request_no(5);
    app.shortage(&no, "RMT-01", 2).await;
    let po = app.wait_po_of(&no).await;
    assert_eq!(po.lines[0].quantity, 2);

    // Act: its shipment is lost; the replacement is short of one remote control, announced
    // twice (a redelivery under a new event id).
    let replacement = replacement_shortage(&no, 1, "RMT-01", 1);
    app.publish("warehouse", &no, &replacement).await;
    app.publish("warehouse", &no, &replacement).await;
    app.wait_settled(SHORTAGE, 3).await;

    // Assert: one more demand, ordered on the same PO's line (within the window), once.
    assert_eq!(app.count(DEMANDS).await, 2);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM demands WHERE status = 'ORDERED'")
            .await,
        2
    );
    let po = app.po(&po.po_number).await;
    assert_eq!(
        po.lines[0].quantity, 3,
        "the first's 2 and the replacement's 1"
    );
    assert_eq!(po.revision, 2);
    assert_eq!(po.lines[0].request_nos, std::slice::from_ref(&no));
    assert_eq!(
        po.backorder_ids,
        [format!("BO-{no}"), format!("BO-{no}-R1")]
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn a_cancelled_request_takes_off_the_demands_of_every_back_order_however_many_releases_come()
{
    // Arrange: the first reservation's and a replacement's shortage, both on one PO line.
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let no = request_no(6);
    app.shortage(&no, "RMT-01", 2).await;
    let po = app.wait_po_of(&no).await;
    app.publish("warehouse", &no, &replacement_shortage(&no, 1, "RMT-01", 1))
        .await;
    app.wait_po(&po.po_number, |p| p.lines[0].quantity == 3)
        .await;

    // Act: the request is cancelled: the warehouse releases both back-orders (one event each)
    // and intake says so too, handled in whatever order the consumer takes them.
    app.publish("warehouse", &no, &released(&no, &format!("BO-{no}-R1")))
        .await;
    app.publish("warehouse", &no, &released(&no, &format!("BO-{no}")))
        .await;
    app.cancel(&no).await;
    app.wait_settled("warehouse.reservation.released", 2).await;
    app.wait_settled("intake.request.cancelled", 1).await;
    // A second replacement's shortage after the cancellation buys nothing.
    app.publish("warehouse", &no, &replacement_shortage(&no, 2, "RMT-01", 4))
        .await;
    app.wait_settled(SHORTAGE, 3).await;

    // Assert: every demand taken off, the PO left with nothing and cancelled.
    let po = app
        .wait_po(&po.po_number, |p| {
            p.status == pb::PurchaseOrderStatus::Cancelled as i32
        })
        .await;
    assert_eq!(po.lines[0].quantity, 0);
    assert_eq!(app.count(DEMANDS).await, 2);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM demands WHERE status = 'CANCELLED'")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        1
    );
    app.stop().await;
}
