//! The return pick-up's charge (DESIGN §6): free of charge for a quality problem, otherwise the
//! rate table's pick-up fee for the customer's region, with the reason in words.

use super::policy::Policy;
use super::{Region, money_text};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub free_of_charge: bool,
    pub fee_minor: i64,
    pub reason: String,
}

/// What the customer pays for a pick-up in `region`; `quality_problem` (claims-review's
/// `pickup_free`) makes it free.
pub fn charge(policy: &Policy, region: Option<Region>, quality_problem: bool) -> Charge {
    if quality_problem {
        return Charge {
            free_of_charge: true,
            fee_minor: 0,
            reason: "Free of charge: the return is for a quality problem.".into(),
        };
    }
    let region = region.unwrap_or(policy.default_region);
    let fee = policy.pickup.fee_minor.get(&region).copied().unwrap_or(0);
    Charge {
        free_of_charge: false,
        fee_minor: fee,
        reason: format!(
            "Charged {}: the return is for the customer's own reasons (pick-up fee for the {region} region, rate table {}).",
            money_text(fee, &policy.currency),
            policy.version
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quality_problem_is_picked_up_free_and_anything_else_pays_the_regions_fee() {
        let p = Policy::demo().unwrap();
        let free = charge(&p, Some(Region::Remote), true);
        assert!(free.free_of_charge);
        assert_eq!(free.fee_minor, 0);
        let paid = charge(&p, Some(Region::Remote), false);
        assert!(!paid.free_of_charge);
        assert_eq!(paid.fee_minor, 6000);
        assert!(paid.reason.contains("60.00 CNY"), "{}", paid.reason);
        assert_eq!(
            charge(&p, None, false).fee_minor,
            3000,
            "unknown region: the default"
        );
    }
}
