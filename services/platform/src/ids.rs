//! The identifiers every service and the gateway parse the same way, so one string is valid
//! everywhere or nowhere (DESIGN §6). Each is trimmed; codes and numbers are upper-cased, so
//! `pwr-55-01` and `PWR-55-01` name the same part everywhere.
//!
//! | identifier | rule |
//! |---|---|
//! | [`BranchCode`] | 2–8 letters and digits, starting with a letter (`SH01`) |
//! | [`RequestNo`] | `AS-<YYMM>-<branch code>-<6 digits, not all zero>` (`AS-2611-SH01-000042`) |
//! | [`PartNo`] | 1–40 of `A–Z 0–9 - _ .` (`PWR-55-01`) |
//! | [`Serial`] | 1–64 of letters, digits, `- . / _`, case kept (serial, IMEI, VIN) |
//! | [`Phone`] | digits, spaces, `+ - ( )`, `+` only first, 5–20 digits |

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! string_id {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A branch code (`SH01`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BranchCode(String);
string_id!(BranchCode);

impl BranchCode {
    pub const RULE: &'static str =
        "must be 2–8 letters and digits starting with a letter, e.g. SH01";

    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        let ok = (2..=8).contains(&t.len())
            && t.starts_with(|c: char| c.is_ascii_uppercase())
            && t.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(Self(t))
        } else if t.is_empty() {
            Err("is required".into())
        } else {
            Err(Self::RULE.into())
        }
    }
}

/// The largest sequence a branch can issue in one month.
pub const MAX_SEQUENCE: i64 = 999_999;

/// A tracking number: `AS-<YYMM>-<branch code>-<6-digit sequence per branch and month>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestNo(String);
string_id!(RequestNo);

impl RequestNo {
    pub const RULE: &'static str = "must be a tracking number like AS-2611-SH01-000042";

    /// The number intake issues: `period` is `YYMM`.
    pub fn new(period: &str, branch: &BranchCode, sequence: i64) -> Result<Self, String> {
        if !(1..=MAX_SEQUENCE).contains(&sequence) {
            return Err(format!(
                "branch {branch} has used all {MAX_SEQUENCE} numbers of {period}"
            ));
        }
        Self::parse(&format!("AS-{period}-{branch}-{sequence:06}"))
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.is_empty() {
            return Err("is required".into());
        }
        let mut parts = t.split('-');
        let (Some("AS"), Some(period), Some(branch), Some(seq), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(Self::RULE.into());
        };
        let period_ok = period.len() == 4
            && period.chars().all(|c| c.is_ascii_digit())
            && (1..=12).contains(&period[2..].parse::<u32>().unwrap_or(0));
        let seq_ok = seq.len() == 6 && seq.chars().all(|c| c.is_ascii_digit()) && seq != "000000";
        if !period_ok || !seq_ok || BranchCode::parse(branch).is_err() {
            return Err(Self::RULE.into());
        }
        Ok(Self(t))
    }

    /// The branch the number was issued for.
    pub fn branch(&self) -> &str {
        self.0.split('-').nth(2).unwrap_or("")
    }

    /// The sequence within the branch and month.
    pub fn sequence(&self) -> i64 {
        self.0
            .rsplit('-')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

/// A catalogue part number (`PWR-55-01`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartNo(String);
string_id!(PartNo);

impl PartNo {
    pub const RULE: &'static str = "must be 1–40 of A–Z, 0–9, '-', '_' and '.', e.g. PWR-55-01";

    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.is_empty() {
            return Err("is required".into());
        }
        let ok = t.len() <= 40
            && t.chars().all(|c| {
                c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
            });
        if ok {
            Ok(Self(t))
        } else {
            Err(Self::RULE.into())
        }
    }
}

/// A product's serial number, IMEI or VIN, as printed (case kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(String);
string_id!(Serial);

impl Serial {
    pub const RULE: &'static str = "must be 1–64 letters, digits, '-', '.', '/' or '_'";

    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("is required".into());
        }
        let ok = t.chars().count() <= 64
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | '_'));
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err(Self::RULE.into())
        }
    }
}

/// A phone number as the customer gave it, with its digits for searching.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    display: String,
    digits: String,
}

impl Phone {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("is required".into());
        }
        if !t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
        {
            return Err("must contain only digits, spaces and + - ( )".into());
        }
        if t.chars().skip(1).any(|c| c == '+') {
            return Err("may have '+' only at the start".into());
        }
        let digits = digits_of(t);
        if !(5..=20).contains(&digits.len()) {
            return Err("must have between 5 and 20 digits".into());
        }
        Ok(Self {
            display: t.to_owned(),
            digits,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// Only the digits, for matching however the number was typed.
    pub fn digits(&self) -> &str {
        &self.digits
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// The digits of a phone number.
pub fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn identifiers_are_trimmed_and_upper_cased() {
        assert_eq!(PartNo::parse(" pwr-55-01 ").unwrap().as_str(), "PWR-55-01");
        assert_eq!(BranchCode::parse("sh01").unwrap().as_str(), "SH01");
        let no = RequestNo::parse("as-2611-sh01-000042").unwrap();
        assert_eq!(no.as_str(), "AS-2611-SH01-000042");
        assert_eq!(no.branch(), "SH01");
        assert_eq!(Serial::parse(" Sn-1/a ").unwrap().as_str(), "Sn-1/a");
    }

    #[test]
    fn the_wider_part_number_rule_of_existing_data_holds() {
        for ok in ["A", "X_1.2", "PWR-55-01", &"A".repeat(40)] {
            assert!(PartNo::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A B", "A/B", &"A".repeat(41), "PWR#1"] {
            assert!(PartNo::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_numbers_need_a_month_a_branch_and_a_sequence() {
        for bad in [
            "AS-2613-SH01-000001",
            "AS-2611-1SH-000001",
            "AS-2611-SH01-000000",
            "AS-2611-SH01-00001",
            "XX-2611-SH01-000001",
            "AS-2611-SH01-000001-1",
        ] {
            assert!(RequestNo::parse(bad).is_err(), "{bad}");
        }
        let b = BranchCode::parse("GZ03").unwrap();
        assert_eq!(
            RequestNo::new("2611", &b, 42).unwrap().as_str(),
            "AS-2611-GZ03-000042"
        );
        assert!(RequestNo::new("2611", &b, 1_000_000).is_err());
    }

    #[test]
    fn phones_keep_their_digits() {
        let p = Phone::parse("+86 (138) 0013-8000").unwrap();
        assert_eq!(p.digits(), "8613800138000");
        assert!(Phone::parse("86+1").is_err());
        assert!(Phone::parse("1234").is_err());
    }

    proptest! {
        #[test]
        fn a_parsed_identifier_parses_again_to_itself(s in "[ a-zA-Z0-9_./-]{0,50}") {
            if let Ok(p) = PartNo::parse(&s) {
                prop_assert_eq!(PartNo::parse(p.as_str()).unwrap(), p);
            }
            if let Ok(b) = BranchCode::parse(&s) {
                prop_assert_eq!(BranchCode::parse(b.as_str()).unwrap(), b);
            }
            if let Ok(x) = Serial::parse(&s) {
                prop_assert_eq!(Serial::parse(x.as_str()).unwrap(), x);
            }
        }
    }
}
