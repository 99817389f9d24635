//! Logistics' rules, free of transport and storage: the rate table as policy data
//! ([`policy`]), the choice of delivery method with its explanation ([`method`]), packing a
//! shipment into cartons ([`packing`]), how tracking updates move a shipment or a pick-up and
//! never back ([`tracking`]), the sim carrier's realistic sequence of updates ([`sim`]) and the
//! pick-up fee ([`pickup`]). Request, branch and part numbers are the platform's identifiers; a
//! dealer's code ([`DealerCode`]) is logistics' own until the platform has one.

pub mod method;
pub mod packing;
pub mod pickup;
pub mod policy;
pub mod sim;
pub mod tracking;

use serde::{Deserialize, Serialize};

pub use aftersales_platform::ids::{BranchCode, PartNo, RequestNo};
pub use method::{Choice, Consignment, Rule, Transit};
pub use policy::Policy;

/// A closed set of values with one storage and wire name each (lower-case in the rate table and
/// on the gateway, upper-case in the database).
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $stored:literal / $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The database name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $stored),+ }
            }
            /// The lower-case name of the rate table, the gateway and explanations.
            pub fn text(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($stored => Some($name::$variant),)+ _ => None }
            }
            pub fn parse_text(s: &str) -> Option<Self> {
                let s = s.trim().to_ascii_lowercase();
                match s.as_str() { $($text => Some($name::$variant),)+ _ => None }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.text())
            }
        }
        impl Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as Deserialize>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    ::serde::de::Error::custom(format!("{s:?} is not a {}", stringify!($name)))
                })
            }
        }
    };
}

named_enum!(
    /// Where the customer lives: decides cost per kg, transit time and which methods serve it.
    Region { Urban = "URBAN" / "urban", Suburban = "SUBURBAN" / "suburban", Remote = "REMOTE" / "remote" }
);

named_enum!(
    Urgency { Low = "LOW" / "low", Normal = "NORMAL" / "normal", High = "HIGH" / "high", Critical = "CRITICAL" / "critical" }
);

named_enum!(
    Method {
        Express = "EXPRESS" / "express",
        DedicatedLine = "DEDICATED_LINE" / "dedicated_line",
        SpecialVehicle = "SPECIAL_VEHICLE" / "special_vehicle",
    }
);

named_enum!(
    ShipmentStatus {
        Planned = "PLANNED" / "planned",
        Dispatched = "DISPATCHED" / "dispatched",
        InTransit = "IN_TRANSIT" / "in_transit",
        Delivered = "DELIVERED" / "delivered",
        Failed = "FAILED" / "failed",
        Cancelled = "CANCELLED" / "cancelled",
    }
);

named_enum!(
    /// What a dealer's consignment is (`common.v1.ConsignmentKind`).
    ConsignmentKind {
        DealerOrder = "DEALER_ORDER" / "dealer_order",
        AdvanceExchange = "ADVANCE_EXCHANGE" / "advance_exchange",
    }
);

named_enum!(
    /// Where a dealer's consignment stands: handed to the carrier is all logistics records yet.
    ConsignmentStatus { Dispatched = "DISPATCHED" / "dispatched" }
);

named_enum!(
    PickupStatus {
        Scheduled = "SCHEDULED" / "scheduled",
        Collected = "COLLECTED" / "collected",
        Delivered = "DELIVERED" / "delivered",
        Failed = "FAILED" / "failed",
        Cancelled = "CANCELLED" / "cancelled",
    }
);

named_enum!(
    /// A carrier's status, normalised.
    TrackingStatus {
        PickedUp = "PICKED_UP" / "picked_up",
        InTransit = "IN_TRANSIT" / "in_transit",
        OutForDelivery = "OUT_FOR_DELIVERY" / "out_for_delivery",
        Delivered = "DELIVERED" / "delivered",
        Delayed = "DELAYED" / "delayed",
        Damaged = "DAMAGED" / "damaged",
        Lost = "LOST" / "lost",
        DeliveryFailed = "DELIVERY_FAILED" / "delivery_failed",
    }
);

named_enum!(
    ExceptionKind { Delay = "DELAY" / "delay", Damage = "DAMAGE" / "damage", Loss = "LOSS" / "loss" }
);

named_enum!(
    /// Where a tracking update or an exception came from.
    Source { Carrier = "CARRIER" / "carrier", Staff = "STAFF" / "staff", Scanner = "SCANNER" / "scanner" }
);

impl ExceptionKind {
    /// Damage and loss fail the shipment and need a replacement; a delay does not.
    pub fn needs_replacement(self) -> bool {
        matches!(self, ExceptionKind::Damage | ExceptionKind::Loss)
    }
}

/// A dealer's or agent's code (`D-SH-0001`): trimmed, upper-cased, 1–32 of `A–Z 0–9 -` (the
/// warehouse's rule, so that the codes it sends parse here).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DealerCode(String);

impl DealerCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.is_empty() {
            return Err("is required".into());
        }
        if t.len() <= 32 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            Ok(Self(t))
        } else {
            Err(format!(
                "{s:?} must be 1–32 letters, digits or '-', e.g. D-SH-0001"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for DealerCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a shipment goes or a pick-up happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Address {
    pub recipient: String,
    pub phone: String,
    pub address: String,
    pub region: Option<Region>,
    pub branch: String,
}

impl Address {
    /// What "the same destination" means for consolidation: the address without case and
    /// spacing differences, and the phone's digits.
    pub fn destination_key(&self) -> String {
        let address: Vec<String> = self
            .address
            .split_whitespace()
            .map(|w| w.to_lowercase())
            .collect();
        let phone: String = self.phone.chars().filter(char::is_ascii_digit).collect();
        format!("{}|{phone}", address.join(" "))
    }
}

/// A part line of a shipment: what the reservation holds for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub part_no: String,
    pub quantity: u32,
    /// Picked from VALUABLES: insured at its declared value.
    #[serde(default)]
    pub valuable: bool,
}

/// A line the warehouse issued, as a packing list and the insured value need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedLine {
    pub part_no: String,
    pub quantity: u32,
    /// Issued from VALUABLES.
    pub valuable: bool,
    /// Unit cost at issue, when the warehouse gave it.
    pub unit_cost_minor: Option<i64>,
}

/// A line of the packing list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedLine {
    pub part_no: String,
    pub quantity: u32,
    pub package_no: u32,
    pub name: String,
    pub specification: String,
}

/// An amount in minor units as people read it: `14.40 CNY`.
pub fn money_text(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", m / 100, m % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_both_spellings() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(*m));
            assert_eq!(Method::parse_text(m.text()), Some(*m));
        }
        assert_eq!(Region::parse_text(" Urban "), Some(Region::Urban));
        assert_eq!(
            TrackingStatus::parse_text("out_for_delivery"),
            Some(TrackingStatus::OutForDelivery)
        );
        assert_eq!(Urgency::parse_text("urgent"), None);
    }

    #[test]
    fn the_same_destination_ignores_case_spacing_and_phone_punctuation() {
        let a = Address {
            address: "88  Century Avenue, Pudong".into(),
            phone: "+86 138 0013 8000".into(),
            ..Default::default()
        };
        let b = Address {
            address: "88 century avenue, pudong ".into(),
            phone: "+86-138-0013-8000".into(),
            ..Default::default()
        };
        assert_eq!(a.destination_key(), b.destination_key());
    }

    #[test]
    fn dealer_codes_are_trimmed_upper_cased_and_bounded() {
        assert_eq!(
            DealerCode::parse(" d-sh-0001 ").unwrap().as_str(),
            "D-SH-0001"
        );
        for bad in ["", "  ", "D SH", "D_SH", &"D".repeat(33)] {
            assert!(DealerCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn money_reads_as_units_and_cents() {
        assert_eq!(money_text(1440, "CNY"), "14.40 CNY");
        assert_eq!(money_text(5, "CNY"), "0.05 CNY");
        assert_eq!(money_text(-250, "CNY"), "-2.50 CNY");
    }
}
