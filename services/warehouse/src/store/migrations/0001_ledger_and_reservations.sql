-- The catalogue.
CREATE TABLE parts (
    part_no            TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    spec               TEXT NOT NULL DEFAULT '',
    unit               TEXT NOT NULL,
    compatible_models  TEXT[] NOT NULL DEFAULT '{}',
    part_class         TEXT NOT NULL,
    -- Valuable parts live only in VALUABLES (never QUALIFIED).
    valuable           BOOLEAN NOT NULL,
    unit_cost_currency TEXT NOT NULL,
    unit_cost_minor    BIGINT NOT NULL CHECK (unit_cost_minor >= 0),
    lifecycle          TEXT NOT NULL,
    safety_stock       BIGINT NOT NULL CHECK (safety_stock >= 0),
    reorder_point      BIGINT NOT NULL CHECK (reorder_point >= 0),
    reorder_quantity   BIGINT NOT NULL CHECK (reorder_quantity >= 0),
    abc_class          TEXT,
    product_category   TEXT NOT NULL DEFAULT '',
    -- True between a stock.low alert and the moment available is back at the reorder point:
    -- the alert fires once per crossing.
    low_alerted        BOOLEAN NOT NULL DEFAULT false,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

-- Stock per part and zone, kept equal to the ledger's sum in the same transaction as each
-- ledger row. The database itself refuses negative or over-reserved stock.
CREATE TABLE stock_levels (
    part_no  TEXT NOT NULL REFERENCES parts (part_no),
    zone     TEXT NOT NULL CHECK (zone IN ('QUALIFIED', 'PENDING_INSPECTION', 'NONCONFORMING', 'VALUABLES', 'OLD_PARTS')),
    on_hand  BIGINT NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    CONSTRAINT reserved_within_on_hand CHECK (reserved <= on_hand),
    PRIMARY KEY (part_no, zone)
);

-- Append-only: every movement of on-hand is one row (who, when, why, which document).
CREATE TABLE ledger (
    entry_id       BIGSERIAL PRIMARY KEY,
    part_no        TEXT NOT NULL REFERENCES parts (part_no),
    zone           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    quantity       BIGINT NOT NULL CHECK (quantity <> 0),
    balance_after  BIGINT NOT NULL CHECK (balance_after >= 0),
    reference_type TEXT NOT NULL,
    reference_id   TEXT NOT NULL,
    request_no     TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    actor          TEXT NOT NULL,
    movement_date  DATE NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (part_no, zone) REFERENCES stock_levels (part_no, zone)
);
CREATE INDEX ledger_part_zone ON ledger (part_no, zone, entry_id);
CREATE INDEX ledger_reference ON ledger (reference_id);
CREATE INDEX ledger_request ON ledger (request_no) WHERE request_no <> '';

CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the stock ledger is append-only: % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();

-- One reservation per request (a redelivered claim.approved finds it and does nothing). It is
-- the pick list once every line is held, and the back-order while something is missing.
CREATE TABLE reservations (
    request_no      TEXT PRIMARY KEY,
    branch          TEXT NOT NULL,
    urgency         TEXT NOT NULL,
    urgency_rank    SMALLINT NOT NULL,
    -- common.v1.RequestKind and the encoded common.v1.Address, copied into the confirmation.
    kind            INTEGER NOT NULL,
    ship_to         BYTEA NOT NULL,
    onsite_required BOOLEAN NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('CONFIRMED', 'BACKORDERED', 'RELEASED', 'ISSUED')),
    -- Arrival order: back-orders of equal urgency are served oldest first.
    seq             BIGSERIAL NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    backordered_at  TIMESTAMPTZ,
    confirmed_at    TIMESTAMPTZ,
    released_at     TIMESTAMPTZ,
    issued_at       TIMESTAMPTZ,
    issued_by       TEXT NOT NULL DEFAULT '',
    shipment_no     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reservations_open_backorders ON reservations (urgency_rank DESC, seq)
    WHERE status = 'BACKORDERED';

-- What each request asked for and what is held for it (sum of held over open reservations =
-- stock_levels.reserved).
CREATE TABLE reservation_lines (
    request_no TEXT NOT NULL REFERENCES reservations (request_no),
    part_no    TEXT NOT NULL,
    zone       TEXT NOT NULL,
    requested  BIGINT NOT NULL CHECK (requested > 0),
    held       BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    CHECK (held <= requested),
    PRIMARY KEY (request_no, part_no)
);
CREATE INDEX reservation_lines_part ON reservation_lines (part_no);

-- Inbound deliveries, inspected once.
CREATE TABLE receipts (
    receipt_id      TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    po_number       TEXT NOT NULL DEFAULT '',
    supplier_id     TEXT NOT NULL DEFAULT '',
    delivery_note   TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('PENDING_INSPECTION', 'INSPECTED')),
    movement_date   DATE NOT NULL,
    received_by     TEXT NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    inspected_by    TEXT NOT NULL DEFAULT '',
    inspected_at    TIMESTAMPTZ
);

CREATE TABLE receipt_lines (
    receipt_id     TEXT NOT NULL REFERENCES receipts (receipt_id),
    line_no        INTEGER NOT NULL,
    part_no        TEXT NOT NULL REFERENCES parts (part_no),
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    po_line_no     INTEGER NOT NULL DEFAULT 0,
    passed         BIGINT NOT NULL DEFAULT 0 CHECK (passed >= 0),
    failed         BIGINT NOT NULL DEFAULT 0 CHECK (failed >= 0),
    failure_reason TEXT NOT NULL DEFAULT '',
    CHECK (passed + failed <= quantity),
    PRIMARY KEY (receipt_id, line_no)
);

-- Closed months ("YYYY-MM"): no movement dated in them is accepted.
CREATE TABLE closed_periods (
    period    TEXT PRIMARY KEY,
    closed_at TIMESTAMPTZ NOT NULL,
    closed_by TEXT NOT NULL
);
