use serde_json::json;

use crate::helpers::{agent, head_office, request_body, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_replayed_post_returns_the_same_body_and_creates_one_request() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let headers = [("idempotency-key", key.as_str())];

    let first = app
        .post(
            "/v1/requests",
            &agent("SH01"),
            &request_body("SH01"),
            &headers,
        )
        .await;
    let second = app
        .post(
            "/v1/requests",
            &agent("SH01"),
            &request_body("SH01"),
            &headers,
        )
        .await;

    assert_eq!(first.status, 201);
    assert_eq!(second.status, 201);
    assert_eq!(first.body, second.body);
    assert_eq!(second.header("idempotent-replayed"), "true");
    assert_eq!(second.header("location"), first.header("location"));
    let all = app.get("/v1/requests", &head_office()).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_same_key_with_a_different_body_answers_422() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let headers = [("idempotency-key", key.as_str())];
    let first = app
        .post(
            "/v1/requests",
            &agent("SH01"),
            &request_body("SH01"),
            &headers,
        )
        .await;
    assert_eq!(first.status, 201);

    let mut other = request_body("SH01");
    other["fault_description"] = json!("no sound either");
    let r = app
        .post("/v1/requests", &agent("SH01"), &other, &headers)
        .await;

    assert_eq!(r.status, 422);
    assert_eq!(r.header("content-type"), "application/problem+json");
    let all = app.get("/v1/requests", &head_office()).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_stored_response_is_kept_under_the_tests_prefix_with_a_ttl() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    app.post(
        "/v1/requests",
        &agent("SH01"),
        &request_body("SH01"),
        &[("idempotency-key", key.as_str())],
    )
    .await;
    let keys = app.redis_keys().await;
    let key = keys
        .iter()
        .find(|k| k.contains(":idem:"))
        .unwrap_or_else(|| panic!("no idempotency record in {keys:?}"));
    let client = redis::Client::open(crate::helpers::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 23 * 3600 && ttl <= 24 * 3600, "ttl {ttl}");
    app.stop().await;
}

#[tokio::test]
async fn without_redis_requests_are_still_served_and_a_retry_still_creates_one_request() {
    // Sabotage: Redis points at a port where nothing listens.
    let app = spawn_app_with(|p, _| {
        let r = p.redis.as_mut().expect("the gateway has redis");
        r.url = "redis://127.0.0.1:1".to_owned().into();
        r.command_timeout_ms = 200;
    })
    .await;
    let key = uuid::Uuid::new_v4().to_string();
    let headers = [("idempotency-key", key.as_str())];

    let first = app
        .post(
            "/v1/requests",
            &agent("SH01"),
            &request_body("SH01"),
            &headers,
        )
        .await;
    let retry = app
        .post(
            "/v1/requests",
            &agent("SH01"),
            &request_body("SH01"),
            &headers,
        )
        .await;

    assert_eq!(
        first.status,
        201,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    // Intake's own idempotency (the gateway derives its key from the caller's) holds.
    assert!(
        retry.status == 200 || retry.status == 201,
        "{}",
        retry.status
    );
    assert_eq!(retry.json()["request_no"], first.json()["request_no"]);
    let all = app.get("/v1/requests", &head_office()).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    let metrics = app.admin("/metrics").await;
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains("aftersales_redis_degraded_total{feature=\"idempotency\"}"),
        "{text}"
    );
    assert!(text.contains("aftersales_redis_degraded_total{feature=\"rate_limit\"}"));
    app.stop().await;
}

#[tokio::test]
async fn the_same_subject_and_key_in_another_branch_is_a_new_request_not_a_replay() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let headers = [("idempotency-key", key.as_str())];
    // The same person, acting for two branches, with the same body (its branch is the token's).
    let mut body = request_body("SH01");
    body.as_object_mut().unwrap().remove("branch");
    let sh01 = aftersales_platform::testing::token(
        "agent-7",
        "SH01",
        &[aftersales_platform::auth::Role::BranchAgent],
    );
    let bj02 = aftersales_platform::testing::token(
        "agent-7",
        "BJ02",
        &[aftersales_platform::auth::Role::BranchAgent],
    );

    let first = app.post("/v1/requests", &sh01, &body, &headers).await;
    let second = app.post("/v1/requests", &bj02, &body, &headers).await;

    assert_eq!(first.status, 201);
    assert_eq!(
        second.status,
        201,
        "{}",
        String::from_utf8_lossy(&second.body)
    );
    assert_eq!(second.header("idempotent-replayed"), "");
    assert_eq!(first.json()["branch"], "SH01");
    assert_eq!(second.json()["branch"], "BJ02", "not SH01's stored answer");
    app.stop().await;
}

#[tokio::test]
async fn a_replay_checks_the_callers_role_again_and_a_removed_role_gets_403() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let headers = [("idempotency-key", key.as_str())];
    let agent = aftersales_platform::testing::token(
        "agent-9",
        "SH01",
        &[aftersales_platform::auth::Role::BranchAgent],
    );
    let first = app
        .post("/v1/requests", &agent, &request_body("SH01"), &headers)
        .await;
    assert_eq!(first.status, 201);

    // The same person after the role was taken away (a new token without it).
    let demoted = aftersales_platform::testing::token(
        "agent-9",
        "SH01",
        &[aftersales_platform::auth::Role::Technician],
    );
    let retry = app
        .post("/v1/requests", &demoted, &request_body("SH01"), &headers)
        .await;

    assert_eq!(
        retry.status,
        403,
        "{}",
        String::from_utf8_lossy(&retry.body)
    );
    assert_eq!(retry.header("idempotent-replayed"), "");
    assert!(
        !String::from_utf8_lossy(&retry.body).contains("Li Wei"),
        "no customer data from the stored answer"
    );
    // With the role back, the retry is the stored answer.
    let again = app
        .post("/v1/requests", &agent, &request_body("SH01"), &headers)
        .await;
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(again.body, first.body);
    app.stop().await;
}

#[tokio::test]
async fn a_post_the_gate_refuses_gives_its_key_back_for_the_corrected_request() {
    // The key is claimed with the rate limiter's tokens, before the gate reads the body; a
    // request the gate refuses must not keep it (pending, or under its own fingerprint).
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let headers = [("idempotency-key", key.as_str())];
    let mut bad = request_body("SH01");
    bad["channel"] = json!("carrier pigeon");

    let refused = app
        .post("/v1/requests", &agent("SH01"), &bad, &headers)
        .await;
    assert_eq!(
        refused.status,
        400,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    assert!(String::from_utf8_lossy(&refused.body).contains("channel"));
    assert!(
        !app.redis_keys().await.iter().any(|k| k.contains(":idem:")),
        "the refused request left its key claimed"
    );

    let corrected = app
        .post(
            "/v1/requests",
            &agent("SH01"),
            &request_body("SH01"),
            &headers,
        )
        .await;
    assert_eq!(
        corrected.status,
        201,
        "{}",
        String::from_utf8_lossy(&corrected.body)
    );
    let replay = app
        .post(
            "/v1/requests",
            &agent("SH01"),
            &request_body("SH01"),
            &headers,
        )
        .await;
    assert_eq!(replay.header("idempotent-replayed"), "true");
    assert_eq!(replay.body, corrected.body);
    let all = app.get("/v1/requests", &head_office()).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}
