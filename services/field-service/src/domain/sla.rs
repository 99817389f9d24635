//! The arrival deadline (DESIGN §6): the technician must arrive within 6 working hours of the
//! call in urban areas and 7 in suburban ones (remote: policy data), counted in the platform
//! calendar's working hours, so time outside working hours, weekends and holidays does not run.

use aftersales_platform::calendar::Calendar;
use chrono::{DateTime, Utc};

use super::kinds::Region;
use super::policy::Arrival;

/// When the technician must be on site for a job called at `called_at` in `region`.
pub fn arrival_due(
    calendar: &Calendar,
    arrival: &Arrival,
    called_at: DateTime<Utc>,
    region: Region,
) -> DateTime<Utc> {
    calendar.add_working_hours(called_at, arrival.hours(region))
}

/// Working seconds from `now` to `due`; negative (the working time since `due`) once it passed.
pub fn seconds_left(calendar: &Calendar, now: DateTime<Utc>, due: DateTime<Utc>) -> i64 {
    if now <= due {
        calendar.working_time_between(now, due).num_seconds()
    } else {
        // Overdue at once, even outside working hours: never report 0 for a breached deadline.
        -(calendar.working_time_between(due, now).num_seconds().max(1))
    }
}

/// Whether an arrival at `arrived_at` (or none yet, looked at `now`) breaks the deadline.
pub fn breached(due: DateTime<Utc>, arrived_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match arrived_at {
        Some(at) => at > due,
        None => now > due,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, FixedOffset, NaiveDate, TimeZone};
    use proptest::prelude::*;

    const ARRIVAL: Arrival = Arrival {
        urban_hours: 6,
        suburban_hours: 7,
        remote_hours: 12,
    };

    fn cal() -> Calendar {
        Calendar::standard(480)
    }

    /// Local (UTC+8) time to UTC.
    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_urban_call_in_the_morning_is_due_the_same_afternoon() {
        // Thursday 2026-11-19, 09:30 + 6 h.
        assert_eq!(
            arrival_due(&cal(), &ARRIVAL, at(2026, 11, 19, 9, 30), Region::Urban),
            at(2026, 11, 19, 15, 30)
        );
    }

    #[test]
    fn a_call_late_in_the_day_runs_on_the_next_morning() {
        // Thursday 16:00: 2 h today, 4 h on Friday from 09:00.
        assert_eq!(
            arrival_due(&cal(), &ARRIVAL, at(2026, 11, 19, 16, 0), Region::Urban),
            at(2026, 11, 20, 13, 0)
        );
        // After closing time nothing runs until the next morning.
        assert_eq!(
            arrival_due(&cal(), &ARRIVAL, at(2026, 11, 19, 20, 0), Region::Urban),
            at(2026, 11, 20, 15, 0)
        );
    }

    #[test]
    fn a_weekend_does_not_count() {
        // Friday 2026-11-20 16:00: 2 h on Friday, 4 h on Monday.
        assert_eq!(
            arrival_due(&cal(), &ARRIVAL, at(2026, 11, 20, 16, 0), Region::Urban),
            at(2026, 11, 23, 13, 0)
        );
        // A Saturday call counts from Monday 09:00.
        assert_eq!(
            arrival_due(&cal(), &ARRIVAL, at(2026, 11, 21, 10, 0), Region::Urban),
            at(2026, 11, 23, 15, 0)
        );
    }

    #[test]
    fn a_holiday_does_not_count() {
        let c = cal().with_holidays([NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()]);
        // Friday 16:00: 2 h on Friday, the weekend and Monday's holiday skipped, 4 h Tuesday.
        assert_eq!(
            arrival_due(&c, &ARRIVAL, at(2026, 11, 20, 16, 0), Region::Urban),
            at(2026, 11, 24, 13, 0)
        );
    }

    #[test]
    fn suburban_customers_get_one_more_working_hour_than_urban_ones() {
        let call = at(2026, 11, 19, 10, 0);
        let urban = arrival_due(&cal(), &ARRIVAL, call, Region::Urban);
        let suburban = arrival_due(&cal(), &ARRIVAL, call, Region::Suburban);
        assert_eq!(urban, at(2026, 11, 19, 16, 0));
        assert_eq!(suburban, at(2026, 11, 19, 17, 0));
        // At 17:30 the 7-hour job is late, the 6-hour one is too.
        let late = at(2026, 11, 19, 17, 30);
        assert!(breached(urban, None, late) && breached(suburban, None, late));
        assert!(!breached(suburban, Some(at(2026, 11, 19, 16, 59)), late));
        assert!(breached(urban, Some(at(2026, 11, 19, 16, 1)), late));
    }

    #[test]
    fn the_time_left_counts_working_time_and_turns_negative_once_overdue() {
        let due = at(2026, 11, 20, 13, 0);
        assert_eq!(seconds_left(&cal(), at(2026, 11, 19, 17, 0), due), 5 * 3600);
        assert_eq!(seconds_left(&cal(), due, due), 0);
        assert_eq!(seconds_left(&cal(), at(2026, 11, 20, 14, 0), due), -3600);
        // Overdue in the evening: still negative.
        assert!(seconds_left(&cal(), at(2026, 11, 20, 22, 0), at(2026, 11, 20, 18, 0)) < 0);
    }

    proptest! {
        #[test]
        fn the_deadline_is_exactly_the_regions_working_hours_after_the_call(
            minutes in 0i64..(60 * 24 * 30), region in proptest::sample::select(Region::ALL.to_vec())
        ) {
            let call = at(2026, 11, 1, 0, 0) + Duration::minutes(minutes);
            let due = arrival_due(&cal(), &ARRIVAL, call, region);
            prop_assert!(due > call);
            prop_assert_eq!(
                cal().working_time_between(call, due),
                Duration::hours(ARRIVAL.hours(region) as i64)
            );
            prop_assert!(!breached(due, Some(due), due + Duration::hours(1)));
            prop_assert!(breached(due, None, due + Duration::seconds(1)));
        }
    }
}
