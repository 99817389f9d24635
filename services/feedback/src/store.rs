//! Feedback's tables. Its own state: `cases` (the row that serializes a request's visits with its
//! cancellation), `visits`, `surveys`, `complaints`, `commands` (idempotency keys) and
//! `assessment_entries`. The `event_log` of every envelope consumed or produced (append-only), and
//! the KPI read model (`rm_*`) projected from it, which can be dropped and rebuilt. Query
//! functions take the connection or transaction they run in; rows come back as domain types.
//! Migrations are plain SQL compiled in; an applied one is never edited.

pub mod assessments;
pub mod cases;
pub mod commands;
pub mod complaints;
pub mod log;
pub mod readmodel;
pub mod surveys;
pub mod visits;

use aftersales_platform::db::{Migration, Migrations};
use sea_orm::{DbBackend, Statement, Value};

pub const MIGRATIONS: Migrations = Migrations {
    component: "feedback",
    list: &[
        Migration {
            version: 1,
            name: "feedback",
            sql: include_str!("store/migrations/0001_feedback.sql"),
        },
        Migration {
            version: 2,
            name: "event_log_and_read_model",
            sql: include_str!("store/migrations/0002_event_log_and_read_model.sql"),
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

/// A list of strings as a JSONB value.
pub(crate) fn json_list(items: &[String]) -> Value {
    serde_json::Value::from(items.to_vec()).into()
}

/// A JSONB list of strings back (anything else reads as empty).
pub(crate) fn list_of(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
