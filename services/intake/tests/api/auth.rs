use aftersales_platform::auth::Role;
use aftersales_platform::proto::intake::v1 as pb;
use aftersales_platform::testing;
use tonic::Code;

use crate::helpers::{spawn_app, submission, submit};

#[tokio::test]
async fn another_branchs_request_is_not_found_and_never_listed() {
    let app = spawn_app().await;
    let mut sh = app.agent("SH01").await;
    let r = submit(&mut sh, "SH01").await;
    let mut bj = app.agent("BJ02").await;

    let err = bj
        .get_request(pb::GetRequestRequest {
            request_no: r.request_no.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = bj
        .get_timeline(pb::GetTimelineRequest {
            request_no: r.request_no.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = bj
        .cancel_request(pb::CancelRequestRequest {
            request_no: r.request_no.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let own = bj
        .list_requests(pb::ListRequestsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(own.requests.is_empty());
    let asked = bj
        .list_requests(pb::ListRequestsRequest {
            branch: "SH01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        asked.requests.is_empty(),
        "asking for SH01 explicitly shows nothing either"
    );

    let err = bj.submit_request(submission("SH01")).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn missing_forged_or_expired_tokens_are_unauthenticated_and_wrong_roles_denied() {
    let app = spawn_app().await;
    let mut anonymous =
        aftersales_platform::proto::intake::v1::intake_service_client::IntakeServiceClient::new(
            aftersales_platform::grpc::channel(
                &format!("http://{}", app.grpc_addr),
                std::time::Duration::from_secs(10),
            )
            .unwrap(),
        );
    let err = anonymous
        .get_request(pb::GetRequestRequest {
            request_no: "AS-2611-SH01-000001".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let forged = aftersales_platform::auth::mint_hs256(
        "not-the-secret-at-all!!",
        "eve",
        "*",
        &[Role::Admin],
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    let err = app
        .client_with(&forged)
        .await
        .list_requests(pb::ListRequestsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let expired = testing::expired_token("old", "SH01", &[Role::BranchAgent]);
    let err = app
        .client_with(&expired)
        .await
        .list_requests(pb::ListRequestsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let tech = app
        .client_with(&testing::token("t1", "SH01", &[Role::Technician]))
        .await;
    let err = tech
        .clone()
        .submit_request(submission("SH01"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    app.stop().await;
}
