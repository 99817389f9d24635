//! The supplier's status ladder. The department's sanctions go warning → stop supplying → end of
//! the relationship: the scorecard moves a supplier one step at a time (ACTIVE → WARNED with a
//! fix-by date, WARNED → SUSPENDED), a warned supplier back above the warning threshold returns to
//! ACTIVE, and only a person suspends or reinstates at will or ends the relationship
//! (TERMINATED, final).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::policy::{Admission, ScorecardPolicy};
use super::scorecard::{Card, percent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SupplierStatus {
    Active,
    Warned,
    Suspended,
    Terminated,
}

impl SupplierStatus {
    pub const ALL: [SupplierStatus; 4] = [
        SupplierStatus::Active,
        SupplierStatus::Warned,
        SupplierStatus::Suspended,
        SupplierStatus::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SupplierStatus::Active => "ACTIVE",
            SupplierStatus::Warned => "WARNED",
            SupplierStatus::Suspended => "SUSPENDED",
            SupplierStatus::Terminated => "TERMINATED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The hard rule under every policy: a suspended or terminated supplier gets no order.
    pub fn may_ever_take_orders(self) -> bool {
        matches!(self, SupplierStatus::Active | SupplierStatus::Warned)
    }
}

impl fmt::Display for SupplierStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status change a person asked for: `Ok(None)` when the supplier already has it (nothing
/// changes, nothing is announced).
pub fn manual_change(
    from: SupplierStatus,
    to: SupplierStatus,
) -> Result<Option<SupplierStatus>, String> {
    if from == to {
        return Ok(None);
    }
    if from == SupplierStatus::Terminated {
        return Err("the relationship with this supplier ended (TERMINATED is final)".into());
    }
    Ok(Some(to))
}

/// A change the scorecard decided, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoChange {
    pub to: SupplierStatus,
    pub reason: String,
    /// Set when the supplier is warned.
    pub fix_by: Option<NaiveDate>,
}

/// What the scorecard does to a supplier in `status` (warned until `fix_by`) on `today`: one step
/// of the ladder at most. Nothing without enough evidence (units inspected in the window), and
/// nothing to a suspended or terminated supplier (only a person reinstates).
pub fn automatic_change(
    status: SupplierStatus,
    fix_by: Option<NaiveDate>,
    card: &Card,
    policy: &ScorecardPolicy,
    today: NaiveDate,
) -> Option<AutoChange> {
    if card.units_inspected < policy.min_units_inspected {
        return None;
    }
    let score = card.score_bp;
    let (warn, suspend) = (policy.warn_below_bp, policy.suspend_below_bp);
    let inputs = card.inputs_in_words();
    match status {
        SupplierStatus::Active if score < warn => {
            let fix_by = today + chrono::Duration::days(i64::from(policy.fix_within_days));
            Some(AutoChange {
                to: SupplierStatus::Warned,
                reason: format!(
                    "score {} below the warning threshold {} ({inputs}); to correct by {fix_by}",
                    percent(score),
                    percent(warn)
                ),
                fix_by: Some(fix_by),
            })
        }
        SupplierStatus::Warned if score < suspend => Some(AutoChange {
            to: SupplierStatus::Suspended,
            reason: format!(
                "score {} below the suspension threshold {} while warned ({inputs})",
                percent(score),
                percent(suspend)
            ),
            fix_by: None,
        }),
        SupplierStatus::Warned if score < warn && fix_by.is_some_and(|d| today > d) => {
            Some(AutoChange {
                to: SupplierStatus::Suspended,
                reason: format!(
                    "score {} still below the warning threshold {} after the fix-by date {} ({inputs})",
                    percent(score),
                    percent(warn),
                    fix_by.map(|d| d.to_string()).unwrap_or_default()
                ),
                fix_by: None,
            })
        }
        SupplierStatus::Warned if score >= warn => Some(AutoChange {
            to: SupplierStatus::Active,
            reason: format!(
                "score {} back at or above the warning threshold {} ({inputs})",
                percent(score),
                percent(warn)
            ),
            fix_by: None,
        }),
        _ => None,
    }
}

/// The framework contract with a supplier: specification, quality standard, delivery period,
/// price, payment and after-sales terms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub contract_no: String,
    pub specification: String,
    pub quality_standard: String,
    pub delivery_period_days: u32,
    pub price_terms: String,
    pub payment_terms: String,
    pub after_sales_terms: String,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// The admission evaluation of a candidate supplier, in basis points per criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qualification {
    pub reputation_bp: u32,
    pub quality_bp: u32,
    pub capacity_bp: u32,
    pub price_bp: u32,
    pub evaluated_on: NaiveDate,
    pub note: String,
}

impl Qualification {
    fn criteria(&self) -> [(&'static str, u32); 4] {
        [
            ("reputation", self.reputation_bp),
            ("quality", self.quality_bp),
            ("supply capacity", self.capacity_bp),
            ("price", self.price_bp),
        ]
    }

    /// Whether the candidate qualifies for the register; why not, when not.
    pub fn admit(&self, rule: &Admission) -> Result<(), String> {
        let low: Vec<String> = self
            .criteria()
            .iter()
            .filter(|(_, v)| *v < rule.min_each_bp)
            .map(|(n, v)| format!("{n} {}", percent(*v)))
            .collect();
        if !low.is_empty() {
            return Err(format!(
                "not qualified: {} below the admission minimum {}",
                low.join(", "),
                percent(rule.min_each_bp)
            ));
        }
        let average = self.criteria().iter().map(|(_, v)| v).sum::<u32>() / 4;
        if average < rule.min_average_bp {
            return Err(format!(
                "not qualified: average {} below the admission minimum {}",
                percent(average),
                percent(rule.min_average_bp)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::Policy;
    use crate::domain::scorecard::{Inputs, compute};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn card(passed: u32, inspected: u32) -> Card {
        let p = Policy::demo().unwrap();
        compute(
            &Inputs {
                deliveries: 1,
                on_time_deliveries: 1,
                units_inspected: inspected,
                units_passed: passed,
                price_index_bp: Some(10_000),
                field_failures: 0,
            },
            &p.scorecard,
        )
    }

    #[test]
    fn failing_deliveries_warn_first_then_suspend() {
        let p = Policy::demo().unwrap().scorecard;
        let today = day("2026-12-01");
        let bad = card(0, 10);
        let warned = automatic_change(SupplierStatus::Active, None, &bad, &p, today).unwrap();
        assert_eq!(
            warned.to,
            SupplierStatus::Warned,
            "never straight to SUSPENDED"
        );
        assert_eq!(warned.fix_by, Some(day("2026-12-31")));
        assert!(
            warned.reason.contains("below the warning threshold"),
            "{}",
            warned.reason
        );
        let worse = Card {
            score_bp: 5_000,
            ..bad.clone()
        };
        let suspended =
            automatic_change(SupplierStatus::Warned, warned.fix_by, &worse, &p, today).unwrap();
        assert_eq!(suspended.to, SupplierStatus::Suspended);
        assert!(suspended.reason.contains("suspension threshold"));
        assert_eq!(
            automatic_change(SupplierStatus::Suspended, None, &worse, &p, today),
            None,
            "only a person reinstates"
        );
    }

    #[test]
    fn a_warned_supplier_still_low_after_its_fix_by_date_is_suspended_and_one_that_recovered_is_not()
     {
        let p = Policy::demo().unwrap().scorecard;
        let low = Card {
            score_bp: 7_000,
            ..card(5, 10)
        };
        let fix_by = Some(day("2026-12-31"));
        assert_eq!(
            automatic_change(SupplierStatus::Warned, fix_by, &low, &p, day("2026-12-31")),
            None,
            "on the fix-by date it still has time"
        );
        let c =
            automatic_change(SupplierStatus::Warned, fix_by, &low, &p, day("2027-01-01")).unwrap();
        assert_eq!(c.to, SupplierStatus::Suspended);
        let good = card(10, 10);
        let c =
            automatic_change(SupplierStatus::Warned, fix_by, &good, &p, day("2027-01-01")).unwrap();
        assert_eq!(c.to, SupplierStatus::Active);
    }

    #[test]
    fn too_little_evidence_changes_nothing() {
        let p = Policy::demo().unwrap().scorecard;
        assert_eq!(
            automatic_change(
                SupplierStatus::Active,
                None,
                &card(0, 3),
                &p,
                day("2026-12-01")
            ),
            None
        );
    }

    #[test]
    fn terminated_is_final_and_the_same_status_changes_nothing() {
        use SupplierStatus::*;
        assert!(manual_change(Terminated, Active).is_err());
        assert_eq!(manual_change(Suspended, Suspended).unwrap(), None);
        assert_eq!(manual_change(Suspended, Active).unwrap(), Some(Active));
        assert_eq!(manual_change(Active, Terminated).unwrap(), Some(Terminated));
    }

    #[test]
    fn admission_needs_every_criterion_and_the_average() {
        let rule = Policy::demo().unwrap().admission;
        let q = Qualification {
            reputation_bp: 9_000,
            quality_bp: 9_000,
            capacity_bp: 8_000,
            price_bp: 8_000,
            evaluated_on: day("2026-11-01"),
            note: String::new(),
        };
        assert!(q.admit(&rule).is_ok());
        let weak = Qualification {
            quality_bp: 5_000,
            ..q.clone()
        };
        assert!(weak.admit(&rule).unwrap_err().contains("quality 50.00"));
        let mediocre = Qualification {
            reputation_bp: 6_500,
            quality_bp: 6_500,
            capacity_bp: 6_500,
            price_bp: 6_500,
            ..q
        };
        assert!(mediocre.admit(&rule).unwrap_err().contains("average"));
    }
}
