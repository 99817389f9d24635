//! Edge parsing: the caller's token (header, or `access_token` for `EventSource`, which cannot
//! set headers) and JSON bodies whose errors name the field and say why. Who may call what is
//! the document's to say ([`crate::contract`]).

use aftersales_platform::auth::AuthError;
use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::problem::Problem;

/// Verifies the bearer token and puts the [`Caller`] into the request's extensions; 401 when
/// it is missing, expired or forged.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    // `EventSource` cannot set headers, so the stream (only) also takes `?access_token=`.
    let token = from_header.or_else(|| {
        (req.uri().path() == STREAM_PATH)
            .then(|| query_token(req.uri().query()))
            .flatten()
    });
    let Some(token) = token else {
        return Problem::from(AuthError::Missing).into_response();
    };
    // A key the identity provider rotated in since the last fetch is fetched now (at most
    // every second), so a token with a new kid verifies on its first use.
    state.verifier.ensure_key(&token).await;
    match state.verifier.verify(&token) {
        Ok(caller) => {
            tracing::Span::current().record("enduser.id", caller.subject.as_str());
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => Problem::from(e).into_response(),
    }
}

const STREAM_PATH: &str = "/v1/events/stream";

fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "access_token")
        .map(|(_, v)| v.to_owned())
}

/// A JSON body. A syntax or type error answers 400 naming the field (`customer.region`) and
/// why; an empty body is `{}`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            if !ct.starts_with("application/json") && !ct.contains("+json") {
                return Err(Problem::new(
                    axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported-media-type",
                    "send the body as application/json",
                )
                .into_response());
            }
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| Problem::new(e.status(), "bad-body", e.body_text()).into_response())?;
        parse_json(&bytes)
            .map(JsonBody)
            .map_err(IntoResponse::into_response)
    }
}

/// Parses `bytes` as `T`, naming the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde reports a missing field at its parent; name the field itself.
        let field = match (message.strip_prefix("missing field `"), path.as_str()) {
            (Some(rest), p) => {
                let name = rest.split('`').next().unwrap_or("");
                if p == "." {
                    name.to_owned()
                } else {
                    format!("{p}.{name}")
                }
            }
            (None, "." | "?" | "") => "body".to_owned(),
            (None, p) => p.to_owned(),
        };
        let description = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        Problem::field(field, description)
    })
}

/// A request number from the path, by the mesh's one rule (400 naming `request_no` otherwise).
pub fn request_no(s: &str) -> Result<aftersales_platform::ids::RequestNo, Problem> {
    aftersales_platform::ids::RequestNo::parse(s).map_err(|e| Problem::field("request_no", e))
}

/// A part number from the path, by the mesh's one rule (400 naming `part_no` otherwise).
pub fn part_no(s: &str) -> Result<aftersales_platform::ids::PartNo, Problem> {
    aftersales_platform::ids::PartNo::parse(s).map_err(|e| Problem::field("part_no", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        quantity: u32,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        parts: Vec<Inner>,
    }

    #[test]
    fn a_type_error_names_the_nested_field() {
        let e = parse_json::<Outer>(br#"{"parts":[{"quantity":1},{"quantity":"x"}]}"#).unwrap_err();
        assert_eq!(e.violations[0].field, "parts[1].quantity");
    }

    #[test]
    fn a_missing_field_is_named() {
        let e = parse_json::<Outer>(br#"{"parts":[{}]}"#).unwrap_err();
        assert_eq!(e.violations[0].field, "parts[0].quantity");
    }

    #[test]
    fn garbage_is_a_body_error() {
        let e = parse_json::<Outer>(b"{not json").unwrap_err();
        assert_eq!(e.violations[0].field, "body");
        assert_eq!(e.status, 400);
    }

    #[test]
    fn the_access_token_is_read_from_the_query() {
        assert_eq!(
            query_token(Some("types=a&access_token=abc")).as_deref(),
            Some("abc")
        );
        assert_eq!(query_token(Some("types=a")), None);
    }
}
