//! Errors as RFC 9457 problem details (`application/problem+json`), and the one mapping from a
//! peer's gRPC status to them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tonic::Code;
use utoipa::ToSchema;

use aftersales_platform::auth::AuthError;

/// A bad field, as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldViolation {
    /// The field's path in the request (`customer.phone`, `parts[0].quantity`), or the name of
    /// the parameter or header.
    #[schema(example = "customer.phone")]
    pub field: String,
    #[schema(example = "does not match the pattern of a phone number")]
    pub description: String,
}

/// An RFC 9457 problem, boxed so that `Result<_, Problem>` stays small.
#[derive(Debug, Clone)]
pub struct Problem(Box<ProblemDetails>);

impl std::ops::Deref for Problem {
    type Target = ProblemDetails;
    fn deref(&self) -> &ProblemDetails {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemDetails {
        &mut self.0
    }
}

/// An RFC 9457 problem (`application/problem+json`). `violations` is an extension member,
/// present for 400 and 422.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDetails {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(example = "https://aftersales.example/problems/invalid-argument")]
    pub kind: String,
    #[schema(example = "Bad Request")]
    pub title: String,
    #[schema(minimum = 400, maximum = 599, example = 400)]
    pub status: u16,
    pub detail: String,
    /// Every bad field of the request, at once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<FieldViolation>,
    /// The request's trace id, for support.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub trace_id: Option<String>,
    /// Seconds to wait (429); also sent as `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub retry_after: Option<u64>,
    /// The peer's gRPC code this problem came from, for the handler that asked (never sent).
    #[serde(skip)]
    pub grpc_code: Option<Code>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(ProblemDetails {
            kind: format!("https://aftersales.example/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            violations: Vec::new(),
            trace_id: aftersales_platform::telemetry::current_trace_id(),
            retry_after: None,
            grpc_code: None,
        }))
    }

    pub fn bad_request(violations: Vec<FieldViolation>) -> Self {
        let detail = violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect::<Vec<_>>()
            .join("; ");
        let mut p = Self::new(StatusCode::BAD_REQUEST, "invalid-argument", detail);
        p.violations = violations;
        p
    }

    pub fn field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::bad_request(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// A well-formed request (it matches the document) that a service refused by a rule the
    /// document cannot state: dates in the future or out of order, a part listed twice, …
    pub fn unprocessable(violations: Vec<FieldViolation>, detail: String) -> Self {
        let detail = if violations.is_empty() {
            detail
        } else {
            violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", detail);
        p.violations = violations;
        p
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("too many requests; retry in {retry_after_secs} s"),
        );
        p.retry_after = Some(retry_after_secs);
        p
    }

    /// A peer's answer, mapped by its gRPC code (DESIGN §7, issue 5).
    pub fn from_status(peer: &str, status: &tonic::Status) -> Self {
        let mut p = Self::map_status(peer, status);
        p.grpc_code = Some(status.code());
        p
    }

    fn map_status(peer: &str, status: &tonic::Status) -> Self {
        let message = status.message().to_owned();
        match status.code() {
            // The gateway checked the request against the document before calling: what a
            // service still refuses breaks a rule the document cannot state.
            Code::InvalidArgument => {
                let violations: Vec<FieldViolation> = aftersales_platform::grpc::violations(status)
                    .into_iter()
                    .map(|v| FieldViolation {
                        field: v.field,
                        description: v.description,
                    })
                    .collect();
                Self::unprocessable(violations, message)
            }
            Code::NotFound => Self::not_found(message),
            Code::AlreadyExists => Self::new(StatusCode::CONFLICT, "already-exists", message),
            Code::FailedPrecondition => {
                Self::new(StatusCode::CONFLICT, "failed-precondition", message)
            }
            Code::Aborted => Self::new(StatusCode::CONFLICT, "conflict", message),
            Code::Unauthenticated => {
                Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
            }
            Code::PermissionDenied => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            Code::DeadlineExceeded => Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                "deadline-exceeded",
                format!("{peer} did not answer in time"),
            ),
            // A connection that broke under the call (the peer killed or restarting): tonic
            // says Cancelled ("operation was canceled") or Unknown with a transport error as
            // its source. Nothing the caller did; the peer is away: 503, and a retry with the
            // same idempotency key is safe.
            Code::Unavailable | Code::Cancelled => {
                tracing::warn!(peer, code = ?status.code(), error = %message, "peer unavailable");
                Self::unavailable(format!("{peer} is unavailable; try again shortly"))
            }
            Code::Unknown
                if std::error::Error::source(status).is_some() || message == "transport error" =>
            {
                tracing::warn!(peer, error = %message, "peer connection failed");
                Self::unavailable(format!("{peer} is unavailable; try again shortly"))
            }
            Code::ResourceExhausted => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "resource-exhausted", message)
            }
            Code::Unimplemented => Self::new(
                StatusCode::NOT_IMPLEMENTED,
                "not-implemented",
                format!("{peer} does not offer this yet"),
            ),
            _ => {
                // The cause is logged; the caller learns only that it failed.
                tracing::error!(peer, code = ?status.code(), error = %message, "peer failed");
                Self::internal()
            }
        }
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
            _ => Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string()),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut res = (status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"aftersales\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftersales_platform::grpc::{Violation, invalid_argument};

    #[test]
    fn grpc_codes_map_to_the_http_statuses_the_issue_lists() {
        let cases = [
            (Code::NotFound, 404),
            (Code::FailedPrecondition, 409),
            (Code::Aborted, 409),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::DeadlineExceeded, 504),
            (Code::Unavailable, 503),
            (Code::Cancelled, 503),
            (Code::Internal, 500),
            (Code::Unknown, 500),
        ];
        for (code, http) in cases {
            let p = Problem::from_status("intake", &tonic::Status::new(code, "x"));
            assert_eq!(p.status, http, "{code:?}");
        }
    }

    #[test]
    fn a_connection_broken_under_the_call_is_503_not_500() {
        let p = Problem::from_status(
            "intake",
            &tonic::Status::new(Code::Unknown, "transport error"),
        );
        assert_eq!(p.status, 503);
        let p = Problem::from_status("intake", &tonic::Status::new(Code::Unknown, "boom"));
        assert_eq!(p.status, 500);
    }

    #[test]
    fn invalid_argument_becomes_422_with_every_field_violation() {
        let s = invalid_argument(&[
            Violation::new("customer.phone", "bad"),
            Violation::new("parts[0].quantity", "must be positive"),
        ]);
        let p = Problem::from_status("intake", &s);
        assert_eq!(p.status, 422);
        assert_eq!(p.violations.len(), 2);
        assert_eq!(p.violations[0].field, "customer.phone");
    }

    #[test]
    fn an_internal_error_does_not_leak_its_message() {
        let p = Problem::from_status("intake", &tonic::Status::internal("password=hunter2"));
        assert!(!p.detail.contains("hunter2"));
    }
}
