//! The scans, as the platform runs them (once across replicas, at the service clock's now; a
//! manual clock wakes them when it moves): see [`crate::service::scans`].

use std::time::Duration;

use aftersales_platform::scanner::Scanner;

use crate::service::Logistics;

/// The sim carrier sends its due tracking updates.
pub const SIM_CARRIER: &str = "sim-carrier";
/// Shipments past their ETA get a delay exception, once per ETA.
pub const ETA_WATCH: &str = "eta-watch";
/// Customers whose own return has not arrived are chased, once.
pub const RETURN_CHASE: &str = "return-chase";

pub fn all(logistics: &Logistics, sim_every: Duration, deadline_every: Duration) -> Vec<Scanner> {
    let sim = logistics.clone();
    let eta = logistics.clone();
    let chase = logistics.clone();
    vec![
        Scanner::new(SIM_CARRIER, sim_every, move |now| {
            let l = sim.clone();
            async move { Ok(l.fire_sim(now).await?) }
        }),
        Scanner::new(ETA_WATCH, deadline_every, move |now| {
            let l = eta.clone();
            async move { Ok(l.watch_etas(now).await?) }
        }),
        Scanner::new(RETURN_CHASE, deadline_every, move |now| {
            let l = chase.clone();
            async move { Ok(l.chase_returns(now).await?) }
        }),
    ]
}
