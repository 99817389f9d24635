-- Whole units returned by customers (returns and exchanges): received into PENDING_INSPECTION,
-- inspected once into QUALIFIED (VALUABLES for valuable parts) or NONCONFORMING.
CREATE TABLE returned_units (
    return_id       TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    request_no      TEXT NOT NULL,
    branch          TEXT NOT NULL DEFAULT '',
    pickup_no       TEXT NOT NULL DEFAULT '',
    part_no         TEXT NOT NULL REFERENCES parts (part_no),
    serial          TEXT NOT NULL DEFAULT '',
    model           TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('RECEIVED', 'INSPECTED')),
    resaleable      BOOLEAN NOT NULL DEFAULT false,
    zone            TEXT,
    inspection_note TEXT NOT NULL DEFAULT '',
    movement_date   DATE NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    inspected_at    TIMESTAMPTZ,
    inspected_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX returned_units_request ON returned_units (request_no);

CREATE TABLE return_accessories (
    return_id TEXT NOT NULL REFERENCES returned_units (return_id),
    position  INTEGER NOT NULL,
    part_no   TEXT NOT NULL DEFAULT '',
    name      TEXT NOT NULL,
    expected  BIGINT NOT NULL CHECK (expected >= 0),
    present   BIGINT NOT NULL CHECK (present >= 0),
    PRIMARY KEY (return_id, position)
);
