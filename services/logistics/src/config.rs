//! Logistics' own settings: the section `[logistics]` (`AFTERSALES__LOGISTICS__…`) and the rate
//! table it points at. The platform's (server, database, broker, auth, telemetry, calendar) come
//! from the kit.

use aftersales_platform::config::{ConfigError, PlatformSettings};
use aftersales_platform::kit::Config;
use serde::Deserialize;

use crate::domain::Policy;

pub const SERVICE: &str = "logistics";

const POLICY_FILE: &str = "logistics.policy_file";

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Largest page a list returns.
    pub max_page_size: u32,
    /// The rate table TOML. Empty: the demo table compiled into the binary
    /// (`services/logistics/policy/demo.toml`).
    pub policy_file: String,
    /// A carrier's webhook whose `sent_at` is further than this from now is refused (a captured
    /// call cannot be replayed later).
    pub webhook_window_secs: u64,
    /// True: the shipment is handed to the carrier (waybill, `logistics.shipment.dispatched`) as
    /// soon as the warehouse issued its parts. False: issuing packs it, a person dispatches it
    /// with the carrier's own waybill (`DispatchShipment`).
    pub auto_dispatch: bool,
    /// The warehouse / depot code shipments leave from and returns go to.
    pub origin: String,
    /// Non-empty: every method is carried by this carrier instead of the rate table's (e.g.
    /// `manual` where no carrier sends tracking).
    pub carrier_override: String,
    /// The sim carrier's time compression: 1 is real time, 3600 makes an hour pass in a second
    /// (`make up`).
    pub sim_time_scale: u32,
    /// How often the sim carrier looks for updates that are due.
    pub sim_scan_interval_ms: u64,
    /// How often shipments past their ETA and customers' overdue returns are looked for.
    pub deadline_scan_interval_ms: u64,
    /// The loaded rate table (by [`Config::prepare`], so that a bad one stops the start with
    /// exit 64 naming the key). A test may set it first; then no file is read.
    #[serde(skip)]
    pub policy: Option<Policy>,
}

impl Config for Settings {
    const DEFAULTS: &'static str = r#"
max_page_size = 200
policy_file = ""
webhook_window_secs = 300
auto_dispatch = true
origin = "WH-SH"
carrier_override = ""
sim_time_scale = 1
sim_scan_interval_ms = 5000
deadline_scan_interval_ms = 60000
"#;

    fn prepare(&mut self, _: &PlatformSettings) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.max_page_size) {
            return Err(ConfigError::new(
                "logistics.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        if !(1..=86_400).contains(&self.webhook_window_secs) {
            return Err(ConfigError::new(
                "logistics.webhook_window_secs",
                "must be between 1 and 86400",
            ));
        }
        let origin = self.origin.trim();
        if origin.is_empty() || origin.len() > 32 {
            return Err(ConfigError::new(
                "logistics.origin",
                "must be a depot code of 1 to 32 characters",
            ));
        }
        self.origin = origin.to_owned();
        let carrier = self.carrier_override.trim().to_ascii_lowercase();
        if !carrier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::new(
                "logistics.carrier_override",
                "must be a carrier code of letters, digits, '-' and '_'",
            ));
        }
        self.carrier_override = carrier;
        if !(1..=1_000_000).contains(&self.sim_time_scale) {
            return Err(ConfigError::new(
                "logistics.sim_time_scale",
                "must be between 1 and 1000000",
            ));
        }
        for (key, v) in [
            ("logistics.sim_scan_interval_ms", self.sim_scan_interval_ms),
            (
                "logistics.deadline_scan_interval_ms",
                self.deadline_scan_interval_ms,
            ),
        ] {
            if v == 0 {
                return Err(ConfigError::new(key, "must be greater than 0"));
            }
        }
        if self.policy.is_none() {
            self.policy = Some(load_policy(&self.policy_file)?);
        }
        Ok(())
    }
}

impl Settings {
    /// The loaded rate table (always there once the settings were prepared).
    pub fn policy(&self) -> Result<&Policy, ConfigError> {
        self.policy
            .as_ref()
            .ok_or_else(|| ConfigError::new(POLICY_FILE, "the rate table was not loaded"))
    }
}

/// The rate table at `path`, or the demo table when `path` is empty. A bad one names the config
/// key and the table's own key.
pub fn load_policy(path: &str) -> Result<Policy, ConfigError> {
    let path = path.trim();
    if path.is_empty() {
        return Policy::demo()
            .map_err(|e| ConfigError::new(POLICY_FILE, format!("demo rate table: {e}")));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(POLICY_FILE, format!("{path}: {e}")))?;
    Policy::parse(&text).map_err(|e| ConfigError::new(POLICY_FILE, format!("{path}: {e}")))
}
