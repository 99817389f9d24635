//! The dealer tables (migrations 3 and 4): dealers, their batches and lines, the old parts
//! expected back, the statement entries, the issued statements and the consignments shipped to
//! them. Each function runs in the connection or transaction it is given.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

use crate::domain::dealer::{
    Batch, Dealer, DealerKind, Dispatch, Entry, EntryKind, LineReason, LineStatus, Prior, Terms,
};

fn stmt(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn json<T: serde::Serialize>(what: &str, v: &T) -> Result<Value, DbErr> {
    serde_json::to_value(v)
        .map(Value::from)
        .map_err(|e| DbErr::Type(format!("{what} as JSON: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, v: serde_json::Value) -> Result<T, DbErr> {
    serde_json::from_value(v).map_err(|e| DbErr::Type(format!("stored {what}: {e}")))
}

fn dealer_row(r: &QueryResult) -> Result<Dealer, DbErr> {
    let code: String = r.try_get("", "code")?;
    let kind: String = r.try_get("", "kind")?;
    let terms: serde_json::Value = r.try_get("", "terms")?;
    Ok(Dealer {
        kind: DealerKind::parse(&kind)
            .ok_or_else(|| DbErr::Type(format!("dealer {code}: kind {kind:?}")))?,
        terms: from_json::<Terms>("terms", terms)?,
        name: r.try_get("", "name")?,
        branch: r.try_get("", "branch")?,
        created_at: r.try_get("", "created_at")?,
        code,
    })
}

/// Inserts the dealer; false when the code is taken.
pub async fn insert_dealer<C: ConnectionTrait>(conn: &C, d: &Dealer) -> Result<bool, DbErr> {
    let n = conn
        .execute_raw(stmt(
            "INSERT INTO dealers (code, branch, name, kind, terms, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO NOTHING",
            [
                d.code.as_str().into(),
                d.branch.as_str().into(),
                d.name.as_str().into(),
                d.kind.as_str().into(),
                json("terms", &d.terms)?,
                d.created_at.into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// The dealer; `lock` takes its row FOR SHARE (writers of statement entries) or FOR UPDATE
/// (issuing a statement), so an entry never lands in a month being closed.
pub async fn dealer<C: ConnectionTrait>(
    conn: &C,
    code: &str,
    lock: Lock,
) -> Result<Option<Dealer>, DbErr> {
    let sql = format!(
        "SELECT code, branch, name, kind, terms, created_at FROM dealers WHERE code = $1{}",
        lock.sql()
    );
    conn.query_one_raw(stmt(&sql, [code.into()]))
        .await?
        .map(|r| dealer_row(&r))
        .transpose()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    Share,
    Update,
}

impl Lock {
    fn sql(self) -> &'static str {
        match self {
            Lock::None => "",
            Lock::Share => " FOR SHARE",
            Lock::Update => " FOR UPDATE",
        }
    }
}

/// A page of dealers ordered by code, after `after`, of `branch` when given.
pub async fn list_dealers<C: ConnectionTrait>(
    conn: &C,
    branch: Option<&str>,
    after: &str,
    limit: u32,
) -> Result<Vec<Dealer>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            "SELECT code, branch, name, kind, terms, created_at FROM dealers
             WHERE code > $1 AND ($2::text IS NULL OR branch = $2)
             ORDER BY code LIMIT $3",
            [
                after.into(),
                branch.map(str::to_owned).into(),
                (limit as i64).into(),
            ],
        ))
        .await?;
    rows.iter().map(dealer_row).collect()
}

/// Every dealer's code, when it was registered and its last issued month (the statement scan
/// starts after it).
pub async fn dealer_codes<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<(String, DateTime<Utc>, Option<String>)>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            "SELECT d.code, d.created_at, max(s.period) AS last_issued
             FROM dealers d LEFT JOIN dealer_statements s ON s.dealer_code = d.code
             GROUP BY d.code, d.created_at ORDER BY d.code",
            [],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "code")?,
                r.try_get("", "created_at")?,
                r.try_get("", "last_issued")?,
            ))
        })
        .collect()
}

/// Waits for the other transactions deciding lines of these serials (sorted, so two batches
/// sharing serials never deadlock).
pub async fn lock_serials<C: ConnectionTrait>(conn: &C, serials: &[String]) -> Result<(), DbErr> {
    let mut s: Vec<String> = serials.to_vec();
    s.sort();
    s.dedup();
    conn.execute_raw(stmt(
        "SELECT pg_advisory_xact_lock(hashtextextended('dealer-serial:' || s, 0))
         FROM unnest($1::text[]) AS s ORDER BY s",
        [s.into()],
    ))
    .await?;
    Ok(())
}

/// The earlier claims (not rejected) of `serials`, with the statement period they were settled
/// on when that statement is issued.
pub async fn priors<C: ConnectionTrait>(conn: &C, serials: &[String]) -> Result<Vec<Prior>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            "SELECT l.serial, l.repaired_on, l.batch_id, l.line_no, s.period AS settled
             FROM dealer_lines l
             LEFT JOIN dealer_statements s ON s.dealer_code = l.dealer_code AND s.period = l.period
             WHERE l.serial = ANY($1) AND l.status <> 'rejected'",
            [serials.to_vec().into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let batch: uuid::Uuid = r.try_get("", "batch_id")?;
            let line: i32 = r.try_get("", "line_no")?;
            Ok(Prior {
                serial: r.try_get("", "serial")?,
                repaired_on: r.try_get::<NaiveDate>("", "repaired_on")?,
                reference: format!("batch {batch} line {line}"),
                settled_in: r.try_get("", "settled")?,
            })
        })
        .collect()
}

/// The batch already decided under this dealer's key: its id and fingerprint.
pub async fn batch_by_key<C: ConnectionTrait>(
    conn: &C,
    dealer_code: &str,
    key: &str,
) -> Result<Option<(uuid::Uuid, String)>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT batch_id, fingerprint FROM dealer_batches
             WHERE dealer_code = $1 AND idempotency_key = $2",
            [dealer_code.into(), key.into()],
        ))
        .await?;
    row.map(|r| Ok((r.try_get("", "batch_id")?, r.try_get("", "fingerprint")?)))
        .transpose()
}

/// Inserts the decided batch, its lines and the old parts its approved lines owe; false when
/// the dealer's key was taken meanwhile (nothing written).
pub async fn insert_batch<C: ConnectionTrait>(
    conn: &C,
    b: &Batch,
    key: &str,
    fingerprint: &str,
) -> Result<bool, DbErr> {
    let n = conn
        .execute_raw(stmt(
            "INSERT INTO dealer_batches
               (batch_id, dealer_code, idempotency_key, fingerprint, decided_at, old_parts_due_at, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (dealer_code, idempotency_key) DO NOTHING",
            [
                b.batch_id.into(),
                b.dealer_code.as_str().into(),
                key.into(),
                fingerprint.into(),
                b.decided_at.into(),
                b.old_parts_due_at.into(),
                json("batch", b)?,
            ],
        ))
        .await?
        .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    for l in &b.lines {
        conn.execute_raw(stmt(
            "INSERT INTO dealer_lines
               (batch_id, line_no, dealer_code, serial, repaired_on, status, reason, amount_minor, period)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                b.batch_id.into(),
                (l.line_no as i32).into(),
                b.dealer_code.as_str().into(),
                l.input.product.serial.as_str().into(),
                l.input.repaired_on.into(),
                l.status.as_str().into(),
                l.reason.as_str().into(),
                l.amount().into(),
                l.period.as_str().into(),
            ],
        ))
        .await?;
        if l.status != LineStatus::Approved {
            continue;
        }
        for p in &l.input.parts {
            conn.execute_raw(stmt(
                "INSERT INTO dealer_old_parts (batch_id, line_no, faulty_serial, part_no, quantity, due_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                [
                    b.batch_id.into(),
                    (l.line_no as i32).into(),
                    p.faulty_serial.as_str().into(),
                    p.part_no.as_str().into(),
                    (p.quantity as i32).into(),
                    b.old_parts_due_at.into(),
                ],
            ))
            .await?;
        }
    }
    Ok(true)
}

/// The batch with its lines' current state (charge-backs happen after the decision).
pub async fn batch<C: ConnectionTrait>(conn: &C, id: uuid::Uuid) -> Result<Option<Batch>, DbErr> {
    let Some(row) = conn
        .query_one_raw(stmt(
            "SELECT detail FROM dealer_batches WHERE batch_id = $1",
            [id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let mut b: Batch = from_json("batch", row.try_get("", "detail")?)?;
    let rows = conn
        .query_all_raw(stmt(
            "SELECT line_no, status, reason, charged_back_minor, charge_back_period
             FROM dealer_lines WHERE batch_id = $1",
            [id.into()],
        ))
        .await?;
    for r in rows {
        let no: i32 = r.try_get("", "line_no")?;
        let Some(l) = b.lines.iter_mut().find(|l| l.line_no as i32 == no) else {
            continue;
        };
        let status: String = r.try_get("", "status")?;
        let reason: String = r.try_get("", "reason")?;
        l.status = LineStatus::parse(&status)
            .ok_or_else(|| DbErr::Type(format!("line status {status:?}")))?;
        l.reason = LineReason::parse(&reason)
            .ok_or_else(|| DbErr::Type(format!("line reason {reason:?}")))?;
        l.charged_back_minor = r.try_get("", "charged_back_minor")?;
        l.charge_back_period = r.try_get("", "charge_back_period")?;
    }
    Ok(Some(b))
}

/// Whether the dealer's statement of `period` is issued.
pub async fn issued<C: ConnectionTrait>(
    conn: &C,
    dealer: &str,
    period: &str,
) -> Result<bool, DbErr> {
    Ok(conn
        .query_one_raw(stmt(
            "SELECT 1 AS one FROM dealer_statements WHERE dealer_code = $1 AND period = $2",
            [dealer.into(), period.into()],
        ))
        .await?
        .is_some())
}

/// Adds an entry; false when the same thing (kind and reference) is on a statement already.
pub async fn insert_entry<C: ConnectionTrait>(
    conn: &C,
    dealer: &str,
    period: &str,
    e: &Entry,
) -> Result<bool, DbErr> {
    let n = conn
        .execute_raw(stmt(
            "INSERT INTO dealer_entries
               (dealer_code, period, kind, reference, serial, description, amount_minor, parts_qty, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (kind, reference) DO NOTHING",
            [
                dealer.into(),
                period.into(),
                e.kind.as_str().into(),
                e.reference.as_str().into(),
                e.serial.as_str().into(),
                e.description.as_str().into(),
                e.amount_minor.into(),
                (e.parts_qty as i32).into(),
                e.at.into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// A month's entries, in the order they were made.
pub async fn entries<C: ConnectionTrait>(
    conn: &C,
    dealer: &str,
    period: &str,
) -> Result<Vec<Entry>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            "SELECT kind, reference, serial, description, amount_minor, parts_qty, at
             FROM dealer_entries WHERE dealer_code = $1 AND period = $2 ORDER BY id",
            [dealer.into(), period.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("", "kind")?;
            let qty: i32 = r.try_get("", "parts_qty")?;
            Ok(Entry {
                kind: EntryKind::parse(&kind)
                    .ok_or_else(|| DbErr::Type(format!("entry kind {kind:?}")))?,
                reference: r.try_get("", "reference")?,
                serial: r.try_get("", "serial")?,
                description: r.try_get("", "description")?,
                amount_minor: r.try_get("", "amount_minor")?,
                parts_qty: qty.max(0) as u32,
                at: r.try_get("", "at")?,
            })
        })
        .collect()
}

/// How many claimed old parts got their verdict in `period`.
pub async fn old_parts_returned<C: ConnectionTrait>(
    conn: &C,
    dealer: &str,
    period: &str,
) -> Result<u32, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT coalesce(sum(p.quantity), 0)::bigint AS n
             FROM dealer_old_parts p JOIN dealer_lines l USING (batch_id, line_no)
             WHERE l.dealer_code = $1 AND p.verdict_period = $2",
            [dealer.into(), period.into()],
        ))
        .await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(n.max(0) as u32)
}

/// Records a consignment shipped to the dealer on `period`; false when it is recorded already
/// (the first delivery stands).
pub async fn insert_consignment<C: ConnectionTrait>(
    conn: &C,
    period: &str,
    c: &Dispatch,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let n = conn
        .execute_raw(stmt(
            "INSERT INTO dealer_consignments
               (consignment_id, dealer_code, period, kind, units, value_minor, dispatched_at, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (consignment_id) DO NOTHING",
            [
                c.consignment_id.as_str().into(),
                c.dealer_code.as_str().into(),
                period.into(),
                c.kind.as_str().into(),
                i32::try_from(c.units).unwrap_or(i32::MAX).into(),
                c.value_minor.into(),
                c.dispatched_at.into(),
                at.into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// How many units were shipped to the dealer on `period` (orders and exchanges).
pub async fn parts_shipped<C: ConnectionTrait>(
    conn: &C,
    dealer: &str,
    period: &str,
) -> Result<u32, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT coalesce(sum(units), 0)::bigint AS n
             FROM dealer_consignments WHERE dealer_code = $1 AND period = $2",
            [dealer.into(), period.into()],
        ))
        .await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

/// What earlier issued statements left owing: the sum of their negative nets, as a positive
/// amount.
pub async fn arrears<C: ConnectionTrait>(
    conn: &C,
    dealer: &str,
    before: &str,
) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT coalesce(sum(-net_minor) FILTER (WHERE net_minor < 0), 0)::bigint AS owed
             FROM dealer_statements WHERE dealer_code = $1 AND period < $2",
            [dealer.into(), before.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get("", "owed")?,
        None => 0,
    })
}

pub async fn insert_statement<C: ConnectionTrait>(
    conn: &C,
    s: &crate::domain::dealer::Statement,
    issued_at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let n = conn
        .execute_raw(stmt(
            "INSERT INTO dealer_statements (dealer_code, period, issued_at, net_minor, statement)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            [
                s.dealer_code.as_str().into(),
                s.period.as_str().into(),
                issued_at.into(),
                s.net_minor.into(),
                json("statement", s)?,
            ],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn statement<C: ConnectionTrait>(
    conn: &C,
    dealer: &str,
    period: &str,
) -> Result<Option<crate::domain::dealer::Statement>, DbErr> {
    conn.query_one_raw(stmt(
        "SELECT statement FROM dealer_statements WHERE dealer_code = $1 AND period = $2",
        [dealer.into(), period.into()],
    ))
    .await?
    .map(|r| from_json("statement", r.try_get("", "statement")?))
    .transpose()
}

/// Records a verdict on a claimed old part (the first one stands); the line's dealer, status
/// and amount when the verdict was recorded now.
pub async fn record_verdict<C: ConnectionTrait>(
    conn: &C,
    batch: uuid::Uuid,
    line_no: u32,
    faulty_serial: &str,
    verdict: &str,
    at: DateTime<Utc>,
    period: &str,
) -> Result<bool, DbErr> {
    let n = conn
        .execute_raw(stmt(
            "UPDATE dealer_old_parts SET verdict = $4, verdict_at = $5, verdict_period = $6
             WHERE batch_id = $1 AND line_no = $2 AND faulty_serial = $3 AND verdict IS NULL",
            [
                batch.into(),
                (line_no as i32).into(),
                faulty_serial.into(),
                verdict.into(),
                at.into(),
                period.into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// An approved line as a charge-back needs it.
#[derive(Debug, Clone)]
pub struct LineRef {
    pub batch_id: uuid::Uuid,
    pub line_no: u32,
    pub dealer_code: String,
    pub serial: String,
    pub amount_minor: i64,
}

/// The line, locked, if it is still approved.
pub async fn approved_line<C: ConnectionTrait>(
    conn: &C,
    batch: uuid::Uuid,
    line_no: u32,
) -> Result<Option<LineRef>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT dealer_code, serial, amount_minor FROM dealer_lines
             WHERE batch_id = $1 AND line_no = $2 AND status = 'approved' FOR UPDATE",
            [batch.into(), (line_no as i32).into()],
        ))
        .await?;
    row.map(|r| {
        Ok(LineRef {
            batch_id: batch,
            line_no,
            dealer_code: r.try_get("", "dealer_code")?,
            serial: r.try_get("", "serial")?,
            amount_minor: r.try_get("", "amount_minor")?,
        })
    })
    .transpose()
}

pub async fn charge_back<C: ConnectionTrait>(
    conn: &C,
    l: &LineRef,
    reason: LineReason,
    period: &str,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE dealer_lines SET status = 'charged_back', reason = $3, charged_back_minor = amount_minor,
                charge_back_period = $4
         WHERE batch_id = $1 AND line_no = $2 AND status = 'approved'",
        [
            l.batch_id.into(),
            (l.line_no as i32).into(),
            reason.as_str().into(),
            period.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Approved lines with an old part still not back at `now` (oldest first), locked, skipping
/// those another scan holds.
pub async fn lines_missing_old_parts<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<LineRef>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            "SELECT l.batch_id, l.line_no, l.dealer_code, l.serial, l.amount_minor
             FROM dealer_lines l
             WHERE l.status = 'approved' AND EXISTS (
                 SELECT 1 FROM dealer_old_parts p
                 WHERE p.batch_id = l.batch_id AND p.line_no = l.line_no
                   AND p.verdict IS NULL AND p.due_at <= $1)
             ORDER BY l.batch_id, l.line_no LIMIT $2 FOR UPDATE OF l SKIP LOCKED",
            [now.into(), (limit as i64).into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let no: i32 = r.try_get("", "line_no")?;
            Ok(LineRef {
                batch_id: r.try_get("", "batch_id")?,
                line_no: no.max(0) as u32,
                dealer_code: r.try_get("", "dealer_code")?,
                serial: r.try_get("", "serial")?,
                amount_minor: r.try_get("", "amount_minor")?,
            })
        })
        .collect()
}
