//! The `parts` table.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::stmt;
use crate::domain::Zone;

/// A catalogue part as stored (already validated).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub part_no: String,
    pub name: String,
    pub spec: String,
    pub unit: String,
    pub compatible_models: Vec<String>,
    /// Storage name of `warehouse.v1.PartClass` (e.g. "KEY_PART").
    pub part_class: String,
    pub valuable: bool,
    pub unit_cost_currency: String,
    pub unit_cost_minor: i64,
    /// Storage name of `warehouse.v1.Lifecycle` (e.g. "IN_PRODUCTION").
    pub lifecycle: String,
    pub safety_stock: i64,
    pub reorder_point: i64,
    pub reorder_quantity: i64,
    pub abc_class: Option<String>,
    pub product_category: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    part_no: String,
    name: String,
    spec: String,
    unit: String,
    compatible_models: Vec<String>,
    part_class: String,
    valuable: bool,
    unit_cost_currency: String,
    unit_cost_minor: i64,
    lifecycle: String,
    safety_stock: i64,
    reorder_point: i64,
    reorder_quantity: i64,
    abc_class: Option<String>,
    product_category: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Row> for Part {
    fn from(r: Row) -> Self {
        Part {
            part_no: r.part_no,
            name: r.name,
            spec: r.spec,
            unit: r.unit,
            compatible_models: r.compatible_models,
            part_class: r.part_class,
            valuable: r.valuable,
            unit_cost_currency: r.unit_cost_currency,
            unit_cost_minor: r.unit_cost_minor,
            lifecycle: r.lifecycle,
            safety_stock: r.safety_stock,
            reorder_point: r.reorder_point,
            reorder_quantity: r.reorder_quantity,
            abc_class: r.abc_class,
            product_category: r.product_category,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: &str = "part_no, name, spec, unit, compatible_models, part_class, valuable, \
    unit_cost_currency, unit_cost_minor, lifecycle, safety_stock, reorder_point, reorder_quantity, \
    abc_class, product_category, created_at, updated_at";

pub async fn get<C: ConnectionTrait>(conn: &C, part_no: &str) -> Result<Option<Part>, DbErr> {
    Ok(Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM parts WHERE part_no = $1"),
        [part_no.into()],
    ))
    .one(conn)
    .await?
    .map(Part::from))
}

/// The part, locked until the transaction ends (catalogue changes serialize on it).
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
) -> Result<Option<Part>, DbErr> {
    Ok(Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM parts WHERE part_no = $1 FOR UPDATE"),
        [part_no.into()],
    ))
    .one(conn)
    .await?
    .map(Part::from))
}

/// Inserts the part and a zero stock row for every zone, so stock rows always exist to lock.
pub async fn insert<C: ConnectionTrait>(conn: &C, p: &Part) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        format!(
            "INSERT INTO parts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ),
        values(p),
    ))
    .await?;
    for zone in Zone::ALL {
        conn.execute_raw(stmt(
            "INSERT INTO stock_levels (part_no, zone) VALUES ($1, $2)",
            [p.part_no.as_str().into(), zone.as_str().into()],
        ))
        .await?;
    }
    Ok(())
}

pub async fn update<C: ConnectionTrait>(conn: &C, p: &Part) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE parts SET name = $2, spec = $3, unit = $4, compatible_models = $5, part_class = $6, \
         valuable = $7, unit_cost_currency = $8, unit_cost_minor = $9, lifecycle = $10, \
         safety_stock = $11, reorder_point = $12, reorder_quantity = $13, abc_class = $14, \
         product_category = $15, created_at = $16, updated_at = $17 WHERE part_no = $1",
        values(p),
    ))
    .await?;
    Ok(())
}

fn values(p: &Part) -> Vec<sea_orm::Value> {
    vec![
        p.part_no.as_str().into(),
        p.name.as_str().into(),
        p.spec.as_str().into(),
        p.unit.as_str().into(),
        p.compatible_models.clone().into(),
        p.part_class.as_str().into(),
        p.valuable.into(),
        p.unit_cost_currency.as_str().into(),
        p.unit_cost_minor.into(),
        p.lifecycle.as_str().into(),
        p.safety_stock.into(),
        p.reorder_point.into(),
        p.reorder_quantity.into(),
        p.abc_class.clone().into(),
        p.product_category.as_str().into(),
        p.created_at.into(),
        p.updated_at.into(),
    ]
}

/// Ordered by part_no, after `after`, up to `limit + 1` rows.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    query: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<Part>, DbErr> {
    Ok(Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM parts WHERE part_no > $1 \
             AND ($2 = '' OR part_no ILIKE '%' || $2 || '%' OR name ILIKE '%' || $2 || '%') \
             ORDER BY part_no LIMIT $3"
        ),
        [after.into(), query.into(), (i64::from(limit) + 1).into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(Part::from)
    .collect())
}

/// Sets the low-stock flag if it differs; returns whether it changed (the row is locked by the
/// update until the transaction ends).
pub async fn set_low_alerted<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
    alerted: bool,
) -> Result<bool, DbErr> {
    let r = conn
        .execute_raw(stmt(
            "UPDATE parts SET low_alerted = $2 WHERE part_no = $1 AND low_alerted <> $2",
            [part_no.into(), alerted.into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn low_alerted<C: ConnectionTrait>(conn: &C, part_no: &str) -> Result<bool, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT low_alerted FROM parts WHERE part_no = $1",
            [part_no.into()],
        ))
        .await?;
    match row {
        Some(r) => r.try_get("", "low_alerted"),
        None => Ok(false),
    }
}
