//! The `sim` carrier's tracking (used by `make up` and the tests): a realistic sequence of
//! updates for a consignment, due on the service's clock.
//!
//! A shipment is picked up soon after dispatch, is in transit, goes out for delivery and is
//! delivered before its ETA; a pick-up is collected at the door early in its window, travels,
//! and arrives at the warehouse before it is expected. `time_scale` compresses the whole
//! sequence towards its start (3600: an hour passes in a second), so a demo need not wait days.

use chrono::{DateTime, Duration, Utc};

use super::TrackingStatus;

/// One update the sim carrier will send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub status: TrackingStatus,
    pub due_at: DateTime<Utc>,
    pub location: String,
    pub description: String,
}

/// Fractions of the way from start to the expected arrival.
const SHIPMENT: &[(TrackingStatus, u32, &str)] = &[
    (TrackingStatus::PickedUp, 5, "collected from the depot"),
    (TrackingStatus::InTransit, 30, "left the sorting centre"),
    (TrackingStatus::OutForDelivery, 80, "out for delivery"),
    (TrackingStatus::Delivered, 90, "delivered and signed for"),
];

const PICKUP: &[(TrackingStatus, u32, &str)] = &[
    (
        TrackingStatus::PickedUp,
        10,
        "collected at the customer's door",
    ),
    (
        TrackingStatus::InTransit,
        40,
        "on its way to the returns intake",
    ),
    (
        TrackingStatus::Delivered,
        90,
        "arrived at the warehouse's returns intake",
    ),
];

/// The updates of a shipment dispatched at `start` from `origin`, due by `eta` at `destination`.
pub fn shipment(
    start: DateTime<Utc>,
    eta: DateTime<Utc>,
    origin: &str,
    destination: &str,
    time_scale: u32,
) -> Vec<Step> {
    steps(SHIPMENT, start, start, eta, time_scale, |s| match s {
        TrackingStatus::PickedUp => origin.to_owned(),
        _ => destination.to_owned(),
    })
}

/// The updates of a pick-up booked at `start`, collected in the window from `window_from`, and
/// expected at the warehouse `destination` by `arrive_by`.
pub fn pickup(
    start: DateTime<Utc>,
    window_from: DateTime<Utc>,
    arrive_by: DateTime<Utc>,
    door: &str,
    destination: &str,
    time_scale: u32,
) -> Vec<Step> {
    steps(
        PICKUP,
        start,
        window_from.max(start),
        arrive_by,
        time_scale,
        |s| match s {
            TrackingStatus::PickedUp => door.to_owned(),
            _ => destination.to_owned(),
        },
    )
}

fn steps(
    plan: &[(TrackingStatus, u32, &str)],
    start: DateTime<Utc>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    time_scale: u32,
    location: impl Fn(TrackingStatus) -> String,
) -> Vec<Step> {
    // A consignment due no later than it leaves still takes an hour.
    let span = (until - from).max(Duration::hours(1));
    let scale = i64::from(time_scale.max(1));
    plan.iter()
        .map(|(status, percent, description)| {
            let natural = from + span * (*percent as i32) / 100;
            // Compressed towards the start; at least a millisecond apart so their order holds.
            let offset = (natural - start) / scale as i32;
            Step {
                status: *status,
                due_at: start + offset.max(Duration::milliseconds(i64::from(*percent))),
                location: location(*status),
                description: (*description).to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_shipment_is_picked_up_travels_goes_out_and_is_delivered_before_its_eta() {
        let eta = t0() + Duration::days(2);
        let s = shipment(t0(), eta, "WH-SH", "Shanghai", 1);
        let statuses: Vec<TrackingStatus> = s.iter().map(|x| x.status).collect();
        assert_eq!(
            statuses,
            [
                TrackingStatus::PickedUp,
                TrackingStatus::InTransit,
                TrackingStatus::OutForDelivery,
                TrackingStatus::Delivered
            ]
        );
        assert!(s.last().unwrap().due_at < eta);
        assert_eq!(s[0].location, "WH-SH");
    }

    #[test]
    fn the_time_scale_compresses_the_sequence() {
        let eta = t0() + Duration::hours(10);
        let s = shipment(t0(), eta, "WH-SH", "Shanghai", 3600);
        assert!(s.last().unwrap().due_at <= t0() + Duration::seconds(10));
    }

    #[test]
    fn a_pick_up_is_collected_in_its_window_and_arrives() {
        let from = t0() + Duration::hours(20);
        let s = pickup(t0(), from, from + Duration::days(1), "door", "WH-SH", 1);
        assert!(s[0].due_at >= from);
        assert_eq!(s.last().unwrap().status, TrackingStatus::Delivered);
    }

    proptest! {
        #[test]
        fn the_updates_are_in_order_and_the_last_is_the_delivery(
            start_min in 0i64..100_000, span_min in -600i64..20_000, scale in 1u32..10_000
        ) {
            let start = t0() + Duration::minutes(start_min);
            let eta = start + Duration::minutes(span_min);
            let s = shipment(start, eta, "a", "b", scale);
            prop_assert!(s.windows(2).all(|w| w[0].due_at < w[1].due_at));
            prop_assert!(s[0].due_at > start);
            prop_assert_eq!(s.last().unwrap().status, TrackingStatus::Delivered);
            if span_min >= 60 {
                prop_assert!(s.last().unwrap().due_at <= eta);
            }
        }
    }
}
