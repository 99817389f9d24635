//! `requests`: the row every change to a request's shipments and pick-ups locks first, and the
//! durable cancellation marker.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::stmt;

#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct RequestRow {
    pub request_no: String,
    pub branch: String,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: String,
}

impl RequestRow {
    pub fn cancelled(&self) -> bool {
        self.cancelled_at.is_some()
    }
}

/// The request's row, created when new, locked until the transaction ends: every handler and
/// command of one request runs after the previous one committed, and sees what it did.
pub async fn lock<C: ConnectionTrait>(
    txn: &C,
    request_no: &str,
    branch: &str,
) -> Result<RequestRow, DbErr> {
    txn.execute_raw(stmt(
        "INSERT INTO requests (request_no, branch) VALUES ($1, $2) ON CONFLICT (request_no) DO NOTHING",
        [request_no.into(), branch.into()],
    ))
    .await?;
    RequestRow::find_by_statement(stmt(
        "SELECT request_no, branch, cancelled_at, cancel_reason FROM requests WHERE request_no = $1 FOR UPDATE",
        [request_no.into()],
    ))
    .one(txn)
    .await?
    .ok_or_else(|| DbErr::RecordNotFound(format!("request {request_no}")))
}

/// Marks the request cancelled (the first cancellation's time and reason stay).
pub async fn set_cancelled<C: ConnectionTrait>(
    txn: &C,
    request_no: &str,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), DbErr> {
    txn.execute_raw(stmt(
        "UPDATE requests SET cancelled_at = COALESCE(cancelled_at, $2), \
         cancel_reason = CASE WHEN cancelled_at IS NULL THEN $3 ELSE cancel_reason END \
         WHERE request_no = $1",
        [request_no.into(), at.into(), reason.into()],
    ))
    .await?;
    Ok(())
}
