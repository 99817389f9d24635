CREATE TABLE requests (
    request_no            TEXT PRIMARY KEY,
    -- A retry with the same key returns this request; a different body with it is refused.
    idempotency_key       TEXT NOT NULL UNIQUE,
    fingerprint           TEXT NOT NULL,
    branch                TEXT NOT NULL,
    channel               TEXT NOT NULL,
    kind                  TEXT NOT NULL,
    urgency               TEXT NOT NULL,
    status                TEXT NOT NULL,
    status_reason         TEXT NOT NULL DEFAULT '',
    customer_name         TEXT NOT NULL,
    customer_phone        TEXT NOT NULL,
    -- The phone's digits only, so a search matches however the number was typed.
    customer_phone_digits TEXT NOT NULL,
    customer_address      TEXT NOT NULL,
    customer_region       TEXT NOT NULL,
    customer_email        TEXT NOT NULL DEFAULT '',
    product               JSONB NOT NULL,
    fault_description     TEXT NOT NULL,
    photos                JSONB NOT NULL,
    parts                 JSONB NOT NULL,
    misuse_suspected      BOOLEAN NOT NULL DEFAULT false,
    submitted_by          TEXT NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX requests_created ON requests (created_at DESC, request_no DESC);
CREATE INDEX requests_branch_created ON requests (branch, created_at DESC, request_no DESC);
CREATE INDEX requests_phone ON requests (customer_phone_digits);
CREATE INDEX requests_status ON requests (status, created_at DESC);

-- Last tracking sequence issued per branch and month: incremented in the submitting
-- transaction, so a rolled-back submission leaves no gap.
CREATE TABLE tracking_sequences (
    branch TEXT NOT NULL,
    period TEXT NOT NULL,
    last   INTEGER NOT NULL,
    PRIMARY KEY (branch, period)
);

-- The read model behind "where is my repair?": every event about a request.
CREATE TABLE timeline (
    event_id     UUID PRIMARY KEY,
    request_no   TEXT NOT NULL,
    routing_key  TEXT NOT NULL,
    producer     TEXT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    summary      TEXT NOT NULL,
    status_after TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX timeline_request ON timeline (request_no, occurred_at, recorded_at);
