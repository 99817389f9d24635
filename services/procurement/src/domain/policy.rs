//! The procurement policy as data: a versioned TOML file per deployment (see `policy/demo.toml`),
//! parsed and validated once at start. A bad policy is a [`PolicyError`] naming the key.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::supplier::SupplierStatus;

/// The demo policy, compiled in: used when no policy file is configured.
pub const DEMO_POLICY: &str = include_str!("../../policy/demo.toml");

/// A problem in the policy data, naming the key (e.g. `rule.price_weight`).
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

/// Weights of the supplier rule, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleWeights {
    pub price: u32,
    pub lead_time: u32,
    pub score: u32,
}

/// How the scorecard is computed and what it triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScorecardPolicy {
    pub window_days: u32,
    pub on_time_weight: u32,
    pub pass_rate_weight: u32,
    pub price_weight: u32,
    pub field_failure_weight: u32,
    pub count_field_failures: bool,
    pub neutral_score_bp: u32,
    pub warn_below_bp: u32,
    pub suspend_below_bp: u32,
    pub min_units_inspected: u32,
    pub fix_within_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub min_each_bp: u32,
    pub min_average_bp: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replenishment {
    pub default_daily_demand: u32,
    pub demand_window_days: u32,
    /// Daily demand per part number.
    pub parts: BTreeMap<String, u32>,
}

impl Replenishment {
    pub fn daily_demand(&self, part_no: &str) -> u32 {
        self.parts
            .get(part_no)
            .copied()
            .unwrap_or(self.default_daily_demand)
    }
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: String,
    pub currency: String,
    /// The statuses that may receive orders (a subset of ACTIVE and WARNED).
    pub order_from: BTreeSet<SupplierStatus>,
    pub rule: RuleWeights,
    pub scorecard: ScorecardPolicy,
    pub admission: Admission,
    pub replenishment: Replenishment,
}

#[derive(Deserialize)]
struct File {
    version: String,
    currency: String,
    eligibility: EligibilityFile,
    rule: RuleFile,
    scorecard: ScorecardFile,
    admission: AdmissionFile,
    replenishment: ReplenishmentFile,
}

#[derive(Deserialize)]
struct EligibilityFile {
    order_from: Vec<String>,
}

#[derive(Deserialize)]
struct RuleFile {
    price_weight: u32,
    lead_time_weight: u32,
    score_weight: u32,
}

#[derive(Deserialize)]
struct ScorecardFile {
    window_days: u32,
    on_time_weight: u32,
    pass_rate_weight: u32,
    price_weight: u32,
    field_failure_weight: u32,
    field_failures: bool,
    neutral_score_bp: u32,
    warn_below_bp: u32,
    suspend_below_bp: u32,
    min_units_inspected: u32,
    fix_within_days: u32,
}

#[derive(Deserialize)]
struct AdmissionFile {
    min_each_bp: u32,
    min_average_bp: u32,
}

#[derive(Deserialize)]
struct ReplenishmentFile {
    default_daily_demand: u32,
    demand_window_days: u32,
    #[serde(default)]
    parts: Vec<PartDemandFile>,
}

#[derive(Deserialize)]
struct PartDemandFile {
    part_no: String,
    daily_demand: u32,
}

fn bp(key: &str, v: u32) -> Result<u32, PolicyError> {
    if v > 10_000 {
        return Err(PolicyError::new(
            key,
            "must be at most 10000 (basis points)",
        ));
    }
    Ok(v)
}

fn percent_sum(key: &str, parts: &[u32]) -> Result<(), PolicyError> {
    if parts.iter().sum::<u32>() != 100 {
        return Err(PolicyError::new(key, "the weights must add up to 100"));
    }
    Ok(())
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

    /// The demo policy (always valid: a unit test proves it).
    pub fn demo() -> Result<Policy, PolicyError> {
        Policy::parse(DEMO_POLICY)
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
        let mut order_from = BTreeSet::new();
        for (i, s) in f.eligibility.order_from.iter().enumerate() {
            let key = format!("eligibility.order_from[{i}]");
            let status = match s.trim().to_ascii_lowercase().as_str() {
                "active" => SupplierStatus::Active,
                "warned" => SupplierStatus::Warned,
                "suspended" | "terminated" => {
                    return Err(PolicyError::new(
                        key,
                        format!("{s:?}: a suspended or terminated supplier never gets orders"),
                    ));
                }
                _ => {
                    return Err(PolicyError::new(
                        key,
                        format!("{s:?} is not one of active, warned"),
                    ));
                }
            };
            order_from.insert(status);
        }
        if !order_from.contains(&SupplierStatus::Active) {
            return Err(PolicyError::new(
                "eligibility.order_from",
                "must include active",
            ));
        }
        let r = f.rule;
        percent_sum(
            "rule",
            &[r.price_weight, r.lead_time_weight, r.score_weight],
        )?;
        let s = f.scorecard;
        if !(1..=3650).contains(&s.window_days) {
            return Err(PolicyError::new(
                "scorecard.window_days",
                "must be between 1 and 3650",
            ));
        }
        percent_sum(
            "scorecard",
            &[s.on_time_weight, s.pass_rate_weight, s.price_weight],
        )?;
        if s.field_failure_weight > 100 {
            return Err(PolicyError::new(
                "scorecard.field_failure_weight",
                "must be at most 100",
            ));
        }
        let warn = bp("scorecard.warn_below_bp", s.warn_below_bp)?;
        let suspend = bp("scorecard.suspend_below_bp", s.suspend_below_bp)?;
        let neutral = bp("scorecard.neutral_score_bp", s.neutral_score_bp)?;
        if suspend > warn {
            return Err(PolicyError::new(
                "scorecard.suspend_below_bp",
                "must not be above scorecard.warn_below_bp",
            ));
        }
        if neutral < warn {
            return Err(PolicyError::new(
                "scorecard.neutral_score_bp",
                "must not be below scorecard.warn_below_bp (a new supplier starts in good standing)",
            ));
        }
        if !(1..=365).contains(&s.fix_within_days) {
            return Err(PolicyError::new(
                "scorecard.fix_within_days",
                "must be between 1 and 365",
            ));
        }
        let a = f.admission;
        let admission = Admission {
            min_each_bp: bp("admission.min_each_bp", a.min_each_bp)?,
            min_average_bp: bp("admission.min_average_bp", a.min_average_bp)?,
        };
        let rp = f.replenishment;
        if !(1..=365).contains(&rp.demand_window_days) {
            return Err(PolicyError::new(
                "replenishment.demand_window_days",
                "must be between 1 and 365",
            ));
        }
        let mut parts = BTreeMap::new();
        for (i, p) in rp.parts.into_iter().enumerate() {
            let key = format!("replenishment.parts[{i}].part_no");
            let part_no = aftersales_platform::ids::PartNo::parse(&p.part_no)
                .map_err(|e| PolicyError::new(&key, e))?;
            if parts
                .insert(part_no.as_str().to_owned(), p.daily_demand)
                .is_some()
            {
                return Err(PolicyError::new(key, format!("{part_no} is listed twice")));
            }
        }
        Ok(Policy {
            version: f.version.trim().to_owned(),
            currency: f.currency,
            order_from,
            rule: RuleWeights {
                price: r.price_weight,
                lead_time: r.lead_time_weight,
                score: r.score_weight,
            },
            scorecard: ScorecardPolicy {
                window_days: s.window_days,
                on_time_weight: s.on_time_weight,
                pass_rate_weight: s.pass_rate_weight,
                price_weight: s.price_weight,
                field_failure_weight: s.field_failure_weight,
                count_field_failures: s.field_failures,
                neutral_score_bp: neutral,
                warn_below_bp: warn,
                suspend_below_bp: suspend,
                min_units_inspected: s.min_units_inspected,
                fix_within_days: s.fix_within_days,
            },
            admission,
            replenishment: Replenishment {
                default_daily_demand: rp.default_daily_demand,
                demand_window_days: rp.demand_window_days,
                parts,
            },
        })
    }

    /// Whether a supplier in `status` may receive orders: the policy's list, and never a
    /// suspended or terminated one whatever the list says.
    pub fn may_order_from(&self, status: SupplierStatus) -> bool {
        status.may_ever_take_orders() && self.order_from.contains(&status)
    }

    /// The statuses that may receive orders, in words ("ACTIVE or WARNED").
    pub fn order_from_words(&self) -> String {
        let names: Vec<&str> = self.order_from.iter().map(|s| s.as_str()).collect();
        names.join(" or ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_policy_is_valid() {
        let p = Policy::demo().unwrap();
        assert_eq!(p.currency, "CNY");
        assert!(p.may_order_from(SupplierStatus::Active));
        assert!(p.may_order_from(SupplierStatus::Warned));
        assert!(!p.may_order_from(SupplierStatus::Suspended));
        assert_eq!(p.replenishment.daily_demand("RMT-01"), 2);
        assert_eq!(p.replenishment.daily_demand("OTHER"), 1);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let bad = DEMO_POLICY.replace("price_weight = 50", "price_weight = 51");
        assert_eq!(Policy::parse(&bad).unwrap_err().key, "rule");
        let bad = DEMO_POLICY.replace(
            "order_from = [\"active\", \"warned\"]",
            "order_from = [\"active\", \"suspended\"]",
        );
        assert_eq!(
            Policy::parse(&bad).unwrap_err().key,
            "eligibility.order_from[1]"
        );
        let bad = DEMO_POLICY.replace("suspend_below_bp = 6000", "suspend_below_bp = 9000");
        assert_eq!(
            Policy::parse(&bad).unwrap_err().key,
            "scorecard.suspend_below_bp"
        );
        let bad = DEMO_POLICY.replace("window_days = 365", "");
        assert!(
            Policy::parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("window_days")
        );
    }
}
