//! `POST /v1/carriers/{carrier}/events`: carrier tracking webhooks, signed with HMAC-SHA256 of
//! the raw body under the carrier's secret (`X-Signature: sha256=<hex>`). Forwarded to
//! logistics once it exists; until then a correctly signed call answers 503.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::app::AppState;
use crate::problem::Problem;

pub const SIGNATURE: &str = "x-signature";

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(receive))
}

/// Whether `signature` (`sha256=<hex>` or bare hex) is the HMAC of `body` under `secret`;
/// compared in constant time.
pub fn verify(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let hex_sig = signature.strip_prefix("sha256=").unwrap_or(signature);
    let Ok(expected) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// A carrier's tracking update (webhook)
///
/// Public: no bearer token; the body is signed instead, `X-Signature: sha256=<hex HMAC-SHA256
/// of the raw body under the carrier's secret>`. Until logistics is deployed a correctly signed
/// call answers 503 (the carrier retries).
#[utoipa::path(
    post,
    path = "/v1/carriers/{carrier}/events",
    tag = "carriers",
    params(
        ("carrier" = String, Path, description = "The carrier's configured name", pattern = "^[a-z0-9_-]{1,32}$", example = "sf"),
    ),
    request_body(content = Object, description = "The carrier's event, as it sends it", example = json!({"waybill": "SF123", "status": "in_transit"})),
    responses((status = 202, description = "Accepted for logistics")),
    security(("carrier_signature" = [])),
    extensions(("x-branch-scope" = json!("public")), ("x-problems" = json!([400, 401, 404, 413, 503]))),
)]
pub async fn receive(
    State(state): State<AppState>,
    Path(carrier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    let secret = state
        .settings
        .gateway
        .carrier_secrets
        .get(&carrier.to_ascii_lowercase())
        .ok_or_else(|| Problem::not_found(format!("no carrier named {carrier:?} is configured")))?;
    let signature = headers
        .get(SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !verify(secret.expose_secret().as_bytes(), &body, signature) {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad-signature",
            "X-Signature must be sha256=<hex HMAC-SHA256 of the body under the carrier's secret>",
        ));
    }
    Err(Problem::unavailable(
        "logistics is not deployed yet; the carrier should retry later",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_correct_signature_verifies_and_a_wrong_one_does_not() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret-of-sixteen!").unwrap();
        mac.update(b"{}");
        let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(verify(b"secret-of-sixteen!", b"{}", &sig));
        assert!(!verify(b"secret-of-sixteen!", b"{ }", &sig));
        assert!(!verify(b"secret-of-sixteen!", b"{}", "sha256=zz"));
    }
}
