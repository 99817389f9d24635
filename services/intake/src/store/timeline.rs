//! The `timeline` table: one row per event about a request.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};

use crate::domain::RequestStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub event_id: uuid::Uuid,
    pub request_no: String,
    pub routing_key: String,
    pub producer: String,
    pub occurred_at: DateTime<Utc>,
    pub summary: String,
    pub status_after: RequestStatus,
}

#[derive(FromQueryResult)]
struct Row {
    event_id: uuid::Uuid,
    request_no: String,
    routing_key: String,
    producer: String,
    occurred_at: DateTime<Utc>,
    summary: String,
    status_after: String,
}

/// Records the entry; the same event twice is recorded once. The request's last step moves
/// to it when it happened after the step held (a late event is recorded, not a step back).
pub async fn record<C: ConnectionTrait>(conn: &C, e: &Entry) -> Result<(), DbErr> {
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE requests SET last_step = $2, last_step_at = $3
          WHERE request_no = $1 AND last_step_at <= $3",
        [
            e.request_no.as_str().into(),
            e.routing_key.as_str().into(),
            e.occurred_at.into(),
        ],
    ))
    .await?;
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO timeline (event_id, request_no, routing_key, producer, occurred_at, summary, status_after)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
        [
            e.event_id.into(),
            e.request_no.as_str().into(),
            e.routing_key.as_str().into(),
            e.producer.as_str().into(),
            e.occurred_at.into(),
            e.summary.as_str().into(),
            e.status_after.as_str().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// A data-modifying CTE item `<name> AS (INSERT INTO timeline …)` for new requests' first
/// entries (at least one), written in the statement that inserts the requests (their last step
/// is set there already). Parameters are appended to `values`.
pub fn cte<'a>(
    name: &str,
    entries: impl IntoIterator<Item = &'a Entry>,
    values: &mut Vec<sea_orm::Value>,
) -> String {
    let mut tuples = Vec::new();
    for e in entries {
        let first = values.len() + 1;
        values.extend([
            e.event_id.into(),
            e.request_no.as_str().into(),
            e.routing_key.as_str().into(),
            e.producer.as_str().into(),
            e.occurred_at.into(),
            e.summary.as_str().into(),
            e.status_after.as_str().into(),
        ]);
        let params = (first..first + 7)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        tuples.push(format!("({params})"));
    }
    format!(
        "{name} AS (INSERT INTO timeline (event_id, request_no, routing_key, producer, occurred_at, summary, status_after) VALUES {})",
        tuples.join(", ")
    )
}

/// In the order things happened.
pub async fn list<C: ConnectionTrait>(conn: &C, request_no: &str) -> Result<Vec<Entry>, DbErr> {
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT event_id, request_no, routing_key, producer, occurred_at, summary, status_after
           FROM timeline WHERE request_no = $1 ORDER BY occurred_at, recorded_at",
        [request_no.into()],
    ))
    .all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Entry {
                status_after: RequestStatus::parse(&r.status_after)
                    .ok_or_else(|| DbErr::Type(format!("stored status {:?}", r.status_after)))?,
                event_id: r.event_id,
                request_no: r.request_no,
                routing_key: r.routing_key,
                producer: r.producer,
                occurred_at: r.occurred_at,
                summary: r.summary,
            })
        })
        .collect()
}
