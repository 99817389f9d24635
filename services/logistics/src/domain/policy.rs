//! The rate table as data: a versioned TOML file per deployment (see `policy/demo.toml`), parsed
//! and validated once at start. A bad one is a [`PolicyError`] naming the key.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{Method, Region, Urgency};

/// The demo rate table, compiled in: used when no policy file is configured.
pub const DEMO_POLICY: &str = include_str!("../../policy/demo.toml");

/// A problem in the rate table, naming the key (e.g. `methods[1].per_kg_minor`).
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

/// One delivery method's rates and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodRate {
    pub method: Method,
    /// The carrier code that carries it (`sim`, or a carrier recorded by hand).
    pub carrier: String,
    /// Per consignment.
    pub base_minor: i64,
    /// Per started kilogram, per region served.
    pub per_kg_minor: BTreeMap<Region, i64>,
    /// Working days per region served; 0 = the same working day.
    pub transit_days: BTreeMap<Region, u32>,
    /// Working hours of a same-day delivery.
    pub same_day_hours: u32,
    pub max_weight_grams: u32,
    pub max_length_cm: u32,
}

impl MethodRate {
    pub fn serves(&self, region: Region) -> bool {
        self.per_kg_minor.contains_key(&region)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insurance {
    pub rate_bp: u32,
    pub min_premium_minor: i64,
}

impl Insurance {
    /// The premium on a declared value: none when nothing is declared.
    pub fn premium(&self, declared_minor: i64) -> i64 {
        if declared_minor <= 0 {
            return 0;
        }
        (declared_minor * i64::from(self.rate_bp) / 10_000).max(self.min_premium_minor)
    }
}

/// What logistics knows of a part: how it is printed on a packing list, how heavy and long it is,
/// what it is worth when insured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartData {
    pub name: String,
    pub specification: String,
    pub weight_grams: u32,
    pub length_cm: u32,
    pub declared_value_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupRule {
    pub method: Method,
    pub fee_minor: BTreeMap<Region, i64>,
    pub chase_after_days: u32,
}

/// A validated rate table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: String,
    pub currency: String,
    pub urgent: BTreeSet<Urgency>,
    pub consolidate: BTreeSet<Urgency>,
    pub default_region: Region,
    pub carton_max_grams: u32,
    /// Working days promised, per non-urgent urgency and region.
    pub promise_days: BTreeMap<Urgency, BTreeMap<Region, u32>>,
    pub insurance: Insurance,
    /// In the order of the file (ties between equal quotes go to the earlier one).
    pub methods: Vec<MethodRate>,
    pub pickup: PickupRule,
    pub default_part: PartData,
    pub parts: BTreeMap<String, PartData>,
}

impl Policy {
    pub fn demo() -> Result<Policy, PolicyError> {
        Self::parse(DEMO_POLICY)
    }

    pub fn rate(&self, method: Method) -> Option<&MethodRate> {
        self.methods.iter().find(|m| m.method == method)
    }

    /// A part's data, or the default part's (with the part number as its name).
    pub fn part(&self, part_no: &str) -> PartData {
        self.parts
            .get(part_no)
            .cloned()
            .unwrap_or_else(|| PartData {
                name: part_no.to_owned(),
                ..self.default_part.clone()
            })
    }

    pub fn is_urgent(&self, urgency: Urgency) -> bool {
        self.urgent.contains(&urgency)
    }

    /// Parses and validates rate-table TOML.
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
        let urgent = urgencies("urgent", &f.urgent)?;
        let consolidate = urgencies("consolidate", &f.consolidate)?;
        if let Some(u) = consolidate.intersection(&urgent).next() {
            return Err(PolicyError::new(
                "consolidate",
                format!("{u} is urgent; urgent shipments are never held for consolidation"),
            ));
        }
        let default_region = region("default_region", &f.default_region)?;
        if f.carton_max_grams == 0 {
            return Err(PolicyError::new(
                "carton_max_grams",
                "must be greater than 0",
            ));
        }
        let mut promise_days = BTreeMap::new();
        for (name, per_region) in &f.promise_days {
            let key = format!("promise_days.{name}");
            let u = Urgency::parse_text(name).ok_or_else(|| {
                PolicyError::new(
                    &key,
                    format!("{name:?} is not one of low, normal, high, critical"),
                )
            })?;
            promise_days.insert(u, by_region(&key, per_region)?);
        }
        for u in Urgency::ALL.iter().filter(|u| !urgent.contains(u)) {
            let promised = promise_days.get(u).ok_or_else(|| {
                PolicyError::new(
                    format!("promise_days.{u}"),
                    "is required for every urgency that is not urgent",
                )
            })?;
            for r in Region::ALL {
                if !promised.contains_key(r) {
                    return Err(PolicyError::new(
                        format!("promise_days.{u}.{r}"),
                        "is required: every region needs a promise",
                    ));
                }
            }
        }
        not_negative("insurance.min_premium_minor", f.insurance.min_premium_minor)?;
        if f.insurance.rate_bp > 10_000 {
            return Err(PolicyError::new(
                "insurance.rate_bp",
                "must be at most 10000",
            ));
        }
        if f.methods.is_empty() {
            return Err(PolicyError::new("methods", "must list at least one method"));
        }
        let mut methods: Vec<MethodRate> = Vec::new();
        for (i, m) in f.methods.iter().enumerate() {
            let key = format!("methods[{i}]");
            let method = Method::parse_text(&m.method).ok_or_else(|| {
                PolicyError::new(
                    format!("{key}.method"),
                    format!(
                        "{:?} is not one of express, dedicated_line, special_vehicle",
                        m.method
                    ),
                )
            })?;
            if methods.iter().any(|x| x.method == method) {
                return Err(PolicyError::new(
                    format!("{key}.method"),
                    format!("{method} is listed twice"),
                ));
            }
            let carrier = m.carrier.trim().to_ascii_lowercase();
            if carrier.is_empty()
                || !carrier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(PolicyError::new(
                    format!("{key}.carrier"),
                    "must be a carrier code of letters, digits, '-' and '_'",
                ));
            }
            not_negative(&format!("{key}.base_minor"), m.base_minor)?;
            let per_kg_minor = by_region(&format!("{key}.per_kg_minor"), &m.per_kg_minor)?;
            for (r, v) in &per_kg_minor {
                not_negative(&format!("{key}.per_kg_minor.{r}"), *v)?;
            }
            let transit_days = by_region(&format!("{key}.transit_days"), &m.transit_days)?;
            let served: BTreeSet<&Region> = per_kg_minor.keys().collect();
            let timed: BTreeSet<&Region> = transit_days.keys().collect();
            if served != timed {
                return Err(PolicyError::new(
                    format!("{key}.transit_days"),
                    "must name exactly the regions of per_kg_minor",
                ));
            }
            if transit_days.values().any(|d| *d == 0) && m.same_day_hours == 0 {
                return Err(PolicyError::new(
                    format!("{key}.same_day_hours"),
                    "must be greater than 0 when a transit_days is 0 (same day)",
                ));
            }
            if transit_days.values().any(|d| *d > 60) {
                return Err(PolicyError::new(
                    format!("{key}.transit_days"),
                    "must be at most 60 working days",
                ));
            }
            if m.max_weight_grams == 0 || m.max_length_cm == 0 {
                return Err(PolicyError::new(
                    format!("{key}.max_weight_grams"),
                    "limits must be greater than 0",
                ));
            }
            methods.push(MethodRate {
                method,
                carrier,
                base_minor: m.base_minor,
                per_kg_minor,
                transit_days,
                same_day_hours: m.same_day_hours,
                max_weight_grams: m.max_weight_grams,
                max_length_cm: m.max_length_cm,
            });
        }
        for r in Region::ALL {
            if !methods.iter().any(|m| m.serves(*r)) {
                return Err(PolicyError::new(
                    "methods",
                    format!("no method serves the {r} region"),
                ));
            }
        }
        let pickup_method = Method::parse_text(&f.pickup.method).ok_or_else(|| {
            PolicyError::new(
                "pickup.method",
                format!("{:?} is not a method", f.pickup.method),
            )
        })?;
        let pickup_rate = methods
            .iter()
            .find(|m| m.method == pickup_method)
            .ok_or_else(|| {
                PolicyError::new(
                    "pickup.method",
                    format!("{pickup_method} is not in methods"),
                )
            })?;
        let fee_minor = by_region("pickup.fee_minor", &f.pickup.fee_minor)?;
        for r in Region::ALL {
            let fee = fee_minor.get(r).ok_or_else(|| {
                PolicyError::new(
                    format!("pickup.fee_minor.{r}"),
                    "is required for every region",
                )
            })?;
            not_negative(&format!("pickup.fee_minor.{r}"), *fee)?;
            if !pickup_rate.serves(*r) {
                return Err(PolicyError::new(
                    "pickup.method",
                    format!("{pickup_method} does not serve the {r} region"),
                ));
            }
        }
        if !(1..=60).contains(&f.pickup.chase_after_days) {
            return Err(PolicyError::new(
                "pickup.chase_after_days",
                "must be between 1 and 60",
            ));
        }
        let default_part = part_data("default_part", &f.default_part)?;
        let mut parts = BTreeMap::new();
        for (i, p) in f.parts.iter().enumerate() {
            let key = format!("parts[{i}]");
            let part_no = aftersales_platform::ids::PartNo::parse(&p.part_no)
                .map_err(|e| PolicyError::new(format!("{key}.part_no"), e))?;
            let mut data = part_data(&key, &p.data)?;
            if data.name.trim().is_empty() {
                data.name = part_no.to_string();
            }
            if parts.insert(part_no.to_string(), data).is_some() {
                return Err(PolicyError::new(
                    format!("{key}.part_no"),
                    format!("{part_no} is listed twice"),
                ));
            }
        }
        Ok(Policy {
            version: f.version.trim().to_owned(),
            currency: f.currency,
            urgent,
            consolidate,
            default_region,
            carton_max_grams: f.carton_max_grams,
            promise_days,
            insurance: Insurance {
                rate_bp: f.insurance.rate_bp,
                min_premium_minor: f.insurance.min_premium_minor,
            },
            methods,
            pickup: PickupRule {
                method: pickup_method,
                fee_minor,
                chase_after_days: f.pickup.chase_after_days,
            },
            default_part,
            parts,
        })
    }
}

#[derive(Deserialize)]
struct File {
    version: String,
    currency: String,
    urgent: Vec<String>,
    #[serde(default)]
    consolidate: Vec<String>,
    default_region: String,
    carton_max_grams: u32,
    promise_days: BTreeMap<String, BTreeMap<String, u32>>,
    insurance: InsuranceFile,
    methods: Vec<MethodFile>,
    pickup: PickupFile,
    default_part: PartFile,
    #[serde(default)]
    parts: Vec<NamedPartFile>,
}

#[derive(Deserialize)]
struct InsuranceFile {
    rate_bp: u32,
    min_premium_minor: i64,
}

#[derive(Deserialize)]
struct MethodFile {
    method: String,
    carrier: String,
    base_minor: i64,
    per_kg_minor: BTreeMap<String, i64>,
    transit_days: BTreeMap<String, u32>,
    #[serde(default)]
    same_day_hours: u32,
    max_weight_grams: u32,
    max_length_cm: u32,
}

#[derive(Deserialize)]
struct PickupFile {
    method: String,
    fee_minor: BTreeMap<String, i64>,
    chase_after_days: u32,
}

#[derive(Deserialize)]
struct PartFile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    specification: String,
    weight_grams: u32,
    length_cm: u32,
    #[serde(default)]
    declared_value_minor: i64,
}

#[derive(Deserialize)]
struct NamedPartFile {
    part_no: String,
    #[serde(flatten)]
    data: PartFile,
}

fn region(key: &str, s: &str) -> Result<Region, PolicyError> {
    Region::parse_text(s).ok_or_else(|| {
        PolicyError::new(key, format!("{s:?} is not one of urban, suburban, remote"))
    })
}

fn urgencies(key: &str, list: &[String]) -> Result<BTreeSet<Urgency>, PolicyError> {
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            Urgency::parse_text(s).ok_or_else(|| {
                PolicyError::new(
                    format!("{key}[{i}]"),
                    format!("{s:?} is not one of low, normal, high, critical"),
                )
            })
        })
        .collect()
}

fn by_region<V: Copy>(
    key: &str,
    map: &BTreeMap<String, V>,
) -> Result<BTreeMap<Region, V>, PolicyError> {
    map.iter()
        .map(|(k, v)| Ok((region(&format!("{key}.{k}"), k)?, *v)))
        .collect()
}

fn not_negative(key: &str, v: i64) -> Result<i64, PolicyError> {
    if v < 0 {
        return Err(PolicyError::new(key, "must not be negative"));
    }
    Ok(v)
}

fn part_data(key: &str, p: &PartFile) -> Result<PartData, PolicyError> {
    if p.weight_grams == 0 {
        return Err(PolicyError::new(
            format!("{key}.weight_grams"),
            "must be greater than 0",
        ));
    }
    if p.length_cm == 0 {
        return Err(PolicyError::new(
            format!("{key}.length_cm"),
            "must be greater than 0",
        ));
    }
    not_negative(
        &format!("{key}.declared_value_minor"),
        p.declared_value_minor,
    )?;
    Ok(PartData {
        name: p.name.trim().to_owned(),
        specification: p.specification.trim().to_owned(),
        weight_grams: p.weight_grams,
        length_cm: p.length_cm,
        declared_value_minor: p.declared_value_minor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_rate_table_is_valid_and_serves_every_region() {
        let p = Policy::demo().unwrap();
        assert_eq!(p.currency, "CNY");
        assert_eq!(p.methods.len(), 3);
        assert!(p.is_urgent(Urgency::Critical));
        assert!(!p.is_urgent(Urgency::High));
        assert!(
            !p.rate(Method::DedicatedLine)
                .unwrap()
                .serves(Region::Remote)
        );
        assert_eq!(p.part("PWR-55-01").weight_grams, 800);
        assert_eq!(p.part("NOPE-1").name, "NOPE-1");
        assert_eq!(p.pickup.chase_after_days, 5);
    }

    fn with(from: &str, to: &str) -> String {
        assert!(DEMO_POLICY.contains(from), "{from}");
        DEMO_POLICY.replacen(from, to, 1)
    }

    #[test]
    fn a_bad_rate_table_names_the_key() {
        let cases = [
            (
                with("currency = \"CNY\"", "currency = \"yuan\""),
                "currency",
            ),
            (
                with("urgent = [\"critical\"]", "urgent = [\"asap\"]"),
                "urgent[0]",
            ),
            (
                with(
                    "consolidate = [\"low\", \"normal\"]",
                    "consolidate = [\"critical\"]",
                ),
                "consolidate",
            ),
            (
                with(
                    "high = { urban = 1, suburban = 2, remote = 4 }",
                    "high = { urban = 1 }",
                ),
                "promise_days.high.suburban",
            ),
            (
                with(
                    "transit_days = { urban = 2, suburban = 2 }",
                    "transit_days = { urban = 2 }",
                ),
                "methods[1].transit_days",
            ),
            (
                with("same_day_hours = 4", "same_day_hours = 0"),
                "methods[2].same_day_hours",
            ),
            (
                with("method = \"dedicated_line\"", "method = \"express\""),
                "methods[1].method",
            ),
            (
                with("chase_after_days = 5", "chase_after_days = 0"),
                "pickup.chase_after_days",
            ),
            (
                with("weight_grams = 800", "weight_grams = 0"),
                "parts[0].weight_grams",
            ),
        ];
        for (text, key) in cases {
            let e = Policy::parse(&text).expect_err(key);
            assert_eq!(e.key, key, "{e}");
        }
    }

    #[test]
    fn a_region_no_method_serves_is_refused() {
        let mut text = DEMO_POLICY.to_owned();
        for (from, to) in [
            (
                "{ urban = 200, suburban = 300, remote = 800 }",
                "{ urban = 200, suburban = 300 }",
            ),
            (
                "transit_days = { urban = 1, suburban = 2, remote = 4 }",
                "transit_days = { urban = 1, suburban = 2 }",
            ),
            (
                "{ urban = 100, suburban = 150, remote = 300 }",
                "{ urban = 100, suburban = 150 }",
            ),
            (
                "{ urban = 0, suburban = 1, remote = 2 }",
                "{ urban = 0, suburban = 1 }",
            ),
        ] {
            assert!(text.contains(from), "{from}");
            text = text.replacen(from, to, 1);
        }
        let e = Policy::parse(&text).unwrap_err();
        assert_eq!(e.key, "methods");
        assert!(e.message.contains("remote"), "{e}");
    }

    #[test]
    fn the_premium_is_a_share_of_the_declared_value_with_a_floor() {
        let i = Insurance {
            rate_bp: 50,
            min_premium_minor: 500,
        };
        assert_eq!(i.premium(0), 0);
        assert_eq!(i.premium(10_000), 500);
        assert_eq!(i.premium(1_000_000), 5_000);
    }
}
