use aftersales_platform::auth::{Role, mint_hs256};
use aftersales_platform::testing;

use crate::helpers::{agent, head_office, request_body, spawn_app};

#[tokio::test]
async fn a_missing_expired_or_forged_token_answers_401() {
    let app = spawn_app().await;
    let no_token = app.send("GET", "/v1/requests", None, &[], None).await;
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.header("content-type"), "application/problem+json");
    assert!(no_token.header("www-authenticate").starts_with("Bearer"));

    let expired = testing::expired_token("a", "SH01", &[Role::BranchAgent]);
    assert_eq!(app.get("/v1/requests", &expired).await.status, 401);

    let forged = mint_hs256(
        "another-secret-entirely-x",
        "mallory",
        "*",
        &[Role::Admin],
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(app.get("/v1/requests", &forged).await.status, 401);
    assert_eq!(app.get("/v1/requests", "not.a.jwt").await.status, 401);
    app.stop().await;
}

#[tokio::test]
async fn a_role_that_may_not_submit_gets_403() {
    let app = spawn_app().await;
    let technician = testing::token("tech", "SH01", &[Role::Technician]);
    let r = app
        .post("/v1/requests", &technician, &request_body("SH01"), &[])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-type"), "application/problem+json");
    // Reading is fine for the same caller.
    assert_eq!(app.get("/v1/requests", &technician).await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_branch_sees_only_its_own_requests() {
    let app = spawn_app().await;
    let ours = app.create("SH01").await["request_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = app.create("BJ02").await["request_no"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another branch's request does not exist for us.
    for path in [
        format!("/v1/requests/{theirs}"),
        format!("/v1/requests/{theirs}/timeline"),
    ] {
        let r = app.get(&path, &agent("SH01")).await;
        assert_eq!(r.status, 404, "{path}");
    }
    let cancel = app
        .post(
            &format!("/v1/requests/{theirs}/cancel"),
            &agent("SH01"),
            &serde_json::json!({}),
            &[],
        )
        .await;
    assert_eq!(cancel.status, 404);

    // The list never shows it, whatever we ask for.
    for query in ["", "?branch=BJ02", "?status=submitted"] {
        let r = app
            .get(&format!("/v1/requests{query}"), &agent("SH01"))
            .await;
        if r.status == 200 {
            let items = r.json()["items"].as_array().unwrap().clone();
            assert!(
                items.iter().all(|i| i["branch"] == "SH01"),
                "{query}: {items:?}"
            );
        } else {
            assert!(r.status == 403 || r.status == 404, "{query}: {}", r.status);
        }
    }
    let mine = app.get("/v1/requests", &agent("SH01")).await.json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["request_no"], ours.as_str());

    // Head office sees both.
    let all = app.get("/v1/requests", &head_office()).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    app.stop().await;
}
