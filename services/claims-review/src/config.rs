//! Claims-review's settings: the platform's (server, database, broker, auth, telemetry, calendar)
//! plus its own section `[claims_review]` (`AFTERSALES__CLAIMS_REVIEW__…`), and the policy file
//! that section points at.

use std::path::Path;

use aftersales_platform::config::{ConfigError, EnvSource, Layers, PlatformSettings, Validated};
use serde::Deserialize;

use crate::domain::Policy;

pub const SERVICE: &str = "claims-review";

#[derive(Debug, Clone)]
pub struct Settings {
    pub platform: PlatformSettings,
    pub claims: ClaimsSettings,
    /// The policy loaded from `claims_review.policy_file` (or the compiled-in demo policy).
    pub policy: Policy,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClaimsSettings {
    /// The policy TOML. Empty: the demo policy compiled into the binary
    /// (`services/claims-review/policy/demo.toml`).
    pub policy_file: String,
    /// Largest page a list returns.
    pub max_page_size: u32,
    /// How often the deadline scanner looks for overdue claims.
    pub sla_scan_interval_ms: u64,
}

const DEFAULTS: &str = r#"
[claims_review]
policy_file = ""
max_page_size = 200
sla_scan_interval_ms = 30000
"#;

impl Settings {
    /// Defaults → file → environment, then the policy, then validated.
    pub fn load(file: Option<&Path>, env: EnvSource) -> Result<(Settings, Validated), ConfigError> {
        let defaults = format!(
            "{}\n{DEFAULTS}",
            PlatformSettings::defaults(SERVICE, 50052, 51052, "aftersales_claims")
        );
        let layers = Layers::load(&defaults, file, env)?;
        let claims: ClaimsSettings = layers.section("claims_review")?;
        let policy = load_policy(&claims.policy_file)?;
        let settings = Settings {
            platform: layers.platform()?,
            claims,
            policy,
        };
        let validated = settings.validate()?;
        Ok((settings, validated))
    }

    pub fn validate(&self) -> Result<Validated, ConfigError> {
        let v = self.platform.validate()?;
        if !(1..=1000).contains(&self.claims.max_page_size) {
            return Err(ConfigError::new(
                "claims_review.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        if self.claims.sla_scan_interval_ms == 0 {
            return Err(ConfigError::new(
                "claims_review.sla_scan_interval_ms",
                "must be greater than 0",
            ));
        }
        self.platform
            .calendar
            .build()
            .map_err(|e| ConfigError::new(e.key, e.message))?;
        Ok(v)
    }
}

/// The policy at `path`, or the demo policy when `path` is empty. A bad policy names the
/// config key and the policy's own key.
pub fn load_policy(path: &str) -> Result<Policy, ConfigError> {
    const KEY: &str = "claims_review.policy_file";
    let path = path.trim();
    if path.is_empty() {
        return Policy::demo().map_err(|e| ConfigError::new(KEY, format!("demo policy: {e}")));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError::new(KEY, format!("{path}: {e}")))?;
    Policy::parse(&text).map_err(|e| ConfigError::new(KEY, format!("{path}: {e}")))
}
