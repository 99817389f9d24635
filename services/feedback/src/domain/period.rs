//! Reporting periods in the department's local time: an ISO week (`2026-W48`, Monday to Sunday),
//! a month (`2026-11`), a quarter (`2026-Q4`) or a year (`2026`). A period is a half-open range
//! of local dates `[start, end)`; its instants are those dates at midnight in the department's
//! offset, so an event at 23:30 local on the last day of a month counts in that month.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    Week,
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    granularity: Granularity,
    /// The first day (a Monday for a week).
    start: NaiveDate,
}

const RULE: &str = "must be a period like 2026-11 (month), 2026-W48 (ISO week), 2026-Q4 or 2026";

fn year(s: &str) -> Option<i32> {
    (s.len() == 4 && s.chars().all(|c| c.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
        .filter(|y| (1970..=9999).contains(y))
}

fn number(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && s.chars().all(|c| c.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl Period {
    pub fn parse(s: &str) -> Result<Period, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.is_empty() {
            return Err("is required".into());
        }
        let bad = || RULE.to_owned();
        let (y, rest) = match t.split_once('-') {
            None => {
                let y = year(&t).ok_or_else(bad)?;
                return Self::of(Granularity::Year, y, 1);
            }
            Some(parts) => parts,
        };
        let y = year(y).ok_or_else(bad)?;
        if let Some(w) = rest.strip_prefix('W') {
            let w = number(w, 2).ok_or_else(bad)?;
            return Self::of(Granularity::Week, y, w);
        }
        if let Some(q) = rest.strip_prefix('Q') {
            let q = number(q, 1).ok_or_else(bad)?;
            return Self::of(Granularity::Quarter, y, q);
        }
        let m = number(rest, 2).ok_or_else(bad)?;
        Self::of(Granularity::Month, y, m)
    }

    fn of(granularity: Granularity, y: i32, n: u32) -> Result<Period, String> {
        let start = match granularity {
            Granularity::Week => NaiveDate::from_isoywd_opt(y, n, Weekday::Mon),
            Granularity::Month => NaiveDate::from_ymd_opt(y, n, 1),
            Granularity::Quarter => (1..=4)
                .contains(&n)
                .then(|| NaiveDate::from_ymd_opt(y, (n - 1) * 3 + 1, 1))
                .flatten(),
            Granularity::Year => NaiveDate::from_ymd_opt(y, 1, 1),
        };
        start
            .map(|start| Period { granularity, start })
            .ok_or_else(|| format!("{RULE} (no such {})", granularity.as_str()))
    }

    /// The period of `granularity` that contains `date`.
    pub fn containing(granularity: Granularity, date: NaiveDate) -> Period {
        let start = match granularity {
            Granularity::Week => {
                date - Duration::days(date.weekday().num_days_from_monday() as i64)
            }
            Granularity::Month => date.with_day(1).unwrap_or(date),
            Granularity::Quarter => {
                NaiveDate::from_ymd_opt(date.year(), (date.month0() / 3) * 3 + 1, 1).unwrap_or(date)
            }
            Granularity::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date),
        };
        Period { granularity, start }
    }

    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// The first day after the period.
    pub fn end(&self) -> NaiveDate {
        let s = self.start;
        let months = |n: u32| s.checked_add_months(chrono::Months::new(n)).unwrap_or(s);
        match self.granularity {
            Granularity::Week => s + Duration::days(7),
            Granularity::Month => months(1),
            Granularity::Quarter => months(3),
            Granularity::Year => months(12),
        }
    }

    pub fn last_day(&self) -> NaiveDate {
        self.end().pred_opt().unwrap_or(self.start)
    }

    pub fn previous(&self) -> Period {
        let day_before = self.start.pred_opt().unwrap_or(self.start);
        Period::containing(self.granularity, day_before)
    }

    pub fn next(&self) -> Period {
        Period::containing(self.granularity, self.end())
    }

    /// The period as instants: local midnight of its first day up to (excluding) local midnight
    /// after its last.
    pub fn range(&self, offset: FixedOffset) -> (DateTime<Utc>, DateTime<Utc>) {
        (midnight(self.start, offset), midnight(self.end(), offset))
    }

    pub fn name(&self) -> String {
        match self.granularity {
            Granularity::Week => {
                let w = self.start.iso_week();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            Granularity::Month => format!("{:04}-{:02}", self.start.year(), self.start.month()),
            Granularity::Quarter => {
                format!("{:04}-Q{}", self.start.year(), self.start.month0() / 3 + 1)
            }
            Granularity::Year => format!("{:04}", self.start.year()),
        }
    }
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Week => "week",
            Granularity::Month => "month",
            Granularity::Quarter => "quarter",
            Granularity::Year => "year",
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Local midnight of `date` as an instant.
pub fn midnight(date: NaiveDate, offset: FixedOffset) -> DateTime<Utc> {
    offset
        .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn every_kind_of_period_parses_to_its_first_and_last_day() {
        let m = Period::parse("2026-11").unwrap();
        assert_eq!((m.start(), m.last_day()), (d(2026, 11, 1), d(2026, 11, 30)));
        let w = Period::parse("2026-w48").unwrap();
        assert_eq!(
            (w.start(), w.last_day()),
            (d(2026, 11, 23), d(2026, 11, 29))
        );
        assert_eq!(w.name(), "2026-W48");
        let q = Period::parse("2026-Q4").unwrap();
        assert_eq!((q.start(), q.last_day()), (d(2026, 10, 1), d(2026, 12, 31)));
        let y = Period::parse("2026").unwrap();
        assert_eq!((y.start(), y.last_day()), (d(2026, 1, 1), d(2026, 12, 31)));
    }

    #[test]
    fn nonsense_periods_are_refused() {
        for bad in [
            "",
            "26-11",
            "2026-13",
            "2026-W54",
            "2026-Q5",
            "2026-1",
            "2026-11-01",
            "x",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        // 2026 has 53 ISO weeks; 2027 does not.
        assert!(Period::parse("2026-W53").is_ok());
        assert!(Period::parse("2027-W53").is_err());
    }

    #[test]
    fn a_month_is_counted_in_the_departments_time() {
        let offset = FixedOffset::east_opt(8 * 3600).unwrap();
        let (from, to) = Period::parse("2026-11").unwrap().range(offset);
        assert_eq!(from.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-11-30T16:00:00+00:00");
    }

    #[test]
    fn the_week_before_the_first_of_a_year_belongs_to_the_previous_iso_year() {
        let w = Period::parse("2027-W01").unwrap();
        assert_eq!(w.previous().name(), "2026-W53");
        assert_eq!(
            Period::parse("2026-01").unwrap().previous().name(),
            "2025-12"
        );
    }

    proptest! {
        #[test]
        fn a_period_parses_back_from_its_name_and_neighbours_touch(
            days in 0i64..20000, g in 0usize..4
        ) {
            let date = d(1990, 1, 1) + Duration::days(days);
            let gran = [Granularity::Week, Granularity::Month, Granularity::Quarter, Granularity::Year][g];
            let p = Period::containing(gran, date);
            prop_assert!(p.start() <= date && date < p.end());
            prop_assert_eq!(Period::parse(&p.name()).unwrap(), p);
            prop_assert_eq!(p.next().start(), p.end());
            prop_assert_eq!(p.next().previous(), p);
        }
    }
}
