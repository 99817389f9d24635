//! `idempotency_keys`: the first answer to a mutating request carrying an idempotency key. A
//! retry with the same key and the same request gets the same thing back; the same key with
//! another request is refused. The key is locked (transaction-scoped) while the first request
//! runs, so a concurrent retry waits for its answer instead of doing the work twice.

use sea_orm::{ConnectionTrait, DbErr};

use super::stmt;

/// What a key holds already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    New,
    /// The same request: its result.
    Replay(String),
    /// Another request under the same key.
    Conflict,
}

/// "FSIK": the advisory-lock class of idempotency keys.
const KEY_LOCK_CLASS: i32 = 0x4653_494B;

/// Locks `operation`/`key` until the transaction ends and says what it holds.
pub async fn check<C: ConnectionTrait>(
    conn: &C,
    operation: &str,
    key: &str,
    request: &[u8],
) -> Result<Seen, DbErr> {
    conn.execute_raw(stmt(
        "SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
        [KEY_LOCK_CLASS.into(), format!("{operation}:{key}").into()],
    ))
    .await?;
    let row = conn
        .query_one_raw(stmt(
            "SELECT request, result FROM idempotency_keys WHERE operation = $1 AND key = $2",
            [operation.into(), key.into()],
        ))
        .await?;
    let Some(r) = row else {
        return Ok(Seen::New);
    };
    let stored: Vec<u8> = r.try_get("", "request")?;
    if stored == request {
        Ok(Seen::Replay(r.try_get("", "result")?))
    } else {
        Ok(Seen::Conflict)
    }
}

pub async fn record<C: ConnectionTrait>(
    conn: &C,
    operation: &str,
    key: &str,
    request: &[u8],
    result: &str,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO idempotency_keys (operation, key, request, result) VALUES ($1, $2, $3, $4)",
        [
            operation.into(),
            key.into(),
            request.to_vec().into(),
            result.into(),
        ],
    ))
    .await?;
    Ok(())
}
