-- Old parts a technician must bring back (from fieldservice.workorder.completed).
CREATE TABLE expected_old_parts (
    work_order_no    TEXT NOT NULL,
    part_no          TEXT NOT NULL,
    request_no       TEXT NOT NULL,
    branch           TEXT NOT NULL DEFAULT '',
    technician_id    TEXT NOT NULL DEFAULT '',
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    expected_by_date DATE,
    received         BIGINT NOT NULL DEFAULT 0 CHECK (received >= 0),
    PRIMARY KEY (work_order_no, part_no)
);
CREATE INDEX expected_old_parts_open ON expected_old_parts (expected_by_date) WHERE received < quantity;

-- Old parts booked in to OLD_PARTS.
CREATE TABLE old_part_returns (
    old_part_id      TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    request_no       TEXT NOT NULL DEFAULT '',
    branch           TEXT NOT NULL DEFAULT '',
    work_order_no    TEXT NOT NULL DEFAULT '',
    part_no          TEXT NOT NULL REFERENCES parts (part_no),
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    serial           TEXT NOT NULL DEFAULT '',
    technician_id    TEXT NOT NULL DEFAULT '',
    expected_by_date DATE,
    condition        TEXT NOT NULL DEFAULT '',
    -- Whether a completed work order announced it (an unexpected part is booked all the same).
    was_expected     BOOLEAN NOT NULL,
    movement_date    DATE NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL
);

-- Returns to a supplier (the ledger rows carry reference_id = supplier_return_id).
CREATE TABLE supplier_returns (
    supplier_return_id TEXT PRIMARY KEY,
    idempotency_key    TEXT NOT NULL UNIQUE,
    supplier_id        TEXT NOT NULL,
    po_number          TEXT NOT NULL DEFAULT '',
    rma_no             TEXT NOT NULL DEFAULT '',
    reason             TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);
