//! Quantities, zones, movement kinds and their dates. Part numbers are the platform's
//! ([`aftersales_platform::ids::PartNo`]), so one string is a part number in every service.

use chrono::NaiveDate;

pub use aftersales_platform::ids::PartNo;

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
        // In JSON columns too a value is written by its storage name.
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    ::serde::de::Error::custom(format!("{s:?} is not a {}", stringify!($name)))
                })
            }
        }
    };
}
pub(crate) use stored_enum;

stored_enum!(
    /// Where stock sits. Reservations draw only from QUALIFIED (ordinary parts) and VALUABLES
    /// (valuable parts, which live nowhere else); TURNOVER is kept for advance exchanges to
    /// dealers and agents.
    Zone {
        Qualified = "QUALIFIED",
        PendingInspection = "PENDING_INSPECTION",
        Nonconforming = "NONCONFORMING",
        Valuables = "VALUABLES",
        OldParts = "OLD_PARTS",
        Turnover = "TURNOVER",
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
        AdvanceExchange = "ADVANCE_EXCHANGE",
    }
);

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

/// A part and how many of it: a request's line, a line presented for issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartLine {
    pub part_no: PartNo,
    pub quantity: Quantity,
}

/// The date a movement is booked on: `today` unless one is given. A date after tomorrow is
/// refused: a clerk a few time zones ahead may book tomorrow's date, nobody books next week's.
pub fn movement_date(given: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, String> {
    match given {
        None => Ok(today),
        Some(d) if d > today.succ_opt().unwrap_or(today) => Err("must not be in the future".into()),
        Some(d) => Ok(d),
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
    fn a_movement_is_dated_today_unless_given_and_never_next_week() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(movement_date(None, today), Ok(today));
        let tomorrow = today.succ_opt().unwrap();
        assert_eq!(movement_date(Some(tomorrow), today), Ok(tomorrow));
        assert!(movement_date(tomorrow.succ_opt(), today).is_err());
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
