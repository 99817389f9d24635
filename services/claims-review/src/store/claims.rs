//! The `claims` and `claim_commands` tables. A claim is its queue columns plus its detail as
//! JSON; rows from before migration 2 still hold the detail as protobuf bytes, read through
//! [`crate::mapping::legacy`] until the row is next written.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, Value};

use crate::domain::command::QueueKey;
use crate::domain::{Claim, ClaimDetail, ClaimStatus};

#[derive(Debug, FromQueryResult)]
struct Row {
    request_no: String,
    branch: String,
    status: String,
    version: i64,
    opened_at: DateTime<Utc>,
    due_at: Option<DateTime<Utc>>,
    paused_left_ms: Option<i64>,
    escalated: bool,
    breach_announced_for: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    detail: Option<serde_json::Value>,
    /// The detail as written before migration 2 (`aftersales.claims.v1.Claim`, encoded).
    claim: Option<Vec<u8>>,
}

impl TryFrom<Row> for Claim {
    type Error = DbErr;
    fn try_from(r: Row) -> Result<Self, DbErr> {
        let bad = |what: String| DbErr::Type(format!("stored claim {}: {what}", r.request_no));
        let detail = match (r.detail, &r.claim) {
            (Some(json), _) => {
                serde_json::from_value::<ClaimDetail>(json).map_err(|e| bad(e.to_string()))?
            }
            // Legacy fallback: SQL cannot convert the old bytes, so they are decoded here until
            // the row's next write replaces them with `detail`.
            (None, Some(bytes)) => crate::mapping::legacy::claim_detail(bytes).map_err(bad)?,
            (None, None) => return Err(bad("neither detail nor legacy bytes".into())),
        };
        Ok(Claim {
            status: ClaimStatus::parse(&r.status)
                .ok_or_else(|| bad(format!("status {:?} is not valid", r.status)))?,
            request_no: r.request_no,
            branch: r.branch,
            version: r.version,
            opened_at: r.opened_at,
            due_at: r.due_at,
            paused_left_ms: r.paused_left_ms,
            escalated: r.escalated,
            breach_announced_for: r.breach_announced_for,
            updated_at: r.updated_at,
            detail,
        })
    }
}

const COLUMNS: &str = "request_no, branch, status, version, opened_at, due_at, paused_left_ms, \
    escalated, breach_announced_for, updated_at, detail, claim";

fn stmt(sql: impl Into<String>, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn detail_json(c: &Claim) -> Result<Value, DbErr> {
    serde_json::to_value(&c.detail)
        .map(Value::from)
        .map_err(|e| DbErr::Type(format!("claim {} as JSON: {e}", c.request_no)))
}

async fn all<C: ConnectionTrait>(conn: &C, s: Statement) -> Result<Vec<Claim>, DbErr> {
    Row::find_by_statement(s)
        .all(conn)
        .await?
        .into_iter()
        .map(Claim::try_from)
        .collect()
}

/// Inserts the claim unless the request already has one (opened, or closed by a cancellation
/// that came first); whether it was inserted. A concurrent insert of the same request waits for
/// this transaction and then finds the row: exactly one of them inserts.
pub async fn insert_if_absent<C: ConnectionTrait>(conn: &C, c: &Claim) -> Result<bool, DbErr> {
    let n = conn
        .execute_raw(stmt(
            "INSERT INTO claims (request_no, branch, status, version, opened_at, due_at,
                 paused_left_ms, escalated, breach_announced_for, updated_at, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (request_no) DO NOTHING",
            [
                c.request_no.as_str().into(),
                c.branch.as_str().into(),
                c.status.as_str().into(),
                c.version.into(),
                c.opened_at.into(),
                c.due_at.into(),
                c.paused_left_ms.into(),
                c.escalated.into(),
                c.breach_announced_for.into(),
                c.updated_at.into(),
                detail_json(c)?,
            ],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn get<C: ConnectionTrait>(conn: &C, request_no: &str) -> Result<Option<Claim>, DbErr> {
    Ok(all(
        conn,
        stmt(
            format!("SELECT {COLUMNS} FROM claims WHERE request_no = $1"),
            [request_no.into()],
        ),
    )
    .await?
    .pop())
}

/// The claim, locked until the end of the transaction: every other writer of the row (an
/// opening, a decision, a scan) waits for it or has committed before it is read.
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Option<Claim>, DbErr> {
    Ok(all(
        conn,
        stmt(
            format!("SELECT {COLUMNS} FROM claims WHERE request_no = $1 FOR UPDATE"),
            [request_no.into()],
        ),
    )
    .await?
    .pop())
}

/// Writes `c` (with `c.version` already the new version) only if the stored version is still
/// `c.version - 1`; whether it was written. Concurrent writers serialize on the row, and the
/// loser finds the version moved.
/// A legacy row is rewritten in the new form (its bytes dropped).
pub async fn update_versioned<C: ConnectionTrait>(conn: &C, c: &Claim) -> Result<bool, DbErr> {
    let n = conn
        .execute_raw(stmt(
            "UPDATE claims SET branch = $2, status = $3, version = $4, due_at = $5,
                 paused_left_ms = $6, escalated = $7, breach_announced_for = $8, updated_at = $9,
                 detail = $10, claim = NULL
             WHERE request_no = $1 AND version = $11",
            [
                c.request_no.as_str().into(),
                c.branch.as_str().into(),
                c.status.as_str().into(),
                c.version.into(),
                c.due_at.into(),
                c.paused_left_ms.into(),
                c.escalated.into(),
                c.breach_announced_for.into(),
                c.updated_at.into(),
                detail_json(c)?,
                (c.version - 1).into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Writes a re-derived review deadline (and the breach it kept or withdrew) without bumping the
/// version: nobody changed the claim, so a reviewer's decision on the version they saw stands.
pub async fn set_deadline<C: ConnectionTrait>(conn: &C, c: &Claim) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE claims SET due_at = $2, paused_left_ms = $3, escalated = $4,
             breach_announced_for = $5
         WHERE request_no = $1",
        [
            c.request_no.as_str().into(),
            c.due_at.into(),
            c.paused_left_ms.into(),
            c.escalated.into(),
            c.breach_announced_for.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// What the queue asks for. `branch` is already narrowed to what the caller may see.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub branch: Option<String>,
    pub statuses: Vec<ClaimStatus>,
    pub due_before: Option<DateTime<Utc>>,
    pub escalated_only: bool,
    /// The last row of the previous page.
    pub after: Option<QueueKey>,
    pub limit: u64,
}

impl From<&Claim> for QueueKey {
    fn from(c: &Claim) -> Self {
        QueueKey {
            due_at: c.due_at,
            opened_at: c.opened_at,
            request_no: c.request_no.clone(),
        }
    }
}

/// Soonest due first (the older first on equal deadlines), undated (decided or paused) last
/// and newest first; up to `limit` rows after `after`. The order is total (the request number
/// breaks ties), so a page continues exactly where the previous one ended however many claims
/// open meanwhile.
pub async fn list<C: ConnectionTrait>(conn: &C, f: &ListFilter) -> Result<Vec<Claim>, DbErr> {
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let param = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        format!("${}", values.len())
    };
    if let Some(b) = &f.branch {
        let p = param(b.as_str().into(), &mut values);
        conditions.push(format!("branch = {p}"));
    }
    if !f.statuses.is_empty() {
        let ps: Vec<String> = f
            .statuses
            .iter()
            .map(|s| param(s.as_str().into(), &mut values))
            .collect();
        conditions.push(format!("status IN ({})", ps.join(", ")));
    }
    if let Some(d) = f.due_before {
        let p = param(d.into(), &mut values);
        conditions.push(format!("due_at < {p}"));
    }
    if f.escalated_only {
        conditions.push("escalated".into());
    }
    if let Some(k) = &f.after {
        let opened = param(k.opened_at.into(), &mut values);
        let no = param(k.request_no.as_str().into(), &mut values);
        conditions.push(match k.due_at {
            Some(due) => {
                let due = param(due.into(), &mut values);
                format!("(due_at IS NULL OR (due_at, opened_at, request_no) > ({due}, {opened}, {no}))")
            }
            None => format!(
                "(due_at IS NULL AND (opened_at < {opened} OR (opened_at = {opened} AND request_no > {no})))"
            ),
        });
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let limit = param((f.limit.min(i64::MAX as u64) as i64).into(), &mut values);
    all(
        conn,
        stmt(
            format!(
                "SELECT {COLUMNS} FROM claims {filter}
                 ORDER BY due_at ASC NULLS LAST,
                          CASE WHEN due_at IS NULL THEN opened_at END DESC,
                          opened_at ASC, request_no ASC LIMIT {limit}"
            ),
            values,
        ),
    )
    .await
}

/// Pending claims past their deadline whose breach was not announced yet, locked for this
/// transaction (another scanner replica, or a cancellation in flight, holds the others: they are
/// skipped, and a cancelled claim is never pending again).
pub async fn overdue<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Claim>, DbErr> {
    all(
        conn,
        stmt(
            format!(
                "SELECT {COLUMNS} FROM claims
                 WHERE status = 'pending' AND due_at <= $1
                   AND breach_announced_for IS DISTINCT FROM due_at
                 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED"
            ),
            [now.into(), (limit as i64).into()],
        ),
    )
    .await
}

/// Records a command's idempotency key; false when the key was already used.
pub async fn record_command<C: ConnectionTrait>(
    conn: &C,
    key: &str,
    request_no: &str,
    command: &str,
) -> Result<bool, DbErr> {
    let n = conn
        .execute_raw(stmt(
            "INSERT INTO claim_commands (idempotency_key, request_no, command) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            [key.into(), request_no.into(), command.into()],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// The request a command key was used for, if any.
pub async fn command_request<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<String>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT request_no FROM claim_commands WHERE idempotency_key = $1",
            [key.into()],
        ))
        .await?;
    row.map(|r| r.try_get::<String>("", "request_no"))
        .transpose()
}
