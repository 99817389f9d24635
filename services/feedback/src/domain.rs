//! Feedback's rules, pure: no protobuf, database or broker. Reporting periods, the policy data,
//! the return visit's status machine, the survey, complaints with their routing and escalation
//! ladder, the KPI arithmetic and the star-level assessment.

pub mod assessment;
pub mod complaint;
pub mod kpi;
pub mod period;
pub mod policy;
pub mod survey;
pub mod visit;

pub use policy::Policy;
