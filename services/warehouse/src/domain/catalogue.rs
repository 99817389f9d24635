//! A catalogue entry as a caller gives it: what the part is, how it is classed, what one unit
//! costs. The catalogue itself keeps the rest (its ABC class, when it was created and changed).

use super::stock::{PartNo, stored_enum};

stored_enum!(
    /// What kind of thing the part is (key parts are tracked by serial at the counter).
    PartClass { Unit = "UNIT", KeyPart = "KEY_PART", Accessory = "ACCESSORY", Consumable = "CONSUMABLE" }
);

stored_enum!(
    /// Whether the part is still made; procurement reorders discontinued parts differently.
    Lifecycle {
        InProduction = "IN_PRODUCTION",
        SemiDiscontinued = "SEMI_DISCONTINUED",
        Discontinued = "DISCONTINUED",
    }
);

/// An amount in minor units (fen, cents) of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub currency: String,
    pub amount_minor: i64,
}

impl Money {
    /// Three upper-case letters, e.g. CNY.
    pub fn currency(s: &str) -> Result<String, String> {
        let ok = s.len() == 3 && s.chars().all(|c| c.is_ascii_uppercase());
        if ok {
            Ok(s.to_owned())
        } else {
            Err("must be an ISO 4217 code such as CNY".into())
        }
    }

    /// A unit cost is never negative.
    pub fn cost(amount_minor: i64) -> Result<i64, String> {
        if amount_minor < 0 {
            Err("must not be negative".into())
        } else {
            Ok(amount_minor)
        }
    }
}

/// A part as UpsertPart gives it. Upserting the same entry twice changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSpec {
    pub part_no: PartNo,
    pub name: String,
    pub spec: String,
    pub unit: String,
    pub compatible_models: Vec<String>,
    pub part_class: PartClass,
    /// Valuable parts live only in VALUABLES.
    pub valuable: bool,
    pub unit_cost: Money,
    pub lifecycle: Lifecycle,
    pub safety_stock: i64,
    pub reorder_point: i64,
    pub reorder_quantity: i64,
    pub product_category: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_cost_is_a_known_currency_and_not_negative() {
        assert!(Money::currency("CNY").is_ok());
        assert!(Money::currency("yuan").is_err());
        assert!(Money::currency("cny").is_err());
        assert!(Money::cost(-1).is_err());
        assert_eq!(Money::cost(0), Ok(0));
    }

    #[test]
    fn classes_and_lifecycles_round_trip_through_their_storage_names() {
        for c in PartClass::ALL {
            assert_eq!(PartClass::parse(c.as_str()), Some(*c));
        }
        for l in Lifecycle::ALL {
            assert_eq!(Lifecycle::parse(l.as_str()), Some(*l));
        }
    }
}
