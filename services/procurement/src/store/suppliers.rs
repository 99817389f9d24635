//! `suppliers` and `supplier_parts`: the qualified-supplier register.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, from_json, stmt, to_json};
use crate::domain::SupplierStatus;
use crate::domain::supplier::{Contract, Qualification};

#[derive(Debug, Clone, PartialEq)]
pub struct Supplier {
    pub supplier_id: String,
    pub idempotency_key: Option<String>,
    pub fingerprint: String,
    pub name: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub tax_id: String,
    pub lead_time_days: u32,
    pub status: SupplierStatus,
    pub status_reason: String,
    pub fix_by: Option<NaiveDate>,
    pub score_bp: u32,
    pub certifications: Vec<String>,
    pub contract: Option<Contract>,
    pub qualification: Qualification,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Sorted.
    pub part_nos: Vec<String>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    supplier_id: String,
    idempotency_key: Option<String>,
    fingerprint: String,
    name: String,
    contact_name: String,
    phone: String,
    email: String,
    address: String,
    tax_id: String,
    lead_time_days: i32,
    status: String,
    status_reason: String,
    fix_by: Option<NaiveDate>,
    score_bp: i32,
    certifications: serde_json::Value,
    contract: Option<serde_json::Value>,
    qualification: serde_json::Value,
    registered_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct PartRow {
    part_no: String,
}

const COLUMNS: &str = "supplier_id, idempotency_key, fingerprint, name, contact_name, phone, email, \
    address, tax_id, lead_time_days, status, status_reason, fix_by, score_bp, certifications, \
    contract, qualification, registered_at, updated_at";

async fn with_parts<C: ConnectionTrait>(conn: &C, r: Row) -> Result<Supplier, DbErr> {
    let part_nos = PartRow::find_by_statement(stmt(
        "SELECT part_no FROM supplier_parts WHERE supplier_id = $1 ORDER BY part_no",
        [r.supplier_id.as_str().into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|p| p.part_no)
    .collect();
    Ok(Supplier {
        status: SupplierStatus::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?,
        certifications: from_json("certifications", r.certifications)?,
        contract: r.contract.map(|c| from_json("contract", c)).transpose()?,
        qualification: from_json("qualification", r.qualification)?,
        supplier_id: r.supplier_id,
        idempotency_key: r.idempotency_key,
        fingerprint: r.fingerprint,
        name: r.name,
        contact_name: r.contact_name,
        phone: r.phone,
        email: r.email,
        address: r.address,
        tax_id: r.tax_id,
        lead_time_days: r.lead_time_days.max(0) as u32,
        status_reason: r.status_reason,
        fix_by: r.fix_by,
        score_bp: r.score_bp.clamp(0, 10_000) as u32,
        registered_at: r.registered_at,
        updated_at: r.updated_at,
        part_nos,
    })
}

async fn one<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    value: Value,
) -> Result<Option<Supplier>, DbErr> {
    match Row::find_by_statement(stmt(sql, [value])).one(conn).await? {
        Some(r) => Ok(Some(with_parts(conn, r).await?)),
        None => Ok(None),
    }
}

pub async fn get<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Supplier>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM suppliers WHERE supplier_id = $1"),
        id.into(),
    )
    .await
}

/// The supplier, locked for a change of its status or score.
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<Supplier>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM suppliers WHERE supplier_id = $1 FOR UPDATE"),
        id.into(),
    )
    .await
}

/// The supplier, its status held while an order goes to it (a suspension waits for the order to
/// commit, and an order placed after it sees it).
pub async fn get_for_share<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<Supplier>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM suppliers WHERE supplier_id = $1 FOR SHARE"),
        id.into(),
    )
    .await
}

pub async fn find_by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<Supplier>, DbErr> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM suppliers WHERE idempotency_key = $1"),
        key.into(),
    )
    .await
}

/// The next number for a supplier registered without an id.
pub async fn next_number<C: ConnectionTrait>(conn: &C) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt("SELECT nextval('supplier_numbers') AS n", []))
        .await?
        .ok_or_else(|| DbErr::Custom("nextval returned no row".into()))?;
    row.try_get("", "n")
}

pub async fn insert<C: ConnectionTrait>(conn: &C, s: &Supplier) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        format!(
            "INSERT INTO suppliers ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        ),
        [
            s.supplier_id.as_str().into(),
            s.idempotency_key.clone().into(),
            s.fingerprint.as_str().into(),
            s.name.as_str().into(),
            s.contact_name.as_str().into(),
            s.phone.as_str().into(),
            s.email.as_str().into(),
            s.address.as_str().into(),
            s.tax_id.as_str().into(),
            (s.lead_time_days as i32).into(),
            s.status.as_str().into(),
            s.status_reason.as_str().into(),
            s.fix_by.into(),
            (s.score_bp as i32).into(),
            to_json(&s.certifications).into(),
            s.contract.as_ref().map(to_json).into(),
            to_json(&s.qualification).into(),
            s.registered_at.into(),
            s.updated_at.into(),
        ],
    ))
    .await?;
    for p in &s.part_nos {
        conn.execute_raw(stmt(
            "INSERT INTO supplier_parts (supplier_id, part_no) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [s.supplier_id.as_str().into(), p.as_str().into()],
        ))
        .await?;
    }
    Ok(())
}

pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    status: SupplierStatus,
    reason: &str,
    fix_by: Option<NaiveDate>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE suppliers SET status = $2, status_reason = $3, fix_by = $4, updated_at = $5 WHERE supplier_id = $1",
        [
            id.into(),
            status.as_str().into(),
            reason.into(),
            fix_by.into(),
            at.into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn set_score<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    score_bp: u32,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE suppliers SET score_bp = $2, updated_at = $3 WHERE supplier_id = $1 AND score_bp <> $2",
        [id.into(), (score_bp as i32).into(), at.into()],
    ))
    .await?;
    Ok(())
}

/// Whether any supplier in the register is qualified for `part_no` (procurement knows the part).
pub async fn part_known<C: ConnectionTrait>(conn: &C, part_no: &str) -> Result<bool, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT EXISTS (SELECT 1 FROM supplier_parts WHERE part_no = $1) AS known",
            [part_no.into()],
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get::<bool>("", "known").ok())
        .unwrap_or(false))
}

/// A page of the register ordered by name: optionally only `statuses`, only suppliers qualified
/// for `part_no`, after the key `(name, supplier_id)` of the previous page.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    statuses: &[SupplierStatus],
    part_no: Option<&str>,
    after: Option<&(String, String)>,
    limit: u64,
) -> Result<Vec<Supplier>, DbErr> {
    let mut sql = format!("SELECT {COLUMNS} FROM suppliers s WHERE TRUE");
    let mut values: Vec<Value> = Vec::new();
    if !statuses.is_empty() {
        let mut marks = Vec::new();
        for st in statuses {
            values.push(st.as_str().into());
            marks.push(format!("${}", values.len()));
        }
        sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
    }
    if let Some(p) = part_no {
        values.push(p.into());
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM supplier_parts sp WHERE sp.supplier_id = s.supplier_id AND sp.part_no = ${})",
            values.len()
        ));
    }
    if let Some((name, id)) = after {
        values.push(name.as_str().into());
        values.push(id.as_str().into());
        sql.push_str(&format!(
            " AND (name, supplier_id) > (${}, ${})",
            values.len() - 1,
            values.len()
        ));
    }
    values.push((limit as i64).into());
    sql.push_str(&format!(
        " ORDER BY name, supplier_id LIMIT ${}",
        values.len()
    ));
    let rows = Row::find_by_statement(stmt(sql, values)).all(conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(with_parts(conn, r).await?);
    }
    Ok(out)
}

/// WARNED suppliers whose fix-by date passed by `today`, locked (skipping those another
/// transaction holds).
pub async fn warned_past_fix_by<C: ConnectionTrait>(
    conn: &C,
    today: NaiveDate,
    limit: u64,
) -> Result<Vec<Supplier>, DbErr> {
    let rows = Row::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM suppliers WHERE status = 'WARNED' AND fix_by < $1 \
             ORDER BY fix_by, supplier_id LIMIT $2 FOR UPDATE SKIP LOCKED"
        ),
        [today.into(), (limit as i64).into()],
    ))
    .all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(with_parts(conn, r).await?);
    }
    Ok(out)
}
