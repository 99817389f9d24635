//! Freight statistics per method, region and carrier for a month: cost, on-time rate and
//! exceptions, computed from what happened.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use chrono::Duration;

use crate::helpers::{TestApp, confirmed, issued, request_no, spawn_app, update};

async fn ship(app: &TestApp, urgency: common::Urgency, region: common::Region) -> pb::Shipment {
    let no = request_no("SH01");
    let mut c = confirmed(&no, urgency, &[("PWR-55-01", 1)]);
    c.ship_to.as_mut().unwrap().region = region as i32;
    c.ship_to.as_mut().unwrap().address = format!("{no} road");
    app.publish("warehouse", &no, &c).await;
    let s = app.wait_shipment(&no, |_| true).await;
    app.publish("warehouse", &no, &issued(&c, &s.shipment_no))
        .await;
    app.wait_shipment(&no, |s| s.status == pb::ShipmentStatus::Dispatched as i32)
        .await
}

#[tokio::test]
async fn the_months_freight_is_grouped_by_method_region_and_carrier_with_cost_on_time_and_exceptions()
 {
    let app = spawn_app().await;
    let mut client = app.operator();
    // Two normal urban ones (dedicated line), one high urban (express), one normal remote (express).
    let a = ship(&app, common::Urgency::Normal, common::Region::Urban).await;
    let b = ship(&app, common::Urgency::Normal, common::Region::Urban).await;
    let c = ship(&app, common::Urgency::High, common::Region::Urban).await;
    let d = ship(&app, common::Urgency::Normal, common::Region::Remote).await;
    assert_eq!(d.method, pb::DeliveryMethod::Express as i32);
    let now = app.now();
    // a on time, b late (after its ETA), c lost, d still travelling.
    let late = crate::helpers::from_ts(b.eta.as_ref().unwrap()) + Duration::hours(2);
    for (s, id, status, at) in [
        (
            &a,
            "a1",
            pb::TrackingStatus::Delivered,
            now + Duration::hours(5),
        ),
        (&b, "b1", pb::TrackingStatus::Delivered, late),
        (&c, "c1", pb::TrackingStatus::Lost, now + Duration::hours(1)),
    ] {
        client
            .record_tracking_event(update("sim", &s.waybill_no, id, status, at, now))
            .await
            .unwrap();
    }
    let month = now.format("%Y-%m").to_string();
    let stats = |group_by: pb::FreightGrouping| {
        let mut client = app.operator();
        let month = month.clone();
        async move {
            client
                .get_freight_stats(pb::GetFreightStatsRequest {
                    group_by: group_by as i32,
                    month,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
        }
    };

    let by_method = stats(pb::FreightGrouping::Method).await;
    let row = |r: &pb::GetFreightStatsResponse, key: &str| {
        r.rows
            .iter()
            .find(|x| x.key == key)
            .cloned()
            .unwrap_or_else(|| panic!("{key} in {:?}", r.rows))
    };
    let line = row(&by_method, "dedicated_line");
    assert_eq!((line.shipments, line.delivered, line.on_time), (2, 2, 1));
    assert_eq!(line.on_time_rate_bp, 5000);
    assert_eq!(line.total_cost.as_ref().unwrap().amount_minor, 2 * 950);
    assert_eq!(line.average_cost.as_ref().unwrap().amount_minor, 950);
    let express = row(&by_method, "express");
    assert_eq!(
        (express.shipments, express.losses, express.delivered),
        (2, 1, 0)
    );
    assert_eq!(express.exception_rate_bp, 5000, "one loss in two shipments");
    let total = by_method.total.unwrap();
    assert_eq!(
        (
            total.shipments,
            total.delivered,
            total.on_time,
            total.losses
        ),
        (4, 2, 1, 1)
    );

    let by_region = stats(pb::FreightGrouping::Region).await;
    assert_eq!(row(&by_region, "urban").shipments, 3);
    assert_eq!(row(&by_region, "remote").shipments, 1);
    let by_carrier = stats(pb::FreightGrouping::Carrier).await;
    assert_eq!(row(&by_carrier, "sim").shipments, 4);
    // Another month is empty; a branch sees its own.
    let empty = client
        .get_freight_stats(pb::GetFreightStatsRequest {
            group_by: pb::FreightGrouping::Method as i32,
            month: "2026-10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(empty.rows.is_empty());
    let other_branch = app
        .agent("BJ02")
        .get_freight_stats(pb::GetFreightStatsRequest {
            group_by: pb::FreightGrouping::Method as i32,
            month: month.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(other_branch.rows.is_empty());
    app.stop().await;
}
