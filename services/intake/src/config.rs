//! Intake's settings: the platform's (server, database, broker, auth, telemetry, calendar) plus
//! its own section `[intake]` (`AFTERSALES__INTAKE__…`).

use std::path::Path;

use aftersales_platform::config::{ConfigError, EnvSource, Layers, PlatformSettings, Validated};
use serde::Deserialize;

pub const SERVICE: &str = "intake";

#[derive(Debug, Clone)]
pub struct Settings {
    pub platform: PlatformSettings,
    pub intake: IntakeSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IntakeSettings {
    /// Largest page a list returns.
    pub max_page_size: u32,
}

const DEFAULTS: &str = r#"
[intake]
max_page_size = 200
"#;

impl Settings {
    /// Defaults → file → environment, then validated.
    pub fn load(file: Option<&Path>, env: EnvSource) -> Result<(Settings, Validated), ConfigError> {
        let defaults = format!(
            "{}\n{DEFAULTS}",
            PlatformSettings::defaults(SERVICE, 50051, 51051, "aftersales_intake")
        );
        let layers = Layers::load(&defaults, file, env)?;
        let settings = Settings {
            platform: layers.platform()?,
            intake: layers.section("intake")?,
        };
        let validated = settings.validate()?;
        Ok((settings, validated))
    }

    pub fn validate(&self) -> Result<Validated, ConfigError> {
        let v = self.platform.validate()?;
        if !(1..=1000).contains(&self.intake.max_page_size) {
            return Err(ConfigError::new(
                "intake.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        Ok(v)
    }
}
