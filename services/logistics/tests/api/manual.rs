//! Without auto-dispatch (and with a carrier that has no API), issuing packs the shipment and a
//! person hands it over with the carrier's own waybill; the manual path plans too.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use tonic::Code;

use crate::helpers::{builder, confirmed, issued, request_no, ship_to, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_packed_shipment_is_dispatched_by_a_person_with_the_carriers_waybill_once() {
    let app = spawn_app_with(
        builder()
            .env("AFTERSALES__LOGISTICS__AUTO_DISPATCH", "false")
            .env("AFTERSALES__LOGISTICS__CARRIER_OVERRIDE", "sf-express"),
    )
    .await;
    let mut client = app.operator();
    let no = request_no("SH01");
    let c = confirmed(&no, common::Urgency::Normal, &[("PWR-55-01", 3)]);
    app.publish("warehouse", &no, &c).await;
    let s = app.wait_shipment(&no, |_| true).await;
    let dispatch = |waybill: &str| pb::DispatchShipmentRequest {
        idempotency_key: "d-1".into(),
        shipment_no: s.shipment_no.clone(),
        waybill_no: waybill.into(),
        ..Default::default()
    };

    // Before the parts are issued there is nothing to hand over.
    let early = client
        .dispatch_shipment(dispatch("SF1001"))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);

    app.publish("warehouse", &no, &issued(&c, &s.shipment_no))
        .await;
    app.wait_count(
        &format!("SELECT count(*)::bigint FROM shipments WHERE shipment_no = '{}' AND packed_at IS NOT NULL", s.shipment_no),
        1,
    )
    .await;
    let packed = app.shipment(&s.shipment_no).await;
    assert_eq!(packed.status, pb::ShipmentStatus::Planned as i32);
    assert_eq!(packed.packing_list[0].quantity, 3);

    let sent = client
        .dispatch_shipment(dispatch("SF1001"))
        .await
        .unwrap()
        .into_inner()
        .shipment
        .unwrap();
    let again = client
        .dispatch_shipment(dispatch("SF1001"))
        .await
        .unwrap()
        .into_inner()
        .shipment
        .unwrap();
    let other = client
        .dispatch_shipment(dispatch("SF9999"))
        .await
        .unwrap_err();

    assert_eq!(sent.status, pb::ShipmentStatus::Dispatched as i32);
    assert_eq!(
        (sent.carrier.as_str(), sent.waybill_no.as_str()),
        ("sf-express", "SF1001")
    );
    assert_eq!(again.dispatched_at, sent.dispatched_at);
    assert_eq!(other.code(), Code::FailedPrecondition);
    assert_eq!(
        app.count(&format!("SELECT count(*)::bigint FROM outbox WHERE subject = '{no}' AND routing_key = 'logistics.shipment.dispatched'")).await,
        1
    );
    // A person enters the carrier's updates by shipment number.
    let entry = client
        .record_tracking_event(pb::RecordTrackingEventRequest {
            shipment_no: s.shipment_no.clone(),
            carrier_event_id: "phone-call-1".into(),
            status: pb::TrackingStatus::Delivered as i32,
            occurred_at: Some(crate::helpers::ts(app.now())),
            signed_by: "Li Wei".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let Some(pb::record_tracking_event_response::Target::Shipment(done)) = entry.target else {
        panic!("a shipment");
    };
    assert_eq!(done.status, pb::ShipmentStatus::Delivered as i32);
    assert_eq!(done.signed_by, "Li Wei");
    assert_eq!(done.tracking[0].source, pb::ReportSource::Staff as i32);
    app.stop().await;
}

#[tokio::test]
async fn a_person_plans_a_shipment_with_a_chosen_method_idempotently() {
    let app = spawn_app().await;
    let mut client = app.operator();
    let no = request_no("SH01");
    let plan = |method: pb::DeliveryMethod| pb::PlanShipmentRequest {
        idempotency_key: format!("plan-{no}-{}", method as i32),
        request_no: no.clone(),
        pick_list_id: format!("PL-{no}"),
        ship_to: Some(ship_to("SH01")),
        urgency: common::Urgency::Normal as i32,
        lines: vec![common::PartLine {
            part_no: "PNL-55-01".into(),
            quantity: 1,
        }],
        method: method as i32,
        carrier: String::new(),
        weight_grams: 0,
    };

    // Express cannot take a 130 cm panel: the field is named, nothing is planned.
    let refused = client
        .plan_shipment(plan(pb::DeliveryMethod::Express))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(crate::helpers::violations(&refused)["method"].contains("too long"));
    assert!(app.shipments_of(&no).await.is_empty());

    let first = client
        .plan_shipment(plan(pb::DeliveryMethod::SpecialVehicle))
        .await
        .unwrap()
        .into_inner()
        .shipment
        .unwrap();
    let again = client
        .plan_shipment(plan(pb::DeliveryMethod::SpecialVehicle))
        .await
        .unwrap()
        .into_inner()
        .shipment
        .unwrap();
    let twice = client
        .plan_shipment(plan(pb::DeliveryMethod::DedicatedLine))
        .await
        .unwrap_err();

    assert_eq!(first.shipment_no, again.shipment_no);
    assert_eq!(first.method_rule, "requested");
    assert_eq!(first.method, pb::DeliveryMethod::SpecialVehicle as i32);
    assert_eq!(
        twice.code(),
        Code::AlreadyExists,
        "the pick list has its shipment"
    );
    assert_eq!(app.shipments_of(&no).await.len(), 1);
    app.stop().await;
}
