//! The warehouse's rules, free of transport and storage: what a part number, a quantity and a
//! zone are, how a request's lines are reserved (all or nothing, or partially), how issued
//! lines are matched against a pick list, when a low-stock alert fires, a stocktake's accuracy
//! and a part's ABC class.

pub mod abc;
pub mod reservation;
pub mod stock;
pub mod stocktake;

pub use reservation::{Allocation, LineRequest, Urgency, plan_reservation};
pub use stock::{MovementKind, PartNo, Quantity, Zone};
