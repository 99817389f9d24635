//! `stock_levels` and the append-only `ledger`. On-hand changes only through [`post`], which
//! writes the ledger row and the level in the caller's transaction; rows are locked through
//! [`lock`] in one fixed order (part_no, zone) so that concurrent movements never deadlock on
//! each other and the last unit goes to exactly one of them.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, stmt};
use crate::domain::{MovementKind, Zone};

/// One part's stock in one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub zone: Zone,
    pub on_hand: i64,
    pub reserved: i64,
}

impl Level {
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

#[derive(Debug, FromQueryResult)]
struct LevelRow {
    zone: String,
    on_hand: i64,
    reserved: i64,
}

impl TryFrom<LevelRow> for Level {
    type Error = DbErr;
    fn try_from(r: LevelRow) -> Result<Self, DbErr> {
        Ok(Level {
            zone: Zone::parse(&r.zone).ok_or_else(|| corrupt("zone", &r.zone))?,
            on_hand: r.on_hand,
            reserved: r.reserved,
        })
    }
}

/// Locks the stock rows of `keys` until the transaction ends, in (part_no, zone) order whatever
/// the order given. A key without a row (unknown part) is simply absent from the answer.
pub async fn lock<C: ConnectionTrait>(
    conn: &C,
    keys: &[(String, Zone)],
) -> Result<Vec<(String, Level)>, DbErr> {
    let mut keys: Vec<(String, &'static str)> =
        keys.iter().map(|(p, z)| (p.clone(), z.as_str())).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::with_capacity(keys.len());
    for (part, zone) in keys {
        let row = LevelRow::find_by_statement(stmt(
            "SELECT zone, on_hand, reserved FROM stock_levels WHERE part_no = $1 AND zone = $2 FOR UPDATE",
            [part.as_str().into(), zone.into()],
        ))
        .one(conn)
        .await?;
        if let Some(r) = row {
            out.push((part, Level::try_from(r)?));
        }
    }
    Ok(out)
}

/// Every zone of one part, in zone order (not locked).
pub async fn levels<C: ConnectionTrait>(conn: &C, part_no: &str) -> Result<Vec<Level>, DbErr> {
    LevelRow::find_by_statement(stmt(
        "SELECT zone, on_hand, reserved FROM stock_levels WHERE part_no = $1 ORDER BY zone",
        [part_no.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(Level::try_from)
    .collect()
}

/// One movement of on-hand in one zone.
#[derive(Debug, Clone)]
pub struct Movement<'a> {
    pub part_no: &'a str,
    pub zone: Zone,
    pub kind: MovementKind,
    /// Signed change of on-hand; never zero.
    pub quantity: i64,
    pub reference_type: &'a str,
    pub reference_id: &'a str,
    pub request_no: &'a str,
    pub reason: &'a str,
    pub actor: &'a str,
    pub movement_date: NaiveDate,
}

/// Changes on-hand and appends the ledger row, together; `release_reserved` also lowers the
/// reservation by that many units (an issue takes reserved units out). Returns the ledger row.
/// The caller has locked the row and checked the movement is allowed; the table's CHECKs are
/// the last wall against negative stock.
pub async fn post<C: ConnectionTrait>(
    conn: &C,
    m: &Movement<'_>,
    release_reserved: i64,
) -> Result<LedgerEntry, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "UPDATE stock_levels SET on_hand = on_hand + $3, reserved = reserved - $4 \
             WHERE part_no = $1 AND zone = $2 RETURNING on_hand",
            [
                m.part_no.into(),
                m.zone.as_str().into(),
                m.quantity.into(),
                release_reserved.into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("stock row {} {}", m.part_no, m.zone)))?;
    let balance: i64 = row.try_get("", "on_hand")?;
    let entry = LedgerRow::find_by_statement(stmt(
        format!(
            "INSERT INTO ledger (part_no, zone, kind, quantity, balance_after, reference_type, \
             reference_id, request_no, reason, actor, movement_date) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {LEDGER_COLUMNS}"
        ),
        [
            m.part_no.into(),
            m.zone.as_str().into(),
            m.kind.as_str().into(),
            m.quantity.into(),
            balance.into(),
            m.reference_type.into(),
            m.reference_id.into(),
            m.request_no.into(),
            m.reason.into(),
            m.actor.into(),
            m.movement_date.into(),
        ],
    ))
    .one(conn)
    .await?
    .ok_or_else(|| DbErr::Custom("ledger insert returned nothing".into()))?;
    LedgerEntry::try_from(entry)
}

/// Raises (or, negative, lowers) the reserved units of a locked row.
pub async fn add_reserved<C: ConnectionTrait>(
    conn: &C,
    part_no: &str,
    zone: Zone,
    delta: i64,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE stock_levels SET reserved = reserved + $3 WHERE part_no = $1 AND zone = $2",
        [part_no.into(), zone.as_str().into(), delta.into()],
    ))
    .await?;
    Ok(())
}

/// Reservable units of a part now (QUALIFIED + VALUABLES).
pub async fn reservable<C: ConnectionTrait>(conn: &C, part_no: &str) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT COALESCE(SUM(on_hand - reserved), 0)::bigint AS a FROM stock_levels \
             WHERE part_no = $1 AND zone IN ('QUALIFIED', 'VALUABLES')",
            [part_no.into()],
        ))
        .await?;
    match row {
        Some(r) => r.try_get("", "a"),
        None => Ok(0),
    }
}

/// Whether the month of `date` is closed.
pub async fn period_closed<C: ConnectionTrait>(conn: &C, date: NaiveDate) -> Result<bool, DbErr> {
    let period = date.format("%Y-%m").to_string();
    let row = conn
        .query_one_raw(stmt(
            "SELECT 1 AS x FROM closed_periods WHERE period = $1",
            [period.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// A ledger row as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub entry_id: i64,
    pub part_no: String,
    pub zone: Zone,
    pub kind: MovementKind,
    pub quantity: i64,
    pub balance_after: i64,
    pub reference_type: String,
    pub reference_id: String,
    pub request_no: String,
    pub reason: String,
    pub actor: String,
    pub movement_date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
}

const LEDGER_COLUMNS: &str = "entry_id, part_no, zone, kind, quantity, balance_after, \
    reference_type, reference_id, request_no, reason, actor, movement_date, recorded_at";

#[derive(Debug, FromQueryResult)]
struct LedgerRow {
    entry_id: i64,
    part_no: String,
    zone: String,
    kind: String,
    quantity: i64,
    balance_after: i64,
    reference_type: String,
    reference_id: String,
    request_no: String,
    reason: String,
    actor: String,
    movement_date: NaiveDate,
    recorded_at: DateTime<Utc>,
}

impl TryFrom<LedgerRow> for LedgerEntry {
    type Error = DbErr;
    fn try_from(r: LedgerRow) -> Result<Self, DbErr> {
        Ok(LedgerEntry {
            entry_id: r.entry_id,
            zone: Zone::parse(&r.zone).ok_or_else(|| corrupt("zone", &r.zone))?,
            kind: MovementKind::parse(&r.kind).ok_or_else(|| corrupt("kind", &r.kind))?,
            part_no: r.part_no,
            quantity: r.quantity,
            balance_after: r.balance_after,
            reference_type: r.reference_type,
            reference_id: r.reference_id,
            request_no: r.request_no,
            reason: r.reason,
            actor: r.actor,
            movement_date: r.movement_date,
            recorded_at: r.recorded_at,
        })
    }
}

/// What a ledger listing asks for.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub part_no: Option<String>,
    pub zone: Option<Zone>,
    pub kinds: Vec<MovementKind>,
    pub reference_id: Option<String>,
    pub request_no: Option<String>,
    pub recorded_from: Option<DateTime<Utc>>,
    pub recorded_to: Option<DateTime<Utc>>,
    /// Keyset: rows older than this entry.
    pub before: Option<i64>,
    pub limit: u64,
}

/// Newest first, up to `limit` rows.
pub async fn ledger<C: ConnectionTrait>(
    conn: &C,
    f: &LedgerFilter,
) -> Result<Vec<LedgerEntry>, DbErr> {
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut param = |v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    if let Some(p) = &f.part_no {
        conditions.push(format!("part_no = {}", param(p.as_str().into())));
    }
    if let Some(z) = f.zone {
        conditions.push(format!("zone = {}", param(z.as_str().into())));
    }
    if !f.kinds.is_empty() {
        let ps: Vec<String> = f.kinds.iter().map(|k| param(k.as_str().into())).collect();
        conditions.push(format!("kind IN ({})", ps.join(", ")));
    }
    if let Some(r) = &f.reference_id {
        conditions.push(format!("reference_id = {}", param(r.as_str().into())));
    }
    if let Some(r) = &f.request_no {
        conditions.push(format!("request_no = {}", param(r.as_str().into())));
    }
    if let Some(t) = f.recorded_from {
        conditions.push(format!("recorded_at >= {}", param(t.into())));
    }
    if let Some(t) = f.recorded_to {
        conditions.push(format!("recorded_at < {}", param(t.into())));
    }
    if let Some(b) = f.before {
        conditions.push(format!("entry_id < {}", param(b.into())));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let limit = param((f.limit as i64).into());
    LedgerRow::find_by_statement(stmt(
        format!(
            "SELECT {LEDGER_COLUMNS} FROM ledger {filter} ORDER BY entry_id DESC LIMIT {limit}"
        ),
        values,
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(LedgerEntry::try_from)
    .collect()
}
