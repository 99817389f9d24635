//! Procurement's tables: the supplier register and qualifications, quotes, purchase orders and
//! their lines, requests and their demands (what must be bought, and the cancellation marker),
//! receipts against POs, field failures, and the last low-stock signal per part. Query
//! functions take the connection or transaction they run in. Migrations are plain SQL compiled
//! in; an applied one is never edited (its checksum would refuse to start).
//!
//! Lock order, the same everywhere so that no two transactions wait on each other in a circle:
//! a request's row ([`demands::lock_request`]) → the parts' advisory locks in part-number order
//! ([`demands::lock_parts`]) → purchase orders in PO-number order → the supplier row.

pub mod demands;
pub mod orders;
pub mod quotes;
pub mod receipts;
pub mod suppliers;

use aftersales_platform::db::{Migration, Migrations};
use sea_orm::{DbBackend, Statement, Value};

pub const MIGRATIONS: Migrations = Migrations {
    component: "procurement",
    list: &[
        Migration {
            version: 1,
            name: "procurement",
            sql: include_str!("store/migrations/0001_procurement.sql"),
        },
        Migration {
            version: 2,
            name: "demands_by_backorder",
            sql: include_str!("store/migrations/0002_demands_by_backorder.sql"),
        },
    ],
};

/// Every migration this service runs, platform first.
pub const ALL_MIGRATIONS: &[Migrations] = &[
    aftersales_platform::db::PLATFORM,
    aftersales_platform::sla::MIGRATIONS,
    MIGRATIONS,
];

pub(crate) fn stmt(sql: impl Into<String>, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

pub(crate) fn corrupt(what: &str, value: &str) -> sea_orm::DbErr {
    sea_orm::DbErr::Type(format!("stored {what} {value:?} is not valid"))
}

/// A JSON column read back into its type.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    v: serde_json::Value,
) -> Result<T, sea_orm::DbErr> {
    serde_json::from_value(v).map_err(|e| sea_orm::DbErr::Type(format!("stored {what}: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}
