-- A stocktake snapshots the book quantities of its scope, takes counts, and on close posts the
-- differences as adjustments.
CREATE TABLE stocktakes (
    stocktake_id     TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
    zones            TEXT[] NOT NULL DEFAULT '{}',
    part_nos         TEXT[] NOT NULL DEFAULT '{}',
    note             TEXT NOT NULL DEFAULT '',
    opened_by        TEXT NOT NULL,
    opened_at        TIMESTAMPTZ NOT NULL,
    closed_by        TEXT NOT NULL DEFAULT '',
    closed_at        TIMESTAMPTZ,
    accuracy_bp      INTEGER NOT NULL DEFAULT 0,
    currency         TEXT NOT NULL DEFAULT '',
    difference_minor BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE stocktake_lines (
    stocktake_id TEXT NOT NULL REFERENCES stocktakes (stocktake_id),
    part_no      TEXT NOT NULL,
    zone         TEXT NOT NULL,
    book         BIGINT NOT NULL CHECK (book >= 0),
    counted      BIGINT CHECK (counted >= 0),
    reason       TEXT NOT NULL DEFAULT '',
    counted_by   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (stocktake_id, part_no, zone)
);
