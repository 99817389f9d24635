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
    /// Days an advance exchange's defective unit has to come back when the request says none.
    pub advance_exchange_return_days: u32,
    /// How often the scanner looks for advance exchanges past their deadline.
    pub exchange_scan_interval_ms: u64,
}

/// The default of `warehouse.advance_exchange_return_days`.
pub const DEFAULT_EXCHANGE_RETURN_DAYS: u32 = 15;

impl Config for WarehouseSettings {
    const DEFAULTS: &'static str = "max_page_size = 500\npartial_reservations = false\n\
        advance_exchange_return_days = 15\nexchange_scan_interval_ms = 60000";

    fn prepare(&mut self, _: &PlatformSettings) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.max_page_size) {
            return Err(ConfigError::new(
                "warehouse.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        if !(1..=365).contains(&self.advance_exchange_return_days) {
            return Err(ConfigError::new(
                "warehouse.advance_exchange_return_days",
                "must be between 1 and 365",
            ));
        }
        if self.exchange_scan_interval_ms == 0 {
            return Err(ConfigError::new(
                "warehouse.exchange_scan_interval_ms",
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}
