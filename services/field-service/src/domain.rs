//! The field-service rules, pure: no tonic, sea-orm, lapin or Redis. Each module is unit- and
//! property-tested beside its code.
//!
//! - [`ids`]: work order numbers, technician, tool and loan ids.
//! - [`kinds`]: the small enumerations (region, urgency, request kind, service category).
//! - [`status`]: the repair status board's state machine: which move reaches which status.
//! - [`policy`]: the policy as data (arrival hours, appointment windows, rework window, fees).
//! - [`sla`]: the arrival deadline in working hours and the time left to it.
//! - [`slots`]: appointment windows of a working day and the ranking of suggested slots.
//! - [`paid`]: quotation, change log and what the customer authorized.
//! - [`work_order`]: the work order aggregate: every change goes through it, versioned, with
//!   who/when/why history.
//! - [`technician`]: a technician as registered.
//! - [`rework`]: the rework rule and the repeat-repair statistics.
//! - [`tools`]: tool loans.

pub mod ids;
pub mod kinds;
pub mod paid;
pub mod policy;
pub mod rework;
pub mod sla;
pub mod slots;
pub mod status;
pub mod technician;
pub mod tools;
pub mod work_order;

pub use ids::{LoanId, TechnicianId, ToolId, WorkOrderNo};
pub use kinds::{Category, Region, RequestKind, Urgency};
pub use policy::Policy;
pub use status::{Move, Status};
pub use work_order::WorkOrder;

/// Why the rules refuse a change. The service maps each to the platform's error kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not allowed in the current state (FAILED_PRECONDITION).
    #[error("{0}")]
    State(String),
    /// The caller's copy is older than the work order (ABORTED).
    #[error("version {expected} is stale: the work order is at version {actual}")]
    Stale { expected: u64, actual: u64 },
    /// A field of the request is wrong given the work order (INVALID_ARGUMENT).
    #[error("{field}: {message}")]
    Field { field: String, message: String },
}

impl Refusal {
    pub fn state(why: impl Into<String>) -> Self {
        Self::State(why.into())
    }
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}
