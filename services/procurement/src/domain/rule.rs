//! The documented rule that chooses a supplier for a part from the current quotes (DESIGN §6):
//!
//! 1. Eligible: the supplier may take orders (the policy's statuses, never SUSPENDED or
//!    TERMINATED), the quote is valid on the day, and the quantity reaches its minimum.
//! 2. Among the eligible, a quote whose lead time misses the need-by date ranks below every quote
//!    that meets it.
//! 3. Then the highest weighted value wins (weights are policy data): price (cheapest = 100 %,
//!    another cheapest / its price), lead time (shortest = 100 %, another (shortest + 1) / (its + 1)
//!    in working days) and the supplier's score.
//! 4. Ties go to the shorter lead time, then the higher score, then the lower price (then the
//!    supplier and quote ids, so the choice is always the same).
//!
//! The choice records the runner-up and why the winner beat it.

use std::cmp::Ordering;

use chrono::NaiveDate;

use super::policy::Policy;
use super::scorecard::percent;
use super::supplier::SupplierStatus;

/// A current quote with what the rule needs of its supplier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub quote_id: String,
    pub supplier_id: String,
    pub supplier_name: String,
    pub status: SupplierStatus,
    pub score_bp: u32,
    pub unit_price_minor: i64,
    pub min_quantity: u32,
    pub lead_time_days: u32,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

/// What is being bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    pub quantity: u32,
    pub as_of: NaiveDate,
    pub need_by: Option<NaiveDate>,
}

/// A candidate as the rule saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub candidate: Candidate,
    pub eligible: bool,
    pub ineligible_reason: String,
    /// The weighted value (0 when not eligible).
    pub value_bp: u32,
    pub price_bp: u32,
    pub lead_time_bp: u32,
    /// 1 = best; 0 when not eligible.
    pub rank: u32,
    pub expected: NaiveDate,
    pub meets_need_by: bool,
}

/// The rule's answer: every candidate best first (ineligible ones last), the choice and the
/// runner-up (indexes into `ranked`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub ranked: Vec<Ranked>,
    pub chosen: Option<usize>,
    pub runner_up: Option<usize>,
    /// Why the chosen beat the runner-up (or why nothing was chosen).
    pub explanation: String,
}

impl Choice {
    pub fn chosen(&self) -> Option<&Ranked> {
        self.chosen.map(|i| &self.ranked[i])
    }

    pub fn runner_up(&self) -> Option<&Ranked> {
        self.runner_up.map(|i| &self.ranked[i])
    }
}

/// The rule in words, with the policy's weights and version.
pub fn describe(policy: &Policy) -> String {
    let w = policy.rule;
    format!(
        "policy {}: eligible = supplier {} (never SUSPENDED or TERMINATED), quote valid on the day, \
         quantity at least the quote's minimum; a quote missing the need-by date ranks below those \
         meeting it; then the highest value of {} % price (cheapest = 100) + {} % lead time \
         (shortest = 100) + {} % supplier score; ties: shorter lead time, higher score, lower price",
        policy.version,
        policy.order_from_words(),
        w.price,
        w.lead_time,
        w.score
    )
}

/// Ranks `candidates` for `ask`. `expected(lead_time_days)` is the date goods ordered on the day
/// would arrive (the platform calendar's working days).
pub fn rank(
    candidates: &[Candidate],
    ask: Ask,
    policy: &Policy,
    expected: impl Fn(u32) -> NaiveDate,
) -> Choice {
    let mut ranked: Vec<Ranked> = candidates
        .iter()
        .map(|c| {
            let why = ineligible(c, ask, policy);
            let expected = expected(c.lead_time_days);
            Ranked {
                candidate: c.clone(),
                eligible: why.is_none(),
                ineligible_reason: why.unwrap_or_default(),
                value_bp: 0,
                price_bp: 0,
                lead_time_bp: 0,
                rank: 0,
                expected,
                meets_need_by: ask.need_by.is_none_or(|d| expected <= d),
            }
        })
        .collect();
    let eligible = ranked.iter().filter(|r| r.eligible);
    let cheapest = eligible
        .clone()
        .map(|r| r.candidate.unit_price_minor)
        .min()
        .unwrap_or(1)
        .max(1);
    let shortest = eligible
        .map(|r| r.candidate.lead_time_days)
        .min()
        .unwrap_or(0);
    let w = policy.rule;
    for r in ranked.iter_mut().filter(|r| r.eligible) {
        let c = &r.candidate;
        r.price_bp =
            ((i128::from(cheapest) * 10_000) / i128::from(c.unit_price_minor.max(1))) as u32;
        r.lead_time_bp =
            ((u64::from(shortest) + 1) * 10_000 / (u64::from(c.lead_time_days) + 1)) as u32;
        let score = c.score_bp.min(10_000);
        r.value_bp = (u64::from(w.price) * u64::from(r.price_bp)
            + u64::from(w.lead_time) * u64::from(r.lead_time_bp)
            + u64::from(w.score) * u64::from(score)) as u32
            / 100;
    }
    ranked.sort_by(order);
    let mut n = 0;
    for r in ranked.iter_mut().filter(|r| r.eligible) {
        n += 1;
        r.rank = n;
    }
    let chosen = ranked.first().filter(|r| r.eligible).map(|_| 0);
    let runner_up = ranked.get(1).filter(|r| r.eligible).map(|_| 1);
    let explanation = explain(&ranked, chosen, runner_up);
    Choice {
        ranked,
        chosen,
        runner_up,
        explanation,
    }
}

fn ineligible(c: &Candidate, ask: Ask, policy: &Policy) -> Option<String> {
    if !policy.may_order_from(c.status) {
        return Some(format!("supplier is {}: it may not take orders", c.status));
    }
    if ask.as_of < c.valid_from {
        return Some(format!("quote valid only from {}", c.valid_from));
    }
    if ask.as_of > c.valid_until {
        return Some(format!("quote expired on {}", c.valid_until));
    }
    if ask.quantity < c.min_quantity {
        return Some(format!(
            "quantity {} below the quote's minimum {}",
            ask.quantity, c.min_quantity
        ));
    }
    None
}

/// Best first: eligible before ineligible, meeting the need-by date before missing it, higher
/// value, then the tie-breakers.
fn order(a: &Ranked, b: &Ranked) -> Ordering {
    b.eligible
        .cmp(&a.eligible)
        .then(b.meets_need_by.cmp(&a.meets_need_by))
        .then(b.value_bp.cmp(&a.value_bp))
        .then(a.candidate.lead_time_days.cmp(&b.candidate.lead_time_days))
        .then(b.candidate.score_bp.cmp(&a.candidate.score_bp))
        .then(
            a.candidate
                .unit_price_minor
                .cmp(&b.candidate.unit_price_minor),
        )
        .then(a.candidate.supplier_id.cmp(&b.candidate.supplier_id))
        .then(a.candidate.quote_id.cmp(&b.candidate.quote_id))
}

fn summary(r: &Ranked) -> String {
    format!(
        "{} of {} (value {}: price {}, lead time {} d = {}, score {})",
        r.candidate.quote_id,
        r.candidate.supplier_id,
        percent(r.value_bp),
        percent(r.price_bp),
        r.candidate.lead_time_days,
        percent(r.lead_time_bp),
        percent(r.candidate.score_bp.min(10_000))
    )
}

fn explain(ranked: &[Ranked], chosen: Option<usize>, runner_up: Option<usize>) -> String {
    let Some(c) = chosen.map(|i| &ranked[i]) else {
        if ranked.is_empty() {
            return "no current quote for the part".into();
        }
        let reasons: Vec<String> = ranked
            .iter()
            .map(|r| {
                format!(
                    "{} of {}: {}",
                    r.candidate.quote_id, r.candidate.supplier_id, r.ineligible_reason
                )
            })
            .collect();
        return format!("no eligible quote ({})", reasons.join("; "));
    };
    let Some(r) = runner_up.map(|i| &ranked[i]) else {
        return format!("chose {}: the only eligible quote", summary(c));
    };
    let (a, b) = (&c.candidate, &r.candidate);
    let why = if c.meets_need_by && !r.meets_need_by {
        "it meets the need-by date and the runner-up does not".to_owned()
    } else if c.value_bp != r.value_bp {
        "higher weighted value".to_owned()
    } else if a.lead_time_days != b.lead_time_days {
        format!(
            "equal value, shorter lead time ({} vs {} working days)",
            a.lead_time_days, b.lead_time_days
        )
    } else if a.score_bp != b.score_bp {
        format!(
            "equal value and lead time, higher score ({} vs {})",
            percent(a.score_bp),
            percent(b.score_bp)
        )
    } else if a.unit_price_minor != b.unit_price_minor {
        "equal value, lead time and score, lower price".to_owned()
    } else {
        "equal on every criterion; the lower supplier id".to_owned()
    };
    format!("chose {} over {}: {why}", summary(c), summary(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn quote(id: &str, supplier: &str, price: i64, lead: u32, score: u32) -> Candidate {
        Candidate {
            quote_id: id.into(),
            supplier_id: supplier.into(),
            supplier_name: supplier.into(),
            status: SupplierStatus::Active,
            score_bp: score,
            unit_price_minor: price,
            min_quantity: 1,
            lead_time_days: lead,
            valid_from: day("2026-11-01"),
            valid_until: day("2026-12-31"),
        }
    }

    fn ask(quantity: u32) -> Ask {
        Ask {
            quantity,
            as_of: day("2026-11-30"),
            need_by: None,
        }
    }

    fn choose(cands: &[Candidate], ask: Ask) -> Choice {
        let policy = Policy::demo().unwrap();
        rank(cands, ask, &policy, |d| {
            ask.as_of + chrono::Duration::days(d.into())
        })
    }

    #[test]
    fn a_cheaper_suspended_supplier_is_passed_over() {
        let mut cheap = quote("Q1", "SUP-CHEAP", 1_000, 3, 9_000);
        cheap.status = SupplierStatus::Suspended;
        let dear = quote("Q2", "SUP-DEAR", 1_500, 3, 9_000);
        let c = choose(&[cheap, dear], ask(5));
        assert_eq!(c.chosen().unwrap().candidate.supplier_id, "SUP-DEAR");
        assert!(
            c.runner_up().is_none(),
            "the suspended one is not even runner-up"
        );
        let skipped = c
            .ranked
            .iter()
            .find(|r| r.candidate.quote_id == "Q1")
            .unwrap();
        assert!(!skipped.eligible);
        assert_eq!(skipped.rank, 0);
        assert!(skipped.ineligible_reason.contains("SUSPENDED"));
    }

    #[test]
    fn an_expired_quote_or_one_not_yet_valid_is_passed_over() {
        let mut expired = quote("Q1", "SUP-A", 900, 1, 9_000);
        expired.valid_until = day("2026-11-29");
        let mut future = quote("Q2", "SUP-B", 800, 1, 9_000);
        future.valid_from = day("2026-12-01");
        let current = quote("Q3", "SUP-C", 1_200, 5, 8_000);
        let c = choose(&[expired, future, current], ask(1));
        assert_eq!(c.chosen().unwrap().candidate.quote_id, "Q3");
        let reasons: Vec<&str> = c.ranked[1..]
            .iter()
            .map(|r| r.ineligible_reason.as_str())
            .collect();
        assert!(
            reasons.iter().any(|r| r.contains("expired on 2026-11-29")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("valid only from")),
            "{reasons:?}"
        );
    }

    #[test]
    fn a_quantity_below_the_minimum_makes_the_quote_ineligible() {
        let mut bulk = quote("Q1", "SUP-A", 500, 1, 9_000);
        bulk.min_quantity = 100;
        let c = choose(&[bulk, quote("Q2", "SUP-B", 700, 1, 9_000)], ask(10));
        assert_eq!(c.chosen().unwrap().candidate.quote_id, "Q2");
    }

    #[test]
    fn a_tie_in_value_goes_to_the_shorter_lead_time() {
        // Weights 50 / 30 / 20. A: 1000, 1 day → price 70.00, lead 100.00, score 80.00 = 81.00.
        // B: 700, 3 days → price 100.00, lead 50.00, score 80.00 = 81.00.
        let a = quote("Q1", "SUP-B", 1_000, 1, 8_000);
        let b = quote("Q2", "SUP-A", 700, 3, 8_000);
        let c = choose(&[b, a], ask(1));
        let (best, second) = (c.chosen().unwrap(), c.runner_up().unwrap());
        assert_eq!(best.value_bp, 8_100);
        assert_eq!(second.value_bp, 8_100, "a true tie in value");
        assert_eq!(best.candidate.quote_id, "Q1", "the shorter lead time wins");
        assert!(
            c.explanation.contains("shorter lead time (1 vs 3"),
            "{}",
            c.explanation
        );
    }

    #[test]
    fn a_tie_in_value_and_lead_time_goes_to_the_higher_score() {
        // A: 1000, score 90.00 → price 96.00; B: 960, score 80.00 → price 100.00; both 2 days.
        // Values: 50 × 96 + 30 × 100 + 20 × 90 = 96.00 = 50 × 100 + 30 × 100 + 20 × 80.
        let a = quote("Q1", "SUP-B", 1_000, 2, 9_000);
        let b = quote("Q2", "SUP-A", 960, 2, 8_000);
        let c = choose(&[b, a], ask(1));
        let (best, second) = (c.chosen().unwrap(), c.runner_up().unwrap());
        assert_eq!((best.value_bp, second.value_bp), (9_600, 9_600));
        assert_eq!(best.candidate.quote_id, "Q1", "the higher score wins");
        assert!(
            c.explanation.contains("higher score (90.00 vs 80.00)"),
            "{}",
            c.explanation
        );
    }

    #[test]
    fn equal_on_everything_the_lower_supplier_id_is_chosen_every_time() {
        let a = quote("Q1", "SUP-B", 1_000, 3, 8_000);
        let b = quote("Q2", "SUP-A", 1_000, 3, 8_000);
        for cands in [[a.clone(), b.clone()], [b.clone(), a.clone()]] {
            let c = choose(&cands, ask(1));
            assert_eq!(c.chosen().unwrap().candidate.supplier_id, "SUP-A");
            assert!(
                c.explanation.contains("equal on every criterion"),
                "{}",
                c.explanation
            );
        }
    }

    #[test]
    fn a_quote_missing_the_need_by_date_ranks_below_one_meeting_it() {
        let fast = quote("Q1", "SUP-A", 2_000, 2, 7_000);
        let slow = quote("Q2", "SUP-B", 1_000, 10, 9_500);
        let mut a = ask(1);
        a.need_by = Some(day("2026-12-05"));
        let c = choose(&[slow.clone(), fast.clone()], a);
        assert_eq!(c.chosen().unwrap().candidate.quote_id, "Q1");
        assert!(c.explanation.contains("need-by"), "{}", c.explanation);
        let c = choose(&[slow, fast], ask(1));
        assert_eq!(
            c.chosen().unwrap().candidate.quote_id,
            "Q2",
            "without a need-by, price wins"
        );
    }

    #[test]
    fn nothing_is_chosen_when_nothing_is_eligible_and_the_reasons_are_given() {
        let mut q = quote("Q1", "SUP-A", 1_000, 1, 9_000);
        q.status = SupplierStatus::Terminated;
        let c = choose(&[q], ask(1));
        assert!(c.chosen.is_none());
        assert!(c.explanation.contains("TERMINATED"), "{}", c.explanation);
        assert_eq!(
            choose(&[], ask(1)).explanation,
            "no current quote for the part"
        );
    }

    fn candidate() -> impl Strategy<Value = Candidate> {
        (
            0usize..4,
            1i64..10_000,
            0u32..30,
            0u32..=10_000,
            1u32..20,
            -20i64..20,
            0i64..40,
            0u8..6,
        )
            .prop_map(|(st, price, lead, score, moq, from, len, id)| {
                let from_d = day("2026-11-30") + chrono::Duration::days(from);
                Candidate {
                    quote_id: format!("Q{id}-{price}"),
                    supplier_id: format!("SUP-{id}"),
                    supplier_name: String::new(),
                    status: SupplierStatus::ALL[st],
                    score_bp: score,
                    unit_price_minor: price,
                    min_quantity: moq,
                    lead_time_days: lead,
                    valid_from: from_d,
                    valid_until: from_d + chrono::Duration::days(len),
                }
            })
    }

    proptest! {
        #[test]
        fn a_suspended_or_terminated_supplier_is_never_chosen_and_the_choice_is_the_best_eligible(
            cands in proptest::collection::vec(candidate(), 0..8),
            quantity in 1u32..30,
            need_by in proptest::option::of(0i64..20),
        ) {
            let a = Ask {
                quantity,
                as_of: day("2026-11-30"),
                need_by: need_by.map(|d| day("2026-11-30") + chrono::Duration::days(d)),
            };
            let c = choose(&cands, a);
            prop_assert_eq!(c.ranked.len(), cands.len());
            match c.chosen() {
                Some(best) => {
                    prop_assert!(best.candidate.status != SupplierStatus::Suspended);
                    prop_assert!(best.candidate.status != SupplierStatus::Terminated);
                    prop_assert!(best.eligible);
                    prop_assert!(best.candidate.valid_from <= a.as_of && a.as_of <= best.candidate.valid_until);
                    prop_assert!(quantity >= best.candidate.min_quantity);
                    for r in c.ranked.iter().filter(|r| r.eligible && r.meets_need_by == best.meets_need_by) {
                        prop_assert!(r.value_bp <= best.value_bp);
                    }
                    prop_assert!(best.meets_need_by || c.ranked.iter().all(|r| !r.eligible || !r.meets_need_by));
                }
                None => prop_assert!(c.ranked.iter().all(|r| !r.eligible)),
            }
            for r in &c.ranked {
                prop_assert_eq!(r.eligible, r.rank > 0);
                if matches!(r.candidate.status, SupplierStatus::Suspended | SupplierStatus::Terminated) {
                    prop_assert!(!r.eligible);
                }
            }
        }
    }
}

/// What a PO keeps of the rule's choice.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChoiceRecord {
    pub rule: String,
    pub chosen_quote_id: String,
    pub chosen_value_bp: u32,
    pub runner_up_supplier_id: String,
    pub runner_up_quote_id: String,
    pub runner_up_value_bp: u32,
    pub explanation: String,
}

impl ChoiceRecord {
    /// The record of `choice` (which chose something) under the rule `rule`.
    pub fn of(choice: &Choice, rule: String) -> Self {
        let chosen = choice.chosen();
        let runner = choice.runner_up();
        ChoiceRecord {
            rule,
            chosen_quote_id: chosen
                .map(|c| c.candidate.quote_id.clone())
                .unwrap_or_default(),
            chosen_value_bp: chosen.map(|c| c.value_bp).unwrap_or(0),
            runner_up_supplier_id: runner
                .map(|r| r.candidate.supplier_id.clone())
                .unwrap_or_default(),
            runner_up_quote_id: runner
                .map(|r| r.candidate.quote_id.clone())
                .unwrap_or_default(),
            runner_up_value_bp: runner.map(|r| r.value_bp).unwrap_or(0),
            explanation: choice.explanation.clone(),
        }
    }
}
