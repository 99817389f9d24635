//! Field-service identifiers. Request numbers, branch codes, part numbers and serials are the
//! platform's ([`aftersales_platform::ids`]); these are field-service's own, parsed the same way
//! (trimmed, upper-cased where they are codes).

use std::fmt;

use aftersales_platform::ids::BranchCode;
use serde::{Deserialize, Serialize};

/// `1–40` of `A–Z 0–9 - _ .`, upper-cased: the shape of every code of this service.
fn code(s: &str, rule: &'static str) -> Result<String, String> {
    let t = s.trim().to_ascii_uppercase();
    if t.is_empty() {
        return Err("is required".into());
    }
    let ok = t.len() <= 40
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(t) } else { Err(rule.into()) }
}

macro_rules! code_id {
    ($name:ident, $rule:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const RULE: &'static str = $rule;

            pub fn parse(s: &str) -> Result<Self, String> {
                code(s, $rule).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

code_id!(
    TechnicianId,
    "must be 1–40 of A–Z, 0–9, '-', '_' and '.', e.g. T-SH01-007"
);
code_id!(
    ToolId,
    "must be 1–40 of A–Z, 0–9, '-', '_' and '.', e.g. TOOL-0042"
);
code_id!(
    LoanId,
    "must be a loan id like LOAN-… (1–40 of A–Z, 0–9, '-', '_' and '.')"
);

impl TechnicianId {
    /// The id issued to a technician registered without one: `T-<branch>-<3+ digits>`.
    pub fn issue(branch: &BranchCode, sequence: i64) -> Self {
        Self(format!("T-{branch}-{sequence:03}"))
    }
}

/// A work order number: `WO-<YYMM>-<branch code>-<6-digit sequence per branch and month>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkOrderNo(String);

impl WorkOrderNo {
    pub const RULE: &'static str = "must be a work order number like WO-2611-SH01-000042";

    pub fn new(period: &str, branch: &BranchCode, sequence: i64) -> Result<Self, String> {
        if !(1..=999_999).contains(&sequence) {
            return Err(format!(
                "branch {branch} has used all work order numbers of {period}"
            ));
        }
        Self::parse(&format!("WO-{period}-{branch}-{sequence:06}"))
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.is_empty() {
            return Err("is required".into());
        }
        let parts: Vec<&str> = t.split('-').collect();
        let ok = matches!(parts.as_slice(), ["WO", period, branch, seq]
            if period.len() == 4
                && period.chars().all(|c| c.is_ascii_digit())
                && (1..=12).contains(&period[2..].parse::<u32>().unwrap_or(0))
                && BranchCode::parse(branch).is_ok()
                && seq.len() == 6
                && seq.chars().all(|c| c.is_ascii_digit())
                && *seq != "000000");
        if ok {
            Ok(Self(t))
        } else {
            Err(Self::RULE.into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The branch the number was issued for.
    pub fn branch(&self) -> &str {
        self.0.split('-').nth(2).unwrap_or("")
    }
}

impl fmt::Display for WorkOrderNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn work_order_numbers_name_a_month_a_branch_and_a_sequence() {
        let b = BranchCode::parse("SH01").unwrap();
        let no = WorkOrderNo::new("2611", &b, 42).unwrap();
        assert_eq!(no.as_str(), "WO-2611-SH01-000042");
        assert_eq!(no.branch(), "SH01");
        assert_eq!(WorkOrderNo::parse(" wo-2611-sh01-000042 ").unwrap(), no);
        for bad in [
            "",
            "WO-2613-SH01-000001",
            "WO-2611-SH01-000000",
            "AS-2611-SH01-000001",
            "WO-2611-SH01-1",
        ] {
            assert!(WorkOrderNo::parse(bad).is_err(), "{bad}");
        }
        assert!(WorkOrderNo::new("2611", &b, 1_000_000).is_err());
    }

    #[test]
    fn codes_are_upper_cased_and_bounded() {
        assert_eq!(
            TechnicianId::parse(" t-sh01-007").unwrap().as_str(),
            "T-SH01-007"
        );
        assert!(TechnicianId::parse("T SH01").is_err());
        assert!(ToolId::parse(&"A".repeat(41)).is_err());
        let b = BranchCode::parse("GZ03").unwrap();
        assert_eq!(TechnicianId::issue(&b, 7).as_str(), "T-GZ03-007");
    }

    proptest! {
        #[test]
        fn a_parsed_number_parses_again_to_itself(seq in 1i64..=999_999, m in 1u32..=12) {
            let b = BranchCode::parse("BJ02").unwrap();
            let no = WorkOrderNo::new(&format!("26{m:02}"), &b, seq).unwrap();
            prop_assert_eq!(WorkOrderNo::parse(no.as_str()).unwrap(), no);
        }
    }
}
