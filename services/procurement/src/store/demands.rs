//! `requests` and `demands`: what must be bought and for whom.
//!
//! A request's row is its lock: the shortage handler and the cancellation take it
//! ([`lock_request`], an upsert then `FOR UPDATE`), so they run one after the other, and the
//! second sees what the first committed. A cancellation that comes first leaves the row marked
//! cancelled: the durable marker on which a later shortage orders nothing.
//!
//! A demand is a back-order's missing units of a part (SHORTAGE: a request's first back-order
//! `BO-<request no>`, or a replacement's `BO-<request no>-R<n>`, so one request may have several
//! of a part), or stock to replenish (REPLENISHMENT): UNSOURCED until a PO line carries it
//! (ORDERED), CANCELLED when its request was. Demands of a part change only under the part's advisory lock ([`lock_parts`]), which also
//! orders the POs that part's needs extend.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, stmt};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Shortage,
    Replenishment,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Shortage => "SHORTAGE",
            Kind::Replenishment => "REPLENISHMENT",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "SHORTAGE" => Some(Kind::Shortage),
            "REPLENISHMENT" => Some(Kind::Replenishment),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Unsourced,
    Ordered,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unsourced => "UNSOURCED",
            Status::Ordered => "ORDERED",
            Status::Cancelled => "CANCELLED",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "UNSOURCED" => Some(Status::Unsourced),
            "ORDERED" => Some(Status::Ordered),
            "CANCELLED" => Some(Status::Cancelled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    pub demand_id: i64,
    pub request_no: Option<String>,
    pub branch: String,
    pub part_no: String,
    pub quantity: u32,
    pub kind: Kind,
    pub status: Status,
    pub backorder_id: String,
    pub po_number: Option<String>,
    pub line_no: Option<u32>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    demand_id: i64,
    request_no: Option<String>,
    branch: String,
    part_no: String,
    quantity: i32,
    kind: String,
    status: String,
    backorder_id: String,
    po_number: Option<String>,
    line_no: Option<i32>,
    created_at: DateTime<Utc>,
}

const COLUMNS: &str = "demand_id, request_no, branch, part_no, quantity, kind, status, \
    backorder_id, po_number, line_no, created_at";

impl TryFrom<Row> for Demand {
    type Error = DbErr;

    fn try_from(r: Row) -> Result<Self, DbErr> {
        Ok(Demand {
            kind: Kind::parse(&r.kind).ok_or_else(|| corrupt("kind", &r.kind))?,
            status: Status::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?,
            demand_id: r.demand_id,
            request_no: r.request_no,
            branch: r.branch,
            part_no: r.part_no,
            quantity: r.quantity.max(0) as u32,
            backorder_id: r.backorder_id,
            po_number: r.po_number,
            line_no: r.line_no.map(|n| n.max(0) as u32),
            created_at: r.created_at,
        })
    }
}

async fn many<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Vec<Demand>, DbErr> {
    Row::find_by_statement(stmt(sql, values))
        .all(conn)
        .await?
        .into_iter()
        .map(Demand::try_from)
        .collect()
}

/// A request as procurement holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    pub request_no: String,
    pub branch: String,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// Takes the request's lock (creating its row on first sight): its shortage and its
/// cancellation run one after the other.
pub async fn lock_request<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    branch: &str,
) -> Result<RequestRow, DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO requests (request_no, branch) VALUES ($1, $2) ON CONFLICT (request_no) DO NOTHING",
        [request_no.into(), branch.into()],
    ))
    .await?;
    #[derive(FromQueryResult)]
    struct R {
        request_no: String,
        branch: String,
        cancelled_at: Option<DateTime<Utc>>,
    }
    let r = R::find_by_statement(stmt(
        "SELECT request_no, branch, cancelled_at FROM requests WHERE request_no = $1 FOR UPDATE",
        [request_no.into()],
    ))
    .one(conn)
    .await?
    .ok_or_else(|| DbErr::Custom(format!("request {request_no} vanished under its lock")))?;
    Ok(RequestRow {
        request_no: r.request_no,
        branch: r.branch,
        cancelled_at: r.cancelled_at,
    })
}

pub async fn mark_cancelled<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE requests SET cancelled_at = $2, cancelled_by = $3 WHERE request_no = $1",
        [request_no.into(), at.into(), by.into()],
    ))
    .await?;
    Ok(())
}

/// Whether the request was cancelled (a read without its lock: a hint, re-checked where it
/// matters).
pub async fn is_cancelled<C: ConnectionTrait>(conn: &C, request_no: &str) -> Result<bool, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT cancelled_at IS NOT NULL AS c FROM requests WHERE request_no = $1",
            [request_no.into()],
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get::<bool>("", "c").ok())
        .unwrap_or(false))
}

/// The advisory locks of `part_nos`, taken in part-number order (the caller passes them sorted
/// and without duplicates): every change to a part's demands and every PO extension for it runs
/// under its lock.
pub async fn lock_parts<C: ConnectionTrait>(conn: &C, part_nos: &[&str]) -> Result<(), DbErr> {
    for p in part_nos {
        conn.execute_raw(stmt(
            "SELECT pg_advisory_xact_lock(hashtextextended('procurement:part:' || $1, 0))",
            [(*p).into()],
        ))
        .await?;
    }
    Ok(())
}

/// Records a back-order's missing units of a part once: `None` when it was recorded before
/// (a redelivered or repeated shortage). The request's other back-orders (its replacements')
/// are other demands, of the same part too.
pub async fn insert_shortage_if_new<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    branch: &str,
    part_no: &str,
    quantity: u32,
    backorder_id: &str,
    at: DateTime<Utc>,
) -> Result<Option<Demand>, DbErr> {
    Ok(many(
        conn,
        format!(
            "INSERT INTO demands (request_no, branch, part_no, quantity, kind, status, backorder_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'SHORTAGE', 'UNSOURCED', $5, $6, $6) \
             ON CONFLICT (request_no, backorder_id, part_no) WHERE request_no IS NOT NULL DO NOTHING \
             RETURNING {COLUMNS}"
        ),
        vec![
            request_no.into(),
            branch.into(),
            part_no.into(),
            (quantity as i32).into(),
            backorder_id.into(),
            at.into(),
        ],
    )
    .await?
    .into_iter()
    .next())
}

pub async fn insert_replenishment<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
    quantity: u32,
    at: DateTime<Utc>,
) -> Result<Demand, DbErr> {
    many(
        conn,
        format!(
            "INSERT INTO demands (part_no, quantity, kind, status, created_at, updated_at) \
             VALUES ($1, $2, 'REPLENISHMENT', 'UNSOURCED', $3, $3) RETURNING {COLUMNS}"
        ),
        vec![part_no.into(), (quantity as i32).into(), at.into()],
    )
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| DbErr::Custom("insert returned no demand".into()))
}

/// The request's demands that are not cancelled, of all its back-orders. Read once under the request's lock to learn
/// the parts, then again with `lock` under the parts' locks before changing them (locking the
/// rows first would wait in the wrong order against a part's sourcing).
pub async fn live_of_request<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    lock: bool,
) -> Result<Vec<Demand>, DbErr> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    many(
        conn,
        format!(
            "SELECT {COLUMNS} FROM demands WHERE request_no = $1 AND status <> 'CANCELLED' \
             ORDER BY part_no, demand_id{lock}"
        ),
        vec![request_no.into()],
    )
    .await
}

pub async fn set_ordered<C: ConnectionTrait>(
    conn: &C,
    demand_id: i64,
    po_number: &str,
    line_no: u32,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE demands SET status = 'ORDERED', po_number = $2, line_no = $3, updated_at = $4 WHERE demand_id = $1",
        [
            demand_id.into(),
            po_number.into(),
            (line_no as i32).into(),
            at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// UNSOURCED or CANCELLED: the demand is on no PO line any more.
pub async fn set_off_order<C: ConnectionTrait>(
    conn: &C,
    demand_id: i64,
    status: Status,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE demands SET status = $2, po_number = NULL, line_no = NULL, updated_at = $3 WHERE demand_id = $1",
        [demand_id.into(), status.as_str().into(), at.into()],
    ))
    .await?;
    Ok(())
}

/// Parts with demands waiting for a supplier, in part-number order.
pub async fn unsourced_parts<C: ConnectionTrait>(conn: &C) -> Result<Vec<String>, DbErr> {
    #[derive(FromQueryResult)]
    struct P {
        part_no: String,
    }
    Ok(P::find_by_statement(stmt(
        "SELECT DISTINCT part_no FROM demands WHERE status = 'UNSOURCED' ORDER BY part_no",
        [],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|p| p.part_no)
    .collect())
}

/// The part's demands waiting for a supplier, oldest first (under the part's lock).
pub async fn unsourced_of_part<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
) -> Result<Vec<Demand>, DbErr> {
    many(
        conn,
        format!(
            "SELECT {COLUMNS} FROM demands WHERE part_no = $1 AND status = 'UNSOURCED' \
             ORDER BY demand_id FOR UPDATE"
        ),
        vec![part_no.into()],
    )
    .await
}

/// The demands ordered on the PO's lines.
pub async fn ordered_on<C: ConnectionTrait>(
    conn: &C,
    po_number: &str,
) -> Result<Vec<Demand>, DbErr> {
    many(
        conn,
        format!(
            "SELECT {COLUMNS} FROM demands WHERE po_number = $1 AND status = 'ORDERED' \
             ORDER BY line_no, request_no NULLS LAST, demand_id"
        ),
        vec![po_number.into()],
    )
    .await
}

/// Units of `part_no` for stock not yet on a PO.
pub async fn unsourced_replenishment_units<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT COALESCE(SUM(quantity), 0)::bigint AS n FROM demands \
             WHERE part_no = $1 AND kind = 'REPLENISHMENT' AND status = 'UNSOURCED'",
            [part_no.into()],
        ))
        .await?;
    Ok(row.and_then(|r| r.try_get("", "n").ok()).unwrap_or(0))
}

/// Units of `part_no` requests were short of since `since` (cancelled ones included: they were
/// asked for).
pub async fn shortage_units_since<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
    since: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT COALESCE(SUM(quantity), 0)::bigint AS n FROM demands \
             WHERE part_no = $1 AND kind = 'SHORTAGE' AND created_at >= $2",
            [part_no.into(), since.into()],
        ))
        .await?;
    Ok(row.and_then(|r| r.try_get("", "n").ok()).unwrap_or(0))
}

/// The last `warehouse.stock.low` sequence seen for the part: records `sequence` and answers
/// whether it is not older than what was seen (an older signal arriving late is stale).
pub async fn record_low_signal<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
    sequence: i64,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "INSERT INTO part_signals (part_no, last_low_sequence, last_low_at) VALUES ($1, $2, $3) \
             ON CONFLICT (part_no) DO UPDATE SET last_low_sequence = EXCLUDED.last_low_sequence, \
               last_low_at = EXCLUDED.last_low_at \
             WHERE part_signals.last_low_sequence <= EXCLUDED.last_low_sequence \
             RETURNING part_no",
            [part_no.into(), sequence.into(), at.into()],
        ))
        .await?;
    Ok(row.is_some())
}
