-- SLA clocks (platform::sla): the inputs of every deadline a service owns, so that each can be
-- re-derived when the calendar, the policy or a late event changes it, and the changes made.

-- One clock per deadline: its marks (start, pauses, resumes, stop, dated by the events that made
-- them), its budget under the policy version, and what they derived with the calendar named.
CREATE TABLE sla_clocks (
    clock_id       TEXT PRIMARY KEY,
    -- What deadline it is (review, arrival, return_visit, complaint_response, promised_date).
    kind           TEXT NOT NULL,
    -- What it is the deadline of: a request, a work order, a visit, a complaint, a PO.
    subject        TEXT NOT NULL,
    request_no     TEXT NOT NULL DEFAULT '',
    branch         TEXT NOT NULL DEFAULT '',
    marks          JSONB NOT NULL,
    budget         JSONB NOT NULL,
    policy_version TEXT NOT NULL,
    -- The fingerprint of the calendar the derived columns below were computed with.
    calendar       TEXT NOT NULL,
    state          TEXT NOT NULL,
    started_at     TIMESTAMPTZ,
    stopped_at     TIMESTAMPTZ,
    since          TIMESTAMPTZ,
    due_at         TIMESTAMPTZ,
    used_ms        BIGINT NOT NULL,
    left_ms        BIGINT NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
-- What a recompute walks: the clocks still running or paused.
CREATE INDEX sla_clocks_open ON sla_clocks (clock_id) WHERE state <> 'stopped';

-- Every deadline that moved after it was first set: old and new value and why.
CREATE TABLE sla_changes (
    id             BIGSERIAL PRIMARY KEY,
    clock_id       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    request_no     TEXT NOT NULL DEFAULT '',
    old_due_at     TIMESTAMPTZ,
    new_due_at     TIMESTAMPTZ,
    reason         TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    calendar       TEXT NOT NULL,
    changed_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX sla_changes_clock ON sla_changes (clock_id, id);

-- The calendars clocks were derived with, by fingerprint: a recompute says what changed
-- ("holiday 2026-12-02 added").
CREATE TABLE sla_calendars (
    fingerprint TEXT PRIMARY KEY,
    settings    JSONB NOT NULL,
    first_seen  TIMESTAMPTZ NOT NULL
);
