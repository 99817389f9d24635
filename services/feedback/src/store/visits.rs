//! `visits`: the return visits, as domain [`Visit`]s.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, json_list, list_of, stmt};
use crate::domain::visit::{Customer, Outcome, Visit, VisitSource, VisitStatus};

#[derive(Debug, FromQueryResult)]
struct Row {
    visit_id: String,
    request_no: String,
    branch: String,
    source: String,
    status: String,
    due_at: DateTime<Utc>,
    due_date: NaiveDate,
    work_order_no: String,
    shipment_no: String,
    refund_id: String,
    technician_id: String,
    product_model: String,
    serial: String,
    part_nos: serde_json::Value,
    customer: Option<serde_json::Value>,
    attempts: i32,
    last_outcome: String,
    last_attempt_at: Option<DateTime<Utc>>,
    call_back_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    note: String,
    survey_id: String,
    created_at: DateTime<Utc>,
}

const COLUMNS: &str = "visit_id, request_no, branch, source, status, due_at, due_date, work_order_no, \
    shipment_no, refund_id, technician_id, product_model, serial, part_nos, customer, attempts, \
    last_outcome, last_attempt_at, call_back_at, done_at, note, survey_id, created_at";

impl TryFrom<Row> for Visit {
    type Error = DbErr;

    fn try_from(r: Row) -> Result<Visit, DbErr> {
        let source = VisitSource::parse(&r.source).ok_or_else(|| corrupt("source", &r.source))?;
        let status = VisitStatus::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?;
        let last_outcome = match r.last_outcome.as_str() {
            "" => None,
            o => Some(Outcome::parse(o).ok_or_else(|| corrupt("last_outcome", o))?),
        };
        let customer = match r.customer {
            Some(v) => Some(
                serde_json::from_value::<Customer>(v)
                    .map_err(|e| corrupt("customer", &e.to_string()))?,
            ),
            None => None,
        };
        Ok(Visit {
            visit_id: r.visit_id,
            request_no: r.request_no,
            branch: r.branch,
            source,
            status,
            due_at: r.due_at,
            due_date: r.due_date,
            work_order_no: r.work_order_no,
            shipment_no: r.shipment_no,
            refund_id: r.refund_id,
            technician_id: r.technician_id,
            product_model: r.product_model,
            serial: r.serial,
            part_nos: list_of(&r.part_nos),
            customer,
            attempts: r.attempts.max(0) as u32,
            last_outcome,
            last_attempt_at: r.last_attempt_at,
            call_back_at: r.call_back_at,
            done_at: r.done_at,
            note: r.note,
            survey_id: r.survey_id,
            created_at: r.created_at,
        })
    }
}

fn customer_value(c: &Option<Customer>) -> Value {
    match c {
        Some(c) => serde_json::to_value(c).ok().into(),
        None => Option::<serde_json::Value>::None.into(),
    }
}

async fn many<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Vec<Visit>, DbErr> {
    Row::find_by_statement(stmt(sql, values))
        .all(conn)
        .await?
        .into_iter()
        .map(Visit::try_from)
        .collect()
}

pub async fn get<C: ConnectionTrait>(conn: &C, visit_id: &str) -> Result<Option<Visit>, DbErr> {
    let sql = format!("SELECT {COLUMNS} FROM visits WHERE visit_id = $1");
    Ok(many(conn, sql, vec![visit_id.into()]).await?.pop())
}

pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    visit_id: &str,
) -> Result<Option<Visit>, DbErr> {
    let sql = format!("SELECT {COLUMNS} FROM visits WHERE visit_id = $1 FOR UPDATE");
    Ok(many(conn, sql, vec![visit_id.into()]).await?.pop())
}

/// Whether a visit exists for the job with this key.
pub async fn trigger_exists<C: ConnectionTrait>(conn: &C, key: &str) -> Result<bool, DbErr> {
    Ok(conn
        .query_one_raw(stmt(
            "SELECT 1 AS one FROM visits WHERE trigger_key = $1",
            [key.into()],
        ))
        .await?
        .is_some())
}

pub async fn insert<C: ConnectionTrait>(conn: &C, v: &Visit, key: &str) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO visits (visit_id, trigger_key, request_no, branch, source, status, due_at, \
         due_date, work_order_no, shipment_no, refund_id, technician_id, product_model, serial, \
         part_nos, customer, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        [
            v.visit_id.as_str().into(),
            key.into(),
            v.request_no.as_str().into(),
            v.branch.as_str().into(),
            v.source.as_str().into(),
            v.status.as_str().into(),
            v.due_at.into(),
            v.due_date.into(),
            v.work_order_no.as_str().into(),
            v.shipment_no.as_str().into(),
            v.refund_id.as_str().into(),
            v.technician_id.as_str().into(),
            v.product_model.as_str().into(),
            v.serial.as_str().into(),
            json_list(&v.part_nos),
            customer_value(&v.customer),
            v.created_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Writes what a call, a survey or a cancellation changes.
pub async fn update<C: ConnectionTrait>(conn: &C, v: &Visit) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE visits SET status = $2, attempts = $3, last_outcome = $4, last_attempt_at = $5, \
         call_back_at = $6, done_at = $7, note = $8, survey_id = $9 WHERE visit_id = $1",
        [
            v.visit_id.as_str().into(),
            v.status.as_str().into(),
            (v.attempts as i32).into(),
            v.last_outcome.map(|o| o.as_str()).unwrap_or("").into(),
            v.last_attempt_at.into(),
            v.call_back_at.into(),
            v.done_at.into(),
            v.note.as_str().into(),
            v.survey_id.as_str().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Writes a re-derived due instant and its local date.
pub async fn set_due<C: ConnectionTrait>(conn: &C, v: &Visit) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE visits SET due_at = $2, due_date = $3 WHERE visit_id = $1",
        [
            v.visit_id.as_str().into(),
            v.due_at.into(),
            v.due_date.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The request's open visits, locked.
pub async fn open_of_request_for_update<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Vec<Visit>, DbErr> {
    let sql = format!(
        "SELECT {COLUMNS} FROM visits WHERE request_no = $1 AND status IN ('due', 'attempted') \
         ORDER BY visit_id FOR UPDATE"
    );
    many(conn, sql, vec![request_no.into()]).await
}

/// Intake's submission arrived: visits scheduled before it learn the customer and the product.
pub async fn fill_from_submission<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    customer: &Customer,
    model: &str,
    serial: &str,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE visits SET customer = COALESCE(customer, $2), \
         product_model = CASE WHEN product_model = '' THEN $3 ELSE product_model END, \
         serial = CASE WHEN serial = '' THEN $4 ELSE serial END \
         WHERE request_no = $1",
        [
            request_no.into(),
            customer_value(&Some(customer.clone())),
            model.into(),
            serial.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// What a list asks for.
#[derive(Debug, Clone)]
pub struct Filter {
    /// `None`: every branch.
    pub branch: Option<String>,
    pub statuses: Vec<VisitStatus>,
    /// Due on or before this local date.
    pub due_by: Option<NaiveDate>,
    pub request_no: Option<String>,
    /// After this (due_at, visit_id).
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: u64,
}

/// Soonest (most overdue) first.
pub async fn list<C: ConnectionTrait>(conn: &C, f: &Filter) -> Result<Vec<Visit>, DbErr> {
    let mut wheres = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let arg = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        format!("${}", values.len())
    };
    let statuses: Vec<String> = f.statuses.iter().map(|s| s.as_str().to_owned()).collect();
    let p = arg(serde_json::Value::from(statuses).into(), &mut values);
    wheres.push(format!(
        "status IN (SELECT jsonb_array_elements_text({p}::jsonb))"
    ));
    if let Some(b) = &f.branch {
        let p = arg(b.as_str().into(), &mut values);
        wheres.push(format!("branch = {p}"));
    }
    if let Some(d) = f.due_by {
        let p = arg(d.into(), &mut values);
        wheres.push(format!("due_date <= {p}"));
    }
    if let Some(r) = &f.request_no {
        let p = arg(r.as_str().into(), &mut values);
        wheres.push(format!("request_no = {p}"));
    }
    if let Some((at, id)) = &f.after {
        let a = arg((*at).into(), &mut values);
        let i = arg(id.as_str().into(), &mut values);
        wheres.push(format!("(due_at, visit_id) > ({a}, {i})"));
    }
    let l = arg((f.limit as i64).into(), &mut values);
    let sql = format!(
        "SELECT {COLUMNS} FROM visits WHERE {} ORDER BY due_at, visit_id LIMIT {l}",
        wheres.join(" AND ")
    );
    many(conn, sql, values).await
}
