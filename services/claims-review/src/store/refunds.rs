//! The `refunds` table: one refund per request.

use aftersales_platform::proto::claims::v1 as pb;
use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// Inserts the refund unless the request already has one; whether it was inserted.
pub async fn insert_if_absent<C: ConnectionTrait>(
    conn: &C,
    refund_id: uuid::Uuid,
    at: DateTime<Utc>,
    r: &pb::Refund,
) -> Result<bool, DbErr> {
    let n = conn
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO refunds (request_no, refund_id, return_id, authorized_at, refund)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_no) DO NOTHING",
            [
                r.request_no.as_str().into(),
                refund_id.into(),
                r.return_id.as_str().into(),
                at.into(),
                r.encode_to_vec().into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn get<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Option<pb::Refund>, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT refund FROM refunds WHERE request_no = $1",
            [request_no.into()],
        ))
        .await?;
    row.map(|r| {
        let bytes: Vec<u8> = r.try_get("", "refund")?;
        pb::Refund::decode(bytes.as_slice())
            .map_err(|e| DbErr::Type(format!("stored refund {request_no}: {e}")))
    })
    .transpose()
}
