//! The field-service policy as data: a versioned TOML file per deployment (see
//! `policy/demo.toml`), parsed and checked once at start. A bad policy is a [`PolicyError`]
//! naming its key, and the service does not start.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::kinds::Region;

/// The demo policy, compiled in: used when no policy file is configured.
pub const DEMO_POLICY: &str = include_str!("../../policy/demo.toml");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct PolicyError {
    pub key: String,
    pub message: String,
}

impl PolicyError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Working hours allowed from the call to the technician's arrival, per region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Arrival {
    pub urban_hours: u32,
    pub suburban_hours: u32,
    pub remote_hours: u32,
}

impl Arrival {
    pub fn hours(&self, region: Region) -> u32 {
        match region {
            Region::Urban => self.urban_hours,
            Region::Suburban => self.suburban_hours,
            Region::Remote => self.remote_hours,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Appointments {
    pub window_minutes: u32,
    pub hold_ttl_secs: u64,
    pub suggestion_days: u32,
    pub max_suggestions: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Rework {
    pub window_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Completion {
    pub requires_final_inspection: bool,
    pub old_part_return_days: u32,
}

/// One priced item of the fee table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    pub description: String,
    pub amount_minor: i64,
}

/// A checked policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: String,
    pub currency: String,
    pub arrival: Arrival,
    pub appointments: Appointments,
    pub rework: Rework,
    pub completion: Completion,
    /// By code (upper-cased, as part numbers are).
    pub fees: BTreeMap<String, Fee>,
}

#[derive(Deserialize)]
struct File {
    version: String,
    currency: String,
    arrival: Arrival,
    appointments: Appointments,
    rework: Rework,
    completion: Completion,
    #[serde(default)]
    fees: Vec<FeeFile>,
}

#[derive(Deserialize)]
struct FeeFile {
    code: String,
    description: String,
    amount_minor: i64,
}

impl Policy {
    pub fn demo() -> Result<Policy, PolicyError> {
        Self::parse(DEMO_POLICY)
    }

    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let file: File = ::config::Config::builder()
            .add_source(::config::File::from_str(text, ::config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| {
                let text = e.to_string();
                // The missing or mistyped key is quoted in the message.
                let key = text
                    .split(['`', '"'])
                    .nth(1)
                    .map(str::to_owned)
                    .unwrap_or_else(|| "policy".to_owned());
                PolicyError::new(key, text)
            })?;
        Self::check(file)
    }

    fn check(f: File) -> Result<Policy, PolicyError> {
        if f.version.trim().is_empty() {
            return Err(PolicyError::new("version", "is required"));
        }
        let currency = f.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(PolicyError::new(
                "currency",
                "must be an ISO 4217 code like CNY",
            ));
        }
        for (key, hours) in [
            ("arrival.urban_hours", f.arrival.urban_hours),
            ("arrival.suburban_hours", f.arrival.suburban_hours),
            ("arrival.remote_hours", f.arrival.remote_hours),
        ] {
            if !(1..=240).contains(&hours) {
                return Err(PolicyError::new(
                    key,
                    "must be between 1 and 240 working hours",
                ));
            }
        }
        let a = f.appointments;
        if !(15..=24 * 60).contains(&a.window_minutes) {
            return Err(PolicyError::new(
                "appointments.window_minutes",
                "must be between 15 and 1440",
            ));
        }
        if !(1..=86_400).contains(&a.hold_ttl_secs) {
            return Err(PolicyError::new(
                "appointments.hold_ttl_secs",
                "must be between 1 and 86400",
            ));
        }
        if !(1..=60).contains(&a.suggestion_days) {
            return Err(PolicyError::new(
                "appointments.suggestion_days",
                "must be between 1 and 60",
            ));
        }
        if !(1..=200).contains(&a.max_suggestions) {
            return Err(PolicyError::new(
                "appointments.max_suggestions",
                "must be between 1 and 200",
            ));
        }
        if !(1..=3650).contains(&f.rework.window_days) {
            return Err(PolicyError::new(
                "rework.window_days",
                "must be between 1 and 3650",
            ));
        }
        if f.completion.old_part_return_days > 365 {
            return Err(PolicyError::new(
                "completion.old_part_return_days",
                "must be at most 365",
            ));
        }
        let mut fees = BTreeMap::new();
        for (i, fee) in f.fees.into_iter().enumerate() {
            let code = fee.code.trim().to_ascii_uppercase();
            if code.is_empty() {
                return Err(PolicyError::new(format!("fees[{i}].code"), "is required"));
            }
            if fee.amount_minor < 0 {
                return Err(PolicyError::new(
                    format!("fees[{i}].amount_minor"),
                    "must not be negative",
                ));
            }
            let entry = Fee {
                description: fee.description.trim().to_owned(),
                amount_minor: fee.amount_minor,
            };
            if fees.insert(code.clone(), entry).is_some() {
                return Err(PolicyError::new(
                    format!("fees[{i}].code"),
                    format!("{code} is listed twice"),
                ));
            }
        }
        Ok(Policy {
            version: f.version.trim().to_owned(),
            currency,
            arrival: f.arrival,
            appointments: a,
            rework: f.rework,
            completion: f.completion,
            fees,
        })
    }

    /// The fee table entry of `code` (case as typed).
    pub fn fee(&self, code: &str) -> Option<(&str, &Fee)> {
        self.fees
            .get_key_value(code.trim().to_ascii_uppercase().as_str())
            .map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_policy_parses_with_the_departments_arrival_hours() {
        let p = Policy::demo().unwrap();
        assert_eq!(p.arrival.hours(Region::Urban), 6);
        assert_eq!(p.arrival.hours(Region::Suburban), 7);
        assert_eq!(p.rework.window_days, 90);
        assert_eq!(p.appointments.window_minutes, 120);
        assert_eq!(p.fee("labour_hour").unwrap().1.amount_minor, 8000);
        assert_eq!(p.fee("pwr-55-01").unwrap().0, "PWR-55-01");
    }

    #[test]
    fn a_bad_policy_names_its_key() {
        let bad = DEMO_POLICY.replace("urban_hours = 6", "urban_hours = 0");
        assert_eq!(Policy::parse(&bad).unwrap_err().key, "arrival.urban_hours");
        let bad = DEMO_POLICY.replace("window_minutes = 120", "window_minutes = 5");
        assert_eq!(
            Policy::parse(&bad).unwrap_err().key,
            "appointments.window_minutes"
        );
        let bad = DEMO_POLICY.replace("amount_minor = 8000\n", "amount_minor = -1\n");
        assert!(Policy::parse(&bad).unwrap_err().key.starts_with("fees["));
        let missing = DEMO_POLICY.replace("[rework]\n", "[rewrk]\n");
        assert!(Policy::parse(&missing).unwrap_err().key.contains("rework"));
    }
}
