//! Claims-review's few error kinds and their one mapping to gRPC status.

use aftersales_platform::auth::AuthError;
use aftersales_platform::grpc::{Violation, invalid_argument};
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request")]
    Invalid(Vec<Violation>),
    #[error("{0} not found")]
    NotFound(String),
    /// The caller saw an older version of the claim: someone else changed it first.
    #[error("{0}")]
    Aborted(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("unexpected: {0:#}")]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        Error::Unexpected(e.into())
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
            Error::Aborted(m) => Status::aborted(m),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::Auth(a) => a.into(),
            Error::Unexpected(e) => {
                // The cause is logged with the trace id and never sent to the caller.
                tracing::error!(error = %format!("{e:#}"), "unexpected error");
                Status::internal("internal error; see the service log for this trace")
            }
        }
    }
}
