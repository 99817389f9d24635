//! Demo data for `make up`: a few requests from the demo branches (DESIGN §11), submitted through
//! the service's own API with fixed idempotency keys, so seeding twice changes nothing.

use std::time::Duration;

use aftersales_platform::auth::{Role, mint_hs256};
use aftersales_platform::grpc::{ClientInterceptor, channel};
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as pb;
use aftersales_platform::proto::intake::v1::intake_service_client::IntakeServiceClient;

struct Demo {
    branch: &'static str,
    kind: common::RequestKind,
    /// Days since the customer bought the product.
    bought_days_ago: i64,
    region: common::Region,
    customer: &'static str,
    phone: &'static str,
    part: &'static str,
    fault: &'static str,
    /// Where the demo customer's messages go (`make up`'s SMTP sink shows the e-mails; the SMS
    /// go to intake's log provider).
    email: &'static str,
    language: &'static str,
    channel: pb::ContactChannel,
}

/// One request per demo branch, each for a demo part (the third one is out of stock), and a
/// return within the 7-day window: the reviewer asks for the original payment, the unit is
/// picked up at the door, inspected at the returns intake and refunded.
const DEMO: &[Demo] = &[
    Demo {
        branch: "SH01",
        kind: common::RequestKind::Replacement,
        bought_days_ago: 40,
        region: common::Region::Urban,
        customer: "Li Wei",
        phone: "+86 138 0013 8000",
        part: "PWR-55-01",
        fault: "no picture, standby light blinks",
        email: "li.wei@example.com",
        language: "en",
        channel: pb::ContactChannel::Email,
    },
    Demo {
        branch: "BJ02",
        kind: common::RequestKind::Replacement,
        bought_days_ago: 40,
        region: common::Region::Urban,
        customer: "Wang Fang",
        phone: "+86 139 1000 2000",
        part: "PNL-55-01",
        fault: "vertical lines across the panel",
        email: "wang.fang@example.com",
        language: "zh-CN",
        channel: pb::ContactChannel::Email,
    },
    Demo {
        branch: "GZ03",
        kind: common::RequestKind::Replacement,
        bought_days_ago: 40,
        region: common::Region::Suburban,
        customer: "Chen Jie",
        phone: "+86 137 2000 3000",
        part: "RMT-01",
        fault: "remote control lost its buttons",
        email: "",
        language: "zh-CN",
        channel: pb::ContactChannel::Sms,
    },
    Demo {
        branch: "SH01",
        kind: common::RequestKind::Return,
        bought_days_ago: 3,
        region: common::Region::Urban,
        customer: "Zhao Min",
        phone: "+86 136 5000 6000",
        part: "PWR-55-01",
        fault: "picture flickers from the first day; the customer wants the money back",
        email: "zhao.min@example.com",
        language: "zh-CN",
        channel: pb::ContactChannel::Email,
    },
];

/// Submits the demo requests to the intake at `addr`, as a head-office agent signed with
/// `secret`. Returns the tracking numbers.
pub async fn seed(addr: &str, secret: &str) -> anyhow::Result<Vec<String>> {
    let token = mint_hs256(
        secret,
        "demo-seeder",
        "*",
        &[Role::Admin],
        Duration::from_secs(600),
    )?;
    let mut client = IntakeServiceClient::with_interceptor(
        channel(addr, Duration::from_secs(10))?,
        ClientInterceptor::with_token(&token)?,
    );
    let today = chrono::Utc::now().date_naive();
    let made = (today - chrono::Duration::days(120)).to_string();
    let mut numbers = Vec::new();
    for (i, d) in DEMO.iter().enumerate() {
        let branch = d.branch;
        let bought = (today - chrono::Duration::days(d.bought_days_ago)).to_string();
        let req = pb::SubmitRequestRequest {
            idempotency_key: format!("demo-seed-{i}"),
            branch: branch.into(),
            channel: common::Channel::Hotline as i32,
            kind: d.kind as i32,
            urgency: common::Urgency::Normal as i32,
            customer: Some(common::Customer {
                name: d.customer.into(),
                phone: d.phone.into(),
                address: format!("Demo address {}, {branch}", i + 1),
                region: d.region as i32,
                email: d.email.into(),
            }),
            product: Some(common::Product {
                category: "television".into(),
                model: "X55".into(),
                serial: format!("SNDEMO{:04}", i + 1),
                purchase_date: bought.clone(),
                invoice_no: format!("INV-DEMO-{}", i + 1),
                invoice_date: bought.clone(),
                receipt_date: String::new(),
                factory_date: made.clone(),
                service_contract_no: String::new(),
            }),
            fault_description: d.fault.into(),
            photos: vec![],
            parts: vec![common::PartLine {
                part_no: d.part.into(),
                quantity: 1,
            }],
            misuse_suspected: false,
            notifications: Some(pb::NotificationPreferences {
                language: d.language.into(),
                channel: d.channel as i32,
                opt_out: false,
            }),
        };
        let res = client.submit_request(req).await?.into_inner();
        numbers.push(res.request.map(|r| r.request_no).unwrap_or_default());
    }
    Ok(numbers)
}

/// A branch agent's token for trying the API by hand.
pub fn demo_token(secret: &str, branch: &str) -> anyhow::Result<String> {
    mint_hs256(
        secret,
        &format!("demo-agent-{}", branch.to_lowercase()),
        branch,
        &[Role::BranchAgent],
        Duration::from_secs(12 * 3600),
    )
}
