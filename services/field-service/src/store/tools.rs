//! `tool_loans`: one row per loan; at most one loan OUT per tool (a unique index).

use aftersales_platform::db::is_unique_violation;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, TransactionTrait};

use super::{corrupt, stmt};
use crate::domain::tools::{LoanStatus, ToolLoan};

#[derive(Debug, FromQueryResult)]
struct Row {
    loan_id: String,
    seq: i64,
    tool_id: String,
    tool_name: String,
    technician_id: String,
    branch: String,
    work_order_no: String,
    loaned_at: DateTime<Utc>,
    due_back: NaiveDate,
    returned_at: Option<DateTime<Utc>>,
    return_condition: String,
    status: String,
}

const COLUMNS: &str = "loan_id, seq, tool_id, tool_name, technician_id, branch, work_order_no, \
    loaned_at, due_back, returned_at, return_condition, status";

fn decode(r: Row) -> Result<ToolLoan, DbErr> {
    Ok(ToolLoan {
        status: LoanStatus::parse(&r.status).ok_or_else(|| corrupt("loan status", &r.status))?,
        loan_id: r.loan_id,
        tool_id: r.tool_id,
        tool_name: r.tool_name,
        technician_id: r.technician_id,
        branch: r.branch,
        work_order_no: r.work_order_no,
        loaned_at: r.loaned_at,
        due_back: r.due_back,
        returned_at: r.returned_at,
        return_condition: r.return_condition,
        seq: r.seq,
    })
}

/// Inserts the loan; false when the tool is out already (the unique index refused it). Runs in
/// a savepoint so the refusal leaves the caller's transaction usable.
pub async fn insert(conn: &sea_orm::DatabaseTransaction, l: &ToolLoan) -> Result<bool, DbErr> {
    let sp = conn.begin().await?;
    let res = sp
        .execute_raw(stmt(
            "INSERT INTO tool_loans (loan_id, tool_id, tool_name, technician_id, branch, \
             work_order_no, loaned_at, due_back, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'OUT')",
            [
                l.loan_id.as_str().into(),
                l.tool_id.as_str().into(),
                l.tool_name.as_str().into(),
                l.technician_id.as_str().into(),
                l.branch.as_str().into(),
                l.work_order_no.as_str().into(),
                l.loaned_at.into(),
                l.due_back.into(),
            ],
        ))
        .await;
    match res {
        Ok(_) => {
            sp.commit().await?;
            Ok(true)
        }
        Err(e) if is_unique_violation(&e) => {
            sp.rollback().await?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

pub async fn get<C: ConnectionTrait>(conn: &C, loan_id: &str) -> Result<Option<ToolLoan>, DbErr> {
    Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM tool_loans WHERE loan_id = $1"),
        [loan_id.into()],
    ))
    .one(conn)
    .await?
    .map(decode)
    .transpose()
}

pub async fn lock<C: ConnectionTrait>(conn: &C, loan_id: &str) -> Result<Option<ToolLoan>, DbErr> {
    Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM tool_loans WHERE loan_id = $1 FOR UPDATE"),
        [loan_id.into()],
    ))
    .one(conn)
    .await?
    .map(decode)
    .transpose()
}

pub async fn close<C: ConnectionTrait>(
    conn: &C,
    loan_id: &str,
    status: LoanStatus,
    condition: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE tool_loans SET status = $2, return_condition = $3, returned_at = $4 WHERE loan_id = $1",
        [loan_id.into(), status.as_str().into(), condition.into(), at.into()],
    ))
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub branch: Option<String>,
    pub technician_id: Option<String>,
    pub tool_id: Option<String>,
    pub open_only: bool,
    /// Out with a due date before this day.
    pub overdue_before: Option<NaiveDate>,
    /// Keyset: loans older than this one (by seq).
    pub after: Option<i64>,
}

/// Newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    f: &Filter,
    limit: u64,
) -> Result<Vec<ToolLoan>, DbErr> {
    Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM tool_loans WHERE ($1::text IS NULL OR branch = $1) \
             AND ($2::text IS NULL OR technician_id = $2) AND ($3::text IS NULL OR tool_id = $3) \
             AND (NOT $4 OR status = 'OUT') \
             AND ($5::date IS NULL OR (status = 'OUT' AND due_back < $5)) \
             AND ($6::bigint IS NULL OR seq < $6) ORDER BY seq DESC LIMIT {limit}"
        ),
        [
            f.branch.clone().into(),
            f.technician_id.clone().into(),
            f.tool_id.clone().into(),
            f.open_only.into(),
            f.overdue_before.into(),
            f.after.into(),
        ],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(decode)
    .collect()
}
