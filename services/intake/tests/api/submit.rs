use std::collections::BTreeSet;
use std::time::Duration;

use aftersales_platform::proto::intake::v1 as pb;
use prost::Message;

use crate::helpers::{spawn_app, submission};

#[tokio::test]
async fn a_submission_is_numbered_stored_and_announced_in_one_go() {
    let app = spawn_app().await;
    let mut events = app.subscribe("intake.#").await;
    let mut client = app.agent("SH01").await;

    let res = client
        .submit_request(submission("SH01"))
        .await
        .unwrap()
        .into_inner();
    let r = res.request.unwrap();
    assert!(res.created);
    let period = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%y%m")
        .to_string();
    assert_eq!(r.request_no, format!("AS-{period}-SH01-000001"));
    assert_eq!(r.status, pb::RequestStatus::Submitted as i32);
    assert_eq!(r.submitted_by, "agent-SH01");

    let env = tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(env.routing_key, "intake.request.submitted");
    assert_eq!(env.subject, r.request_no);
    assert_eq!(env.branch, "SH01");
    let payload = pb::RequestSubmitted::decode(env.payload.as_slice()).unwrap();
    assert_eq!(
        payload.request.unwrap().product.unwrap().serial,
        "SN12345678"
    );

    let fetched = client
        .get_request(pb::GetRequestRequest {
            request_no: r.request_no.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    assert_eq!(fetched, r);
    app.stop().await;
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_first_request_and_stores_one() {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let sub = submission("SH01");
    let first = client
        .submit_request(sub.clone())
        .await
        .unwrap()
        .into_inner();
    let again = client
        .submit_request(sub.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(first.created && !again.created);
    assert_eq!(
        first.request.unwrap().request_no,
        again.request.unwrap().request_no
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM requests").await, 1);
    assert_eq!(app.count("SELECT count(*)::bigint FROM outbox").await, 1);

    let mut different = sub.clone();
    different.fault_description = "makes a noise".into();
    let err = client.submit_request(different).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
    assert!(err.message().contains("idempotency_key"));
    app.stop().await;
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_request() {
    let app = spawn_app().await;
    let client = app.agent("SH01").await;
    let sub = submission("SH01");
    let calls = (0..20).map(|_| {
        let mut c = client.clone();
        let s = sub.clone();
        tokio::spawn(async move { c.submit_request(s).await.map(|r| r.into_inner()) })
    });
    let results: Vec<_> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let numbers: BTreeSet<_> = results
        .iter()
        .map(|r| r.request.as_ref().unwrap().request_no.clone())
        .collect();
    assert_eq!(numbers.len(), 1);
    assert_eq!(results.iter().filter(|r| r.created).count(), 1);
    assert_eq!(app.count("SELECT count(*)::bigint FROM requests").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn two_hundred_concurrent_submissions_for_one_branch_get_gap_free_distinct_numbers() {
    let app = spawn_app().await;
    let client = app.agent("SH01").await;
    let calls = (0..200).map(|_| {
        let mut c = client.clone();
        tokio::spawn(async move {
            c.submit_request(submission("SH01"))
                .await
                .map(|r| r.into_inner().request.unwrap().request_no)
        })
    });
    let numbers: Vec<String> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let mut seqs: Vec<i64> = numbers
        .iter()
        .map(|n| n.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=200).collect::<Vec<_>>(),
        "200 distinct numbers 1..=200, no gap"
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM requests").await,
        200
    );

    // Another branch counts on its own.
    let mut bj = app.agent("BJ02").await;
    let r = bj
        .submit_request(submission("BJ02"))
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    assert!(r.request_no.ends_with("-BJ02-000001"), "{}", r.request_no);
    app.stop().await;
}
