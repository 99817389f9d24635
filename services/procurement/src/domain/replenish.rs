//! Replenishment: stock below its reorder point (`warehouse.stock.low`) is ordered up to the
//! reorder point plus the demand expected while the order travels (daily demand × the chosen
//! quote's lead time), less what is already on order for stock.

/// Units a day a part is expected to be used: the policy's figure, or what the shortages of the
/// recent window show when that is more (rounded up).
pub fn daily_demand(policy_figure: u32, recent_units: u64, window_days: u32) -> u32 {
    let observed = recent_units.div_ceil(u64::from(window_days.max(1)));
    (observed.min(u64::from(u32::MAX)) as u32).max(policy_figure)
}

/// How many units to order: up to `reorder_point + daily × lead_time_days`, less `available` and
/// `on_order`; zero when that is covered already.
pub fn reorder_quantity(
    available: u32,
    reorder_point: u32,
    daily: u32,
    lead_time_days: u32,
    on_order: u64,
) -> u32 {
    let target = u64::from(reorder_point) + u64::from(daily) * u64::from(lead_time_days);
    let have = u64::from(available) + on_order;
    target.saturating_sub(have).min(u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stock_is_ordered_up_to_the_reorder_point_plus_lead_time_demand() {
        // Reorder point 20, 2 a day over 5 days, 3 left, 4 on order: 20 + 10 - 7 = 23.
        assert_eq!(reorder_quantity(3, 20, 2, 5, 4), 23);
        assert_eq!(reorder_quantity(30, 20, 2, 5, 0), 0, "covered already");
        assert_eq!(
            daily_demand(1, 90, 30),
            3,
            "shortages show more than the policy says"
        );
        assert_eq!(daily_demand(2, 10, 30), 2);
    }

    proptest! {
        #[test]
        fn what_is_ordered_plus_what_is_there_reaches_the_target_exactly_when_short(
            available in 0u32..1000, rp in 0u32..1000, daily in 0u32..50, lead in 0u32..60, on_order in 0u64..1000,
        ) {
            let q = reorder_quantity(available, rp, daily, lead, on_order);
            let target = u64::from(rp) + u64::from(daily) * u64::from(lead);
            let have = u64::from(available) + on_order;
            if have >= target {
                prop_assert_eq!(q, 0);
            } else {
                prop_assert_eq!(have + u64::from(q), target);
            }
        }
    }
}
