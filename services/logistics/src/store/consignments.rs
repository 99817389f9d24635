//! `consignments`: one per dealer's consignment logistics shipped (`warehouse.consignment.issued`).
//! Written once, in the handler's transaction; the consignment_id is the key a repeated event
//! meets (`ON CONFLICT DO NOTHING`), so no request lock is involved.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{from_json, parsed, stmt, to_json, ts};
use crate::domain::{Address, ConsignmentKind, ConsignmentStatus, Line, Method, Region, Urgency};

#[derive(Debug, Clone, PartialEq)]
pub struct DealerConsignment {
    pub consignment_id: String,
    pub kind: ConsignmentKind,
    pub dealer_code: String,
    pub branch: String,
    pub shipment_no: String,
    pub status: ConsignmentStatus,
    pub urgency: Urgency,
    pub method: Method,
    pub method_rule: String,
    pub method_reason: String,
    pub carrier: String,
    pub waybill_no: String,
    pub ship_to: Address,
    pub region: Option<Region>,
    pub origin: String,
    pub lines: Vec<Line>,
    pub weight_grams: i64,
    /// The warehouse's value of the goods (what the dealer pays for an order).
    pub value_minor: i64,
    pub value_currency: String,
    /// The rate table's currency (estimated cost, insured value).
    pub currency: String,
    pub estimated_cost_minor: i64,
    pub insured_value_minor: i64,
    pub dealer_reference: String,
    pub issued_at: Option<DateTime<Utc>>,
    pub dispatched_at: DateTime<Utc>,
    pub eta: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    consignment_id: String,
    kind: String,
    dealer_code: String,
    branch: String,
    shipment_no: String,
    status: String,
    urgency: String,
    method: String,
    method_rule: String,
    method_reason: String,
    carrier: String,
    waybill_no: String,
    ship_to: serde_json::Value,
    region: String,
    origin: String,
    lines: serde_json::Value,
    weight_grams: i64,
    value_minor: i64,
    value_currency: String,
    currency: String,
    estimated_cost_minor: i64,
    insured_value_minor: i64,
    dealer_reference: String,
    issued_at: Option<DateTime<Utc>>,
    dispatched_at: DateTime<Utc>,
    eta: DateTime<Utc>,
}

const COLUMNS: &str = "consignment_id, kind, dealer_code, branch, shipment_no, status, urgency, \
    method, method_rule, method_reason, carrier, waybill_no, ship_to, region, origin, lines, \
    weight_grams, value_minor, value_currency, currency, estimated_cost_minor, \
    insured_value_minor, dealer_reference, issued_at, dispatched_at, eta";

impl TryFrom<Row> for DealerConsignment {
    type Error = DbErr;

    fn try_from(r: Row) -> Result<Self, DbErr> {
        Ok(DealerConsignment {
            kind: parsed("kind", &r.kind, ConsignmentKind::parse)?,
            status: parsed("status", &r.status, ConsignmentStatus::parse)?,
            urgency: parsed("urgency", &r.urgency, Urgency::parse)?,
            method: parsed("method", &r.method, Method::parse)?,
            region: match r.region.as_str() {
                "" => None,
                s => Some(parsed("region", s, Region::parse)?),
            },
            ship_to: from_json("ship_to", r.ship_to)?,
            lines: from_json("lines", r.lines)?,
            consignment_id: r.consignment_id,
            dealer_code: r.dealer_code,
            branch: r.branch,
            shipment_no: r.shipment_no,
            method_rule: r.method_rule,
            method_reason: r.method_reason,
            carrier: r.carrier,
            waybill_no: r.waybill_no,
            origin: r.origin,
            weight_grams: r.weight_grams,
            value_minor: r.value_minor,
            value_currency: r.value_currency,
            currency: r.currency,
            estimated_cost_minor: r.estimated_cost_minor,
            insured_value_minor: r.insured_value_minor,
            dealer_reference: r.dealer_reference,
            issued_at: r.issued_at,
            dispatched_at: r.dispatched_at,
            eta: r.eta,
        })
    }
}

pub async fn get<C: ConnectionTrait>(
    conn: &C,
    consignment_id: &str,
) -> Result<Option<DealerConsignment>, DbErr> {
    Row::find_by_statement(stmt(
        format!("SELECT {COLUMNS} FROM consignments WHERE consignment_id = $1"),
        [consignment_id.into()],
    ))
    .one(conn)
    .await?
    .map(DealerConsignment::try_from)
    .transpose()
}

/// Whether logistics shipped this consignment already.
pub async fn exists<C: ConnectionTrait>(conn: &C, consignment_id: &str) -> Result<bool, DbErr> {
    Ok(conn
        .query_one_raw(stmt(
            "SELECT 1 AS found FROM consignments WHERE consignment_id = $1",
            [consignment_id.into()],
        ))
        .await?
        .is_some())
}

/// Inserts the consignment unless one with its consignment_id is there (a concurrent delivery of
/// the same consignment won): whether this one was written.
pub async fn insert<C: ConnectionTrait>(conn: &C, c: &DealerConsignment) -> Result<bool, DbErr> {
    let v: Vec<Value> = vec![
        c.consignment_id.as_str().into(),
        c.kind.as_str().into(),
        c.dealer_code.as_str().into(),
        c.branch.as_str().into(),
        c.shipment_no.as_str().into(),
        c.status.as_str().into(),
        c.urgency.as_str().into(),
        c.method.as_str().into(),
        c.method_rule.as_str().into(),
        c.method_reason.as_str().into(),
        c.carrier.as_str().into(),
        c.waybill_no.as_str().into(),
        to_json(&c.ship_to)?.into(),
        c.region.map(|r| r.as_str()).unwrap_or("").into(),
        c.origin.as_str().into(),
        to_json(&c.lines)?.into(),
        c.weight_grams.into(),
        c.value_minor.into(),
        c.value_currency.as_str().into(),
        c.currency.as_str().into(),
        c.estimated_cost_minor.into(),
        c.insured_value_minor.into(),
        c.dealer_reference.as_str().into(),
        ts(c.issued_at),
        c.dispatched_at.into(),
        c.eta.into(),
    ];
    let params: Vec<String> = (1..=v.len()).map(|i| format!("${i}")).collect();
    let n = conn
        .execute_raw(stmt(
            format!(
                "INSERT INTO consignments ({COLUMNS}) VALUES ({}) \
                 ON CONFLICT (consignment_id) DO NOTHING",
                params.join(", ")
            ),
            v,
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}
