//! Tracking numbers: `AS-<YYMM>-<branch code>-<6-digit sequence per branch and month>`.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, Utc};

/// The largest sequence a branch can issue in one month.
pub const MAX_SEQUENCE: i64 = 999_999;

/// A branch code: 2–8 upper-case letters and digits, starting with a letter (`SH01`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BranchCode(String);

impl BranchCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (2..=8).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(
                "must be 2–8 upper-case letters and digits starting with a letter, e.g. SH01"
                    .into(),
            )
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BranchCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The month a number is issued in, `YYMM`, in the department's local time.
pub fn period(at: DateTime<Utc>, offset: FixedOffset) -> String {
    let local = at.with_timezone(&offset);
    format!("{:02}{:02}", local.year() % 100, local.month())
}

/// A tracking number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestNo(String);

impl RequestNo {
    pub fn new(period: &str, branch: &BranchCode, sequence: i64) -> Result<Self, String> {
        if !(1..=MAX_SEQUENCE).contains(&sequence) {
            return Err(format!(
                "branch {branch} has used all {MAX_SEQUENCE} numbers of {period}"
            ));
        }
        Ok(Self(format!("AS-{period}-{branch}-{sequence:06}")))
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let err = || "must look like AS-2611-SH01-000042".to_owned();
        let mut parts = s.split('-');
        let (Some("AS"), Some(period), Some(branch), Some(seq), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(err());
        };
        let period_ok = period.len() == 4
            && period.chars().all(|c| c.is_ascii_digit())
            && (1..=12).contains(&period[2..].parse::<u32>().unwrap_or(0));
        let seq_ok = seq.len() == 6 && seq.chars().all(|c| c.is_ascii_digit()) && seq != "000000";
        if !period_ok || !seq_ok || BranchCode::parse(branch).is_err() {
            return Err(err());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The sequence part.
    pub fn sequence(&self) -> i64 {
        self.0
            .rsplit('-')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

impl fmt::Display for RequestNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
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
            "AS-2611-sh01-000001",
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
