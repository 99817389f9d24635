//! `stocktakes` and `stocktake_lines`.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::{corrupt, stmt};
use crate::domain::Zone;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StocktakeLine {
    pub part_no: String,
    pub zone: Zone,
    pub book: i64,
    pub counted: Option<i64>,
    pub reason: String,
    pub counted_by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stocktake {
    pub stocktake_id: String,
    pub idempotency_key: String,
    pub closed: bool,
    pub zones: Vec<Zone>,
    pub part_nos: Vec<String>,
    pub note: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub closed_by: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub accuracy_bp: i32,
    pub currency: String,
    pub difference_minor: i64,
    /// Ordered by part_no, zone.
    pub lines: Vec<StocktakeLine>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    stocktake_id: String,
    idempotency_key: String,
    status: String,
    zones: Vec<String>,
    part_nos: Vec<String>,
    note: String,
    opened_by: String,
    opened_at: DateTime<Utc>,
    closed_by: String,
    closed_at: Option<DateTime<Utc>>,
    accuracy_bp: i32,
    currency: String,
    difference_minor: i64,
}

#[derive(Debug, FromQueryResult)]
struct LineRow {
    part_no: String,
    zone: String,
    book: i64,
    counted: Option<i64>,
    reason: String,
    counted_by: String,
}

const COLUMNS: &str = "stocktake_id, idempotency_key, status, zones, part_nos, note, opened_by, \
    opened_at, closed_by, closed_at, accuracy_bp, currency, difference_minor";

async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    key: &str,
) -> Result<Option<Stocktake>, DbErr> {
    let Some(r) = Row::find_by_statement(stmt(sql, [key.into()]))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let lines = LineRow::find_by_statement(stmt(
        "SELECT part_no, zone, book, counted, reason, counted_by FROM stocktake_lines \
         WHERE stocktake_id = $1 ORDER BY part_no, zone",
        [r.stocktake_id.as_str().into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|l| {
        Ok(StocktakeLine {
            zone: Zone::parse(&l.zone).ok_or_else(|| corrupt("zone", &l.zone))?,
            part_no: l.part_no,
            book: l.book,
            counted: l.counted,
            reason: l.reason,
            counted_by: l.counted_by,
        })
    })
    .collect::<Result<Vec<_>, DbErr>>()?;
    let zones = r
        .zones
        .iter()
        .map(|z| Zone::parse(z).ok_or_else(|| corrupt("zone", z)))
        .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(Some(Stocktake {
        stocktake_id: r.stocktake_id,
        idempotency_key: r.idempotency_key,
        closed: r.status == "CLOSED",
        zones,
        part_nos: r.part_nos,
        note: r.note,
        opened_by: r.opened_by,
        opened_at: r.opened_at,
        closed_by: r.closed_by,
        closed_at: r.closed_at,
        accuracy_bp: r.accuracy_bp,
        currency: r.currency,
        difference_minor: r.difference_minor,
        lines,
    }))
}

pub async fn get<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Stocktake>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM stocktakes WHERE stocktake_id = $1"),
        id,
    )
    .await
}

pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<Stocktake>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM stocktakes WHERE stocktake_id = $1 FOR UPDATE"),
        id,
    )
    .await
}

pub async fn find_by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<Stocktake>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM stocktakes WHERE idempotency_key = $1"),
        key,
    )
    .await
}

/// Inserts the stocktake and snapshots the book on-hand of its scope: every (part, zone) the
/// part may be stocked in, narrowed to `zones` and `part_nos` when given.
pub async fn open<C: ConnectionTrait>(conn: &C, s: &Stocktake) -> Result<(), DbErr> {
    let zones: Vec<String> = s.zones.iter().map(|z| z.as_str().to_owned()).collect();
    conn.execute_raw(stmt(
        "INSERT INTO stocktakes (stocktake_id, idempotency_key, status, zones, part_nos, note, opened_by, opened_at) \
         VALUES ($1, $2, 'OPEN', $3, $4, $5, $6, $7)",
        [
            s.stocktake_id.as_str().into(),
            s.idempotency_key.as_str().into(),
            zones.clone().into(),
            s.part_nos.clone().into(),
            s.note.as_str().into(),
            s.opened_by.as_str().into(),
            s.opened_at.into(),
        ],
    ))
    .await?;
    conn.execute_raw(stmt(
        "INSERT INTO stocktake_lines (stocktake_id, part_no, zone, book) \
         SELECT $1, s.part_no, s.zone, s.on_hand FROM stock_levels s JOIN parts p USING (part_no) \
         WHERE (cardinality($2::text[]) = 0 OR s.zone = ANY($2)) \
           AND (cardinality($3::text[]) = 0 OR s.part_no = ANY($3)) \
           AND NOT (p.valuable AND s.zone = 'QUALIFIED') \
           AND NOT (NOT p.valuable AND s.zone = 'VALUABLES')",
        [
            s.stocktake_id.as_str().into(),
            zones.into(),
            s.part_nos.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Records a count; false when the stocktake has no such line.
pub async fn record_count<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    part_no: &str,
    zone: Zone,
    counted: i64,
    by: &str,
) -> Result<bool, DbErr> {
    let r = conn
        .execute_raw(stmt(
            "UPDATE stocktake_lines SET counted = $4, counted_by = $5 \
             WHERE stocktake_id = $1 AND part_no = $2 AND zone = $3",
            [
                id.into(),
                part_no.into(),
                zone.as_str().into(),
                counted.into(),
                by.into(),
            ],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Stores the close: the reasons posted per line, accuracy and the value of the differences.
pub async fn close<C: ConnectionTrait>(conn: &C, s: &Stocktake) -> Result<(), DbErr> {
    for l in &s.lines {
        conn.execute_raw(stmt(
            "UPDATE stocktake_lines SET reason = $4 WHERE stocktake_id = $1 AND part_no = $2 AND zone = $3",
            [
                s.stocktake_id.as_str().into(),
                l.part_no.as_str().into(),
                l.zone.as_str().into(),
                l.reason.as_str().into(),
            ],
        ))
        .await?;
    }
    conn.execute_raw(stmt(
        "UPDATE stocktakes SET status = 'CLOSED', closed_by = $2, closed_at = $3, accuracy_bp = $4, \
         currency = $5, difference_minor = $6 WHERE stocktake_id = $1",
        [
            s.stocktake_id.as_str().into(),
            s.closed_by.as_str().into(),
            s.closed_at.into(),
            s.accuracy_bp.into(),
            s.currency.as_str().into(),
            s.difference_minor.into(),
        ],
    ))
    .await?;
    Ok(())
}
