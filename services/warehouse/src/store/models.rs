//! The `product_models` table: each product model and where it is in its life.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::{corrupt, stmt};
use crate::domain::{Lifecycle, ModelLifecycle, ModelSpec};

/// A product model as stored: the entry as last upserted, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductModel {
    pub model: String,
    pub name: String,
    pub product_category: String,
    pub lifecycle: ModelLifecycle,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ProductModel {
    pub fn new(
        spec: ModelSpec,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> ProductModel {
        ProductModel {
            model: spec.model.into_string(),
            name: spec.name,
            product_category: spec.product_category,
            lifecycle: spec.lifecycle,
            created_at,
            updated_at,
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct Row {
    model: String,
    name: String,
    product_category: String,
    lifecycle: String,
    discontinued_on: Option<NaiveDate>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for ProductModel {
    type Error = DbErr;

    fn try_from(r: Row) -> Result<Self, DbErr> {
        let kind =
            Lifecycle::parse(&r.lifecycle).ok_or_else(|| corrupt("lifecycle", &r.lifecycle))?;
        Ok(ProductModel {
            lifecycle: ModelLifecycle::new(kind, r.discontinued_on)
                .map_err(|e| corrupt("discontinued_on", &e))?,
            model: r.model,
            name: r.name,
            product_category: r.product_category,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str =
    "model, name, product_category, lifecycle, discontinued_on, created_at, updated_at";

pub async fn get<C: ConnectionTrait>(conn: &C, model: &str) -> Result<Option<ProductModel>, DbErr> {
    Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM product_models WHERE model = $1"),
        [model.into()],
    ))
    .one(conn)
    .await?
    .map(ProductModel::try_from)
    .transpose()
}

/// The model, locked until the transaction ends (changes to it serialize on it).
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    model: &str,
) -> Result<Option<ProductModel>, DbErr> {
    Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM product_models WHERE model = $1 FOR UPDATE"),
        [model.into()],
    ))
    .one(conn)
    .await?
    .map(ProductModel::try_from)
    .transpose()
}

pub async fn insert<C: ConnectionTrait>(conn: &C, m: &ProductModel) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        format!("INSERT INTO product_models ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        values(m),
    ))
    .await?;
    Ok(())
}

pub async fn update<C: ConnectionTrait>(conn: &C, m: &ProductModel) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE product_models SET name = $2, product_category = $3, lifecycle = $4, \
         discontinued_on = $5, created_at = $6, updated_at = $7 WHERE model = $1",
        values(m),
    ))
    .await?;
    Ok(())
}

fn values(m: &ProductModel) -> Vec<sea_orm::Value> {
    vec![
        m.model.as_str().into(),
        m.name.as_str().into(),
        m.product_category.as_str().into(),
        m.lifecycle.kind().as_str().into(),
        m.lifecycle.discontinued_on().into(),
        m.created_at.into(),
        m.updated_at.into(),
    ]
}

/// Which models a listing wants.
#[derive(Debug, Clone, Default)]
pub struct ModelFilter {
    /// Model or name contains it (case-insensitive); empty for all.
    pub query: String,
    pub lifecycle: Option<Lifecycle>,
    /// Keyset: models after this one.
    pub after: Option<String>,
    pub limit: u64,
}

/// Ordered by model, up to `limit` rows.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    f: &ModelFilter,
) -> Result<Vec<ProductModel>, DbErr> {
    Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM product_models WHERE ($1::text IS NULL OR model > $1) \
             AND ($2 = '' OR model ILIKE '%' || $2 || '%' OR name ILIKE '%' || $2 || '%') \
             AND ($3::text IS NULL OR lifecycle = $3) \
             ORDER BY model LIMIT $4"
        ),
        [
            f.after.clone().into(),
            f.query.as_str().into(),
            f.lifecycle.map(Lifecycle::as_str).into(),
            (f.limit as i64).into(),
        ],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(ProductModel::try_from)
    .collect()
}
