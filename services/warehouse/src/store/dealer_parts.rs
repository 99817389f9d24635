//! `dealer_expected_parts`, `old_part_batches` and `old_part_batch_parts`: the old parts
//! dealers must send back, and the boxes they sent.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::{corrupt, stmt};
use crate::domain::dealer::{Identification, Verdict};

/// A claimed part a dealer must send back.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ExpectedPart {
    pub claim_batch_id: String,
    pub line_no: i32,
    pub part_index: i32,
    pub dealer_code: String,
    pub branch: String,
    pub part_no: String,
    pub quantity: i64,
    pub faulty_serial: String,
    pub due_at: DateTime<Utc>,
    pub received_in: Option<String>,
}

const EXPECTED: &str = "claim_batch_id, line_no, part_index, dealer_code, branch, part_no, \
    quantity, faulty_serial, due_at, received_in";

/// Records an expected part; one already recorded (the same batch, line and part) is left as it
/// is. Whether it was new.
pub async fn record_expected<C: ConnectionTrait>(
    conn: &C,
    e: &ExpectedPart,
) -> Result<bool, DbErr> {
    let r = conn
        .execute_raw(stmt(
            format!(
                "INSERT INTO dealer_expected_parts ({EXPECTED}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) \
                 ON CONFLICT (claim_batch_id, line_no, part_index) DO NOTHING"
            ),
            [
                e.claim_batch_id.as_str().into(),
                e.line_no.into(),
                e.part_index.into(),
                e.dealer_code.as_str().into(),
                e.branch.as_str().into(),
                e.part_no.as_str().into(),
                e.quantity.into(),
                e.faulty_serial.as_str().into(),
                e.due_at.into(),
            ],
        ))
        .await?;
    Ok(r.rows_affected() > 0)
}

/// The dealer's branch as its latest decided batch says; `None` for a dealer with no decided
/// batch the warehouse knows of.
pub async fn dealer_branch<C: ConnectionTrait>(
    conn: &C,
    dealer_code: &str,
) -> Result<Option<String>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT branch FROM dealer_expected_parts WHERE dealer_code = $1 \
             ORDER BY due_at DESC, claim_batch_id DESC LIMIT 1",
            [dealer_code.into()],
        ))
        .await?;
    row.map(|r| r.try_get("", "branch")).transpose()
}

/// The dealer's claimed parts still expected back with one of `serials`, locked, in a fixed
/// order (oldest due first).
pub async fn open_for_update<C: ConnectionTrait>(
    conn: &C,
    dealer_code: &str,
    serials: &[String],
) -> Result<Vec<ExpectedPart>, DbErr> {
    ExpectedPart::find_by_statement(stmt(
        format!(
            "SELECT {EXPECTED} FROM dealer_expected_parts \
             WHERE dealer_code = $1 AND faulty_serial = ANY($2) AND received_in IS NULL \
             ORDER BY due_at, claim_batch_id, line_no, part_index FOR UPDATE"
        ),
        [dealer_code.into(), serials.to_vec().into()],
    ))
    .all(conn)
    .await
}

pub async fn mark_received<C: ConnectionTrait>(
    conn: &C,
    e: &ExpectedPart,
    batch_id: &str,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE dealer_expected_parts SET received_in = $4 \
         WHERE claim_batch_id = $1 AND line_no = $2 AND part_index = $3",
        [
            e.claim_batch_id.as_str().into(),
            e.line_no.into(),
            e.part_index.into(),
            batch_id.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// A dealer's box of old parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub batch_id: String,
    pub idempotency_key: String,
    pub dealer_code: String,
    pub branch: String,
    pub note: String,
    pub inspected: bool,
    pub movement_date: NaiveDate,
    pub received_by: String,
    pub received_at: DateTime<Utc>,
    pub inspected_by: String,
    pub inspected_at: Option<DateTime<Utc>>,
    pub parts: Vec<BatchPart>,
}

/// One part of a box, as identified and (later) inspected.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPart {
    pub position: i32,
    pub part_no: String,
    pub quantity: i64,
    pub faulty_serial: String,
    pub identification: Identification,
    pub claim_batch_id: String,
    pub line_no: i32,
    pub claimed_part_no: String,
    pub verdict: Option<Verdict>,
    pub verdict_note: String,
}

#[derive(Debug, FromQueryResult)]
struct BatchRow {
    batch_id: String,
    idempotency_key: String,
    dealer_code: String,
    branch: String,
    note: String,
    status: String,
    movement_date: NaiveDate,
    received_by: String,
    received_at: DateTime<Utc>,
    inspected_by: String,
    inspected_at: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
struct PartRow {
    position: i32,
    part_no: String,
    quantity: i64,
    faulty_serial: String,
    identification: String,
    claim_batch_id: String,
    line_no: i32,
    claimed_part_no: String,
    verdict: Option<String>,
    verdict_note: String,
}

const BATCH: &str = "batch_id, idempotency_key, dealer_code, branch, note, status, movement_date, \
    received_by, received_at, inspected_by, inspected_at";
const PART: &str = "position, part_no, quantity, faulty_serial, identification, claim_batch_id, \
    line_no, claimed_part_no, verdict, verdict_note";

pub async fn insert_batch<C: ConnectionTrait>(conn: &C, b: &Batch) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        format!(
            "INSERT INTO old_part_batches ({BATCH}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        [
            b.batch_id.as_str().into(),
            b.idempotency_key.as_str().into(),
            b.dealer_code.as_str().into(),
            b.branch.as_str().into(),
            b.note.as_str().into(),
            status(b.inspected).into(),
            b.movement_date.into(),
            b.received_by.as_str().into(),
            b.received_at.into(),
            b.inspected_by.as_str().into(),
            b.inspected_at.into(),
        ],
    ))
    .await?;
    for p in &b.parts {
        conn.execute_raw(stmt(
            format!(
                "INSERT INTO old_part_batch_parts (batch_id, {PART}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            [
                b.batch_id.as_str().into(),
                p.position.into(),
                p.part_no.as_str().into(),
                p.quantity.into(),
                p.faulty_serial.as_str().into(),
                p.identification.as_str().into(),
                p.claim_batch_id.as_str().into(),
                p.line_no.into(),
                p.claimed_part_no.as_str().into(),
                p.verdict.map(Verdict::as_str).into(),
                p.verdict_note.as_str().into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

fn status(inspected: bool) -> &'static str {
    if inspected { "INSPECTED" } else { "RECEIVED" }
}

async fn load<C: ConnectionTrait>(conn: &C, row: Option<BatchRow>) -> Result<Option<Batch>, DbErr> {
    let Some(r) = row else {
        return Ok(None);
    };
    let parts = PartRow::find_by_statement(stmt(
        format!("SELECT {PART} FROM old_part_batch_parts WHERE batch_id = $1 ORDER BY position"),
        [r.batch_id.as_str().into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|p| {
        Ok(BatchPart {
            identification: Identification::parse(&p.identification)
                .ok_or_else(|| corrupt("identification", &p.identification))?,
            verdict: p
                .verdict
                .as_deref()
                .map(|v| Verdict::parse(v).ok_or_else(|| corrupt("verdict", v)))
                .transpose()?,
            position: p.position,
            part_no: p.part_no,
            quantity: p.quantity,
            faulty_serial: p.faulty_serial,
            claim_batch_id: p.claim_batch_id,
            line_no: p.line_no,
            claimed_part_no: p.claimed_part_no,
            verdict_note: p.verdict_note,
        })
    })
    .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(Some(Batch {
        inspected: match r.status.as_str() {
            "RECEIVED" => false,
            "INSPECTED" => true,
            other => return Err(corrupt("batch status", other)),
        },
        batch_id: r.batch_id,
        idempotency_key: r.idempotency_key,
        dealer_code: r.dealer_code,
        branch: r.branch,
        note: r.note,
        movement_date: r.movement_date,
        received_by: r.received_by,
        received_at: r.received_at,
        inspected_by: r.inspected_by,
        inspected_at: r.inspected_at,
        parts,
    }))
}

pub async fn find_by_key<C: ConnectionTrait>(conn: &C, key: &str) -> Result<Option<Batch>, DbErr> {
    let row = BatchRow::find_by_statement(stmt(
        format!("SELECT {BATCH} FROM old_part_batches WHERE idempotency_key = $1"),
        [key.into()],
    ))
    .one(conn)
    .await?;
    load(conn, row).await
}

/// The batch; `lock` takes its row until the transaction ends (an inspection serializes on it).
pub async fn get<C: ConnectionTrait>(
    conn: &C,
    batch_id: &str,
    lock: bool,
) -> Result<Option<Batch>, DbErr> {
    let suffix = if lock { " FOR UPDATE" } else { "" };
    let row = BatchRow::find_by_statement(stmt(
        format!("SELECT {BATCH} FROM old_part_batches WHERE batch_id = $1{suffix}"),
        [batch_id.into()],
    ))
    .one(conn)
    .await?;
    load(conn, row).await
}

/// Records the inspection: the batch's status, who and when, and each part's verdict.
pub async fn record_inspection<C: ConnectionTrait>(conn: &C, b: &Batch) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE old_part_batches SET status = 'INSPECTED', inspected_by = $2, inspected_at = $3 \
         WHERE batch_id = $1",
        [
            b.batch_id.as_str().into(),
            b.inspected_by.as_str().into(),
            b.inspected_at.into(),
        ],
    ))
    .await?;
    for p in &b.parts {
        conn.execute_raw(stmt(
            "UPDATE old_part_batch_parts SET verdict = $3, verdict_note = $4 \
             WHERE batch_id = $1 AND position = $2",
            [
                b.batch_id.as_str().into(),
                p.position.into(),
                p.verdict.map(Verdict::as_str).into(),
                p.verdict_note.as_str().into(),
            ],
        ))
        .await?;
    }
    Ok(())
}
