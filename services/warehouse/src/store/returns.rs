//! `returned_units` and `return_accessories`. A pick-up's unit is received once: see
//! [`lock_pickup`].

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, stmt};
use crate::domain::Zone;
use crate::domain::stock::stored_enum;

stored_enum!(
    /// Where a returned unit is in the returns intake: waiting for its inspection, or inspected.
    ReturnState { Received = "RECEIVED", Inspected = "INSPECTED" }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accessory {
    pub part_no: String,
    pub name: String,
    pub expected: i64,
    pub present: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReturnedUnit {
    pub return_id: String,
    pub idempotency_key: String,
    pub request_no: String,
    pub branch: String,
    pub pickup_no: String,
    pub part_no: String,
    pub serial: String,
    pub model: String,
    pub inspected: bool,
    pub resaleable: bool,
    pub zone: Option<Zone>,
    pub inspection_note: String,
    pub movement_date: NaiveDate,
    pub received_at: DateTime<Utc>,
    pub inspected_at: Option<DateTime<Utc>>,
    pub inspected_by: String,
    pub accessories: Vec<Accessory>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    return_id: String,
    idempotency_key: String,
    request_no: String,
    branch: String,
    pickup_no: String,
    part_no: String,
    serial: String,
    model: String,
    status: String,
    resaleable: bool,
    zone: Option<String>,
    inspection_note: String,
    movement_date: NaiveDate,
    received_at: DateTime<Utc>,
    inspected_at: Option<DateTime<Utc>>,
    inspected_by: String,
}

#[derive(Debug, FromQueryResult)]
struct AccessoryRow {
    part_no: String,
    name: String,
    expected: i64,
    present: i64,
}

const COLUMNS: &str = "return_id, idempotency_key, request_no, branch, pickup_no, part_no, serial, \
    model, status, resaleable, zone, inspection_note, movement_date, received_at, inspected_at, inspected_by";

async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    key: &str,
) -> Result<Option<ReturnedUnit>, DbErr> {
    match Row::find_by_statement(stmt(sql, [key.into()]))
        .one(conn)
        .await?
    {
        Some(r) => Ok(Some(with_accessories(conn, r).await?)),
        None => Ok(None),
    }
}

/// The unit of a row, with its accessories.
async fn with_accessories<C: ConnectionTrait>(conn: &C, r: Row) -> Result<ReturnedUnit, DbErr> {
    let accessories = AccessoryRow::find_by_statement(stmt(
        "SELECT part_no, name, expected, present FROM return_accessories WHERE return_id = $1 ORDER BY position",
        [r.return_id.as_str().into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|a| Accessory {
        part_no: a.part_no,
        name: a.name,
        expected: a.expected,
        present: a.present,
    })
    .collect();
    let zone = match r.zone {
        Some(z) => Some(Zone::parse(&z).ok_or_else(|| corrupt("zone", &z))?),
        None => None,
    };
    let state = ReturnState::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?;
    Ok(ReturnedUnit {
        return_id: r.return_id,
        idempotency_key: r.idempotency_key,
        request_no: r.request_no,
        branch: r.branch,
        pickup_no: r.pickup_no,
        part_no: r.part_no,
        serial: r.serial,
        model: r.model,
        inspected: state == ReturnState::Inspected,
        resaleable: r.resaleable,
        zone,
        inspection_note: r.inspection_note,
        movement_date: r.movement_date,
        received_at: r.received_at,
        inspected_at: r.inspected_at,
        inspected_by: r.inspected_by,
        accessories,
    })
}

pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<ReturnedUnit>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM returned_units WHERE return_id = $1 FOR UPDATE"),
        id,
    )
    .await
}

pub async fn get<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<ReturnedUnit>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM returned_units WHERE return_id = $1"),
        id,
    )
    .await
}

pub async fn find_by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<ReturnedUnit>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM returned_units WHERE idempotency_key = $1"),
        key,
    )
    .await
}

/// The unit received under a pick-up, if one was (the first, should an older pair exist).
pub async fn find_by_pickup<C: ConnectionTrait>(
    conn: &C,
    pickup_no: &str,
) -> Result<Option<ReturnedUnit>, DbErr> {
    one(
        conn,
        format!(
            "SELECT {COLUMNS} FROM returned_units WHERE pickup_no = $1 ORDER BY received_at, return_id LIMIT 1"
        ),
        pickup_no,
    )
    .await
}

/// Which returned units a listing wants.
#[derive(Debug, Clone)]
pub struct ReturnFilter {
    pub state: ReturnState,
    pub request_no: Option<String>,
    /// Keyset: units received after this (received_at, return_id). Neither changes once a unit
    /// is received, so inspecting units between pages does not make a page skip any.
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: u64,
}

/// Oldest received first (the return id breaks ties), up to `limit` units.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    f: &ReturnFilter,
) -> Result<Vec<ReturnedUnit>, DbErr> {
    let mut values: Vec<Value> = Vec::new();
    let mut param = |v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let mut conditions = vec![format!("status = {}", param(f.state.as_str().into()))];
    if let Some(r) = &f.request_no {
        conditions.push(format!("request_no = {}", param(r.as_str().into())));
    }
    if let Some((at, id)) = &f.after {
        let (at, id) = (param((*at).into()), param(id.as_str().into()));
        conditions.push(format!("(received_at, return_id) > ({at}, {id})"));
    }
    let limit = param((f.limit as i64).into());
    let rows = Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM returned_units WHERE {} \
             ORDER BY received_at, return_id LIMIT {limit}",
            conditions.join(" AND ")
        ),
        values,
    ))
    .all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(with_accessories(conn, r).await?);
    }
    Ok(out)
}

/// The advisory-lock class of pick-ups received: the two-key form, apart from the single-key
/// locks and from requests' ("WHPU").
const PICKUP_LOCK_CLASS: i32 = 0x5748_5055;

/// Takes the pick-up's lock until the transaction ends: receiving a pick-up's unit (by event or
/// by a clerk) looks for it under this lock, so the two paths receive it once between them.
pub async fn lock_pickup<C: ConnectionTrait>(conn: &C, pickup_no: &str) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
        [PICKUP_LOCK_CLASS.into(), pickup_no.into()],
    ))
    .await?;
    Ok(())
}

pub async fn insert<C: ConnectionTrait>(conn: &C, u: &ReturnedUnit) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO returned_units (return_id, idempotency_key, request_no, branch, pickup_no, \
         part_no, serial, model, status, movement_date, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'RECEIVED', $9, $10)",
        [
            u.return_id.as_str().into(),
            u.idempotency_key.as_str().into(),
            u.request_no.as_str().into(),
            u.branch.as_str().into(),
            u.pickup_no.as_str().into(),
            u.part_no.as_str().into(),
            u.serial.as_str().into(),
            u.model.as_str().into(),
            u.movement_date.into(),
            u.received_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn record_inspection<C: ConnectionTrait>(
    conn: &C,
    u: &ReturnedUnit,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE returned_units SET status = 'INSPECTED', resaleable = $2, zone = $3, \
         inspection_note = $4, inspected_at = $5, inspected_by = $6 WHERE return_id = $1",
        [
            u.return_id.as_str().into(),
            u.resaleable.into(),
            u.zone.map(|z| z.as_str()).into(),
            u.inspection_note.as_str().into(),
            u.inspected_at.into(),
            u.inspected_by.as_str().into(),
        ],
    ))
    .await?;
    for (i, a) in u.accessories.iter().enumerate() {
        conn.execute_raw(stmt(
            "INSERT INTO return_accessories (return_id, position, part_no, name, expected, present) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            [
                u.return_id.as_str().into(),
                (i as i32).into(),
                a.part_no.as_str().into(),
                a.name.as_str().into(),
                a.expected.into(),
                a.present.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}
