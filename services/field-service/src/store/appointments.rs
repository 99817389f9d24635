//! `appointments`: booked slots. A booking is active until it is released (moved, cancelled);
//! at most one active booking per (technician, window) and per work order, enforced by unique
//! indexes, so no concurrency and no loss of the Redis holds can double-book a technician.

use std::collections::BTreeMap;

use aftersales_platform::db::is_unique_violation;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use super::stmt;

/// A new booking.
#[derive(Debug, Clone)]
pub struct Booking<'a> {
    pub work_order_no: &'a str,
    pub technician_id: &'a str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub day: NaiveDate,
    pub booked_by: &'a str,
    pub at: DateTime<Utc>,
}

/// Books a slot; false when it is taken (the unique index refused it: a concurrent booking
/// won). Runs in a savepoint, so the refusal leaves the caller's transaction usable.
pub async fn book(conn: &sea_orm::DatabaseTransaction, b: &Booking<'_>) -> Result<bool, DbErr> {
    let sp = conn.begin().await?;
    let res = sp
        .execute_raw(stmt(
            "INSERT INTO appointments (work_order_no, technician_id, window_start, window_end, day, \
             booked_by, booked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                b.work_order_no.into(),
                b.technician_id.into(),
                b.from.into(),
                b.to.into(),
                b.day.into(),
                b.booked_by.into(),
                b.at.into(),
            ],
        ))
        .await;
    match res {
        Ok(_) => {
            sp.commit().await?;
            Ok(true)
        }
        Err(e) if is_unique_violation(&e) => {
            sp.rollback().await?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Releases the work order's active booking (if any); how many were released.
pub async fn release_of<C: ConnectionTrait>(
    conn: &C,
    work_order_no: &str,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<u64, DbErr> {
    let res = conn
        .execute_raw(stmt(
            "UPDATE appointments SET released_at = $2, release_reason = $3 \
             WHERE work_order_no = $1 AND released_at IS NULL",
            [work_order_no.into(), at.into(), reason.into()],
        ))
        .await?;
    Ok(res.rows_affected())
}

/// The work order holding the slot, if booked.
pub async fn holder<C: ConnectionTrait>(
    conn: &C,
    technician_id: &str,
    from: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT work_order_no FROM appointments WHERE technician_id = $1 AND window_start = $2 \
             AND released_at IS NULL",
            [technician_id.into(), from.into()],
        ))
        .await?;
    row.map(|r| r.try_get("", "work_order_no")).transpose()
}

/// Active bookings of a technician on a day.
pub async fn count_on_day<C: ConnectionTrait>(
    conn: &C,
    technician_id: &str,
    day: NaiveDate,
) -> Result<u32, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT count(*)::bigint AS n FROM appointments WHERE technician_id = $1 AND day = $2 \
             AND released_at IS NULL",
            [technician_id.into(), day.into()],
        ))
        .await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(n as u32)
}

/// Active bookings of `technicians` between two days: their slots (technician, window start)
/// and their count per (technician, day).
pub async fn booked_between<C: ConnectionTrait>(
    conn: &C,
    technicians: &[String],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<
    (
        Vec<(String, DateTime<Utc>)>,
        BTreeMap<(String, NaiveDate), u32>,
    ),
    DbErr,
> {
    if technicians.is_empty() {
        return Ok((vec![], BTreeMap::new()));
    }
    let rows = conn
        .query_all_raw(stmt(
            "SELECT technician_id, window_start, day FROM appointments \
             WHERE technician_id = ANY($1) AND day BETWEEN $2 AND $3 AND released_at IS NULL",
            [technicians.to_vec().into(), first.into(), last.into()],
        ))
        .await?;
    let mut slots = Vec::new();
    let mut per_day = BTreeMap::new();
    for r in rows {
        let t: String = r.try_get("", "technician_id")?;
        let start: DateTime<Utc> = r.try_get("", "window_start")?;
        let day: NaiveDate = r.try_get("", "day")?;
        *per_day.entry((t.clone(), day)).or_insert(0) += 1;
        slots.push((t, start));
    }
    Ok((slots, per_day))
}

/// How many active bookings a work order has (0 or 1).
pub async fn active_of<C: ConnectionTrait>(conn: &C, work_order_no: &str) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT count(*)::bigint AS n FROM appointments WHERE work_order_no = $1 AND released_at IS NULL",
            [work_order_no.into()],
        ))
        .await?;
    match row {
        Some(r) => r.try_get("", "n"),
        None => Ok(0),
    }
}
