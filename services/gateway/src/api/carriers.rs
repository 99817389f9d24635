//! `POST /v1/carriers/{carrier}/events`: carrier tracking webhooks, signed with HMAC-SHA256 of
//! the raw body under the carrier's secret (`X-Signature: sha256=<hex>`), forwarded to
//! logistics' `RecordTrackingEvent` with the gateway's own credential (no user's token travels
//! with a webhook: `gateway.carrier_token`, or in development one the gateway mints).
//!
//! The carrier's status code goes through [`normalise`] (the adapter: the mesh's lower-case names
//! as they are, and each carrier's own codes) and is also passed on raw, for audit. Replay
//! protection is logistics': the event id makes a replay a no-op (`duplicate: true`), and
//! `sent_at` (inside the signed body) outside its window is refused (401), so a captured call
//! cannot be replayed later.

use std::time::Duration;

use aftersales_platform::auth::{Role, mint_hs256};
use aftersales_platform::proto::logistics::v1 as pb;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tonic::Code;
use utoipa::ToSchema;

use crate::api::logistics::{PEER, PickupStatus, SERVICE, ShipmentStatus, TrackingStatus};
#[allow(unused_imports)] // named by the schema attributes
use crate::api::schema::CarrierCode;
use crate::api::wire::{Violations, instant};
use crate::app::AppState;
use crate::peers::call;
use crate::problem::Problem;

pub const SIGNATURE: &str = "x-signature";

/// How long a credential the gateway mints for itself lives (development only).
const MINTED_TTL: Duration = Duration::from_secs(300);

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

/// A carrier's status code as the mesh's status: the mesh's own names in any case
/// (`delivered`, `OUT_FOR_DELIVERY`), then the carrier's own codes. A carrier whose codes
/// differ gets its rows here.
pub fn normalise(carrier: &str, raw: &str) -> Option<pb::TrackingStatus> {
    let code = raw.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    if let Some(s) = TrackingStatus::parse(&code) {
        return pb::TrackingStatus::try_from(s.to_proto()).ok();
    }
    use pb::TrackingStatus as T;
    // Words every carrier we know uses for the same steps.
    let common = match code.as_str() {
        "collected" | "accepted" | "picked" => Some(T::PickedUp),
        "transit" | "departed" | "arrived_at_hub" => Some(T::InTransit),
        "dispatching" | "on_vehicle" => Some(T::OutForDelivery),
        "signed" | "signed_for" => Some(T::Delivered),
        "delay" => Some(T::Delayed),
        "damage" => Some(T::Damaged),
        "loss" | "missing" => Some(T::Lost),
        "attempt_failed" | "not_home" => Some(T::DeliveryFailed),
        _ => None,
    };
    common.or(match (carrier, code.as_str()) {
        // SF Express's operation codes.
        ("sf", "50") => Some(T::PickedUp),
        ("sf", "30" | "31") => Some(T::InTransit),
        ("sf", "44") => Some(T::OutForDelivery),
        ("sf", "80") => Some(T::Delivered),
        ("sf", "70") => Some(T::DeliveryFailed),
        _ => None,
    })
}

/// A carrier's tracking update, as it signs and sends it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CarrierEvent {
    /// The carrier's id of this update: a replay of it changes nothing.
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\x00-\x1F\x7F]*[^ \x00-\x1F\x7F][^\x00-\x1F\x7F]*$",
        example = "sf-evt-000193"
    )]
    pub event_id: String,
    /// When the carrier sent this call; too far from now and it is refused (401).
    #[schema(format = DateTime, example = "2026-11-30T15:21:04+08:00")]
    pub sent_at: String,
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\x00-\x1F\x7F]*[^ \x00-\x1F\x7F][^\x00-\x1F\x7F]*$",
        example = "SF-SH-2611-000042"
    )]
    pub waybill_no: String,
    /// The carrier's status code, or one of the mesh's: picked_up, in_transit,
    /// out_for_delivery, delivered, delayed, damaged, lost, delivery_failed.
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = r"^[A-Za-z0-9_ .:-]*[A-Za-z0-9][A-Za-z0-9_ .:-]*$",
        example = "delivered"
    )]
    pub status: String,
    #[schema(format = DateTime, example = "2026-11-30T15:20:00+08:00")]
    pub occurred_at: String,
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Pudong, Shanghai"
    )]
    pub location: String,
    #[serde(default)]
    #[schema(
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "signed at the door"
    )]
    pub description: String,
    /// For a delivery: who signed.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        example = "Li Wei"
    )]
    pub signed_by: String,
    /// A revised ETA, when the carrier gives one.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub eta: Option<String>,
}

/// What the webhook did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CarrierEventAnswer {
    /// True the first time this event id arrives.
    pub applied: bool,
    /// True for a replay: nothing changed.
    pub duplicate: bool,
    /// Whose waybill it is: a shipment's or a return pick-up's.
    #[schema(example = "shipment")]
    pub target: String,
    /// The shipment or pick-up number.
    #[schema(example = "SH-2611-000042")]
    pub number: String,
    /// Its status after the update (the mesh's name).
    #[schema(example = "delivered")]
    pub status: String,
}

/// The credential logistics gets for a webhook: the configured service token, or in
/// development (HS256 secret, `auth.dev_tokens`) a short-lived one minted here.
fn credential(state: &AppState) -> Result<String, Problem> {
    if let Some(t) = &state.settings.gateway.carrier_token {
        return Ok(t.expose_secret().trim().to_owned());
    }
    let auth = &state.settings.auth;
    let minting = auth.dev_tokens && auth.jwks_url.is_none() && auth.jwt_public_key_file.is_none();
    if let (true, Some(secret)) = (minting, &auth.jwt_secret) {
        return mint_hs256(
            secret.expose_secret(),
            "gateway-carrier-webhook",
            "*",
            &[Role::Logistics],
            MINTED_TTL,
        )
        .map_err(|e| {
            tracing::error!(error = %e, "minting the carrier webhook's credential failed");
            Problem::internal()
        });
    }
    tracing::error!(
        "a carrier webhook arrived but the gateway has no credential for logistics: set gateway.carrier_token"
    );
    Err(Problem::unavailable(
        "the gateway cannot forward carrier events yet; the carrier should retry later",
    ))
}

/// A carrier's tracking update (webhook)
///
/// Public: no bearer token; the body is signed instead, `X-Signature: sha256=<hex HMAC-SHA256
/// of the raw body under the carrier's secret>`. The status may be the carrier's own code or one
/// of the mesh's names. A replayed event id answers 200 with `duplicate: true`; a `sent_at` too
/// far from now answers 401 (a captured call cannot be replayed later); an unknown waybill 404.
#[utoipa::path(
    post,
    path = "/v1/carriers/{carrier}/events",
    tag = "carriers",
    params(("carrier" = CarrierCode, Path, description = "The carrier's configured name")),
    request_body(content = CarrierEvent, description = "The carrier's event", example = json!({
        "event_id": "sf-evt-000193", "sent_at": "2026-11-30T15:21:04+08:00",
        "waybill_no": "SF-SH-2611-000042", "status": "delivered",
        "occurred_at": "2026-11-30T15:20:00+08:00", "location": "Pudong, Shanghai",
        "description": "signed at the door", "signed_by": "Li Wei"
    })),
    responses((status = 200, description = "Recorded by logistics (or a replay of an event it has)", body = CarrierEventAnswer)),
    security(("carrier_signature" = [])),
    extensions(("x-branch-scope" = json!("public")), ("x-problems" = json!([400, 401, 404, 413, 415, 503]))),
)]
pub async fn receive(
    State(state): State<AppState>,
    Path(carrier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CarrierEventAnswer>, Problem> {
    let carrier = carrier.to_ascii_lowercase();
    let secret = state
        .settings
        .gateway
        .carrier_secrets
        .get(&carrier)
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
    let event: CarrierEvent = crate::extract::parse_json(&body)?;
    let mut bad = Violations::default();
    let sent_at = instant(Some(&event.sent_at), "sent_at", &mut bad);
    let occurred_at = instant(Some(&event.occurred_at), "occurred_at", &mut bad);
    let eta = instant(event.eta.as_deref(), "eta", &mut bad);
    let status = normalise(&carrier, &event.status);
    if status.is_none() {
        bad.add(
            "status",
            format!(
                "{:?} is neither a code of carrier {carrier} nor one of {}",
                event.status,
                TrackingStatus::choices()
            ),
        );
    }
    bad.finish()?;
    let req = pb::RecordTrackingEventRequest {
        carrier: carrier.clone(),
        waybill_no: event.waybill_no,
        carrier_event_id: event.event_id,
        status: status.map(|s| s as i32).unwrap_or(0),
        occurred_at,
        location: event.location,
        description: event.description,
        signed_by: event.signed_by,
        eta,
        raw_status: event.status,
        sent_at,
        shipment_no: String::new(),
    };
    let token = credential(&state)?;
    let mut client = state.peers.logistics_as(&token)?;
    let res = call(
        PEER,
        &format!("{SERVICE}/RecordTrackingEvent"),
        client.record_tracking_event(req),
    )
    .await
    .map_err(for_the_carrier)?;
    use pb::record_tracking_event_response::Target;
    let (target, number, status) = match res.target {
        Some(Target::Shipment(s)) => ("shipment", s.shipment_no, ShipmentStatus::text_of(s.status)),
        Some(Target::Pickup(p)) => ("pickup", p.pickup_no, PickupStatus::text_of(p.status)),
        None => return Err(Problem::internal()),
    };
    Ok(Json(CarrierEventAnswer {
        applied: res.applied,
        duplicate: !res.applied,
        target: target.to_owned(),
        number,
        status: status.to_owned(),
    }))
}

/// Logistics' answer as the carrier should see it: a bad field is the carrier's 400 (it sent
/// what its contract says, so the document could not catch it), a stale `sent_at` its 401, and
/// a refusal of the gateway's own credential is ours: 503, logged, so the carrier retries.
fn for_the_carrier(p: Problem) -> Problem {
    match p.grpc_code {
        Some(Code::InvalidArgument) => {
            let mut out = Problem::bad_request(p.violations.clone());
            if out.violations.is_empty() {
                out.detail = p.detail.clone();
            }
            out
        }
        Some(Code::Unauthenticated) => {
            tracing::warn!(detail = %p.detail, "logistics refused a carrier webhook as unauthenticated");
            Problem::new(StatusCode::UNAUTHORIZED, "stale-webhook", p.detail.clone())
        }
        Some(Code::PermissionDenied) => {
            tracing::error!(detail = %p.detail, "logistics refused the gateway's carrier credential: check gateway.carrier_token");
            Problem::unavailable("the gateway cannot forward carrier events now; retry later")
        }
        _ => p,
    }
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

    #[test]
    fn the_adapter_takes_the_meshs_names_in_any_case_and_a_carriers_own_codes() {
        use pb::TrackingStatus as T;
        assert_eq!(normalise("sf", "delivered"), Some(T::Delivered));
        assert_eq!(normalise("sf", "OUT_FOR_DELIVERY"), Some(T::OutForDelivery));
        assert_eq!(normalise("sf", "Delivery failed"), Some(T::DeliveryFailed));
        assert_eq!(normalise("sf", "80"), Some(T::Delivered));
        assert_eq!(normalise("yto", "80"), None);
        assert_eq!(normalise("sf", "signed"), Some(T::Delivered));
        assert_eq!(normalise("sf", "unspecified"), None);
        assert_eq!(normalise("sf", "teleported"), None);
    }
}
