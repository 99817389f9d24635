//! Claims-review's rules, free of transport and storage: the policy data, the evaluation of a
//! claim against it, the claim as kept (stored as JSON) and its status machine, the review
//! deadline, the refund of a return and what claims-review is asked to do.

pub mod claim;
pub mod command;
pub mod deadline;
pub mod dealer;
pub mod evaluate;
pub mod policy;
pub mod refund;

pub use claim::{Claim, ClaimDetail, ClaimEvent, ClaimStatus};
pub use evaluate::{ClaimInput, Coverage, Evaluation, Kind, Recommendation, RejectReason};
pub use policy::Policy;
