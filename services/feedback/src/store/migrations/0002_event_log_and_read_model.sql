-- The event log: every envelope feedback consumed, and every one it produced, append-only. The
-- KPI read model below is a function of it and can be dropped and rebuilt from it.
CREATE TABLE event_log (
    seq          BIGSERIAL PRIMARY KEY,
    event_id     UUID NOT NULL UNIQUE,
    routing_key  TEXT NOT NULL,
    producer     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    request_no   TEXT NOT NULL,
    branch       TEXT NOT NULL,
    sequence     BIGINT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    envelope     BYTEA NOT NULL,
    logged_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX event_log_by_request ON event_log (request_no, routing_key) WHERE request_no <> '';

CREATE FUNCTION event_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event_log is append-only';
END;
$$;
CREATE TRIGGER event_log_no_update BEFORE UPDATE OR DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION event_log_is_append_only();
CREATE TRIGGER event_log_no_truncate BEFORE TRUNCATE ON event_log
    FOR EACH STATEMENT EXECUTE FUNCTION event_log_is_append_only();

-- The read model. Every row is keyed by what the business counts once (a request, a shipment, a
-- work order ...), and every column is set by one kind of event and merged so that the result
-- does not depend on the order the events came in: the same log gives the same figures live and
-- rebuilt, and an event replayed under another id counts once.

CREATE TABLE rm_requests (
    request_no         TEXT PRIMARY KEY,
    branch             TEXT NOT NULL DEFAULT '',
    submitted_at       TIMESTAMPTZ,
    -- submitted_at + the policy's processing working days.
    processing_due_at  TIMESTAMPTZ,
    closed_at          TIMESTAMPTZ,
    closed_by_survey   BOOLEAN NOT NULL DEFAULT false,
    cancelled_at       TIMESTAMPTZ,
    product_model      TEXT NOT NULL DEFAULT '',
    serial             TEXT NOT NULL DEFAULT '',
    -- Part lines approved by the claim (what a first reservation is asked for).
    approved_lines     INT
);

CREATE TABLE rm_claims (
    request_no  TEXT PRIMARY KEY,
    branch      TEXT NOT NULL DEFAULT '',
    due_at      TIMESTAMPTZ,
    decided_at  TIMESTAMPTZ,
    breached    BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE rm_deliveries (
    shipment_no   TEXT PRIMARY KEY,
    request_no    TEXT NOT NULL,
    branch        TEXT NOT NULL,
    delivered_at  TIMESTAMPTZ NOT NULL,
    on_time       BOOLEAN NOT NULL
);

CREATE TABLE rm_stocktakes (
    stocktake_id   TEXT PRIMARY KEY,
    closed_at      TIMESTAMPTZ NOT NULL,
    lines_counted  BIGINT NOT NULL,
    lines_matched  BIGINT NOT NULL
);

CREATE TABLE rm_purchases (
    po_number     TEXT PRIMARY KEY,
    -- An amended PO is issued again; the highest revision counts.
    revision      INT NOT NULL DEFAULT 1,
    issued_at     TIMESTAMPTZ NOT NULL,
    -- Only the lines with a quoted price: what was paid, and what the quotes said.
    actual_minor  BIGINT NOT NULL,
    quoted_minor  BIGINT NOT NULL
);

CREATE TABLE rm_work_orders (
    work_order_no    TEXT PRIMARY KEY,
    request_no       TEXT NOT NULL DEFAULT '',
    branch           TEXT NOT NULL DEFAULT '',
    technician_id    TEXT NOT NULL DEFAULT '',
    completed_at     TIMESTAMPTZ,
    arrival_on_time  BOOLEAN,
    rework           BOOLEAN NOT NULL DEFAULT false,
    sla_breached     BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX rm_work_orders_by_request ON rm_work_orders (request_no);

CREATE TABLE rm_visits (
    visit_id    TEXT PRIMARY KEY,
    request_no  TEXT NOT NULL DEFAULT '',
    branch      TEXT NOT NULL DEFAULT '',
    due_at      TIMESTAMPTZ,
    done_at     TIMESTAMPTZ
);

CREATE TABLE rm_surveys (
    survey_id        TEXT PRIMARY KEY,
    visit_id         TEXT NOT NULL,
    request_no       TEXT NOT NULL,
    branch           TEXT NOT NULL,
    technician_id    TEXT NOT NULL,
    work_order_no    TEXT NOT NULL,
    recorded_at      TIMESTAMPTZ NOT NULL,
    -- 0 not rated, 1 very satisfied … 4 very dissatisfied.
    attitude         SMALLINT NOT NULL,
    technical_skill  SMALLINT NOT NULL,
    arrival_time     SMALLINT NOT NULL,
    promise_keeping  SMALLINT NOT NULL,
    satisfied        BOOLEAN NOT NULL,
    resolved         BOOLEAN NOT NULL
);

CREATE TABLE rm_complaints (
    complaint_id      TEXT PRIMARY KEY,
    branch            TEXT NOT NULL DEFAULT '',
    technician_id     TEXT NOT NULL DEFAULT '',
    opened_at         TIMESTAMPTZ,
    respond_by        TIMESTAMPTZ,
    resolved_at       TIMESTAMPTZ,
    -- Working minutes from opening to resolution, once both are known.
    response_minutes  BIGINT
);

CREATE TABLE rm_returned_parts (
    ref         TEXT PRIMARY KEY,
    request_no  TEXT NOT NULL,
    branch      TEXT NOT NULL,
    part_no     TEXT NOT NULL,
    quantity    BIGINT NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE rm_fill (
    request_no         TEXT PRIMARY KEY,
    branch             TEXT NOT NULL DEFAULT '',
    -- The warehouse's envelope sequence of the first reservation attempt (lowest wins).
    first_seq          BIGINT NOT NULL,
    first_at           TIMESTAMPTZ NOT NULL,
    first_confirmed    BOOLEAN NOT NULL,
    -- Confirmed: the lines reserved. Shortage: the lines short.
    lines              INT NOT NULL,
    model              TEXT NOT NULL DEFAULT '',
    lifecycle          INT NOT NULL DEFAULT 0,
    discontinued_on    DATE
);

CREATE TABLE rm_quality (
    ref            TEXT PRIMARY KEY,
    at             TIMESTAMPTZ NOT NULL,
    type           TEXT NOT NULL,
    request_no     TEXT NOT NULL,
    branch         TEXT NOT NULL,
    serial         TEXT NOT NULL,
    product_model  TEXT NOT NULL,
    summary        TEXT NOT NULL,
    part_nos       JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX rm_quality_newest ON rm_quality (at DESC, ref DESC);
