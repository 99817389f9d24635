//! The error kinds of every service, with their one mapping to a gRPC status and their one rule
//! for the consumer (DESIGN §5): which failures of an event handler are retried, which go to the
//! DLQ at once, and which pause the consumer without using an attempt.
//!
//! | kind | gRPC | event handler |
//! |---|---|---|
//! | `Invalid` | INVALID_ARGUMENT + BadRequest | dead-lettered at once: the event itself is wrong |
//! | `Auth` | UNAUTHENTICATED / PERMISSION_DENIED | dead-lettered at once |
//! | `NotFound` | NOT_FOUND | retried, then DLQ (an earlier event may not have arrived yet) |
//! | `AlreadyExists` | ALREADY_EXISTS | retried, then DLQ |
//! | `FailedPrecondition` | FAILED_PRECONDITION | retried, then DLQ (the state may still move) |
//! | `Aborted` | ABORTED | retried, then DLQ (a concurrent transaction won) |
//! | `Unavailable` | UNAVAILABLE | no attempt used: the consumer pauses until the database is back |
//! | `Unexpected` | INTERNAL (cause logged, not sent) | retried, then DLQ |
//!
//! A handler that knows an event is stale or irrelevant (an older transition, a request it does
//! not hold) answers `Ok` and changes nothing; errors are for what might get better.

use tonic::Status;

use crate::auth::AuthError;
use crate::bus::HandlerError;
use crate::db;
use crate::grpc::invalid_argument;
use crate::validate::{Invalid, Violation};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Invalid(Vec<Violation>),
    #[error("{0} not found")]
    NotFound(String),
    /// The thing exists already (an idempotency key reused for something else, a duplicate).
    #[error("{0}")]
    AlreadyExists(String),
    /// The thing is not in a state that allows this.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A concurrent change won (a stale version, a serialization failure); retrying may work.
    #[error("{0}")]
    Aborted(String),
    #[error("{0}")]
    Auth(#[from] AuthError),
    /// The service's own database is unavailable; nothing about the request is wrong.
    #[error("unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    #[error("unexpected: {0:#}")]
    Unexpected(anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }
    pub fn precondition(why: impl Into<String>) -> Self {
        Self::FailedPrecondition(why.into())
    }
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Invalid(vec![Violation::new(field, description)])
    }
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::Invalid(e.0)
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        if db::is_unavailable(&e) {
            Error::Unavailable(e.into())
        } else if db::is_serialization_failure(&e) {
            Error::Aborted("a concurrent change won the race; retry the request".into())
        } else {
            Error::Unexpected(e.into())
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        if db::caused_by_unavailable_db(&e) {
            Error::Unavailable(e)
        } else {
            Error::Unexpected(e)
        }
    }
}

impl From<prost::DecodeError> for Error {
    fn from(e: prost::DecodeError) -> Self {
        Error::Unexpected(e.into())
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(v) => invalid_argument(&v),
            Error::NotFound(what) => Status::not_found(format!("{what} not found")),
            Error::AlreadyExists(m) => Status::already_exists(m),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::Aborted(m) => Status::aborted(m),
            Error::Auth(a) => a.into(),
            Error::Unavailable(e) => {
                tracing::warn!(error = %format!("{e:#}"), "dependency unavailable");
                Status::unavailable("the service's database is unavailable; retry shortly")
            }
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
            Error::Invalid(v) => {
                HandlerError::permanent(anyhow::anyhow!("invalid event: {}", Invalid(v)))
            }
            Error::Auth(a) => HandlerError::permanent(a),
            Error::Unavailable(e) => HandlerError::Unavailable(e),
            Error::NotFound(m) => HandlerError::transient(anyhow::anyhow!("{m} not found")),
            Error::AlreadyExists(m) | Error::FailedPrecondition(m) | Error::Aborted(m) => {
                HandlerError::transient(anyhow::anyhow!(m))
            }
            Error::Unexpected(e) => HandlerError::transient(e),
        }
    }
}
