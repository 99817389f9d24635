//! The choice of delivery method (DESIGN §6): from the rate table, by urgency, region and cost.
//!
//! 1. A method fits a consignment when it serves the region and the consignment is within its
//!    weight and length limits.
//! 2. An urgent consignment (the rate table's `urgent` list) takes the fastest method that fits;
//!    equal speed goes to the cheaper.
//! 3. Any other takes the cheapest method that fits and keeps the promise (`promise_days` of its
//!    urgency and region, in working days); equal cost goes to the faster. When none keeps the
//!    promise, the fastest that fits.
//! 4. When nothing fits, the method with the largest weight limit, and the explanation says so
//!    (a person splits or re-plans it).
//!
//! Every choice carries its explanation: the consignment, each method's quote (or why it does
//! not fit), and last the rule that decided.

use super::policy::{MethodRate, Policy};
use super::{Method, Region, Urgency, money_text};

/// What is to be shipped, as far as the choice is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consignment {
    /// `None` when the address does not say: priced as the rate table's `default_region`.
    pub region: Option<Region>,
    pub urgency: Urgency,
    pub weight_grams: u32,
    /// The longest part.
    pub length_cm: u32,
    /// Declared value of the valuables in it (insured).
    pub insured_value_minor: i64,
}

/// How long a method takes: whole working days, or (0 days) the same working day within
/// `same_day_hours` working hours. Ordered fastest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Transit {
    pub days: u32,
    pub same_day_hours: u32,
}

impl Transit {
    pub fn text(&self) -> String {
        match self.days {
            0 => format!("same day (within {} working hours)", self.same_day_hours),
            1 => "1 working day".to_owned(),
            n => format!("{n} working days"),
        }
    }
}

/// The rule that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    UrgentFastest,
    CheapestWithinPromise,
    FastestNoneWithinPromise,
    /// Joined a group of shipments to the same destination on the same day.
    Consolidated,
    /// A person chose the method (PlanShipment).
    Requested,
    NoneFitsLargest,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::UrgentFastest => "urgent_fastest",
            Rule::CheapestWithinPromise => "cheapest_within_promise",
            Rule::FastestNoneWithinPromise => "fastest_none_within_promise",
            Rule::Consolidated => "consolidated",
            Rule::Requested => "requested",
            Rule::NoneFitsLargest => "none_fits_largest",
        }
    }
}

/// A method's price and speed for a consignment that fits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priced {
    pub cost_minor: i64,
    pub transit: Transit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub method: Method,
    /// Why it does not fit, or its price.
    pub outcome: Result<Priced, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub method: Method,
    pub carrier: String,
    pub rule: Rule,
    pub cost_minor: i64,
    pub transit: Transit,
    /// One sentence each: the consignment, the quotes, and last the rule that decided.
    pub explanation: Vec<String>,
}

impl Choice {
    /// The explanation as one text (the shipment's `method_reason`).
    pub fn reason(&self) -> String {
        self.explanation.join(" ")
    }
}

/// The region a consignment is priced as.
pub fn region_of(policy: &Policy, c: &Consignment) -> Region {
    c.region.unwrap_or(policy.default_region)
}

/// Whether `rate` fits `c`, and at what price. `base_waived`: it joins a consolidated group
/// whose first consignment pays the base fee.
pub fn quote(
    policy: &Policy,
    rate: &MethodRate,
    c: &Consignment,
    base_waived: bool,
) -> Result<Priced, String> {
    let region = region_of(policy, c);
    let (Some(per_kg), Some(days)) = (
        rate.per_kg_minor.get(&region),
        rate.transit_days.get(&region),
    ) else {
        return Err(format!("does not serve the {region} region"));
    };
    if c.weight_grams > rate.max_weight_grams {
        return Err(format!(
            "too heavy ({} > {})",
            kg_text(c.weight_grams),
            kg_text(rate.max_weight_grams)
        ));
    }
    if c.length_cm > rate.max_length_cm {
        return Err(format!(
            "too long ({} cm > {} cm)",
            c.length_cm, rate.max_length_cm
        ));
    }
    // Charged per started kilogram, at least one.
    let kg = i64::from(c.weight_grams.div_ceil(1000).max(1));
    let base = if base_waived { 0 } else { rate.base_minor };
    let cost_minor = base + per_kg * kg + policy.insurance.premium(c.insured_value_minor);
    Ok(Priced {
        cost_minor,
        transit: Transit {
            days: *days,
            same_day_hours: if *days == 0 { rate.same_day_hours } else { 0 },
        },
    })
}

/// Every method's quote, in the rate table's order.
pub fn quotes(policy: &Policy, c: &Consignment) -> Vec<Quote> {
    policy
        .methods
        .iter()
        .map(|rate| Quote {
            method: rate.method,
            outcome: quote(policy, rate, c, false),
        })
        .collect()
}

/// The method the rules choose for `c`, with its explanation.
pub fn choose(policy: &Policy, c: &Consignment) -> Choice {
    let quotes = quotes(policy, c);
    let mut explanation = vec![describe(policy, c)];
    explanation.extend(quotes.iter().map(|q| quote_text(policy, q)));
    let fitting: Vec<(Method, Priced)> = quotes
        .iter()
        .filter_map(|q| q.outcome.as_ref().ok().map(|p| (q.method, *p)))
        .collect();
    let region = region_of(policy, c);
    let fastest = |list: &[(Method, Priced)]| {
        // min_by_key keeps the first of equals: the rate table's order breaks ties.
        list.iter()
            .min_by_key(|(_, p)| (p.transit, p.cost_minor))
            .copied()
    };
    let (rule, chosen) = if fitting.is_empty() {
        let largest = policy
            .methods
            .iter()
            .max_by_key(|m| {
                (
                    m.max_weight_grams,
                    std::cmp::Reverse(position(policy, m.method)),
                )
            })
            .map(|m| m.method)
            .unwrap_or(Method::SpecialVehicle);
        let priced = policy
            .rate(largest)
            .map(|rate| {
                let region = region_of(policy, c);
                let kg = i64::from(c.weight_grams.div_ceil(1000).max(1));
                Priced {
                    cost_minor: rate.base_minor
                        + rate.per_kg_minor.get(&region).copied().unwrap_or(0) * kg
                        + policy.insurance.premium(c.insured_value_minor),
                    transit: Transit {
                        days: rate.transit_days.get(&region).copied().unwrap_or(0),
                        same_day_hours: rate.same_day_hours,
                    },
                }
            })
            .unwrap_or(Priced {
                cost_minor: 0,
                transit: Transit {
                    days: 0,
                    same_day_hours: 0,
                },
            });
        explanation.push(format!(
            "No method fits: planned as {largest}, the largest, for a person to split or re-plan."
        ));
        (Rule::NoneFitsLargest, (largest, priced))
    } else if policy.is_urgent(c.urgency) {
        let (m, p) = fastest(&fitting).unwrap_or(fitting[0]);
        explanation.push(format!(
            "Urgent ({}): the fastest that fits is {m} ({}, {}).",
            c.urgency,
            p.transit.text(),
            money_text(p.cost_minor, &policy.currency)
        ));
        (Rule::UrgentFastest, (m, p))
    } else {
        let promise = promise_days(policy, c.urgency, region);
        let within: Vec<(Method, Priced)> = fitting
            .iter()
            .filter(|(_, p)| p.transit.days <= promise)
            .copied()
            .collect();
        match within
            .iter()
            .min_by_key(|(_, p)| (p.cost_minor, p.transit))
            .copied()
        {
            Some((m, p)) => {
                explanation.push(format!(
                    "Not urgent ({}): the cheapest that keeps the promised {promise} working day(s) to {} {region} address is {m} ({}, {}).",
                    c.urgency,
                    article(region.text()),
                    money_text(p.cost_minor, &policy.currency),
                    p.transit.text()
                ));
                (Rule::CheapestWithinPromise, (m, p))
            }
            None => {
                let (m, p) = fastest(&fitting).unwrap_or(fitting[0]);
                explanation.push(format!(
                    "Not urgent ({}), but nothing that fits keeps the promised {promise} working day(s): the fastest is {m} ({}, {}).",
                    c.urgency,
                    p.transit.text(),
                    money_text(p.cost_minor, &policy.currency)
                ));
                (Rule::FastestNoneWithinPromise, (m, p))
            }
        }
    };
    choice(policy, chosen.0, rule, chosen.1, explanation)
}

/// A method a person asked for: chosen when it fits, else why not.
pub fn requested(policy: &Policy, c: &Consignment, method: Method) -> Result<Choice, String> {
    let rate = policy
        .rate(method)
        .ok_or_else(|| format!("{method} is not in the rate table"))?;
    let priced = quote(policy, rate, c, false).map_err(|why| format!("{method} {why}"))?;
    let mut explanation = vec![describe(policy, c)];
    explanation.extend(quotes(policy, c).iter().map(|q| quote_text(policy, q)));
    explanation.push(format!(
        "Requested by a person: {method} ({}, {}).",
        money_text(priced.cost_minor, &policy.currency),
        priced.transit.text()
    ));
    Ok(choice(policy, method, Rule::Requested, priced, explanation))
}

/// `c` joining the group `group` that travels by `method` (same destination, same day, none
/// urgent): the base fee is waived. `None` when it does not fit the group's method or is urgent.
pub fn consolidated(
    policy: &Policy,
    c: &Consignment,
    method: Method,
    group: &str,
) -> Option<Choice> {
    if !policy.consolidate.contains(&c.urgency) {
        return None;
    }
    let rate = policy.rate(method)?;
    let priced = quote(policy, rate, c, true).ok()?;
    let explanation = vec![
        describe(policy, c),
        format!(
            "Consolidated with {group}: the same destination on the same day, none urgent; travels by {method} ({}, {}), the base fee paid once for the group.",
            money_text(priced.cost_minor, &policy.currency),
            priced.transit.text()
        ),
    ];
    Some(choice(
        policy,
        method,
        Rule::Consolidated,
        priced,
        explanation,
    ))
}

fn choice(
    policy: &Policy,
    method: Method,
    rule: Rule,
    priced: Priced,
    explanation: Vec<String>,
) -> Choice {
    Choice {
        method,
        carrier: policy
            .rate(method)
            .map(|r| r.carrier.clone())
            .unwrap_or_default(),
        rule,
        cost_minor: priced.cost_minor,
        transit: priced.transit,
        explanation,
    }
}

/// The promise of a non-urgent urgency (the validated rate table has one for every region).
pub fn promise_days(policy: &Policy, urgency: Urgency, region: Region) -> u32 {
    policy
        .promise_days
        .get(&urgency)
        .and_then(|r| r.get(&region))
        .copied()
        .unwrap_or(u32::MAX)
}

fn position(policy: &Policy, m: Method) -> usize {
    policy
        .methods
        .iter()
        .position(|x| x.method == m)
        .unwrap_or(usize::MAX)
}

fn describe(policy: &Policy, c: &Consignment) -> String {
    let region = match c.region {
        Some(r) => format!("{} {r} address", article(r.text())),
        None => format!(
            "an address of unknown region (priced as {})",
            policy.default_region
        ),
    };
    let insured = if c.insured_value_minor > 0 {
        format!(
            ", valuables insured at {}",
            money_text(c.insured_value_minor, &policy.currency)
        )
    } else {
        String::new()
    };
    format!(
        "A {} consignment of {}, longest part {} cm, to {region}{insured}.",
        c.urgency,
        kg_text(c.weight_grams),
        c.length_cm
    )
}

/// "an urban", "a remote".
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn quote_text(policy: &Policy, q: &Quote) -> String {
    match &q.outcome {
        Ok(p) => format!(
            "{}: {}, {}.",
            q.method,
            money_text(p.cost_minor, &policy.currency),
            p.transit.text()
        ),
        Err(why) => format!("{}: {why}.", q.method),
    }
}

fn kg_text(grams: u32) -> String {
    format!("{}.{:02} kg", grams / 1000, (grams % 1000) / 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn demo() -> Policy {
        Policy::demo().unwrap()
    }

    fn consignment(region: Region, urgency: Urgency, weight_grams: u32) -> Consignment {
        Consignment {
            region: Some(region),
            urgency,
            weight_grams,
            length_cm: 35,
            insured_value_minor: 0,
        }
    }

    /// The method per urgency × region × weight under the demo rate table: a power board
    /// (0.8 kg), a box of boards (25 kg), a pallet (40 kg) and a ton of stock (1,000 kg).
    #[test]
    fn the_method_per_urgency_region_and_weight_follows_the_rules() {
        use Method::*;
        use Region::*;
        use Rule::*;
        use Urgency::*;
        let table: &[(Urgency, Region, u32, Method, Rule)] = &[
            // Not urgent: the cheapest that keeps the promise.
            (Low, Urban, 800, DedicatedLine, CheapestWithinPromise),
            (Low, Suburban, 800, DedicatedLine, CheapestWithinPromise),
            (Low, Remote, 800, Express, CheapestWithinPromise),
            (Normal, Urban, 800, DedicatedLine, CheapestWithinPromise),
            (Normal, Suburban, 800, DedicatedLine, CheapestWithinPromise),
            (Normal, Remote, 800, Express, CheapestWithinPromise),
            (Normal, Urban, 25_000, DedicatedLine, CheapestWithinPromise),
            // Express is limited to 30 kg; the dedicated line does not reach remote areas.
            (
                Normal,
                Remote,
                40_000,
                SpecialVehicle,
                CheapestWithinPromise,
            ),
            (
                Normal,
                Urban,
                1_000_000,
                SpecialVehicle,
                CheapestWithinPromise,
            ),
            // High: a promise of one working day in town, which only express and the vehicle keep.
            (High, Urban, 800, Express, CheapestWithinPromise),
            (High, Suburban, 800, DedicatedLine, CheapestWithinPromise),
            (High, Remote, 800, Express, CheapestWithinPromise),
            (High, Urban, 40_000, SpecialVehicle, CheapestWithinPromise),
            // Critical is urgent: the fastest that fits, whatever it costs.
            (Critical, Urban, 800, SpecialVehicle, UrgentFastest),
            (Critical, Suburban, 800, SpecialVehicle, UrgentFastest),
            (Critical, Remote, 800, SpecialVehicle, UrgentFastest),
            (Critical, Remote, 40_000, SpecialVehicle, UrgentFastest),
            // Heavier than every limit: the largest, for a person to re-plan.
            (Normal, Urban, 5_000_000, SpecialVehicle, NoneFitsLargest),
        ];
        let p = demo();
        for (urgency, region, grams, method, rule) in table {
            let c = consignment(*region, *urgency, *grams);
            let choice = choose(&p, &c);
            assert_eq!(
                (choice.method, choice.rule),
                (*method, *rule),
                "{urgency} {region} {grams} g: {}",
                choice.reason()
            );
            assert_eq!(choice.carrier, "sim");
            // The explanation names the consignment, every method, and last the decision.
            let last = choice.explanation.last().unwrap();
            assert!(last.contains(method.text()), "{last}");
            assert!(
                choice.explanation[0].contains(region.text()),
                "{}",
                choice.reason()
            );
            for m in Method::ALL {
                assert!(
                    choice.reason().contains(&format!("{}:", m.text())),
                    "{}",
                    choice.reason()
                );
            }
        }
    }

    #[test]
    fn the_explanation_says_why_the_cheapest_won_and_what_the_others_cost() {
        let c = consignment(Region::Urban, Urgency::Normal, 800);
        let choice = choose(&demo(), &c);
        assert_eq!(
            choice.explanation,
            vec![
                "A normal consignment of 0.80 kg, longest part 35 cm, to an urban address.",
                "express: 14.00 CNY, 1 working day.",
                "dedicated_line: 9.50 CNY, 2 working days.",
                "special_vehicle: 301.00 CNY, same day (within 4 working hours).",
                "Not urgent (normal): the cheapest that keeps the promised 3 working day(s) to an urban address is dedicated_line (9.50 CNY, 2 working days).",
            ]
        );
        assert_eq!(choice.cost_minor, 950);
    }

    #[test]
    fn too_long_a_part_rules_express_out_and_says_so() {
        let mut c = consignment(Region::Remote, Urgency::Normal, 14_000);
        c.length_cm = 130;
        let choice = choose(&demo(), &c);
        assert_eq!(choice.method, Method::SpecialVehicle);
        assert!(
            choice
                .reason()
                .contains("express: too long (130 cm > 120 cm)."),
            "{}",
            choice.reason()
        );
        assert!(
            choice
                .reason()
                .contains("dedicated_line: does not serve the remote region.")
        );
    }

    #[test]
    fn valuables_pay_the_insurance_premium() {
        let mut c = consignment(Region::Urban, Urgency::Normal, 800);
        c.insured_value_minor = 180_000;
        let choice = choose(&demo(), &c);
        // 8.00 base + 1.50 per kg + 0.5 % of 1,800.00 = 9.00 premium.
        assert_eq!(choice.cost_minor, 800 + 150 + 900);
        assert!(choice.explanation[0].contains("insured at 1800.00 CNY"));
    }

    #[test]
    fn an_unknown_region_is_priced_as_the_default_and_said_so() {
        let mut c = consignment(Region::Urban, Urgency::Normal, 800);
        c.region = None;
        let choice = choose(&demo(), &c);
        assert!(choice.explanation[0].contains("unknown region (priced as suburban)"));
        assert_eq!(choice.method, Method::DedicatedLine);
    }

    #[test]
    fn a_requested_method_must_fit() {
        let p = demo();
        let c = consignment(Region::Remote, Urgency::Normal, 800);
        assert_eq!(
            requested(&p, &c, Method::DedicatedLine).unwrap_err(),
            "dedicated_line does not serve the remote region"
        );
        let ch = requested(&p, &c, Method::SpecialVehicle).unwrap();
        assert_eq!(ch.rule, Rule::Requested);
    }

    #[test]
    fn a_consolidated_consignment_pays_no_base_fee_and_urgent_ones_never_join() {
        let p = demo();
        let c = consignment(Region::Urban, Urgency::Normal, 800);
        let ch = consolidated(&p, &c, Method::DedicatedLine, "SH-2611-000001").unwrap();
        assert_eq!(ch.cost_minor, 150);
        assert_eq!(ch.rule, Rule::Consolidated);
        assert!(ch.reason().contains("SH-2611-000001"));
        let urgent = consignment(Region::Urban, Urgency::Critical, 800);
        assert!(consolidated(&p, &urgent, Method::DedicatedLine, "SH-2611-000001").is_none());
        let high = consignment(Region::Urban, Urgency::High, 800);
        assert!(consolidated(&p, &high, Method::DedicatedLine, "SH-2611-000001").is_none());
        let heavy = consignment(Region::Urban, Urgency::Normal, 40_000);
        assert!(consolidated(&p, &heavy, Method::Express, "SH-2611-000001").is_none());
    }

    fn any_urgency() -> impl Strategy<Value = Urgency> {
        prop::sample::select(Urgency::ALL.to_vec())
    }

    fn any_region() -> impl Strategy<Value = Region> {
        prop::sample::select(Region::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn the_chosen_method_fits_whenever_one_does_and_obeys_its_rule(
            urgency in any_urgency(), region in any_region(),
            weight in 1u32..4_000_000, length in 1u32..1200, insured in 0i64..1_000_000
        ) {
            let p = demo();
            let c = Consignment { region: Some(region), urgency, weight_grams: weight, length_cm: length, insured_value_minor: insured };
            let choice = choose(&p, &c);
            let all = quotes(&p, &c);
            let fitting: Vec<(Method, Priced)> = all.iter()
                .filter_map(|q| q.outcome.as_ref().ok().map(|x| (q.method, *x))).collect();
            if fitting.is_empty() {
                prop_assert_eq!(choice.rule, Rule::NoneFitsLargest);
            } else {
                let mine = fitting.iter().find(|(m, _)| *m == choice.method).map(|(_, x)| *x);
                prop_assert!(mine.is_some(), "chose a method that does not fit: {}", choice.reason());
                let mine = mine.unwrap();
                prop_assert_eq!(mine.cost_minor, choice.cost_minor);
                match choice.rule {
                    Rule::UrgentFastest => {
                        prop_assert!(p.is_urgent(urgency));
                        prop_assert!(fitting.iter().all(|(_, x)| mine.transit <= x.transit));
                    }
                    Rule::CheapestWithinPromise => {
                        let promise = promise_days(&p, urgency, region);
                        prop_assert!(mine.transit.days <= promise);
                        prop_assert!(fitting.iter().filter(|(_, x)| x.transit.days <= promise)
                            .all(|(_, x)| mine.cost_minor <= x.cost_minor));
                    }
                    Rule::FastestNoneWithinPromise => {
                        let promise = promise_days(&p, urgency, region);
                        prop_assert!(fitting.iter().all(|(_, x)| x.transit.days > promise));
                        prop_assert!(fitting.iter().all(|(_, x)| mine.transit <= x.transit));
                    }
                    other => prop_assert!(false, "unexpected rule {:?}", other),
                }
            }
            prop_assert!(choice.explanation.len() >= 2);
        }
    }
}
