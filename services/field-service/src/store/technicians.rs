//! `technicians`: the whole technician as JSON with the columns lists filter on.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::stmt;
use crate::domain::technician::Technician;

#[derive(Debug, FromQueryResult)]
struct Row {
    body: serde_json::Value,
}

fn decode(r: Row) -> Result<Technician, DbErr> {
    serde_json::from_value(r.body).map_err(|e| DbErr::Json(format!("technician body: {e}")))
}

pub async fn get<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Technician>, DbErr> {
    Row::find_by_statement(stmt(
        "SELECT body FROM technicians WHERE technician_id = $1",
        [id.into()],
    ))
    .one(conn)
    .await?
    .map(decode)
    .transpose()
}

/// Inserts or replaces a technician; true when it was new.
pub async fn upsert<C: ConnectionTrait>(conn: &C, t: &Technician) -> Result<bool, DbErr> {
    let body = serde_json::to_value(t).map_err(|e| DbErr::Json(e.to_string()))?;
    let row = conn
        .query_one_raw(stmt(
            "INSERT INTO technicians (technician_id, branch, active, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (technician_id) DO UPDATE SET branch = $2, active = $3, body = $4, \
             updated_at = $6 RETURNING (xmax = 0) AS created",
            [
                t.technician_id.as_str().into(),
                t.branch.as_str().into(),
                t.active.into(),
                body.into(),
                t.created_at.into(),
                t.updated_at.into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("upsert returned no row".into()))?;
    row.try_get("", "created")
}

/// Technicians of `ids`, locked in id order (so two bookings lock them in the same order and
/// never deadlock); inactive ones included.
pub async fn lock_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
) -> Result<Vec<Technician>, DbErr> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Row::find_by_statement(stmt(
        "SELECT body FROM technicians WHERE technician_id = ANY($1) ORDER BY technician_id FOR UPDATE",
        [ids.to_vec().into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(decode)
    .collect()
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub branch: Option<String>,
    /// Lower-case.
    pub skill: Option<String>,
    /// `urban` / `suburban` / `remote`: technicians covering it (no regions listed: all).
    pub region: Option<String>,
    pub include_inactive: bool,
    /// Keyset: technician ids after this one.
    pub after: Option<String>,
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    f: &Filter,
    limit: u64,
) -> Result<Vec<Technician>, DbErr> {
    let values: Vec<Value> = vec![
        f.branch.clone().into(),
        f.skill.clone().into(),
        f.region.clone().into(),
        f.include_inactive.into(),
        f.after.clone().into(),
    ];
    Row::find_by_statement(stmt(
        format!(
            "SELECT body FROM technicians WHERE ($1::text IS NULL OR branch = $1) \
             AND ($2::text IS NULL OR body->'skills' ? $2) \
             AND ($3::text IS NULL OR jsonb_array_length(body->'regions') = 0 OR body->'regions' ? $3) \
             AND ($4 OR active) AND ($5::text IS NULL OR technician_id > $5) \
             ORDER BY technician_id LIMIT {limit}"
        ),
        values,
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(decode)
    .collect()
}

/// The next issued technician number of a branch.
pub async fn next_sequence<C: ConnectionTrait>(conn: &C, branch: &str) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "INSERT INTO technician_sequences (branch, last) VALUES ($1, 1) \
             ON CONFLICT (branch) DO UPDATE SET last = technician_sequences.last + 1 RETURNING last",
            [branch.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("sequence upsert returned no row".into()))?;
    row.try_get("", "last")
}
