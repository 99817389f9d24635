-- One claim per request. The columns the queue filters and sorts on are kept beside the claim
-- as last written (aftersales.claims.v1.Claim, encoded), which carries the rest.
CREATE TABLE claims (
    request_no        TEXT PRIMARY KEY,
    branch            TEXT NOT NULL,
    status            TEXT NOT NULL,
    -- Optimistic concurrency: bumped on every change; a decision names the version it saw.
    version           BIGINT NOT NULL,
    opened_at         TIMESTAMPTZ NOT NULL,
    -- The review deadline while it runs (PENDING); NULL once decided or while paused.
    due_at            TIMESTAMPTZ,
    -- Working time left (ms) while the deadline is paused for INFO_REQUESTED.
    paused_left_ms    BIGINT,
    escalated         BOOLEAN NOT NULL DEFAULT false,
    -- The deadline whose breach was announced: one claims.claim.sla_breached per breach.
    breach_announced_for TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL,
    claim             BYTEA NOT NULL
);
CREATE INDEX claims_queue ON claims (status, due_at NULLS LAST, opened_at);
CREATE INDEX claims_branch_queue ON claims (branch, status, due_at NULLS LAST, opened_at);
CREATE INDEX claims_overdue ON claims (due_at) WHERE status = 'pending';

-- A decision or an answer retried with the same key returns the claim instead of deciding again.
CREATE TABLE claim_commands (
    idempotency_key TEXT PRIMARY KEY,
    request_no      TEXT NOT NULL,
    command         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The refund of an approved return, authorized once per request after the warehouse's
-- inspection (aftersales.claims.v1.Refund, encoded).
CREATE TABLE refunds (
    request_no    TEXT PRIMARY KEY,
    refund_id     UUID NOT NULL UNIQUE,
    return_id     TEXT NOT NULL,
    authorized_at TIMESTAMPTZ NOT NULL,
    refund        BYTEA NOT NULL
);
