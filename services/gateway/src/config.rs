//! The gateway's settings. It has no database: the kit gives it the platform's sections it uses
//! (`server` with `http_addr` and the admin port, `redis`, `amqp`, `auth`, `telemetry`), and it
//! reads its own `[gateway]` and `[peers]` sections here.
//!
//! Keys (environment `AFTERSALES__…`, as the Helm chart sets them):
//! `SERVER__HTTP_ADDR`, `SERVER__ADMIN_ADDR`, `SERVER__MAX_BODY_BYTES`, `REDIS__URL`,
//! `PEERS__<SVC>__URL` (`INTAKE`, `CLAIMS_REVIEW`, `PROCUREMENT`, `WAREHOUSE`, `LOGISTICS`,
//! `FIELD_SERVICE`, `FEEDBACK`), `AUTH__JWT_SECRET` / `AUTH__JWT_PUBLIC_KEY_FILE`, `AMQP__URL`,
//! `GATEWAY__…` (rate limits per branch and per caller, stream buffer, carriers),
//! `GATEWAY__PHOTOS__…` (where fault photos are stored: [`PhotoSettings`]).

use std::collections::HashMap;

use aftersales_platform::config::{
    AmqpSettings, AuthSettings, ConfigError, Layers, PlatformSettings, RedisSettings,
    ServerSettings, TelemetrySettings,
};
use aftersales_platform::kit::{self, Config};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub const SERVICE: &str = "gateway";

/// Everything the gateway's code reads, assembled once from the kit's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub redis: RedisSettings,
    pub peers: Peers,
    pub gateway: GatewaySettings,
    pub auth: AuthSettings,
    pub amqp: AmqpSettings,
    pub telemetry: TelemetrySettings,
    /// The department's local time (the platform's `calendar.utc_offset_minutes`): a report's
    /// month or days are local ones.
    pub utc_offset_minutes: i32,
}

impl Settings {
    pub fn from_kit(s: &kit::Settings<GatewayConfig>) -> anyhow::Result<Self> {
        let p = &s.platform;
        Ok(Settings {
            server: p.server.clone(),
            redis: p
                .redis
                .clone()
                .ok_or_else(|| anyhow::anyhow!("the gateway needs the [redis] section"))?,
            peers: s.own.peers.clone(),
            gateway: s.own.gateway.clone(),
            auth: p.auth.clone(),
            amqp: p.amqp.clone(),
            telemetry: p.telemetry.clone(),
            utc_offset_minutes: p.calendar.utc_offset_minutes,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Peer {
    /// `http://host:port`; empty when the service is not deployed.
    #[serde(default)]
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Peers {
    pub intake: Peer,
    pub claims_review: Peer,
    pub procurement: Peer,
    pub warehouse: Peer,
    pub logistics: Peer,
    pub field_service: Peer,
    pub feedback: Peer,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GatewaySettings {
    /// Token bucket per branch: size of a burst.
    pub rate_limit_burst: u32,
    /// Token bucket per branch: tokens added per second.
    pub rate_limit_per_second: u32,
    /// Token bucket per caller (`sub` within its branch): size of a burst. Below the branch's,
    /// so that one client cannot take its whole branch's share.
    pub rate_limit_caller_burst: u32,
    /// Token bucket per caller: tokens added per second.
    pub rate_limit_caller_per_second: u32,
    /// How long a POST's first response is kept for `Idempotency-Key` replays.
    pub idempotency_ttl_secs: u64,
    /// Approximate length of the recent-events buffer (Redis stream) that `Last-Event-ID`
    /// resumes from.
    pub stream_max_len: u64,
    /// Interval of the SSE heartbeat comments.
    pub heartbeat_secs: u64,
    /// HMAC-SHA256 secret per carrier (`GATEWAY__CARRIER_SECRETS__<CARRIER>`).
    #[serde(default)]
    pub carrier_secrets: HashMap<String, SecretString>,
    /// The gateway's own credential for forwarding carrier webhooks to logistics (no user's token
    /// travels with a webhook): a JWT with the `logistics` role for branch `*`, from a Secret
    /// (`GATEWAY__CARRIER_TOKEN`). Unset in development with `auth.dev_tokens`: the gateway
    /// mints a short-lived one with the HS256 secret; unset otherwise: webhooks answer 503.
    #[serde(default)]
    pub carrier_token: Option<SecretString>,
    /// Where the photos of a request's fault are stored, and how their URLs are signed.
    pub photos: PhotoSettings,
}

/// Which object store holds the photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhotoBackend {
    /// A directory on the gateway's disk (`make up`, tests): the gateway signs and serves the
    /// URLs itself (`/v1/photo-objects/…`).
    Local,
    /// An S3-compatible bucket: URLs are the bucket's presigned GETs.
    S3,
}

/// `[gateway.photos]` (`AFTERSALES__GATEWAY__PHOTOS__…`).
#[derive(Debug, Clone, Deserialize)]
pub struct PhotoSettings {
    pub backend: PhotoBackend,
    /// The local store's directory; empty: a fresh directory under the system's temporary one
    /// at each start (development and tests only: photos do not survive a restart).
    #[serde(default)]
    pub local_root: String,
    #[serde(default)]
    pub bucket: String,
    #[serde(default)]
    pub region: String,
    /// An S3-compatible endpoint (MinIO, Ceph, …); empty for AWS itself.
    #[serde(default)]
    pub endpoint: String,
    /// Both or neither: without them the bucket's client takes the pod's own credentials
    /// (instance profile, web identity).
    #[serde(default)]
    pub access_key_id: Option<SecretString>,
    #[serde(default)]
    pub secret_access_key: Option<SecretString>,
    /// How long a photo's URL stays valid.
    pub url_ttl_secs: u64,
    /// HMAC key of the local store's URLs (≥ 32 bytes). Unset: a random key per start, so the
    /// URLs a gateway handed out die with it (fine for one development gateway).
    #[serde(default)]
    pub signing_secret: Option<SecretString>,
}

/// The gateway's own sections: `[gateway]` and `[peers]`.
#[derive(Debug, Clone, Deserialize)]
pub struct GatewayConfig {
    pub gateway: GatewaySettings,
    pub peers: Peers,
}

impl Config for GatewayConfig {
    const OPTIONAL_KEYS: &'static [&'static str] = &[
        "gateway.photos.access_key_id",
        "gateway.photos.secret_access_key",
        "gateway.photos.signing_secret",
    ];
    const DEFAULTS: &'static str = r#"
rate_limit_burst = 100
rate_limit_per_second = 50
rate_limit_caller_burst = 60
rate_limit_caller_per_second = 30
idempotency_ttl_secs = 86400
stream_max_len = 10000
heartbeat_secs = 15

[gateway.carrier_secrets]

[gateway.photos]
backend = "local"
local_root = ""
bucket = ""
region = "us-east-1"
endpoint = ""
url_ttl_secs = 300

[peers.intake]
url = "http://127.0.0.1:50051"
[peers.claims_review]
url = "http://127.0.0.1:50052"
[peers.procurement]
url = "http://127.0.0.1:50053"
[peers.warehouse]
url = "http://127.0.0.1:50054"
[peers.logistics]
url = "http://127.0.0.1:50055"
[peers.field_service]
url = "http://127.0.0.1:50056"
[peers.feedback]
url = "http://127.0.0.1:50057"
"#;

    fn from_layers(layers: &Layers, section: &str) -> Result<Self, ConfigError> {
        Ok(GatewayConfig {
            gateway: layers.section(section)?,
            peers: layers.section("peers")?,
        })
    }

    /// Checks every value, the peers' addresses included.
    fn prepare(&mut self, platform: &PlatformSettings) -> Result<(), ConfigError> {
        if platform.server.http_addr.trim().is_empty() {
            return Err(ConfigError::new(
                "server.http_addr",
                "the gateway needs its HTTP address",
            ));
        }
        positive(
            "server.max_body_bytes",
            platform.server.max_body_bytes as u64,
        )?;
        for (name, peer) in self.peers.all() {
            if !peer.url.is_empty() {
                url_with_scheme(&format!("peers.{name}.url"), &peer.url, &["http", "https"])?;
                if http::Uri::try_from(peer.url.as_str()).is_err() {
                    return Err(ConfigError::new(
                        format!("peers.{name}.url"),
                        "is not a valid URI",
                    ));
                }
            }
        }
        let g = &self.gateway;
        positive("gateway.rate_limit_burst", g.rate_limit_burst as u64)?;
        positive(
            "gateway.rate_limit_per_second",
            g.rate_limit_per_second as u64,
        )?;
        positive(
            "gateway.rate_limit_caller_burst",
            g.rate_limit_caller_burst as u64,
        )?;
        positive(
            "gateway.rate_limit_caller_per_second",
            g.rate_limit_caller_per_second as u64,
        )?;
        positive("gateway.idempotency_ttl_secs", g.idempotency_ttl_secs)?;
        positive("gateway.stream_max_len", g.stream_max_len)?;
        positive("gateway.heartbeat_secs", g.heartbeat_secs)?;
        // An empty variable (a chart's unset Secret key) is no token.
        if self
            .gateway
            .carrier_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().trim().is_empty())
        {
            self.gateway.carrier_token = None;
        }
        self.gateway.photos.prepare()?;
        let g = &self.gateway;
        for (carrier, secret) in &g.carrier_secrets {
            if secret.expose_secret().len() < 16 {
                return Err(ConfigError::new(
                    format!("gateway.carrier_secrets.{carrier}"),
                    "must be at least 16 bytes",
                ));
            }
        }
        Ok(())
    }
}

impl PhotoSettings {
    /// Checks the section; empty secrets (a chart's unset Secret keys) count as unset.
    fn prepare(&mut self) -> Result<(), ConfigError> {
        for s in [
            &mut self.access_key_id,
            &mut self.secret_access_key,
            &mut self.signing_secret,
        ] {
            if s.as_ref()
                .is_some_and(|v| v.expose_secret().trim().is_empty())
            {
                *s = None;
            }
        }
        positive("gateway.photos.url_ttl_secs", self.url_ttl_secs)?;
        // S3 refuses a presigned URL valid for more than 7 days.
        if self.url_ttl_secs > 7 * 24 * 3600 {
            return Err(ConfigError::new(
                "gateway.photos.url_ttl_secs",
                "must be at most 604800 (7 days)",
            ));
        }
        if let Some(s) = &self.signing_secret
            && s.expose_secret().len() < 32
        {
            return Err(ConfigError::new(
                "gateway.photos.signing_secret",
                "must be at least 32 bytes",
            ));
        }
        match self.backend {
            PhotoBackend::Local => Ok(()),
            PhotoBackend::S3 => {
                if self.bucket.trim().is_empty() {
                    return Err(ConfigError::new(
                        "gateway.photos.bucket",
                        "is required with backend = \"s3\"",
                    ));
                }
                if self.region.trim().is_empty() {
                    return Err(ConfigError::new(
                        "gateway.photos.region",
                        "is required with backend = \"s3\"",
                    ));
                }
                if !self.endpoint.is_empty() {
                    url_with_scheme(
                        "gateway.photos.endpoint",
                        &self.endpoint,
                        &["http", "https"],
                    )?;
                }
                if self.access_key_id.is_some() != self.secret_access_key.is_some() {
                    return Err(ConfigError::new(
                        "gateway.photos.secret_access_key",
                        "set both access_key_id and secret_access_key, or neither",
                    ));
                }
                Ok(())
            }
        }
    }
}

impl Peers {
    pub fn all(&self) -> [(&'static str, &Peer); 7] {
        [
            ("intake", &self.intake),
            ("claims_review", &self.claims_review),
            ("procurement", &self.procurement),
            ("warehouse", &self.warehouse),
            ("logistics", &self.logistics),
            ("field_service", &self.field_service),
            ("feedback", &self.feedback),
        ]
    }
}

fn url_with_scheme(key: &str, value: &str, schemes: &[&str]) -> Result<(), ConfigError> {
    let (scheme, rest) = value.split_once("://").unwrap_or(("", ""));
    if !schemes.contains(&scheme) || rest.is_empty() {
        // Never echo the value: URLs carry credentials.
        return Err(ConfigError::new(
            key,
            format!("must be a URL starting with {}://", schemes.join(":// or ")),
        ));
    }
    Ok(())
}

fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::new(key, "must be greater than 0"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::GatewayApp;
    use aftersales_platform::config::EnvSource;

    fn load(env: EnvSource) -> Result<kit::Settings<GatewayConfig>, ConfigError> {
        kit::load::<GatewayApp>(None, env, |_, _| {})
    }

    /// The given variables plus a JWT secret (no key is built in).
    fn env(pairs: &[(&str, &str)]) -> EnvSource {
        let mut map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("AFTERSALES__AUTH__JWT_SECRET".into())
            .or_insert_with(|| "a-secret-for-the-tests-at-least-32-bytes".into());
        EnvSource::Map(map)
    }

    #[test]
    fn without_a_jwt_key_the_gateway_does_not_start() {
        let e = load(EnvSource::Map(Default::default())).unwrap_err();
        assert_eq!(e.key, "auth.jwt_secret");
    }

    #[test]
    fn the_defaults_load_and_validate_on_port_8080() {
        let s = load(env(&[])).unwrap();
        assert_eq!(s.validated.http_addr.map(|a| a.port()), Some(8080));
        assert_eq!(s.validated.grpc_addr, None);
        assert_ne!(
            s.validated.admin_addr.port(),
            8080,
            "health and metrics apart from the API"
        );
        assert_eq!(s.own.peers.intake.url, "http://127.0.0.1:50051");
        assert!(s.platform.database.is_none(), "no database section");
    }

    #[test]
    fn the_charts_peer_keys_are_read() {
        let s = load(env(&[
            (
                "AFTERSALES__PEERS__CLAIMS_REVIEW__URL",
                "http://claims:50052",
            ),
            ("AFTERSALES__PEERS__FIELD_SERVICE__URL", "http://fs:50056"),
            ("AFTERSALES__SERVER__HTTP_ADDR", "0.0.0.0:8080"),
        ]))
        .unwrap();
        assert_eq!(s.own.peers.claims_review.url, "http://claims:50052");
        assert_eq!(s.own.peers.field_service.url, "http://fs:50056");
    }

    #[test]
    fn a_bad_peer_url_names_its_key() {
        let e = load(env(&[("AFTERSALES__PEERS__WAREHOUSE__URL", "warehouse")])).unwrap_err();
        assert_eq!(e.key, "peers.warehouse.url");
    }

    #[test]
    fn a_bad_address_and_a_bad_number_name_their_keys() {
        let e = load(env(&[("AFTERSALES__SERVER__HTTP_ADDR", "nowhere")])).unwrap_err();
        assert_eq!(e.key, "server.http_addr");
        let e = load(env(&[("AFTERSALES__GATEWAY__RATE_LIMIT_BURST", "lots")])).unwrap_err();
        assert!(e.to_string().contains("rate_limit_burst"), "{e}");
    }

    #[test]
    fn photos_default_to_the_local_store_and_s3_without_a_bucket_names_the_key() {
        let s = load(env(&[])).unwrap();
        assert_eq!(s.own.gateway.photos.backend, PhotoBackend::Local);
        assert_eq!(s.own.gateway.photos.url_ttl_secs, 300);
        let e = load(env(&[("AFTERSALES__GATEWAY__PHOTOS__BACKEND", "s3")])).unwrap_err();
        assert_eq!(e.key, "gateway.photos.bucket");
        let e = load(env(&[
            ("AFTERSALES__GATEWAY__PHOTOS__BACKEND", "s3"),
            ("AFTERSALES__GATEWAY__PHOTOS__BUCKET", "photos"),
            ("AFTERSALES__GATEWAY__PHOTOS__ACCESS_KEY_ID", "AKIA"),
        ]))
        .unwrap_err();
        assert_eq!(e.key, "gateway.photos.secret_access_key");
        let e = load(env(&[(
            "AFTERSALES__GATEWAY__PHOTOS__SIGNING_SECRET",
            "short",
        )]))
        .unwrap_err();
        assert_eq!(e.key, "gateway.photos.signing_secret");
        let e = load(env(&[("AFTERSALES__GATEWAY__PHOTOS__BACKEND", "ftp")])).unwrap_err();
        assert!(e.to_string().contains("backend"), "{e}");
    }

    #[test]
    fn a_bad_redis_url_is_reported_without_echoing_it() {
        let e = load(env(&[(
            "AFTERSALES__REDIS__URL",
            "http://user:hunter2@redis",
        )]))
        .unwrap_err();
        assert_eq!(e.key, "redis.url");
        assert!(!e.to_string().contains("hunter2"));
    }
}

#[cfg(test)]
mod log_level {
    use super::*;
    use crate::app::GatewayApp;
    use aftersales_platform::config::EnvSource;

    #[test]
    fn a_bad_log_level_is_a_configuration_error_like_in_every_service() {
        let env: std::collections::HashMap<String, String> = [
            (
                "AFTERSALES__AUTH__JWT_SECRET",
                "a-secret-for-the-tests-at-least-32-bytes",
            ),
            ("AFTERSALES__TELEMETRY__LOG_LEVEL", "info,[[["),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let e = kit::load::<GatewayApp>(None, EnvSource::Map(env), |_, _| {}).unwrap_err();
        assert_eq!(e.key, "telemetry.log_level");
    }
}
