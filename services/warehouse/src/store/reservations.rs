//! `reservations` and `reservation_lines`: a request's first reservation (`replacement` 0) and
//! one more per shipment lost or damaged on the way (`replacement` 1, 2, …), each keyed by
//! (request_no, replacement). A reservation is a pick list once every line is held (CONFIRMED,
//! then ISSUED) and a back-order while something is missing (BACKORDERED); RELEASED when the
//! request was cancelled.

use aftersales_platform::proto::common::v1 as common;
use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, stmt};
use crate::domain::reservation::{backorder_id, pick_list_id};
use crate::domain::stock::stored_enum;
use crate::domain::{Address, RequestKind, Urgency, Zone};

stored_enum!(
    Status { Confirmed = "CONFIRMED", Backordered = "BACKORDERED", Released = "RELEASED", Issued = "ISSUED" }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub part_no: String,
    pub zone: Zone,
    pub requested: i64,
    pub held: i64,
}

impl Line {
    pub fn missing(&self) -> i64 {
        self.requested - self.held
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub request_no: String,
    /// 0 for the request's first reservation, n for the n-th replacement.
    pub replacement: i32,
    /// The shipment exception a replacement answers; empty for a first reservation.
    pub exception_id: String,
    /// The shipment a replacement replaces; empty for a first reservation.
    pub replaces_shipment_no: String,
    pub branch: String,
    pub urgency: Urgency,
    pub kind: Option<RequestKind>,
    pub ship_to: Option<Address>,
    pub onsite_required: bool,
    /// The request's product model (trimmed, upper-cased); empty when the claim named none.
    pub product_model: String,
    pub status: Status,
    /// Arrival order: back-orders of equal urgency are served oldest first.
    pub seq: i64,
    pub created_at: DateTime<Utc>,
    pub backordered_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub issued_at: Option<DateTime<Utc>>,
    pub issued_by: String,
    pub shipment_no: String,
    /// When the request's cancellation was handled (kept on its first reservation only, in
    /// whatever state: no replacement follows a cancellation, even of an issued request).
    pub request_cancelled_at: Option<DateTime<Utc>>,
    /// Ordered by part_no.
    pub lines: Vec<Line>,
}

impl Reservation {
    /// `PL-<request no>`, or `PL-<request no>-R<n>` for a replacement.
    pub fn pick_list_id(&self) -> String {
        pick_list_id(&self.request_no, self.replacement as u32)
    }

    /// `BO-<request no>`, or `BO-<request no>-R<n>` for a replacement.
    pub fn backorder_id(&self) -> String {
        backorder_id(&self.request_no, self.replacement as u32)
    }
}

/// What a new reservation starts from.
#[derive(Debug, Clone)]
pub struct NewReservation<'a> {
    pub request_no: &'a str,
    /// 0 for the first reservation; a replacement's number otherwise.
    pub replacement: i32,
    /// `Some` exactly for a replacement (the database checks it).
    pub exception_id: Option<&'a str>,
    pub replaces_shipment_no: &'a str,
    pub branch: &'a str,
    pub urgency: Urgency,
    pub kind: Option<RequestKind>,
    pub ship_to: Option<&'a Address>,
    pub onsite_required: bool,
    /// The request's product model; empty when the claim named none.
    pub product_model: &'a str,
    pub status: Status,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    request_no: String,
    replacement: i32,
    exception_id: Option<String>,
    replaces_shipment_no: String,
    branch: String,
    urgency: String,
    kind: i32,
    ship_to: Option<Vec<u8>>,
    ship_to_json: Option<serde_json::Value>,
    onsite_required: bool,
    product_model: String,
    status: String,
    seq: i64,
    created_at: DateTime<Utc>,
    backordered_at: Option<DateTime<Utc>>,
    confirmed_at: Option<DateTime<Utc>>,
    released_at: Option<DateTime<Utc>>,
    issued_at: Option<DateTime<Utc>>,
    issued_by: String,
    shipment_no: String,
    request_cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
struct LineRow {
    part_no: String,
    zone: String,
    requested: i64,
    held: i64,
}

const COLUMNS: &str = "request_no, replacement, exception_id, replaces_shipment_no, branch, urgency, \
    kind, ship_to, ship_to_json, onsite_required, product_model, status, seq, created_at, \
    backordered_at, confirmed_at, released_at, issued_at, issued_by, shipment_no, \
    request_cancelled_at";

async fn with_lines<C: ConnectionTrait>(conn: &C, r: Row) -> Result<Reservation, DbErr> {
    let lines = LineRow::find_by_statement(stmt(
        "SELECT part_no, zone, requested, held FROM reservation_lines \
         WHERE request_no = $1 AND replacement = $2 ORDER BY part_no",
        [r.request_no.as_str().into(), r.replacement.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|l| {
        Ok(Line {
            zone: Zone::parse(&l.zone).ok_or_else(|| corrupt("zone", &l.zone))?,
            part_no: l.part_no,
            requested: l.requested,
            held: l.held,
        })
    })
    .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(Reservation {
        urgency: Urgency::parse(&r.urgency).ok_or_else(|| corrupt("urgency", &r.urgency))?,
        status: Status::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?,
        ship_to: ship_to(&r)?,
        kind: kind_from_code(r.kind),
        request_no: r.request_no,
        replacement: r.replacement,
        exception_id: r.exception_id.unwrap_or_default(),
        replaces_shipment_no: r.replaces_shipment_no,
        branch: r.branch,
        onsite_required: r.onsite_required,
        product_model: r.product_model,
        seq: r.seq,
        created_at: r.created_at,
        backordered_at: r.backordered_at,
        confirmed_at: r.confirmed_at,
        released_at: r.released_at,
        issued_at: r.issued_at,
        issued_by: r.issued_by,
        shipment_no: r.shipment_no,
        request_cancelled_at: r.request_cancelled_at,
        lines,
    })
}

/// `kind` keeps the numbers rows were always written with (those of `common.v1.RequestKind`),
/// so rows written before read the same and a replica of the previous version still running
/// during an upgrade reads what this one writes; 0 is "not said".
fn kind_code(k: Option<RequestKind>) -> i32 {
    match k {
        None => 0,
        Some(RequestKind::Replacement) => 1,
        Some(RequestKind::Repair) => 2,
        Some(RequestKind::Return) => 3,
        Some(RequestKind::Exchange) => 4,
        Some(RequestKind::Installation) => 5,
    }
}

fn kind_from_code(code: i32) -> Option<RequestKind> {
    RequestKind::ALL
        .iter()
        .copied()
        .find(|k| kind_code(Some(*k)) == code)
}

/// Where the parts go: the JSON column; for rows written before it existed (migration 5), the
/// encoded `common.v1.Address` they kept in `ship_to` (empty bytes: none was given). The
/// fallback can go once no such row is left (`SELECT count(*) FROM reservations WHERE
/// ship_to_json IS NULL AND ship_to <> ''`).
fn ship_to(r: &Row) -> Result<Option<Address>, DbErr> {
    if let Some(json) = &r.ship_to_json {
        return serde_json::from_value(json.clone())
            .map(Some)
            .map_err(|e| corrupt("ship_to_json", &e.to_string()));
    }
    match r.ship_to.as_deref() {
        None | Some([]) => Ok(None),
        Some(bytes) => common::Address::decode(bytes)
            .map(|a| Some(crate::wire::address_from(&a)))
            .map_err(|e| corrupt("ship_to", &e.to_string())),
    }
}

async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Option<Reservation>, DbErr> {
    match Row::find_by_statement(stmt(sql, values)).one(conn).await? {
        Some(r) => Ok(Some(with_lines(conn, r).await?)),
        None => Ok(None),
    }
}

async fn all<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Vec<Reservation>, DbErr> {
    let rows = Row::find_by_statement(stmt(sql, values)).all(conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(with_lines(conn, r).await?);
    }
    Ok(out)
}

const ONE: &str = "request_no = $1 AND replacement = $2";

/// The request's first reservation.
pub async fn get<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Option<Reservation>, DbErr> {
    get_nth(conn, request_no, 0).await
}

/// The request's reservation `replacement` (0 = the first).
pub async fn get_nth<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    replacement: i32,
) -> Result<Option<Reservation>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM reservations WHERE {ONE}"),
        vec![request_no.into(), replacement.into()],
    )
    .await
}

/// The reservation, locked until the transaction ends.
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    replacement: i32,
) -> Result<Option<Reservation>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM reservations WHERE {ONE} FOR UPDATE"),
        vec![request_no.into(), replacement.into()],
    )
    .await
}

/// Every reservation of a request (the first, then its replacements in order), locked until the
/// transaction ends.
pub async fn of_request_for_update<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Vec<Reservation>, DbErr> {
    all(
        conn,
        format!(
            "SELECT {COLUMNS} FROM reservations WHERE request_no = $1 ORDER BY replacement FOR UPDATE"
        ),
        vec![request_no.into()],
    )
    .await
}

/// The replacement reserved for a shipment exception, if one was.
pub async fn by_exception<C: ConnectionTrait>(
    conn: &C,
    exception_id: &str,
) -> Result<Option<Reservation>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM reservations WHERE exception_id = $1"),
        vec![exception_id.into()],
    )
    .await
}

/// The number the request's next replacement gets (1 for its first). Read under the request's
/// lock ([`lock_request`]), it is not taken by a concurrent transaction.
pub async fn next_replacement<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<i32, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT (COALESCE(MAX(replacement), 0) + 1)::int4 AS n FROM reservations WHERE request_no = $1",
            [request_no.into()],
        ))
        .await?;
    match row {
        Some(r) => r.try_get("", "n"),
        None => Ok(1),
    }
}

/// The reservation locked, or `None` when another transaction holds it (it is being released
/// or served there; serving back-orders must not wait on it, or it could deadlock).
pub async fn try_lock<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    replacement: i32,
) -> Result<Option<Reservation>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM reservations WHERE {ONE} FOR UPDATE SKIP LOCKED"),
        vec![request_no.into(), replacement.into()],
    )
    .await
}

/// The advisory-lock class of requests' reservations: the two-key form, so it never meets the
/// single-key locks of migrations, scanners or periods. "WHRS".
const REQUEST_LOCK_CLASS: i32 = 0x5748_5253;

/// Takes the request's lock until the transaction ends, waiting while another transaction
/// holds it. Every handler that decides a request's reservations (reserve, reserve a
/// replacement, release) takes it first, so they run one at a time per request and each sees what
/// the one before committed, whether or not the reservation rows exist yet. Two requests whose numbers hash alike only
/// wait for each other.
pub async fn lock_request<C: ConnectionTrait>(conn: &C, request_no: &str) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
        [REQUEST_LOCK_CLASS.into(), request_no.into()],
    ))
    .await?;
    Ok(())
}

/// Inserts the reservation unless it exists; false when it did (for a first reservation: a
/// redelivered or duplicate claim.approved, or a request cancelled before its approval; for a
/// replacement: its exception was handled before).
pub async fn insert_if_new<C: ConnectionTrait>(
    conn: &C,
    r: &NewReservation<'_>,
) -> Result<bool, DbErr> {
    let ship_to_json = r
        .ship_to
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| DbErr::Json(e.to_string()))?;
    let res = conn
        .execute_raw(stmt(
            "INSERT INTO reservations (request_no, branch, urgency, urgency_rank, kind, \
             ship_to_json, onsite_required, status, released_at, replacement, exception_id, \
             replaces_shipment_no, product_model) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             CASE WHEN $8 = 'RELEASED' THEN clock_timestamp() END, $9, $10, $11, $12) \
             ON CONFLICT DO NOTHING",
            [
                r.request_no.into(),
                r.branch.into(),
                r.urgency.as_str().into(),
                r.urgency.rank().into(),
                kind_code(r.kind).into(),
                ship_to_json.into(),
                r.onsite_required.into(),
                r.status.as_str().into(),
                r.replacement.into(),
                r.exception_id.into(),
                r.replaces_shipment_no.into(),
                r.product_model.into(),
            ],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

pub async fn insert_line<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    replacement: i32,
    line: &Line,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO reservation_lines (request_no, part_no, zone, requested, held, replacement) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            request_no.into(),
            line.part_no.as_str().into(),
            line.zone.as_str().into(),
            line.requested.into(),
            line.held.into(),
            replacement.into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn update_line<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    replacement: i32,
    line: &Line,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE reservation_lines SET zone = $3, held = $4 \
         WHERE request_no = $1 AND part_no = $2 AND replacement = $5",
        [
            request_no.into(),
            line.part_no.as_str().into(),
            line.zone.as_str().into(),
            line.held.into(),
            replacement.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Moves the reservation to `status`, stamping the matching time.
pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    replacement: i32,
    status: Status,
) -> Result<(), DbErr> {
    let stamp = match status {
        Status::Confirmed => "confirmed_at",
        Status::Backordered => "backordered_at",
        Status::Released => "released_at",
        Status::Issued => "issued_at",
    };
    conn.execute_raw(stmt(
        format!(
            "UPDATE reservations SET status = $2, {stamp} = clock_timestamp() \
             WHERE request_no = $1 AND replacement = $3"
        ),
        [
            request_no.into(),
            status.as_str().into(),
            replacement.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Records on the request's first reservation that its cancellation was handled (the first
/// time only).
pub async fn mark_cancelled<C: ConnectionTrait>(conn: &C, request_no: &str) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE reservations SET request_cancelled_at = clock_timestamp() \
         WHERE request_no = $1 AND replacement = 0 AND request_cancelled_at IS NULL",
        [request_no.into()],
    ))
    .await?;
    Ok(())
}

pub async fn set_issued<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    replacement: i32,
    issued_by: &str,
    shipment_no: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE reservations SET status = 'ISSUED', issued_at = $2, issued_by = $3, shipment_no = $4 \
         WHERE request_no = $1 AND replacement = $5",
        [
            request_no.into(),
            at.into(),
            issued_by.into(),
            shipment_no.into(),
            replacement.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Open back-orders missing any of `parts` (request number, replacement), in serving order: most
/// urgent first, then oldest.
pub async fn open_backorders_for<C: ConnectionTrait>(
    conn: &C,
    parts: &[String],
) -> Result<Vec<(String, i32)>, DbErr> {
    if parts.is_empty() {
        return Ok(vec![]);
    }
    let rows = conn
        .query_all_raw(stmt(
            "SELECT r.request_no, r.replacement FROM reservations r \
             WHERE r.status = 'BACKORDERED' AND EXISTS ( \
               SELECT 1 FROM reservation_lines l WHERE l.request_no = r.request_no \
               AND l.replacement = r.replacement AND l.held < l.requested AND l.part_no = ANY($1)) \
             ORDER BY r.urgency_rank DESC, r.seq",
            [parts.to_vec().into()],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "request_no")?, r.try_get("", "replacement")?)))
        .collect()
}

/// The (part, zone) of every line still missing something in the open back-orders missing any
/// of `parts`: the stock rows serving them would lock.
pub async fn open_backorder_lines_for<C: ConnectionTrait>(
    conn: &C,
    parts: &[String],
) -> Result<Vec<(String, Zone)>, DbErr> {
    if parts.is_empty() {
        return Ok(vec![]);
    }
    let rows = conn
        .query_all_raw(stmt(
            "SELECT DISTINCT m.part_no, m.zone FROM reservation_lines m \
             JOIN reservations r USING (request_no, replacement) \
             WHERE r.status = 'BACKORDERED' AND m.held < m.requested AND EXISTS ( \
               SELECT 1 FROM reservation_lines l WHERE l.request_no = r.request_no \
               AND l.replacement = r.replacement AND l.held < l.requested AND l.part_no = ANY($1))",
            [parts.to_vec().into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let part_no: String = r.try_get("", "part_no")?;
            let zone: String = r.try_get("", "zone")?;
            let zone = Zone::parse(&zone).ok_or_else(|| corrupt("zone", &zone))?;
            Ok((part_no, zone))
        })
        .collect()
}

/// Units owed to open back-orders of a part.
pub async fn backordered<C: ConnectionTrait>(conn: &C, part_no: &str) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT COALESCE(SUM(l.requested - l.held), 0)::bigint AS n FROM reservation_lines l \
             JOIN reservations r USING (request_no, replacement) \
             WHERE r.status = 'BACKORDERED' AND l.part_no = $1",
            [part_no.into()],
        ))
        .await?;
    match row {
        Some(r) => r.try_get("", "n"),
        None => Ok(0),
    }
}

/// Which back-orders a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackorderState {
    Open,
    Served,
    Cancelled,
}

#[derive(Debug, Clone, Default)]
pub struct BackorderFilter {
    pub part_no: Option<String>,
    pub branch: Option<String>,
    pub state: Option<BackorderState>,
    /// Keyset in serving order: back-orders after this (urgency rank, seq). Neither changes
    /// while a back-order waits, so serving others does not make a page skip any.
    pub after: Option<(i16, i64)>,
    pub limit: u64,
}

/// Back-orders in serving order, up to `limit`.
pub async fn list_backorders<C: ConnectionTrait>(
    conn: &C,
    f: &BackorderFilter,
) -> Result<Vec<Reservation>, DbErr> {
    let mut conditions = vec!["backordered_at IS NOT NULL".to_owned()];
    let mut values: Vec<Value> = Vec::new();
    let mut param = |v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    match f.state.unwrap_or(BackorderState::Open) {
        BackorderState::Open => conditions.push("status = 'BACKORDERED'".into()),
        BackorderState::Served => conditions.push("status IN ('CONFIRMED', 'ISSUED')".into()),
        BackorderState::Cancelled => conditions.push("status = 'RELEASED'".into()),
    }
    if let Some(p) = &f.part_no {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM reservation_lines l WHERE l.request_no = reservations.request_no \
             AND l.replacement = reservations.replacement AND l.part_no = {})",
            param(p.as_str().into())
        ));
    }
    if let Some(b) = &f.branch {
        conditions.push(format!("branch = {}", param(b.as_str().into())));
    }
    if let Some((rank, seq)) = f.after {
        let (rank, seq) = (param(rank.into()), param(seq.into()));
        conditions.push(format!(
            "(urgency_rank < {rank} OR (urgency_rank = {rank} AND seq > {seq}))"
        ));
    }
    let limit = param((f.limit as i64).into());
    all(
        conn,
        format!(
            "SELECT {COLUMNS} FROM reservations WHERE {} ORDER BY urgency_rank DESC, seq LIMIT {limit}",
            conditions.join(" AND ")
        ),
        values,
    )
    .await
}
