//! `pickups`: return pick-ups at the customer's door (or a customer who ships the unit
//! themselves). Read and written whole under the request's lock.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, from_json, parsed, stmt, to_json, ts};
use crate::domain::{Address, Method, PickupStatus, Region};

#[derive(Debug, Clone, PartialEq)]
pub struct Pickup {
    pub pickup_no: String,
    pub request_no: String,
    pub branch: String,
    pub status: PickupStatus,
    /// Scheduled on the claim's approval (one per request), not by a person.
    pub automatic: bool,
    pub pickup_address: Address,
    pub region: Option<Region>,
    pub destination: String,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    pub method: Method,
    pub carrier: String,
    pub waybill_no: Option<String>,
    pub part_no: String,
    pub serial: String,
    pub model: String,
    pub items: Vec<String>,
    pub items_handed_over: Option<Vec<String>>,
    pub free_of_charge: bool,
    pub currency: String,
    pub fee_minor: i64,
    pub fee_reason: String,
    pub estimated_cost_minor: i64,
    pub customer_ships: bool,
    pub scheduled_at: DateTime<Utc>,
    pub collected_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub chase_due_at: Option<DateTime<Utc>>,
    pub chased_at: Option<DateTime<Utc>>,
    pub last_tracking_at: Option<DateTime<Utc>>,
    pub note: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    pickup_no: String,
    request_no: String,
    branch: String,
    status: String,
    automatic: bool,
    pickup_address: serde_json::Value,
    region: String,
    destination: String,
    window_from: Option<DateTime<Utc>>,
    window_to: Option<DateTime<Utc>>,
    method: String,
    carrier: String,
    waybill_no: Option<String>,
    part_no: String,
    serial: String,
    model: String,
    items: serde_json::Value,
    items_handed_over: Option<serde_json::Value>,
    free_of_charge: bool,
    currency: String,
    fee_minor: i64,
    fee_reason: String,
    estimated_cost_minor: i64,
    customer_ships: bool,
    scheduled_at: DateTime<Utc>,
    collected_at: Option<DateTime<Utc>>,
    arrived_at: Option<DateTime<Utc>>,
    failed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    chase_due_at: Option<DateTime<Utc>>,
    chased_at: Option<DateTime<Utc>>,
    last_tracking_at: Option<DateTime<Utc>>,
    note: String,
    idempotency_key: Option<String>,
    request_hash: String,
}

const COLUMNS: &str = "pickup_no, request_no, branch, status, automatic, pickup_address, region, \
    destination, window_from, window_to, method, carrier, waybill_no, part_no, serial, model, items, \
    items_handed_over, free_of_charge, currency, fee_minor, fee_reason, estimated_cost_minor, \
    customer_ships, scheduled_at, collected_at, arrived_at, failed_at, cancelled_at, chase_due_at, \
    chased_at, last_tracking_at, note, idempotency_key, request_hash";

impl TryFrom<Row> for Pickup {
    type Error = DbErr;

    fn try_from(r: Row) -> Result<Self, DbErr> {
        Ok(Pickup {
            status: parsed("status", &r.status, PickupStatus::parse)?,
            method: parsed("method", &r.method, Method::parse)?,
            region: match r.region.as_str() {
                "" => None,
                s => Some(parsed("region", s, Region::parse)?),
            },
            pickup_address: from_json("pickup_address", r.pickup_address)?,
            items: from_json("items", r.items)?,
            items_handed_over: r
                .items_handed_over
                .map(|v| from_json("items_handed_over", v))
                .transpose()?,
            pickup_no: r.pickup_no,
            request_no: r.request_no,
            branch: r.branch,
            automatic: r.automatic,
            destination: r.destination,
            window_from: r.window_from,
            window_to: r.window_to,
            carrier: r.carrier,
            waybill_no: r.waybill_no,
            part_no: r.part_no,
            serial: r.serial,
            model: r.model,
            free_of_charge: r.free_of_charge,
            currency: r.currency,
            fee_minor: r.fee_minor,
            fee_reason: r.fee_reason,
            estimated_cost_minor: r.estimated_cost_minor,
            customer_ships: r.customer_ships,
            scheduled_at: r.scheduled_at,
            collected_at: r.collected_at,
            arrived_at: r.arrived_at,
            failed_at: r.failed_at,
            cancelled_at: r.cancelled_at,
            chase_due_at: r.chase_due_at,
            chased_at: r.chased_at,
            last_tracking_at: r.last_tracking_at,
            note: r.note,
            idempotency_key: r.idempotency_key,
            request_hash: r.request_hash,
        })
    }
}

async fn all<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Vec<Pickup>, DbErr> {
    Row::find_by_statement(stmt(sql, values))
        .all(conn)
        .await?
        .into_iter()
        .map(Pickup::try_from)
        .collect()
}

async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Option<Pickup>, DbErr> {
    Ok(all(conn, sql, values).await?.into_iter().next())
}

pub async fn get<C: ConnectionTrait>(conn: &C, pickup_no: &str) -> Result<Option<Pickup>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM pickups WHERE pickup_no = $1"),
        vec![pickup_no.into()],
    )
    .await
}

pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    pickup_no: &str,
) -> Result<Option<Pickup>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM pickups WHERE pickup_no = $1 FOR UPDATE"),
        vec![pickup_no.into()],
    )
    .await
}

pub async fn by_waybill<C: ConnectionTrait>(
    conn: &C,
    carrier: &str,
    waybill_no: &str,
) -> Result<Option<Pickup>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM pickups WHERE carrier = $1 AND waybill_no = $2"),
        vec![carrier.into(), waybill_no.into()],
    )
    .await
}

pub async fn by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<Pickup>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM pickups WHERE idempotency_key = $1"),
        vec![key.into()],
    )
    .await
}

pub async fn of_request<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Vec<Pickup>, DbErr> {
    all(
        conn,
        format!(
            "SELECT {COLUMNS} FROM pickups WHERE request_no = $1 ORDER BY scheduled_at, pickup_no"
        ),
        vec![request_no.into()],
    )
    .await
}

/// Customers' own returns not arrived by their chase date and not chased yet.
pub async fn chase_due<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Pickup>, DbErr> {
    all(
        conn,
        format!(
            "SELECT {COLUMNS} FROM pickups WHERE status = 'SCHEDULED' AND chased_at IS NULL \
             AND chase_due_at <= $1 ORDER BY chase_due_at LIMIT {limit}"
        ),
        vec![now.into()],
    )
    .await
}

fn values(p: &Pickup) -> Result<Vec<Value>, DbErr> {
    Ok(vec![
        p.pickup_no.as_str().into(),
        p.request_no.as_str().into(),
        p.branch.as_str().into(),
        p.status.as_str().into(),
        p.automatic.into(),
        to_json(&p.pickup_address)?.into(),
        p.region.map(|r| r.as_str()).unwrap_or("").into(),
        p.destination.as_str().into(),
        ts(p.window_from),
        ts(p.window_to),
        p.method.as_str().into(),
        p.carrier.as_str().into(),
        p.waybill_no.clone().into(),
        p.part_no.as_str().into(),
        p.serial.as_str().into(),
        p.model.as_str().into(),
        to_json(&p.items)?.into(),
        p.items_handed_over
            .as_ref()
            .map(to_json)
            .transpose()?
            .into(),
        p.free_of_charge.into(),
        p.currency.as_str().into(),
        p.fee_minor.into(),
        p.fee_reason.as_str().into(),
        p.estimated_cost_minor.into(),
        p.customer_ships.into(),
        p.scheduled_at.into(),
        ts(p.collected_at),
        ts(p.arrived_at),
        ts(p.failed_at),
        ts(p.cancelled_at),
        ts(p.chase_due_at),
        ts(p.chased_at),
        ts(p.last_tracking_at),
        p.note.as_str().into(),
        p.idempotency_key.clone().into(),
        p.request_hash.as_str().into(),
    ])
}

pub async fn insert<C: ConnectionTrait>(conn: &C, p: &Pickup) -> Result<(), DbErr> {
    let v = values(p)?;
    let params: Vec<String> = (1..=v.len()).map(|i| format!("${i}")).collect();
    conn.execute_raw(stmt(
        format!(
            "INSERT INTO pickups ({COLUMNS}) VALUES ({})",
            params.join(", ")
        ),
        v,
    ))
    .await?;
    Ok(())
}

pub async fn save<C: ConnectionTrait>(conn: &C, p: &Pickup) -> Result<(), DbErr> {
    let v = values(p)?;
    let sets: Vec<String> = COLUMNS
        .split(',')
        .map(str::trim)
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let n = conn
        .execute_raw(stmt(
            format!(
                "UPDATE pickups SET {} WHERE pickup_no = $1",
                sets.join(", ")
            ),
            v,
        ))
        .await?
        .rows_affected();
    if n != 1 {
        return Err(corrupt("pickup", &p.pickup_no));
    }
    Ok(())
}
