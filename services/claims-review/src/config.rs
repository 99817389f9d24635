//! Claims-review's own settings: the section `[claims_review]` (`AFTERSALES__CLAIMS_REVIEW__…`)
//! and the policy file it points at. The platform's (server, database, broker, auth, telemetry,
//! calendar) come from the kit.

use aftersales_platform::config::{ConfigError, PlatformSettings};
use aftersales_platform::kit::Config;
use serde::Deserialize;

use crate::domain::Policy;

pub const SERVICE: &str = "claims-review";

const POLICY_FILE: &str = "claims_review.policy_file";

#[derive(Debug, Clone, Deserialize)]
pub struct ClaimsSettings {
    /// The policy TOML. Empty: the demo policy compiled into the binary
    /// (`services/claims-review/policy/demo.toml`).
    pub policy_file: String,
    /// Largest page a list returns.
    pub max_page_size: u32,
    /// How often the deadline scanner looks for overdue claims.
    pub sla_scan_interval_ms: u64,
    /// How often the dealer settlement scanner looks for old parts not back by their deadline
    /// and for months to issue statements for.
    pub dealer_scan_interval_ms: u64,
    /// The policy `policy_file` points at, loaded by [`Config::prepare`] so that a bad one stops
    /// the start (exit 64 naming the key). A test may set it first; then no file is read.
    #[serde(skip)]
    pub policy: Option<Policy>,
}

impl Config for ClaimsSettings {
    const DEFAULTS: &'static str = r#"
policy_file = ""
max_page_size = 200
sla_scan_interval_ms = 30000
dealer_scan_interval_ms = 60000
"#;

    fn prepare(&mut self, _: &PlatformSettings) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.max_page_size) {
            return Err(ConfigError::new(
                "claims_review.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        if self.sla_scan_interval_ms == 0 {
            return Err(ConfigError::new(
                "claims_review.sla_scan_interval_ms",
                "must be greater than 0",
            ));
        }
        if self.dealer_scan_interval_ms == 0 {
            return Err(ConfigError::new(
                "claims_review.dealer_scan_interval_ms",
                "must be greater than 0",
            ));
        }
        if self.policy.is_none() {
            self.policy = Some(load_policy(&self.policy_file)?);
        }
        Ok(())
    }
}

impl ClaimsSettings {
    /// The loaded policy (always there once the settings were prepared).
    pub fn policy(&self) -> Result<&Policy, ConfigError> {
        self.policy
            .as_ref()
            .ok_or_else(|| ConfigError::new(POLICY_FILE, "the policy was not loaded"))
    }
}

/// The policy at `path`, or the demo policy when `path` is empty. A bad policy names the
/// config key and the policy's own key.
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
