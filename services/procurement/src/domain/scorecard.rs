//! The scorecard, computed and never typed: on-time delivery (each PO receipt's date against the
//! promised date), inspection pass rate (units passed / inspected, from the warehouse's
//! inspection), price (the supplier's current quotes against the cheapest current quote of each
//! part) and, once the policy counts them, field failures customers reported for the supplier's
//! parts. The score is the weighted mean of the inputs that have data; a supplier without any
//! has the policy's neutral score.

use serde::{Deserialize, Serialize};

use super::policy::ScorecardPolicy;

/// The raw counts behind a scorecard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Receipt lines against the supplier's POs.
    pub deliveries: u32,
    pub on_time_deliveries: u32,
    pub units_inspected: u32,
    pub units_passed: u32,
    /// `None` when the supplier quotes nothing current.
    pub price_index_bp: Option<u32>,
    pub field_failures: u32,
}

/// A computed scorecard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub deliveries: u32,
    pub on_time_deliveries: u32,
    pub on_time_rate_bp: u32,
    pub units_inspected: u32,
    pub units_passed: u32,
    pub pass_rate_bp: u32,
    pub price_index_bp: u32,
    pub field_failures: u32,
    pub field_failure_rate_bp: u32,
    pub field_failures_counted: bool,
    pub score_bp: u32,
    /// Which inputs had data (on time, pass rate, price, field failures).
    pub counted: [bool; 4],
}

/// `num / den` in basis points, capped at 10000; `None` without a denominator.
pub fn rate_bp(num: u32, den: u32) -> Option<u32> {
    (den > 0).then(|| ((u64::from(num.min(den)) * 10_000) / u64::from(den)) as u32)
}

/// Basis points as a percentage with two decimals ("92.50").
pub fn percent(bp: u32) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

pub fn compute(inputs: &Inputs, policy: &ScorecardPolicy) -> Card {
    let on_time = rate_bp(inputs.on_time_deliveries, inputs.deliveries);
    let pass = rate_bp(inputs.units_passed, inputs.units_inspected);
    let price = inputs.price_index_bp.map(|p| p.min(10_000));
    let failure_rate = if inputs.units_passed > 0 {
        ((u64::from(inputs.field_failures) * 10_000) / u64::from(inputs.units_passed)).min(10_000)
            as u32
    } else if inputs.field_failures > 0 {
        10_000
    } else {
        0
    };
    // Field failures count only once the policy says so, and only once there is something to
    // judge (units passed, or failures reported).
    let field = (policy.count_field_failures
        && (inputs.units_passed > 0 || inputs.field_failures > 0))
        .then_some(10_000 - failure_rate);
    // The three base weights share 100; field failures take their weight from them in
    // proportion: base weights scaled by (100 - w_field).
    let wf = if field.is_some() {
        policy.field_failure_weight
    } else {
        0
    };
    let scale = 100 - wf;
    let parts = [
        (on_time, policy.on_time_weight * scale),
        (pass, policy.pass_rate_weight * scale),
        (price, policy.price_weight * scale),
        (field, wf * 100),
    ];
    let (sum, weight) = parts
        .iter()
        .filter_map(|(v, w)| v.map(|v| (u64::from(v) * u64::from(*w), u64::from(*w))))
        .fold((0u64, 0u64), |(s, t), (x, w)| (s + x, t + w));
    // No input with data: the neutral score.
    let score = sum
        .checked_div(weight)
        .map_or(policy.neutral_score_bp, |s| s as u32);
    Card {
        deliveries: inputs.deliveries,
        on_time_deliveries: inputs.on_time_deliveries,
        on_time_rate_bp: on_time.unwrap_or(0),
        units_inspected: inputs.units_inspected,
        units_passed: inputs.units_passed,
        pass_rate_bp: pass.unwrap_or(0),
        price_index_bp: price.unwrap_or(0),
        field_failures: inputs.field_failures,
        field_failure_rate_bp: failure_rate,
        field_failures_counted: field.is_some(),
        score_bp: score,
        counted: [
            on_time.is_some(),
            pass.is_some(),
            price.is_some(),
            field.is_some(),
        ],
    }
}

impl Card {
    /// The inputs, in words, for a reason ("on time 100.00 %, passed 20.00 %, price 100.00 %").
    pub fn inputs_in_words(&self) -> String {
        let mut out = Vec::new();
        if self.counted[0] {
            out.push(format!(
                "on time {} % of {} deliveries",
                percent(self.on_time_rate_bp),
                self.deliveries
            ));
        }
        if self.counted[1] {
            out.push(format!(
                "passed inspection {} % of {} units",
                percent(self.pass_rate_bp),
                self.units_inspected
            ));
        }
        if self.counted[2] {
            out.push(format!("price index {} %", percent(self.price_index_bp)));
        }
        if self.counted[3] {
            out.push(format!(
                "field failures {} %",
                percent(self.field_failure_rate_bp)
            ));
        }
        if out.is_empty() {
            "no data yet".into()
        } else {
            out.join(", ")
        }
    }
}

/// The weights in words, for the scorecard's `formula`.
pub fn formula(policy: &ScorecardPolicy) -> String {
    let mut s = format!(
        "score = {} % on-time rate + {} % inspection pass rate + {} % price index",
        policy.on_time_weight, policy.pass_rate_weight, policy.price_weight
    );
    if policy.count_field_failures {
        s.push_str(&format!(
            ", the three scaled to {} % beside {} % field-failure-free rate",
            100 - policy.field_failure_weight,
            policy.field_failure_weight
        ));
    }
    s.push_str(&format!(
        "; inputs without data are left out; no data: {}; WARNED below {}, SUSPENDED below {} while warned or still below {} after {} days to correct",
        percent(policy.neutral_score_bp),
        percent(policy.warn_below_bp),
        percent(policy.suspend_below_bp),
        percent(policy.warn_below_bp),
        policy.fix_within_days
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::Policy;
    use proptest::prelude::*;

    fn policy() -> ScorecardPolicy {
        Policy::demo().unwrap().scorecard
    }

    #[test]
    fn a_supplier_without_data_has_the_neutral_score() {
        let c = compute(&Inputs::default(), &policy());
        assert_eq!(c.score_bp, policy().neutral_score_bp);
        assert_eq!(c.inputs_in_words(), "no data yet");
    }

    #[test]
    fn the_score_is_the_weighted_mean_of_the_inputs_with_data() {
        let c = compute(
            &Inputs {
                deliveries: 4,
                on_time_deliveries: 3,
                units_inspected: 100,
                units_passed: 90,
                price_index_bp: Some(8_000),
                field_failures: 0,
            },
            &policy(),
        );
        assert_eq!(c.on_time_rate_bp, 7_500);
        assert_eq!(c.pass_rate_bp, 9_000);
        // 40 % × 75 + 40 % × 90 + 20 % × 80 = 82.
        assert_eq!(c.score_bp, 8_200);
        // Without a current quote the price is left out: (40 × 75 + 40 × 90) / 80 = 82.5.
        let c = compute(
            &Inputs {
                price_index_bp: None,
                deliveries: 4,
                on_time_deliveries: 3,
                units_inspected: 100,
                units_passed: 90,
                field_failures: 0,
            },
            &policy(),
        );
        assert_eq!(c.score_bp, 8_250);
    }

    #[test]
    fn field_failures_count_only_when_the_policy_says_so() {
        let inputs = Inputs {
            deliveries: 1,
            on_time_deliveries: 1,
            units_inspected: 100,
            units_passed: 100,
            price_index_bp: Some(10_000),
            field_failures: 50,
        };
        let off = compute(&inputs, &policy());
        assert!(!off.field_failures_counted);
        assert_eq!(off.score_bp, 10_000);
        assert_eq!(off.field_failure_rate_bp, 5_000);
        let on = compute(
            &inputs,
            &ScorecardPolicy {
                count_field_failures: true,
                ..policy()
            },
        );
        // 80 % × 100 + 20 % × 50 = 90.
        assert_eq!(on.score_bp, 9_000);
    }

    proptest! {
        #[test]
        fn the_score_stays_in_range_and_one_more_passed_unit_never_lowers_it(
            deliveries in 0u32..50, on_time in 0u32..50, inspected in 0u32..500,
            passed in 0u32..500, price in proptest::option::of(0u32..=10_000),
            failures in 0u32..100, count in any::<bool>(),
        ) {
            let p = ScorecardPolicy { count_field_failures: count, ..policy() };
            let inputs = Inputs {
                deliveries,
                on_time_deliveries: on_time.min(deliveries),
                units_inspected: inspected + 1,
                units_passed: passed.min(inspected),
                price_index_bp: price,
                field_failures: failures,
            };
            let c = compute(&inputs, &p);
            prop_assert!(c.score_bp <= 10_000);
            let better = compute(&Inputs { units_passed: inputs.units_passed + 1, ..inputs.clone() }, &p);
            prop_assert!(better.score_bp + 1 >= c.score_bp, "{} then {}", c.score_bp, better.score_bp);
        }
    }
}
