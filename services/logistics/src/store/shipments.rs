//! `shipments`: one per pick list served (a replacement is a new one). Read and written whole
//! under the request's lock ([`super::requests::lock`]).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, from_json, parsed, stmt, to_json, ts};
use crate::domain::{Address, Line, Method, PackedLine, Region, ShipmentStatus, Urgency};

#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    pub shipment_no: String,
    pub request_no: String,
    pub branch: String,
    pub pick_list_id: String,
    pub status: ShipmentStatus,
    /// `common.v1.RequestKind` number; 0 when not said.
    pub kind: i32,
    pub onsite_required: bool,
    pub method: Method,
    pub method_rule: String,
    pub method_reason: String,
    pub carrier: String,
    pub waybill_no: Option<String>,
    pub ship_to: Address,
    pub destination_key: String,
    pub region: Option<Region>,
    pub origin: String,
    pub urgency: Urgency,
    pub lines: Vec<Line>,
    pub packing_list: Vec<PackedLine>,
    pub packages: i32,
    pub weight_grams: i64,
    pub currency: String,
    pub estimated_cost_minor: i64,
    pub actual_cost_minor: Option<i64>,
    pub insured_value_minor: i64,
    pub consolidation_id: String,
    pub planned_day: NaiveDate,
    pub replaces_shipment_no: String,
    pub replaced_by_shipment_no: String,
    pub replacement_pending: bool,
    pub planned_at: DateTime<Utc>,
    pub estimated_delivery: Option<DateTime<Utc>>,
    pub packed_at: Option<DateTime<Utc>>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub promised_eta: Option<DateTime<Utc>>,
    pub eta: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub signed_by: String,
    pub failed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub last_tracking_at: Option<DateTime<Utc>>,
    pub overdue_flagged_eta: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    shipment_no: String,
    request_no: String,
    branch: String,
    pick_list_id: String,
    status: String,
    kind: i32,
    onsite_required: bool,
    method: String,
    method_rule: String,
    method_reason: String,
    carrier: String,
    waybill_no: Option<String>,
    ship_to: serde_json::Value,
    destination_key: String,
    region: String,
    origin: String,
    urgency: String,
    lines: serde_json::Value,
    packing_list: serde_json::Value,
    packages: i32,
    weight_grams: i64,
    currency: String,
    estimated_cost_minor: i64,
    actual_cost_minor: Option<i64>,
    insured_value_minor: i64,
    consolidation_id: String,
    planned_day: NaiveDate,
    replaces_shipment_no: String,
    replaced_by_shipment_no: String,
    replacement_pending: bool,
    planned_at: DateTime<Utc>,
    estimated_delivery: Option<DateTime<Utc>>,
    packed_at: Option<DateTime<Utc>>,
    dispatched_at: Option<DateTime<Utc>>,
    promised_eta: Option<DateTime<Utc>>,
    eta: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    signed_by: String,
    failed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    last_tracking_at: Option<DateTime<Utc>>,
    overdue_flagged_eta: Option<DateTime<Utc>>,
    idempotency_key: Option<String>,
    request_hash: String,
}

const COLUMNS: &str = "shipment_no, request_no, branch, pick_list_id, status, kind, onsite_required, \
    method, method_rule, method_reason, carrier, waybill_no, ship_to, destination_key, region, origin, \
    urgency, lines, packing_list, packages, weight_grams, currency, estimated_cost_minor, \
    actual_cost_minor, insured_value_minor, consolidation_id, planned_day, replaces_shipment_no, \
    replaced_by_shipment_no, replacement_pending, planned_at, estimated_delivery, packed_at, \
    dispatched_at, promised_eta, eta, delivered_at, signed_by, failed_at, cancelled_at, \
    last_tracking_at, overdue_flagged_eta, idempotency_key, request_hash";

impl TryFrom<Row> for Shipment {
    type Error = DbErr;

    fn try_from(r: Row) -> Result<Self, DbErr> {
        Ok(Shipment {
            status: parsed("status", &r.status, ShipmentStatus::parse)?,
            method: parsed("method", &r.method, Method::parse)?,
            urgency: parsed("urgency", &r.urgency, Urgency::parse)?,
            region: match r.region.as_str() {
                "" => None,
                s => Some(parsed("region", s, Region::parse)?),
            },
            ship_to: from_json("ship_to", r.ship_to)?,
            lines: from_json("lines", r.lines)?,
            packing_list: from_json("packing_list", r.packing_list)?,
            shipment_no: r.shipment_no,
            request_no: r.request_no,
            branch: r.branch,
            pick_list_id: r.pick_list_id,
            kind: r.kind,
            onsite_required: r.onsite_required,
            method_rule: r.method_rule,
            method_reason: r.method_reason,
            carrier: r.carrier,
            waybill_no: r.waybill_no,
            destination_key: r.destination_key,
            origin: r.origin,
            packages: r.packages,
            weight_grams: r.weight_grams,
            currency: r.currency,
            estimated_cost_minor: r.estimated_cost_minor,
            actual_cost_minor: r.actual_cost_minor,
            insured_value_minor: r.insured_value_minor,
            consolidation_id: r.consolidation_id,
            planned_day: r.planned_day,
            replaces_shipment_no: r.replaces_shipment_no,
            replaced_by_shipment_no: r.replaced_by_shipment_no,
            replacement_pending: r.replacement_pending,
            planned_at: r.planned_at,
            estimated_delivery: r.estimated_delivery,
            packed_at: r.packed_at,
            dispatched_at: r.dispatched_at,
            promised_eta: r.promised_eta,
            eta: r.eta,
            delivered_at: r.delivered_at,
            signed_by: r.signed_by,
            failed_at: r.failed_at,
            cancelled_at: r.cancelled_at,
            last_tracking_at: r.last_tracking_at,
            overdue_flagged_eta: r.overdue_flagged_eta,
            idempotency_key: r.idempotency_key,
            request_hash: r.request_hash,
        })
    }
}

async fn all<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Vec<Shipment>, DbErr> {
    Row::find_by_statement(stmt(sql, values))
        .all(conn)
        .await?
        .into_iter()
        .map(Shipment::try_from)
        .collect()
}

async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Option<Shipment>, DbErr> {
    Ok(all(conn, sql, values).await?.into_iter().next())
}

pub async fn get<C: ConnectionTrait>(
    conn: &C,
    shipment_no: &str,
) -> Result<Option<Shipment>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM shipments WHERE shipment_no = $1"),
        vec![shipment_no.into()],
    )
    .await
}

/// The shipment, locked (its request's lock is taken first, always).
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    shipment_no: &str,
) -> Result<Option<Shipment>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM shipments WHERE shipment_no = $1 FOR UPDATE"),
        vec![shipment_no.into()],
    )
    .await
}

pub async fn by_waybill<C: ConnectionTrait>(
    conn: &C,
    carrier: &str,
    waybill_no: &str,
) -> Result<Option<Shipment>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM shipments WHERE carrier = $1 AND waybill_no = $2"),
        vec![carrier.into(), waybill_no.into()],
    )
    .await
}

pub async fn by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<Shipment>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM shipments WHERE idempotency_key = $1"),
        vec![key.into()],
    )
    .await
}

/// Every shipment of a request, oldest first.
pub async fn of_request<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Vec<Shipment>, DbErr> {
    all(
        conn,
        format!(
            "SELECT {COLUMNS} FROM shipments WHERE request_no = $1 ORDER BY planned_at, shipment_no"
        ),
        vec![request_no.into()],
    )
    .await
}

/// The planned group a new non-urgent shipment to `destination_key` on `day` may join: the
/// oldest planned, not yet packed shipment there.
pub async fn consolidation_partner<C: ConnectionTrait>(
    conn: &C,
    destination_key: &str,
    day: NaiveDate,
    urgencies: &[Urgency],
) -> Result<Option<Shipment>, DbErr> {
    let list: Vec<String> = urgencies.iter().map(|u| u.as_str().to_owned()).collect();
    one(
        conn,
        format!(
            "SELECT {COLUMNS} FROM shipments WHERE destination_key = $1 AND planned_day = $2 \
             AND status = 'PLANNED' AND packed_at IS NULL AND urgency = ANY($3) \
             ORDER BY planned_at, shipment_no LIMIT 1"
        ),
        vec![destination_key.into(), day.into(), list.into()],
    )
    .await
}

/// Dispatched shipments past their ETA that the eta-watch has not reported for this ETA.
pub async fn overdue<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Shipment>, DbErr> {
    all(
        conn,
        format!(
            "SELECT {COLUMNS} FROM shipments WHERE status IN ('DISPATCHED', 'IN_TRANSIT') \
             AND eta < $1 AND overdue_flagged_eta IS DISTINCT FROM eta \
             ORDER BY eta LIMIT {limit}"
        ),
        vec![now.into()],
    )
    .await
}

/// The filters of a list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub branch: Option<String>,
    pub request_no: Option<String>,
    pub statuses: Vec<ShipmentStatus>,
    pub method: Option<Method>,
    pub carrier: Option<String>,
    pub with_open_exception: bool,
    pub planned_from: Option<DateTime<Utc>>,
    pub planned_to: Option<DateTime<Utc>>,
}

/// A page of shipments, newest first, after the key (planned_at, shipment_no) of the previous
/// page's last row.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    f: &Filter,
    after: Option<(DateTime<Utc>, String)>,
    limit: u64,
) -> Result<Vec<Shipment>, DbErr> {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut add = |clause: &str, v: Value| {
        values.push(v);
        clauses.push(clause.replace('?', &format!("${}", values.len())));
    };
    if let Some(b) = &f.branch {
        add("branch = ?", b.as_str().into());
    }
    if let Some(r) = &f.request_no {
        add("request_no = ?", r.as_str().into());
    }
    if !f.statuses.is_empty() {
        let s: Vec<String> = f.statuses.iter().map(|s| s.as_str().to_owned()).collect();
        add("status = ANY(?)", s.into());
    }
    if let Some(m) = f.method {
        add("method = ?", m.as_str().into());
    }
    if let Some(c) = &f.carrier {
        add("carrier = ?", c.as_str().into());
    }
    if let Some(t) = f.planned_from {
        add("planned_at >= ?", t.into());
    }
    if let Some(t) = f.planned_to {
        add("planned_at < ?", t.into());
    }
    if let Some((at, no)) = after {
        values.push(at.into());
        values.push(no.into());
        clauses.push(format!(
            "(planned_at, shipment_no) < (${}, ${})",
            values.len() - 1,
            values.len()
        ));
    }
    if f.with_open_exception {
        clauses.push(
            "EXISTS (SELECT 1 FROM exceptions e WHERE e.shipment_no = shipments.shipment_no AND e.resolved_at IS NULL)"
                .into(),
        );
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    all(
        conn,
        format!(
            "SELECT {COLUMNS} FROM shipments {filter} ORDER BY planned_at DESC, shipment_no DESC LIMIT {limit}"
        ),
        values,
    )
    .await
}

fn values(s: &Shipment) -> Result<Vec<Value>, DbErr> {
    Ok(vec![
        s.shipment_no.as_str().into(),
        s.request_no.as_str().into(),
        s.branch.as_str().into(),
        s.pick_list_id.as_str().into(),
        s.status.as_str().into(),
        s.kind.into(),
        s.onsite_required.into(),
        s.method.as_str().into(),
        s.method_rule.as_str().into(),
        s.method_reason.as_str().into(),
        s.carrier.as_str().into(),
        s.waybill_no.clone().into(),
        to_json(&s.ship_to)?.into(),
        s.destination_key.as_str().into(),
        s.region.map(|r| r.as_str()).unwrap_or("").into(),
        s.origin.as_str().into(),
        s.urgency.as_str().into(),
        to_json(&s.lines)?.into(),
        to_json(&s.packing_list)?.into(),
        s.packages.into(),
        s.weight_grams.into(),
        s.currency.as_str().into(),
        s.estimated_cost_minor.into(),
        s.actual_cost_minor.into(),
        s.insured_value_minor.into(),
        s.consolidation_id.as_str().into(),
        s.planned_day.into(),
        s.replaces_shipment_no.as_str().into(),
        s.replaced_by_shipment_no.as_str().into(),
        s.replacement_pending.into(),
        s.planned_at.into(),
        ts(s.estimated_delivery),
        ts(s.packed_at),
        ts(s.dispatched_at),
        ts(s.promised_eta),
        ts(s.eta),
        ts(s.delivered_at),
        s.signed_by.as_str().into(),
        ts(s.failed_at),
        ts(s.cancelled_at),
        ts(s.last_tracking_at),
        ts(s.overdue_flagged_eta),
        s.idempotency_key.clone().into(),
        s.request_hash.as_str().into(),
    ])
}

pub async fn insert<C: ConnectionTrait>(conn: &C, s: &Shipment) -> Result<(), DbErr> {
    let v = values(s)?;
    let params: Vec<String> = (1..=v.len()).map(|i| format!("${i}")).collect();
    conn.execute_raw(stmt(
        format!(
            "INSERT INTO shipments ({COLUMNS}) VALUES ({})",
            params.join(", ")
        ),
        v,
    ))
    .await?;
    Ok(())
}

/// Writes every column of a shipment read under the lock.
pub async fn save<C: ConnectionTrait>(conn: &C, s: &Shipment) -> Result<(), DbErr> {
    let v = values(s)?;
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
                "UPDATE shipments SET {} WHERE shipment_no = $1",
                sets.join(", ")
            ),
            v,
        ))
        .await?
        .rows_affected();
    if n != 1 {
        return Err(corrupt("shipment", &s.shipment_no));
    }
    Ok(())
}
