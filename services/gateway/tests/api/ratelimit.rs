use std::time::Duration;

use aftersales_platform::testing;

use crate::helpers::{agent, spawn_app_with};

#[tokio::test]
async fn a_branch_over_its_rate_gets_429_with_retry_after_then_recovers() {
    let app = spawn_app_with(|_, c| {
        c.gateway.rate_limit_burst = 3;
        c.gateway.rate_limit_per_second = 2;
    })
    .await;
    let token = agent("SH01");

    // Drain the bucket: some request among the next ten must be refused.
    let mut refused = None;
    for _ in 0..10 {
        let r = app.get("/v1/requests", &token).await;
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status, 200);
    }
    let refused = refused.expect("the bucket ran dry");
    assert_eq!(refused.header("content-type"), "application/problem+json");
    let retry_after: u64 = refused.header("retry-after").parse().unwrap();
    assert!(retry_after >= 1);

    // Another branch has its own bucket.
    assert_eq!(app.get("/v1/requests", &agent("BJ02")).await.status, 200);

    // The bucket refills.
    let recovered = testing::eventually(Duration::from_secs(20), || async {
        (app.get("/v1/requests", &token).await.status == 200).then_some(())
    })
    .await;
    assert!(recovered.is_some(), "the branch never got through again");
    app.stop().await;
}

#[tokio::test]
async fn one_caller_over_its_own_limit_does_not_starve_the_rest_of_its_branch() {
    let app = spawn_app_with(|_, c| {
        c.gateway.rate_limit_caller_burst = 3;
        c.gateway.rate_limit_caller_per_second = 1;
        c.gateway.rate_limit_burst = 1000;
        c.gateway.rate_limit_per_second = 500;
    })
    .await;
    let greedy = testing::token(
        "greedy",
        "SH01",
        &[aftersales_platform::auth::Role::BranchAgent],
    );
    let colleague = testing::token(
        "colleague",
        "SH01",
        &[aftersales_platform::auth::Role::BranchAgent],
    );

    // The greedy client runs into its own limit.
    let mut refused = None;
    for _ in 0..10 {
        let r = app.get("/v1/requests", &greedy).await;
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status, 200);
    }
    let refused = refused.expect("the caller's bucket ran dry");
    assert_eq!(refused.header("content-type"), "application/problem+json");
    assert!(refused.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("this caller"),
        "{}",
        refused.json()
    );

    // Its colleague in the same branch is served at once, several times over.
    for _ in 0..3 {
        assert_eq!(app.get("/v1/requests", &colleague).await.status, 200);
    }
    app.stop().await;
}
