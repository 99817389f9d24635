//! The service's tables: technicians, work orders (with their history, quotation and change
//! log inside), appointments (the slot bookings, unique per technician and window), the
//! markers of cancelled and delivered requests, tool loans and idempotency keys. Query
//! functions take the connection or transaction they run in. Migrations are plain SQL compiled
//! in; an applied one is never edited (its checksum would refuse to start).

pub mod appointments;
pub mod idempotency;
pub mod markers;
pub mod technicians;
pub mod tools;
pub mod work_orders;

use aftersales_platform::db::{Migration, Migrations};
use sea_orm::{DbBackend, Statement, Value};

pub const MIGRATIONS: Migrations = Migrations {
    component: "field_service",
    list: &[Migration {
        version: 1,
        name: "field_service",
        sql: include_str!("store/migrations/0001_field_service.sql"),
    }],
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

/// The advisory-lock class of requests (the two-key form, so it never meets the single-key
/// locks of migrations and scanners). "FSRQ".
const REQUEST_LOCK_CLASS: i32 = 0x4653_5251;

/// Takes the request's lock until the transaction ends. Every handler that decides what the
/// service holds for a request (approval, cancellation, delivery, follow-up) takes it first, so
/// they run one at a time per request and each sees what the one before committed, whether or
/// not a work order exists yet.
pub async fn lock_request<C: sea_orm::ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<(), sea_orm::DbErr> {
    conn.execute_raw(stmt(
        "SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
        [REQUEST_LOCK_CLASS.into(), request_no.into()],
    ))
    .await?;
    Ok(())
}
