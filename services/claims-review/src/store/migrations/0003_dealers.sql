-- Dealers and agents (issue 23): the parties, their batch claims (decided at once; the lines'
-- inputs, explanations and amounts as JSON in the batch), the lines' changing state, the old
-- parts expected back, the statement entries and the issued statements.
CREATE TABLE dealers (
    code        text PRIMARY KEY,
    branch      text NOT NULL,
    name        text NOT NULL,
    kind        text NOT NULL,
    terms       jsonb NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE dealer_batches (
    batch_id          uuid PRIMARY KEY,
    dealer_code       text NOT NULL REFERENCES dealers (code),
    idempotency_key   text NOT NULL,
    -- SHA-256 of the submitted lines: the same key with other lines is refused.
    fingerprint       text NOT NULL,
    decided_at        timestamptz NOT NULL,
    old_parts_due_at  timestamptz NOT NULL,
    detail            jsonb NOT NULL,
    UNIQUE (dealer_code, idempotency_key)
);

CREATE TABLE dealer_lines (
    batch_id            uuid NOT NULL REFERENCES dealer_batches (batch_id),
    line_no             integer NOT NULL,
    dealer_code         text NOT NULL,
    serial              text NOT NULL,
    repaired_on         date NOT NULL,
    status              text NOT NULL,
    reason              text NOT NULL DEFAULT '',
    amount_minor        bigint NOT NULL,
    period              text NOT NULL DEFAULT '',
    charged_back_minor  bigint NOT NULL DEFAULT 0,
    charge_back_period  text NOT NULL DEFAULT '',
    PRIMARY KEY (batch_id, line_no)
);
-- A repair (serial and day) is claimed once across every dealer.
CREATE UNIQUE INDEX dealer_lines_one_claim ON dealer_lines (serial, repaired_on)
    WHERE status <> 'rejected';
CREATE INDEX dealer_lines_serial ON dealer_lines (serial) WHERE status <> 'rejected';

CREATE TABLE dealer_old_parts (
    batch_id       uuid NOT NULL,
    line_no        integer NOT NULL,
    faulty_serial  text NOT NULL,
    part_no        text NOT NULL,
    quantity       integer NOT NULL,
    due_at         timestamptz NOT NULL,
    verdict        text,
    verdict_at     timestamptz,
    verdict_period text,
    PRIMARY KEY (batch_id, line_no, faulty_serial),
    FOREIGN KEY (batch_id, line_no) REFERENCES dealer_lines (batch_id, line_no)
);
CREATE INDEX dealer_old_parts_open ON dealer_old_parts (due_at) WHERE verdict IS NULL;

CREATE TABLE dealer_entries (
    id            bigserial PRIMARY KEY,
    dealer_code   text NOT NULL REFERENCES dealers (code),
    period        text NOT NULL,
    kind          text NOT NULL,
    reference     text NOT NULL,
    serial        text NOT NULL DEFAULT '',
    description   text NOT NULL,
    amount_minor  bigint NOT NULL,
    parts_qty     integer NOT NULL DEFAULT 0,
    at            timestamptz NOT NULL,
    -- One entry per thing: a redelivered event or a repeated scan writes nothing.
    UNIQUE (kind, reference)
);
CREATE INDEX dealer_entries_period ON dealer_entries (dealer_code, period);

CREATE TABLE dealer_statements (
    dealer_code  text NOT NULL REFERENCES dealers (code),
    period       text NOT NULL,
    issued_at    timestamptz NOT NULL,
    net_minor    bigint NOT NULL,
    statement    jsonb NOT NULL,
    PRIMARY KEY (dealer_code, period)
);
