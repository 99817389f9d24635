//! `turnover_transfers` and `advance_exchanges`.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, stmt};
use crate::domain::Address;
use crate::domain::dealer::ExchangeStatus;

/// The transfer with this key, if any: its id.
pub async fn find_transfer<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<String>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT transfer_id FROM turnover_transfers WHERE idempotency_key = $1",
            [key.into()],
        ))
        .await?;
    row.map(|r| r.try_get("", "transfer_id")).transpose()
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_transfer<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    key: &str,
    part_no: &str,
    quantity: i64,
    reason: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO turnover_transfers (transfer_id, idempotency_key, part_no, quantity, reason, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            id.into(),
            key.into(),
            part_no.into(),
            quantity.into(),
            reason.into(),
            by.into(),
            at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Good units sent to a dealer ahead of its defective one.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub exchange_id: String,
    pub idempotency_key: String,
    pub dealer_code: String,
    pub branch: String,
    pub part_no: String,
    pub quantity: i64,
    pub defective_serial: String,
    pub ship_to: Option<Address>,
    pub status: ExchangeStatus,
    pub shipped_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub charge_currency: String,
    pub charge_minor: i64,
    pub overdue_at: Option<DateTime<Utc>>,
    pub returned_at: Option<DateTime<Utc>>,
    pub returned_late: bool,
    pub created_by: String,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    exchange_id: String,
    idempotency_key: String,
    dealer_code: String,
    branch: String,
    part_no: String,
    quantity: i64,
    defective_serial: String,
    ship_to: Option<serde_json::Value>,
    status: String,
    shipped_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    charge_currency: String,
    charge_minor: i64,
    overdue_at: Option<DateTime<Utc>>,
    returned_at: Option<DateTime<Utc>>,
    returned_late: bool,
    created_by: String,
}

impl TryFrom<Row> for Exchange {
    type Error = DbErr;
    fn try_from(r: Row) -> Result<Self, DbErr> {
        Ok(Exchange {
            status: ExchangeStatus::parse(&r.status)
                .ok_or_else(|| corrupt("exchange status", &r.status))?,
            ship_to: r
                .ship_to
                .map(|j| {
                    serde_json::from_value(j.clone())
                        .map_err(|_| corrupt("ship_to", &j.to_string()))
                })
                .transpose()?,
            exchange_id: r.exchange_id,
            idempotency_key: r.idempotency_key,
            dealer_code: r.dealer_code,
            branch: r.branch,
            part_no: r.part_no,
            quantity: r.quantity,
            defective_serial: r.defective_serial,
            shipped_at: r.shipped_at,
            due_at: r.due_at,
            charge_currency: r.charge_currency,
            charge_minor: r.charge_minor,
            overdue_at: r.overdue_at,
            returned_at: r.returned_at,
            returned_late: r.returned_late,
            created_by: r.created_by,
        })
    }
}

const COLUMNS: &str = "exchange_id, idempotency_key, dealer_code, branch, part_no, quantity, \
    defective_serial, ship_to, status, shipped_at, due_at, charge_currency, charge_minor, \
    overdue_at, returned_at, returned_late, created_by";

pub async fn insert<C: ConnectionTrait>(conn: &C, e: &Exchange) -> Result<(), DbErr> {
    let ship_to = e
        .ship_to
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|err| DbErr::Custom(format!("ship_to as JSON: {err}")))?;
    conn.execute_raw(stmt(
        format!(
            "INSERT INTO advance_exchanges ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17)"
        ),
        [
            e.exchange_id.as_str().into(),
            e.idempotency_key.as_str().into(),
            e.dealer_code.as_str().into(),
            e.branch.as_str().into(),
            e.part_no.as_str().into(),
            e.quantity.into(),
            e.defective_serial.as_str().into(),
            ship_to.into(),
            e.status.as_str().into(),
            e.shipped_at.into(),
            e.due_at.into(),
            e.charge_currency.as_str().into(),
            e.charge_minor.into(),
            e.overdue_at.into(),
            e.returned_at.into(),
            e.returned_late.into(),
            e.created_by.as_str().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Writes an exchange's state (status, overdue, returned).
pub async fn update<C: ConnectionTrait>(conn: &C, e: &Exchange) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE advance_exchanges SET status = $2, overdue_at = $3, returned_at = $4, \
         returned_late = $5 WHERE exchange_id = $1",
        [
            e.exchange_id.as_str().into(),
            e.status.as_str().into(),
            e.overdue_at.into(),
            e.returned_at.into(),
            e.returned_late.into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn find_by_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<Exchange>, DbErr> {
    Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM advance_exchanges WHERE idempotency_key = $1"),
        [key.into()],
    ))
    .one(conn)
    .await?
    .map(Exchange::try_from)
    .transpose()
}

/// The exchange, locked until the transaction ends.
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<Exchange>, DbErr> {
    Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM advance_exchanges WHERE exchange_id = $1 FOR UPDATE"),
        [id.into()],
    ))
    .one(conn)
    .await?
    .map(Exchange::try_from)
    .transpose()
}

/// Outstanding exchanges due before `now`, oldest due first, locked (skipping those another
/// scan holds); up to `limit`.
pub async fn overdue_for_update<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Exchange>, DbErr> {
    Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM advance_exchanges WHERE status = 'OUTSTANDING' AND due_at < $1 \
             ORDER BY due_at, exchange_id LIMIT $2 FOR UPDATE SKIP LOCKED"
        ),
        [now.into(), (limit as i64).into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(Exchange::try_from)
    .collect()
}

/// Which exchanges a listing wants, newest first.
#[derive(Debug, Clone, Default)]
pub struct ExchangeFilter {
    pub dealer_code: Option<String>,
    pub branch: Option<String>,
    pub overdue_only: bool,
    /// Keyset: after this (shipped_at, exchange_id), going back in time.
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: u64,
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    f: &ExchangeFilter,
) -> Result<Vec<Exchange>, DbErr> {
    let mut values: Vec<Value> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    if let Some(d) = &f.dealer_code {
        values.push(d.as_str().into());
        conditions.push(format!("dealer_code = ${}", values.len()));
    }
    if let Some(b) = &f.branch {
        values.push(b.as_str().into());
        conditions.push(format!("branch = ${}", values.len()));
    }
    if f.overdue_only {
        conditions.push("status = 'OVERDUE'".to_owned());
    }
    if let Some((at, id)) = &f.after {
        values.push((*at).into());
        values.push(id.as_str().into());
        let n = values.len();
        conditions.push(format!("(shipped_at, exchange_id) < (${}, ${n})", n - 1));
    }
    values.push((f.limit as i64).into());
    let l = values.len();
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM advance_exchanges {filter} \
             ORDER BY shipped_at DESC, exchange_id DESC LIMIT ${l}"
        ),
        values,
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(Exchange::try_from)
    .collect()
}
