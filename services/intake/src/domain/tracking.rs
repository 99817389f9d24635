//! Tracking numbers: `AS-<YYMM>-<branch code>-<6-digit sequence per branch and month>`.

use chrono::{DateTime, Datelike, FixedOffset, Utc};

pub use aftersales_platform::ids::{BranchCode, MAX_SEQUENCE, RequestNo};

/// The month a number is issued in, `YYMM`, in the department's local time.
pub fn period(at: DateTime<Utc>, offset: FixedOffset) -> String {
    let local = at.with_timezone(&offset);
    format!("{:02}{:02}", local.year() % 100, local.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn numbers_have_the_documented_shape() {
        let b = BranchCode::parse("SH01").unwrap();
        assert_eq!(
            RequestNo::new("2611", &b, 42).unwrap().as_str(),
            "AS-2611-SH01-000042"
        );
        assert!(RequestNo::new("2611", &b, MAX_SEQUENCE + 1).is_err());
        assert!(RequestNo::new("2611", &b, 0).is_err());
    }

    #[test]
    fn the_period_is_the_local_month() {
        // 2026-11-30 20:00 UTC is already December 1st in UTC+8.
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 20, 0, 0).unwrap();
        assert_eq!(period(at, FixedOffset::east_opt(8 * 3600).unwrap()), "2612");
        assert_eq!(period(at, FixedOffset::east_opt(0).unwrap()), "2611");
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for bad in [
            "",
            "AS-2611-SH01",
            "AS-2613-SH01-000001",
            "AS-2611-SH01-0001",
            "XX-2611-SH01-000001",
            "AS-2611-SH01-000000",
            "AS-2611-SH01-000001-1",
        ] {
            assert!(RequestNo::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_issued_number_parses_back(branch in "[A-Z][A-Z0-9]{1,7}", seq in 1i64..=MAX_SEQUENCE, month in 1u32..=12, year in 0u32..100) {
            let b = BranchCode::parse(&branch).unwrap();
            let period = format!("{year:02}{month:02}");
            let no = RequestNo::new(&period, &b, seq).unwrap();
            let back = RequestNo::parse(no.as_str()).unwrap();
            prop_assert_eq!(back.sequence(), seq);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = RequestNo::parse(&s);
        }
    }
}
