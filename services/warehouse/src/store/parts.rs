//! The `parts` table.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::{corrupt, stmt};
use crate::domain::abc::Class;
use crate::domain::{Lifecycle, PartClass, PartSpec, Zone};

/// A catalogue part as stored: the entry as last upserted, and what the catalogue keeps itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub part_no: String,
    pub name: String,
    pub spec: String,
    pub unit: String,
    pub compatible_models: Vec<String>,
    pub part_class: PartClass,
    pub valuable: bool,
    pub unit_cost_currency: String,
    pub unit_cost_minor: i64,
    pub lifecycle: Lifecycle,
    pub safety_stock: i64,
    pub reorder_point: i64,
    pub reorder_quantity: i64,
    pub abc_class: Option<Class>,
    pub product_category: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Part {
    /// The stored part for `entry`, with the class and times the catalogue keeps.
    pub fn new(
        entry: PartSpec,
        abc_class: Option<Class>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Part {
        Part {
            part_no: entry.part_no.into_string(),
            name: entry.name,
            spec: entry.spec,
            unit: entry.unit,
            compatible_models: entry.compatible_models,
            part_class: entry.part_class,
            valuable: entry.valuable,
            unit_cost_currency: entry.unit_cost.currency,
            unit_cost_minor: entry.unit_cost.amount_minor,
            lifecycle: entry.lifecycle,
            safety_stock: entry.safety_stock,
            reorder_point: entry.reorder_point,
            reorder_quantity: entry.reorder_quantity,
            abc_class,
            product_category: entry.product_category,
            created_at,
            updated_at,
        }
    }
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

impl TryFrom<Row> for Part {
    type Error = DbErr;
    fn try_from(r: Row) -> Result<Self, DbErr> {
        Ok(Part {
            part_class: PartClass::parse(&r.part_class)
                .ok_or_else(|| corrupt("part class", &r.part_class))?,
            lifecycle: Lifecycle::parse(&r.lifecycle)
                .ok_or_else(|| corrupt("lifecycle", &r.lifecycle))?,
            abc_class: match r.abc_class {
                Some(c) => Some(Class::parse(&c).ok_or_else(|| corrupt("ABC class", &c))?),
                None => None,
            },
            part_no: r.part_no,
            name: r.name,
            spec: r.spec,
            unit: r.unit,
            compatible_models: r.compatible_models,
            valuable: r.valuable,
            unit_cost_currency: r.unit_cost_currency,
            unit_cost_minor: r.unit_cost_minor,
            safety_stock: r.safety_stock,
            reorder_point: r.reorder_point,
            reorder_quantity: r.reorder_quantity,
            product_category: r.product_category,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str = "part_no, name, spec, unit, compatible_models, part_class, valuable, \
    unit_cost_currency, unit_cost_minor, lifecycle, safety_stock, reorder_point, reorder_quantity, \
    abc_class, product_category, created_at, updated_at";

pub async fn get<C: ConnectionTrait>(conn: &C, part_no: &str) -> Result<Option<Part>, DbErr> {
    Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM parts WHERE part_no = $1"),
        [part_no.into()],
    ))
    .one(conn)
    .await?
    .map(Part::try_from)
    .transpose()
}

/// The part, locked until the transaction ends (catalogue changes serialize on it).
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
) -> Result<Option<Part>, DbErr> {
    Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM parts WHERE part_no = $1 FOR UPDATE"),
        [part_no.into()],
    ))
    .one(conn)
    .await?
    .map(Part::try_from)
    .transpose()
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
        p.abc_class.map(Class::as_str).into(),
        p.product_category.as_str().into(),
        p.created_at.into(),
        p.updated_at.into(),
    ]
}

/// Which parts a listing wants.
#[derive(Debug, Clone, Default)]
pub struct PartFilter {
    /// Part number or name contains it (case-insensitive); empty for all.
    pub query: String,
    pub compatible_model: Option<String>,
    pub part_class: Option<PartClass>,
    pub lifecycle: Option<Lifecycle>,
    /// Keyset: parts numbered after this one.
    pub after: Option<String>,
    pub limit: u64,
}

/// Ordered by part_no, up to `limit` rows.
pub async fn list<C: ConnectionTrait>(conn: &C, f: &PartFilter) -> Result<Vec<Part>, DbErr> {
    Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM parts WHERE ($1::text IS NULL OR part_no > $1) \
             AND ($2 = '' OR part_no ILIKE '%' || $2 || '%' OR name ILIKE '%' || $2 || '%') \
             AND ($3::text IS NULL OR $3 = ANY(compatible_models)) \
             AND ($4::text IS NULL OR part_class = $4) \
             AND ($5::text IS NULL OR lifecycle = $5) \
             ORDER BY part_no LIMIT $6"
        ),
        [
            f.after.clone().into(),
            f.query.as_str().into(),
            f.compatible_model.clone().into(),
            f.part_class.map(PartClass::as_str).into(),
            f.lifecycle.map(Lifecycle::as_str).into(),
            (f.limit as i64).into(),
        ],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(Part::try_from)
    .collect()
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
