//! The gateway against the real intake, claims-review and warehouse in process, their events
//! flowing over one set of broker names.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, agent, clerk, request_body, reviewer, spawn_mesh};

const WAIT: Duration = Duration::from_secs(60);

/// A request for a television bought ten days ago with an invoice: in warranty, documents
/// complete, so the demo policy approves it by itself.
fn in_warranty(branch: &str) -> Value {
    let bought = (chrono::Utc::now() - chrono::Duration::days(10))
        .date_naive()
        .to_string();
    let mut body = request_body(branch);
    body["product"]["purchase_date"] = json!(bought);
    body["product"]["invoice_date"] = json!(bought);
    body
}

/// Books `quantity` units of `part_no` into stock: a receipt, then its inspection, all passed.
async fn stock_up(app: &TestApp, part_no: &str, quantity: u32) {
    let r = app
        .post(
            "/v1/receipts",
            &clerk(),
            &json!({"supplier_id": "SUP-1", "delivery_note": "DN-1",
                    "lines": [{"part_no": part_no, "quantity": quantity}]}),
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let receipt = r.json();
    assert_eq!(receipt["status"], "pending_inspection");
    assert_eq!(receipt["lines"][0]["quantity"], quantity);
    let id = receipt["receipt_id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/v1/receipts/{id}/inspection"),
            &clerk(),
            &json!({"lines": [{"part_no": part_no, "passed": quantity, "failed": 0}]}),
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "inspected");
}

/// Submits `body` as an agent of SH01; returns the request number.
async fn submit(app: &TestApp, body: &Value) -> String {
    let r = app
        .post(
            "/v1/requests",
            &agent("SH01"),
            body,
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["request_no"].as_str().unwrap().to_owned()
}

/// The claim of `request_no` once it has status `status`.
async fn claim_when(app: &TestApp, request_no: &str, status: &str) -> Value {
    crate::helpers::testing_eventually(WAIT, || async {
        let r = app
            .get(&format!("/v1/claims/{request_no}"), &reviewer())
            .await;
        (r.status == 200 && r.json()["status"] == status).then(|| r.json())
    })
    .await
    .unwrap_or_else(|| panic!("the claim of {request_no} became {status}"))
}

#[tokio::test]
async fn an_in_warranty_request_is_approved_reserved_and_issued_only_against_its_exact_pick_list() {
    let app = spawn_mesh().await;
    stock_up(&app, "PWR-55-01", 10).await;
    let stock = app.get("/v1/stock/PWR-55-01", &clerk()).await;
    assert_eq!(
        stock.status,
        200,
        "{}",
        String::from_utf8_lossy(&stock.body)
    );
    assert_eq!(stock.json()["available"], 10);

    let no = submit(&app, &in_warranty("SH01")).await;

    // (a) The claim, in the DESIGN §8 shape.
    let claim = claim_when(&app, &no, "approved").await;
    assert_eq!(claim["request_no"], no.as_str());
    assert_eq!(claim["branch"], "SH01");
    assert_eq!(claim["recommendation"], "approve");
    assert!(!claim["policy_version"].as_str().unwrap().is_empty());
    let line = &claim["lines"][0];
    assert_eq!(line["part_no"], "PWR-55-01");
    assert_eq!(line["quantity"], 1);
    assert_eq!(line["coverage"], "free");
    assert!(!line["window"].as_str().unwrap().is_empty(), "{claim}");
    assert!(!line["rule"].as_str().unwrap().is_empty(), "{claim}");
    assert!(
        !claim["explanation"].as_array().unwrap().is_empty(),
        "{claim}"
    );
    assert!(claim["version"].as_u64().unwrap() >= 1);

    // The request's timeline gains the claim's and the reservation's events.
    let wanted = [
        "claims.claim.opened",
        "claims.claim.approved",
        "warehouse.reservation.confirmed",
    ];
    let types = crate::helpers::testing_eventually(WAIT, || async {
        let r = app
            .get(&format!("/v1/requests/{no}/timeline"), &agent("SH01"))
            .await;
        let types: Vec<String> = r.json()["events"]
            .as_array()?
            .iter()
            .filter_map(|e| e["type"].as_str().map(str::to_owned))
            .collect();
        wanted
            .iter()
            .all(|w| types.iter().any(|t| t == w))
            .then_some(types)
    })
    .await
    .expect("the timeline shows the claim and the reservation");
    assert_eq!(types[0], "intake.request.submitted");

    // (b) The stock shows the unit held for the request.
    let stock = app.get("/v1/stock/PWR-55-01", &agent("SH01")).await.json();
    assert_eq!(stock["reserved"], 1, "{stock}");
    assert_eq!(stock["available"], 9, "{stock}");
    assert_eq!(stock["on_hand"], 10, "{stock}");

    // (c) The pick list, a mismatching issue, then the exact one.
    let pick_path = format!("/v1/pick-lists/PL-{no}");
    let pick = app.get(&pick_path, &clerk()).await;
    assert_eq!(pick.status, 200, "{}", String::from_utf8_lossy(&pick.body));
    let pick = pick.json();
    assert_eq!(pick["status"], "open");
    assert_eq!(pick["request_no"], no.as_str());
    assert_eq!(
        pick["lines"],
        json!([{"part_no": "PWR-55-01", "quantity": 1, "zone": "qualified"}])
    );
    let wrong = app
        .post(
            &format!("{pick_path}/issue"),
            &clerk(),
            &json!({"lines": [{"part_no": "PWR-55-01", "quantity": 2}]}),
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(
        wrong.status,
        409,
        "{}",
        String::from_utf8_lossy(&wrong.body)
    );
    assert_eq!(wrong.header("content-type"), "application/problem+json");
    let detail = wrong.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("PWR-55-01"), "{detail}");
    assert!(detail.contains("nothing was issued"), "{detail}");
    let stock = app.get("/v1/stock/PWR-55-01", &clerk()).await.json();
    assert_eq!(stock["on_hand"], 10, "a mismatch issues nothing: {stock}");

    let issued = app
        .post(
            &format!("{pick_path}/issue"),
            &clerk(),
            &json!({"lines": [{"part_no": "PWR-55-01", "quantity": 1}], "shipment_no": "SHP-1"}),
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(
        issued.status,
        200,
        "{}",
        String::from_utf8_lossy(&issued.body)
    );
    let issued = issued.json();
    assert_eq!(issued["status"], "issued");
    assert_eq!(issued["issued_by"], "clerk-1");
    assert!(issued["issued_at"].is_string());
    let stock = app.get("/v1/stock/PWR-55-01", &clerk()).await.json();
    assert_eq!(
        (stock["on_hand"].as_u64(), stock["reserved"].as_u64()),
        (Some(9), Some(0))
    );

    // The ledger shows the issue against the request.
    let ledger = app
        .get(&format!("/v1/ledger?request_no={no}&kind=issue"), &clerk())
        .await;
    assert_eq!(
        ledger.status,
        200,
        "{}",
        String::from_utf8_lossy(&ledger.body)
    );
    let items = ledger.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["kind"], "issue");
    assert_eq!(items[0]["quantity"], -1);
    assert_eq!(items[0]["zone"], "qualified");
    app.stop().await;
}

#[tokio::test]
async fn a_reviewer_decides_a_pending_claim_once_and_a_stale_second_decision_is_a_conflict() {
    let app = spawn_mesh().await;
    // Damage by misuse flagged: PAID, so the demo policy leaves it to a person.
    let mut body = in_warranty("SH01");
    body["misuse_suspected"] = json!(true);
    let no = submit(&app, &body).await;
    let claim = claim_when(&app, &no, "pending").await;
    let version = claim["version"].as_u64().unwrap();
    let queue = app.get("/v1/claims?status=pending", &reviewer()).await;
    assert_eq!(queue.status, 200);
    assert!(
        queue.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["request_no"] == no.as_str())
    );

    let decided = app
        .post(
            &format!("/v1/claims/{no}/decision"),
            &reviewer(),
            &json!({"decision": "approve", "note": "checked the photos", "expected_version": version}),
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(
        decided.status,
        200,
        "{}",
        String::from_utf8_lossy(&decided.body)
    );
    let decided = decided.json();
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["decided_by"], "reviewer-1");
    assert!(decided["version"].as_u64().unwrap() > version);

    let stale = app
        .post(
            &format!("/v1/claims/{no}/decision"),
            &reviewer(),
            &json!({"decision": "reject", "reason_code": "paid_service_declined", "note": "customer declined the fee", "expected_version": version}),
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(
        stale.status,
        409,
        "{}",
        String::from_utf8_lossy(&stale.body)
    );
    assert_eq!(stale.header("content-type"), "application/problem+json");
    assert_eq!(
        claim_when(&app, &no, "approved").await["decided_by"],
        "reviewer-1"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_stocktake_is_opened_counted_and_closed_through_the_gateway() {
    let app = spawn_mesh().await;
    stock_up(&app, "PNL-55-01", 5).await;
    let key = |_: ()| uuid::Uuid::new_v4().to_string();
    let opened = app
        .post(
            "/v1/stocktakes",
            &clerk(),
            &json!({"zones": ["qualified"], "part_nos": ["PNL-55-01"], "note": "monthly"}),
            &[("idempotency-key", &key(()))],
        )
        .await;
    assert_eq!(
        opened.status,
        201,
        "{}",
        String::from_utf8_lossy(&opened.body)
    );
    let opened = opened.json();
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["zones"], json!(["qualified"]));
    let id = opened["stocktake_id"].as_str().unwrap().to_owned();

    let bad = app
        .post(
            &format!("/v1/stocktakes/{id}/counts"),
            &clerk(),
            &json!({"part_no": "PNL-55-01", "zone": "attic", "counted": 4}),
            &[("idempotency-key", &key(()))],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(crate::helpers::violations(&bad.json()).contains_key("zone"));

    let counted = app
        .post(
            &format!("/v1/stocktakes/{id}/counts"),
            &clerk(),
            &json!({"part_no": "PNL-55-01", "zone": "qualified", "counted": 4}),
            &[("idempotency-key", &key(()))],
        )
        .await;
    assert_eq!(
        counted.status,
        200,
        "{}",
        String::from_utf8_lossy(&counted.body)
    );
    let counted = counted.json();
    assert_eq!(
        (counted["book"].as_u64(), counted["counted"].as_u64()),
        (Some(5), Some(4))
    );
    assert_eq!(counted["difference"], -1);

    let closed = app
        .post(
            &format!("/v1/stocktakes/{id}/close"),
            &clerk(),
            &json!({"default_reason": "miscount at receipt", "allow_uncounted": true}),
            &[("idempotency-key", &key(()))],
        )
        .await;
    assert_eq!(
        closed.status,
        200,
        "{}",
        String::from_utf8_lossy(&closed.body)
    );
    let closed = closed.json();
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string());

    let stock = app.get("/v1/stock/PNL-55-01", &clerk()).await.json();
    assert_eq!(stock["on_hand"], 4, "{stock}");
    let ledger = app
        .get(
            "/v1/ledger?part_no=PNL-55-01&kind=stocktake_adjustment",
            &clerk(),
        )
        .await
        .json();
    assert_eq!(ledger["items"][0]["quantity"], -1, "{ledger}");
    let backorders = app.get("/v1/backorders?status=open", &clerk()).await;
    assert_eq!(backorders.status, 200);
    assert_eq!(backorders.json()["items"], json!([]));
    let bad = app.get("/v1/ledger?zone=attic&kind=theft", &clerk()).await;
    assert_eq!(bad.status, 400);
    let v = crate::helpers::violations(&bad.json());
    assert!(v.contains_key("zone") && v.contains_key("kind"), "{v:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_receipt_is_booked_once_per_idempotency_key_and_only_by_the_warehouse() {
    let app = spawn_mesh().await;
    let body = json!({"supplier_id": "SUP-1", "delivery_note": "DN-7",
                      "lines": [{"part_no": "PWR-55-01", "quantity": 3}]});
    let key = uuid::Uuid::new_v4().to_string();
    let first = app
        .post(
            "/v1/receipts",
            &clerk(),
            &body,
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!(
        first.status,
        201,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let again = app
        .post(
            "/v1/receipts",
            &clerk(),
            &body,
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!(again.json()["receipt_id"], first.json()["receipt_id"]);
    let ledger = app
        .get("/v1/ledger?part_no=PWR-55-01&kind=receipt", &clerk())
        .await
        .json();
    assert_eq!(ledger["items"].as_array().unwrap().len(), 1, "{ledger}");
    assert_eq!(ledger["items"][0]["zone"], "pending_inspection");

    // The warehouse itself refuses a branch agent (the gateway forwards the caller's token).
    let r = app
        .post(
            "/v1/receipts",
            &agent("SH01"),
            &body,
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "application/problem+json");
    // The warehouse names every bad field of a receipt.
    let r = app
        .post(
            "/v1/receipts",
            &clerk(),
            &json!({"lines": [{"part_no": "", "quantity": 0}]}),
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        crate::helpers::violations(&r.json()).len() >= 2,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    app.stop().await;
}

/// Found by the API fuzzer: an inspection listing the received part many times over.
#[tokio::test]
async fn an_inspection_repeating_a_line_is_refused_as_a_problem_not_a_server_error() {
    let app = spawn_mesh().await;
    let r = app
        .post(
            "/v1/receipts",
            &clerk(),
            &json!({"supplier_id": "SUP-1", "lines": [{"part_no": "PWR-55-01", "quantity": 10}]}),
            &[],
        )
        .await;
    assert_eq!(r.status, 201);
    let id = r.json()["receipt_id"].as_str().unwrap().to_owned();
    let line = json!({"part_no": "PWR-55-01", "passed": 0, "failed": 0});
    for copies in [2, 60, 200, 1] {
        let lines: Vec<Value> = std::iter::repeat_n(line.clone(), copies).collect();
        let r = app
            .post(
                &format!("/v1/receipts/{id}/inspection"),
                &clerk(),
                &json!({ "lines": lines }),
                &[],
            )
            .await;
        assert!(
            r.status < 500,
            "{copies} copies: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }
    // Once inspected, again.
    let ok = app
        .post(
            &format!("/v1/receipts/{id}/inspection"),
            &clerk(),
            &json!({"lines": [{"part_no": "PWR-55-01", "passed": 10, "failed": 0}]}),
            &[],
        )
        .await;
    assert!(ok.status < 500, "{}", String::from_utf8_lossy(&ok.body));
    for copies in [2, 60, 200] {
        let lines: Vec<Value> = std::iter::repeat_n(line.clone(), copies).collect();
        let r = app
            .post(
                &format!("/v1/receipts/{id}/inspection"),
                &clerk(),
                &json!({ "lines": lines }),
                &[],
            )
            .await;
        assert!(
            r.status < 500,
            "{copies} copies: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.header("content-type"), "application/problem+json");
    }
    app.stop().await;
}
