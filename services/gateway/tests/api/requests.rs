use serde_json::json;

use crate::helpers::{agent, request_body, spawn_app, violations};

#[tokio::test]
async fn a_request_is_created_read_listed_and_traced_through_http() {
    // Arrange
    let app = spawn_app().await;
    let token = agent("SH01");

    // Act: create
    let r = app
        .post("/v1/requests", &token, &request_body("SH01"), &[])
        .await;

    // Assert: 201 with the DESIGN §8 shape
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let created = r.json();
    let no = created["request_no"].as_str().unwrap().to_owned();
    assert!(no.starts_with("AS-") && no.contains("-SH01-"), "{no}");
    assert_eq!(created["status"], "submitted");
    assert_eq!(created["channel"], "hotline");
    assert_eq!(created["kind"], "replacement");
    assert_eq!(created["urgency"], "normal");
    assert_eq!(created["customer"]["region"], "urban");
    assert_eq!(created["parts"][0]["part_no"], "PWR-55-01");
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r.header("location"), format!("/v1/requests/{no}"));

    // get
    let got = app.get(&format!("/v1/requests/{no}"), &token).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["request_no"], no.as_str());
    assert_eq!(got.json()["product"]["model"], "X55");

    // list, filtered by status, and by a status it does not have
    let list = app.get("/v1/requests?status=submitted", &token).await;
    assert_eq!(list.status, 200);
    let items = list.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["request_no"], no.as_str());
    assert!(list.json()["next_page_token"].is_string());
    let none = app
        .get("/v1/requests?status=closed,cancelled", &token)
        .await;
    assert_eq!(none.json()["items"].as_array().unwrap().len(), 0);

    // timeline
    let tl = app
        .get(&format!("/v1/requests/{no}/timeline"), &token)
        .await;
    assert_eq!(tl.status, 200);
    let events = tl.json()["events"].as_array().unwrap().clone();
    assert_eq!(events[0]["type"], "intake.request.submitted");
    assert!(events[0]["at"].is_string());
    app.stop().await;
}

#[tokio::test]
async fn a_list_pages_with_page_token() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.create("SH01").await;
    }
    let first = app
        .get("/v1/requests?page_size=2", &agent("SH01"))
        .await
        .json();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let token = first["next_page_token"].as_str().unwrap();
    assert!(!token.is_empty());
    let second = app
        .get(
            &format!("/v1/requests?page_size=2&page_token={token}"),
            &agent("SH01"),
        )
        .await
        .json();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_cancelled_request_says_so_and_cannot_be_cancelled_into_another_state() {
    let app = spawn_app().await;
    let no = app.create("SH01").await["request_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post(
            &format!("/v1/requests/{no}/cancel"),
            &agent("SH01"),
            &json!({"reason": "customer fixed it"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "cancelled");
    app.stop().await;
}

#[tokio::test]
async fn bad_fields_answer_400_problem_json_naming_every_field() {
    let app = spawn_app().await;
    let mut body = request_body("SH01");
    body["customer"]["phone"] = json!("call me maybe");
    body["parts"][0]["quantity"] = json!(0);
    body.as_object_mut().unwrap().remove("channel");
    let r = app.post("/v1/requests", &agent("SH01"), &body, &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), "application/problem+json");
    let v = violations(&r.json());
    assert!(v.contains_key("customer.phone"), "{v:?}");
    assert!(v.contains_key("channel"), "{v:?}");
    assert!(
        v.keys().any(|k| k.starts_with("parts[0].quantity")),
        "{v:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn json_errors_name_the_field_and_why_and_nothing_panics() {
    let app = spawn_app().await;
    let token = agent("SH01");
    let mut body = request_body("SH01");
    body["customer"]["region"] = json!("mars");
    let r = app.post("/v1/requests", &token, &body, &[]).await;
    assert_eq!(r.status, 400);
    let v = violations(&r.json());
    assert!(v["customer.region"].contains("unknown variant"), "{v:?}");

    let mut body = request_body("SH01");
    body["parts"][0]["quantity"] = json!("one");
    let r = app.post("/v1/requests", &token, &body, &[]).await;
    assert!(violations(&r.json()).contains_key("parts[0].quantity"));

    for garbage in [
        &b"{"[..],
        b"[]",
        b"null",
        b"\xff\xfe",
        b"{\"photos\": {}}",
        b"1e999999",
    ] {
        let r = app
            .send(
                "POST",
                "/v1/requests",
                Some(&token),
                &[],
                Some(garbage.to_vec()),
            )
            .await;
        assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(garbage));
        assert_eq!(r.header("content-type"), "application/problem+json");
    }
    let r = app.get("/v1/requests?status=lost", &token).await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("status"));
    let r = app.get("/v1/requests/not-a-number", &token).await;
    assert!(r.status == 400 || r.status == 404, "{}", r.status);
    app.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let app = spawn_app().await;
    let mut body = request_body("SH01");
    body["fault_description"] = json!("x".repeat(2 * 1024 * 1024));
    let r = app.post("/v1/requests", &agent("SH01"), &body, &[]).await;
    assert_eq!(r.status, 413);
    app.stop().await;
}

#[tokio::test]
async fn the_stuck_filter_lists_only_overdue_requests_and_refuses_anything_but_a_boolean() {
    // A request just submitted is within its window (intake's stuck test makes one overdue): it
    // is listed without the filter, has its last step and no `stuck` mark, and is not listed
    // with `stuck=true`.
    let app = spawn_app().await;
    let token = agent("SH01");
    let created = app.create("SH01").await;
    let no = created["request_no"].as_str().unwrap().to_owned();
    let r = app.get(&format!("/v1/requests/{no}"), &token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["last_step"], "intake.request.submitted");
    assert!(r.json().get("stuck").is_none(), "{}", r.json());
    let all = app.get("/v1/requests?stuck=false", &token).await;
    assert_eq!(all.status, 200);
    assert!(
        all.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["request_no"] == no.as_str())
    );
    let stuck = app.get("/v1/requests?stuck=true", &token).await;
    assert_eq!(stuck.status, 200);
    assert_eq!(stuck.json()["items"], json!([]));
    let bad = app.get("/v1/requests?stuck=yes", &token).await;
    assert_eq!(bad.status, 400);
    assert!(
        violations(&bad.json()).contains_key("stuck"),
        "{}",
        bad.json()
    );
    app.stop().await;
}
