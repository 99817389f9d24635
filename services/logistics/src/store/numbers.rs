//! Shipment and pick-up numbers: `<prefix>-<YYMM>-<6 digits>`, a sequence per prefix and local
//! month.

use sea_orm::{ConnectionTrait, DbErr};

use super::stmt;

pub async fn next<C: ConnectionTrait>(
    txn: &C,
    prefix: &str,
    period: &str,
) -> Result<String, DbErr> {
    let row = txn
        .query_one_raw(stmt(
            "INSERT INTO number_sequences (prefix, period, last) VALUES ($1, $2, 1) \
             ON CONFLICT (prefix, period) DO UPDATE SET last = number_sequences.last + 1 \
             RETURNING last",
            [prefix.into(), period.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("number sequence returned no row".into()))?;
    let n: i64 = row.try_get("", "last")?;
    Ok(format!("{prefix}-{period}-{n:06}"))
}
