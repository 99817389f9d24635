//! What claims-review consumes, declared in one place ([`subscriptions`]), one handler file per
//! kind of event.

pub mod request_cancelled;
pub mod request_submitted;
pub mod return_inspected;

use aftersales_platform::bus::{HandlerError, Subscription};

use crate::error::Error;
use crate::service::Claims;

pub fn subscriptions(claims: &Claims) -> Vec<Subscription> {
    vec![
        Subscription::new(
            "intake.request.submitted",
            request_submitted::RequestSubmitted::new(claims),
        ),
        Subscription::new(
            "intake.request.cancelled",
            request_cancelled::RequestCancelled::new(claims),
        ),
        Subscription::new(
            "warehouse.return.inspected",
            return_inspected::ReturnInspected::new(claims),
        ),
    ]
}

/// Bad data is permanent (to the DLQ); anything else may pass (retried).
fn handler_error(e: Error) -> HandlerError {
    match e {
        Error::Invalid(v) => HandlerError::permanent(anyhow::anyhow!(
            "{}",
            v.iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        Error::Unexpected(e) => HandlerError::transient(e),
        other => HandlerError::transient(anyhow::anyhow!("{other}")),
    }
}
