//! Bad input answers INVALID_ARGUMENT naming every bad field and writes nothing; every RPC
//! verifies its caller, and a branch sees only its own requests' shipments.

use aftersales_platform::auth::Role;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use aftersales_platform::testing;
use tonic::Code;

use crate::helpers::{TestApp, confirmed, request_no, spawn_app, violations};

async fn written(app: &TestApp) -> i64 {
    app.count(
        "SELECT (SELECT count(*) FROM shipments) + (SELECT count(*) FROM pickups) \
         + (SELECT count(*) FROM tracking_events) + (SELECT count(*) FROM exceptions) \
         + (SELECT count(*) FROM outbox) + (SELECT count(*) FROM requests)",
    )
    .await
}

#[tokio::test]
async fn bad_input_names_every_bad_field_and_writes_nothing() {
    let app = spawn_app().await;
    let mut client = app.operator();
    let before = written(&app).await;

    let plan = client
        .plan_shipment(pb::PlanShipmentRequest {
            idempotency_key: String::new(),
            request_no: "AS-26-SH01-1".into(),
            pick_list_id: String::new(),
            ship_to: Some(common::Address {
                phone: "call me".into(),
                ..Default::default()
            }),
            urgency: 0,
            lines: vec![common::PartLine {
                part_no: "PWR 55".into(),
                quantity: 0,
            }],
            method: 9,
            carrier: "sim carrier".into(),
            weight_grams: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(plan.code(), Code::InvalidArgument);
    let v = violations(&plan);
    for field in [
        "idempotency_key",
        "request_no",
        "pick_list_id",
        "ship_to.phone",
        "ship_to.address",
        "urgency",
        "lines[0].part_no",
        "lines[0].quantity",
        "method",
        "carrier",
    ] {
        assert!(v.contains_key(field), "{field} missing in {v:?}");
    }

    let track = client
        .record_tracking_event(pb::RecordTrackingEventRequest {
            carrier: "sim".into(),
            waybill_no: "SIM-1".into(),
            carrier_event_id: "e1".into(),
            status: 42,
            occurred_at: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: -1,
            }),
            sent_at: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let v = violations(&track);
    for field in ["status", "occurred_at", "sent_at"] {
        assert!(v.contains_key(field), "{field} missing in {v:?}");
    }

    let report = client
        .report_exception(pb::ReportExceptionRequest {
            idempotency_key: "k".into(),
            shipment_no: "SHIP-1".into(),
            kind: 0,
            detail: "  ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let v = violations(&report);
    for field in ["shipment_no", "kind", "detail"] {
        assert!(v.contains_key(field), "{field} missing in {v:?}");
    }

    let pickup = client
        .schedule_pickup(pb::SchedulePickupRequest {
            idempotency_key: "k".into(),
            request_no: "AS-2611-SH01-000001".into(),
            pickup_address: Some(common::Address::default()),
            window: Some(common::TimeRange {
                from: Some(prost_types::Timestamp {
                    seconds: 2000,
                    nanos: 0,
                }),
                to: Some(prost_types::Timestamp {
                    seconds: 1000,
                    nanos: 0,
                }),
            }),
            items: vec![String::new()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    let v = violations(&pickup);
    for field in ["pickup_address.address", "window.to", "items[0]"] {
        assert!(v.contains_key(field), "{field} missing in {v:?}");
    }

    let stats = client
        .get_freight_stats(pb::GetFreightStatsRequest {
            group_by: 0,
            month: "2026-13".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let v = violations(&stats);
    assert!(
        v.contains_key("group_by") && v.contains_key("month"),
        "{v:?}"
    );

    let list = client
        .list_shipments(pb::ListShipmentsRequest {
            page_size: 5000,
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let v = violations(&list);
    assert!(
        v.contains_key("page_size") && v.contains_key("page_token"),
        "{v:?}"
    );

    assert_eq!(written(&app).await, before, "nothing was written");
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_event_goes_to_the_dead_letters_and_writes_nothing() {
    let app = spawn_app().await;
    let no = request_no("SH01");
    let mut bad = confirmed(&no, common::Urgency::Normal, &[("PWR-55-01", 1)]);
    bad.ship_to = None;
    bad.lines[0].part_no = "not a part!".into();
    app.publish("warehouse", &no, &bad).await;
    let dead = testing::eventually(std::time::Duration::from_secs(30), || async {
        let d = app.svc.bus_settings().dlq_list("logistics").await.ok()?;
        (!d.is_empty()).then_some(d)
    })
    .await
    .expect("dead-lettered");
    assert_eq!(dead.len(), 1);
    assert_eq!(app.count("SELECT count(*)::bigint FROM shipments").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn every_rpc_verifies_its_caller_and_a_branch_sees_only_its_own_shipments() {
    let app = spawn_app().await;
    let no = request_no("SH01");
    app.publish(
        "warehouse",
        &no,
        &confirmed(&no, common::Urgency::Normal, &[("PWR-55-01", 1)]),
    )
    .await;
    let s = app.wait_shipment(&no, |_| true).await;
    let get = |shipment_no: &str| pb::GetShipmentRequest {
        shipment_no: shipment_no.into(),
        ..Default::default()
    };

    // No token, an expired one, a role that may not dispatch.
    let anonymous = crate::helpers::client_at(&app.svc.grpc_url(), "x");
    let mut anonymous = anonymous;
    assert_eq!(
        anonymous
            .get_shipment(get(&s.shipment_no))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    let mut expired = app.client_with(&testing::expired_token("a", "*", &[Role::Admin]));
    assert_eq!(
        expired
            .get_shipment(get(&s.shipment_no))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    let mut agent = app.agent("SH01");
    let denied = agent
        .dispatch_shipment(pb::DispatchShipmentRequest {
            shipment_no: s.shipment_no.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // The request's branch sees it; another branch does not, not even in a list.
    assert_eq!(
        agent
            .get_shipment(get(&s.shipment_no))
            .await
            .unwrap()
            .into_inner()
            .shipment
            .unwrap()
            .request_no,
        no
    );
    let mut other = app.agent("BJ02");
    assert_eq!(
        other
            .get_shipment(get(&s.shipment_no))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let listed = other
        .list_shipments(pb::ListShipmentsRequest {
            request_no: no.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.shipments.is_empty());
    let mut other_dispatcher =
        app.client_with(&testing::token("d", "BJ02", logistics::grpc::OPERATORS));
    let hidden = other_dispatcher
        .report_exception(pb::ReportExceptionRequest {
            idempotency_key: "x".into(),
            shipment_no: s.shipment_no.clone(),
            kind: pb::ExceptionKind::Delay as i32,
            detail: "late".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    app.stop().await;
}
