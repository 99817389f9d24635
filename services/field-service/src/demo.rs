//! Demo data for `make up` (DESIGN §11): technicians in each demo branch, registered through
//! the service's own API by id (RegisterTechnician is idempotent by id), so seeding twice changes
//! nothing. A technician's token `sub` is their id: `make token ARGS="--sub T-SH01-001 --branch
//! SH01 --roles technician"` acts as the first Shanghai technician.

use std::time::Duration;

use aftersales_platform::auth::{Role, mint_hs256};
use aftersales_platform::grpc::{ClientInterceptor, channel};
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::field_service_service_client::FieldServiceServiceClient;

/// A demo technician.
pub struct DemoTechnician {
    pub id: &'static str,
    pub name: &'static str,
    pub phone: &'static str,
    pub branch: &'static str,
    pub skills: &'static [&'static str],
    pub territories: &'static [&'static str],
    pub regions: &'static [common::Region],
    pub daily_capacity: u32,
}

pub const TECHNICIANS: &[DemoTechnician] = &[
    DemoTechnician {
        id: "T-SH01-001",
        name: "Wang Lei",
        phone: "+86 139 1000 0001",
        branch: "SH01",
        skills: &["television", "air_conditioner"],
        territories: &["Pudong", "Century Avenue"],
        regions: &[common::Region::Urban, common::Region::Suburban],
        daily_capacity: 4,
    },
    DemoTechnician {
        id: "T-SH01-002",
        name: "Zhao Min",
        phone: "+86 139 1000 0002",
        branch: "SH01",
        skills: &["television", "phone"],
        territories: &["Xuhui", "Huangpu"],
        regions: &[common::Region::Urban],
        daily_capacity: 4,
    },
    DemoTechnician {
        id: "T-SH01-003",
        name: "Sun Hao",
        phone: "+86 139 1000 0003",
        branch: "SH01",
        skills: &["television", "washing_machine"],
        territories: &["Minhang", "Songjiang"],
        regions: &[common::Region::Suburban, common::Region::Remote],
        daily_capacity: 3,
    },
    DemoTechnician {
        id: "T-BJ02-001",
        name: "Liu Yang",
        phone: "+86 139 2000 0001",
        branch: "BJ02",
        skills: &["television", "air_conditioner"],
        territories: &["Chaoyang", "Dongcheng"],
        regions: &[common::Region::Urban],
        daily_capacity: 4,
    },
    DemoTechnician {
        id: "T-BJ02-002",
        name: "Chen Jing",
        phone: "+86 139 2000 0002",
        branch: "BJ02",
        skills: &["television", "phone"],
        territories: &["Haidian", "Xicheng"],
        regions: &[common::Region::Urban, common::Region::Suburban],
        daily_capacity: 4,
    },
    DemoTechnician {
        id: "T-GZ03-001",
        name: "Huang Wei",
        phone: "+86 139 3000 0001",
        branch: "GZ03",
        skills: &["television", "air_conditioner"],
        territories: &["Panyu", "Huadu"],
        regions: &[common::Region::Suburban, common::Region::Remote],
        daily_capacity: 4,
    },
    DemoTechnician {
        id: "T-GZ03-002",
        name: "Lin Fang",
        phone: "+86 139 3000 0002",
        branch: "GZ03",
        skills: &["television", "washing_machine"],
        territories: &["Baiyun", "Tianhe"],
        regions: &[common::Region::Urban, common::Region::Suburban],
        daily_capacity: 3,
    },
];

/// The registration of a demo technician.
pub fn registration(d: &DemoTechnician) -> pb::RegisterTechnicianRequest {
    pb::RegisterTechnicianRequest {
        technician: Some(pb::Technician {
            technician_id: d.id.into(),
            name: d.name.into(),
            phone: d.phone.into(),
            branch: d.branch.into(),
            skills: d.skills.iter().map(|s| (*s).to_owned()).collect(),
            territories: d.territories.iter().map(|s| (*s).to_owned()).collect(),
            regions: d.regions.iter().map(|r| *r as i32).collect(),
            daily_capacity: d.daily_capacity,
            active: true,
            created_at: None,
            updated_at: None,
        }),
    }
}

/// Seeds field-service at `addr` as a head-office admin signed with `secret`; returns what it
/// did, one line per technician.
pub async fn seed(addr: &str, secret: &str) -> anyhow::Result<Vec<String>> {
    let token = mint_hs256(
        secret,
        "demo-seeder",
        "*",
        &[Role::Admin],
        Duration::from_secs(600),
    )?;
    let mut client = FieldServiceServiceClient::with_interceptor(
        channel(addr, Duration::from_secs(10))?,
        ClientInterceptor::with_token(&token)?,
    );
    let mut out = Vec::new();
    for d in TECHNICIANS {
        let r = client
            .register_technician(registration(d))
            .await?
            .into_inner();
        out.push(format!(
            "{} {} ({}, {}): {}",
            d.id,
            d.name,
            d.branch,
            d.skills.join(", "),
            if r.created { "registered" } else { "unchanged" }
        ));
    }
    Ok(out)
}
