use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use aftersales_platform::auth::Role;
use aftersales_platform::testing;

use crate::helpers::{agent, spawn_app};

#[tokio::test]
async fn a_peer_that_is_down_answers_503_problem_json() {
    let app = spawn_app().await;
    let reviewer = testing::token("rev", "*", &[Role::Reviewer]);
    let r = app.get("/v1/claims/AS-2611-SH01-000001", &reviewer).await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "application/problem+json");
    let r = app.get("/v1/stock/PWR-55-01", &agent("SH01")).await;
    assert_eq!(r.status, 503);
    let r = app.get("/v1/claims?status=pending", &reviewer).await;
    assert_eq!(r.status, 503);
    let r = app.get("/v1/claims?status=lost", &reviewer).await;
    assert_eq!(r.status, 400);
    // A decision is checked before the peer is asked.
    let r = app
        .post(
            "/v1/claims/AS-2611-SH01-000001/decision",
            &reviewer,
            &json!({"decision": "perhaps"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post(
            "/v1/claims/AS-2611-SH01-000001/decision",
            &agent("SH01"),
            &json!({"decision": "approve"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    app.stop().await;
}

#[tokio::test]
async fn a_carrier_webhook_needs_a_valid_signature_and_answers_503_while_logistics_is_down() {
    let app = spawn_app().await;
    let body = json!({"event_id": "sf-1", "sent_at": chrono::Utc::now().to_rfc3339(),
        "waybill_no": "SF123", "status": "in_transit",
        "occurred_at": chrono::Utc::now().to_rfc3339()})
    .to_string()
    .into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"carrier-secret-of-sf-express").unwrap();
    mac.update(&body);
    let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));

    let unsigned = app
        .send(
            "POST",
            "/v1/carriers/sf/events",
            None,
            &[],
            Some(body.clone()),
        )
        .await;
    assert_eq!(unsigned.status, 401);
    let forged = app
        .send(
            "POST",
            "/v1/carriers/sf/events",
            None,
            &[("x-signature", "sha256=00ff")],
            Some(body.clone()),
        )
        .await;
    assert_eq!(forged.status, 401);
    let unknown = app
        .send(
            "POST",
            "/v1/carriers/nobody/events",
            None,
            &[("x-signature", &good)],
            Some(body.clone()),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let signed = app
        .send(
            "POST",
            "/v1/carriers/sf/events",
            None,
            &[("x-signature", &good)],
            Some(body),
        )
        .await;
    assert_eq!(
        signed.status,
        503,
        "{}",
        String::from_utf8_lossy(&signed.body)
    );
    assert_eq!(signed.header("content-type"), "application/problem+json");
    assert!(
        signed.json()["detail"]
            .as_str()
            .unwrap()
            .contains("logistics is unavailable")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_docs_and_board_are_served() {
    let app = spawn_app().await;
    let doc = app.send("GET", "/openapi.json", None, &[], None).await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/requests"]["post"].is_object());
    for (path, method) in [
        ("/v1/receipts", "post"),
        ("/v1/receipts/{receipt_id}/inspection", "post"),
        ("/v1/pick-lists/{pick_list_id}", "get"),
        ("/v1/pick-lists/{pick_list_id}/issue", "post"),
        ("/v1/stocktakes", "post"),
        ("/v1/stocktakes/{stocktake_id}/counts", "post"),
        ("/v1/stocktakes/{stocktake_id}/close", "post"),
        ("/v1/ledger", "get"),
        ("/v1/backorders", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    // Every documented path is routed (a documented route the router lacks would 404 here).
    for path in doc["paths"].as_object().unwrap().keys() {
        let concrete = path
            .replace("{request_no}", "AS-2611-SH01-000001")
            .replace("{part_no}", "X")
            .replace("{carrier}", "sf")
            .replace("{receipt_id}", "RC-1")
            .replace("{pick_list_id}", "PL-AS-2611-SH01-000001")
            .replace("{stocktake_id}", "ST-1");
        if concrete.contains("stream") {
            continue;
        }
        let r = app.send("GET", &concrete, None, &[], None).await;
        assert_ne!(r.status, 404, "{path} is documented but not routed");
    }
    let docs = app.send("GET", "/docs", None, &[], None).await;
    assert_eq!(docs.status, 200);
    let board = app.send("GET", "/board", None, &[], None).await;
    assert_eq!(board.status, 200);
    let script = app.send("GET", "/board.js", None, &[], None).await;
    assert!(String::from_utf8_lossy(&script.body).contains("EventSource"));
    let wrong_method = app.send("DELETE", "/board", None, &[], None).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(
        wrong_method.header("content-type"),
        "application/problem+json"
    );
    let unknown = app.send("GET", "/nowhere", None, &[], None).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.header("content-type"), "application/problem+json");
    app.stop().await;
}
