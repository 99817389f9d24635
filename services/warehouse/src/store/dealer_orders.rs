//! `dealer_orders` and their `dealer_order_lines`.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::{corrupt, stmt};
use crate::domain::{Address, Zone};

/// Parts a dealer ordered, issued at once.
#[derive(Debug, Clone, PartialEq)]
pub struct DealerOrder {
    pub order_id: String,
    pub idempotency_key: String,
    pub dealer_code: String,
    pub branch: String,
    pub ship_to: Address,
    pub dealer_reference: String,
    pub value_currency: String,
    pub value_minor: i64,
    pub issued_at: DateTime<Utc>,
    pub created_by: String,
    /// In the order's order.
    pub lines: Vec<OrderLine>,
}

/// One part of an order, where it was issued from and at what cost.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    pub part_no: String,
    pub quantity: i64,
    pub zone: Zone,
    pub unit_cost_currency: String,
    pub unit_cost_minor: i64,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    order_id: String,
    idempotency_key: String,
    dealer_code: String,
    branch: String,
    ship_to: serde_json::Value,
    dealer_reference: String,
    value_currency: String,
    value_minor: i64,
    issued_at: DateTime<Utc>,
    created_by: String,
}

#[derive(Debug, FromQueryResult)]
struct LineRow {
    part_no: String,
    quantity: i64,
    zone: String,
    unit_cost_currency: String,
    unit_cost_minor: i64,
}

impl TryFrom<LineRow> for OrderLine {
    type Error = DbErr;
    fn try_from(r: LineRow) -> Result<Self, DbErr> {
        Ok(OrderLine {
            zone: Zone::parse(&r.zone).ok_or_else(|| corrupt("zone", &r.zone))?,
            part_no: r.part_no,
            quantity: r.quantity,
            unit_cost_currency: r.unit_cost_currency,
            unit_cost_minor: r.unit_cost_minor,
        })
    }
}

const COLUMNS: &str = "order_id, idempotency_key, dealer_code, branch, ship_to, \
    dealer_reference, value_currency, value_minor, issued_at, created_by";

/// Stores the order and its lines. A used idempotency key is a unique violation.
pub async fn insert<C: ConnectionTrait>(conn: &C, o: &DealerOrder) -> Result<(), DbErr> {
    let ship_to = serde_json::to_value(&o.ship_to)
        .map_err(|err| DbErr::Custom(format!("ship_to as JSON: {err}")))?;
    conn.execute_raw(stmt(
        format!(
            "INSERT INTO dealer_orders ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ),
        [
            o.order_id.as_str().into(),
            o.idempotency_key.as_str().into(),
            o.dealer_code.as_str().into(),
            o.branch.as_str().into(),
            ship_to.into(),
            o.dealer_reference.as_str().into(),
            o.value_currency.as_str().into(),
            o.value_minor.into(),
            o.issued_at.into(),
            o.created_by.as_str().into(),
        ],
    ))
    .await?;
    for (i, l) in o.lines.iter().enumerate() {
        conn.execute_raw(stmt(
            "INSERT INTO dealer_order_lines (order_id, line_no, part_no, quantity, zone, \
             unit_cost_currency, unit_cost_minor) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                o.order_id.as_str().into(),
                (i as i32).into(),
                l.part_no.as_str().into(),
                l.quantity.into(),
                l.zone.as_str().into(),
                l.unit_cost_currency.as_str().into(),
                l.unit_cost_minor.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

pub async fn find_by_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<DealerOrder>, DbErr> {
    let row = Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM dealer_orders WHERE idempotency_key = $1"),
        [key.into()],
    ))
    .one(conn)
    .await?;
    with_lines(conn, row).await
}

pub async fn get<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<DealerOrder>, DbErr> {
    let row = Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM dealer_orders WHERE order_id = $1"),
        [id.into()],
    ))
    .one(conn)
    .await?;
    with_lines(conn, row).await
}

async fn with_lines<C: ConnectionTrait>(
    conn: &C,
    row: Option<Row>,
) -> Result<Option<DealerOrder>, DbErr> {
    let Some(r) = row else {
        return Ok(None);
    };
    let lines = LineRow::find_by_statement(stmt(
        "SELECT part_no, quantity, zone, unit_cost_currency, unit_cost_minor \
         FROM dealer_order_lines WHERE order_id = $1 ORDER BY line_no",
        [r.order_id.as_str().into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(OrderLine::try_from)
    .collect::<Result<Vec<_>, _>>()?;
    let ship_to = serde_json::from_value(r.ship_to.clone())
        .map_err(|_| corrupt("ship_to", &r.ship_to.to_string()))?;
    Ok(Some(DealerOrder {
        order_id: r.order_id,
        idempotency_key: r.idempotency_key,
        dealer_code: r.dealer_code,
        branch: r.branch,
        ship_to,
        dealer_reference: r.dealer_reference,
        value_currency: r.value_currency,
        value_minor: r.value_minor,
        issued_at: r.issued_at,
        created_by: r.created_by,
        lines,
    }))
}
