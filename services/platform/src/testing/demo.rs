//! The demo customer and product every service's tests use (DESIGN §11): one television with
//! an invoice, bought recently enough to be in warranty, needing a power board. One place, so the
//! services' test helpers keep only their own fixtures.

use aftersales_proto::common::v1 as common;
use aftersales_proto::intake::v1 as intake;

/// Li Wei in Shanghai (urban).
pub fn customer() -> common::Customer {
    common::Customer {
        name: "Li Wei".into(),
        phone: "+86 138 0013 8000".into(),
        address: "88 Century Avenue, Pudong, Shanghai".into(),
        region: common::Region::Urban as i32,
        email: String::new(),
    }
}

/// An X55 television bought (and invoiced) on `bought` (`YYYY-MM-DD`).
pub fn television(bought: &str) -> common::Product {
    common::Product {
        category: "television".into(),
        model: "X55".into(),
        serial: "SN12345678".into(),
        purchase_date: bought.into(),
        invoice_no: "INV-9".into(),
        invoice_date: bought.into(),
        receipt_date: String::new(),
        factory_date: "2026-08-15".into(),
        service_contract_no: String::new(),
    }
}

/// One power board.
pub fn power_board() -> Vec<common::PartLine> {
    vec![common::PartLine {
        part_no: "PWR-55-01".into(),
        quantity: 1,
    }]
}

/// A complete, valid submission to intake for `branch` (a fresh idempotency key).
pub fn submission(branch: &str) -> intake::SubmitRequestRequest {
    intake::SubmitRequestRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        branch: branch.into(),
        channel: common::Channel::Hotline as i32,
        kind: common::RequestKind::Replacement as i32,
        urgency: common::Urgency::Normal as i32,
        customer: Some(customer()),
        product: Some(television("2026-10-02")),
        fault_description: "no picture".into(),
        photos: vec!["https://photos.example/1.jpg".into()],
        parts: power_board(),
        misuse_suspected: false,
        notifications: None,
    }
}
