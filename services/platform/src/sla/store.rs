//! The clocks' tables (component `sla`, in the owning service's database): each clock's inputs
//! and what they derived, the log of moved deadlines, and the calendars by fingerprint. Query
//! functions take the connection or transaction they run in.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, Value};

use super::model::{Budget, Derived, Marks, State};
use crate::calendar::CalendarSettings;
use crate::db::{Migration, Migrations};

/// The tables; a service that owns deadlines lists this after the platform's.
pub const MIGRATIONS: Migrations = Migrations {
    component: "sla",
    list: &[Migration {
        version: 1,
        name: "sla_clocks",
        sql: include_str!("../../migrations/sla/0001_sla_clocks.sql"),
    }],
};

/// A clock as stored: what it is of, its inputs, and what they derived last.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredClock {
    pub clock_id: String,
    pub kind: String,
    pub subject: String,
    pub request_no: String,
    pub branch: String,
    pub marks: Marks,
    pub budget: Budget,
    pub policy_version: String,
    /// The fingerprint of the calendar `derived` was computed with.
    pub calendar: String,
    pub derived: Derived,
    pub updated_at: DateTime<Utc>,
}

/// One moved deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub clock_id: String,
    pub kind: String,
    pub subject: String,
    pub request_no: String,
    pub old_due_at: Option<DateTime<Utc>>,
    pub new_due_at: Option<DateTime<Utc>>,
    pub reason: String,
    pub policy_version: String,
    pub calendar: String,
    pub changed_at: DateTime<Utc>,
}

fn stmt(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn json<T: serde::Serialize>(what: &str, v: &T) -> Result<Value, DbErr> {
    serde_json::to_value(v)
        .map(Value::from)
        .map_err(|e| DbErr::Type(format!("sla {what} as JSON: {e}")))
}

#[derive(FromQueryResult)]
struct Row {
    clock_id: String,
    kind: String,
    subject: String,
    request_no: String,
    branch: String,
    marks: serde_json::Value,
    budget: serde_json::Value,
    policy_version: String,
    calendar: String,
    state: String,
    started_at: Option<DateTime<Utc>>,
    stopped_at: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    used_ms: i64,
    left_ms: i64,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for StoredClock {
    type Error = DbErr;
    fn try_from(r: Row) -> Result<Self, DbErr> {
        let bad = |what: String| DbErr::Type(format!("sla clock {}: {what}", r.clock_id));
        Ok(StoredClock {
            marks: serde_json::from_value(r.marks.clone()).map_err(|e| bad(e.to_string()))?,
            budget: serde_json::from_value(r.budget.clone()).map_err(|e| bad(e.to_string()))?,
            derived: Derived {
                state: State::parse(&r.state).ok_or_else(|| bad(format!("state {:?}", r.state)))?,
                started_at: r.started_at,
                stopped_at: r.stopped_at,
                since: r.since,
                due_at: r.due_at,
                used: Duration::milliseconds(r.used_ms),
                left: Duration::milliseconds(r.left_ms),
            },
            clock_id: r.clock_id,
            kind: r.kind,
            subject: r.subject,
            request_no: r.request_no,
            branch: r.branch,
            policy_version: r.policy_version,
            calendar: r.calendar,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str = "clock_id, kind, subject, request_no, branch, marks, budget, policy_version, \
    calendar, state, started_at, stopped_at, since, due_at, used_ms, left_ms, updated_at";

async fn one<C: ConnectionTrait>(conn: &C, s: Statement) -> Result<Option<StoredClock>, DbErr> {
    Row::find_by_statement(s)
        .one(conn)
        .await?
        .map(StoredClock::try_from)
        .transpose()
}

pub async fn get<C: ConnectionTrait>(
    conn: &C,
    clock_id: &str,
) -> Result<Option<StoredClock>, DbErr> {
    one(
        conn,
        stmt(
            &format!("SELECT {COLUMNS} FROM sla_clocks WHERE clock_id = $1"),
            [clock_id.into()],
        ),
    )
    .await
}

/// The clock, locked until the end of the transaction: marks, recomputes and scans of one clock
/// take turns.
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    clock_id: &str,
) -> Result<Option<StoredClock>, DbErr> {
    one(
        conn,
        stmt(
            &format!("SELECT {COLUMNS} FROM sla_clocks WHERE clock_id = $1 FOR UPDATE"),
            [clock_id.into()],
        ),
    )
    .await
}

/// Inserts or replaces the clock.
pub async fn save<C: ConnectionTrait>(conn: &C, c: &StoredClock) -> Result<(), DbErr> {
    let d = &c.derived;
    conn.execute_raw(stmt(
        &format!(
            "INSERT INTO sla_clocks ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (clock_id) DO UPDATE SET marks = excluded.marks,
                 budget = excluded.budget, policy_version = excluded.policy_version,
                 calendar = excluded.calendar, state = excluded.state,
                 started_at = excluded.started_at, stopped_at = excluded.stopped_at,
                 since = excluded.since, due_at = excluded.due_at, used_ms = excluded.used_ms,
                 left_ms = excluded.left_ms, updated_at = excluded.updated_at"
        ),
        [
            c.clock_id.as_str().into(),
            c.kind.as_str().into(),
            c.subject.as_str().into(),
            c.request_no.as_str().into(),
            c.branch.as_str().into(),
            json("marks", &c.marks)?,
            json("budget", &c.budget)?,
            c.policy_version.as_str().into(),
            c.calendar.as_str().into(),
            d.state.as_str().into(),
            d.started_at.into(),
            d.stopped_at.into(),
            d.since.into(),
            d.due_at.into(),
            d.used.num_milliseconds().into(),
            d.left.num_milliseconds().into(),
            c.updated_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Up to `limit` open clocks (running or paused) after `after` in id order; with `since`, only
/// those whose deadline is at or after it, or that have none (paused).
pub async fn open_ids<C: ConnectionTrait>(
    conn: &C,
    since: Option<DateTime<Utc>>,
    after: &str,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            "SELECT clock_id FROM sla_clocks
             WHERE state <> 'stopped' AND clock_id > $1
               AND ($2::timestamptz IS NULL OR due_at IS NULL OR due_at >= $2)
             ORDER BY clock_id LIMIT $3",
            [
                after.into(),
                since.into(),
                (limit.min(i64::MAX as u64) as i64).into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "clock_id"))
        .collect()
}

/// Up to `limit` open clocks derived with another calendar or policy version than these.
pub async fn stale_ids<C: ConnectionTrait>(
    conn: &C,
    calendar: &str,
    policy_version: &str,
    after: &str,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            "SELECT clock_id FROM sla_clocks
             WHERE state <> 'stopped' AND clock_id > $1
               AND (calendar <> $2 OR policy_version <> $3)
             ORDER BY clock_id LIMIT $4",
            [
                after.into(),
                calendar.into(),
                policy_version.into(),
                (limit.min(i64::MAX as u64) as i64).into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "clock_id"))
        .collect()
}

pub async fn record_change<C: ConnectionTrait>(conn: &C, c: &Change) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO sla_changes (clock_id, kind, subject, request_no, old_due_at, new_due_at,
             reason, policy_version, calendar, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        [
            c.clock_id.as_str().into(),
            c.kind.as_str().into(),
            c.subject.as_str().into(),
            c.request_no.as_str().into(),
            c.old_due_at.into(),
            c.new_due_at.into(),
            c.reason.as_str().into(),
            c.policy_version.as_str().into(),
            c.calendar.as_str().into(),
            c.changed_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct ChangeRow {
    clock_id: String,
    kind: String,
    subject: String,
    request_no: String,
    old_due_at: Option<DateTime<Utc>>,
    new_due_at: Option<DateTime<Utc>>,
    reason: String,
    policy_version: String,
    calendar: String,
    changed_at: DateTime<Utc>,
}

/// The moves of one clock's deadline, oldest first.
pub async fn changes<C: ConnectionTrait>(conn: &C, clock_id: &str) -> Result<Vec<Change>, DbErr> {
    Ok(ChangeRow::find_by_statement(stmt(
        "SELECT clock_id, kind, subject, request_no, old_due_at, new_due_at, reason,
                policy_version, calendar, changed_at
         FROM sla_changes WHERE clock_id = $1 ORDER BY id",
        [clock_id.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|r| Change {
        clock_id: r.clock_id,
        kind: r.kind,
        subject: r.subject,
        request_no: r.request_no,
        old_due_at: r.old_due_at,
        new_due_at: r.new_due_at,
        reason: r.reason,
        policy_version: r.policy_version,
        calendar: r.calendar,
        changed_at: r.changed_at,
    })
    .collect())
}

/// Remembers the settings of a calendar by its fingerprint (once).
pub async fn remember_calendar<C: ConnectionTrait>(
    conn: &C,
    fingerprint: &str,
    settings: &CalendarSettings,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO sla_calendars (fingerprint, settings, first_seen) VALUES ($1, $2, $3)
         ON CONFLICT (fingerprint) DO NOTHING",
        [
            fingerprint.into(),
            json("calendar", &settings.canonical())?,
            now.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The settings of a calendar seen before.
pub async fn calendar<C: ConnectionTrait>(
    conn: &C,
    fingerprint: &str,
) -> Result<Option<CalendarSettings>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT settings FROM sla_calendars WHERE fingerprint = $1",
            [fingerprint.into()],
        ))
        .await?;
    row.map(|r| {
        let v: serde_json::Value = r.try_get("", "settings")?;
        serde_json::from_value(v).map_err(|e| DbErr::Type(format!("sla calendar: {e}")))
    })
    .transpose()
}
