//! Optimistic concurrency in HTTP terms (issue 13): a claim's version is its `ETag`; a decision
//! is conditional on it, as `If-Match` (a stale one answers 412) or as the body's
//! `expected_version` (a stale one answers 409, as before); without either, 428.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, agent, request_body, reviewer, spawn_mesh};

const WAIT: Duration = Duration::from_secs(60);

/// A request whose claim waits for a person (misuse suspected); its number once the claim is
/// pending.
async fn pending_claim(app: &TestApp) -> String {
    let mut body = request_body("SH01");
    let bought = (chrono::Utc::now() - chrono::Duration::days(10))
        .date_naive()
        .to_string();
    body["product"]["purchase_date"] = json!(bought);
    body["product"]["invoice_date"] = json!(bought);
    body["misuse_suspected"] = json!(true);
    let r = app.post("/v1/requests", &agent("SH01"), &body, &[]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let no = r.json()["request_no"].as_str().unwrap().to_owned();
    crate::helpers::testing_eventually(WAIT, || async {
        let r = app.get(&format!("/v1/claims/{no}"), &reviewer()).await;
        (r.status == 200 && r.json()["status"] == "pending").then_some(())
    })
    .await
    .expect("the claim is pending");
    no
}

async fn decide(
    app: &TestApp,
    no: &str,
    body: Value,
    if_match: Option<&str>,
) -> crate::helpers::TestResponse {
    let mut headers = vec![];
    if let Some(v) = if_match {
        headers.push(("if-match", v));
    }
    app.post(
        &format!("/v1/claims/{no}/decision"),
        &reviewer(),
        &body,
        &headers,
    )
    .await
}

#[tokio::test]
async fn a_decision_needs_the_claims_etag_and_a_stale_one_is_412_while_a_stale_body_version_stays_409()
 {
    // Arrange: a pending claim and its ETag.
    let app = spawn_mesh().await;
    let no = pending_claim(&app).await;
    let claim = app.get(&format!("/v1/claims/{no}"), &reviewer()).await;
    let version = claim.json()["version"].as_u64().unwrap();
    let etag = claim.header("etag").to_owned();
    assert_eq!(etag, format!("\"{version}\""));

    // Neither If-Match nor expected_version: 428, and nothing is decided.
    let r = decide(&app, &no, json!({"decision": "approve"}), None).await;
    assert_eq!(r.status, 428, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "application/problem+json");

    // A stale If-Match: 412.
    let stale = format!("\"{}\"", version + 7);
    let r = decide(&app, &no, json!({"decision": "approve"}), Some(&stale)).await;
    assert_eq!(r.status, 412, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "application/problem+json");
    // If-Match and expected_version that disagree: 422 naming the field.
    let r = decide(
        &app,
        &no,
        json!({"decision": "approve", "expected_version": version + 1}),
        Some(&etag),
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(crate::helpers::violations(&r.json()).contains_key("expected_version"));
    let still = app
        .get(&format!("/v1/claims/{no}"), &reviewer())
        .await
        .json();
    assert_eq!(still["status"], "pending", "nothing was decided yet");

    // Act: the current ETag decides, and the answer carries the new one.
    let r = decide(
        &app,
        &no,
        json!({"decision": "approve", "note": "photos checked"}),
        Some(&etag),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let decided = r.json();
    assert_eq!(decided["status"], "approved");
    assert_eq!(
        r.header("etag"),
        format!("\"{}\"", decided["version"].as_u64().unwrap())
    );
    assert_ne!(r.header("etag"), etag);

    // Assert: the old ETag is now stale (412); the old version in the body is a 409 conflict.
    let r = decide(
        &app,
        &no,
        json!({"decision": "request_info", "missing": ["photos"]}),
        Some(&etag),
    )
    .await;
    assert_eq!(r.status, 412);
    let r = decide(
        &app,
        &no,
        json!({"decision": "request_info", "missing": ["photos"], "expected_version": version}),
        None,
    )
    .await;
    assert_eq!(r.status, 409);
    app.stop().await;
}
