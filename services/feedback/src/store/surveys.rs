//! `surveys`: one per visit, as domain [`Survey`]s.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::{corrupt, stmt};
use crate::domain::survey::{Rating, Ratings, Survey};

#[derive(Debug, FromQueryResult)]
struct Row {
    survey_id: String,
    visit_id: String,
    request_no: String,
    branch: String,
    attitude: String,
    technical_skill: String,
    arrival_time: String,
    promise_keeping: String,
    comment: String,
    resolved: bool,
    satisfied: bool,
    technician_id: String,
    complaint_id: String,
    recorded_at: DateTime<Utc>,
    recorded_by: String,
}

fn rating(what: &str, s: &str) -> Result<Rating, DbErr> {
    Rating::parse(s).ok_or_else(|| corrupt(what, s))
}

fn optional(what: &str, s: &str) -> Result<Option<Rating>, DbErr> {
    if s.is_empty() {
        Ok(None)
    } else {
        rating(what, s).map(Some)
    }
}

impl TryFrom<Row> for Survey {
    type Error = DbErr;

    fn try_from(r: Row) -> Result<Survey, DbErr> {
        Ok(Survey {
            ratings: Ratings {
                attitude: rating("attitude", &r.attitude)?,
                technical_skill: optional("technical_skill", &r.technical_skill)?,
                arrival_time: optional("arrival_time", &r.arrival_time)?,
                promise_keeping: rating("promise_keeping", &r.promise_keeping)?,
            },
            survey_id: r.survey_id,
            visit_id: r.visit_id,
            request_no: r.request_no,
            branch: r.branch,
            comment: r.comment,
            resolved: r.resolved,
            satisfied: r.satisfied,
            technician_id: r.technician_id,
            complaint_id: r.complaint_id,
            recorded_at: r.recorded_at,
            recorded_by: r.recorded_by,
        })
    }
}

pub async fn insert<C: ConnectionTrait>(conn: &C, s: &Survey) -> Result<(), DbErr> {
    let opt = |r: Option<Rating>| r.map(|r| r.as_str()).unwrap_or("");
    conn.execute_raw(stmt(
        "INSERT INTO surveys (survey_id, visit_id, request_no, branch, attitude, technical_skill, \
         arrival_time, promise_keeping, comment, resolved, satisfied, technician_id, complaint_id, \
         recorded_at, recorded_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        [
            s.survey_id.as_str().into(),
            s.visit_id.as_str().into(),
            s.request_no.as_str().into(),
            s.branch.as_str().into(),
            s.ratings.attitude.as_str().into(),
            opt(s.ratings.technical_skill).into(),
            opt(s.ratings.arrival_time).into(),
            s.ratings.promise_keeping.as_str().into(),
            s.comment.as_str().into(),
            s.resolved.into(),
            s.satisfied.into(),
            s.technician_id.as_str().into(),
            s.complaint_id.as_str().into(),
            s.recorded_at.into(),
            s.recorded_by.as_str().into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn of_visit<C: ConnectionTrait>(
    conn: &C,
    visit_id: &str,
) -> Result<Option<Survey>, DbErr> {
    match Row::find_by_statement(stmt(
        "SELECT survey_id, visit_id, request_no, branch, attitude, technical_skill, arrival_time, \
         promise_keeping, comment, resolved, satisfied, technician_id, complaint_id, recorded_at, \
         recorded_by FROM surveys WHERE visit_id = $1",
        [visit_id.into()],
    ))
    .one(conn)
    .await?
    {
        Some(r) => Survey::try_from(r).map(Some),
        None => Ok(None),
    }
}
