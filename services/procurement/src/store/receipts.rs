//! `receipts` and `receipt_lines` (from `warehouse.goods.received`), and `field_failures`: the
//! scorecard's inputs.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::stmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    /// The PO line it was booked to; `None` for a part the PO does not order.
    pub line_no: Option<u32>,
    pub part_no: String,
    pub received: u32,
    pub passed: u32,
    pub failed: u32,
    pub failure_reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub receipt_id: String,
    pub po_number: String,
    pub supplier_id: String,
    pub received_date: NaiveDate,
    pub promised_date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub lines: Vec<ReceiptLine>,
}

/// Records the receipt once: false when it was recorded before (a repeated announcement).
pub async fn insert_if_new<C: ConnectionTrait>(conn: &C, r: &Receipt) -> Result<bool, DbErr> {
    let inserted = conn
        .query_one_raw(stmt(
            "INSERT INTO receipts (receipt_id, po_number, supplier_id, received_date, promised_date, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (receipt_id) DO NOTHING RETURNING receipt_id",
            [
                r.receipt_id.as_str().into(),
                r.po_number.as_str().into(),
                r.supplier_id.as_str().into(),
                r.received_date.into(),
                r.promised_date.into(),
                r.recorded_at.into(),
            ],
        ))
        .await?
        .is_some();
    if !inserted {
        return Ok(false);
    }
    for (i, l) in r.lines.iter().enumerate() {
        conn.execute_raw(stmt(
            "INSERT INTO receipt_lines (receipt_id, idx, line_no, part_no, received, passed, failed, failure_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                r.receipt_id.as_str().into(),
                (i as i32).into(),
                l.line_no.map(|n| n as i32).into(),
                l.part_no.as_str().into(),
                (l.received as i32).into(),
                (l.passed as i32).into(),
                (l.failed as i32).into(),
                l.failure_reason.as_str().into(),
            ],
        ))
        .await?;
    }
    Ok(true)
}

/// What the supplier delivered against its POs with a receipt date in `[from, to]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    pub deliveries: u32,
    pub on_time: u32,
    pub inspected: u32,
    pub passed: u32,
}

pub async fn delivered<C: ConnectionTrait>(
    conn: &C,
    supplier_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Delivered, DbErr> {
    #[derive(FromQueryResult)]
    struct R {
        deliveries: i64,
        on_time: i64,
        inspected: i64,
        passed: i64,
    }
    let r = R::find_by_statement(stmt(
        "SELECT count(*)::bigint AS deliveries, \
                count(*) FILTER (WHERE r.received_date <= r.promised_date)::bigint AS on_time, \
                COALESCE(SUM(l.passed + l.failed), 0)::bigint AS inspected, \
                COALESCE(SUM(l.passed), 0)::bigint AS passed \
         FROM receipt_lines l JOIN receipts r ON r.receipt_id = l.receipt_id \
         WHERE r.supplier_id = $1 AND r.received_date BETWEEN $2 AND $3",
        [supplier_id.into(), from.into(), to.into()],
    ))
    .one(conn)
    .await?;
    let n = |v: i64| v.clamp(0, i64::from(u32::MAX)) as u32;
    Ok(r.map(|r| Delivered {
        deliveries: n(r.deliveries),
        on_time: n(r.on_time),
        inspected: n(r.inspected),
        passed: n(r.passed),
    })
    .unwrap_or_default())
}

/// Units customers reported failing for the supplier's parts in `[from, to]`.
pub async fn field_failures<C: ConnectionTrait>(
    conn: &C,
    supplier_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<u32, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT COALESCE(SUM(units), 0)::bigint AS n FROM field_failures \
             WHERE supplier_id = $1 AND reported_on BETWEEN $2 AND $3",
            [supplier_id.into(), from.into(), to.into()],
        ))
        .await?;
    let n: i64 = row.and_then(|r| r.try_get("", "n").ok()).unwrap_or(0);
    Ok(n.clamp(0, i64::from(u32::MAX)) as u32)
}
