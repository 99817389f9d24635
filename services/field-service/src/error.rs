//! Field-service's error kinds are the platform's ([`aftersales_platform::error`]): one mapping
//! to gRPC status and one retry rule for the consumer, the same in every service. The rules'
//! refusals map onto them here: a wrong state is FAILED_PRECONDITION, a stale version ABORTED, a
//! field wrong for this work order INVALID_ARGUMENT naming it.

pub use aftersales_platform::error::Error;
use aftersales_platform::validate::Violation;

use crate::domain::Refusal;

/// The platform error for a refusal of the rules.
pub fn refused(r: Refusal) -> Error {
    match r {
        Refusal::State(m) => Error::FailedPrecondition(m),
        stale @ Refusal::Stale { .. } => {
            Error::Aborted(format!("{stale}; read the work order again and retry"))
        }
        Refusal::Field { field, message } => Error::Invalid(vec![Violation::new(field, message)]),
    }
}

/// Several refusals at once: every bad field together (a state refusal wins).
pub fn refused_all(list: Vec<Refusal>) -> Error {
    let mut v = Vec::new();
    for r in list {
        match refused(r) {
            Error::Invalid(mut x) => v.append(&mut x),
            other => return other,
        }
    }
    Error::Invalid(v)
}
