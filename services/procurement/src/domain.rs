//! Procurement's rules, free of transport and storage: identifiers and amounts, the policy data,
//! the supplier's status ladder (warning → suspension, termination by hand), the computed
//! scorecard, the rule that chooses a supplier from the current quotes, the purchase order's
//! state machine, the replenishment quantity and the cost report.

pub mod cost;
pub mod ids;
pub mod order;
pub mod policy;
pub mod replenish;
pub mod rule;
pub mod scorecard;
pub mod supplier;

pub use aftersales_platform::ids::{BranchCode, PartNo, RequestNo};
pub use ids::{Price, Quantity, SupplierId, date, optional_date, required_date};
pub use order::{LineState, PoStatus, PurchaseReason};
pub use policy::Policy;
pub use supplier::SupplierStatus;
