//! Claims-review's tables: the claims (the review queue), the decisions' idempotency keys, the
//! refunds and the dealers' (batches, old parts, statement entries and statements, consignments
//! shipped); the review deadlines' SLA clocks are the platform's tables (`sla`). Query functions
//! take the connection or transaction they run in; rows come back as domain types (no protobuf
//! here).

pub mod claims;
pub mod dealers;
pub mod refunds;

use aftersales_platform::db::{Migration, Migrations};

pub const MIGRATIONS: Migrations = Migrations {
    component: "claims",
    list: &[
        Migration {
            version: 1,
            name: "claims",
            sql: include_str!("store/migrations/0001_claims.sql"),
        },
        Migration {
            version: 2,
            name: "claims_as_json",
            sql: include_str!("store/migrations/0002_claims_as_json.sql"),
        },
        Migration {
            version: 3,
            name: "dealers",
            sql: include_str!("store/migrations/0003_dealers.sql"),
        },
        Migration {
            version: 4,
            name: "dealer_consignments",
            sql: include_str!("store/migrations/0004_dealer_consignments.sql"),
        },
    ],
};

/// Every migration this service runs, platform first.
pub const ALL_MIGRATIONS: &[Migrations] = &[
    aftersales_platform::db::PLATFORM,
    aftersales_platform::sla::MIGRATIONS,
    MIGRATIONS,
];
