//! Procurement's own settings: the section `[procurement]` (`AFTERSALES__PROCUREMENT__…`) and the
//! policy file it points at. The platform's (server, database, broker, auth, telemetry,
//! calendar) come from the kit.

use aftersales_platform::config::{ConfigError, PlatformSettings};
use aftersales_platform::kit::Config;
use serde::Deserialize;

use crate::domain::Policy;

pub const SERVICE: &str = "procurement";

const POLICY_FILE: &str = "procurement.policy_file";

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// The policy TOML. Empty: the demo policy compiled into the binary
    /// (`services/procurement/policy/demo.toml`).
    pub policy_file: String,
    /// Largest page a list returns.
    pub max_page_size: u32,
    /// Shortages (or low stock) of one part within this many seconds of an automatic PO's issue
    /// join its line instead of raising a PO each.
    pub coalesce_window_secs: u64,
    /// How often the scanners look for overdue POs, warned suppliers past their fix-by date and
    /// needs waiting for a supplier.
    pub scan_interval_ms: u64,
    /// Where the goods of every PO go (printed on the PO).
    pub delivery_place: String,
    /// The policy `policy_file` points at, loaded by [`Config::prepare`] so that a bad one stops
    /// the start (exit 64 naming the key). A test may set it first; then no file is read.
    #[serde(skip)]
    pub policy: Option<Policy>,
}

impl Config for Settings {
    const DEFAULTS: &'static str = r#"
policy_file = ""
max_page_size = 200
coalesce_window_secs = 3600
scan_interval_ms = 60000
delivery_place = "Central spare-parts warehouse"
"#;

    fn prepare(&mut self, _: &PlatformSettings) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.max_page_size) {
            return Err(ConfigError::new(
                "procurement.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        if self.coalesce_window_secs > 30 * 24 * 3600 {
            return Err(ConfigError::new(
                "procurement.coalesce_window_secs",
                "must be at most 30 days (2592000)",
            ));
        }
        if self.scan_interval_ms == 0 {
            return Err(ConfigError::new(
                "procurement.scan_interval_ms",
                "must be greater than 0",
            ));
        }
        if self.delivery_place.trim().is_empty() {
            return Err(ConfigError::new(
                "procurement.delivery_place",
                "must not be empty",
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
