//! `pending_issues`: parts the warehouse issued before logistics planned the shipment for their
//! pick list (events arrive in any order); the plan takes them and dispatches at once.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::{from_json, stmt, to_json, ts};
use crate::domain::IssuedLine;

#[derive(Debug, Clone, PartialEq)]
pub struct PendingIssue {
    pub id: i64,
    pub pick_list_id: String,
    pub lines: Vec<IssuedLine>,
    pub issued_by: String,
    pub issued_at: Option<DateTime<Utc>>,
    pub shipment_no: String,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    id: i64,
    pick_list_id: String,
    lines: serde_json::Value,
    issued_by: String,
    issued_at: Option<DateTime<Utc>>,
    shipment_no: String,
}

pub async fn record<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    issue: &PendingIssue,
    used_by: Option<&str>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO pending_issues (request_no, pick_list_id, lines, issued_by, issued_at, shipment_no, used_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            request_no.into(),
            issue.pick_list_id.as_str().into(),
            to_json(&issue.lines)?.into(),
            issue.issued_by.as_str().into(),
            ts(issue.issued_at),
            issue.shipment_no.as_str().into(),
            used_by.map(str::to_owned).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Whether an issue of the pick list waits for its plan.
pub async fn waiting<C: ConnectionTrait>(conn: &C, pick_list_id: &str) -> Result<bool, DbErr> {
    Ok(conn
        .query_one_raw(stmt(
            "SELECT 1 AS one FROM pending_issues WHERE pick_list_id = $1 AND used_by IS NULL",
            [pick_list_id.into()],
        ))
        .await?
        .is_some())
}

/// The oldest waiting issue of a pick list, marked as used by `shipment_no`.
pub async fn take<C: ConnectionTrait>(
    conn: &C,
    pick_list_id: &str,
    shipment_no: &str,
) -> Result<Option<PendingIssue>, DbErr> {
    let row = Row::find_by_statement(stmt(
        "UPDATE pending_issues SET used_by = $2 WHERE id = ( \
           SELECT id FROM pending_issues WHERE pick_list_id = $1 AND used_by IS NULL ORDER BY id LIMIT 1) \
         RETURNING id, pick_list_id, lines, issued_by, issued_at, shipment_no",
        [pick_list_id.into(), shipment_no.into()],
    ))
    .one(conn)
    .await?;
    row.map(|r| {
        Ok(PendingIssue {
            lines: from_json("pending issue lines", r.lines)?,
            id: r.id,
            pick_list_id: r.pick_list_id,
            issued_by: r.issued_by,
            issued_at: r.issued_at,
            shipment_no: r.shipment_no,
        })
    })
    .transpose()
}
