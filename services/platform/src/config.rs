//! Layered settings: built-in defaults → optional file (`--config PATH` or `AFTERSALES_CONFIG`)
//! → environment with prefix `AFTERSALES` and separator `__`
//! (`AFTERSALES__DATABASE__URL`, `AFTERSALES__SERVER__GRPC_ADDR`, …).
//!
//! Everything is validated before anything binds. A bad value is a [`ConfigError`] naming the
//! key; `main` prints it as one line and exits with [`EXIT_CONFIG`] (64, `EX_USAGE`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Exit code for bad configuration (sysexits `EX_USAGE`).
pub const EXIT_CONFIG: i32 = 64;

/// A configuration problem, naming the key it is about.
#[derive(Debug, thiserror::Error)]
#[error("bad configuration: {key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Where the environment layer comes from: the process, or a map given by a test (tests never
/// mutate the process environment).
#[derive(Debug, Clone, Default)]
pub enum EnvSource {
    #[default]
    Process,
    Map(HashMap<String, String>),
}

/// The merged layers, from which the platform's settings and a service's own section are read.
#[derive(Debug, Clone)]
pub struct Layers(::config::Config);

impl Layers {
    /// Merges `defaults` (TOML), the optional config file and the environment.
    pub fn load(
        defaults: &str,
        file: Option<&Path>,
        env: EnvSource,
    ) -> Result<Layers, ConfigError> {
        let mut builder = ::config::Config::builder().add_source(::config::File::from_str(
            defaults,
            ::config::FileFormat::Toml,
        ));
        let file: Option<PathBuf> = match (file, &env) {
            (Some(f), _) => Some(f.to_path_buf()),
            (None, EnvSource::Process) => std::env::var_os("AFTERSALES_CONFIG").map(PathBuf::from),
            (None, EnvSource::Map(m)) => m.get("AFTERSALES_CONFIG").map(PathBuf::from),
        };
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::new(
                    "config file",
                    format!("{} does not exist", path.display()),
                ));
            }
            builder = builder.add_source(::config::File::from(path));
        }
        let mut environment = ::config::Environment::with_prefix("AFTERSALES")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("calendar.holidays")
            .with_list_parse_key("calendar.extra_working_days")
            .with_list_parse_key("calendar.weekend");
        if let EnvSource::Map(m) = env {
            environment = environment.source(Some(m.into_iter().collect()));
        }
        builder = builder.add_source(environment);
        builder.build().map(Layers).map_err(from_config_error)
    }

    /// The settings every service has.
    pub fn platform(&self) -> Result<PlatformSettings, ConfigError> {
        self.0
            .clone()
            .try_deserialize::<PlatformSettings>()
            .map_err(from_config_error)
    }

    /// A service's own section, e.g. `intake` (`AFTERSALES__INTAKE__…`). A bad value is named
    /// by its full path (`warehouse.partial_reservations`).
    pub fn section<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        let value: serde_json::Value = self.0.get(key).map_err(|e| {
            let mut err = from_config_error(e);
            if !err.key.starts_with(key) {
                err.key = format!("{key}.{}", err.key);
            }
            err
        })?;
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." {
                key.to_owned()
            } else {
                format!("{key}.{path}")
            };
            ConfigError::new(key, e.into_inner().to_string())
        })
    }
}

/// Loads the platform settings alone (tests, tools).
pub fn load(
    defaults: &str,
    file: Option<&Path>,
    env: EnvSource,
) -> Result<PlatformSettings, ConfigError> {
    Layers::load(defaults, file, env)?.platform()
}

fn from_config_error(e: ::config::ConfigError) -> ConfigError {
    use ::config::ConfigError as E;
    match e {
        E::Type { ref key, .. } | E::At { ref key, .. } if key.is_some() => {
            ConfigError::new(key.clone().unwrap_or_default(), e.to_string())
        }
        E::NotFound(key) => ConfigError::new(key, "missing"),
        other => {
            // serde's "missing field `x`" names the key inside the message.
            let text = other.to_string();
            let key = text
                .split('`')
                .nth(1)
                .map(str::to_owned)
                .unwrap_or_else(|| "configuration".to_owned());
            ConfigError::new(key, text)
        }
    }
}

/// The settings every service has; a service's own live in a section named after it. The
/// database and Redis sections exist only for services that use them (the gateway has no
/// database; most services have no Redis), so no setting is there that nothing reads.
#[derive(Debug, Clone, Deserialize)]
pub struct PlatformSettings {
    pub service: ServiceSettings,
    pub server: ServerSettings,
    #[serde(default)]
    pub database: Option<DatabaseSettings>,
    pub amqp: AmqpSettings,
    /// With the database: the relay publishes what the service's transactions staged.
    #[serde(default)]
    pub outbox: Option<OutboxSettings>,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    pub calendar: crate::calendar::CalendarSettings,
    #[serde(default)]
    pub redis: Option<RedisSettings>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceSettings {
    /// The service's name: the producer of its events, the prefix of its queues.
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// The gRPC listener; empty for a service without a gRPC API (the gateway).
    #[serde(default)]
    pub grpc_addr: String,
    /// The HTTP listener of a service with a public HTTP API (the gateway); empty otherwise.
    #[serde(default)]
    pub http_addr: String,
    /// Largest HTTP request body the public listener accepts (larger answers 413).
    pub max_body_bytes: usize,
    /// `/healthz`, `/readyz`, `/metrics`: never behind the public ingress.
    pub admin_addr: String,
    /// Upper bound for one RPC when the caller sets no deadline.
    pub request_timeout_ms: u64,
    /// Largest request message accepted at the transport; per-field limits are smaller.
    pub max_message_bytes: usize,
    /// How long in-flight work gets to finish after a shutdown signal.
    pub shutdown_grace_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AmqpSettings {
    pub url: SecretString,
    /// The durable topic exchange every event goes through.
    pub exchange: String,
    /// Where dead letters go.
    pub dead_letter_exchange: String,
    /// Prepended to every exchange and queue name: empty in production, unique per test.
    pub name_prefix: String,
    pub prefetch: u16,
    /// Attempts before a failing event goes to the DLQ.
    pub max_attempts: u32,
    /// Delay before a failed event is tried again.
    pub retry_delay_ms: u32,
    /// `quorum` (production) or `classic`.
    pub queue_type: String,
    /// Idle queues vanish after this long; set by tests so nothing is left behind. 0 = never.
    pub queue_expires_ms: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub url: SecretString,
    /// Prepended to every key: `aftersales:<service>:` in production, unique per test.
    pub key_prefix: String,
    /// Upper bound for one Redis command; past it the feature degrades instead of waiting.
    pub command_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSettings {
    pub batch_size: u32,
    /// Fallback poll when no NOTIFY arrives.
    pub poll_interval_ms: u64,
    pub confirm_timeout_ms: u64,
    /// Published rows are kept this long for audit, then deleted.
    pub retention_hours: u32,
    /// Times the broker may refuse one row before it is set aside (quarantined) so the rows
    /// behind it keep flowing; `<service> outbox retry-quarantined` puts it back.
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// HS256 shared secret: local development only (at least 32 bytes). Ignored for
    /// verification when a public key or a JWKS URL is configured.
    pub jwt_secret: Option<SecretString>,
    /// A public key (PEM, RSA → RS256 or EC P-256 → ES256), e.g. a mounted Secret.
    pub jwt_public_key_file: Option<String>,
    /// The identity provider's JWKS (`https://idp/.well-known/jwks.json`): keys by `kid`,
    /// cached, refreshed every `jwks_refresh_secs` and at once on an unknown `kid`.
    pub jwks_url: Option<String>,
    /// Expected `iss`, when set.
    pub issuer: Option<String>,
    /// Expected `aud` (the token must name it), when set.
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf`.
    pub leeway_secs: u64,
    /// How often the JWKS is fetched again.
    pub jwks_refresh_secs: u64,
    /// Lets development tools (`gateway token`, the services' `seed`) mint HS256 tokens with
    /// `jwt_secret`. Off by default, so a deployed binary never mints.
    pub dev_tokens: bool,
}

impl AuthSettings {
    /// Development settings: an HS256 secret, nothing else (tests, tools).
    pub fn development(secret: &str) -> Self {
        Self {
            jwt_secret: Some(SecretString::from(secret.to_owned())),
            jwt_public_key_file: None,
            jwks_url: None,
            issuer: None,
            audience: None,
            leeway_secs: 0,
            jwks_refresh_secs: 300,
            dev_tokens: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct TelemetrySettings {
    /// `json` (default) or `pretty`.
    pub log_format: String,
    /// An `EnvFilter` directive, e.g. `info,intake=debug`. `RUST_LOG` overrides it.
    pub log_level: String,
    /// OTLP/gRPC endpoint; empty = no export. `OTEL_EXPORTER_OTLP_ENDPOINT` overrides it.
    pub otlp_endpoint: String,
}

/// Checked forms of the values other modules need.
#[derive(Debug, Clone)]
pub struct Validated {
    pub grpc_addr: Option<SocketAddr>,
    pub http_addr: Option<SocketAddr>,
    pub admin_addr: SocketAddr,
}

/// What a service's platform sections look like: its ports and which of the optional sections
/// (database, Redis) it has.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    pub service: &'a str,
    pub grpc_port: Option<u16>,
    pub http_port: Option<u16>,
    pub admin_port: u16,
    /// The database's name, for a service that owns one.
    pub database: Option<&'a str>,
    pub redis: bool,
}

impl PlatformSettings {
    /// The TOML defaults of the platform sections for a service of `shape`.
    pub fn defaults(shape: &Shape<'_>) -> String {
        let service = shape.service;
        let addr = |p: Option<u16>| p.map(|p| format!("127.0.0.1:{p}")).unwrap_or_default();
        let mut toml = format!(
            r#"
[service]
name = "{service}"

[server]
grpc_addr = "{grpc}"
http_addr = "{http}"
admin_addr = "127.0.0.1:{admin}"
request_timeout_ms = 10000
max_message_bytes = 16777216
max_body_bytes = 1048576
shutdown_grace_ms = 10000

[amqp]
url = "amqp://guest:guest@127.0.0.1:5672/%2f"
exchange = "aftersales.events"
dead_letter_exchange = "aftersales.dlx"
name_prefix = ""
prefetch = 32
max_attempts = 5
retry_delay_ms = 2000
queue_type = "quorum"
queue_expires_ms = 0

[auth]
leeway_secs = 30
jwks_refresh_secs = 300
dev_tokens = false

[telemetry]
log_format = "json"
log_level = "info"
otlp_endpoint = ""

[calendar]
utc_offset_minutes = 480
work_start = "09:00"
work_end = "18:00"
weekend = ["sat", "sun"]
holidays = []
extra_working_days = []
"#,
            grpc = addr(shape.grpc_port),
            http = addr(shape.http_port),
            admin = shape.admin_port,
        );
        if let Some(db) = shape.database {
            toml.push_str(&format!(
                r#"
[database]
url = "postgres://postgres@127.0.0.1:5432/{db}?sslmode=disable"
max_connections = 16
acquire_timeout_ms = 5000

[outbox]
batch_size = 200
poll_interval_ms = 1000
confirm_timeout_ms = 10000
retention_hours = 168
max_attempts = 10
"#
            ));
        }
        if shape.redis {
            toml.push_str(&format!(
                r#"
[redis]
url = "redis://127.0.0.1:6379"
key_prefix = "aftersales:{service}:"
command_timeout_ms = 1000
"#
            ));
        }
        toml
    }

    /// The database section; an error naming it for a service that has none configured.
    pub fn database(&self) -> Result<&DatabaseSettings, ConfigError> {
        self.database
            .as_ref()
            .ok_or_else(|| ConfigError::new("database.url", "missing"))
    }

    /// Checks every value and returns the parsed forms.
    pub fn validate(&self) -> Result<Validated, ConfigError> {
        let optional_addr = |key: &str, v: &str| -> Result<Option<SocketAddr>, ConfigError> {
            if v.trim().is_empty() {
                Ok(None)
            } else {
                socket_addr(key, v).map(Some)
            }
        };
        let grpc_addr = optional_addr("server.grpc_addr", &self.server.grpc_addr)?;
        let http_addr = optional_addr("server.http_addr", &self.server.http_addr)?;
        let admin_addr = socket_addr("server.admin_addr", &self.server.admin_addr)?;
        if self.service.name.trim().is_empty() {
            return Err(ConfigError::new("service.name", "must not be empty"));
        }
        if let Some(db) = &self.database {
            url_with_scheme(
                "database.url",
                db.url.expose_secret(),
                &["postgres", "postgresql"],
            )?;
            positive("database.max_connections", db.max_connections as u64)?;
        }
        if let Some(r) = &self.redis {
            url_with_scheme(
                "redis.url",
                r.url.expose_secret(),
                &["redis", "rediss", "redis+unix"],
            )?;
            positive("redis.command_timeout_ms", r.command_timeout_ms)?;
        }
        url_with_scheme(
            "amqp.url",
            self.amqp.url.expose_secret(),
            &["amqp", "amqps"],
        )?;
        positive(
            "server.max_message_bytes",
            self.server.max_message_bytes as u64,
        )?;
        positive("server.request_timeout_ms", self.server.request_timeout_ms)?;
        positive("amqp.prefetch", self.amqp.prefetch as u64)?;
        positive("amqp.max_attempts", self.amqp.max_attempts as u64)?;
        if let Some(o) = &self.outbox {
            positive("outbox.batch_size", o.batch_size as u64)?;
            positive("outbox.poll_interval_ms", o.poll_interval_ms)?;
            positive("outbox.max_attempts", o.max_attempts as u64)?;
        }
        if !matches!(self.amqp.queue_type.as_str(), "quorum" | "classic") {
            return Err(ConfigError::new(
                "amqp.queue_type",
                format!("{:?} is not one of quorum, classic", self.amqp.queue_type),
            ));
        }
        if !matches!(self.telemetry.log_format.as_str(), "json" | "pretty") {
            return Err(ConfigError::new(
                "telemetry.log_format",
                format!("{:?} is not one of json, pretty", self.telemetry.log_format),
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.telemetry.log_level) {
            return Err(ConfigError::new("telemetry.log_level", e.to_string()));
        }
        let endpoint = self.telemetry.otlp_endpoint.trim();
        if !endpoint.is_empty() {
            url_with_scheme("telemetry.otlp_endpoint", endpoint, &["http", "https"])?;
        }
        let a = &self.auth;
        if let Some(path) = &a.jwt_public_key_file
            && !Path::new(path).is_file()
        {
            return Err(ConfigError::new(
                "auth.jwt_public_key_file",
                format!("{path} does not exist"),
            ));
        }
        if let Some(url) = &a.jwks_url {
            url_with_scheme("auth.jwks_url", url, &["http", "https"])?;
        }
        if let Some(s) = &a.jwt_secret
            && s.expose_secret().len() < 32
        {
            return Err(ConfigError::new(
                "auth.jwt_secret",
                "must be at least 32 bytes (HS256 is for local development; production verifies with auth.jwks_url or auth.jwt_public_key_file)",
            ));
        }
        if a.jwt_secret.is_none() && a.jwt_public_key_file.is_none() && a.jwks_url.is_none() {
            return Err(ConfigError::new(
                "auth.jwt_secret",
                "set auth.jwks_url, auth.jwt_public_key_file, or (development) auth.jwt_secret",
            ));
        }
        positive("auth.jwks_refresh_secs", a.jwks_refresh_secs)?;
        self.calendar
            .build()
            .map_err(|e| ConfigError::new(e.key, e.message))?;
        Ok(Validated {
            grpc_addr,
            http_addr,
            admin_addr,
        })
    }
}

fn socket_addr(key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        ConfigError::new(
            key,
            format!("{value:?} is not an address of the form host:port (e.g. 0.0.0.0:50051)"),
        )
    })
}

fn url_with_scheme(key: &str, value: &str, schemes: &[&str]) -> Result<(), ConfigError> {
    let scheme = value.split_once("://").map(|(s, _)| s).unwrap_or("");
    let rest = value.split_once("://").map(|(_, r)| r).unwrap_or("");
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

/// Keys a deployment may set that have no default (so they are not in the defaults).
const OPTIONAL_KEYS: &[&str] = &[
    "auth.jwt_secret",
    "auth.jwt_public_key_file",
    "auth.jwks_url",
    "auth.issuer",
    "auth.audience",
];

/// Variables read besides `AFTERSALES__…`.
const OTHER_VARIABLES: &[&str] = &[
    "AFTERSALES_CONFIG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "RUST_LOG",
];

/// The dotted keys of a TOML defaults document; an empty table (a map keyed by name, like
/// `gateway.carrier_secrets`) gives `prefix.*`.
fn default_keys(defaults: &str) -> Vec<String> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(t) if t.is_empty() && !prefix.is_empty() => {
                out.push(format!("{prefix}.*"))
            }
            serde_json::Value::Object(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    let mut out = Vec::new();
    if let Ok(c) = ::config::Config::builder()
        .add_source(::config::File::from_str(
            defaults,
            ::config::FileFormat::Toml,
        ))
        .build()
        && let Ok(tree) = c.try_deserialize::<serde_json::Value>()
    {
        walk("", &tree, &mut out);
    }
    out.extend(OPTIONAL_KEYS.iter().map(|k| (*k).to_owned()));
    out.sort();
    out.dedup();
    out
}

fn env_name(key: &str) -> String {
    format!(
        "AFTERSALES__{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

/// Every environment variable a binary with these defaults reads (`config keys`); a map keyed
/// by name shows as `AFTERSALES__GATEWAY__CARRIER_SECRETS__*`. `optional`: dotted keys read
/// without a default (a service's secrets, `intake.notify.smtp_password`).
pub fn keys(defaults: &str, optional: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = default_keys(defaults).iter().map(|k| env_name(k)).collect();
    out.extend(optional.iter().map(|k| env_name(k)));
    out.sort();
    out.dedup();
    out.extend(OTHER_VARIABLES.iter().map(|k| (*k).to_owned()));
    out
}

/// `AFTERSALES__…` variables of the process environment that no key of these defaults reads
/// (a misspelt name, or one meant for another service).
pub fn unknown_keys(defaults: &str, optional: &[&str]) -> Vec<String> {
    let known = keys(defaults, optional);
    let matches = |var: &str| {
        known.iter().any(|k| match k.strip_suffix('*') {
            Some(prefix) => var.starts_with(prefix),
            None => k == var,
        })
    };
    let mut out: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("AFTERSALES__") && !matches(k))
        .collect();
    out.sort();
    out
}

/// Prints the error as one line and exits 64. For `main` only.
pub fn exit_on_error(service: &str, e: &ConfigError) -> ! {
    eprintln!("{service}: {e}");
    std::process::exit(EXIT_CONFIG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Settings {
        platform: PlatformSettings,
    }

    fn load_settings(
        defaults: &str,
        file: Option<&Path>,
        env: EnvSource,
    ) -> Result<Settings, ConfigError> {
        load(defaults, file, env).map(|platform| Settings { platform })
    }

    /// The given variables plus a JWT secret (no key is built in).
    fn env(pairs: &[(&str, &str)]) -> EnvSource {
        let mut map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("AFTERSALES__AUTH__JWT_SECRET".into())
            .or_insert_with(|| "a-secret-for-the-tests-at-least-32-bytes".into());
        EnvSource::Map(map)
    }

    #[test]
    fn a_bad_value_in_a_services_own_section_is_named_by_its_path() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Own {
            partial_reservations: bool,
            max_page_size: u32,
        }
        let defaults = format!(
            "{}\n[own]\npartial_reservations = false\nmax_page_size = 5\n",
            defaults()
        );
        let layers = Layers::load(
            &defaults,
            None,
            env(&[("AFTERSALES__OWN__PARTIAL_RESERVATIONS", "sometimes")]),
        )
        .unwrap();
        assert_eq!(
            layers.section::<Own>("own").unwrap_err().key,
            "own.partial_reservations"
        );
        let layers = Layers::load(
            &defaults,
            None,
            env(&[("AFTERSALES__OWN__MAX_PAGE_SIZE", "7")]),
        )
        .unwrap();
        assert_eq!(layers.section::<Own>("own").unwrap().max_page_size, 7);
    }

    #[test]
    fn without_a_jwt_key_the_service_does_not_start() {
        let s = load_settings(&defaults(), None, EnvSource::Map(HashMap::new())).unwrap();
        assert_eq!(s.platform.validate().unwrap_err().key, "auth.jwt_secret");
    }

    fn defaults() -> String {
        PlatformSettings::defaults(&Shape {
            service: "intake",
            grpc_port: Some(50051),
            http_port: None,
            admin_port: 51051,
            database: Some("aftersales_intake"),
            redis: false,
        })
    }

    #[test]
    fn defaults_load_and_validate() {
        let s: Settings = load_settings(&defaults(), None, env(&[])).unwrap();
        let v = s.platform.validate().unwrap();
        assert_eq!(v.grpc_addr.map(|a| a.port()), Some(50051));
        assert_eq!(v.http_addr, None);
        assert!(s.platform.redis.is_none());
        assert_eq!(s.platform.amqp.max_attempts, 5);
    }

    #[test]
    fn environment_overrides_defaults_including_numbers_and_lists() {
        let s: Settings = load_settings(
            &defaults(),
            None,
            env(&[
                ("AFTERSALES__SERVER__GRPC_ADDR", "0.0.0.0:6000"),
                ("AFTERSALES__AMQP__PREFETCH", "7"),
                ("AFTERSALES__CALENDAR__HOLIDAYS", "2026-10-01,2026-10-02"),
            ]),
        )
        .unwrap();
        assert_eq!(s.platform.server.grpc_addr, "0.0.0.0:6000");
        assert_eq!(s.platform.amqp.prefetch, 7);
        assert_eq!(s.platform.calendar.holidays.len(), 2);
    }

    #[test]
    fn a_bad_address_names_its_key() {
        let s: Settings = load_settings(
            &defaults(),
            None,
            env(&[("AFTERSALES__SERVER__GRPC_ADDR", "nowhere")]),
        )
        .unwrap();
        let e = s.platform.validate().unwrap_err();
        assert_eq!(e.key, "server.grpc_addr");
    }

    #[test]
    fn a_number_that_is_not_a_number_names_its_key() {
        let e = load_settings(
            &defaults(),
            None,
            env(&[("AFTERSALES__AMQP__PREFETCH", "lots")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("amqp.prefetch"), "{e}");
    }

    #[test]
    fn a_bad_database_url_is_reported_without_echoing_it() {
        let s: Settings = load_settings(
            &defaults(),
            None,
            env(&[("AFTERSALES__DATABASE__URL", "mysql://root:hunter2@db")]),
        )
        .unwrap();
        let e = s.platform.validate().unwrap_err();
        assert_eq!(e.key, "database.url");
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let e =
            load_settings(&defaults(), Some(Path::new("/nonexistent.toml")), env(&[])).unwrap_err();
        assert_eq!(e.key, "config file");
    }
}
