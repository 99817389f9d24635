-- The transactional outbox: a row per event, written in the business transaction.
CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    event_id     UUID NOT NULL UNIQUE,
    routing_key  TEXT NOT NULL,
    subject      TEXT NOT NULL,
    envelope     BYTEA NOT NULL,
    -- W3C trace context of the transaction that staged the event: the publish span joins it.
    traceparent  TEXT,
    tracestate   TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Per subject, the last envelope sequence issued (consumers drop older transitions).
CREATE TABLE outbox_sequences (
    subject TEXT PRIMARY KEY,
    last    BIGINT NOT NULL
);

-- Idempotency of consumers: an event's effect is recorded in the same transaction as this row.
CREATE TABLE processed_events (
    consumer     TEXT NOT NULL,
    event_id     UUID NOT NULL,
    routing_key  TEXT NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
