//! `receipts` and `receipt_lines`: deliveries booked to PENDING_INSPECTION, inspected once.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::stmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    pub line_no: i32,
    pub part_no: String,
    pub quantity: i64,
    pub po_line_no: i32,
    pub passed: i64,
    pub failed: i64,
    pub failure_reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub receipt_id: String,
    pub idempotency_key: String,
    pub po_number: String,
    pub supplier_id: String,
    pub delivery_note: String,
    /// False until inspected.
    pub inspected: bool,
    pub movement_date: NaiveDate,
    pub received_by: String,
    pub received_at: DateTime<Utc>,
    pub inspected_by: String,
    pub inspected_at: Option<DateTime<Utc>>,
    pub lines: Vec<ReceiptLine>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    receipt_id: String,
    idempotency_key: String,
    po_number: String,
    supplier_id: String,
    delivery_note: String,
    status: String,
    movement_date: NaiveDate,
    received_by: String,
    received_at: DateTime<Utc>,
    inspected_by: String,
    inspected_at: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
struct LineRow {
    line_no: i32,
    part_no: String,
    quantity: i64,
    po_line_no: i32,
    passed: i64,
    failed: i64,
    failure_reason: String,
}

const COLUMNS: &str = "receipt_id, idempotency_key, po_number, supplier_id, delivery_note, status, \
    movement_date, received_by, received_at, inspected_by, inspected_at";

async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    key: &str,
) -> Result<Option<Receipt>, DbErr> {
    let Some(r) = Row::find_by_statement(stmt(sql, [key.into()]))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let lines = LineRow::find_by_statement(stmt(
        "SELECT line_no, part_no, quantity, po_line_no, passed, failed, failure_reason \
         FROM receipt_lines WHERE receipt_id = $1 ORDER BY line_no",
        [r.receipt_id.as_str().into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|l| ReceiptLine {
        line_no: l.line_no,
        part_no: l.part_no,
        quantity: l.quantity,
        po_line_no: l.po_line_no,
        passed: l.passed,
        failed: l.failed,
        failure_reason: l.failure_reason,
    })
    .collect();
    Ok(Some(Receipt {
        receipt_id: r.receipt_id,
        idempotency_key: r.idempotency_key,
        po_number: r.po_number,
        supplier_id: r.supplier_id,
        delivery_note: r.delivery_note,
        inspected: r.status == "INSPECTED",
        movement_date: r.movement_date,
        received_by: r.received_by,
        received_at: r.received_at,
        inspected_by: r.inspected_by,
        inspected_at: r.inspected_at,
        lines,
    }))
}

pub async fn get<C: ConnectionTrait>(conn: &C, receipt_id: &str) -> Result<Option<Receipt>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM receipts WHERE receipt_id = $1"),
        receipt_id,
    )
    .await
}

pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    receipt_id: &str,
) -> Result<Option<Receipt>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM receipts WHERE receipt_id = $1 FOR UPDATE"),
        receipt_id,
    )
    .await
}

pub async fn find_by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<Receipt>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM receipts WHERE idempotency_key = $1"),
        key,
    )
    .await
}

pub async fn insert<C: ConnectionTrait>(conn: &C, r: &Receipt) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        format!("INSERT INTO receipts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, 'PENDING_INSPECTION', $6, $7, $8, '', NULL)"),
        [
            r.receipt_id.as_str().into(),
            r.idempotency_key.as_str().into(),
            r.po_number.as_str().into(),
            r.supplier_id.as_str().into(),
            r.delivery_note.as_str().into(),
            r.movement_date.into(),
            r.received_by.as_str().into(),
            r.received_at.into(),
        ],
    ))
    .await?;
    for l in &r.lines {
        conn.execute_raw(stmt(
            "INSERT INTO receipt_lines (receipt_id, line_no, part_no, quantity, po_line_no) VALUES ($1, $2, $3, $4, $5)",
            [
                r.receipt_id.as_str().into(),
                l.line_no.into(),
                l.part_no.as_str().into(),
                l.quantity.into(),
                l.po_line_no.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// Stores the inspection result of every line and marks the receipt inspected.
pub async fn record_inspection<C: ConnectionTrait>(
    conn: &C,
    r: &Receipt,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    for l in &r.lines {
        conn.execute_raw(stmt(
            "UPDATE receipt_lines SET passed = $3, failed = $4, failure_reason = $5 WHERE receipt_id = $1 AND line_no = $2",
            [
                r.receipt_id.as_str().into(),
                l.line_no.into(),
                l.passed.into(),
                l.failed.into(),
                l.failure_reason.as_str().into(),
            ],
        ))
        .await?;
    }
    conn.execute_raw(stmt(
        "UPDATE receipts SET status = 'INSPECTED', inspected_by = $2, inspected_at = $3 WHERE receipt_id = $1",
        [r.receipt_id.as_str().into(), by.into(), at.into()],
    ))
    .await?;
    Ok(())
}
