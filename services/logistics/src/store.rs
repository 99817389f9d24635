//! Logistics' tables: requests (the per-request lock and the cancellation marker), shipments,
//! pick-ups, tracking updates, exceptions, parts issued before their plan, the sim carrier's
//! schedule, number sequences, and dealers' consignments (apart from requests and shipments). Query functions take the connection or transaction they run
//! in. Migrations are plain SQL compiled in; an applied one is never edited.

pub mod consignments;
pub mod exceptions;
pub mod issues;
pub mod numbers;
pub mod pickups;
pub mod requests;
pub mod shipments;
pub mod sim;
pub mod stats;
pub mod tracking;

use aftersales_platform::db::{Migration, Migrations};
use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, DbErr, Statement, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub const MIGRATIONS: Migrations = Migrations {
    component: "logistics",
    list: &[
        Migration {
            version: 1,
            name: "shipments",
            sql: include_str!("store/migrations/0001_shipments.sql"),
        },
        Migration {
            version: 2,
            name: "consignments",
            sql: include_str!("store/migrations/0002_consignments.sql"),
        },
    ],
};

/// Every migration this service runs, platform first.
pub const ALL_MIGRATIONS: &[Migrations] = &[aftersales_platform::db::PLATFORM, MIGRATIONS];

pub(crate) fn stmt(sql: impl Into<String>, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

pub(crate) fn corrupt(what: &str, value: &str) -> DbErr {
    DbErr::Type(format!("stored {what} {value:?} is not valid"))
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value, DbErr> {
    serde_json::to_value(v).map_err(|e| DbErr::Custom(format!("to JSON: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, v: serde_json::Value) -> Result<T, DbErr> {
    serde_json::from_value(v).map_err(|e| corrupt(what, &e.to_string()))
}

/// A stored enumeration's value.
pub(crate) fn parsed<T>(
    what: &str,
    s: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, DbErr> {
    parse(s).ok_or_else(|| corrupt(what, s))
}

pub(crate) fn ts(v: Option<DateTime<Utc>>) -> Value {
    v.into()
}
