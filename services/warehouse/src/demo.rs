//! Demo data for `make up` (DESIGN §11): the demo product models with their lifecycle, the demo
//! parts and their stock, booked through the service's own API (UpsertProductModel, UpsertPart,
//! ReceiveGoods, RecordInspection) with fixed idempotency keys, so seeding twice changes
//! nothing.

use std::time::Duration;

use aftersales_platform::auth::{Role, mint_hs256};
use aftersales_platform::grpc::{ClientInterceptor, channel};
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::proto::warehouse::v1::warehouse_service_client::WarehouseServiceClient;

struct Demo {
    part_no: &'static str,
    name: &'static str,
    class: pb::PartClass,
    cost_minor: i64,
    reorder_point: u32,
    stock: u32,
}

const DEMO: &[Demo] = &[
    Demo {
        part_no: "PWR-55-01",
        name: "TV power board 55\"",
        class: pb::PartClass::Unit,
        cost_minor: 18_000,
        reorder_point: 50,
        stock: 500,
    },
    Demo {
        part_no: "PNL-55-01",
        name: "TV panel 55\"",
        class: pb::PartClass::KeyPart,
        cost_minor: 120_000,
        reorder_point: 10,
        stock: 50,
    },
    Demo {
        part_no: "RMT-01",
        name: "Remote control",
        class: pb::PartClass::Accessory,
        cost_minor: 3_500,
        reorder_point: 20,
        stock: 0,
    },
];

/// The demo product models: the demo requests' TV in production, and one discontinued model
/// (the fill rate is judged by the model's lifecycle).
pub const DEMO_MODELS: &[(&str, &str, pb::ModelLifecycle, &str)] = &[
    (
        "X55",
        "TV 55\" X series",
        pb::ModelLifecycle::InProduction,
        "",
    ),
    (
        "X50",
        "TV 50\" X series (2021)",
        pb::ModelLifecycle::Discontinued,
        "2025-03-31",
    ),
];

/// The demo catalogue entry of a part (also used by tests).
pub fn demo_part(part_no: &str, name: &str, class: pb::PartClass, cost_minor: i64) -> pb::Part {
    pb::Part {
        part_no: part_no.into(),
        name: name.into(),
        spec: String::new(),
        unit: "pcs".into(),
        compatible_models: vec!["X55".into()],
        part_class: class as i32,
        valuable: false,
        unit_cost: Some(common::Money {
            currency: "CNY".into(),
            amount_minor: cost_minor,
        }),
        lifecycle: pb::Lifecycle::InProduction as i32,
        safety_stock: 0,
        reorder_point: 0,
        reorder_quantity: 0,
        abc_class: 0,
        created_at: None,
        updated_at: None,
        product_category: "television".into(),
    }
}

/// Seeds the warehouse at `addr` as a head-office admin signed with `secret`; returns what it
/// did, one line per model and per part.
pub async fn seed(addr: &str, secret: &str) -> anyhow::Result<Vec<String>> {
    let token = mint_hs256(
        secret,
        "demo-seeder",
        "*",
        &[Role::Admin],
        Duration::from_secs(600),
    )?;
    let mut client = WarehouseServiceClient::with_interceptor(
        channel(addr, Duration::from_secs(10))?,
        ClientInterceptor::with_token(&token)?,
    );
    let mut out = Vec::new();
    for (model, name, lifecycle, since) in DEMO_MODELS {
        client
            .upsert_product_model(pb::UpsertProductModelRequest {
                model: Some(pb::ProductModel {
                    model: (*model).into(),
                    name: (*name).into(),
                    product_category: "television".into(),
                    lifecycle: *lifecycle as i32,
                    discontinued_date: (*since).into(),
                    created_at: None,
                    updated_at: None,
                }),
            })
            .await?;
        out.push(if since.is_empty() {
            format!("model {model}: in production")
        } else {
            format!("model {model}: discontinued since {since}")
        });
    }
    for d in DEMO {
        let mut part = demo_part(d.part_no, d.name, d.class, d.cost_minor);
        part.reorder_point = d.reorder_point;
        part.reorder_quantity = d.reorder_point * 2;
        client
            .upsert_part(pb::UpsertPartRequest { part: Some(part) })
            .await?;
        if d.stock == 0 {
            out.push(format!("{}: in the catalogue, no stock", d.part_no));
            continue;
        }
        let receipt = client
            .receive_goods(pb::ReceiveGoodsRequest {
                idempotency_key: format!("demo-seed-{}", d.part_no),
                po_number: String::new(),
                supplier_id: String::new(),
                delivery_note: "DEMO".into(),
                lines: vec![pb::ReceiptLine {
                    part_no: d.part_no.into(),
                    quantity: d.stock,
                    ..Default::default()
                }],
                movement_date: String::new(),
            })
            .await?
            .into_inner()
            .receipt
            .unwrap_or_default();
        // Inspecting an inspected receipt with the same result returns it unchanged.
        client
            .record_inspection(pb::RecordInspectionRequest {
                idempotency_key: format!("demo-seed-inspection-{}", d.part_no),
                receipt_id: receipt.receipt_id.clone(),
                lines: vec![pb::InspectionLine {
                    part_no: d.part_no.into(),
                    passed: d.stock,
                    failed: 0,
                    failure_reason: String::new(),
                }],
            })
            .await?;
        out.push(format!(
            "{}: {} in QUALIFIED (receipt {})",
            d.part_no, d.stock, receipt.receipt_id
        ));
    }
    Ok(out)
}
