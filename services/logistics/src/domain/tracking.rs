//! How a carrier's tracking update moves a shipment or a pick-up — and never back.
//!
//! An update is *applied* only when the target is under way (dispatched / scheduled, not yet
//! ended) and the update happened no earlier than the last applied one. Anything else is
//! recorded and changes nothing: a late "in transit" after "delivered", an update older than
//! the current state (delivery order is not guaranteed, carriers resend), an update for a
//! shipment not dispatched yet or one that already failed. So the status only ever moves
//! forward, whatever order the updates arrive in.

use chrono::{DateTime, Utc};

use super::{ExceptionKind, PickupStatus, ShipmentStatus, TrackingStatus};

/// What an applied update does beyond the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    Delivered,
    /// A delay exception (with the carrier's revised ETA, if it gave one).
    Delayed,
    /// Damage or loss: an exception, and a replacement for a shipment.
    Failed(ExceptionKind),
}

/// The outcome of one update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update<S> {
    pub applied: bool,
    /// Why it was not applied; empty when it was.
    pub note: String,
    /// The status after it (unchanged when not applied).
    pub status: S,
    pub effect: Effect,
}

impl<S: Copy> Update<S> {
    fn recorded(status: S, note: String) -> Self {
        Self {
            applied: false,
            note,
            status,
            effect: Effect::None,
        }
    }
}

/// How far a shipment got: tracking only moves a shipment to a later step.
pub fn shipment_step(s: ShipmentStatus) -> u8 {
    match s {
        ShipmentStatus::Planned => 0,
        ShipmentStatus::Dispatched => 1,
        ShipmentStatus::InTransit => 2,
        ShipmentStatus::Delivered | ShipmentStatus::Failed | ShipmentStatus::Cancelled => 3,
    }
}

pub fn shipment_ended(s: ShipmentStatus) -> bool {
    shipment_step(s) == 3
}

pub fn pickup_step(s: PickupStatus) -> u8 {
    match s {
        PickupStatus::Scheduled => 0,
        PickupStatus::Collected => 1,
        PickupStatus::Delivered | PickupStatus::Failed | PickupStatus::Cancelled => 2,
    }
}

pub fn pickup_ended(s: PickupStatus) -> bool {
    pickup_step(s) == 2
}

fn too_old(last: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Option<String> {
    last.filter(|l| at < *l).map(|l| {
        format!(
            "happened at {} before the current state (since {}); recorded only",
            at.to_rfc3339(),
            l.to_rfc3339()
        )
    })
}

/// A shipment's update. `last` is when the latest applied update happened.
pub fn shipment_update(
    status: ShipmentStatus,
    last: Option<DateTime<Utc>>,
    update: TrackingStatus,
    at: DateTime<Utc>,
) -> Update<ShipmentStatus> {
    use ShipmentStatus as S;
    use TrackingStatus as T;
    match status {
        S::Planned => {
            return Update::recorded(
                status,
                "the shipment is not dispatched yet; recorded only".into(),
            );
        }
        S::Delivered | S::Failed | S::Cancelled => {
            return Update::recorded(
                status,
                format!("the shipment is {status} already; recorded only"),
            );
        }
        S::Dispatched | S::InTransit => {}
    }
    if let Some(note) = too_old(last, at) {
        return Update::recorded(status, note);
    }
    let (status, effect) = match update {
        T::PickedUp | T::InTransit | T::OutForDelivery | T::DeliveryFailed => {
            (S::InTransit, Effect::None)
        }
        T::Delayed => (S::InTransit, Effect::Delayed),
        T::Delivered => (S::Delivered, Effect::Delivered),
        T::Damaged => (S::Failed, Effect::Failed(ExceptionKind::Damage)),
        T::Lost => (S::Failed, Effect::Failed(ExceptionKind::Loss)),
    };
    Update {
        applied: true,
        note: String::new(),
        status,
        effect,
    }
}

/// A pick-up's update: collected at the door, then arrived at the warehouse's returns intake.
pub fn pickup_update(
    status: PickupStatus,
    last: Option<DateTime<Utc>>,
    update: TrackingStatus,
    at: DateTime<Utc>,
) -> Update<PickupStatus> {
    use PickupStatus as P;
    use TrackingStatus as T;
    if pickup_ended(status) {
        return Update::recorded(
            status,
            format!("the pick-up is {status} already; recorded only"),
        );
    }
    if let Some(note) = too_old(last, at) {
        return Update::recorded(status, note);
    }
    let (status, effect) = match update {
        T::PickedUp | T::InTransit | T::OutForDelivery | T::DeliveryFailed => {
            (P::Collected, Effect::None)
        }
        T::Delayed => (P::Collected.max_step(status), Effect::Delayed),
        T::Delivered => (P::Delivered, Effect::Delivered),
        T::Damaged => (P::Failed, Effect::Failed(ExceptionKind::Damage)),
        T::Lost => (P::Failed, Effect::Failed(ExceptionKind::Loss)),
    };
    Update {
        applied: true,
        note: String::new(),
        status,
        effect,
    }
}

impl PickupStatus {
    /// The later of two open statuses (a delay before collection leaves it scheduled).
    fn max_step(self, other: PickupStatus) -> PickupStatus {
        if pickup_step(other) > pickup_step(self) {
            other
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_late_in_transit_after_delivered_changes_nothing() {
        let u = shipment_update(
            ShipmentStatus::Delivered,
            Some(t0()),
            TrackingStatus::InTransit,
            t0() - Duration::hours(3),
        );
        assert!(!u.applied);
        assert_eq!(u.status, ShipmentStatus::Delivered);
        assert!(u.note.contains("delivered already"), "{}", u.note);
    }

    #[test]
    fn an_update_older_than_the_current_state_is_recorded_only() {
        let u = shipment_update(
            ShipmentStatus::InTransit,
            Some(t0()),
            TrackingStatus::PickedUp,
            t0() - Duration::minutes(1),
        );
        assert!(!u.applied);
        assert_eq!(u.status, ShipmentStatus::InTransit);
        assert!(u.note.contains("before the current state"));
    }

    #[test]
    fn delivery_loss_and_damage_end_a_shipment() {
        let at = t0();
        let d = shipment_update(
            ShipmentStatus::Dispatched,
            None,
            TrackingStatus::Delivered,
            at,
        );
        assert_eq!(
            (d.status, d.effect),
            (ShipmentStatus::Delivered, Effect::Delivered)
        );
        let l = shipment_update(ShipmentStatus::InTransit, None, TrackingStatus::Lost, at);
        assert_eq!(
            (l.status, l.effect),
            (ShipmentStatus::Failed, Effect::Failed(ExceptionKind::Loss))
        );
        let delay = shipment_update(ShipmentStatus::InTransit, None, TrackingStatus::Delayed, at);
        assert_eq!(
            (delay.status, delay.effect),
            (ShipmentStatus::InTransit, Effect::Delayed)
        );
        let before = shipment_update(ShipmentStatus::Planned, None, TrackingStatus::InTransit, at);
        assert!(!before.applied);
    }

    #[test]
    fn a_pick_up_is_collected_then_arrives() {
        let c = pickup_update(
            PickupStatus::Scheduled,
            None,
            TrackingStatus::PickedUp,
            t0(),
        );
        assert_eq!(c.status, PickupStatus::Collected);
        let d = pickup_update(
            PickupStatus::Collected,
            Some(t0()),
            TrackingStatus::Delivered,
            t0(),
        );
        assert_eq!(
            (d.status, d.effect),
            (PickupStatus::Delivered, Effect::Delivered)
        );
        let again = pickup_update(
            PickupStatus::Delivered,
            Some(t0()),
            TrackingStatus::Delivered,
            t0(),
        );
        assert!(!again.applied, "arrival is counted once");
        let delayed = pickup_update(PickupStatus::Scheduled, None, TrackingStatus::Delayed, t0());
        assert_eq!(
            delayed.status,
            PickupStatus::Collected.max_step(PickupStatus::Scheduled)
        );
    }

    fn any_update() -> impl Strategy<Value = (TrackingStatus, i64)> {
        (
            prop::sample::select(TrackingStatus::ALL.to_vec()),
            -600i64..600,
        )
    }

    proptest! {
        #[test]
        fn whatever_order_updates_arrive_in_a_shipment_never_moves_back(
            updates in prop::collection::vec(any_update(), 0..25)
        ) {
            let mut status = ShipmentStatus::Dispatched;
            let mut last: Option<DateTime<Utc>> = None;
            let mut ended_at: Option<ShipmentStatus> = None;
            for (u, minutes) in updates {
                let at = t0() + Duration::minutes(minutes);
                let next = shipment_update(status, last, u, at);
                prop_assert!(shipment_step(next.status) >= shipment_step(status));
                if let Some(end) = ended_at {
                    prop_assert_eq!(next.status, end, "an ended shipment changed");
                    prop_assert!(!next.applied);
                }
                if next.applied {
                    prop_assert!(last.is_none_or(|l| at >= l));
                    last = Some(at);
                } else {
                    prop_assert_eq!(next.status, status);
                    prop_assert_eq!(next.effect, Effect::None);
                }
                status = next.status;
                if shipment_ended(status) && ended_at.is_none() {
                    ended_at = Some(status);
                }
            }
        }

        #[test]
        fn a_pick_up_arrives_at_most_once_and_never_moves_back(
            updates in prop::collection::vec(any_update(), 0..25)
        ) {
            let mut status = PickupStatus::Scheduled;
            let mut last: Option<DateTime<Utc>> = None;
            let mut arrivals = 0;
            for (u, minutes) in updates {
                let at = t0() + Duration::minutes(minutes);
                let next = pickup_update(status, last, u, at);
                prop_assert!(pickup_step(next.status) >= pickup_step(status));
                if next.effect == Effect::Delivered {
                    arrivals += 1;
                }
                if next.applied {
                    last = Some(at);
                }
                status = next.status;
            }
            prop_assert!(arrivals <= 1);
        }
    }
}
