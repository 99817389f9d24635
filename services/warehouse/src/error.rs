//! The warehouse's few error kinds and their one mapping to gRPC status (and to the consumer's
//! permanent / transient failures).

use aftersales_platform::auth::AuthError;
use aftersales_platform::bus::HandlerError;
use aftersales_platform::db::is_serialization_failure;
use aftersales_platform::grpc::{Violation, invalid_argument};
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request")]
    Invalid(Vec<Violation>),
    #[error("{0} not found")]
    NotFound(String),
    /// The idempotency key was used for a different request.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    FailedPrecondition(String),
    /// A concurrent transaction won (deadlock or serialization failure); retrying may succeed.
    #[error("{0}")]
    Aborted(String),
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("unexpected: {0:#}")]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        if is_serialization_failure(&e) {
            return Error::Aborted(
                "a concurrent stock movement won the race; retry the request".into(),
            );
        }
        Error::Unexpected(e.into())
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(v) => invalid_argument(&v),
            Error::NotFound(what) => Status::not_found(format!("{what} not found")),
            Error::Conflict(m) => Status::already_exists(m),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::Aborted(m) => Status::aborted(m),
            Error::Auth(a) => a.into(),
            Error::Unexpected(e) => {
                // The cause is logged with the trace id and never sent to the caller.
                tracing::error!(error = %format!("{e:#}"), "unexpected error");
                Status::internal("internal error; see the service log for this trace")
            }
        }
    }
}

impl From<Error> for HandlerError {
    fn from(e: Error) -> Self {
        match e {
            // Bad data in an event will not get better by retrying: dead-letter it.
            Error::Invalid(v) => HandlerError::permanent(anyhow::anyhow!(
                "invalid event: {}",
                v.iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            Error::NotFound(m) | Error::Conflict(m) | Error::FailedPrecondition(m) => {
                HandlerError::permanent(anyhow::anyhow!(m))
            }
            Error::Aborted(m) => HandlerError::transient(anyhow::anyhow!(m)),
            Error::Auth(a) => HandlerError::permanent(a),
            Error::Unexpected(e) => HandlerError::transient(e),
        }
    }
}
