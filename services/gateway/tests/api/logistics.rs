//! Shipments, the carrier webhook, exceptions, return pick-ups and the returned unit's
//! inspection through the gateway, against every real service.

use aftersales_platform::auth::Role;
use aftersales_platform::testing;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, WAIT, agent, clerk, in_warranty, reviewer, spawn_full_mesh, token_of, violations,
};

fn logistics_clerk(branch: &str) -> String {
    token_of("clerk-log", branch, Role::Logistics)
}

/// A carrier event for `waybill_no`, sent now.
fn event(id: &str, waybill_no: &str, status: &str) -> Value {
    let now = chrono::Utc::now();
    json!({
        "event_id": id, "sent_at": now.to_rfc3339(), "waybill_no": waybill_no, "status": status,
        "occurred_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "location": "Pudong, Shanghai", "signed_by": "Li Wei"
    })
}

/// An approved request of `branch` for the stocked power board, its shipment dispatched.
async fn dispatched_shipment(app: &TestApp, branch: &str) -> (String, Value) {
    let no = app.submit(branch, &in_warranty(branch, "PWR-55-01")).await;
    app.issue(&no).await;
    (no.clone(), app.shipment_of(&no, true).await)
}

#[tokio::test]
async fn a_shipment_is_planned_for_an_approved_request_and_another_branch_gets_404() {
    let app = spawn_full_mesh().await;
    app.stock_up("PWR-55-01", 5).await;
    let no = app.submit("SH01", &in_warranty("SH01", "PWR-55-01")).await;
    let planned = app.shipment_of(&no, false).await;
    let shipment_no = planned["shipment_no"].as_str().unwrap().to_owned();
    assert_eq!(planned["request_no"], no.as_str());
    assert_eq!(planned["branch"], "SH01");
    assert!(
        ["express", "dedicated_line", "special_vehicle"]
            .contains(&planned["method"].as_str().unwrap()),
        "{planned}"
    );
    assert!(!planned["method_reason"].as_str().unwrap().is_empty());

    // Its branch reads it; another branch's agent gets 404, as if it did not exist.
    let path = format!("/v1/shipments/{shipment_no}");
    let mine = app.get(&path, &agent("SH01")).await;
    assert_eq!(mine.status, 200, "{}", String::from_utf8_lossy(&mine.body));
    assert_eq!(mine.json()["shipment_no"], shipment_no.as_str());
    let theirs = app.get(&path, &agent("BJ02")).await;
    assert_eq!(theirs.status, 404);
    assert_eq!(theirs.header("content-type"), "application/problem+json");
    let listed = app.get("/v1/shipments", &agent("BJ02")).await.json();
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");

    // Tracking by hand is the logistics clerk's: an agent gets 403 at the gate; another
    // branch's clerk gets 404.
    let entry = json!({"status": "in_transit", "occurred_at": chrono::Utc::now().to_rfc3339()});
    let r = app
        .post_new(&format!("{path}/events"), &agent("SH01"), &entry)
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .post_new(&format!("{path}/events"), &logistics_clerk("BJ02"), &entry)
        .await;
    assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(&r.body));
    app.stop().await;
}

#[tokio::test]
async fn a_signed_carrier_delivery_is_applied_once_its_replay_is_a_duplicate_and_a_stale_one_401() {
    let app = spawn_full_mesh().await;
    app.stock_up("PWR-55-01", 5).await;
    let (no, shipment) = dispatched_shipment(&app, "SH01").await;
    let waybill = shipment["waybill_no"].as_str().unwrap().to_owned();
    assert_eq!(shipment["carrier"], "sf");

    let delivered = event("sf-evt-1", &waybill, "delivered");
    let r = app.carrier_event(&delivered).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let answer = r.json();
    assert_eq!(answer["applied"], true);
    assert_eq!(answer["duplicate"], false);
    assert_eq!(answer["target"], "shipment");
    assert_eq!(answer["number"], shipment["shipment_no"]);
    assert_eq!(answer["status"], "delivered");
    let now = app.shipment_of(&no, true).await;
    assert_eq!(now["status"], "delivered");
    assert_eq!(now["signed_by"], "Li Wei");

    // The carrier retries the same event: nothing changes.
    let r = app.carrier_event(&delivered).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["duplicate"], true);
    assert_eq!(r.json()["applied"], false);

    // Captured and replayed ten minutes later under a new id: refused as stale.
    let mut stale = event("sf-evt-2", &waybill, "in_transit");
    stale["sent_at"] = json!((chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc3339());
    let r = app.carrier_event(&stale).await;
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json()["type"],
        "https://aftersales.example/problems/stale-webhook"
    );

    // A carrier's own code goes through the adapter; an unknown one names `status`.
    let r = app.carrier_event(&event("sf-evt-3", &waybill, "44")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = app
        .carrier_event(&event("sf-evt-4", &waybill, "teleported"))
        .await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("status"), "{}", r.json());
    // A body without its waybill is refused before anything is asked, naming the field.
    let mut missing = event("sf-evt-5", &waybill, "delivered");
    missing.as_object_mut().unwrap().remove("waybill_no");
    let r = app.carrier_event(&missing).await;
    assert_eq!(r.status, 400);
    assert!(
        violations(&r.json()).contains_key("waybill_no"),
        "{}",
        r.json()
    );
    // A waybill nobody knows.
    let r = app
        .carrier_event(&event("sf-evt-6", "SF-NOBODY", "delivered"))
        .await;
    assert_eq!(r.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn the_carrier_webhook_uses_the_configured_credential_and_a_refused_one_is_the_gateways_503()
{
    let mut app = spawn_full_mesh().await;
    app.stock_up("PWR-55-01", 5).await;
    let (_, shipment) = dispatched_shipment(&app, "SH01").await;
    let waybill = shipment["waybill_no"].as_str().unwrap().to_owned();

    // A credential without the logistics role: logistics refuses it, the carrier retries.
    let wrong = testing::token("gw", "*", &[Role::Analyst]);
    app.restart_gateway(move |_, g| {
        g.gateway.carrier_token = Some(wrong.into());
    })
    .await;
    let r = app
        .carrier_event(&event("sf-cfg-1", &waybill, "in_transit"))
        .await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));

    // Production: no minting, only the configured token.
    let right = testing::token("gw", "*", &[Role::Logistics]);
    app.restart_gateway(move |p, g| {
        p.auth.dev_tokens = false;
        g.gateway.carrier_token = Some(right.into());
    })
    .await;
    let r = app
        .carrier_event(&event("sf-cfg-2", &waybill, "in_transit"))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // Neither a token nor minting: 503 before logistics is asked.
    app.restart_gateway(|p, g| {
        p.auth.dev_tokens = false;
        g.gateway.carrier_token = None;
    })
    .await;
    let r = app
        .carrier_event(&event("sf-cfg-3", &waybill, "in_transit"))
        .await;
    assert_eq!(r.status, 503);
    app.stop().await;
}

#[tokio::test]
async fn a_clerk_records_tracking_by_hand_and_reports_and_closes_an_exception() {
    let app = spawn_full_mesh().await;
    app.stock_up("PWR-55-01", 5).await;
    let (_, shipment) = dispatched_shipment(&app, "SH01").await;
    let path = format!(
        "/v1/shipments/{}",
        shipment["shipment_no"].as_str().unwrap()
    );
    let clerk = logistics_clerk("SH01");

    let entry = json!({"status": "in_transit", "occurred_at": chrono::Utc::now().to_rfc3339(),
                       "location": "Hangzhou hub"});
    let key = uuid::Uuid::new_v4().to_string();
    let r = app
        .post(
            &format!("{path}/events"),
            &clerk,
            &entry,
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["applied"], true);
    let tracking = r.json()["shipment"]["tracking"].clone();
    assert!(
        tracking
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["location"] == "Hangzhou hub" && t["source"] == "staff"),
        "{tracking}"
    );

    // A bad status names the field; nothing reaches logistics.
    let r = app
        .post_new(
            &format!("{path}/events"),
            &clerk,
            &json!({"status": "teleported", "occurred_at": chrono::Utc::now().to_rfc3339()}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("status"));

    let eta = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let r = app
        .post_new(
            &format!("{path}/exceptions"),
            &clerk,
            &json!({"kind": "delay", "detail": "road closed by snow", "new_eta": eta}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let exception = r.json()["exception"].clone();
    assert_eq!(exception["kind"], "delay");
    assert_eq!(exception["resolved"], false);
    let id = exception["exception_id"].as_str().unwrap().to_owned();
    let listed = app
        .get("/v1/shipments?open_exception=true", &clerk)
        .await
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");

    let r = app
        .post_new(
            &format!("{path}/exceptions/{id}/close"),
            &clerk,
            &json!({"resolution": "delivered after all"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["exception"]["resolved"], true);
    assert_eq!(r.json()["exception"]["resolution"], "delivered after all");
    let r = app
        .post_new(
            &format!("{path}/exceptions/{id}/close"),
            &clerk,
            &json!({"resolution": "  "}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("resolution"));

    let freight = app.get("/v1/reports/freight", &clerk).await;
    assert_eq!(
        freight.status,
        200,
        "{}",
        String::from_utf8_lossy(&freight.body)
    );
    assert!(freight.json()["by_method"].is_array());
    app.stop().await;
}

/// The pick-up number on the request's timeline (`Pick-up scheduled (PU-…)`).
pub async fn pickup_of(app: &TestApp, request_no: &str, branch: &str) -> String {
    testing::eventually(WAIT, || async {
        let t = app
            .get(
                &format!("/v1/requests/{request_no}/timeline"),
                &agent(branch),
            )
            .await
            .json();
        t["events"].as_array()?.iter().find_map(|e| {
            let s = e["summary"].as_str()?;
            let start = s.find("PU-")?;
            Some(s[start..].trim_end_matches(')').to_owned())
        })
    })
    .await
    .unwrap_or_else(|| panic!("a pick-up of {request_no}"))
}

/// A return of a television bought three days ago: the demo policy recommends approving it; once
/// approved ([`approve_return`]) logistics books a pick-up at the door.
pub fn a_return(branch: &str) -> Value {
    let bought = (chrono::Utc::now() - chrono::Duration::days(3))
        .date_naive()
        .to_string();
    let mut body = in_warranty(branch, "PWR-55-01");
    body["kind"] = json!("return");
    body["product"]["purchase_date"] = json!(bought);
    body["product"]["invoice_date"] = json!(bought);
    body
}

/// The claim of `no` once it reached `status` (as the reviewer sees it).
async fn claim_in(app: &TestApp, no: &str, status: &str) -> Value {
    testing::eventually(WAIT, || async {
        let r = app.get(&format!("/v1/claims/{no}"), &reviewer()).await;
        (r.status == 200 && r.json()["status"] == status).then(|| r.json())
    })
    .await
    .unwrap_or_else(|| panic!("the claim of {no} is {status}"))
}

/// The reviewer asks the branch for the original payment of `no` (its `pending` claim).
async fn ask_for_payment(app: &TestApp, no: &str, pending: &Value) {
    let r = app
        .post_new(
            &format!("/v1/claims/{no}/decision"),
            &reviewer(),
            &json!({"decision": "request_info", "missing": ["payment"],
                    "expected_version": pending["version"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "info_requested");
}

/// A return's way to approval: the policy does not approve it by itself while the original
/// payment (where the refund goes back) is not on record, so the reviewer asks for it, the
/// branch's agent gives it, and the reviewer approves (`own_reasons`: the customer changed
/// their mind, so the service fee applies).
pub async fn approve_return(app: &TestApp, no: &str, branch: &str, own_reasons: bool) {
    let pending = claim_in(app, no, "pending").await;
    assert_eq!(pending["kind"], "return");
    assert_eq!(pending["recommendation"], "approve");
    assert!(pending["payment"].is_null());
    ask_for_payment(app, no, &pending).await;
    let payment = json!({"payment": {"method": "wallet", "reference": "WX-4200017301",
        "amount": {"currency": "CNY", "amount_minor": 399_900}}});
    let r = app
        .post_new(&format!("/v1/claims/{no}/info"), &agent(branch), &payment)
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "pending");
    assert_eq!(r.json()["payment"]["amount"]["amount_minor"], 399_900);
    let r = app
        .post_new(
            &format!("/v1/claims/{no}/decision"),
            &reviewer(),
            &json!({"decision": "approve", "own_reasons": own_reasons,
                    "expected_version": r.json()["version"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "approved");
    assert_eq!(r.json()["own_reasons"], own_reasons);
}

#[tokio::test]
async fn a_return_gets_its_payment_from_the_branch_before_approval_and_bad_payments_are_named() {
    let app = spawn_full_mesh().await;
    let no = app.submit("SH01", &a_return("SH01")).await;
    let pending = claim_in(&app, &no, "pending").await;
    let last = pending["explanation"].as_array().unwrap().last().unwrap();
    assert!(
        last.as_str().unwrap().contains("original payment"),
        "{last}"
    );
    // Only a claim that asked for information takes it.
    let payment = json!({"payment": {"method": "card", "reference": "POS-1",
        "amount": {"currency": "CNY", "amount_minor": 399_900}}});
    let r = app
        .post_new(&format!("/v1/claims/{no}/info"), &agent("SH01"), &payment)
        .await;
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    ask_for_payment(&app, &no, &pending).await;
    // Bad fields are named, nothing is stored; another branch's agent does not see the claim.
    let bad = json!({"payment": {"method": "cheque", "amount": {"currency": "yuan", "amount_minor": -1}}});
    let r = app
        .post_new(&format!("/v1/claims/{no}/info"), &agent("SH01"), &bad)
        .await;
    assert!(r.status == 400 || r.status == 422, "{}", r.status);
    let fields = violations(&r.json());
    assert!(fields.keys().any(|f| f.contains("method")), "{fields:?}");
    let r = app
        .post_new(&format!("/v1/claims/{no}/info"), &agent("BJ02"), &payment)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        claim_in(&app, &no, "info_requested").await["payment"],
        Value::Null
    );
    let r = app
        .post_new(&format!("/v1/claims/{no}/info"), &agent("SH01"), &payment)
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["payment"]["method"], "card");
    assert_eq!(r.json()["payment"]["reference"], "POS-1");
    // No refund before the unit is back and inspected.
    let r = app
        .get(&format!("/v1/claims/{no}/refund"), &agent("SH01"))
        .await;
    assert_eq!(r.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn an_approved_return_is_picked_up_completed_its_unit_inspected_at_the_returns_intake_and_refunded()
 {
    let app = spawn_full_mesh().await;
    let no = app.submit("SH01", &a_return("SH01")).await;
    approve_return(&app, &no, "SH01", true).await;
    let pickup_no = pickup_of(&app, &no, "SH01").await;
    let path = format!("/v1/pickups/{pickup_no}");
    let r = app.get(&path, &agent("SH01")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "scheduled");
    assert_eq!(r.json()["request_no"], no.as_str());
    assert_eq!(app.get(&path, &agent("BJ02")).await.status, 404);

    // The returns intake's clerk confirms the arrival (a branch agent may not).
    let done = json!({"items": ["remote control"], "note": "box opened"});
    let r = app
        .post_new(&format!("{path}/complete"), &agent("SH01"), &done)
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .post_new(&format!("{path}/complete"), &clerk(), &done)
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "delivered");

    // The warehouse books the unit by itself on the completion; booking it again at the counter
    // answers with the unit received already.
    let r = app
        .post_new(
            "/v1/returns",
            &clerk(),
            &json!({"request_no": no, "pickup_no": pickup_no, "part_no": "PWR-55-01",
                    "serial": "SN12345678", "model": "X55"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let unit = r.json();
    assert_eq!(unit["request_no"], no.as_str());
    let return_id = unit["return_id"].as_str().unwrap().to_owned();
    // It waits on the returns intake's work list (head office's: a branch clerk may not read it).
    let waiting = app
        .get(&format!("/v1/returns?request_no={no}"), &clerk())
        .await;
    assert_eq!(
        waiting.status,
        200,
        "{}",
        String::from_utf8_lossy(&waiting.body)
    );
    assert_eq!(waiting.json()["items"][0]["return_id"], return_id.as_str());
    assert_eq!(waiting.json()["items"][0]["status"], "received");
    assert_eq!(
        app.get(
            "/v1/returns",
            &token_of("clerk-sh01", "SH01", Role::Warehouse)
        )
        .await
        .status,
        403
    );
    let r = app.get("/v1/returns?status=lost", &clerk()).await;
    assert!(violations(&r.json()).contains_key("status"), "{}", r.status);
    // The returns intake is head office's.
    let branch_clerk = token_of("clerk-sh01", "SH01", Role::Warehouse);
    let inspection = json!({"accessories": [{"part_no": "RMT-01", "name": "remote control",
        "expected": 1, "present": 0}], "resaleable": true, "inspection_note": "remote missing"});
    let r = app
        .post_new(
            &format!("/v1/returns/{return_id}/inspection"),
            &branch_clerk,
            &inspection,
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .post_new(
            &format!("/v1/returns/{return_id}/inspection"),
            &clerk(),
            &inspection,
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "inspected");
    assert_eq!(r.json()["zone"], "qualified");
    assert_eq!(r.json()["accessories"][0]["present"], 0);
    let waiting = app
        .get(&format!("/v1/returns?request_no={no}"), &clerk())
        .await;
    assert_eq!(waiting.json()["items"].as_array().unwrap().len(), 0);

    // The refund: the price paid, less the missing remote at the policy's price, less the
    // service fee of a return for the customer's own reasons; back to the wallet it came from.
    let refund = testing::eventually(WAIT, || async {
        let r = app
            .get(&format!("/v1/claims/{no}/refund"), &agent("SH01"))
            .await;
        (r.status == 200).then(|| r.json())
    })
    .await
    .expect("the refund is authorized");
    assert_eq!(refund["gross"]["amount_minor"], 399_900);
    assert_eq!(refund["return_id"], return_id.as_str());
    assert_eq!(refund["payment"]["method"], "wallet");
    let deductions = refund["deductions"].as_array().unwrap();
    let remote = deductions
        .iter()
        .find(|d| d["reason"] == "missing_accessory")
        .expect("the remote is deducted");
    assert_eq!(remote["part_no"], "RMT-01");
    assert!(remote["amount"]["amount_minor"].as_i64().unwrap() > 0);
    let fee = refund["service_fee"]["amount_minor"].as_i64().unwrap();
    assert!(fee > 0, "own reasons: a service fee");
    let total: i64 = deductions
        .iter()
        .map(|d| d["amount"]["amount_minor"].as_i64().unwrap())
        .sum();
    assert_eq!(refund["amount"]["amount_minor"], 399_900 - total);
    assert_eq!(
        app.get(&format!("/v1/claims/{no}/refund"), &agent("BJ02"))
            .await
            .status,
        404
    );
    app.stop().await;
}
