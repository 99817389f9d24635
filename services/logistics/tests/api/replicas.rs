//! Two replicas of logistics on one database and one broker, as the chart runs them: the sim
//! carrier's updates are sent once, however the replicas' scans interleave.

use aftersales_platform::clock::Clock;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use chrono::Duration;
use logistics::scanners::SIM_CARRIER;

use crate::helpers::{TestApp, builder, confirmed, issued, request_no, spawn_app_with};

#[tokio::test]
async fn two_replicas_scanning_the_sim_carrier_at_once_deliver_each_shipment_once() {
    // Arrange: two replicas, each with its own clock, and five dispatched shipments.
    let first = spawn_app_with(builder()).await;
    let second = TestApp {
        svc: aftersales_platform::testing::TestService::<logistics::app::App>::builder()
            .clock(Clock::manual(first.now()))
            .database_url(&first.svc.database_url())
            .bus(&first.svc.bus)
            .start()
            .await,
    };
    let mut nos = Vec::new();
    for _ in 0..5 {
        let no = request_no("SH01");
        let c = confirmed(&no, common::Urgency::Normal, &[("PWR-55-01", 1)]);
        first.publish("warehouse", &no, &c).await;
        let s = first.wait_shipment(&no, |_| true).await;
        first
            .publish("warehouse", &no, &issued(&c, &s.shipment_no))
            .await;
        first
            .wait_shipment(&no, |s| s.status == pb::ShipmentStatus::Dispatched as i32)
            .await;
        nos.push(no);
    }

    // Act: both clocks three days on; both replicas scan at once (their own loops join in).
    let later = first.now() + Duration::days(3);
    first.clock().set(later);
    second.clock().set(later);
    let (a, b) = tokio::join!(
        first.svc.try_scan(SIM_CARRIER),
        second.svc.try_scan(SIM_CARRIER)
    );
    first.scan(SIM_CARRIER).await;
    second.scan(SIM_CARRIER).await;

    // Assert: every shipment delivered, every update recorded once, one delivery event each.
    assert!(a.unwrap_or(0) + b.unwrap_or(0) <= 20, "{a:?} {b:?}");
    for no in &nos {
        let s = first
            .wait_shipment(no, |s| s.status == pb::ShipmentStatus::Delivered as i32)
            .await;
        assert_eq!(s.tracking.len(), 4, "{no}");
        assert_eq!(
            first
                .count(&format!(
                    "SELECT count(*)::bigint FROM outbox WHERE subject = '{no}' AND routing_key = 'logistics.shipment.delivered'"
                ))
                .await,
            1,
            "{no}"
        );
    }
    assert_eq!(
        first
            .count("SELECT count(*)::bigint FROM sim_schedule WHERE fired_at IS NULL")
            .await,
        0
    );
    assert_eq!(
        first
            .count("SELECT count(*)::bigint FROM tracking_events")
            .await,
        20
    );
    second.stop().await;
    first.stop().await;
}
