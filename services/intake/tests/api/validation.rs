use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as pb;
use tonic::Code;

use crate::helpers::{TestApp, spawn_app, submission, violations};

/// Submits `req`, expects INVALID_ARGUMENT naming `field`, and checks nothing was stored.
async fn refused(app: &TestApp, req: pb::SubmitRequestRequest, field: &str) {
    let mut client = app.agent("SH01").await;
    let err = client.submit_request(req).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let v = violations(&err);
    assert!(
        v.contains_key(field),
        "expected a violation for {field}, got {v:?}"
    );
    assert!(
        err.message().contains(field),
        "the message names {field}: {}",
        err.message()
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM requests").await,
        0,
        "nothing stored"
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM outbox").await,
        0,
        "nothing staged"
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM tracking_sequences")
            .await,
        0,
        "no number spent"
    );
}

#[tokio::test]
async fn an_empty_submission_names_every_missing_field() {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let err = client
        .submit_request(pb::SubmitRequestRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = violations(&err);
    for field in [
        "idempotency_key",
        "branch",
        "channel",
        "kind",
        "urgency",
        "customer",
        "product",
    ] {
        assert!(v.contains_key(field), "{field} missing from {v:?}");
    }
    assert_eq!(app.count("SELECT count(*)::bigint FROM requests").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_submission_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let mut req = submission("SH01");
    req.fault_description = "x".repeat(5 * 1024 * 1024);
    refused(&app, req.clone(), "fault_description").await;
    refused(&app, req, "request").await;
    app.stop().await;
}

#[tokio::test]
async fn wrong_enum_values_are_refused() {
    let app = spawn_app().await;
    let mut req = submission("SH01");
    req.channel = 99;
    refused(&app, req, "channel").await;
    let mut req = submission("SH01");
    req.customer.as_mut().unwrap().region = 42;
    refused(&app, req, "customer.region").await;
    let mut req = submission("SH01");
    req.urgency = common::Urgency::Unspecified as i32;
    refused(&app, req, "urgency").await;
    app.stop().await;
}

#[tokio::test]
async fn a_purchase_date_in_the_future_is_refused() {
    let app = spawn_app().await;
    let mut req = submission("SH01");
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    req.product.as_mut().unwrap().purchase_date = tomorrow.to_string();
    refused(&app, req, "product.purchase_date").await;
    app.stop().await;
}

#[tokio::test]
async fn a_phone_number_of_letters_is_refused() {
    let app = spawn_app().await;
    let mut req = submission("SH01");
    req.customer.as_mut().unwrap().phone = "call me maybe".into();
    refused(&app, req, "customer.phone").await;
    app.stop().await;
}

#[tokio::test]
async fn several_bad_fields_are_all_named_at_once() {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let mut req = submission("SH01");
    req.customer.as_mut().unwrap().phone = "abc".into();
    req.parts = vec![common::PartLine {
        part_no: "bad part".into(),
        quantity: 0,
    }];
    req.photos = vec!["ftp://nope".into()];
    req.product.as_mut().unwrap().invoice_date = "2026-02-30".into();
    let err = client.submit_request(req).await.unwrap_err();
    let v = violations(&err);
    for field in [
        "customer.phone",
        "parts[0].part_no",
        "parts[0].quantity",
        "photos[0]",
        "product.invoice_date",
    ] {
        assert!(v.contains_key(field), "{field} missing from {v:?}");
    }
    app.stop().await;
}
