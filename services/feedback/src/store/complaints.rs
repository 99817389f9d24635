//! `complaints`, as domain [`Complaint`]s.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{corrupt, json_list, list_of, stmt};
use crate::domain::complaint::{Category, Complaint, ComplaintStatus, Department, Severity};
use crate::domain::visit::Customer;

#[derive(Debug, FromQueryResult)]
struct Row {
    complaint_id: String,
    request_no: String,
    branch: String,
    category: String,
    routed_to: String,
    severity: String,
    status: String,
    description: String,
    customer: Option<serde_json::Value>,
    escalation_level: i32,
    assignee: String,
    technician_id: String,
    source: String,
    survey_id: String,
    serial: String,
    product_model: String,
    part_nos: serde_json::Value,
    opened_by: String,
    opened_at: DateTime<Utc>,
    respond_by: DateTime<Utc>,
    escalated_at: Option<DateTime<Utc>>,
    deadline_escalated_at: Option<DateTime<Utc>>,
    resolution: String,
    reported_via: String,
    resolved_by: String,
    resolved_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "complaint_id, request_no, branch, category, routed_to, severity, status, \
    description, customer, escalation_level, assignee, technician_id, source, survey_id, serial, \
    product_model, part_nos, opened_by, opened_at, respond_by, escalated_at, deadline_escalated_at, \
    resolution, reported_via, resolved_by, resolved_at";

impl TryFrom<Row> for Complaint {
    type Error = DbErr;

    fn try_from(r: Row) -> Result<Complaint, DbErr> {
        let customer = match r.customer {
            Some(v) => Some(
                serde_json::from_value::<Customer>(v)
                    .map_err(|e| corrupt("customer", &e.to_string()))?,
            ),
            None => None,
        };
        Ok(Complaint {
            category: Category::parse(&r.category)
                .ok_or_else(|| corrupt("category", &r.category))?,
            routed_to: Department::parse(&r.routed_to)
                .ok_or_else(|| corrupt("routed_to", &r.routed_to))?,
            severity: Severity::parse(&r.severity)
                .ok_or_else(|| corrupt("severity", &r.severity))?,
            status: ComplaintStatus::parse(&r.status)
                .ok_or_else(|| corrupt("status", &r.status))?,
            complaint_id: r.complaint_id,
            request_no: r.request_no,
            branch: r.branch,
            description: r.description,
            customer,
            escalation_level: r.escalation_level.max(0) as u32,
            assignee: r.assignee,
            technician_id: r.technician_id,
            source: r.source,
            survey_id: r.survey_id,
            serial: r.serial,
            product_model: r.product_model,
            part_nos: list_of(&r.part_nos),
            opened_by: r.opened_by,
            opened_at: r.opened_at,
            respond_by: r.respond_by,
            escalated_at: r.escalated_at,
            deadline_escalated_at: r.deadline_escalated_at,
            resolution: r.resolution,
            reported_via: r.reported_via,
            resolved_by: r.resolved_by,
            resolved_at: r.resolved_at,
        })
    }
}

async fn many<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Vec<Complaint>, DbErr> {
    Row::find_by_statement(stmt(sql, values))
        .all(conn)
        .await?
        .into_iter()
        .map(Complaint::try_from)
        .collect()
}

pub async fn get<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Complaint>, DbErr> {
    let sql = format!("SELECT {COLUMNS} FROM complaints WHERE complaint_id = $1");
    Ok(many(conn, sql, vec![id.into()]).await?.pop())
}

pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<Complaint>, DbErr> {
    let sql = format!("SELECT {COLUMNS} FROM complaints WHERE complaint_id = $1 FOR UPDATE");
    Ok(many(conn, sql, vec![id.into()]).await?.pop())
}

pub async fn insert<C: ConnectionTrait>(conn: &C, c: &Complaint) -> Result<(), DbErr> {
    let customer: Value = match &c.customer {
        Some(x) => serde_json::to_value(x).ok().into(),
        None => Option::<serde_json::Value>::None.into(),
    };
    conn.execute_raw(stmt(
        format!(
            "INSERT INTO complaints ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
        ),
        [
            c.complaint_id.as_str().into(),
            c.request_no.as_str().into(),
            c.branch.as_str().into(),
            c.category.as_str().into(),
            c.routed_to.as_str().into(),
            c.severity.as_str().into(),
            c.status.as_str().into(),
            c.description.as_str().into(),
            customer,
            (c.escalation_level as i32).into(),
            c.assignee.as_str().into(),
            c.technician_id.as_str().into(),
            c.source.as_str().into(),
            c.survey_id.as_str().into(),
            c.serial.as_str().into(),
            c.product_model.as_str().into(),
            json_list(&c.part_nos),
            c.opened_by.as_str().into(),
            c.opened_at.into(),
            c.respond_by.into(),
            c.escalated_at.into(),
            c.deadline_escalated_at.into(),
            c.resolution.as_str().into(),
            c.reported_via.as_str().into(),
            c.resolved_by.as_str().into(),
            c.resolved_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Writes what an escalation or the resolution changes.
pub async fn update<C: ConnectionTrait>(conn: &C, c: &Complaint) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE complaints SET status = $2, escalation_level = $3, assignee = $4, \
         escalated_at = $5, deadline_escalated_at = $6, resolution = $7, reported_via = $8, \
         resolved_by = $9, resolved_at = $10 WHERE complaint_id = $1",
        [
            c.complaint_id.as_str().into(),
            c.status.as_str().into(),
            (c.escalation_level as i32).into(),
            c.assignee.as_str().into(),
            c.escalated_at.into(),
            c.deadline_escalated_at.into(),
            c.resolution.as_str().into(),
            c.reported_via.as_str().into(),
            c.resolved_by.as_str().into(),
            c.resolved_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Writes a re-derived response deadline (with what [`update`] writes).
pub async fn set_respond_by<C: ConnectionTrait>(conn: &C, c: &Complaint) -> Result<(), DbErr> {
    update(conn, c).await?;
    conn.execute_raw(stmt(
        "UPDATE complaints SET respond_by = $2 WHERE complaint_id = $1",
        [c.complaint_id.as_str().into(), c.respond_by.into()],
    ))
    .await?;
    Ok(())
}

/// Unresolved MINOR and MAJOR complaints past their response deadline at `now` and not yet
/// escalated for it, locked; rows another scan holds are skipped (it handles them).
pub async fn lapsed_for_update<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Complaint>, DbErr> {
    let sql = format!(
        "SELECT {COLUMNS} FROM complaints WHERE status <> 'resolved' AND severity <> 'serious' \
         AND deadline_escalated_at IS NULL AND respond_by <= $1 \
         ORDER BY respond_by, complaint_id LIMIT $2 FOR UPDATE SKIP LOCKED"
    );
    many(conn, sql, vec![now.into(), (limit as i64).into()]).await
}

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub branch: Option<String>,
    pub statuses: Vec<ComplaintStatus>,
    pub category: Option<Category>,
    pub routed_to: Option<Department>,
    /// At least this severity.
    pub min_severity: Option<Severity>,
    pub request_no: Option<String>,
    pub opened_from: Option<DateTime<Utc>>,
    pub opened_to: Option<DateTime<Utc>>,
    /// Before this (opened_at, complaint_id).
    pub before: Option<(DateTime<Utc>, String)>,
    pub limit: u64,
}

/// Newest first.
pub async fn list<C: ConnectionTrait>(conn: &C, f: &Filter) -> Result<Vec<Complaint>, DbErr> {
    let mut wheres = vec!["true".to_owned()];
    let mut values: Vec<Value> = Vec::new();
    let arg = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        format!("${}", values.len())
    };
    if let Some(b) = &f.branch {
        let p = arg(b.as_str().into(), &mut values);
        wheres.push(format!("branch = {p}"));
    }
    if !f.statuses.is_empty() {
        let list: Vec<String> = f.statuses.iter().map(|s| s.as_str().to_owned()).collect();
        let p = arg(serde_json::Value::from(list).into(), &mut values);
        wheres.push(format!(
            "status IN (SELECT jsonb_array_elements_text({p}::jsonb))"
        ));
    }
    if let Some(c) = f.category {
        let p = arg(c.as_str().into(), &mut values);
        wheres.push(format!("category = {p}"));
    }
    if let Some(d) = f.routed_to {
        let p = arg(d.as_str().into(), &mut values);
        wheres.push(format!("routed_to = {p}"));
    }
    if let Some(min) = f.min_severity {
        let allowed: Vec<String> = Severity::ALL
            .iter()
            .filter(|s| **s >= min)
            .map(|s| s.as_str().to_owned())
            .collect();
        let p = arg(serde_json::Value::from(allowed).into(), &mut values);
        wheres.push(format!(
            "severity IN (SELECT jsonb_array_elements_text({p}::jsonb))"
        ));
    }
    if let Some(r) = &f.request_no {
        let p = arg(r.as_str().into(), &mut values);
        wheres.push(format!("request_no = {p}"));
    }
    if let Some(t) = f.opened_from {
        let p = arg(t.into(), &mut values);
        wheres.push(format!("opened_at >= {p}"));
    }
    if let Some(t) = f.opened_to {
        let p = arg(t.into(), &mut values);
        wheres.push(format!("opened_at < {p}"));
    }
    if let Some((at, id)) = &f.before {
        let a = arg((*at).into(), &mut values);
        let i = arg(id.as_str().into(), &mut values);
        wheres.push(format!("(opened_at, complaint_id) < ({a}, {i})"));
    }
    let l = arg((f.limit as i64).into(), &mut values);
    let sql = format!(
        "SELECT {COLUMNS} FROM complaints WHERE {} ORDER BY opened_at DESC, complaint_id DESC LIMIT {l}",
        wheres.join(" AND ")
    );
    many(conn, sql, values).await
}
