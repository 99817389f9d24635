use aftersales_platform::auth::Role;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as pb;
use aftersales_platform::testing;

use crate::helpers::{spawn_app, submission, submit};

#[tokio::test]
async fn pages_walk_every_request_newest_first_without_repeats() {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(submit(&mut client, "SH01").await.request_no);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_requests(pb::ListRequestsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.requests.len() <= 2);
        seen.extend(page.requests.into_iter().map(|r| r.request_no));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    made.reverse();
    assert_eq!(seen, made);
    app.stop().await;
}

#[tokio::test]
async fn filters_by_status_phone_and_creation_time() {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let a = submit(&mut client, "SH01").await;
    let mut other = submission("SH01");
    other.customer.as_mut().unwrap().phone = "021-5555-0100".into();
    let b = client
        .submit_request(other)
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    client
        .cancel_request(pb::CancelRequestRequest {
            request_no: b.request_no.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let by_status = client
        .list_requests(pb::ListRequestsRequest {
            statuses: vec![pb::RequestStatus::Cancelled as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        by_status
            .requests
            .iter()
            .map(|r| r.request_no.clone())
            .collect::<Vec<_>>(),
        vec![b.request_no.clone()]
    );

    let by_phone = client
        .list_requests(pb::ListRequestsRequest {
            customer_phone: "+86 13800138000".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        by_phone
            .requests
            .iter()
            .map(|r| r.request_no.clone())
            .collect::<Vec<_>>(),
        vec![a.request_no.clone()],
        "formatting is ignored"
    );

    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    let none = client
        .list_requests(pb::ListRequestsRequest {
            created: Some(common::TimeRange {
                from: Some(prost_types::Timestamp {
                    seconds: future.timestamp(),
                    nanos: 0,
                }),
                to: None,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(none.requests.is_empty());

    let err = client
        .list_requests(pb::ListRequestsRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    app.stop().await;
}

#[tokio::test]
async fn head_office_lists_every_branch_and_may_narrow_to_one() {
    let app = spawn_app().await;
    submit(&mut app.agent("SH01").await, "SH01").await;
    submit(&mut app.agent("BJ02").await, "BJ02").await;
    let mut hq = app
        .client_with(&testing::token("hq", "*", &[Role::Analyst]))
        .await;
    let all = hq
        .list_requests(pb::ListRequestsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.requests.len(), 2);
    let bj = hq
        .list_requests(pb::ListRequestsRequest {
            branch: "BJ02".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bj.requests.len(), 1);
    assert_eq!(bj.requests[0].branch, "BJ02");
    app.stop().await;
}
