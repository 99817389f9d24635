//! The service's own settings: the section `[field_service]` (`AFTERSALES__FIELD_SERVICE__…`)
//! and the policy file it points at. The platform's (server, database, broker, Redis, auth,
//! telemetry, calendar) come from the kit.

use aftersales_platform::config::{ConfigError, PlatformSettings};
use aftersales_platform::kit::Config;
use serde::Deserialize;

use crate::domain::Policy;

pub const SERVICE: &str = "field-service";

const POLICY_FILE: &str = "field_service.policy_file";

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// The policy TOML. Empty: the demo policy compiled into the binary
    /// (`services/field-service/policy/demo.toml`).
    pub policy_file: String,
    /// Largest page a list returns.
    pub max_page_size: u32,
    /// How often the arrival-deadline scanner looks for late technicians.
    pub sla_scan_interval_ms: u64,
    /// The policy `policy_file` points at, loaded by [`Config::prepare`] so that a bad one stops
    /// the start (exit 64 naming the key). A test may set it first; then no file is read.
    #[serde(skip)]
    pub policy: Option<Policy>,
}

impl Config for Settings {
    const DEFAULTS: &'static str = r#"
policy_file = ""
max_page_size = 200
sla_scan_interval_ms = 30000
"#;

    fn prepare(&mut self, _: &PlatformSettings) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.max_page_size) {
            return Err(ConfigError::new(
                "field_service.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        if self.sla_scan_interval_ms == 0 {
            return Err(ConfigError::new(
                "field_service.sla_scan_interval_ms",
                "must be greater than 0",
            ));
        }
        if self.policy.is_none() {
            self.policy = Some(load_policy(&self.policy_file)?);
        }
        Ok(())
    }
}

impl Settings {
    /// The loaded policy (always there once the settings were prepared).
    pub fn policy(&self) -> Result<&Policy, ConfigError> {
        self.policy
            .as_ref()
            .ok_or_else(|| ConfigError::new(POLICY_FILE, "the policy was not loaded"))
    }
}

/// The policy at `path`, or the demo policy when `path` is empty. A bad policy names the config
/// key and the policy's own key.
pub fn load_policy(path: &str) -> Result<Policy, ConfigError> {
    let path = path.trim();
    if path.is_empty() {
        return Policy::demo()
            .map_err(|e| ConfigError::new(POLICY_FILE, format!("demo policy: {e}")));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(POLICY_FILE, format!("{path}: {e}")))?;
    Policy::parse(&text).map_err(|e| ConfigError::new(POLICY_FILE, format!("{path}: {e}")))
}
