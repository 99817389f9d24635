//! Intake's rules, free of transport and storage: what a valid request is, how tracking numbers
//! look, and how a request's status moves.

pub mod lifecycle;
pub mod request;
pub mod stuck;
pub mod tracking;

pub use lifecycle::RequestStatus;
pub use request::{Channel, NewRequest, Region, RequestKind, Urgency};
pub use tracking::RequestNo;
