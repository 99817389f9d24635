//! `assessment_entries`: the scores people entered, per period, branch and indicator.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::stmt;
use crate::domain::assessment::Entry;

#[derive(Debug, FromQueryResult)]
struct Row {
    indicator_id: String,
    points_tenths: i32,
    evidence: String,
    entered_by: String,
    entered_at: DateTime<Utc>,
}

/// Records (or replaces) a person's score.
pub async fn upsert<C: ConnectionTrait>(
    conn: &C,
    period: &str,
    branch: &str,
    e: &Entry,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "INSERT INTO assessment_entries (period, branch, indicator_id, points_tenths, evidence, \
         entered_by, entered_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (period, branch, indicator_id) DO UPDATE SET points_tenths = excluded.points_tenths, \
         evidence = excluded.evidence, entered_by = excluded.entered_by, entered_at = excluded.entered_at",
        [
            period.into(),
            branch.into(),
            e.indicator_id.as_str().into(),
            (e.points_tenths as i32).into(),
            e.evidence.as_str().into(),
            e.entered_by.as_str().into(),
            e.entered_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The entries of one assessment, by indicator.
pub async fn entries<C: ConnectionTrait>(
    conn: &C,
    period: &str,
    branch: &str,
) -> Result<BTreeMap<String, Entry>, DbErr> {
    Ok(Row::find_by_statement(stmt(
        "SELECT indicator_id, points_tenths, evidence, entered_by, entered_at FROM assessment_entries \
         WHERE period = $1 AND branch = $2",
        [period.into(), branch.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|r| {
        (
            r.indicator_id.clone(),
            Entry {
                indicator_id: r.indicator_id,
                points_tenths: r.points_tenths.max(0) as u32,
                evidence: r.evidence,
                entered_by: r.entered_by,
                entered_at: r.entered_at,
            },
        )
    })
    .collect())
}

#[derive(Debug, FromQueryResult)]
struct PeriodRow {
    period: String,
}

/// The periods with entries for `branch`, newest first.
pub async fn periods<C: ConnectionTrait>(conn: &C, branch: &str) -> Result<Vec<String>, DbErr> {
    Ok(PeriodRow::find_by_statement(stmt(
        "SELECT DISTINCT period FROM assessment_entries WHERE branch = $1 ORDER BY period DESC",
        [branch.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(|r| r.period)
    .collect())
}
