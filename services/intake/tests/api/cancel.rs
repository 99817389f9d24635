use std::time::Duration;

use aftersales_platform::proto::intake::v1 as pb;
use aftersales_platform::proto::logistics::v1 as logistics;
use prost::Message;
use tonic::Code;

use crate::helpers::{spawn_app, submit};

#[tokio::test]
async fn cancelling_before_dispatch_announces_it_and_is_idempotent() {
    let app = spawn_app().await;
    let mut events = app.subscribe("intake.request.cancelled").await;
    let mut client = app.agent("SH01").await;
    let r = submit(&mut client, "SH01").await;

    let cancel = pb::CancelRequestRequest {
        request_no: r.request_no.clone(),
        reason: "customer fixed it".into(),
        idempotency_key: "c1".into(),
    };
    let c = client
        .cancel_request(cancel.clone())
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    assert_eq!(c.status, pb::RequestStatus::Cancelled as i32);
    assert_eq!(c.status_reason, "customer fixed it");
    let again = client
        .cancel_request(cancel)
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    assert_eq!(again.status, pb::RequestStatus::Cancelled as i32);

    let env = tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .unwrap()
        .unwrap();
    let payload = pb::RequestCancelled::decode(env.payload.as_slice()).unwrap();
    assert_eq!(payload.request_no, r.request_no);
    assert_eq!(payload.previous_status, pb::RequestStatus::Submitted as i32);
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'intake.request.cancelled'"
        )
        .await,
        1,
        "announced once"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_shipped_request_can_no_longer_be_cancelled() {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let r = submit(&mut client, "SH01").await;
    let shipped = logistics::ShipmentDispatched {
        request_no: r.request_no.clone(),
        branch: "SH01".into(),
        waybill_no: "SF1234567890".into(),
        carrier: "SF Express".into(),
        ..Default::default()
    };
    app.publish("logistics", &r.request_no, "SH01", &shipped)
        .await;
    app.wait_status(&mut client, &r.request_no, pb::RequestStatus::Shipped)
        .await;

    let err = client
        .cancel_request(pb::CancelRequestRequest {
            request_no: r.request_no.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("shipped"), "{}", err.message());
    app.stop().await;
}

#[tokio::test]
async fn cancelling_an_unknown_or_malformed_request_says_so() {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let err = client
        .cancel_request(pb::CancelRequestRequest {
            request_no: "AS-2611-SH01-999999".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .cancel_request(pb::CancelRequestRequest {
            request_no: "42".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    app.stop().await;
}
