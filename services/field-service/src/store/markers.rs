//! What the service knows about a request besides its work orders: that it was cancelled (the
//! durable marker on which a later approval opens nothing) and that its parts were delivered
//! (so a work order opened after the delivery was handled does not wait for them).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use super::stmt;

/// Records the cancellation; false when it was recorded before.
pub async fn mark_cancelled<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    branch: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = conn
        .execute_raw(stmt(
            "INSERT INTO cancelled_requests (request_no, branch, reason, cancelled_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (request_no) DO NOTHING",
            [request_no.into(), branch.into(), reason.into(), at.into()],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

pub async fn is_cancelled<C: ConnectionTrait>(conn: &C, request_no: &str) -> Result<bool, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT 1 AS one FROM cancelled_requests WHERE request_no = $1",
            [request_no.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// Records the delivery (the first one counts).
pub async fn mark_delivered<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    shipment_no: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO delivered_requests (request_no, shipment_no, delivered_at) VALUES ($1, $2, $3) \
         ON CONFLICT (request_no) DO NOTHING",
        [request_no.into(), shipment_no.into(), at.into()],
    ))
    .await?;
    Ok(())
}

pub async fn delivered_at<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT delivered_at FROM delivered_requests WHERE request_no = $1",
            [request_no.into()],
        ))
        .await?;
    row.map(|r| r.try_get("", "delivered_at")).transpose()
}
