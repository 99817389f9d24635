//! What the warehouse keeps of a request it reserves for: the kind of job and where its parts go,
//! copied from the approval into the confirmation that logistics plans the shipment from.

use serde::{Deserialize, Serialize};

use super::stock::stored_enum;

stored_enum!(
    /// The job the parts are for.
    RequestKind {
        Replacement = "REPLACEMENT",
        Repair = "REPAIR",
        Return = "RETURN",
        Exchange = "EXCHANGE",
        Installation = "INSTALLATION",
    }
);

stored_enum!(
    /// The customer's region: it decides the delivery method.
    Region { Urban = "URBAN", Suburban = "SUBURBAN", Remote = "REMOTE" }
);

/// Where a request's parts go. The warehouse does not own addresses: it keeps the one claims
/// approved as it came, to hand it on, and checks nothing in it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Address {
    pub recipient: String,
    pub phone: String,
    pub address: String,
    /// `None` when the approval did not say.
    pub region: Option<Region>,
    pub branch: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_stored_as_json_with_the_region_by_name() {
        let a = Address {
            recipient: "Li Wei".into(),
            phone: "+86 138 0013 8000".into(),
            address: "88 Century Avenue".into(),
            region: Some(Region::Urban),
            branch: "SH01".into(),
        };
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["region"], "URBAN");
        assert_eq!(serde_json::from_value::<Address>(json).unwrap(), a);
    }
}
