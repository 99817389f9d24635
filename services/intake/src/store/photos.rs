//! The `photos` table: where each photo of a request's fault is in object storage.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};

/// A photo record. The bytes are in object storage under `object_key` (and `thumbnail_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    pub photo_id: uuid::Uuid,
    pub request_no: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub object_key: String,
    /// Empty when there is none (HEIC is stored as sent).
    pub thumbnail_key: String,
    pub filename: String,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
    pub width: i32,
    pub height: i32,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    photo_id: uuid::Uuid,
    request_no: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    object_key: String,
    thumbnail_key: String,
    filename: String,
    uploaded_by: String,
    uploaded_at: DateTime<Utc>,
    width: i32,
    height: i32,
}

impl From<Row> for Photo {
    fn from(r: Row) -> Self {
        Photo {
            photo_id: r.photo_id,
            request_no: r.request_no,
            content_type: r.content_type,
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            object_key: r.object_key,
            thumbnail_key: r.thumbnail_key,
            filename: r.filename,
            uploaded_by: r.uploaded_by,
            uploaded_at: r.uploaded_at,
            width: r.width,
            height: r.height,
        }
    }
}

const COLUMNS: &str = "photo_id, request_no, content_type, size_bytes, sha256, object_key, \
    thumbnail_key, filename, uploaded_by, uploaded_at, width, height";

/// The request's photos, oldest first.
pub async fn list<C: ConnectionTrait>(conn: &C, request_no: &str) -> Result<Vec<Photo>, DbErr> {
    Ok(Row::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT {COLUMNS} FROM photos WHERE request_no = $1 ORDER BY uploaded_at, photo_id"
        ),
        [request_no.into()],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(Photo::from)
    .collect())
}

/// The photo recorded under this request's idempotency key, if any.
pub async fn find_by_idempotency_key<C: ConnectionTrait>(
    conn: &C,
    request_no: &str,
    key: &str,
) -> Result<Option<Photo>, DbErr> {
    Ok(Row::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT {COLUMNS} FROM photos WHERE request_no = $1 AND idempotency_key = $2"),
        [request_no.into(), key.into()],
    ))
    .one(conn)
    .await?
    .map(Photo::from))
}

/// How many photos the request has.
pub async fn count<C: ConnectionTrait>(conn: &C, request_no: &str) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM photos WHERE request_no = $1",
            [request_no.into()],
        ))
        .await?;
    row.map(|r| r.try_get::<i64>("", "n"))
        .transpose()
        .map(|n| n.unwrap_or(0))
}

/// Records the photo. Run it under the request's row lock, after [`count`].
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    p: &Photo,
    idempotency_key: &str,
) -> Result<(), DbErr> {
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "INSERT INTO photos ({COLUMNS}, idempotency_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ),
        [
            p.photo_id.into(),
            p.request_no.as_str().into(),
            p.content_type.as_str().into(),
            p.size_bytes.into(),
            p.sha256.as_str().into(),
            p.object_key.as_str().into(),
            p.thumbnail_key.as_str().into(),
            p.filename.as_str().into(),
            p.uploaded_by.as_str().into(),
            p.uploaded_at.into(),
            p.width.into(),
            p.height.into(),
            idempotency_key.into(),
        ],
    ))
    .await?;
    Ok(())
}
