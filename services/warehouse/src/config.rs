//! The warehouse's own settings: the section `[warehouse]` (`AFTERSALES__WAREHOUSE__…`). The
//! platform's (server, database, broker, auth, telemetry, calendar) come from the kit.

use aftersales_platform::config::{ConfigError, PlatformSettings};
use aftersales_platform::kit::Config;
use serde::Deserialize;

pub const SERVICE: &str = "warehouse";

#[derive(Debug, Clone, Deserialize)]
pub struct WarehouseSettings {
    /// Largest page a list returns.
    pub max_page_size: u32,
    /// False (the default): a request is reserved all or nothing. True: the available units
    /// are held at once and the rest back-ordered.
    pub partial_reservations: bool,
}

impl Config for WarehouseSettings {
    const DEFAULTS: &'static str = "max_page_size = 500\npartial_reservations = false";

    fn prepare(&mut self, _: &PlatformSettings) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.max_page_size) {
            return Err(ConfigError::new(
                "warehouse.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        Ok(())
    }
}
