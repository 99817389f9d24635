-- Photos of a request's fault. The bytes live in object storage (the gateway writes them); a
-- row records where, what they are and who sent them. At most 9 per request: the insert runs
-- under a lock on the request's row (SELECT … FOR UPDATE), so concurrent uploads count alike.
CREATE TABLE photos (
    photo_id        UUID PRIMARY KEY,
    request_no      TEXT NOT NULL REFERENCES requests (request_no),
    -- A retry with the same key returns this photo instead of adding another.
    idempotency_key TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size_bytes      BIGINT NOT NULL CHECK (size_bytes > 0),
    sha256          TEXT NOT NULL,
    object_key      TEXT NOT NULL UNIQUE,
    thumbnail_key   TEXT NOT NULL DEFAULT '',
    filename        TEXT NOT NULL DEFAULT '',
    uploaded_by     TEXT NOT NULL,
    uploaded_at     TIMESTAMPTZ NOT NULL,
    width           INTEGER NOT NULL DEFAULT 0,
    height          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (request_no, idempotency_key)
);
CREATE INDEX photos_request ON photos (request_no, uploaded_at);
