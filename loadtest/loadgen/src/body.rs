//! The submission (DESIGN §8; the same as loadtest/lib/common.js), as the gateway's JSON and as
//! intake's protobuf, and one token per branch.

use std::time::Duration;

use aftersales_platform::auth::{Role, mint_hs256};
use aftersales_proto::common::v1 as common;
use aftersales_proto::intake::v1 as pb;

/// The part the demo data stocks, which every submission asks for unless told otherwise.
pub const DEMO_PART: &str = "PWR-55-01";

/// Branch `i` of `n`: B001..Bnnn, so the load spreads over branches the way many regional
/// branches do (each branch has its own tracking-number sequence row).
pub fn branch(i: u64, n: usize) -> String {
    format!("B{:03}", (i % n.max(1) as u64) + 1)
}

/// A branch agent's token for each branch, in branch order.
pub fn tokens(secret: &str, branches: usize) -> anyhow::Result<Vec<String>> {
    (0..branches as u64)
        .map(|i| {
            let b = branch(i, branches);
            mint_hs256(
                secret,
                &format!("loadgen-{b}"),
                &b,
                &[Role::BranchAgent],
                Duration::from_secs(6 * 3600),
            )
        })
        .collect()
}

fn serial(n: u64) -> String {
    format!("SN{:09}", n.wrapping_mul(2_654_435_761) % 1_000_000_000)
}

/// Customer `n`'s address. Each request goes to a door of its own, as a department's requests
/// do: with one address for all, logistics consolidated every shipment of the day into one
/// (one plan at a time per destination and day), and the whole-mesh figure measured that one
/// lock instead of the departments.
pub fn address(n: u64) -> String {
    format!("{} Test Road", n + 1)
}

pub fn json(branch: &str, n: u64, part_no: &str) -> Vec<u8> {
    serde_json::json!({
        "branch": branch,
        "channel": "hotline",
        "kind": "replacement",
        "urgency": "normal",
        "customer": { "name": "Load Test", "phone": "+86 138 0013 8000", "address": address(n), "region": "urban" },
        "product": {
            "category": "television", "model": "X55", "serial": serial(n),
            "purchase_date": "2026-10-02", "invoice_no": "INV-9", "invoice_date": "2026-10-02",
            "factory_date": "2026-08-15"
        },
        "fault_description": "no picture",
        "photos": [],
        "parts": [ { "part_no": part_no, "quantity": 1 } ]
    })
    .to_string()
    .into_bytes()
}

pub fn proto(branch: &str, n: u64, key: String) -> pb::SubmitRequestRequest {
    pb::SubmitRequestRequest {
        idempotency_key: key,
        branch: branch.to_owned(),
        channel: common::Channel::Hotline as i32,
        kind: common::RequestKind::Replacement as i32,
        urgency: common::Urgency::Normal as i32,
        customer: Some(common::Customer {
            name: "Load Test".into(),
            phone: "+86 138 0013 8000".into(),
            address: address(n),
            region: common::Region::Urban as i32,
            ..Default::default()
        }),
        product: Some(common::Product {
            category: "television".into(),
            model: "X55".into(),
            serial: serial(n),
            purchase_date: "2026-10-02".into(),
            invoice_no: "INV-9".into(),
            invoice_date: "2026-10-02".into(),
            factory_date: "2026-08-15".into(),
            ..Default::default()
        }),
        fault_description: "no picture".into(),
        photos: vec![],
        parts: vec![common::PartLine {
            part_no: "PWR-55-01".into(),
            quantity: 1,
        }],
        misuse_suspected: false,
        notifications: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_cycle_through_the_configured_number() {
        assert_eq!(branch(0, 20), "B001");
        assert_eq!(branch(19, 20), "B020");
        assert_eq!(branch(20, 20), "B001");
    }

    #[test]
    fn the_json_body_is_the_documented_shape() {
        let v: serde_json::Value = serde_json::from_slice(&json("B001", 7, "PWR-55-01")).unwrap();
        assert_eq!(v["parts"][0]["part_no"], "PWR-55-01");
        assert_eq!(v["customer"]["region"], "urban");
        assert_eq!(v["customer"]["address"], "8 Test Road");
        assert_ne!(address(7), address(8), "each request a door of its own");
        assert_eq!(v["product"]["serial"].as_str().unwrap().len(), 11);
    }
}
