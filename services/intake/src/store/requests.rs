//! The `requests` and `tracking_sequences` tables.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, Value};

use crate::domain::request::{Customer, PartLine, PhoneNumber, Product};
use crate::domain::tracking::BranchCode;
use crate::domain::{Channel, NewRequest, Region, RequestKind, RequestNo, RequestStatus, Urgency};

/// A request as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    pub request_no: RequestNo,
    pub fingerprint: String,
    pub status: RequestStatus,
    pub status_reason: String,
    pub request: NewRequest,
    pub submitted_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The newest step (routing key of a timeline entry) and when it happened: what the stuck
    /// check measures from.
    pub last_step: String,
    pub last_step_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    request_no: String,
    idempotency_key: String,
    fingerprint: String,
    branch: String,
    channel: String,
    kind: String,
    urgency: String,
    status: String,
    status_reason: String,
    customer_name: String,
    customer_phone: String,
    customer_phone_digits: String,
    customer_address: String,
    customer_region: String,
    customer_email: String,
    product: serde_json::Value,
    fault_description: String,
    photos: serde_json::Value,
    parts: serde_json::Value,
    misuse_suspected: bool,
    notify: serde_json::Value,
    submitted_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_step: String,
    last_step_at: DateTime<Utc>,
}

fn json<T: serde::de::DeserializeOwned>(what: &str, v: serde_json::Value) -> Result<T, DbErr> {
    serde_json::from_value(v).map_err(|e| DbErr::Json(format!("{what}: {e}")))
}

fn corrupt(what: &str, value: &str) -> DbErr {
    DbErr::Type(format!("stored {what} {value:?} is not valid"))
}

impl TryFrom<Row> for StoredRequest {
    type Error = DbErr;
    fn try_from(r: Row) -> Result<Self, DbErr> {
        let product: Product = json("product", r.product)?;
        let photos: Vec<String> = json("photos", r.photos)?;
        let parts: Vec<PartLine> = json("parts", r.parts)?;
        Ok(StoredRequest {
            request_no: RequestNo::parse(&r.request_no)
                .map_err(|_| corrupt("request_no", &r.request_no))?,
            fingerprint: r.fingerprint,
            status: RequestStatus::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?,
            status_reason: r.status_reason,
            request: NewRequest {
                idempotency_key: r.idempotency_key,
                branch: BranchCode::parse(&r.branch).map_err(|_| corrupt("branch", &r.branch))?,
                channel: Channel::parse(&r.channel)
                    .ok_or_else(|| corrupt("channel", &r.channel))?,
                kind: RequestKind::parse(&r.kind).ok_or_else(|| corrupt("kind", &r.kind))?,
                urgency: Urgency::parse(&r.urgency)
                    .ok_or_else(|| corrupt("urgency", &r.urgency))?,
                customer: Customer {
                    name: r.customer_name,
                    phone: PhoneNumber {
                        display: r.customer_phone,
                        digits: r.customer_phone_digits,
                    },
                    address: r.customer_address,
                    region: Region::parse(&r.customer_region)
                        .ok_or_else(|| corrupt("region", &r.customer_region))?,
                    email: r.customer_email,
                },
                product,
                fault_description: r.fault_description,
                photos,
                parts,
                misuse_suspected: r.misuse_suspected,
                notify: json("notify", r.notify)?,
            },
            submitted_by: r.submitted_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_step: r.last_step,
            last_step_at: r.last_step_at,
        })
    }
}

const COLUMNS: &str = "request_no, idempotency_key, fingerprint, branch, channel, kind, urgency, status, status_reason, \
    customer_name, customer_phone, customer_phone_digits, customer_address, customer_region, customer_email, \
    product, fault_description, photos, parts, misuse_suspected, notify, submitted_by, created_at, updated_at, \
    last_step, last_step_at";

fn stmt(sql: impl Into<String>, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

async fn one<C: ConnectionTrait>(conn: &C, s: Statement) -> Result<Option<StoredRequest>, DbErr> {
    Row::find_by_statement(s)
        .one(conn)
        .await?
        .map(StoredRequest::try_from)
        .transpose()
}

pub async fn find_by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<StoredRequest>, DbErr> {
    one(
        conn,
        stmt(
            format!("SELECT {COLUMNS} FROM requests WHERE idempotency_key = $1"),
            [key.into()],
        ),
    )
    .await
}

pub async fn get<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Option<StoredRequest>, DbErr> {
    one(
        conn,
        stmt(
            format!("SELECT {COLUMNS} FROM requests WHERE request_no = $1"),
            [request_no.into()],
        ),
    )
    .await
}

/// The request, locked until the transaction ends (status changes serialize on it).
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Option<StoredRequest>, DbErr> {
    one(
        conn,
        stmt(
            format!("SELECT {COLUMNS} FROM requests WHERE request_no = $1 FOR UPDATE"),
            [request_no.into()],
        ),
    )
    .await
}

/// The next `n` tracking sequences of each branch in `period`, in one statement: the last
/// number issued to each, in the order given (the numbers are `last - n + 1 ..= last`). Pass
/// the branches in a fixed order (sorted) so that concurrent callers lock them alike.
pub async fn next_sequences<C: ConnectionTrait>(
    conn: &C,
    period: &str,
    counts: &[(&str, i64)],
) -> Result<Vec<i64>, DbErr> {
    let mut values: Vec<Value> = vec![period.into()];
    let mut tuples = Vec::with_capacity(counts.len());
    for (b, n) in counts {
        values.push((*b).into());
        values.push((*n as i32).into());
        tuples.push(format!("(${}, $1, ${})", values.len() - 1, values.len()));
    }
    let rows = conn
        .query_all_raw(stmt(
            format!(
                "INSERT INTO tracking_sequences (branch, period, last) VALUES {}
                 ON CONFLICT (branch, period) DO UPDATE SET last = tracking_sequences.last + excluded.last
                 RETURNING branch, last",
                tuples.join(", ")
            ),
            values,
        ))
        .await?;
    let mut last = std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        let b: String = r.try_get("", "branch")?;
        last.insert(b, r.try_get::<i32>("", "last")? as i64);
    }
    counts
        .iter()
        .map(|(b, _)| {
            last.get(*b)
                .copied()
                .ok_or_else(|| DbErr::Custom(format!("no sequence returned for branch {b}")))
        })
        .collect()
}

/// The next tracking sequence of `branch` in `period`. The row lock serializes concurrent
/// submissions of one branch, and a rollback returns the number: no gaps, no duplicates.
pub async fn next_sequence<C: ConnectionTrait>(
    conn: &C,
    branch: &str,
    period: &str,
) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "INSERT INTO tracking_sequences (branch, period, last) VALUES ($1, $2, 1)
             ON CONFLICT (branch, period) DO UPDATE SET last = tracking_sequences.last + 1
             RETURNING last",
            [branch.into(), period.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("sequence upsert returned nothing".into()))?;
    Ok(row.try_get::<i32>("", "last")? as i64)
}

/// The unique constraint on `requests.idempotency_key`: the key decides whether a submission is
/// new.
const IDEMPOTENCY_KEY_CONSTRAINT: &str = "requests_idempotency_key_key";

/// Whether `e` says the idempotency key is taken (a retry, or a concurrent submission with the
/// same key that committed first). Read from the driver's error: SQLSTATE 23505 on that
/// constraint, never from the message text.
pub fn is_idempotency_conflict(e: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => {
            match x.as_ref() {
                sqlx::Error::Database(d) => {
                    d.code().as_deref() == Some("23505")
                        && d.constraint() == Some(IDEMPOTENCY_KEY_CONSTRAINT)
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Writes new requests, each with its first timeline entry and its first event (sequence row,
/// outbox row), and wakes the relay, in one statement: one round trip for any number of
/// requests. A taken idempotency key fails it as a whole ([`is_idempotency_conflict`]).
pub async fn insert_submitted<C: ConnectionTrait>(
    conn: &C,
    rows: &[(
        StoredRequest,
        crate::store::timeline::Entry,
        aftersales_platform::outbox::Staged,
    )],
) -> Result<(), DbErr> {
    let mut values = Vec::with_capacity(rows.len() * 38);
    let mut tuples = Vec::with_capacity(rows.len());
    for (r, _, _) in rows {
        let first = values.len() + 1;
        values.extend(row_values(r)?);
        let params = (first..values.len() + 1)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        tuples.push(format!("({params})"));
    }
    let timeline =
        crate::store::timeline::cte("timeline_rows", rows.iter().map(|(_, e, _)| e), &mut values);
    let events =
        aftersales_platform::outbox::cte("event", rows.iter().map(|(_, _, s)| s), &mut values);
    let sql = format!(
        "WITH request_rows AS (INSERT INTO requests ({COLUMNS}) VALUES {}), {timeline}, {events} {}",
        tuples.join(", "),
        aftersales_platform::outbox::NOTIFY_SELECT
    );
    conn.execute_raw(stmt(sql, values)).await?;
    Ok(())
}

fn row_values(r: &StoredRequest) -> Result<Vec<Value>, DbErr> {
    let q = &r.request;
    let to_json =
        |v: serde_json::Result<serde_json::Value>| v.map_err(|e| DbErr::Json(e.to_string()));
    Ok(vec![
        r.request_no.as_str().into(),
        q.idempotency_key.as_str().into(),
        r.fingerprint.as_str().into(),
        q.branch.as_str().into(),
        q.channel.as_str().into(),
        q.kind.as_str().into(),
        q.urgency.as_str().into(),
        r.status.as_str().into(),
        r.status_reason.as_str().into(),
        q.customer.name.as_str().into(),
        q.customer.phone.display.as_str().into(),
        q.customer.phone.digits.as_str().into(),
        q.customer.address.as_str().into(),
        q.customer.region.as_str().into(),
        q.customer.email.as_str().into(),
        to_json(serde_json::to_value(&q.product))?.into(),
        q.fault_description.as_str().into(),
        to_json(serde_json::to_value(&q.photos))?.into(),
        to_json(serde_json::to_value(&q.parts))?.into(),
        q.misuse_suspected.into(),
        to_json(serde_json::to_value(q.notify))?.into(),
        r.submitted_by.as_str().into(),
        r.created_at.into(),
        r.updated_at.into(),
        r.last_step.as_str().into(),
        r.last_step_at.into(),
    ])
}

pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    status: RequestStatus,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE requests SET status = $2, status_reason = $3, updated_at = $4 WHERE request_no = $1",
        [request_no.into(), status.as_str().into(), reason.into(), at.into()],
    ))
    .await?;
    Ok(())
}

/// What a list asks for. `branch` is already narrowed to what the caller may see.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub branch: Option<String>,
    pub statuses: Vec<RequestStatus>,
    pub phone_digits: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// Keyset: the last row of the previous page, newest first.
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: u32,
    /// Only requests whose next step is overdue at these cut-offs.
    pub stuck: Option<StuckCutoffs>,
}

pub use crate::domain::stuck::Cutoffs as StuckCutoffs;

/// The SQL condition "stuck at these cut-offs", its values pushed onto `values`.
fn stuck_condition(c: &StuckCutoffs, values: &mut Vec<Value>) -> String {
    let mut param = |v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let finals = RequestStatus::ALL
        .iter()
        .filter(|s| s.is_final())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut any = Vec::new();
    let steps: Vec<String> = c
        .by_step
        .iter()
        .map(|(k, _)| param(k.as_str().into()))
        .collect();
    for ((_, cut), p) in c.by_step.iter().zip(&steps) {
        let pc = param((*cut).into());
        any.push(format!("(last_step = {p} AND last_step_at < {pc})"));
    }
    let not_a_step = if steps.is_empty() {
        "TRUE".to_owned()
    } else {
        format!("last_step NOT IN ({})", steps.join(", "))
    };
    let statuses: Vec<String> = c
        .by_status
        .iter()
        .map(|(s, _)| param(s.as_str().into()))
        .collect();
    for ((_, cut), p) in c.by_status.iter().zip(&statuses) {
        let pc = param((*cut).into());
        any.push(format!(
            "({not_a_step} AND status = {p} AND last_step_at < {pc})"
        ));
    }
    if let Some(cut) = c.otherwise {
        let pc = param(cut.into());
        let not_a_status = if statuses.is_empty() {
            "TRUE".to_owned()
        } else {
            format!("status NOT IN ({})", statuses.join(", "))
        };
        any.push(format!(
            "({not_a_step} AND {not_a_status} AND last_step_at < {pc})"
        ));
    }
    if any.is_empty() {
        return "FALSE".to_owned();
    }
    format!("(status NOT IN ({finals}) AND ({}))", any.join(" OR "))
}

/// Every request by status and branch (the funnel metric).
pub async fn count_by_status<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<(String, String, i64)>, DbErr> {
    #[derive(FromQueryResult)]
    struct Count {
        status: String,
        branch: String,
        n: i64,
    }
    let rows = Count::find_by_statement(stmt(
        "SELECT status, branch, count(*)::bigint AS n FROM requests GROUP BY status, branch",
        [],
    ))
    .all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|c| (c.status, c.branch, c.n))
        .collect())
}

/// How many open requests are stuck, by status and branch (the metric).
pub async fn count_stuck<C: ConnectionTrait>(
    conn: &C,
    cutoffs: &StuckCutoffs,
) -> Result<Vec<(String, String, i64)>, DbErr> {
    #[derive(FromQueryResult)]
    struct Count {
        status: String,
        branch: String,
        n: i64,
    }
    let mut values = Vec::new();
    let cond = stuck_condition(cutoffs, &mut values);
    let rows = Count::find_by_statement(stmt(
        format!(
            "SELECT status, branch, count(*)::bigint AS n FROM requests WHERE {cond} GROUP BY status, branch"
        ),
        values,
    ))
    .all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|c| (c.status, c.branch, c.n))
        .collect())
}

/// Newest first; returns up to `limit + 1` rows so the caller knows whether a next page exists.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    f: &ListFilter,
) -> Result<Vec<StoredRequest>, DbErr> {
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let param = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        format!("${}", values.len())
    };
    if let Some(b) = &f.branch {
        let p = param(b.as_str().into(), &mut values);
        conditions.push(format!("branch = {p}"));
    }
    if !f.statuses.is_empty() {
        let ps: Vec<String> = f
            .statuses
            .iter()
            .map(|s| param(s.as_str().into(), &mut values))
            .collect();
        conditions.push(format!("status IN ({})", ps.join(", ")));
    }
    if let Some(d) = &f.phone_digits {
        let p = param(d.as_str().into(), &mut values);
        conditions.push(format!("customer_phone_digits = {p}"));
    }
    if let Some(from) = f.created_from {
        let p = param(from.into(), &mut values);
        conditions.push(format!("created_at >= {p}"));
    }
    if let Some(to) = f.created_to {
        let p = param(to.into(), &mut values);
        conditions.push(format!("created_at < {p}"));
    }
    if let Some(c) = &f.stuck {
        conditions.push(stuck_condition(c, &mut values));
    }
    if let Some((at, no)) = &f.after {
        let pa = param((*at).into(), &mut values);
        let pn = param(no.as_str().into(), &mut values);
        conditions.push(format!("(created_at, request_no) < ({pa}, {pn})"));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let limit = param(((f.limit + 1) as i64).into(), &mut values);
    let sql = format!(
        "SELECT {COLUMNS} FROM requests {filter} ORDER BY created_at DESC, request_no DESC LIMIT {limit}"
    );
    Row::find_by_statement(stmt(sql, values))
        .all(conn)
        .await?
        .into_iter()
        .map(StoredRequest::try_from)
        .collect()
}
