//! Intake's own settings: the section `[intake]` (`AFTERSALES__INTAKE__…`). The platform's
//! (server, database, broker, auth, telemetry, calendar) come from the kit.

use aftersales_platform::config::{ConfigError, PlatformSettings};
use aftersales_platform::kit::Config;
use serde::Deserialize;

pub const SERVICE: &str = "intake";

#[derive(Debug, Clone, Deserialize)]
pub struct IntakeSettings {
    /// Largest page a list returns.
    pub max_page_size: u32,
}

impl Config for IntakeSettings {
    const DEFAULTS: &'static str = "max_page_size = 200";

    fn prepare(&mut self, _: &PlatformSettings) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.max_page_size) {
            return Err(ConfigError::new(
                "intake.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        Ok(())
    }
}
