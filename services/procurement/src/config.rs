//! The service's own settings: the section `[procurement]` (`AFTERSALES__PROCUREMENT__…`).

use aftersales_platform::kit::Config;
use serde::Deserialize;

pub const SERVICE: &str = "procurement";

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Largest page a list returns.
    pub max_page_size: u32,
}

impl Config for Settings {
    const DEFAULTS: &'static str = "max_page_size = 200";
}
