//! `commands`: the idempotency keys of the mutating RPCs. The key is inserted in the command's
//! own transaction, so a retry waits for the first attempt and then finds its key: the same
//! command answers what the first call did, a different one under the same key is refused.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use sha2::Digest;

use super::stmt;

/// What a key was first used for.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Recorded {
    pub kind: String,
    pub fingerprint: String,
    pub target: String,
}

/// A stable digest of a command's content (its `Debug` form without the key).
pub fn fingerprint(content: &str) -> String {
    hex::encode(sha2::Sha256::digest(content.as_bytes()))
}

/// Records the key; `None` when it is new, the first use otherwise.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    key: &str,
    kind: &str,
    fingerprint: &str,
    target: &str,
) -> Result<Option<Recorded>, DbErr> {
    let inserted = conn
        .execute_raw(stmt(
            "INSERT INTO commands (idempotency_key, kind, fingerprint, target) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (idempotency_key) DO NOTHING",
            [key.into(), kind.into(), fingerprint.into(), target.into()],
        ))
        .await?
        .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    Recorded::find_by_statement(stmt(
        "SELECT kind, fingerprint, target FROM commands WHERE idempotency_key = $1",
        [key.into()],
    ))
    .one(conn)
    .await
}
