//! Demo data for `make up` (DESIGN §11): two ACTIVE suppliers quoting each demo part
//! (PWR-55-01, PNL-55-01, RMT-01), registered through the service's own API with fixed ids and
//! idempotency keys, so seeding twice changes nothing and the demo RMT-01 shortage gets a PO
//! without a person. Quotes are valid from the first of the current month for a year; seeding in
//! a later month adds that month's quotes, which supersede the older ones.

use std::time::Duration;

use aftersales_platform::auth::{Role, mint_hs256};
use aftersales_platform::grpc::{ClientInterceptor, channel};
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::proto::procurement::v1::procurement_service_client::ProcurementServiceClient;
use chrono::{Datelike, NaiveDate};

pub struct DemoSupplier {
    pub supplier_id: &'static str,
    pub name: &'static str,
    pub contact: &'static str,
    pub phone: &'static str,
    pub lead_time_days: u32,
    /// (part, unit price in fen, lead time in working days)
    pub quotes: &'static [(&'static str, i64, u32)],
}

pub const DEMO_PARTS: [&str; 3] = ["PWR-55-01", "PNL-55-01", "RMT-01"];

pub const SUPPLIERS: &[DemoSupplier] = &[
    DemoSupplier {
        supplier_id: "SUP-HUAXIN",
        name: "Shenzhen Huaxin Electronics",
        contact: "Chen Jie",
        phone: "+86 755 8888 1001",
        lead_time_days: 5,
        quotes: &[
            ("PWR-55-01", 17_500, 5),
            ("PNL-55-01", 118_000, 10),
            ("RMT-01", 3_300, 3),
        ],
    },
    DemoSupplier {
        supplier_id: "SUP-MINGDA",
        name: "Dongguan Mingda Components",
        contact: "Wang Fang",
        phone: "+86 769 2233 4455",
        lead_time_days: 7,
        quotes: &[
            ("PWR-55-01", 18_200, 4),
            ("PNL-55-01", 121_000, 8),
            ("RMT-01", 3_100, 5),
        ],
    },
];

fn money(minor: i64) -> Option<common::Money> {
    Some(common::Money {
        currency: "CNY".into(),
        amount_minor: minor,
    })
}

/// Seeds the procurement service at `addr` as a head-office admin signed with `secret`, as of
/// `today`; returns what it did, one line per supplier and quote.
pub async fn seed(addr: &str, secret: &str) -> anyhow::Result<Vec<String>> {
    seed_as_of(addr, secret, chrono::Utc::now().date_naive()).await
}

pub async fn seed_as_of(addr: &str, secret: &str, today: NaiveDate) -> anyhow::Result<Vec<String>> {
    let token = mint_hs256(
        secret,
        "demo-seeder",
        "*",
        &[Role::Admin],
        Duration::from_secs(600),
    )?;
    let mut client = ProcurementServiceClient::with_interceptor(
        channel(addr, Duration::from_secs(10))?,
        ClientInterceptor::with_token(&token)?,
    );
    let from = today.with_day(1).unwrap_or(today);
    let until = from
        .checked_add_months(chrono::Months::new(12))
        .unwrap_or(from)
        .pred_opt()
        .unwrap_or(from);
    let mut out = Vec::new();
    for s in SUPPLIERS {
        let registered = client
            .register_supplier(pb::RegisterSupplierRequest {
                idempotency_key: format!("demo-seed-{}", s.supplier_id),
                supplier: Some(pb::Supplier {
                    supplier_id: s.supplier_id.into(),
                    name: s.name.into(),
                    contact_name: s.contact.into(),
                    phone: s.phone.into(),
                    part_nos: DEMO_PARTS.iter().map(|p| (*p).to_owned()).collect(),
                    lead_time_days: s.lead_time_days,
                    certifications: vec!["ISO 9001".into()],
                    contract: Some(pb::SupplierContract {
                        contract_no: format!("FC-{}", s.supplier_id),
                        specification: "TV spare parts to the manufacturer's drawings".into(),
                        quality_standard: "AQL 1.0, incoming inspection by the warehouse".into(),
                        delivery_period_days: s.lead_time_days,
                        price_terms: "per current quote".into(),
                        payment_terms: "30 days after receipt".into(),
                        after_sales_terms: "failed units replaced free within 12 months".into(),
                        valid_from_date: String::new(),
                        valid_until_date: String::new(),
                    }),
                    qualification: Some(pb::SupplierQualification {
                        reputation_bp: 9_000,
                        quality_bp: 9_000,
                        capacity_bp: 8_500,
                        price_bp: 8_500,
                        evaluated_on: "2026-01-15".into(),
                        note: "demo supplier".into(),
                    }),
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .supplier
            .unwrap_or_default();
        out.push(format!(
            "supplier {} ({}): {}",
            registered.supplier_id,
            registered.name,
            pb::SupplierStatus::try_from(registered.status)
                .map(|s| s.as_str_name())
                .unwrap_or("?")
        ));
        for (part, price, lead) in s.quotes {
            let q = client
                .submit_quote(pb::SubmitQuoteRequest {
                    idempotency_key: format!("demo-seed-{}-{part}-{from}", s.supplier_id),
                    quote: Some(pb::Quote {
                        supplier_id: s.supplier_id.into(),
                        part_no: (*part).into(),
                        unit_price: money(*price),
                        min_quantity: 1,
                        lead_time_days: *lead,
                        valid_from_date: from.to_string(),
                        valid_until_date: until.to_string(),
                        supplier_ref: format!("{}-{part}-{}", s.supplier_id, from.format("%Y%m")),
                        ..Default::default()
                    }),
                })
                .await?
                .into_inner()
                .quote
                .unwrap_or_default();
            out.push(format!(
                "  quote {} {part}: {}.{:02} CNY, {lead} working days, valid {from} to {until}",
                q.quote_id,
                price / 100,
                price % 100
            ));
        }
    }
    Ok(out)
}
