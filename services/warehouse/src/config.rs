//! The warehouse's settings: the platform's (server, database, broker, auth, telemetry,
//! calendar) plus its own section `[warehouse]` (`AFTERSALES__WAREHOUSE__…`).

use std::path::Path;

use aftersales_platform::config::{ConfigError, EnvSource, Layers, PlatformSettings, Validated};
use serde::Deserialize;

pub const SERVICE: &str = "warehouse";

#[derive(Debug, Clone)]
pub struct Settings {
    pub platform: PlatformSettings,
    pub warehouse: WarehouseSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WarehouseSettings {
    /// Largest page a list returns.
    pub max_page_size: u32,
    /// False (the default): a request is reserved all or nothing. True: the available units
    /// are held at once and the rest back-ordered.
    pub partial_reservations: bool,
}

impl Default for WarehouseSettings {
    fn default() -> Self {
        Self {
            max_page_size: 500,
            partial_reservations: false,
        }
    }
}

const DEFAULTS: &str = r#"
[warehouse]
max_page_size = 500
partial_reservations = false
"#;

impl Settings {
    /// Defaults → file → environment, then validated.
    pub fn load(file: Option<&Path>, env: EnvSource) -> Result<(Settings, Validated), ConfigError> {
        let defaults = format!(
            "{}\n{DEFAULTS}",
            PlatformSettings::defaults(SERVICE, 50054, 51054, "aftersales_warehouse")
        );
        let layers = Layers::load(&defaults, file, env)?;
        let settings = Settings {
            platform: layers.platform()?,
            warehouse: layers.section("warehouse")?,
        };
        let validated = settings.validate()?;
        Ok((settings, validated))
    }

    pub fn validate(&self) -> Result<Validated, ConfigError> {
        let v = self.platform.validate()?;
        if !(1..=1000).contains(&self.warehouse.max_page_size) {
            return Err(ConfigError::new(
                "warehouse.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        Ok(v)
    }
}
