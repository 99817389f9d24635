//! Dealers' parts orders: parsing the requests, answering with orders.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use aftersales_platform::ids::Phone;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use crate::domain::{Address, BranchCode, DealerCode, PartLine, PartNo, Quantity};
use crate::service::CreateDealerOrder;
use crate::store::dealer_orders::DealerOrder;
use crate::wire;

/// More lines than a workshop's order has; a bigger one is a mistake.
const MAX_LINES: usize = 50;
/// More units of one part than a workshop orders at once.
const MAX_QUANTITY: u32 = 1000;

impl TryFrom<&pb::CreateDealerOrderRequest> for CreateDealerOrder {
    type Error = Invalid;

    fn try_from(m: &pb::CreateDealerOrderRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let dealer = v.check("dealer_code", DealerCode::parse(&m.dealer_code));
        let branch = v.check("branch", BranchCode::parse(&m.branch));
        let reference = v.check("dealer_reference", optional_text(&m.dealer_reference, 100));
        if m.lines.is_empty() {
            v.add("lines", "at least one line is required");
        }
        if m.lines.len() > MAX_LINES {
            v.add("lines", format!("at most {MAX_LINES} lines"));
        }
        let mut first_line: HashMap<String, usize> = HashMap::new();
        let mut lines = Vec::new();
        for (i, l) in m.lines.iter().enumerate() {
            let part_no = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no));
            let quantity = v.check(
                format!("lines[{i}].quantity"),
                Quantity::parse(l.quantity).and_then(|q| {
                    if q.get() > MAX_QUANTITY {
                        Err(format!("must be at most {MAX_QUANTITY}"))
                    } else {
                        Ok(q)
                    }
                }),
            );
            if let Some(p) = &part_no {
                match first_line.entry(p.as_str().to_owned()) {
                    Entry::Occupied(first) => v.add(
                        format!("lines[{i}].part_no"),
                        format!(
                            "{p} is on lines[{}] already: one line per part",
                            first.get()
                        ),
                    ),
                    Entry::Vacant(e) => {
                        e.insert(i);
                    }
                }
            }
            if let (Some(part_no), Some(quantity)) = (part_no, quantity) {
                lines.push(PartLine { part_no, quantity });
            }
        }
        let ship_to = ship_to(&mut v, m.ship_to.as_ref());
        v.done(|| {
            Some(CreateDealerOrder {
                idempotency_key: key?,
                dealer_code: dealer?,
                branch: branch?,
                lines,
                ship_to: ship_to?,
                dealer_reference: reference?,
            })
        })
    }
}

/// Where a dealer's parts go: a carrier needs whom to hand them to, a number to call and the
/// address.
fn ship_to(v: &mut Violations, a: Option<&common::Address>) -> Option<Address> {
    let Some(a) = a else {
        v.add(
            "ship_to",
            "is required: the recipient, phone and address the parts go to",
        );
        return None;
    };
    let recipient = v.check("ship_to.recipient", required_text(&a.recipient, 200));
    let phone = v.check(
        "ship_to.phone",
        Phone::parse(&a.phone).map(|p| p.as_str().to_owned()),
    );
    let address = v.check("ship_to.address", required_text(&a.address, 500));
    let branch = v.check(
        "ship_to.branch",
        match a.branch.trim() {
            "" => Ok(String::new()),
            b => BranchCode::parse(b).map(BranchCode::into_string),
        },
    );
    if common::Region::try_from(a.region).is_err() {
        v.add("ship_to.region", format!("{} is not a region", a.region));
    }
    let mut parsed = wire::address_from(a);
    parsed.recipient = recipient?;
    parsed.phone = phone?;
    parsed.address = address?;
    parsed.branch = branch?;
    Some(parsed)
}

/// The (field, part number) of every line whose part number parses: those the catalogue must
/// know.
pub fn part_nos(m: &pb::CreateDealerOrderRequest) -> Vec<(String, PartNo)> {
    (m.lines.iter().enumerate())
        .filter_map(|(i, l)| {
            PartNo::parse(&l.part_no)
                .ok()
                .map(|p| (format!("lines[{i}].part_no"), p))
        })
        .collect()
}

/// A dealer order id (`DO-…`).
pub fn order_id(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("is required".into());
    }
    if t.len() > 64 || !t.starts_with("DO-") {
        return Err(format!("{s:?} is not a dealer order id (DO-…)"));
    }
    Ok(t.to_owned())
}

pub fn order_to_proto(o: &DealerOrder) -> pb::DealerOrder {
    pb::DealerOrder {
        order_id: o.order_id.clone(),
        dealer_code: o.dealer_code.clone(),
        branch: o.branch.clone(),
        lines: o
            .lines
            .iter()
            .map(|l| pb::DealerOrderLine {
                part_no: l.part_no.clone(),
                quantity: l.quantity as u32,
                zone: wire::zone(l.zone),
                unit_cost: Some(wire::money(&l.unit_cost_currency, l.unit_cost_minor)),
            })
            .collect(),
        ship_to: Some(wire::address(&o.ship_to)),
        value: Some(wire::money(&o.value_currency, o.value_minor)),
        issued_at: Some(wire::timestamp(o.issued_at)),
        created_by: o.created_by.clone(),
        dealer_reference: o.dealer_reference.clone(),
    }
}
