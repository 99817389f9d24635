-- Feedback's own state: the requests it holds visits for (the row that serializes scheduling
-- with cancellation), return visits, surveys, complaints, idempotency keys, assessment entries.

CREATE TABLE cases (
    request_no     TEXT PRIMARY KEY,
    branch         TEXT NOT NULL DEFAULT '',
    -- Set when the request was cancelled (also when the cancellation came first): no visit is
    -- scheduled after it.
    cancelled_at   TIMESTAMPTZ,
    cancel_reason  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE visits (
    visit_id        TEXT PRIMARY KEY,
    -- One visit per job: work_order:<no>, shipment:<no> or refund:<id>.
    trigger_key     TEXT NOT NULL UNIQUE,
    request_no      TEXT NOT NULL REFERENCES cases (request_no),
    branch          TEXT NOT NULL,
    source          TEXT NOT NULL,
    status          TEXT NOT NULL,
    due_at          TIMESTAMPTZ NOT NULL,
    due_date        DATE NOT NULL,
    work_order_no   TEXT NOT NULL DEFAULT '',
    shipment_no     TEXT NOT NULL DEFAULT '',
    refund_id       TEXT NOT NULL DEFAULT '',
    technician_id   TEXT NOT NULL DEFAULT '',
    product_model   TEXT NOT NULL DEFAULT '',
    serial          TEXT NOT NULL DEFAULT '',
    part_nos        JSONB NOT NULL DEFAULT '[]',
    customer        JSONB,
    attempts        INT NOT NULL DEFAULT 0,
    last_outcome    TEXT NOT NULL DEFAULT '',
    last_attempt_at TIMESTAMPTZ,
    call_back_at    TIMESTAMPTZ,
    done_at         TIMESTAMPTZ,
    note            TEXT NOT NULL DEFAULT '',
    survey_id       TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX visits_open_by_due ON visits (due_at, visit_id) WHERE status IN ('due', 'attempted');
CREATE INDEX visits_by_due ON visits (due_at, visit_id);
CREATE INDEX visits_by_request ON visits (request_no);

CREATE TABLE surveys (
    survey_id        TEXT PRIMARY KEY,
    visit_id         TEXT NOT NULL UNIQUE REFERENCES visits (visit_id),
    request_no       TEXT NOT NULL,
    branch           TEXT NOT NULL,
    attitude         TEXT NOT NULL,
    technical_skill  TEXT NOT NULL DEFAULT '',
    arrival_time     TEXT NOT NULL DEFAULT '',
    promise_keeping  TEXT NOT NULL,
    comment          TEXT NOT NULL DEFAULT '',
    resolved         BOOLEAN NOT NULL,
    satisfied        BOOLEAN NOT NULL,
    technician_id    TEXT NOT NULL DEFAULT '',
    complaint_id     TEXT NOT NULL DEFAULT '',
    recorded_at      TIMESTAMPTZ NOT NULL,
    recorded_by      TEXT NOT NULL
);

CREATE TABLE complaints (
    complaint_id           TEXT PRIMARY KEY,
    request_no             TEXT NOT NULL DEFAULT '',
    branch                 TEXT NOT NULL,
    category               TEXT NOT NULL,
    routed_to              TEXT NOT NULL,
    severity               TEXT NOT NULL,
    status                 TEXT NOT NULL,
    description            TEXT NOT NULL,
    customer               JSONB,
    escalation_level       INT NOT NULL DEFAULT 0,
    assignee               TEXT NOT NULL,
    technician_id          TEXT NOT NULL DEFAULT '',
    source                 TEXT NOT NULL,
    survey_id              TEXT NOT NULL DEFAULT '',
    serial                 TEXT NOT NULL DEFAULT '',
    product_model          TEXT NOT NULL DEFAULT '',
    part_nos               JSONB NOT NULL DEFAULT '[]',
    opened_by              TEXT NOT NULL,
    opened_at              TIMESTAMPTZ NOT NULL,
    respond_by             TIMESTAMPTZ NOT NULL,
    escalated_at           TIMESTAMPTZ,
    deadline_escalated_at  TIMESTAMPTZ,
    resolution             TEXT NOT NULL DEFAULT '',
    reported_via           TEXT NOT NULL DEFAULT '',
    resolved_by            TEXT NOT NULL DEFAULT '',
    resolved_at            TIMESTAMPTZ
);
CREATE INDEX complaints_newest ON complaints (opened_at DESC, complaint_id DESC);
-- What the deadline scanner looks at: unresolved MINOR/MAJOR complaints not yet escalated for
-- their deadline.
CREATE INDEX complaints_deadline ON complaints (respond_by)
    WHERE status <> 'resolved' AND deadline_escalated_at IS NULL AND severity <> 'serious';

-- Idempotency keys of the mutating RPCs: the same key with the same command answers what the
-- first call did; with another command it is refused.
CREATE TABLE commands (
    idempotency_key  TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    target           TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE assessment_entries (
    period         TEXT NOT NULL,
    branch         TEXT NOT NULL,
    indicator_id   TEXT NOT NULL,
    points_tenths  INT NOT NULL,
    evidence       TEXT NOT NULL,
    entered_by     TEXT NOT NULL,
    entered_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (period, branch, indicator_id)
);
