//! The review deadline: N working days of working time after the claim opens (platform
//! calendar: weekends, holidays, working hours). While the claim waits for the branch the
//! deadline is paused: the working time left is kept, and added again from the moment the
//! information arrives.
//!
//! A claim's deadline is its SLA clock's (`crate::sla`, the platform's model, which stores these
//! inputs and re-derives them); these step-by-step functions remain for a claim opened before
//! its clock was kept, and as the worked examples the clock must agree with.

use aftersales_platform::calendar::Calendar;
use chrono::{DateTime, Duration, Utc};

/// When a claim opened at `opened` is due.
pub fn due_at(calendar: &Calendar, opened: DateTime<Utc>, review_days: u32) -> DateTime<Utc> {
    calendar.add_working_days(opened, review_days)
}

/// Pauses a running deadline at `now`: the working time left (zero when already past).
pub fn pause(calendar: &Calendar, now: DateTime<Utc>, due: DateTime<Utc>) -> Duration {
    calendar.working_time_between(now, due)
}

/// Resumes a paused deadline at `now` with the working time that was left.
pub fn resume(calendar: &Calendar, now: DateTime<Utc>, left: Duration) -> DateTime<Utc> {
    calendar.add_working_time(now, left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDate, TimeZone};

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
    fn a_claim_opened_on_thursday_afternoon_is_due_on_monday_across_the_weekend() {
        // 2026-11-19 is a Thursday: Thursday 15:00 + 2 working days → Monday 15:00.
        assert_eq!(
            due_at(&cal(), at(2026, 11, 19, 15, 0), 2),
            at(2026, 11, 23, 15, 0)
        );
    }

    #[test]
    fn a_claim_opened_on_saturday_counts_from_monday_morning() {
        assert_eq!(
            due_at(&cal(), at(2026, 11, 21, 10, 0), 2),
            at(2026, 11, 24, 18, 0)
        );
    }

    #[test]
    fn a_configured_holiday_does_not_count() {
        let c = cal().with_holidays([NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()]);
        // Friday 10:00 + 2 working days: Friday, (weekend, holiday Monday) Tuesday → Wednesday 10:00.
        assert_eq!(
            due_at(&c, at(2026, 11, 20, 10, 0), 2),
            at(2026, 11, 25, 10, 0)
        );
    }

    #[test]
    fn a_paused_deadline_resumes_with_the_working_time_that_was_left() {
        let c = cal().with_holidays([NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()]);
        // Opened Wednesday 2026-11-18 09:00, due Thursday 18:00 (2 working days).
        let opened = at(2026, 11, 18, 9, 0);
        let due = due_at(&c, opened, 2);
        assert_eq!(due, at(2026, 11, 19, 18, 0));
        // Info requested Wednesday 15:00: 3 h left today + 9 h Thursday = 12 h.
        let left = pause(&c, at(2026, 11, 18, 15, 0), due);
        assert_eq!(left, Duration::hours(12));
        // The branch answers Friday 16:00 (2 h left Friday, weekend, Monday holiday):
        // 10 h remain → Tuesday 9 h + 1 h Wednesday → Wednesday 10:00.
        assert_eq!(
            resume(&c, at(2026, 11, 20, 16, 0), left),
            at(2026, 11, 25, 10, 0)
        );
    }

    #[test]
    fn pausing_after_the_deadline_leaves_nothing() {
        let due = at(2026, 11, 19, 18, 0);
        assert_eq!(
            pause(&cal(), at(2026, 11, 20, 10, 0), due),
            Duration::zero()
        );
        let now = at(2026, 11, 20, 10, 0);
        assert_eq!(resume(&cal(), now, Duration::zero()), now);
    }
}
