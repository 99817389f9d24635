//! `sim_schedule`: the sim carrier's updates, each sent once when due.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::stmt;
use crate::domain::sim::Step;

#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Due {
    pub id: i64,
    pub waybill_no: String,
    pub carrier_event_id: String,
    pub status: String,
    pub due_at: DateTime<Utc>,
    pub location: String,
    pub description: String,
}

pub async fn schedule<C: ConnectionTrait>(
    conn: &C,
    waybill_no: &str,
    steps: &[Step],
) -> Result<(), DbErr> {
    for (i, s) in steps.iter().enumerate() {
        conn.execute_raw(stmt(
            "INSERT INTO sim_schedule (waybill_no, carrier_event_id, status, due_at, location, description) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (carrier_event_id) DO NOTHING",
            [
                waybill_no.into(),
                format!("{waybill_no}-{}", i + 1).into(),
                s.status.as_str().into(),
                s.due_at.into(),
                s.location.as_str().into(),
                s.description.as_str().into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct Id {
    id: i64,
}

/// The updates due at `now`, oldest first.
pub async fn due<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    Ok(Id::find_by_statement(stmt(
        format!(
            "SELECT id FROM sim_schedule WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT {limit}"
        ),
        [now.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|r| r.id)
    .collect())
}

/// An update not sent yet.
pub async fn pending<C: ConnectionTrait>(conn: &C, id: i64) -> Result<Option<Due>, DbErr> {
    Due::find_by_statement(stmt(
        "SELECT id, waybill_no, carrier_event_id, status, due_at, location, description \
         FROM sim_schedule WHERE id = $1 AND fired_at IS NULL",
        [id.into()],
    ))
    .one(conn)
    .await
}

/// Marks an update sent; false when it was sent (or called off) meanwhile.
pub async fn fire<C: ConnectionTrait>(conn: &C, id: i64, at: DateTime<Utc>) -> Result<bool, DbErr> {
    Ok(conn
        .execute_raw(stmt(
            "UPDATE sim_schedule SET fired_at = $2 WHERE id = $1 AND fired_at IS NULL",
            [id.into(), at.into()],
        ))
        .await?
        .rows_affected()
        == 1)
}

/// Calls off what the sim carrier has not sent yet for a waybill (a cancelled pick-up).
pub async fn cancel<C: ConnectionTrait>(conn: &C, waybill_no: &str) -> Result<u64, DbErr> {
    Ok(conn
        .execute_raw(stmt(
            "DELETE FROM sim_schedule WHERE waybill_no = $1 AND fired_at IS NULL",
            [waybill_no.into()],
        ))
        .await?
        .rows_affected())
}
