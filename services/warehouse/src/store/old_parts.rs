//! `expected_old_parts`, `old_part_returns` and `supplier_returns`.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::stmt;

/// An old part a technician must bring back.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Expected {
    pub work_order_no: String,
    pub part_no: String,
    pub request_no: String,
    pub branch: String,
    pub technician_id: String,
    pub quantity: i64,
    pub expected_by_date: Option<NaiveDate>,
    pub received: i64,
}

/// An old part booked in.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct OldPartReturn {
    pub old_part_id: String,
    pub idempotency_key: String,
    pub request_no: String,
    pub branch: String,
    pub work_order_no: String,
    pub part_no: String,
    pub quantity: i64,
    pub serial: String,
    pub technician_id: String,
    pub expected_by_date: Option<NaiveDate>,
    pub condition: String,
    pub was_expected: bool,
    pub movement_date: NaiveDate,
    pub received_at: DateTime<Utc>,
}

/// Records that an old part is expected; a known (work order, part) is left as it is.
pub async fn record_expected<C: ConnectionTrait>(conn: &C, e: &Expected) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO expected_old_parts (work_order_no, part_no, request_no, branch, technician_id, \
         quantity, expected_by_date) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (work_order_no, part_no) DO NOTHING",
        [
            e.work_order_no.as_str().into(),
            e.part_no.as_str().into(),
            e.request_no.as_str().into(),
            e.branch.as_str().into(),
            e.technician_id.as_str().into(),
            e.quantity.into(),
            e.expected_by_date.into(),
        ],
    ))
    .await?;
    Ok(())
}

const EXPECTED: &str = "work_order_no, part_no, request_no, branch, technician_id, quantity, \
    expected_by_date, received";

pub async fn expected_for_update<C: ConnectionTrait>(
    conn: &C,
    work_order_no: &str,
    part_no: &str,
) -> Result<Option<Expected>, DbErr> {
    Expected::find_by_statement(stmt(
        format!(
            "SELECT {EXPECTED} FROM expected_old_parts WHERE work_order_no = $1 AND part_no = $2 FOR UPDATE"
        ),
        [work_order_no.into(), part_no.into()],
    ))
    .one(conn)
    .await
}

pub async fn add_received<C: ConnectionTrait>(
    conn: &C,
    work_order_no: &str,
    part_no: &str,
    quantity: i64,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE expected_old_parts SET received = received + $3 WHERE work_order_no = $1 AND part_no = $2",
        [work_order_no.into(), part_no.into(), quantity.into()],
    ))
    .await?;
    Ok(())
}

/// Which overdue old parts a listing wants.
#[derive(Debug, Clone)]
pub struct OverdueFilter {
    pub as_of: NaiveDate,
    pub branch: Option<String>,
    pub technician_id: Option<String>,
    /// Keyset: after this (expected_by_date, work_order_no, part_no).
    pub after: Option<(NaiveDate, String, String)>,
    pub limit: u64,
}

/// Not fully received and due before `as_of`, most overdue first; up to `limit` rows.
pub async fn overdue<C: ConnectionTrait>(
    conn: &C,
    f: &OverdueFilter,
) -> Result<Vec<Expected>, DbErr> {
    let mut values: Vec<Value> = vec![f.as_of.into()];
    let mut conditions = vec![
        "received < quantity".to_owned(),
        "expected_by_date < $1".to_owned(),
    ];
    if let Some(b) = &f.branch {
        values.push(b.as_str().into());
        conditions.push(format!("branch = ${}", values.len()));
    }
    if let Some(t) = &f.technician_id {
        values.push(t.as_str().into());
        conditions.push(format!("technician_id = ${}", values.len()));
    }
    if let Some((date, wo, part)) = &f.after {
        values.push((*date).into());
        values.push(wo.as_str().into());
        values.push(part.as_str().into());
        let n = values.len();
        conditions.push(format!(
            "(expected_by_date, work_order_no, part_no) > (${}, ${}, ${n})",
            n - 2,
            n - 1
        ));
    }
    values.push((f.limit as i64).into());
    let l = values.len();
    Expected::find_by_statement(stmt(
        format!(
            "SELECT {EXPECTED} FROM expected_old_parts WHERE {} \
             ORDER BY expected_by_date, work_order_no, part_no LIMIT ${l}",
            conditions.join(" AND ")
        ),
        values,
    ))
    .all(conn)
    .await
}

const RETURNS: &str = "old_part_id, idempotency_key, request_no, branch, work_order_no, part_no, \
    quantity, serial, technician_id, expected_by_date, condition, was_expected, movement_date, \
    received_at";

pub async fn find_return_by_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<OldPartReturn>, DbErr> {
    OldPartReturn::find_by_statement(stmt(
        format!("SELECT {RETURNS} FROM old_part_returns WHERE idempotency_key = $1"),
        [key.into()],
    ))
    .one(conn)
    .await
}

pub async fn insert_return<C: ConnectionTrait>(conn: &C, r: &OldPartReturn) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        format!(
            "INSERT INTO old_part_returns ({RETURNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ),
        [
            r.old_part_id.as_str().into(),
            r.idempotency_key.as_str().into(),
            r.request_no.as_str().into(),
            r.branch.as_str().into(),
            r.work_order_no.as_str().into(),
            r.part_no.as_str().into(),
            r.quantity.into(),
            r.serial.as_str().into(),
            r.technician_id.as_str().into(),
            r.expected_by_date.into(),
            r.condition.as_str().into(),
            r.was_expected.into(),
            r.movement_date.into(),
            r.received_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The supplier return with this key, if any: its id.
pub async fn find_supplier_return<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<String>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT supplier_return_id FROM supplier_returns WHERE idempotency_key = $1",
            [key.into()],
        ))
        .await?;
    row.map(|r| r.try_get("", "supplier_return_id")).transpose()
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_supplier_return<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    key: &str,
    supplier_id: &str,
    po_number: &str,
    rma_no: &str,
    reason: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO supplier_returns (supplier_return_id, idempotency_key, supplier_id, po_number, \
         rma_no, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            id.into(),
            key.into(),
            supplier_id.into(),
            po_number.into(),
            rma_no.into(),
            reason.into(),
            by.into(),
            at.into(),
        ],
    ))
    .await?;
    Ok(())
}
