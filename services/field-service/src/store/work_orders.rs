//! `work_orders`: the whole work order as JSON (`body`) with copies of what queries filter and
//! sort on. Every write goes through [`save`], which writes body and columns together.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::stmt;
use crate::domain::{Status, WorkOrder};

#[derive(Debug, FromQueryResult)]
struct Row {
    body: serde_json::Value,
}

fn decode(r: Row) -> Result<WorkOrder, DbErr> {
    serde_json::from_value(r.body).map_err(|e| DbErr::Json(format!("work order body: {e}")))
}

async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<WorkOrder>, DbErr> {
    Row::find_by_statement(stmt(sql, values))
        .one(conn)
        .await?
        .map(decode)
        .transpose()
}

async fn all<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Vec<WorkOrder>, DbErr> {
    Row::find_by_statement(stmt(sql, values))
        .all(conn)
        .await?
        .into_iter()
        .map(decode)
        .collect()
}

pub async fn get<C: ConnectionTrait>(conn: &C, no: &str) -> Result<Option<WorkOrder>, DbErr> {
    one(
        conn,
        "SELECT body FROM work_orders WHERE work_order_no = $1",
        vec![no.into()],
    )
    .await
}

/// The work order, locked until the transaction ends: every change of one work order takes
/// this lock first, so changes of it happen one after the other.
pub async fn lock<C: ConnectionTrait>(conn: &C, no: &str) -> Result<Option<WorkOrder>, DbErr> {
    one(
        conn,
        "SELECT body FROM work_orders WHERE work_order_no = $1 FOR UPDATE",
        vec![no.into()],
    )
    .await
}

/// The request's work orders, locked, oldest first.
pub async fn lock_of_request<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Vec<WorkOrder>, DbErr> {
    all(
        conn,
        "SELECT body FROM work_orders WHERE request_no = $1 ORDER BY created_at, work_order_no FOR UPDATE"
            .into(),
        vec![request_no.into()],
    )
    .await
}

/// The work order of `source`/`source_ref`, if one was opened.
pub async fn by_source<C: ConnectionTrait>(
    conn: &C,
    source: &str,
    source_ref: &str,
) -> Result<Option<WorkOrder>, DbErr> {
    one(
        conn,
        "SELECT body FROM work_orders WHERE source = $1 AND source_ref = $2",
        vec![source.into(), source_ref.into()],
    )
    .await
}

fn columns(w: &WorkOrder) -> Result<Vec<Value>, DbErr> {
    let body = serde_json::to_value(w).map_err(|e| DbErr::Json(e.to_string()))?;
    Ok(vec![
        w.work_order_no.as_str().into(),
        w.request_no.as_str().into(),
        w.branch.as_str().into(),
        w.status.as_str().into(),
        w.source.as_str().into(),
        w.source_ref.as_str().into(),
        w.technician_id.as_str().into(),
        w.serial().into(),
        w.product.model.as_str().into(),
        w.arrival_due_at.into(),
        w.arrived_at.into(),
        w.sla_breached.into(),
        w.completed_at.into(),
        w.rework_of.as_str().into(),
        w.created_at.into(),
        w.status_since.into(),
        (w.version as i64).into(),
        body.into(),
    ])
}

/// Inserts a new work order; false when one of the same source and reference exists (a
/// redelivered approval, a repeated follow-up).
pub async fn insert<C: ConnectionTrait>(conn: &C, w: &WorkOrder) -> Result<bool, DbErr> {
    let res = conn
        .execute_raw(stmt(
            "INSERT INTO work_orders (work_order_no, request_no, branch, status, source, source_ref, \
             technician_id, serial, product_model, arrival_due_at, arrived_at, sla_breached, \
             completed_at, rework_of, created_at, status_since, version, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (source, source_ref) DO NOTHING",
            columns(w)?,
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Writes a changed work order (locked by the caller).
pub async fn save<C: ConnectionTrait>(conn: &C, w: &WorkOrder) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE work_orders SET request_no = $2, branch = $3, status = $4, source = $5, \
         source_ref = $6, technician_id = $7, serial = $8, product_model = $9, \
         arrival_due_at = $10, arrived_at = $11, sla_breached = $12, completed_at = $13, \
         rework_of = $14, created_at = $15, status_since = $16, version = $17, body = $18 \
         WHERE work_order_no = $1",
        columns(w)?,
    ))
    .await?;
    Ok(())
}

/// Open work orders whose arrival deadline passed before `now` with nobody on site, locked;
/// rows another transaction holds are skipped (it is changing them; the next scan looks again).
pub async fn overdue_arrivals<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<WorkOrder>, DbErr> {
    all(
        conn,
        format!(
            "SELECT body FROM work_orders WHERE arrival_due_at < $1 AND arrived_at IS NULL \
             AND NOT sla_breached AND status NOT IN ('DONE', 'CANCELLED') \
             ORDER BY arrival_due_at LIMIT {limit} FOR UPDATE SKIP LOCKED"
        ),
        vec![now.into()],
    )
    .await
}

/// The latest completed job on `serial` other than `except`, completed at or before `before`.
pub async fn last_completed_on_serial<C: ConnectionTrait>(
    conn: &C,
    serial: &str,
    except: &str,
    before: DateTime<Utc>,
) -> Result<Option<WorkOrder>, DbErr> {
    one(
        conn,
        "SELECT body FROM work_orders WHERE serial = $1 AND work_order_no <> $2 \
         AND completed_at IS NOT NULL AND completed_at <= $3 AND status = 'DONE' \
         ORDER BY completed_at DESC LIMIT 1",
        vec![serial.into(), except.into(), before.into()],
    )
    .await
}

/// Which work orders a list wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub branch: Option<String>,
    pub technician_id: Option<String>,
    pub request_no: Option<String>,
    pub serial: Option<String>,
    pub statuses: Vec<Status>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub sla_breached_only: bool,
    /// Keyset: rows after (created_at, work_order_no), newest first.
    pub after: Option<(DateTime<Utc>, String)>,
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    f: &Filter,
    limit: u64,
) -> Result<Vec<WorkOrder>, DbErr> {
    let mut sql = "SELECT body FROM work_orders WHERE true".to_owned();
    let mut values: Vec<Value> = Vec::new();
    let mut add = |clause: &str, v: Value, sql: &mut String| {
        values.push(v);
        sql.push_str(&clause.replace('?', &format!("${}", values.len())));
    };
    if let Some(b) = &f.branch {
        add(" AND branch = ?", b.as_str().into(), &mut sql);
    }
    if let Some(t) = &f.technician_id {
        add(" AND technician_id = ?", t.as_str().into(), &mut sql);
    }
    if let Some(r) = &f.request_no {
        add(" AND request_no = ?", r.as_str().into(), &mut sql);
    }
    if let Some(s) = &f.serial {
        add(" AND serial = ?", s.as_str().into(), &mut sql);
    }
    if !f.statuses.is_empty() {
        let list: Vec<String> = f.statuses.iter().map(|s| s.as_str().to_owned()).collect();
        add(" AND status = ANY(?)", list.into(), &mut sql);
    }
    if let Some(t) = f.created_from {
        add(" AND created_at >= ?", t.into(), &mut sql);
    }
    if let Some(t) = f.created_to {
        add(" AND created_at < ?", t.into(), &mut sql);
    }
    if f.sla_breached_only {
        sql.push_str(" AND sla_breached");
    }
    if let Some((at, no)) = &f.after {
        values.push((*at).into());
        values.push(no.as_str().into());
        let n = values.len();
        sql.push_str(&format!(
            " AND (created_at, work_order_no) < (${}, ${n})",
            n - 1
        ));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, work_order_no DESC LIMIT {limit}"
    ));
    all(conn, sql, values).await
}

/// The board: open work orders of `statuses`, plus DONE since `done_since`, oldest status
/// first, at most `per_status` of each.
pub async fn board<C: ConnectionTrait>(
    conn: &C,
    branch: Option<&str>,
    technician_id: Option<&str>,
    statuses: &[Status],
    done_since: DateTime<Utc>,
    per_status: u64,
) -> Result<Vec<WorkOrder>, DbErr> {
    let list: Vec<String> = statuses.iter().map(|s| s.as_str().to_owned()).collect();
    all(
        conn,
        format!(
            "SELECT body FROM ( \
               SELECT body, row_number() OVER (PARTITION BY status ORDER BY status_since, work_order_no) AS n \
               FROM work_orders WHERE status = ANY($1) \
               AND ($2::text IS NULL OR branch = $2) AND ($3::text IS NULL OR technician_id = $3) \
               AND (status <> 'DONE' OR completed_at >= $4) \
             ) b WHERE n <= {per_status}"
        ),
        vec![
            list.into(),
            branch.map(str::to_owned).into(),
            technician_id.map(str::to_owned).into(),
            done_since.into(),
        ],
    )
    .await
}

/// Work orders completed in [from, to) (either end open) of `branch`, and, for the
/// statistics, the work orders repeating any of them.
pub async fn completed_between<C: ConnectionTrait>(
    conn: &C,
    branch: Option<&str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<WorkOrder>, DbErr> {
    all(
        conn,
        "SELECT body FROM work_orders WHERE status = 'DONE' AND completed_at IS NOT NULL \
         AND ($1::text IS NULL OR branch = $1) \
         AND ($2::timestamptz IS NULL OR completed_at >= $2) \
         AND ($3::timestamptz IS NULL OR completed_at < $3) ORDER BY completed_at"
            .into(),
        vec![branch.map(str::to_owned).into(), from.into(), to.into()],
    )
    .await
}

/// How many work orders repeat each of `work_order_nos`.
pub async fn repeats_of<C: ConnectionTrait>(
    conn: &C,
    work_order_nos: &[String],
) -> Result<Vec<(String, i64)>, DbErr> {
    if work_order_nos.is_empty() {
        return Ok(vec![]);
    }
    let rows = conn
        .query_all_raw(stmt(
            "SELECT rework_of, count(*)::bigint AS n FROM work_orders WHERE rework_of = ANY($1) \
             GROUP BY rework_of",
            [work_order_nos.to_vec().into()],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "rework_of")?, r.try_get("", "n")?)))
        .collect()
}

/// The next work order sequence of a branch in a month (`YYMM`).
pub async fn next_sequence<C: ConnectionTrait>(
    conn: &C,
    branch: &str,
    period: &str,
) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "INSERT INTO work_order_sequences (branch, period, last) VALUES ($1, $2, 1) \
             ON CONFLICT (branch, period) DO UPDATE SET last = work_order_sequences.last + 1 \
             RETURNING last",
            [branch.into(), period.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("sequence upsert returned no row".into()))?;
    row.try_get("", "last")
}
