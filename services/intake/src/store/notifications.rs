//! The `notifications` table: the message log, and the outbox the sender sends from.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Email,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        [Channel::Sms, Channel::Email, Channel::Webhook]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Sent,
    Delivered,
    Failed,
    Suppressed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Delivered => "delivered",
            Status::Failed => "failed",
            Status::Suppressed => "suppressed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Queued,
            Status::Sent,
            Status::Delivered,
            Status::Failed,
            Status::Suppressed,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// A message to write.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub request_no: String,
    pub event_id: uuid::Uuid,
    pub event_type: String,
    pub channel: Channel,
    pub recipient: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub status: Status,
    pub provider_answer: String,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// A message as stored.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Message {
    pub message_id: uuid::Uuid,
    pub request_no: String,
    pub event_id: uuid::Uuid,
    pub event_type: String,
    pub channel: String,
    pub recipient: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub provider_answer: String,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "message_id, request_no, event_id, event_type, channel, recipient, language, \
    subject, body, status, attempts, provider_answer, created_at, due_at, sent_at";

fn stmt(sql: impl Into<String>, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Writes the message unless the event already has one on that channel; returns 1 when written.
pub async fn insert<C: ConnectionTrait>(conn: &C, m: &NewMessage) -> Result<usize, DbErr> {
    let res = conn
        .execute_raw(stmt(
            "INSERT INTO notifications (message_id, request_no, event_id, event_type, channel, recipient,
                 language, subject, body, status, provider_answer, created_at, due_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (event_id, channel) DO NOTHING",
            [
                uuid::Uuid::now_v7().into(),
                m.request_no.as_str().into(),
                m.event_id.into(),
                m.event_type.as_str().into(),
                m.channel.as_str().into(),
                m.recipient.as_str().into(),
                m.language.as_str().into(),
                m.subject.as_str().into(),
                m.body.as_str().into(),
                m.status.as_str().into(),
                m.provider_answer.as_str().into(),
                m.created_at.into(),
                m.due_at.into(),
            ],
        ))
        .await?;
    Ok(res.rows_affected() as usize)
}

/// The request's messages, oldest first.
pub async fn of_request<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
) -> Result<Vec<Message>, DbErr> {
    Message::find_by_statement(stmt(
        format!(
            "SELECT {COLUMNS} FROM notifications WHERE request_no = $1 ORDER BY created_at, channel"
        ),
        [request_no.into()],
    ))
    .all(conn)
    .await
}

/// Takes up to `limit` due messages for sending: each counts an attempt and is held until
/// `lease_until`, so another sender (or this one after a crash) takes it only once that passed.
pub async fn claim_due<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Message>, DbErr> {
    Message::find_by_statement(stmt(
        format!(
            "UPDATE notifications SET attempts = attempts + 1, lease_until = $2
              WHERE message_id IN (
                    SELECT message_id FROM notifications
                     WHERE status = 'queued' AND due_at <= $1
                       AND (lease_until IS NULL OR lease_until <= $1)
                     ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
          RETURNING {COLUMNS}"
        ),
        [now.into(), lease_until.into(), (limit as i64).into()],
    ))
    .all(conn)
    .await
}

/// Records the provider's answer: `Sent` (accepted for delivery: an SMTP relay, an SMS
/// provider) or `Delivered` (the receiver itself has it: the branch's system).
pub async fn sent<C: ConnectionTrait>(
    conn: &C,
    id: uuid::Uuid,
    at: DateTime<Utc>,
    answer: &str,
    status: Status,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE notifications SET status = $4, sent_at = $2, provider_answer = $3, lease_until = NULL
          WHERE message_id = $1 AND status = 'queued'",
        [id.into(), at.into(), answer.into(), status.as_str().into()],
    ))
    .await?;
    Ok(())
}

/// Records a failed attempt: the message is due again at `retry_at`, or failed for good (`None`).
pub async fn attempt_failed<C: ConnectionTrait>(
    conn: &C,
    id: uuid::Uuid,
    answer: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    let sql = match retry_at {
        Some(_) => {
            "UPDATE notifications SET provider_answer = $2, due_at = $3, lease_until = NULL
              WHERE message_id = $1 AND status = 'queued'"
        }
        None => {
            "UPDATE notifications SET provider_answer = $2, status = 'failed', lease_until = NULL
              WHERE message_id = $1 AND status = 'queued'"
        }
    };
    let mut values: Vec<Value> = vec![id.into(), answer.into()];
    if let Some(t) = retry_at {
        values.push(t.into());
    }
    conn.execute_raw(stmt(sql, values)).await?;
    Ok(())
}
