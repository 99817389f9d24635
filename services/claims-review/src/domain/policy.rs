//! The warranty policy as data: a versioned TOML file per deployment (see `policy/demo.toml`),
//! parsed and validated once at start. A bad policy is a [`PolicyError`] naming the key.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The demo policy, compiled in: used when no policy file is configured.
pub const DEMO_POLICY: &str = include_str!("../../policy/demo.toml");

/// A problem in the policy data, naming the key (e.g. `windows.return_days`).
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

/// Which warranty window a part is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartClass {
    Unit,
    KeyPart,
    Accessory,
    Consumable,
}

impl PartClass {
    pub fn parse(s: &str) -> Option<PartClass> {
        Some(match s {
            "unit" => PartClass::Unit,
            "key_part" => PartClass::KeyPart,
            "accessory" => PartClass::Accessory,
            "consumable" => PartClass::Consumable,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PartClass::Unit => "unit",
            PartClass::KeyPart => "key_part",
            PartClass::Accessory => "accessory",
            PartClass::Consumable => "consumable",
        }
    }
}

/// What happens to a claim nobody decided before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LapseAction {
    Escalate,
    /// The marketplace rule: a seller silent past the deadline has the claim approved for it.
    AutoApprove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows {
    pub return_days: u32,
    pub exchange_days: u32,
    pub unit_months: u32,
    pub key_part_months: u32,
    pub accessory_months: u32,
    pub consumable_months: u32,
}

impl Windows {
    pub fn months(&self, class: PartClass) -> u32 {
        match class {
            PartClass::Unit => self.unit_months,
            PartClass::KeyPart => self.key_part_months,
            PartClass::Accessory => self.accessory_months,
            PartClass::Consumable => self.consumable_months,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoApprove {
    pub enabled: bool,
    pub max_total_fee_minor: i64,
    pub require_documents: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFee {
    pub percent: u32,
    pub cap_minor: i64,
}

impl ServiceFee {
    /// The fee on a refund of `gross` (minor units): `percent` of it, at most `cap_minor`.
    pub fn on(&self, gross: i64) -> i64 {
        (gross.max(0) * self.percent as i64 / 100).min(self.cap_minor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRule {
    pub class: PartClass,
    /// Per unit, for a PAID line.
    pub fee_minor: i64,
    /// List price, deducted from a refund when the part (an accessory) is missing.
    pub price_minor: Option<i64>,
    /// Only a technician fits it.
    pub onsite: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub default_class: PartClass,
    pub default_fee_minor: i64,
    pub parts: BTreeMap<String, PartRule>,
}

/// The dealer rules (DESIGN §6 via issue 23): a serial claimed again within this many days of
/// an earlier claimed repair is a duplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealerRules {
    pub duplicate_window_days: u32,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: String,
    pub currency: String,
    pub review_days: u32,
    pub on_deadline: LapseAction,
    pub no_document_grace_months: u32,
    pub windows: Windows,
    pub auto_approve: AutoApprove,
    pub service_fee: ServiceFee,
    pub non_returnable: BTreeSet<String>,
    pub categories: BTreeMap<String, Category>,
    pub dealers: DealerRules,
}

#[derive(Deserialize)]
struct File {
    version: String,
    currency: String,
    review_days: u32,
    on_deadline: String,
    no_document_grace_months: u32,
    windows: WindowsFile,
    auto_approve: AutoFile,
    service_fee: FeeFile,
    non_returnable: Vec<String>,
    categories: Vec<CategoryFile>,
    /// Optional: a policy written before dealers takes the defaults.
    #[serde(default)]
    dealers: DealersFile,
}

#[derive(Deserialize)]
#[serde(default)]
struct DealersFile {
    duplicate_window_days: u32,
}

impl Default for DealersFile {
    fn default() -> Self {
        Self {
            duplicate_window_days: 90,
        }
    }
}

#[derive(Deserialize)]
struct WindowsFile {
    return_days: u32,
    exchange_days: u32,
    unit_months: u32,
    key_part_months: u32,
    accessory_months: u32,
    consumable_months: u32,
}

#[derive(Deserialize)]
struct AutoFile {
    enabled: bool,
    max_total_fee_minor: i64,
    require_documents: bool,
}

#[derive(Deserialize)]
struct FeeFile {
    percent: u32,
    cap_minor: i64,
}

#[derive(Deserialize)]
struct CategoryFile {
    name: String,
    default_class: String,
    default_fee_minor: i64,
    #[serde(default)]
    parts: Vec<PartFile>,
}

#[derive(Deserialize)]
struct PartFile {
    part_no: String,
    class: String,
    fee_minor: i64,
    #[serde(default)]
    price_minor: Option<i64>,
    #[serde(default)]
    onsite: bool,
}

fn class(key: &str, s: &str) -> Result<PartClass, PolicyError> {
    PartClass::parse(s).ok_or_else(|| {
        PolicyError::new(
            key,
            format!("{s:?} is not one of unit, key_part, accessory, consumable"),
        )
    })
}

fn not_negative(key: &str, v: i64) -> Result<i64, PolicyError> {
    if v < 0 {
        return Err(PolicyError::new(key, "must not be negative"));
    }
    Ok(v)
}

impl Policy {
    /// Parses and validates policy TOML.
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
        Self::validate(file)
    }

    fn validate(f: File) -> Result<Policy, PolicyError> {
        if f.version.trim().is_empty() {
            return Err(PolicyError::new("version", "must not be empty"));
        }
        if f.currency.len() != 3 || !f.currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(PolicyError::new(
                "currency",
                format!("{:?} is not an ISO 4217 code like CNY", f.currency),
            ));
        }
        if !(1..=60).contains(&f.review_days) {
            return Err(PolicyError::new("review_days", "must be between 1 and 60"));
        }
        let on_deadline = match f.on_deadline.as_str() {
            "escalate" => LapseAction::Escalate,
            "auto_approve" => LapseAction::AutoApprove,
            other => {
                return Err(PolicyError::new(
                    "on_deadline",
                    format!("{other:?} is not one of escalate, auto_approve"),
                ));
            }
        };
        if f.no_document_grace_months > 24 {
            return Err(PolicyError::new(
                "no_document_grace_months",
                "must be at most 24",
            ));
        }
        let w = f.windows;
        if w.return_days == 0 || w.return_days > 365 {
            return Err(PolicyError::new(
                "windows.return_days",
                "must be between 1 and 365",
            ));
        }
        if w.exchange_days < w.return_days || w.exchange_days > 365 {
            return Err(PolicyError::new(
                "windows.exchange_days",
                "must be between windows.return_days and 365",
            ));
        }
        for (key, v) in [
            ("windows.unit_months", w.unit_months),
            ("windows.key_part_months", w.key_part_months),
            ("windows.accessory_months", w.accessory_months),
            ("windows.consumable_months", w.consumable_months),
        ] {
            if v > 240 {
                return Err(PolicyError::new(key, "must be at most 240"));
            }
        }
        if w.unit_months == 0 {
            return Err(PolicyError::new(
                "windows.unit_months",
                "must be greater than 0",
            ));
        }
        not_negative(
            "auto_approve.max_total_fee_minor",
            f.auto_approve.max_total_fee_minor,
        )?;
        if f.service_fee.percent > 100 {
            return Err(PolicyError::new(
                "service_fee.percent",
                "must be at most 100",
            ));
        }
        not_negative("service_fee.cap_minor", f.service_fee.cap_minor)?;
        let mut non_returnable = BTreeSet::new();
        for (i, c) in f.non_returnable.iter().enumerate() {
            let c = c.trim().to_lowercase();
            if c.is_empty() {
                return Err(PolicyError::new(
                    format!("non_returnable[{i}]"),
                    "must not be empty",
                ));
            }
            non_returnable.insert(c);
        }
        let mut categories = BTreeMap::new();
        for (i, c) in f.categories.into_iter().enumerate() {
            let key = format!("categories[{i}]");
            let name = c.name.trim().to_lowercase();
            if name.is_empty() {
                return Err(PolicyError::new(format!("{key}.name"), "must not be empty"));
            }
            let mut parts = BTreeMap::new();
            for (j, p) in c.parts.into_iter().enumerate() {
                let pkey = format!("{key}.parts[{j}]");
                let part_no = p.part_no.trim().to_uppercase();
                if part_no.is_empty() {
                    return Err(PolicyError::new(
                        format!("{pkey}.part_no"),
                        "must not be empty",
                    ));
                }
                let rule = PartRule {
                    class: class(&format!("{pkey}.class"), &p.class)?,
                    fee_minor: not_negative(&format!("{pkey}.fee_minor"), p.fee_minor)?,
                    price_minor: p
                        .price_minor
                        .map(|v| not_negative(&format!("{pkey}.price_minor"), v))
                        .transpose()?,
                    onsite: p.onsite,
                };
                if parts.insert(part_no.clone(), rule).is_some() {
                    return Err(PolicyError::new(
                        format!("{pkey}.part_no"),
                        format!("{part_no} is listed twice"),
                    ));
                }
            }
            let category = Category {
                default_class: class(&format!("{key}.default_class"), &c.default_class)?,
                default_fee_minor: not_negative(
                    &format!("{key}.default_fee_minor"),
                    c.default_fee_minor,
                )?,
                parts,
            };
            if categories.insert(name.clone(), category).is_some() {
                return Err(PolicyError::new(
                    format!("{key}.name"),
                    format!("{name} is listed twice"),
                ));
            }
        }
        Ok(Policy {
            version: f.version.trim().to_owned(),
            currency: f.currency,
            review_days: f.review_days,
            on_deadline,
            no_document_grace_months: f.no_document_grace_months,
            windows: Windows {
                return_days: w.return_days,
                exchange_days: w.exchange_days,
                unit_months: w.unit_months,
                key_part_months: w.key_part_months,
                accessory_months: w.accessory_months,
                consumable_months: w.consumable_months,
            },
            auto_approve: AutoApprove {
                enabled: f.auto_approve.enabled,
                max_total_fee_minor: f.auto_approve.max_total_fee_minor,
                require_documents: f.auto_approve.require_documents,
            },
            service_fee: ServiceFee {
                percent: f.service_fee.percent,
                cap_minor: f.service_fee.cap_minor,
            },
            non_returnable,
            categories,
            dealers: DealerRules {
                duplicate_window_days: f.dealers.duplicate_window_days,
            },
        })
    }

    /// The fee schedule's price of `quantity` × `part_no` in `category` (the category's default
    /// fee for an unlisted part; 0 for an unknown category).
    pub fn fee(&self, category: &str, part_no: &str, quantity: u32) -> i64 {
        let Some(c) = self.categories.get(&category.trim().to_lowercase()) else {
            return 0;
        };
        let each = c
            .parts
            .get(part_no)
            .map(|p| p.fee_minor)
            .unwrap_or(c.default_fee_minor);
        each * quantity as i64
    }

    /// The list price of `part_no` in `category`, deducted when it does not come back.
    pub fn price(&self, category: &str, part_no: &str) -> Option<i64> {
        self.categories
            .get(&category.trim().to_lowercase())
            .and_then(|c| c.parts.get(part_no))
            .and_then(|p| p.price_minor)
    }

    /// The demo policy (always valid: a unit test proves it).
    pub fn demo() -> Result<Policy, PolicyError> {
        Policy::parse(DEMO_POLICY)
    }

    /// The rules in evaluation order, one readable line each (for `GetPolicy`).
    pub fn rules(&self) -> Vec<String> {
        let w = &self.windows;
        vec![
            "warranty starts on the invoice date; with no invoice on the receipt date; with no document at all on the factory date plus the grace months".into(),
            "damage by misuse flagged by the agent: every line is PAID (fee schedule)".into(),
            "a service contract on file: every line is CONTRACT".into(),
            format!("return: within {} days of the start, not for non-returnable categories", w.return_days),
            format!("exchange: within {} days of the start, not for non-returnable categories", w.exchange_days),
            format!("repair and replacement: unit {} months, key parts {} months, accessories {} months, consumables {} months; outside the window PAID", w.unit_months, w.key_part_months, w.accessory_months, w.consumable_months),
            format!("automatic approval: {} (recommendation approve, documents complete, fees at most {} minor units)", if self.auto_approve.enabled { "on" } else { "off" }, self.auto_approve.max_total_fee_minor),
            format!("dealer batch lines: judged as repairs on the repair day; PAID lines are not claimed; the same repair (serial and day) is claimed once; the same serial again within {} days is a duplicate; labour is paid at most at the contract's standard time", self.dealers.duplicate_window_days),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_policy_is_valid_and_lists_the_television_parts() {
        let p = Policy::demo().unwrap();
        let tv = &p.categories["television"];
        assert_eq!(tv.parts["PWR-55-01"].class, PartClass::Unit);
        assert_eq!(tv.parts["PNL-55-01"].class, PartClass::KeyPart);
        assert_eq!(tv.parts["RMT-01"].class, PartClass::Accessory);
        assert!(p.auto_approve.enabled);
        assert_eq!(p.review_days, 2);
        assert_eq!(p.non_returnable.len(), 22);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let bad = DEMO_POLICY.replace("return_days = 7", "return_days = 0");
        assert_eq!(Policy::parse(&bad).unwrap_err().key, "windows.return_days");
        let bad = DEMO_POLICY.replace("class = \"key_part\"", "class = \"keypart\"");
        assert_eq!(
            Policy::parse(&bad).unwrap_err().key,
            "categories[0].parts[1].class"
        );
        let bad = DEMO_POLICY.replace("on_deadline = \"escalate\"", "on_deadline = \"ignore\"");
        assert_eq!(Policy::parse(&bad).unwrap_err().key, "on_deadline");
    }

    #[test]
    fn a_missing_key_is_named() {
        let bad = DEMO_POLICY.replace("review_days = 2\n", "");
        let e = Policy::parse(&bad).unwrap_err();
        assert!(e.to_string().contains("review_days"), "{e}");
    }

    #[test]
    fn the_service_fee_is_ten_percent_capped_at_500() {
        let p = Policy::demo().unwrap();
        assert_eq!(p.service_fee.on(100_000), 10_000);
        assert_eq!(p.service_fee.on(900_000), 50_000);
    }
}
