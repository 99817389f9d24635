//! `cases`: one row per request feedback acts on. Scheduling a visit, recording its survey and
//! cancelling the request all lock this row first (inserting it when absent), so they serialize
//! per request whatever order their events come in; a cancellation that comes first leaves the
//! row marked, and nothing is scheduled after it.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::stmt;

#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Case {
    pub request_no: String,
    pub branch: String,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: String,
}

/// The request's row, created when absent, locked until the transaction ends.
pub async fn lock<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    branch: &str,
) -> Result<Case, DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO cases (request_no, branch) VALUES ($1, $2) ON CONFLICT (request_no) DO NOTHING",
        [request_no.into(), branch.into()],
    ))
    .await?;
    Case::find_by_statement(stmt(
        "SELECT request_no, branch, cancelled_at, cancel_reason FROM cases WHERE request_no = $1 FOR UPDATE",
        [request_no.into()],
    ))
    .one(conn)
    .await?
    .ok_or_else(|| DbErr::RecordNotFound(format!("case {request_no}")))
}

/// Marks the (locked) request cancelled, keeping the first cancellation's time and reason.
pub async fn mark_cancelled<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    branch: &str,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE cases SET cancelled_at = $2, cancel_reason = $3, \
         branch = CASE WHEN branch = '' THEN $4 ELSE branch END \
         WHERE request_no = $1 AND cancelled_at IS NULL",
        [request_no.into(), at.into(), reason.into(), branch.into()],
    ))
    .await?;
    Ok(())
}
