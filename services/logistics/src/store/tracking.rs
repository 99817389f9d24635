//! `tracking_events`: every update received, applied or only recorded.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::{parsed, stmt, ts};
use crate::domain::{Source, TrackingStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingRow {
    pub id: i64,
    pub carrier: String,
    pub carrier_event_id: String,
    pub waybill_no: String,
    pub shipment_no: Option<String>,
    pub pickup_no: Option<String>,
    pub status: TrackingStatus,
    pub occurred_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub location: String,
    pub description: String,
    pub raw_status: String,
    pub signed_by: String,
    pub eta: Option<DateTime<Utc>>,
    pub source: Source,
    pub applied: bool,
    pub note: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    id: i64,
    carrier: String,
    carrier_event_id: String,
    waybill_no: String,
    shipment_no: Option<String>,
    pickup_no: Option<String>,
    status: String,
    occurred_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    location: String,
    description: String,
    raw_status: String,
    signed_by: String,
    eta: Option<DateTime<Utc>>,
    source: String,
    applied: bool,
    note: String,
    recorded_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, carrier, carrier_event_id, waybill_no, shipment_no, pickup_no, status, \
    occurred_at, sent_at, location, description, raw_status, signed_by, eta, source, applied, note, recorded_at";

fn convert(r: Row) -> Result<TrackingRow, DbErr> {
    Ok(TrackingRow {
        status: parsed("tracking status", &r.status, TrackingStatus::parse)?,
        source: parsed("source", &r.source, Source::parse)?,
        id: r.id,
        carrier: r.carrier,
        carrier_event_id: r.carrier_event_id,
        waybill_no: r.waybill_no,
        shipment_no: r.shipment_no,
        pickup_no: r.pickup_no,
        occurred_at: r.occurred_at,
        sent_at: r.sent_at,
        location: r.location,
        description: r.description,
        raw_status: r.raw_status,
        signed_by: r.signed_by,
        eta: r.eta,
        applied: r.applied,
        note: r.note,
        recorded_at: r.recorded_at,
    })
}

/// The update already received under this carrier's event id, if any.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    carrier: &str,
    carrier_event_id: &str,
) -> Result<Option<TrackingRow>, DbErr> {
    Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM tracking_events WHERE carrier = $1 AND carrier_event_id = $2"
        ),
        [carrier.into(), carrier_event_id.into()],
    ))
    .one(conn)
    .await?
    .map(convert)
    .transpose()
}

/// Records an update; `None` when one with the same (carrier, event id) exists already.
pub async fn insert<C: ConnectionTrait>(conn: &C, t: &TrackingRow) -> Result<Option<i64>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "INSERT INTO tracking_events (carrier, carrier_event_id, waybill_no, shipment_no, pickup_no, \
             status, occurred_at, sent_at, location, description, raw_status, signed_by, eta, source, \
             applied, note, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (carrier, carrier_event_id) DO NOTHING RETURNING id",
            [
                t.carrier.as_str().into(),
                t.carrier_event_id.as_str().into(),
                t.waybill_no.as_str().into(),
                t.shipment_no.clone().into(),
                t.pickup_no.clone().into(),
                t.status.as_str().into(),
                t.occurred_at.into(),
                ts(t.sent_at),
                t.location.as_str().into(),
                t.description.as_str().into(),
                t.raw_status.as_str().into(),
                t.signed_by.as_str().into(),
                ts(t.eta),
                t.source.as_str().into(),
                t.applied.into(),
                t.note.as_str().into(),
                t.recorded_at.into(),
            ],
        ))
        .await?;
    row.map(|r| r.try_get::<i64>("", "id")).transpose()
}

pub async fn of_shipment<C: ConnectionTrait>(
    conn: &C,
    shipment_no: &str,
) -> Result<Vec<TrackingRow>, DbErr> {
    Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM tracking_events WHERE shipment_no = $1 ORDER BY occurred_at, id"
        ),
        [shipment_no.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(convert)
    .collect()
}

pub async fn of_pickup<C: ConnectionTrait>(
    conn: &C,
    pickup_no: &str,
) -> Result<Vec<TrackingRow>, DbErr> {
    Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM tracking_events WHERE pickup_no = $1 ORDER BY occurred_at, id"
        ),
        [pickup_no.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(convert)
    .collect()
}
