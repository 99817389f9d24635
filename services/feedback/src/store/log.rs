//! `event_log`: every envelope feedback consumed, and every one it produced, in the order it
//! logged them. Append-only (the database refuses updates, deletes and truncation); the KPI read
//! model is rebuilt from it.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::stmt;

/// An envelope as logged: its routing data and its encoded bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged<'a> {
    pub event_id: uuid::Uuid,
    pub routing_key: &'a str,
    pub producer: &'a str,
    pub subject: &'a str,
    pub request_no: &'a str,
    pub branch: &'a str,
    pub sequence: u64,
    pub occurred_at: DateTime<Utc>,
    pub envelope: Vec<u8>,
}

/// Appends an envelope; `false` when this event id is logged already.
pub async fn append<C: ConnectionTrait>(conn: &C, e: &Logged<'_>) -> Result<bool, DbErr> {
    Ok(conn
        .execute_raw(stmt(
            "INSERT INTO event_log (event_id, routing_key, producer, subject, request_no, branch, \
             sequence, occurred_at, envelope) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (event_id) DO NOTHING",
            [
                e.event_id.into(),
                e.routing_key.into(),
                e.producer.into(),
                e.subject.into(),
                e.request_no.into(),
                e.branch.into(),
                (e.sequence.min(i64::MAX as u64) as i64).into(),
                e.occurred_at.into(),
                e.envelope.clone().into(),
            ],
        ))
        .await?
        .rows_affected()
        == 1)
}

#[derive(Debug, FromQueryResult)]
struct BranchRow {
    branch: String,
}

/// The branch of a request feedback has seen any event about (from its most informative event);
/// `None` for a request it never heard of.
pub async fn request_branch<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Option<String>, DbErr> {
    Ok(BranchRow::find_by_statement(stmt(
        "SELECT branch FROM event_log WHERE request_no = $1 ORDER BY (branch = ''), seq LIMIT 1",
        [request_no.into()],
    ))
    .one(conn)
    .await?
    .map(|r| r.branch))
}

#[derive(Debug, FromQueryResult)]
struct EnvelopeRow {
    seq: i64,
    envelope: Vec<u8>,
}

/// The first logged envelope of `routing_key` about the request.
pub async fn first_of<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    routing_key: &str,
) -> Result<Option<Vec<u8>>, DbErr> {
    Ok(EnvelopeRow::find_by_statement(stmt(
        "SELECT seq, envelope FROM event_log WHERE request_no = $1 AND routing_key = $2 \
         ORDER BY seq LIMIT 1",
        [request_no.into(), routing_key.into()],
    ))
    .one(conn)
    .await?
    .map(|r| r.envelope))
}

/// Every logged envelope of `routing_key` about the request, in log order.
pub async fn all_of<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    routing_key: &str,
) -> Result<Vec<Vec<u8>>, DbErr> {
    Ok(EnvelopeRow::find_by_statement(stmt(
        "SELECT seq, envelope FROM event_log WHERE request_no = $1 AND routing_key = $2 ORDER BY seq",
        [request_no.into(), routing_key.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|r| r.envelope)
    .collect())
}

/// Up to `limit` envelopes after `after_seq`, in log order.
pub async fn batch<C: ConnectionTrait>(
    conn: &C,
    after_seq: i64,
    limit: u64,
) -> Result<Vec<(i64, Vec<u8>)>, DbErr> {
    Ok(EnvelopeRow::find_by_statement(stmt(
        "SELECT seq, envelope FROM event_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        [after_seq.into(), (limit as i64).into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|r| (r.seq, r.envelope))
    .collect())
}
