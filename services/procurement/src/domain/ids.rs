//! Procurement's own identifiers and amounts, parsed once at the edge (the request, part and
//! branch numbers are the platform's, the same everywhere).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A supplier in the register (`SUP-HUAXIN`, `SUP-000042`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SupplierId(String);

impl SupplierId {
    pub const RULE: &'static str = "must be 1–40 of A–Z, 0–9, '-' and '_', e.g. SUP-000042";

    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.is_empty() {
            return Err("is required".into());
        }
        let ok = t.len() <= 40
            && t.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_'));
        if ok {
            Ok(Self(t))
        } else {
            Err(Self::RULE.into())
        }
    }

    /// The id issued to a supplier registered without one.
    pub fn issued(sequence: i64) -> Self {
        Self(format!("SUP-{sequence:06}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SupplierId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A number of units ordered or asked for: at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Quantity(u32);

impl Quantity {
    /// The most one line may order; more is a typing mistake, not a purchase.
    pub const MAX: u32 = 1_000_000;

    pub fn parse(n: u32) -> Result<Self, String> {
        match n {
            0 => Err("must be at least 1".into()),
            n if n > Self::MAX => Err(format!("must be at most {}", Self::MAX)),
            n => Ok(Self(n)),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A unit price or an amount in minor units of the policy's currency: a price is positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Price(i64);

impl Price {
    /// `amount_minor` in `currency`, which must be the deployment's `expected` currency.
    pub fn parse(currency: &str, amount_minor: i64, expected: &str) -> Result<Self, String> {
        let c = currency.trim().to_ascii_uppercase();
        if !c.is_empty() && c != expected {
            return Err(format!("must be in {expected}, not {c}"));
        }
        if amount_minor < 0 {
            return Err("must not be negative".into());
        }
        if amount_minor == 0 {
            return Err("must be greater than zero".into());
        }
        Ok(Self(amount_minor))
    }

    pub fn minor(self) -> i64 {
        self.0
    }
}

/// A date field (`YYYY-MM-DD`) that must be given.
pub fn required_date(s: &str) -> Result<NaiveDate, String> {
    optional_date(s)?.ok_or_else(|| "is required (YYYY-MM-DD)".to_owned())
}

/// A date field: empty is `None`.
pub fn optional_date(s: &str) -> Result<Option<NaiveDate>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    date(t).map(Some)
}

pub fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_refuse_zero_negative_and_foreign_money() {
        assert!(Price::parse("CNY", 100, "CNY").is_ok());
        assert!(
            Price::parse("", 100, "CNY").is_ok(),
            "the currency may be left out"
        );
        assert_eq!(
            Price::parse("CNY", -1, "CNY").unwrap_err(),
            "must not be negative"
        );
        assert!(Price::parse("CNY", 0, "CNY").is_err());
        assert!(Price::parse("USD", 100, "CNY").is_err());
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(Quantity::MAX + 1).is_err());
    }

    #[test]
    fn supplier_ids_are_upper_cased_and_bounded() {
        assert_eq!(SupplierId::parse(" sup-1 ").unwrap().as_str(), "SUP-1");
        assert!(SupplierId::parse("").is_err());
        assert!(SupplierId::parse("SUP 1").is_err());
        assert_eq!(SupplierId::issued(42).as_str(), "SUP-000042");
    }

    proptest! {
        #[test]
        fn a_parsed_supplier_id_parses_again_to_itself(s in "[ a-zA-Z0-9_-]{0,45}") {
            if let Ok(id) = SupplierId::parse(&s) {
                prop_assert_eq!(SupplierId::parse(id.as_str()).unwrap(), id);
            }
        }
    }
}
