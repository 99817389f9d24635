//! The gateway's settings. It has no database, so it does not read the platform's
//! `PlatformSettings` (whose `[database]` section would be a lie here): it reads the platform's
//! own sections it needs (`auth`, `amqp`, `telemetry`) through [`Layers::section`] with the
//! platform's types, plus its own `[server]`, `[redis]`, `[peers]` and `[gateway]`.
//!
//! Keys (environment `AFTERSALES__…`, as the Helm chart sets them):
//! `SERVER__HTTP_ADDR`, `REDIS__URL`, `PEERS__<SVC>__URL` (`INTAKE`, `CLAIMS_REVIEW`,
//! `PROCUREMENT`, `WAREHOUSE`, `LOGISTICS`, `FIELD_SERVICE`, `FEEDBACK`), `AUTH__JWT_SECRET` /
//! `AUTH__JWT_PUBLIC_KEY_FILE`, `AMQP__URL`, `GATEWAY__…` (limits, stream buffer, carriers).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use aftersales_platform::config::{
    AmqpSettings, AuthSettings, ConfigError, EnvSource, Layers, TelemetrySettings,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub const SERVICE: &str = "gateway";

#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub redis: RedisSettings,
    pub peers: Peers,
    pub gateway: GatewaySettings,
    pub auth: AuthSettings,
    pub amqp: AmqpSettings,
    pub telemetry: TelemetrySettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// The one port: API, docs, board, `/healthz`, `/readyz`, `/metrics`.
    pub http_addr: String,
    /// Deadline of one upstream RPC.
    pub request_timeout_ms: u64,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// How long open requests (and SSE streams) get to finish after a shutdown signal.
    pub shutdown_grace_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub url: SecretString,
    /// Prepended to every key: `aftersales:gateway:` in production, unique per test.
    pub key_prefix: String,
    /// Upper bound for one Redis command; past it the feature degrades instead of waiting.
    pub command_timeout_ms: u64,
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
    /// How long a POST's first response is kept for `Idempotency-Key` replays.
    pub idempotency_ttl_secs: u64,
    /// Approximate length of the recent-events buffer (Redis stream) that `Last-Event-ID`
    /// resumes from.
    pub stream_max_len: u64,
    /// Interval of the SSE heartbeat comments.
    pub heartbeat_secs: u64,
    /// Name of the gateway's shared queue on the broker (all replicas consume it).
    pub stream_queue: String,
    /// HMAC-SHA256 secret per carrier (`GATEWAY__CARRIER_SECRETS__<CARRIER>`).
    #[serde(default)]
    pub carrier_secrets: HashMap<String, SecretString>,
}

const DEFAULTS: &str = r#"
[server]
http_addr = "127.0.0.1:8080"
request_timeout_ms = 10000
max_body_bytes = 1048576
shutdown_grace_ms = 10000

[redis]
url = "redis://127.0.0.1:6379"
key_prefix = "aftersales:gateway:"
command_timeout_ms = 1000

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

[gateway]
rate_limit_burst = 100
rate_limit_per_second = 50
idempotency_ttl_secs = 86400
stream_max_len = 10000
heartbeat_secs = 15
stream_queue = "gateway.stream"

[amqp]
url = "amqp://guest:guest@127.0.0.1:5672/%2f"
exchange = "aftersales.events"
dead_letter_exchange = "aftersales.dlx"
name_prefix = ""
prefetch = 64
max_attempts = 5
retry_delay_ms = 2000
queue_type = "quorum"
queue_expires_ms = 0

[auth]
leeway_secs = 30

[telemetry]
log_format = "json"
log_level = "info"
otlp_endpoint = ""
"#;

/// Checked forms of the values the app needs.
#[derive(Debug, Clone)]
pub struct Validated {
    pub http_addr: SocketAddr,
}

impl Settings {
    /// Defaults → file → environment, then validated.
    pub fn load(file: Option<&Path>, env: EnvSource) -> Result<(Settings, Validated), ConfigError> {
        let settings = Self::read(Layers::load(DEFAULTS, file, env)?)?;
        let validated = settings.validate()?;
        Ok((settings, validated))
    }

    fn read(layers: Layers) -> Result<Settings, ConfigError> {
        Ok(Settings {
            server: layers.section("server")?,
            redis: layers.section("redis")?,
            peers: layers.section("peers")?,
            gateway: layers.section("gateway")?,
            auth: layers.section("auth")?,
            amqp: layers.section("amqp")?,
            telemetry: layers.section("telemetry")?,
        })
    }

    /// The defaults alone, unvalidated (tests start from here and change what they need).
    pub fn defaults() -> Result<Settings, ConfigError> {
        Self::read(Layers::load(
            DEFAULTS,
            None,
            EnvSource::Map(HashMap::new()),
        )?)
    }

    /// Checks every value, the peers' addresses included.
    pub fn validate(&self) -> Result<Validated, ConfigError> {
        let http_addr: SocketAddr = self.server.http_addr.parse().map_err(|_| {
            ConfigError::new(
                "server.http_addr",
                format!(
                    "{:?} is not an address of the form host:port (e.g. 0.0.0.0:8080)",
                    self.server.http_addr
                ),
            )
        })?;
        positive("server.request_timeout_ms", self.server.request_timeout_ms)?;
        positive("server.max_body_bytes", self.server.max_body_bytes as u64)?;
        url_with_scheme(
            "redis.url",
            self.redis.url.expose_secret(),
            &["redis", "rediss"],
        )?;
        positive("redis.command_timeout_ms", self.redis.command_timeout_ms)?;
        url_with_scheme(
            "amqp.url",
            self.amqp.url.expose_secret(),
            &["amqp", "amqps"],
        )?;
        positive("amqp.prefetch", self.amqp.prefetch as u64)?;
        if !matches!(self.amqp.queue_type.as_str(), "quorum" | "classic") {
            return Err(ConfigError::new(
                "amqp.queue_type",
                format!("{:?} is not one of quorum, classic", self.amqp.queue_type),
            ));
        }
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
        positive(
            "gateway.rate_limit_burst",
            self.gateway.rate_limit_burst as u64,
        )?;
        positive(
            "gateway.rate_limit_per_second",
            self.gateway.rate_limit_per_second as u64,
        )?;
        positive(
            "gateway.idempotency_ttl_secs",
            self.gateway.idempotency_ttl_secs,
        )?;
        positive("gateway.stream_max_len", self.gateway.stream_max_len)?;
        positive("gateway.heartbeat_secs", self.gateway.heartbeat_secs)?;
        if self.gateway.stream_queue.trim().is_empty() {
            return Err(ConfigError::new(
                "gateway.stream_queue",
                "must not be empty",
            ));
        }
        for (carrier, secret) in &self.gateway.carrier_secrets {
            if secret.expose_secret().len() < 16 {
                return Err(ConfigError::new(
                    format!("gateway.carrier_secrets.{carrier}"),
                    "must be at least 16 bytes",
                ));
            }
        }
        if !matches!(self.telemetry.log_format.as_str(), "json" | "pretty") {
            return Err(ConfigError::new(
                "telemetry.log_format",
                format!("{:?} is not one of json, pretty", self.telemetry.log_format),
            ));
        }
        let endpoint = self.telemetry.otlp_endpoint.trim();
        if !endpoint.is_empty() {
            url_with_scheme("telemetry.otlp_endpoint", endpoint, &["http", "https"])?;
        }
        match (&self.auth.jwt_secret, &self.auth.jwt_public_key_file) {
            (_, Some(path)) if !Path::new(path).is_file() => {
                return Err(ConfigError::new(
                    "auth.jwt_public_key_file",
                    format!("{path} does not exist"),
                ));
            }
            (Some(s), None) if s.expose_secret().len() < 16 => {
                return Err(ConfigError::new(
                    "auth.jwt_secret",
                    "must be at least 16 bytes",
                ));
            }
            (None, None) => {
                return Err(ConfigError::new(
                    "auth.jwt_secret",
                    "set auth.jwt_secret or auth.jwt_public_key_file",
                ));
            }
            _ => {}
        }
        Ok(Validated { http_addr })
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

    /// The given variables plus a JWT secret (no key is built in).
    fn env(pairs: &[(&str, &str)]) -> EnvSource {
        let mut map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("AFTERSALES__AUTH__JWT_SECRET".into())
            .or_insert_with(|| "a-secret-for-the-tests".into());
        EnvSource::Map(map)
    }

    #[test]
    fn without_a_jwt_key_the_gateway_does_not_start() {
        let e = Settings::load(None, EnvSource::Map(Default::default())).unwrap_err();
        assert_eq!(e.key, "auth.jwt_secret");
    }

    #[test]
    fn the_defaults_load_and_validate_on_port_8080() {
        let (s, v) = Settings::load(None, env(&[])).unwrap();
        assert_eq!(v.http_addr.port(), 8080);
        assert_eq!(s.peers.intake.url, "http://127.0.0.1:50051");
    }

    #[test]
    fn the_charts_peer_keys_are_read() {
        let (s, _) = Settings::load(
            None,
            env(&[
                (
                    "AFTERSALES__PEERS__CLAIMS_REVIEW__URL",
                    "http://claims:50052",
                ),
                ("AFTERSALES__PEERS__FIELD_SERVICE__URL", "http://fs:50056"),
                ("AFTERSALES__SERVER__HTTP_ADDR", "0.0.0.0:8080"),
            ]),
        )
        .unwrap();
        assert_eq!(s.peers.claims_review.url, "http://claims:50052");
        assert_eq!(s.peers.field_service.url, "http://fs:50056");
    }

    #[test]
    fn a_bad_peer_url_names_its_key() {
        let e = Settings::load(
            None,
            env(&[("AFTERSALES__PEERS__WAREHOUSE__URL", "warehouse")]),
        )
        .unwrap_err();
        assert_eq!(e.key, "peers.warehouse.url");
    }

    #[test]
    fn a_bad_address_and_a_bad_number_name_their_keys() {
        let e =
            Settings::load(None, env(&[("AFTERSALES__SERVER__HTTP_ADDR", "nowhere")])).unwrap_err();
        assert_eq!(e.key, "server.http_addr");
        let e = Settings::load(
            None,
            env(&[("AFTERSALES__GATEWAY__RATE_LIMIT_BURST", "lots")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("rate_limit_burst"), "{e}");
    }

    #[test]
    fn a_bad_redis_url_is_reported_without_echoing_it() {
        let e = Settings::load(
            None,
            env(&[("AFTERSALES__REDIS__URL", "http://user:hunter2@redis")]),
        )
        .unwrap_err();
        assert_eq!(e.key, "redis.url");
        assert!(!e.to_string().contains("hunter2"));
    }
}
