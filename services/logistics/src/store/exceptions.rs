//! `exceptions`: delays, damage and loss on a shipment, open until closed with a resolution.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, from_json, parsed, stmt, to_json, ts};
use crate::domain::{ExceptionKind, Line, Source};

#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionRow {
    pub exception_id: String,
    pub shipment_no: String,
    pub request_no: String,
    pub kind: ExceptionKind,
    pub detail: String,
    pub source: Source,
    pub reported_at: DateTime<Utc>,
    pub reported_by: String,
    pub new_eta: Option<DateTime<Utc>>,
    pub affected_lines: Vec<Line>,
    pub replacement_needed: bool,
    pub tracking_event_id: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: String,
    pub resolved_by: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    exception_id: String,
    shipment_no: String,
    request_no: String,
    kind: String,
    detail: String,
    source: String,
    reported_at: DateTime<Utc>,
    reported_by: String,
    new_eta: Option<DateTime<Utc>>,
    affected_lines: serde_json::Value,
    replacement_needed: bool,
    tracking_event_id: Option<i64>,
    resolved_at: Option<DateTime<Utc>>,
    resolution: String,
    resolved_by: String,
    idempotency_key: Option<String>,
    request_hash: String,
}

const COLUMNS: &str = "exception_id, shipment_no, request_no, kind, detail, source, reported_at, \
    reported_by, new_eta, affected_lines, replacement_needed, tracking_event_id, resolved_at, \
    resolution, resolved_by, idempotency_key, request_hash";

fn convert(r: Row) -> Result<ExceptionRow, DbErr> {
    Ok(ExceptionRow {
        kind: parsed("exception kind", &r.kind, ExceptionKind::parse)?,
        source: parsed("source", &r.source, Source::parse)?,
        affected_lines: from_json("affected_lines", r.affected_lines)?,
        exception_id: r.exception_id,
        shipment_no: r.shipment_no,
        request_no: r.request_no,
        detail: r.detail,
        reported_at: r.reported_at,
        reported_by: r.reported_by,
        new_eta: r.new_eta,
        replacement_needed: r.replacement_needed,
        tracking_event_id: r.tracking_event_id,
        resolved_at: r.resolved_at,
        resolution: r.resolution,
        resolved_by: r.resolved_by,
        idempotency_key: r.idempotency_key,
        request_hash: r.request_hash,
    })
}

async fn all<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Vec<ExceptionRow>, DbErr> {
    Row::find_by_statement(stmt(sql, values))
        .all(conn)
        .await?
        .into_iter()
        .map(convert)
        .collect()
}

pub async fn get<C: ConnectionTrait>(
    conn: &C,
    exception_id: &str,
) -> Result<Option<ExceptionRow>, DbErr> {
    Ok(all(
        conn,
        format!("SELECT {COLUMNS} FROM exceptions WHERE exception_id = $1"),
        vec![exception_id.into()],
    )
    .await?
    .into_iter()
    .next())
}

pub async fn by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<ExceptionRow>, DbErr> {
    Ok(all(
        conn,
        format!("SELECT {COLUMNS} FROM exceptions WHERE idempotency_key = $1"),
        vec![key.into()],
    )
    .await?
    .into_iter()
    .next())
}

pub async fn of_shipment<C: ConnectionTrait>(
    conn: &C,
    shipment_no: &str,
) -> Result<Vec<ExceptionRow>, DbErr> {
    all(
        conn,
        format!("SELECT {COLUMNS} FROM exceptions WHERE shipment_no = $1 ORDER BY reported_at, exception_id"),
        vec![shipment_no.into()],
    )
    .await
}

pub async fn insert<C: ConnectionTrait>(conn: &C, e: &ExceptionRow) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        format!(
            "INSERT INTO exceptions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ),
        [
            e.exception_id.as_str().into(),
            e.shipment_no.as_str().into(),
            e.request_no.as_str().into(),
            e.kind.as_str().into(),
            e.detail.as_str().into(),
            e.source.as_str().into(),
            e.reported_at.into(),
            e.reported_by.as_str().into(),
            ts(e.new_eta),
            to_json(&e.affected_lines)?.into(),
            e.replacement_needed.into(),
            e.tracking_event_id.into(),
            ts(e.resolved_at),
            e.resolution.as_str().into(),
            e.resolved_by.as_str().into(),
            e.idempotency_key.clone().into(),
            e.request_hash.as_str().into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn resolve<C: ConnectionTrait>(
    conn: &C,
    exception_id: &str,
    at: DateTime<Utc>,
    resolution: &str,
    by: &str,
) -> Result<(), DbErr> {
    let n = conn
        .execute_raw(stmt(
            "UPDATE exceptions SET resolved_at = $2, resolution = $3, resolved_by = $4 \
             WHERE exception_id = $1 AND resolved_at IS NULL",
            [exception_id.into(), at.into(), resolution.into(), by.into()],
        ))
        .await?
        .rows_affected();
    if n != 1 {
        return Err(corrupt("open exception", exception_id));
    }
    Ok(())
}
