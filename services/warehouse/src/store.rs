//! The warehouse's tables: parts, product models, stock levels, the append-only ledger,
//! reservations (pick lists and back-orders), receipts, returned units, old parts, supplier
//! returns, closed periods, stocktakes, dealers' expected old parts and old-part batches,
//! turnover transfers and advance exchanges, and dealers' parts orders.
//! Query functions take the connection or transaction they run in. Migrations are plain SQL
//! compiled in; an applied one is never edited (its checksum would refuse to start).

pub mod dealer_orders;
pub mod dealer_parts;
pub mod exchanges;
pub mod models;
pub mod old_parts;
pub mod parts;
pub mod receipts;
pub mod reservations;
pub mod returns;
pub mod stock;
pub mod stocktakes;

use aftersales_platform::db::{Migration, Migrations};
use sea_orm::{DbBackend, Statement, Value};

pub const MIGRATIONS: Migrations = Migrations {
    component: "warehouse",
    list: &[
        Migration {
            version: 1,
            name: "ledger_and_reservations",
            sql: include_str!("store/migrations/0001_ledger_and_reservations.sql"),
        },
        Migration {
            version: 2,
            name: "stocktakes",
            sql: include_str!("store/migrations/0002_stocktakes.sql"),
        },
        Migration {
            version: 3,
            name: "returned_units",
            sql: include_str!("store/migrations/0003_returned_units.sql"),
        },
        Migration {
            version: 4,
            name: "old_parts",
            sql: include_str!("store/migrations/0004_old_parts.sql"),
        },
        Migration {
            version: 5,
            name: "ship_to_json",
            sql: include_str!("store/migrations/0005_ship_to_json.sql"),
        },
        Migration {
            version: 6,
            name: "replacement_reservations",
            sql: include_str!("store/migrations/0006_replacement_reservations.sql"),
        },
        Migration {
            version: 7,
            name: "returns_by_pickup",
            sql: include_str!("store/migrations/0007_returns_by_pickup.sql"),
        },
        Migration {
            version: 8,
            name: "product_models",
            sql: include_str!("store/migrations/0008_product_models.sql"),
        },
        Migration {
            version: 9,
            name: "returns_intake",
            sql: include_str!("store/migrations/0009_returns_intake.sql"),
        },
        Migration {
            version: 10,
            name: "dealer_old_parts",
            sql: include_str!("store/migrations/0010_dealer_old_parts.sql"),
        },
        Migration {
            version: 11,
            name: "advance_exchange",
            sql: include_str!("store/migrations/0011_advance_exchange.sql"),
        },
        Migration {
            version: 12,
            name: "dealer_orders",
            sql: include_str!("store/migrations/0012_dealer_orders.sql"),
        },
    ],
};

/// Every migration this service runs, platform first.
pub const ALL_MIGRATIONS: &[Migrations] = &[aftersales_platform::db::PLATFORM, MIGRATIONS];

pub(crate) fn stmt(sql: impl Into<String>, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

pub(crate) fn corrupt(what: &str, value: &str) -> sea_orm::DbErr {
    sea_orm::DbErr::Type(format!("stored {what} {value:?} is not valid"))
}
