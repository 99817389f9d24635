//! Part numbers, quantities, zones and movement kinds.

use std::fmt;

/// Defines an enum with a stable upper-case storage name for each variant.
macro_rules! stored_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The storage name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use stored_enum;

stored_enum!(
    /// Where stock sits. Reservations draw only from QUALIFIED (ordinary parts) and VALUABLES
    /// (valuable parts, which live nowhere else).
    Zone {
        Qualified = "QUALIFIED",
        PendingInspection = "PENDING_INSPECTION",
        Nonconforming = "NONCONFORMING",
        Valuables = "VALUABLES",
        OldParts = "OLD_PARTS",
    }
);

impl Zone {
    /// The zone a part's reservable stock lives in.
    pub fn reservable_for(valuable: bool) -> Zone {
        if valuable {
            Zone::Valuables
        } else {
            Zone::Qualified
        }
    }

    /// Whether stock of a part with this `valuable` flag may be booked here.
    pub fn admits(self, valuable: bool) -> bool {
        match self {
            Zone::Qualified => !valuable,
            Zone::Valuables => valuable,
            _ => true,
        }
    }
}

stored_enum!(
    /// Why on-hand changed; one ledger row per movement per zone.
    MovementKind {
        Receipt = "RECEIPT",
        InspectionPass = "INSPECTION_PASS",
        InspectionFail = "INSPECTION_FAIL",
        Issue = "ISSUE",
        OldPartReturn = "OLD_PART_RETURN",
        ReturnToSupplier = "RETURN_TO_SUPPLIER",
        Transfer = "TRANSFER",
        StocktakeAdjustment = "STOCKTAKE_ADJUSTMENT",
        CustomerReturn = "CUSTOMER_RETURN",
        ReturnInspection = "RETURN_INSPECTION",
    }
);

/// A catalogue part number: 1–40 characters of `A–Z`, `0–9`, `-`, `_`, `.` (upper-cased).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartNo(String);

impl PartNo {
    pub fn parse(s: &str) -> Result<PartNo, String> {
        let s = s.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err("is required".into());
        }
        if s.len() > 40 {
            return Err("must be at most 40 characters".into());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err("may contain only letters, digits, '-', '_' and '.'".into());
        }
        Ok(PartNo(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A positive whole number of units, at most one million per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 1_000_000;

    pub fn parse(n: u32) -> Result<Quantity, String> {
        if n == 0 {
            return Err("must be greater than zero".into());
        }
        if n > Self::MAX {
            return Err(format!("must be at most {}", Self::MAX));
        }
        Ok(Quantity(n))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Whether a low-stock alert fires (`Some(true)`), re-arms (`Some(false)`) or nothing changes.
/// It fires once when available falls below the reorder point and again only after available
/// rose back to or above it.
pub fn low_stock_transition(alerted: bool, available: i64, reorder_point: i64) -> Option<bool> {
    let below = available < reorder_point;
    match (alerted, below) {
        (false, true) => Some(true),
        (true, false) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_numbers_are_trimmed_and_upper_cased() {
        assert_eq!(PartNo::parse(" pwr-55-01 ").unwrap().as_str(), "PWR-55-01");
        assert!(PartNo::parse("").is_err());
        assert!(PartNo::parse("A B").is_err());
        assert!(PartNo::parse(&"X".repeat(41)).is_err());
    }

    #[test]
    fn zero_is_not_a_quantity() {
        assert!(Quantity::parse(0).is_err());
        assert_eq!(Quantity::parse(3).unwrap().get(), 3);
        assert!(Quantity::parse(Quantity::MAX + 1).is_err());
    }

    #[test]
    fn zones_round_trip_and_valuables_live_apart() {
        for z in Zone::ALL {
            assert_eq!(Zone::parse(z.as_str()), Some(*z));
        }
        assert!(!Zone::Qualified.admits(true));
        assert!(!Zone::Valuables.admits(false));
        assert!(Zone::PendingInspection.admits(true));
        assert_eq!(Zone::reservable_for(true), Zone::Valuables);
    }

    #[test]
    fn a_low_stock_alert_fires_once_per_crossing() {
        assert_eq!(low_stock_transition(false, 4, 5), Some(true));
        assert_eq!(low_stock_transition(true, 3, 5), None);
        assert_eq!(low_stock_transition(true, 5, 5), Some(false));
        assert_eq!(low_stock_transition(false, 6, 5), None);
        assert_eq!(low_stock_transition(false, 0, 0), None);
    }
}
