-- Old parts dealers must send back (claims.dealer_batch.decided): the faulty parts of each
-- approved line of a decided dealer claim batch, one row per part of the line.
CREATE TABLE dealer_expected_parts (
    claim_batch_id TEXT NOT NULL,
    line_no        INTEGER NOT NULL,
    -- The part's index in the line's parts.
    part_index     INTEGER NOT NULL,
    dealer_code    TEXT NOT NULL,
    branch         TEXT NOT NULL,
    part_no        TEXT NOT NULL,
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    faulty_serial  TEXT NOT NULL,
    due_at         TIMESTAMPTZ NOT NULL,
    -- The old-part batch it came back in (NULL while still expected).
    received_in    TEXT,
    PRIMARY KEY (claim_batch_id, line_no, part_index)
);
CREATE INDEX dealer_expected_parts_open ON dealer_expected_parts (dealer_code, faulty_serial)
    WHERE received_in IS NULL;

-- A dealer's box of old parts, received (counted, identified, booked into OLD_PARTS) and then
-- inspected once.
CREATE TABLE old_part_batches (
    batch_id        TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    dealer_code     TEXT NOT NULL,
    branch          TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('RECEIVED', 'INSPECTED')),
    movement_date   DATE NOT NULL,
    received_by     TEXT NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    inspected_by    TEXT NOT NULL DEFAULT '',
    inspected_at    TIMESTAMPTZ
);
CREATE INDEX old_part_batches_dealer ON old_part_batches (dealer_code, received_at);

CREATE TABLE old_part_batch_parts (
    batch_id        TEXT NOT NULL REFERENCES old_part_batches (batch_id),
    position        INTEGER NOT NULL,
    part_no         TEXT NOT NULL REFERENCES parts (part_no),
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    faulty_serial   TEXT NOT NULL,
    identification  TEXT NOT NULL CHECK (identification IN ('IDENTIFIED', 'WRONG_PART_NO', 'UNIDENTIFIED')),
    -- The claimed part it was identified as ('' / 0 when unidentified).
    claim_batch_id  TEXT NOT NULL DEFAULT '',
    line_no         INTEGER NOT NULL DEFAULT 0,
    claimed_part_no TEXT NOT NULL DEFAULT '',
    verdict         TEXT CHECK (verdict IN ('CONFIRMED_FAULT', 'NO_FAULT_FOUND', 'WRONG_PART')),
    verdict_note    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (batch_id, position)
);
