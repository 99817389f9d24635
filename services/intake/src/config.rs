//! Intake's own settings: the section `[intake]` (`AFTERSALES__INTAKE__…`). The platform's
//! (server, database, broker, auth, telemetry, calendar) come from the kit.

use aftersales_platform::config::{ConfigError, PlatformSettings};
use aftersales_platform::kit::Config;
use serde::Deserialize;

use crate::domain::stuck::StuckPolicy;
use crate::notify::NotifySettings;

pub const SERVICE: &str = "intake";

#[derive(Debug, Clone, Deserialize)]
pub struct IntakeSettings {
    /// Largest page a list returns.
    pub max_page_size: u32,
    /// When a request is stuck: `KEY=WITHIN` rules (see [`crate::domain::stuck`]).
    pub stuck_after: Vec<String>,
    /// How often each replica recounts stuck requests for the metric.
    pub stuck_refresh_ms: u64,
    /// The parsed rules.
    #[serde(skip)]
    pub stuck: Option<StuckPolicy>,
    /// Messages to customers and branches (`[intake.notify]`).
    pub notify: NotifySettings,
}

impl Config for IntakeSettings {
    const DEFAULTS: &'static str = r#"max_page_size = 200
stuck_refresh_ms = 15000
stuck_after = [
  "intake.request.submitted=2m",
  "claims.claim.opened=3wd",
  "claims.claim.info_requested=10wd",
  "claims.claim.approved=5m",
  "warehouse.reservation.confirmed=1wd",
  "logistics.shipment.planned=1wd",
  "warehouse.parts.issued=1wd",
  "warehouse.stock.shortage=15wd",
  "procurement.po.issued=15wd",
  "logistics.shipment.dispatched=5wd",
  "logistics.shipment.delivered=3wd",
  "fieldservice.workorder.created=2wd",
  "fieldservice.workorder.completed=4wd",
  "feedback.visit.scheduled=4wd",
  "submitted=2m",
  "*=10wd",
]

[intake.notify]
scan_every_ms = 1000
lease_secs = 60
max_attempts = 8
retry_min_secs = 30
retry_max_secs = 3600
quiet_hours = "21:00-08:00"
smtp_url = ""
smtp_username = ""
email_from = "After-sales service <service@aftersales.example>"
sms_provider = "log"
sms_url = ""
webhooks = ""
timeout_ms = 10000
crash_after_send = false"#;

    const OPTIONAL_KEYS: &'static [&'static str] = &[
        "intake.notify.smtp_password",
        "intake.notify.sms_token",
        "intake.notify.webhook_secret",
    ];

    fn prepare(&mut self, _: &PlatformSettings) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.max_page_size) {
            return Err(ConfigError::new(
                "intake.max_page_size",
                "must be between 1 and 1000",
            ));
        }
        if self.stuck_refresh_ms == 0 {
            return Err(ConfigError::new(
                "intake.stuck_refresh_ms",
                "must be greater than 0",
            ));
        }
        let policy = StuckPolicy::parse(&self.stuck_after)
            .map_err(|e| ConfigError::new("intake.stuck_after", e))?;
        self.stuck = Some(policy);
        self.notify.prepare()
    }
}
