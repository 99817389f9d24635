//! The KPIs by name, ratios in basis points, and the lifecycle class of a product model for the
//! parts fill rate. The figures themselves come from the read model (`store::readmodel`); what is
//! here is the arithmetic every figure shares.

use chrono::{Months, NaiveDate};

/// Every ratio KPI (and assessment metric) the service computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KpiName {
    RequestProcessingTimeliness,
    ReviewTimeliness,
    ProcurementCostVsQuotes,
    InventoryAccuracy,
    OnTimeDelivery,
    ArrivalSla,
    FirstTimeFix,
    ReworkRate,
    Satisfaction,
    ComplaintResponseTimeliness,
    ReturnVisitTimeliness,
    FillRateInProduction,
    FillRateDiscontinued,
    FillRateDiscontinuedLong,
}

impl KpiName {
    pub const ALL: [KpiName; 14] = [
        KpiName::RequestProcessingTimeliness,
        KpiName::ReviewTimeliness,
        KpiName::ProcurementCostVsQuotes,
        KpiName::InventoryAccuracy,
        KpiName::OnTimeDelivery,
        KpiName::ArrivalSla,
        KpiName::FirstTimeFix,
        KpiName::ReworkRate,
        KpiName::Satisfaction,
        KpiName::ComplaintResponseTimeliness,
        KpiName::ReturnVisitTimeliness,
        KpiName::FillRateInProduction,
        KpiName::FillRateDiscontinued,
        KpiName::FillRateDiscontinuedLong,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KpiName::RequestProcessingTimeliness => "request_processing_timeliness",
            KpiName::ReviewTimeliness => "review_timeliness",
            KpiName::ProcurementCostVsQuotes => "procurement_cost_vs_quotes",
            KpiName::InventoryAccuracy => "inventory_accuracy",
            KpiName::OnTimeDelivery => "on_time_delivery",
            KpiName::ArrivalSla => "arrival_sla",
            KpiName::FirstTimeFix => "first_time_fix",
            KpiName::ReworkRate => "rework_rate",
            KpiName::Satisfaction => "satisfaction",
            KpiName::ComplaintResponseTimeliness => "complaint_response_timeliness",
            KpiName::ReturnVisitTimeliness => "return_visit_timeliness",
            KpiName::FillRateInProduction => "fill_rate_in_production",
            KpiName::FillRateDiscontinued => "fill_rate_discontinued",
            KpiName::FillRateDiscontinuedLong => "fill_rate_discontinued_long",
        }
    }

    pub fn parse(s: &str) -> Option<KpiName> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether less is better (the target is a ceiling).
    pub fn lower_is_better(self) -> bool {
        self == KpiName::ReworkRate
    }
}

/// `numerator / denominator`, reported in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ratio {
    pub numerator: u64,
    pub denominator: u64,
}

impl Ratio {
    pub fn new(numerator: u64, denominator: u64) -> Self {
        Self {
            numerator,
            denominator,
        }
    }

    /// Rounded half up; 0 without a denominator (nothing to measure).
    pub fn bp(&self) -> u32 {
        if self.denominator == 0 {
            return 0;
        }
        let v = (self.numerator as u128 * 10_000 + self.denominator as u128 / 2)
            / self.denominator as u128;
        v.min(u32::MAX as u128) as u32
    }

    pub fn is_measured(&self) -> bool {
        self.denominator > 0
    }

    /// The complement (`1 − ratio`), for scoring a rate where less is better.
    pub fn complement(&self) -> Ratio {
        Ratio::new(
            self.denominator.saturating_sub(self.numerator),
            self.denominator,
        )
    }
}

/// A product model's lifecycle when its parts were reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LifecycleClass {
    InProduction,
    /// Discontinued for at most the policy's years.
    Discontinued,
    /// Discontinued for longer.
    DiscontinuedLong,
    /// The events did not say.
    Unknown,
}

impl LifecycleClass {
    pub const ALL: [LifecycleClass; 4] = [
        LifecycleClass::InProduction,
        LifecycleClass::Discontinued,
        LifecycleClass::DiscontinuedLong,
        LifecycleClass::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleClass::InProduction => "in_production",
            LifecycleClass::Discontinued => "discontinued",
            LifecycleClass::DiscontinuedLong => "discontinued_long",
            LifecycleClass::Unknown => "unknown",
        }
    }

    /// The fill-rate target that applies to the class.
    pub fn target(self) -> Option<KpiName> {
        match self {
            LifecycleClass::InProduction => Some(KpiName::FillRateInProduction),
            LifecycleClass::Discontinued => Some(KpiName::FillRateDiscontinued),
            LifecycleClass::DiscontinuedLong => Some(KpiName::FillRateDiscontinuedLong),
            LifecycleClass::Unknown => None,
        }
    }
}

/// The model's lifecycle as the warehouse reports it (its `Lifecycle` numbers: 1 in production,
/// 2 semi-discontinued, 3 discontinued; 0 or absent: not said).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLifecycle {
    pub lifecycle: i32,
    pub discontinued_on: Option<NaiveDate>,
}

/// The class of a model on the day of the reservation: in production; discontinued (winding down
/// counts as discontinued) for at most `long_years` years; or longer. A discontinued model without
/// a date is taken as recently discontinued.
pub fn lifecycle_class(m: ModelLifecycle, on: NaiveDate, long_years: u32) -> LifecycleClass {
    match m.lifecycle {
        1 => LifecycleClass::InProduction,
        2 | 3 => {
            let anniversary = m
                .discontinued_on
                .and_then(|since| since.checked_add_months(Months::new(12 * long_years)));
            match anniversary {
                Some(a) if on > a => LifecycleClass::DiscontinuedLong,
                _ => LifecycleClass::Discontinued,
            }
        }
        _ => LifecycleClass::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn ratios_round_half_up_and_say_when_nothing_was_measured() {
        assert_eq!(Ratio::new(2, 3).bp(), 6667);
        assert_eq!(Ratio::new(1, 8).bp(), 1250);
        assert_eq!(Ratio::new(0, 0).bp(), 0);
        assert!(!Ratio::new(0, 0).is_measured());
        assert_eq!(Ratio::new(1, 4).complement(), Ratio::new(3, 4));
    }

    #[test]
    fn a_model_discontinued_more_than_two_years_ago_is_in_the_long_class() {
        let m = |lifecycle, since| ModelLifecycle {
            lifecycle,
            discontinued_on: since,
        };
        let on = d(2026, 11, 20);
        assert_eq!(
            lifecycle_class(m(1, None), on, 2),
            LifecycleClass::InProduction
        );
        assert_eq!(
            lifecycle_class(m(3, Some(d(2025, 6, 1))), on, 2),
            LifecycleClass::Discontinued
        );
        assert_eq!(
            lifecycle_class(m(3, Some(d(2024, 11, 20))), on, 2),
            LifecycleClass::Discontinued,
            "exactly two years is not more than two"
        );
        assert_eq!(
            lifecycle_class(m(3, Some(d(2024, 11, 19))), on, 2),
            LifecycleClass::DiscontinuedLong
        );
        assert_eq!(
            lifecycle_class(m(2, Some(d(2020, 1, 1))), on, 2),
            LifecycleClass::DiscontinuedLong
        );
        assert_eq!(
            lifecycle_class(m(3, None), on, 2),
            LifecycleClass::Discontinued
        );
        assert_eq!(lifecycle_class(m(0, None), on, 2), LifecycleClass::Unknown);
    }

    proptest! {
        #[test]
        fn a_ratio_is_never_above_one_when_the_part_is_within_the_whole(
            num in 0u64..1_000_000, extra in 0u64..1_000_000
        ) {
            let r = Ratio::new(num, num + extra);
            prop_assert!(r.bp() <= 10_000);
            prop_assert_eq!(r.bp() + r.complement().bp() >= 9_999, r.is_measured());
        }

        #[test]
        fn the_longer_ago_a_model_was_discontinued_the_later_its_class(
            a in 0i64..4000, b in 0i64..4000
        ) {
            let on = d(2026, 11, 20);
            let (near, far) = if a <= b { (a, b) } else { (b, a) };
            let class = |days: i64| lifecycle_class(ModelLifecycle {
                lifecycle: 3,
                discontinued_on: Some(on - chrono::Duration::days(days)),
            }, on, 2);
            prop_assert!(class(near) <= class(far));
        }
    }
}
