//! Postgres: a pooled connection, and migrations applied under a transaction-scoped advisory
//! lock so that several replicas may start at once (the first applies, the others wait, then
//! find nothing to do). Session-level locks are never taken through the pool: they would stay
//! held by whichever pooled connection took them.
//!
//! Migrations are plain SQL compiled into the binary, grouped by component (`platform` for the
//! outbox and idempotency tables, then the service's own). Each is applied once, in its own
//! transaction together with its bookkeeping row; an applied migration whose text changed is an
//! error, never silently re-run.

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    TransactionTrait,
};
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;

/// One migration: its version orders it within its component.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The migrations of one component.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub component: &'static str,
    pub list: &'static [Migration],
}

/// The platform's own tables: the outbox, its per-subject sequences, processed events, each
/// request's first trace.
pub const PLATFORM: Migrations = Migrations {
    component: "platform",
    list: &[
        Migration {
            version: 1,
            name: "outbox_and_processed_events",
            sql: include_str!("../migrations/0001_outbox_and_processed_events.sql"),
        },
        Migration {
            version: 2,
            name: "outbox_quarantine",
            sql: include_str!("../migrations/0002_outbox_quarantine.sql"),
        },
        Migration {
            version: 3,
            name: "request_traces",
            sql: include_str!("../migrations/0003_request_traces.sql"),
        },
        Migration {
            version: 4,
            name: "outbox_baggage",
            sql: include_str!("../migrations/0004_outbox_baggage.sql"),
        },
    ],
};

/// Arbitrary constant: the advisory lock key every service's migrator takes.
const MIGRATION_LOCK_KEY: i64 = 0x0af7_e45a_1e5d_b001;

pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut opts = ConnectOptions::new(settings.url.expose_secret().to_owned());
    opts.max_connections(settings.max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(opts).await
}

/// Applies every pending migration of each component, in order.
pub async fn migrate(
    db: &DatabaseConnection,
    components: &[Migrations],
) -> Result<usize, anyhow::Error> {
    let mut applied = 0;
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [MIGRATION_LOCK_KEY.into()],
    ))
    .await?;
    txn.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             component TEXT NOT NULL,
             version BIGINT NOT NULL,
             name TEXT NOT NULL,
             checksum TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
             PRIMARY KEY (component, version))",
    )
    .await?;
    for component in components {
        for m in component.list {
            let checksum = checksum(m.sql);
            let row = txn
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT checksum FROM schema_migrations WHERE component = $1 AND version = $2",
                    [component.component.into(), m.version.into()],
                ))
                .await?;
            if let Some(row) = row {
                let stored: String = row.try_get("", "checksum")?;
                if stored == legacy_checksum(m.sql) {
                    // Applied before checksums were SHA-256: the text is unchanged, so the row is
                    // rewritten once with the new checksum.
                    txn.execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "UPDATE schema_migrations SET checksum = $3 WHERE component = $1 AND version = $2",
                        [component.component.into(), m.version.into(), checksum.clone().into()],
                    ))
                    .await?;
                    continue;
                }
                if stored != checksum {
                    anyhow::bail!(
                        "migration {}/{} ({}) was changed after it was applied",
                        component.component,
                        m.version,
                        m.name
                    );
                }
                continue;
            }
            txn.execute_unprepared(m.sql).await.map_err(|e| {
                anyhow::anyhow!(
                    "migration {}/{} ({}): {e}",
                    component.component,
                    m.version,
                    m.name
                )
            })?;
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)",
                [component.component.into(), m.version.into(), m.name.into(), checksum.into()],
            ))
            .await?;
            tracing::info!(
                component = component.component,
                version = m.version,
                name = m.name,
                "migration applied"
            );
            applied += 1;
        }
    }
    txn.commit().await?;
    Ok(applied)
}

/// Whether every migration of `components` is applied (for `/readyz`).
pub async fn migrations_done(db: &DatabaseConnection, components: &[Migrations]) -> bool {
    let expected: usize = components.iter().map(|c| c.list.len()).sum();
    let names: Vec<sea_orm::Value> = components.iter().map(|c| c.component.into()).collect();
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT count(*)::bigint AS n FROM schema_migrations WHERE component IN ({})",
        placeholders.join(", ")
    );
    match db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            names,
        ))
        .await
    {
        Ok(Some(row)) => row
            .try_get::<i64>("", "n")
            .map(|n| n as usize >= expected)
            .unwrap_or(false),
        _ => false,
    }
}

/// Whether the database answers.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// SHA-256 of the migration's text: what an applied migration is compared against.
fn checksum(sql: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(sql.as_bytes()))
    )
}

/// The FNV-1a checksum of migrations applied before checksums moved to SHA-256: accepted once,
/// then rewritten, so an existing database still starts.
fn legacy_checksum(sql: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The SQLSTATE of a database error, read from the driver's error (never from its text).
pub fn sqlstate(e: &sea_orm::DbErr) -> Option<String> {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(x))
        | DbErr::Query(RuntimeErr::SqlxError(x))
        | DbErr::Conn(RuntimeErr::SqlxError(x)) => match x.as_ref() {
            sea_orm::sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a database error is a unique-constraint violation (a lost insert race).
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    sqlstate(e).as_deref() == Some("23505")
}

/// Whether a database error is a serialization failure or deadlock (retry the transaction).
pub fn is_serialization_failure(e: &sea_orm::DbErr) -> bool {
    matches!(sqlstate(e).as_deref(), Some("40001" | "40P01"))
}

/// Whether the database itself is unavailable (unreachable, restarting, failing over, out of
/// connections), as opposed to the statement being wrong: such an error says nothing about the
/// work, which will succeed once the database is back.
pub fn is_unavailable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    if let Some(code) = sqlstate(e) {
        // 08: connection exception; 57P01–57P03: shutdown, crash, cannot connect now; 53: out
        // of resources (too many connections, disk full); 58: system error (I/O).
        return code.starts_with("08")
            || matches!(code.as_str(), "57P01" | "57P02" | "57P03")
            || code.starts_with("53")
            || code.starts_with("58");
    }
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => {
            use sea_orm::sqlx::Error as X;
            matches!(
                x.as_ref(),
                X::Io(_)
                    | X::Tls(_)
                    | X::PoolTimedOut
                    | X::PoolClosed
                    | X::WorkerCrashed
                    | X::Protocol(_)
            )
        }
        _ => false,
    }
}

/// Whether `e` (anywhere in its chain) is a serialization failure or a deadlock: a lost race
/// that the same transaction, run again at once, usually wins.
pub fn caused_by_lost_race(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<sea_orm::DbErr>()
            .is_some_and(is_serialization_failure)
    })
}

/// Takes a transaction-scoped advisory lock on `key` within `class` (e.g. "warehouse.request"
/// and a request number): two transactions about the same key run one after the other, and the
/// lock is released at COMMIT or ROLLBACK (never a session lock through the pool). The way to
/// serialize handlers that may race about one request (an approval and a cancellation).
pub async fn lock_key<C: ConnectionTrait>(
    txn: &C,
    class: &str,
    key: &str,
) -> Result<(), sea_orm::DbErr> {
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
        [class.into(), key.into()],
    ))
    .await?;
    Ok(())
}

/// Whether `e` (anywhere in its chain) is a database error for which [`is_unavailable`] holds.
pub fn caused_by_unavailable_db(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<sea_orm::DbErr>()
            .is_some_and(is_unavailable)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_sha256_and_the_legacy_ones_stay_recognisable() {
        assert_eq!(
            checksum(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(legacy_checksum(""), "cbf29ce484222325");
    }
}
