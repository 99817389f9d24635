//! Carriers behind one adapter trait. A carrier books a consignment (its waybill number) and may
//! send tracking of its own accord: the built-in [`Sim`] carrier produces a realistic sequence of
//! updates on the service's clock (the "sim-carrier" scanner sends them through the same path as
//! a webhook); [`Manual`] stands for a carrier whose updates a person records, or which calls the
//! gateway's webhook itself. A real carrier's API would be one more implementation.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::sim::{self, Step};

/// What a carrier is asked to carry.
#[derive(Debug, Clone)]
pub struct Consignment<'a> {
    /// Our shipment or pick-up number.
    pub number: &'a str,
    pub leg: Leg,
    /// When it is handed over (dispatch) or booked (pick-up).
    pub start: DateTime<Utc>,
    /// The ETA (shipment) or when the unit is expected at the warehouse (pick-up).
    pub until: DateTime<Utc>,
    /// A pick-up's collection window opens at.
    pub window_from: Option<DateTime<Utc>>,
    pub from_place: &'a str,
    pub to_place: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Parts to the customer or technician.
    Shipment,
    /// A returned unit from the customer's door to the warehouse.
    Pickup,
}

/// A booked consignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub waybill_no: String,
    /// Updates the carrier will send by itself, due on the service's clock.
    pub tracking: Vec<Step>,
}

pub trait Carrier: Send + Sync {
    fn code(&self) -> &str;
    fn book(&self, c: &Consignment<'_>) -> Booking;
}

/// A carrier without an API: the waybill is printed by us and a person (or the carrier's own
/// webhook) reports its progress.
pub struct Manual {
    code: String,
}

impl Carrier for Manual {
    fn code(&self) -> &str {
        &self.code
    }

    fn book(&self, c: &Consignment<'_>) -> Booking {
        Booking {
            waybill_no: format!("{}-{}", self.code.to_ascii_uppercase(), c.number),
            tracking: Vec::new(),
        }
    }
}

/// The simulated carrier of `make up` and the tests.
pub struct Sim {
    pub time_scale: u32,
}

pub const SIM: &str = "sim";

impl Carrier for Sim {
    fn code(&self) -> &str {
        SIM
    }

    fn book(&self, c: &Consignment<'_>) -> Booking {
        let tracking = match c.leg {
            Leg::Shipment => {
                sim::shipment(c.start, c.until, c.from_place, c.to_place, self.time_scale)
            }
            Leg::Pickup => sim::pickup(
                c.start,
                c.window_from.unwrap_or(c.start),
                c.until,
                c.from_place,
                c.to_place,
                self.time_scale,
            ),
        };
        Booking {
            waybill_no: format!("SIM-{}", c.number),
            tracking,
        }
    }
}

/// The adapters by carrier code.
#[derive(Clone)]
pub struct Carriers {
    sim: Arc<Sim>,
    /// Non-empty: every consignment goes with this carrier (`logistics.carrier_override`).
    override_code: String,
}

impl Carriers {
    pub fn new(sim_time_scale: u32, override_code: &str) -> Self {
        Self {
            sim: Arc::new(Sim {
                time_scale: sim_time_scale,
            }),
            override_code: override_code.to_owned(),
        }
    }

    /// The carrier that actually carries what the rate table gives to `code`.
    pub fn resolve<'a>(&'a self, code: &'a str) -> &'a str {
        if self.override_code.is_empty() {
            code
        } else {
            &self.override_code
        }
    }

    pub fn get(&self, code: &str) -> Arc<dyn Carrier> {
        match self.resolve(code) {
            SIM => self.sim.clone(),
            other => Arc::new(Manual {
                code: other.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sim_books_a_waybill_with_tracking_and_a_manual_carrier_only_a_waybill() {
        let at = Utc::now();
        let c = Consignment {
            number: "SH-2611-000001",
            leg: Leg::Shipment,
            start: at,
            until: at + chrono::Duration::days(1),
            window_from: None,
            from_place: "WH-SH",
            to_place: "Shanghai",
        };
        let carriers = Carriers::new(1, "");
        let sim = carriers.get("sim").book(&c);
        assert_eq!(sim.waybill_no, "SIM-SH-2611-000001");
        assert_eq!(sim.tracking.len(), 4);
        let manual = carriers.get("manual").book(&c);
        assert_eq!(manual.waybill_no, "MANUAL-SH-2611-000001");
        assert!(manual.tracking.is_empty());
        let forced = Carriers::new(1, "manual");
        assert_eq!(forced.get("sim").code(), "manual");
    }
}
