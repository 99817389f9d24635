//! The warehouse's rules, free of transport and storage: what a quantity, a zone and a catalogue
//! entry are, what a product model and its lifecycle are, how a request's lines are reserved
//! (all or nothing, or partially), how its pick lists (the first and its replacements) are
//! named, how issued lines are matched against a pick list, when a low-stock alert fires, a
//! stocktake's accuracy and a part's ABC class, how many bad lines an error names, and how a
//! dealer's returned old parts are identified against its claims and analysed.
//! Identifiers (part, request and branch numbers) are the platform's.

pub mod abc;
pub mod catalogue;
pub mod dealer;
pub mod model;
pub mod request;
pub mod reservation;
pub mod stock;
pub mod stocktake;

pub use aftersales_platform::ids::{BranchCode, RequestNo};
pub use catalogue::{Lifecycle, Money, PartClass, PartSpec};
pub use dealer::DealerCode;
pub use model::{ModelCode, ModelLifecycle, ModelSpec};
pub use request::{Address, Region, RequestKind};
pub use reservation::{Allocation, LineRequest, PickListId, Urgency, plan_reservation};
pub use stock::{MovementKind, PartLine, PartNo, Quantity, Zone};
