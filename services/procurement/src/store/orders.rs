//! `purchase_orders` and `po_lines`.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, from_json, stmt, to_json};
use crate::domain::rule::ChoiceRecord;
use crate::domain::{LineState, PoStatus, PurchaseReason};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoLine {
    pub line_no: u32,
    pub part_no: String,
    pub specification: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
    pub quote_id: Option<String>,
    pub quoted_price_minor: i64,
    pub best_price_minor: i64,
    pub received: u32,
    pub passed: u32,
    pub failed: u32,
    /// Requests a person named on a manual line.
    pub manual_request_nos: Vec<String>,
}

impl PoLine {
    pub fn state(&self) -> LineState {
        LineState {
            quantity: self.quantity,
            received: self.received,
            passed: self.passed,
            failed: self.failed,
        }
    }

    pub fn set_state(&mut self, s: LineState) {
        self.quantity = s.quantity;
        self.received = s.received;
        self.passed = s.passed;
        self.failed = s.failed;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Po {
    pub po_number: String,
    pub idempotency_key: Option<String>,
    pub fingerprint: String,
    pub supplier_id: String,
    pub status: PoStatus,
    pub reason: PurchaseReason,
    pub automatic: bool,
    pub currency: String,
    pub freight_minor: i64,
    pub promised_date: NaiveDate,
    pub overdue_announced_for: Option<NaiveDate>,
    pub delivery_place: String,
    pub choice: Option<ChoiceRecord>,
    pub revision: u32,
    pub note: String,
    pub backorder_ids: Vec<String>,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: String,
    /// By line number.
    pub lines: Vec<PoLine>,
}

impl Po {
    pub fn states(&self) -> Vec<LineState> {
        self.lines.iter().map(PoLine::state).collect()
    }

    pub fn total_minor(&self) -> i64 {
        self.lines
            .iter()
            .map(|l| i64::from(l.quantity) * l.unit_price_minor)
            .sum()
    }

    pub fn line_mut(&mut self, line_no: u32) -> Option<&mut PoLine> {
        self.lines.iter_mut().find(|l| l.line_no == line_no)
    }
}

#[derive(Debug, FromQueryResult)]
struct Row {
    po_number: String,
    idempotency_key: Option<String>,
    fingerprint: String,
    supplier_id: String,
    status: String,
    reason: String,
    automatic: bool,
    currency: String,
    freight_minor: i64,
    promised_date: NaiveDate,
    overdue_announced_for: Option<NaiveDate>,
    delivery_place: String,
    choice: Option<serde_json::Value>,
    revision: i32,
    note: String,
    backorder_ids: serde_json::Value,
    issued_by: String,
    issued_at: DateTime<Utc>,
    received_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    cancel_reason: String,
}

#[derive(Debug, FromQueryResult)]
struct LineRow {
    line_no: i32,
    part_no: String,
    specification: String,
    quantity: i32,
    unit_price_minor: i64,
    quote_id: Option<String>,
    quoted_price_minor: i64,
    best_price_minor: i64,
    received: i32,
    passed: i32,
    failed: i32,
    manual_request_nos: serde_json::Value,
}

const COLUMNS: &str = "po.po_number, po.idempotency_key, po.fingerprint, po.supplier_id, po.status, \
    po.reason, po.automatic, po.currency, po.freight_minor, po.promised_date, \
    po.overdue_announced_for, po.delivery_place, po.choice, po.revision, po.note, po.backorder_ids, \
    po.issued_by, po.issued_at, po.received_at, po.cancelled_at, po.cancel_reason";

fn count(v: i32) -> u32 {
    v.max(0) as u32
}

async fn with_lines<C: ConnectionTrait>(conn: &C, r: Row) -> Result<Po, DbErr> {
    let lines = LineRow::find_by_statement(stmt(
        "SELECT line_no, part_no, specification, quantity, unit_price_minor, quote_id, \
         quoted_price_minor, best_price_minor, received, passed, failed, manual_request_nos \
         FROM po_lines WHERE po_number = $1 ORDER BY line_no",
        [r.po_number.as_str().into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|l| {
        Ok(PoLine {
            line_no: count(l.line_no),
            part_no: l.part_no,
            specification: l.specification,
            quantity: count(l.quantity),
            unit_price_minor: l.unit_price_minor,
            quote_id: l.quote_id,
            quoted_price_minor: l.quoted_price_minor,
            best_price_minor: l.best_price_minor,
            received: count(l.received),
            passed: count(l.passed),
            failed: count(l.failed),
            manual_request_nos: from_json("manual_request_nos", l.manual_request_nos)?,
        })
    })
    .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(Po {
        status: PoStatus::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?,
        reason: PurchaseReason::parse(&r.reason).ok_or_else(|| corrupt("reason", &r.reason))?,
        choice: r.choice.map(|c| from_json("choice", c)).transpose()?,
        backorder_ids: from_json("backorder_ids", r.backorder_ids)?,
        po_number: r.po_number,
        idempotency_key: r.idempotency_key,
        fingerprint: r.fingerprint,
        supplier_id: r.supplier_id,
        automatic: r.automatic,
        currency: r.currency,
        freight_minor: r.freight_minor,
        promised_date: r.promised_date,
        overdue_announced_for: r.overdue_announced_for,
        delivery_place: r.delivery_place,
        revision: count(r.revision),
        note: r.note,
        issued_by: r.issued_by,
        issued_at: r.issued_at,
        received_at: r.received_at,
        cancelled_at: r.cancelled_at,
        cancel_reason: r.cancel_reason,
        lines,
    })
}

async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Option<Po>, DbErr> {
    match Row::find_by_statement(stmt(sql, values)).one(conn).await? {
        Some(r) => Ok(Some(with_lines(conn, r).await?)),
        None => Ok(None),
    }
}

async fn many<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Vec<Po>, DbErr> {
    let rows = Row::find_by_statement(stmt(sql, values)).all(conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(with_lines(conn, r).await?);
    }
    Ok(out)
}

pub async fn get<C: ConnectionTrait>(conn: &C, po_number: &str) -> Result<Option<Po>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM purchase_orders po WHERE po.po_number = $1"),
        vec![po_number.into()],
    )
    .await
}

/// The PO, locked: receipts, amendments, cancellation and the overdue scan take it in turn.
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    po_number: &str,
) -> Result<Option<Po>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM purchase_orders po WHERE po.po_number = $1 FOR UPDATE"),
        vec![po_number.into()],
    )
    .await
}

pub async fn find_by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<Po>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM purchase_orders po WHERE po.idempotency_key = $1"),
        vec![key.into()],
    )
    .await
}

pub async fn next_number<C: ConnectionTrait>(conn: &C) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt("SELECT nextval('po_numbers') AS n", []))
        .await?
        .ok_or_else(|| DbErr::Custom("nextval returned no row".into()))?;
    row.try_get("", "n")
}

pub async fn insert<C: ConnectionTrait>(conn: &C, po: &Po) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO purchase_orders (po_number, idempotency_key, fingerprint, supplier_id, status, \
         reason, automatic, currency, freight_minor, promised_date, overdue_announced_for, \
         delivery_place, choice, revision, note, backorder_ids, issued_by, issued_at, received_at, \
         cancelled_at, cancel_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        [
            po.po_number.as_str().into(),
            po.idempotency_key.clone().into(),
            po.fingerprint.as_str().into(),
            po.supplier_id.as_str().into(),
            po.status.as_str().into(),
            po.reason.as_str().into(),
            po.automatic.into(),
            po.currency.as_str().into(),
            po.freight_minor.into(),
            po.promised_date.into(),
            po.overdue_announced_for.into(),
            po.delivery_place.as_str().into(),
            po.choice.as_ref().map(to_json).into(),
            (po.revision as i32).into(),
            po.note.as_str().into(),
            to_json(&po.backorder_ids).into(),
            po.issued_by.as_str().into(),
            po.issued_at.into(),
            po.received_at.into(),
            po.cancelled_at.into(),
            po.cancel_reason.as_str().into(),
        ],
    ))
    .await?;
    for l in &po.lines {
        insert_line(conn, &po.po_number, l).await?;
    }
    Ok(())
}

pub async fn insert_line<C: ConnectionTrait>(
    conn: &C,
    po_number: &str,
    l: &PoLine,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO po_lines (po_number, line_no, part_no, specification, quantity, unit_price_minor, \
         quote_id, quoted_price_minor, best_price_minor, received, passed, failed, manual_request_nos) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        [
            po_number.into(),
            (l.line_no as i32).into(),
            l.part_no.as_str().into(),
            l.specification.as_str().into(),
            (l.quantity as i32).into(),
            l.unit_price_minor.into(),
            l.quote_id.clone().into(),
            l.quoted_price_minor.into(),
            l.best_price_minor.into(),
            (l.received as i32).into(),
            (l.passed as i32).into(),
            (l.failed as i32).into(),
            to_json(&l.manual_request_nos).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Writes what changes on a PO (its status, dates, revision, lines' quantities and receipts).
pub async fn update<C: ConnectionTrait>(conn: &C, po: &Po) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE purchase_orders SET status = $2, promised_date = $3, overdue_announced_for = $4, \
         revision = $5, received_at = $6, cancelled_at = $7, cancel_reason = $8, note = $9 \
         WHERE po_number = $1",
        [
            po.po_number.as_str().into(),
            po.status.as_str().into(),
            po.promised_date.into(),
            po.overdue_announced_for.into(),
            (po.revision as i32).into(),
            po.received_at.into(),
            po.cancelled_at.into(),
            po.cancel_reason.as_str().into(),
            po.note.as_str().into(),
        ],
    ))
    .await?;
    for l in &po.lines {
        conn.execute_raw(stmt(
            "UPDATE po_lines SET quantity = $3, received = $4, passed = $5, failed = $6 \
             WHERE po_number = $1 AND line_no = $2",
            [
                po.po_number.as_str().into(),
                (l.line_no as i32).into(),
                (l.quantity as i32).into(),
                (l.received as i32).into(),
                (l.passed as i32).into(),
                (l.failed as i32).into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// The newest automatic PO for `reason` with a line of `part_no` that nothing was received on,
/// still ISSUED and issued at or after `since`: the one a new need of the part joins.
pub async fn coalescing_candidate<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
    reason: PurchaseReason,
    since: DateTime<Utc>,
) -> Result<Option<(String, u32)>, DbErr> {
    #[derive(FromQueryResult)]
    struct Hit {
        po_number: String,
        line_no: i32,
    }
    Ok(Hit::find_by_statement(stmt(
        "SELECT po.po_number, l.line_no FROM purchase_orders po \
         JOIN po_lines l ON l.po_number = po.po_number \
         WHERE po.automatic AND po.status = 'ISSUED' AND po.reason = $2 AND po.issued_at >= $3 \
           AND l.part_no = $1 AND l.received = 0 \
         ORDER BY po.issued_at DESC, po.po_number DESC LIMIT 1",
        [part_no.into(), reason.as_str().into(), since.into()],
    ))
    .one(conn)
    .await?
    .map(|h| (h.po_number, count(h.line_no))))
}

/// Units of `part_no` still owed on open replenishment POs.
pub async fn open_replenishment_units<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT COALESCE(SUM(GREATEST(l.quantity - l.passed, 0)), 0)::bigint AS n \
             FROM po_lines l JOIN purchase_orders po ON po.po_number = l.po_number \
             WHERE l.part_no = $1 AND po.reason = 'REPLENISHMENT' \
               AND po.status IN ('ISSUED', 'PARTIALLY_RECEIVED')",
            [part_no.into()],
        ))
        .await?;
    Ok(row.and_then(|r| r.try_get("", "n").ok()).unwrap_or(0))
}

/// Open POs past their promised date (before `today`) not yet announced for that date, locked
/// (skipping those another transaction holds).
pub async fn overdue_unannounced<C: ConnectionTrait>(
    conn: &C,
    today: NaiveDate,
    limit: u64,
) -> Result<Vec<Po>, DbErr> {
    many(
        conn,
        format!(
            "SELECT {COLUMNS} FROM purchase_orders po \
             WHERE po.status IN ('ISSUED', 'PARTIALLY_RECEIVED') AND po.promised_date < $1 \
               AND po.overdue_announced_for IS DISTINCT FROM po.promised_date \
             ORDER BY po.promised_date, po.po_number LIMIT $2 FOR UPDATE SKIP LOCKED"
        ),
        vec![today.into(), (limit as i64).into()],
    )
    .await
}

/// What a list of POs may be filtered by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub statuses: Vec<PoStatus>,
    pub supplier_id: Option<String>,
    pub part_no: Option<String>,
    pub request_no: Option<String>,
    /// Open and past the promised date as of this day.
    pub overdue_on: Option<NaiveDate>,
    pub issued_from: Option<DateTime<Utc>>,
    pub issued_to: Option<DateTime<Utc>>,
    /// Only POs serving a request of this branch.
    pub branch: Option<String>,
}

/// A page of POs, newest first, after the key `(issued_at µs, po_number)` of the previous page.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    f: &Filter,
    after: Option<&(i64, String)>,
    limit: u64,
) -> Result<Vec<Po>, DbErr> {
    let mut sql = format!("SELECT {COLUMNS} FROM purchase_orders po WHERE TRUE");
    let mut values: Vec<Value> = Vec::new();
    let arg = |values: &mut Vec<Value>, v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    if !f.statuses.is_empty() {
        let marks: Vec<String> = f
            .statuses
            .iter()
            .map(|s| arg(&mut values, s.as_str().into()))
            .collect();
        sql.push_str(&format!(" AND po.status IN ({})", marks.join(", ")));
    }
    if let Some(s) = &f.supplier_id {
        let a = arg(&mut values, s.as_str().into());
        sql.push_str(&format!(" AND po.supplier_id = {a}"));
    }
    if let Some(p) = &f.part_no {
        let a = arg(&mut values, p.as_str().into());
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM po_lines l WHERE l.po_number = po.po_number AND l.part_no = {a})"
        ));
    }
    if let Some(r) = &f.request_no {
        let a = arg(&mut values, r.as_str().into());
        sql.push_str(&format!(
            " AND (EXISTS (SELECT 1 FROM demands d WHERE d.po_number = po.po_number AND d.request_no = {a}) \
               OR EXISTS (SELECT 1 FROM po_lines l WHERE l.po_number = po.po_number AND jsonb_exists(l.manual_request_nos, {a})))"
        ));
    }
    if let Some(d) = f.overdue_on {
        let a = arg(&mut values, d.into());
        sql.push_str(&format!(
            " AND po.status IN ('ISSUED', 'PARTIALLY_RECEIVED') AND po.promised_date < {a}"
        ));
    }
    if let Some(t) = f.issued_from {
        let a = arg(&mut values, t.into());
        sql.push_str(&format!(" AND po.issued_at >= {a}"));
    }
    if let Some(t) = f.issued_to {
        let a = arg(&mut values, t.into());
        sql.push_str(&format!(" AND po.issued_at < {a}"));
    }
    if let Some(b) = &f.branch {
        let a = arg(&mut values, b.as_str().into());
        sql.push_str(&format!(" AND {}", serves_branch_sql(&a)));
    }
    if let Some((micros, po)) = after {
        let t = DateTime::from_timestamp_micros(*micros).unwrap_or_default();
        let a = arg(&mut values, t.into());
        let b = arg(&mut values, po.as_str().into());
        sql.push_str(&format!(" AND (po.issued_at, po.po_number) < ({a}, {b})"));
    }
    let l = arg(&mut values, (limit as i64).into());
    sql.push_str(&format!(
        " ORDER BY po.issued_at DESC, po.po_number DESC LIMIT {l}"
    ));
    many(conn, sql, values).await
}

/// Whether the PO `po` serves a request of the branch in parameter `branch`: a shortage ordered
/// on it, or a request a person named on a line (the branch is part of the request number).
fn serves_branch_sql(branch: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM demands d WHERE d.po_number = po.po_number AND d.branch = {branch}) \
          OR EXISTS (SELECT 1 FROM po_lines l, jsonb_array_elements_text(l.manual_request_nos) r(no) \
                     WHERE l.po_number = po.po_number AND split_part(r.no, '-', 3) = {branch}))"
    )
}

/// The POs issued in `[from, to)` that are not cancelled, with their lines (the cost report).
pub async fn issued_between<C: ConnectionTrait>(
    conn: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Po>, DbErr> {
    many(
        conn,
        format!(
            "SELECT {COLUMNS} FROM purchase_orders po \
             WHERE po.issued_at >= $1 AND po.issued_at < $2 AND po.status <> 'CANCELLED' \
             ORDER BY po.issued_at, po.po_number"
        ),
        vec![from.into(), to.into()],
    )
    .await
}
