//! Dealers and agents through the gateway and the real services (issue 23): a batch of twenty
//! repairs settled to hand-computed amounts, its old parts received and inspected by the
//! warehouse, a part that never comes back charged at its deadline, November issued and never
//! changed, an advance exchange that goes overdue listed and charged, a dealer kept out of
//! another's batch and statement, and bad input answered 400 naming the field with nothing
//! written. claims-review and the warehouse run on one manual clock the test moves. A dealer's
//! parts order goes through the whole mesh: issued all or nothing, shipped by logistics with its
//! notice on the order and on the dealer's stream, billed on the statement with the margin.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::clock::Clock;
use aftersales_platform::testing;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestResponse, clerk, spawn_full_mesh, spawn_mesh_on, token_of, violations,
};

const WAIT: Duration = Duration::from_secs(60);
const SETTLEMENT: &str = "dealer-settlement";
const OVERDUE_EXCHANGES: &str = "advance-exchange-overdue";

// Hand-computed with the demo policy and the terms of `register`: the power board has no list
// price, so its fee-schedule price 450.00 counts, plus the 10 % margin = 495.00; 45 minutes at
// 120.00 an hour = 90.00; line 20's 90 minutes are paid at the 60-minute standard = 120.00.
const PLAIN_LINE: i64 = 9_000 + 49_500;
const LONG_LINE: i64 = 12_000 + 49_500;
const APPROVED: i64 = 14 * PLAIN_LINE + LONG_LINE; // 880 500
/// The catalogue's unit cost of the power board (the demo seed): an overdue exchange's charge.
const BOARD_COST: i64 = 18_000;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn unique(prefix: &str) -> String {
    let n = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("{prefix}{}", &n[..10])
}

fn ok(r: &TestResponse, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn minor(v: &Value) -> i64 {
    v["amount_minor"].as_i64().unwrap_or(0)
}

async fn register(app: &TestApp, branch: &str) -> String {
    let code = unique("D-GW-");
    let admin = token_of("hq-admin", "*", Role::Admin);
    let r = app
        .post_new(
            "/v1/dealers",
            &admin,
            &json!({
                "code": code, "name": "Pudong TV Service", "kind": "dealer", "branch": branch,
                "terms": { "labour_rate_per_hour_minor": 12000,
                           "standard_labour_minutes": {"television": 60},
                           "default_labour_minutes": 45, "parts_margin_bp": 1000,
                           "old_part_return_days": 10, "payment_days": 15,
                           "advance_exchange_return_days": 15 }
            }),
        )
        .await;
    ok(&r, 201);
    code
}

/// A television repair: the power board replaced, `minutes` of labour.
fn repair(serial: &str, invoice: &str, repaired: &str, minutes: u32) -> Value {
    json!({
        "product": { "category": "television", "model": "X55", "serial": serial,
                     "purchase_date": invoice, "invoice_no": "INV-1", "invoice_date": invoice },
        "fault_description": "no picture",
        "parts": [{ "part_no": "PWR-55-01", "quantity": 1,
                    "faulty_serial": format!("OLD-{serial}-{repaired}"),
                    "new_serial": format!("NEW-{serial}") }],
        "labour_minutes": minutes,
        "repaired_on": repaired,
    })
}

/// The batch: 14 plain in-warranty repairs (45 min), 3 out of warranty, 2 repeating the
/// serials of lines 1 and 2 three days later, and line 20 claiming 90 minutes.
fn twenty(serials: &[String]) -> Vec<Value> {
    let mut lines: Vec<_> = serials[..14]
        .iter()
        .map(|s| repair(s, "2026-06-01", "2026-11-05", 45))
        .collect();
    for s in &serials[14..17] {
        lines.push(repair(s, "2024-01-01", "2026-11-05", 45));
    }
    lines.push(repair(&serials[0], "2026-06-01", "2026-11-08", 45));
    lines.push(repair(&serials[1], "2026-06-01", "2026-11-08", 45));
    lines.push(repair(&serials[17], "2026-06-01", "2026-11-06", 90));
    lines
}

async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &Value,
    key: &str,
) -> TestResponse {
    app.post(path, token, body, &[("idempotency-key", key)])
        .await
}

#[tokio::test]
async fn a_dealers_month_settles_through_the_gateway_to_the_hand_computed_statement() {
    let clock = Clock::manual(at("2026-11-10T02:00:00Z"));
    let app = spawn_mesh_on(clock.clone()).await;
    let code = register(&app, "SH01").await;
    let other = register(&app, "SH01").await;
    let dealer = testing::dealer_token("dealer-1", "SH01", &code);
    let stranger = testing::dealer_token("dealer-2", "SH01", &other);
    let statement = |month: &str| format!("/v1/dealers/{code}/statements/{month}");

    // Bad input: 400 naming the field, nothing written.
    let serials: Vec<String> = (0..18).map(|_| unique("SN")).collect();
    let admin = token_of("hq-admin", "*", Role::Admin);
    let r = app
        .post_new(
            "/v1/dealer-claims",
            &admin,
            &json!({"dealer_code": "D-NOBODY", "lines": [repair(&serials[0], "2026-06-01", "2026-11-05", 45)]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        violations(&r.json()).contains_key("dealer_code"),
        "{}",
        r.json()
    );
    let r = app
        .post_new(
            "/v1/dealer-claims",
            &dealer,
            &json!({"dealer_code": code, "lines": []}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("lines"), "{}", r.json());
    let mut negative = repair(&serials[0], "2026-06-01", "2026-11-05", 45);
    negative["labour_minutes"] = json!(-30);
    let r = app
        .post_new("/v1/dealer-claims", &dealer, &json!({"lines": [negative]}))
        .await;
    assert_eq!(r.status, 400);
    assert!(
        violations(&r.json()).contains_key("lines[0].labour_minutes"),
        "{}",
        r.json()
    );
    // Another dealer's code on a dealer's token.
    let r = app
        .post_new(
            "/v1/dealer-claims",
            &stranger,
            &json!({"dealer_code": code, "lines": [repair(&serials[0], "2026-06-01", "2026-11-05", 45)]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(violations(&r.json()).contains_key("dealer_code"));
    let empty = ok(&app.get(&statement("2026-11"), &dealer).await, 200);
    assert_eq!(empty["entries"], json!([]), "nothing was written: {empty}");

    // The batch of twenty, decided at once.
    let body = json!({"dealer_code": code, "lines": twenty(&serials)});
    let batch = ok(
        &post_keyed(&app, "/v1/dealer-claims", &dealer, &body, "batch-2026-11-a").await,
        201,
    );
    let batch_id = batch["batch_id"].as_str().unwrap().to_owned();
    for l in batch["lines"].as_array().unwrap() {
        let no = l["line_no"].as_u64().unwrap();
        let want = match no {
            15..=17 => ("rejected", json!("out_of_warranty")),
            18 | 19 => ("rejected", json!("duplicate_serial")),
            _ => ("approved", Value::Null),
        };
        assert_eq!(
            (l["status"].as_str().unwrap(), &l["reason"]),
            (want.0, &want.1),
            "line {no}"
        );
    }
    assert_eq!(minor(&batch["approved_total"]), APPROVED);
    assert_eq!(
        (
            batch["approved_lines"].as_u64(),
            batch["rejected_lines"].as_u64()
        ),
        (Some(15), Some(5))
    );
    let long = &batch["lines"][19];
    assert_eq!(long["labour_minutes_paid"], 60);
    assert_eq!(minor(&long["labour"]) + minor(&long["parts"]), LONG_LINE);

    // The same key again answers the same batch; with other lines it is refused.
    let again = ok(
        &post_keyed(&app, "/v1/dealer-claims", &dealer, &body, "batch-2026-11-a").await,
        201,
    );
    assert_eq!(again["batch_id"], batch_id.as_str());
    let fewer = json!({"dealer_code": code, "lines": twenty(&serials)[..3]});
    let r = post_keyed(
        &app,
        "/v1/dealer-claims",
        &dealer,
        &fewer,
        "batch-2026-11-a",
    )
    .await;
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));

    // Another dealer cannot read the batch or the statement; head office can.
    assert_eq!(
        app.get(&format!("/v1/dealer-claims/{batch_id}"), &stranger)
            .await
            .status,
        404
    );
    assert_eq!(app.get(&statement("2026-11"), &stranger).await.status, 404);
    ok(
        &app.get(
            &format!("/v1/dealer-claims/{batch_id}"),
            &crate::helpers::reviewer(),
        )
        .await,
        200,
    );

    // November 15th: the box of old parts comes back without line 3's; inspected, all faulty.
    clock.set(at("2026-11-15T02:00:00Z"));
    let boxed: Vec<Value> = batch["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "approved" && l["line_no"] != 3)
        .map(|l| {
            let p = &l["input"]["parts"][0];
            json!({"part_no": p["part_no"], "quantity": 1, "faulty_serial": p["faulty_serial"]})
        })
        .collect();
    assert_eq!(boxed.len(), 14);
    // The warehouse knows the dealer once the decided batch reached it.
    let received = testing::eventually(WAIT, || async {
        let r = app
            .post_new(
                "/v1/old-part-batches",
                &clerk(),
                &json!({"dealer_code": code, "parts": boxed, "note": "box 1 of 1"}),
            )
            .await;
        (r.status == 201).then(|| r.json())
    })
    .await
    .expect("the warehouse receives the box");
    assert_eq!(received["identified"], 14);
    let opb = received["batch_id"].as_str().unwrap().to_owned();
    let verdicts: Vec<Value> = (0..14)
        .map(|i| json!({"position": i, "verdict": "confirmed_fault"}))
        .collect();
    let inspected = ok(
        &app.post_new(
            &format!("/v1/old-part-batches/{opb}/inspection"),
            &clerk(),
            &json!({ "verdicts": verdicts }),
        )
        .await,
        200,
    );
    assert_eq!(inspected["status"], "inspected");
    let analysed = ok(
        &app.get(&format!("/v1/old-part-batches/{opb}"), &dealer)
            .await,
        200,
    );
    assert_eq!(
        analysed["top_parts"],
        json!([{"part_no": "PWR-55-01", "quantity": 14}])
    );
    assert_eq!(minor(&analysed["cost"]["total"]), 14 * BOARD_COST);
    assert_eq!(
        app.get(&format!("/v1/old-part-batches/{opb}"), &stranger)
            .await
            .status,
        404
    );
    // claims-review has the verdicts (the statement counts the parts back).
    testing::eventually(WAIT, || async {
        let s = app.get(&statement("2026-11"), &dealer).await.json();
        (s["old_parts_returned"] == 14).then_some(())
    })
    .await
    .expect("the 14 verdicts reach claims-review");

    // November 21st: line 3's old part is past its deadline (10 days) and charged back.
    clock.set(at("2026-11-21T02:00:00Z"));
    app.scan_claims(SETTLEMENT).await;
    let b = ok(
        &app.get(&format!("/v1/dealer-claims/{batch_id}"), &dealer)
            .await,
        200,
    );
    let charged: Vec<(u64, String, i64, String)> = b["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "charged_back")
        .map(|l| {
            (
                l["line_no"].as_u64().unwrap(),
                l["reason"].as_str().unwrap().to_owned(),
                minor(&l["charged_back"]),
                l["charge_back_period"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        charged,
        vec![(
            3,
            "old_part_not_returned".to_owned(),
            PLAIN_LINE,
            "2026-11".to_owned()
        )]
    );

    // The same day an advance exchange ships from turnover stock; its board is due back on
    // December 6th.
    app.stock_up("PWR-55-01", 2).await;
    ok(
        &app.post_new(
            "/v1/turnover-transfers",
            &clerk(),
            &json!({"part_no": "PWR-55-01", "quantity": 2, "reason": "turnover stock"}),
        )
        .await,
        201,
    );
    let exchange = ok(
        &app.post_new(
            "/v1/advance-exchanges",
            &dealer,
            &json!({"part_no": "PWR-55-01", "quantity": 1, "defective_serial": "PB55-BAD-1",
                    "ship_to": {"recipient": "Pudong TV Service", "phone": "+86 21 5050 1234",
                                "address": "88 Zhangyang Road, Pudong, Shanghai"}}),
        )
        .await,
        201,
    );
    assert_eq!(exchange["status"], "outstanding");
    assert_eq!(exchange["dealer_code"], code.as_str());
    assert!(
        exchange["due_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-06"),
        "{exchange}"
    );
    let exchange_id = exchange["exchange_id"].as_str().unwrap().to_owned();

    // December 1st, 00:30 local: November is issued.
    clock.set(at("2026-11-30T16:30:00Z"));
    app.scan_claims(SETTLEMENT).await;
    let november = ok(&app.get(&statement("2026-11"), &dealer).await, 200);
    assert_eq!(november["status"], "issued");
    assert_eq!(minor(&november["claims_total"]), APPROVED);
    assert_eq!(minor(&november["charges_total"]), PLAIN_LINE);
    assert_eq!(minor(&november["net"]), APPROVED - PLAIN_LINE);
    assert_eq!(november["entries"].as_array().unwrap().len(), 16);
    assert_eq!(
        (
            november["new_parts_sent"].as_u64(),
            november["old_parts_returned"].as_u64()
        ),
        (Some(15), Some(14))
    );
    assert_eq!(november["payment_due"], "2026-12-16");
    // The finance export: a header, sixteen entries, five totals.
    let csv = app
        .send(
            "GET",
            &statement("2026-11"),
            Some(&dealer),
            &[("accept", "text/csv")],
            None,
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").starts_with("text/csv"));
    let text = String::from_utf8(csv.body.to_vec()).unwrap();
    let rows: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(rows.len(), 1 + 16 + 5, "{text}");
    assert_eq!(
        rows[20],
        format!("{code},2026-11,total,net,,,{},CNY,", APPROVED - PLAIN_LINE)
    );

    // December 7th: the exchange's board is not back; listed overdue and charged in December.
    clock.set(at("2026-12-07T02:00:00Z"));
    app.scan_warehouse(OVERDUE_EXCHANGES).await;
    let listed = ok(
        &app.get("/v1/advance-exchanges?overdue_only=true", &dealer)
            .await,
        200,
    );
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["exchange_id"], exchange_id.as_str());
    assert_eq!(minor(&items[0]["charge"]), BOARD_COST);
    let seen = ok(
        &app.get("/v1/advance-exchanges?overdue_only=true", &stranger)
            .await,
        200,
    );
    assert_eq!(
        seen["items"],
        json!([]),
        "another dealer's exchanges are not listed"
    );
    let december = testing::eventually(WAIT, || async {
        let s = app.get(&statement("2026-12"), &dealer).await.json();
        (s["entries"].as_array()?.len() == 1).then_some(s)
    })
    .await
    .expect("the overdue exchange on December's statement");
    assert_eq!(december["status"], "open");
    assert_eq!(december["entries"][0]["kind"], "advance_exchange_overdue");
    assert_eq!(minor(&december["charges_total"]), BOARD_COST);

    // A late repair of November goes on December; a repair settled on November cannot be
    // claimed again; November stays exactly as issued.
    let late = ok(
        &post_keyed(
            &app,
            "/v1/dealer-claims",
            &dealer,
            &json!({"lines": [repair(&unique("SN"), "2026-06-01", "2026-11-28", 45),
                               repair(&serials[3], "2026-06-01", "2026-11-05", 45)]}),
            "batch-2026-12-a",
        )
        .await,
        201,
    );
    assert_eq!(late["lines"][0]["status"], "approved");
    assert_eq!(late["lines"][0]["period"], "2026-12");
    assert_eq!(late["lines"][1]["status"], "rejected");
    assert_eq!(late["lines"][1]["reason"], "already_claimed");
    assert_eq!(
        app.get(&statement("2026-11"), &dealer).await.json(),
        november
    );
    app.stop().await;
}

/// Available units of `part_no` in QUALIFIED.
async fn qualified(app: &TestApp, part_no: &str) -> u64 {
    let stock = ok(
        &app.get(&format!("/v1/stock/{part_no}"), &clerk()).await,
        200,
    );
    stock["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["zone"] == "qualified")
        .map_or(0, |z| z["available"].as_u64().unwrap_or(0))
}

#[tokio::test]
async fn a_dealers_parts_order_ships_with_its_notice_and_is_billed_with_the_margin() {
    let app = spawn_full_mesh().await;
    let code = register(&app, "SH01").await;
    let other = register(&app, "SH01").await;
    let dealer = testing::dealer_token("gw-dealer", "SH01", &code);
    let stranger = testing::dealer_token("gw-other", "SH01", &other);
    app.stock_up("PWR-55-01", 3).await;
    app.stock_up("PNL-55-01", 1).await;
    let mut notices = app
        .stream(&dealer, "?types=logistics.consignment.*", None)
        .await;
    assert_eq!(notices.status, 200);
    let ship_to = json!({"recipient": "Pudong TV Service", "phone": "+86 21 5050 1234",
                         "address": "88 Zhangyang Road, Pudong, Shanghai", "region": "urban"});
    let order =
        |lines: Value| json!({"lines": lines, "ship_to": ship_to, "dealer_reference": "PO-PD-118"});

    // Bad input is named and nothing is issued.
    let unknown = app
        .post_new(
            "/v1/dealer-orders",
            &token_of("hq-clerk", "*", Role::Warehouse),
            &json!({"dealer_code": "D-NOPE-0001", "lines": [{"part_no": "PWR-55-01", "quantity": 1}],
                    "ship_to": ship_to}),
        )
        .await;
    assert_eq!(
        unknown.status,
        400,
        "{}",
        String::from_utf8_lossy(&unknown.body)
    );
    assert!(violations(&unknown.json()).contains_key("dealer_code"));
    let empty = app
        .post_new("/v1/dealer-orders", &dealer, &order(json!([])))
        .await;
    assert_eq!(empty.status, 400);
    assert!(
        violations(&empty.json()).contains_key("lines"),
        "{}",
        empty.json()
    );
    let zero = app
        .post_new(
            "/v1/dealer-orders",
            &dealer,
            &order(json!([{"part_no": "PWR-55-01", "quantity": 0}])),
        )
        .await;
    assert_eq!(zero.status, 400);
    assert!(
        violations(&zero.json()).contains_key("lines[0].quantity"),
        "{}",
        zero.json()
    );
    // All or nothing: one panel in stock, two asked; the boards stay too.
    let short = app
        .post_new(
            "/v1/dealer-orders",
            &dealer,
            &order(json!([{"part_no": "PWR-55-01", "quantity": 2},
                          {"part_no": "PNL-55-01", "quantity": 2}])),
        )
        .await;
    assert_eq!(
        short.status,
        409,
        "{}",
        String::from_utf8_lossy(&short.body)
    );
    assert!(
        short.json()["detail"]
            .as_str()
            .unwrap()
            .contains("lines[1].part_no PNL-55-01"),
        "{}",
        short.json()
    );
    assert_eq!(qualified(&app, "PWR-55-01").await, 3);
    assert_eq!(qualified(&app, "PNL-55-01").await, 1);

    // The order: two boards and the panel, at the catalogue's unit costs.
    let lines =
        json!([{"part_no": "PWR-55-01", "quantity": 2}, {"part_no": "PNL-55-01", "quantity": 1}]);
    let key = uuid::Uuid::new_v4().to_string();
    let placed = ok(
        &post_keyed(
            &app,
            "/v1/dealer-orders",
            &dealer,
            &order(lines.clone()),
            &key,
        )
        .await,
        201,
    );
    const VALUE: i64 = 2 * BOARD_COST + 120_000; // 156 000
    assert_eq!(minor(&placed["value"]), VALUE, "{placed}");
    assert_eq!(placed["dealer_code"], code.as_str());
    assert_eq!(placed["branch"], "SH01");
    let order_id = placed["order_id"].as_str().unwrap().to_owned();
    // A retry with its key answers the same order (the gateway's stored answer); nothing more
    // is issued.
    let again = ok(
        &post_keyed(&app, "/v1/dealer-orders", &dealer, &order(lines), &key).await,
        201,
    );
    assert_eq!(again["order_id"], order_id.as_str());
    assert_eq!(qualified(&app, "PWR-55-01").await, 1);
    assert_eq!(qualified(&app, "PNL-55-01").await, 0);

    // The shipment notice reaches the dealer's stream, and the order shows its shipment.
    let notice = notices.next(WAIT).await.expect("the shipment notice");
    assert_eq!(notice.data["type"], "logistics.consignment.dispatched");
    assert_eq!(notice.data["payload"]["consignment_id"], order_id.as_str());
    let waybill = notice.data["payload"]["waybill_no"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!waybill.is_empty(), "{}", notice.data);
    let shipped = testing::eventually(WAIT, || async {
        let o = ok(
            &app.get(&format!("/v1/dealer-orders/{order_id}"), &dealer)
                .await,
            200,
        );
        (!o["shipment"].is_null()).then_some(o)
    })
    .await
    .expect("the order shows its shipment");
    assert_eq!(shipped["shipment"]["waybill_no"], waybill.as_str());
    assert_eq!(shipped["shipment"]["status"], "dispatched");
    assert_eq!(shipped["shipment"]["kind"], "dealer_order");
    let consignment = ok(
        &app.get(&format!("/v1/consignments/{order_id}"), &dealer)
            .await,
        200,
    );
    assert_eq!(consignment["waybill_no"], waybill.as_str());
    // Another dealer sees neither.
    assert_eq!(
        app.get(&format!("/v1/dealer-orders/{order_id}"), &stranger)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/v1/consignments/{order_id}"), &stranger)
            .await
            .status,
        404
    );

    // The statement of the month it shipped in (Shanghai time) bills it with the 10 % margin.
    let month = (Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    let billed = testing::eventually(WAIT, || async {
        let s = ok(
            &app.get(&format!("/v1/dealers/{code}/statements/{month}"), &dealer)
                .await,
            200,
        );
        (s["parts_shipped"] == 3).then_some(s)
    })
    .await
    .expect("the statement bills the order");
    assert_eq!(
        minor(&billed["parts_orders_total"]),
        VALUE + VALUE / 10,
        "{billed}"
    );
    assert_eq!(minor(&billed["net"]), -(VALUE + VALUE / 10), "{billed}");
    let entries = billed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{billed}");
    assert_eq!(entries[0]["kind"], "parts_order");
    assert_eq!(entries[0]["reference"], order_id.as_str());
    assert_eq!(
        minor(&entries[0]["amount"]),
        -(VALUE + VALUE / 10),
        "{billed}"
    );
    app.stop().await;
}
