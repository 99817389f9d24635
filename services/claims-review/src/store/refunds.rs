//! The `refunds` table: one refund per request, as JSON; rows from before migration 2 hold it
//! as protobuf bytes, read through [`crate::mapping::legacy`] (a refund is never rewritten).

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::domain::refund::Refund;

/// Inserts the refund unless the request already has one; whether it was inserted.
pub async fn insert_if_absent<C: ConnectionTrait>(conn: &C, r: &Refund) -> Result<bool, DbErr> {
    let detail = serde_json::to_value(r)
        .map(Value::from)
        .map_err(|e| DbErr::Type(format!("refund of {} as JSON: {e}", r.request_no)))?;
    let n = conn
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO refunds (request_no, refund_id, return_id, authorized_at, detail)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_no) DO NOTHING",
            [
                r.request_no.as_str().into(),
                r.refund_id.into(),
                r.return_id.as_str().into(),
                r.authorized_at.into(),
                detail,
            ],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn get<C: ConnectionTrait>(conn: &C, request_no: &str) -> Result<Option<Refund>, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT detail, refund FROM refunds WHERE request_no = $1",
            [request_no.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let bad = |what: String| DbErr::Type(format!("stored refund of {request_no}: {what}"));
    let detail: Option<serde_json::Value> = row.try_get("", "detail")?;
    let legacy: Option<Vec<u8>> = row.try_get("", "refund")?;
    let refund = match (detail, legacy) {
        (Some(json), _) => serde_json::from_value(json).map_err(|e| bad(e.to_string()))?,
        // Legacy fallback: bytes SQL cannot convert, decoded here.
        (None, Some(bytes)) => crate::mapping::legacy::refund(&bytes).map_err(bad)?,
        (None, None) => return Err(bad("neither detail nor legacy bytes".into())),
    };
    Ok(Some(refund))
}
