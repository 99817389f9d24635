//! `quotes`: prices, minimum quantities, lead times and validity per supplier and part. As of a
//! date, a supplier's current quote for a part is its newest one valid from that date or before
//! (a newer quote supersedes the older from its valid-from date); it may have expired.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, stmt};
use crate::domain::SupplierStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub quote_id: String,
    pub idempotency_key: String,
    pub fingerprint: String,
    pub supplier_id: String,
    pub part_no: String,
    pub currency: String,
    pub unit_price_minor: i64,
    pub min_quantity: u32,
    pub lead_time_days: u32,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub supplier_ref: String,
    pub specification: String,
    pub freight_minor: i64,
    pub submitted_at: DateTime<Utc>,
}

impl Quote {
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && day <= self.valid_until
    }
}

/// A current quote with its supplier as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub quote: Quote,
    pub supplier_name: String,
    pub status: SupplierStatus,
    pub score_bp: u32,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    quote_id: String,
    idempotency_key: String,
    fingerprint: String,
    supplier_id: String,
    part_no: String,
    currency: String,
    unit_price_minor: i64,
    min_quantity: i32,
    lead_time_days: i32,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    supplier_ref: String,
    specification: String,
    freight_minor: i64,
    submitted_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct OfferRow {
    quote_id: String,
    idempotency_key: String,
    fingerprint: String,
    supplier_id: String,
    part_no: String,
    currency: String,
    unit_price_minor: i64,
    min_quantity: i32,
    lead_time_days: i32,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    supplier_ref: String,
    specification: String,
    freight_minor: i64,
    submitted_at: DateTime<Utc>,
    supplier_name: String,
    status: String,
    score_bp: i32,
}

const COLUMNS: &str = "q.quote_id, q.idempotency_key, q.fingerprint, q.supplier_id, q.part_no, \
    q.currency, q.unit_price_minor, q.min_quantity, q.lead_time_days, q.valid_from, q.valid_until, \
    q.supplier_ref, q.specification, q.freight_minor, q.submitted_at";

impl From<Row> for Quote {
    fn from(r: Row) -> Self {
        Quote {
            quote_id: r.quote_id,
            idempotency_key: r.idempotency_key,
            fingerprint: r.fingerprint,
            supplier_id: r.supplier_id,
            part_no: r.part_no,
            currency: r.currency,
            unit_price_minor: r.unit_price_minor,
            min_quantity: r.min_quantity.max(1) as u32,
            lead_time_days: r.lead_time_days.max(0) as u32,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            supplier_ref: r.supplier_ref,
            specification: r.specification,
            freight_minor: r.freight_minor,
            submitted_at: r.submitted_at,
        }
    }
}

impl TryFrom<OfferRow> for Offer {
    type Error = DbErr;

    fn try_from(r: OfferRow) -> Result<Self, DbErr> {
        Ok(Offer {
            status: SupplierStatus::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?,
            supplier_name: r.supplier_name,
            score_bp: r.score_bp.clamp(0, 10_000) as u32,
            quote: Quote::from(Row {
                quote_id: r.quote_id,
                idempotency_key: r.idempotency_key,
                fingerprint: r.fingerprint,
                supplier_id: r.supplier_id,
                part_no: r.part_no,
                currency: r.currency,
                unit_price_minor: r.unit_price_minor,
                min_quantity: r.min_quantity,
                lead_time_days: r.lead_time_days,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
                supplier_ref: r.supplier_ref,
                specification: r.specification,
                freight_minor: r.freight_minor,
                submitted_at: r.submitted_at,
            }),
        })
    }
}

async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Option<Quote>, DbErr> {
    Ok(Row::find_by_statement(stmt(sql, values))
        .one(conn)
        .await?
        .map(Quote::from))
}

pub async fn get<C: ConnectionTrait>(conn: &C, quote_id: &str) -> Result<Option<Quote>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM quotes q WHERE q.quote_id = $1"),
        vec![quote_id.into()],
    )
    .await
}

pub async fn find_by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<Quote>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM quotes q WHERE q.idempotency_key = $1"),
        vec![key.into()],
    )
    .await
}

pub async fn insert<C: ConnectionTrait>(conn: &C, q: &Quote) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO quotes (quote_id, idempotency_key, fingerprint, supplier_id, part_no, currency, \
         unit_price_minor, min_quantity, lead_time_days, valid_from, valid_until, supplier_ref, \
         specification, freight_minor, submitted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        [
            q.quote_id.as_str().into(),
            q.idempotency_key.as_str().into(),
            q.fingerprint.as_str().into(),
            q.supplier_id.as_str().into(),
            q.part_no.as_str().into(),
            q.currency.as_str().into(),
            q.unit_price_minor.into(),
            (q.min_quantity as i32).into(),
            (q.lead_time_days as i32).into(),
            q.valid_from.into(),
            q.valid_until.into(),
            q.supplier_ref.as_str().into(),
            q.specification.as_str().into(),
            q.freight_minor.into(),
            q.submitted_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Every supplier's current quote for `part_no` as of `day` (possibly expired), with the
/// supplier's name, status and score; ordered by supplier.
pub async fn current_offers<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
    day: NaiveDate,
) -> Result<Vec<Offer>, DbErr> {
    OfferRow::find_by_statement(stmt(
        format!(
            "SELECT DISTINCT ON (q.supplier_id) {COLUMNS}, s.name AS supplier_name, s.status, s.score_bp \
             FROM quotes q JOIN suppliers s ON s.supplier_id = q.supplier_id \
             WHERE q.part_no = $1 AND q.valid_from <= $2 \
             ORDER BY q.supplier_id, q.seq DESC"
        ),
        [part_no.into(), day.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(Offer::try_from)
    .collect()
}

/// The supplier's current quotes (one per part) as of `day`, valid on it.
pub async fn current_of_supplier<C: ConnectionTrait>(
    conn: &C,
    supplier_id: &str,
    day: NaiveDate,
) -> Result<Vec<Quote>, DbErr> {
    Ok(Row::find_by_statement(stmt(
        format!(
            "SELECT * FROM (SELECT DISTINCT ON (q.part_no) {COLUMNS} FROM quotes q \
             WHERE q.supplier_id = $1 AND q.valid_from <= $2 ORDER BY q.part_no, q.seq DESC) c \
             WHERE c.valid_until >= $2"
        ),
        [supplier_id.into(), day.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(Quote::from)
    .collect())
}
