-- Parts a dealer orders for its own workshop, issued at once out of QUALIFIED (VALUABLES for a
-- valuable part); the ledger's ISSUE rows carry reference_type 'dealer_order' and
-- reference_id = order_id.
CREATE TABLE dealer_orders (
    order_id         TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    dealer_code      TEXT NOT NULL,
    branch           TEXT NOT NULL,
    ship_to          JSONB NOT NULL,
    -- The dealer's own reference (its purchase order number), free text.
    dealer_reference TEXT NOT NULL DEFAULT '',
    -- Sum of the lines' unit cost x quantity at issue: what the dealer is charged once shipped.
    value_currency   TEXT NOT NULL,
    value_minor      BIGINT NOT NULL CHECK (value_minor >= 0),
    issued_at        TIMESTAMPTZ NOT NULL,
    created_by       TEXT NOT NULL
);
CREATE INDEX dealer_orders_dealer ON dealer_orders (dealer_code, issued_at DESC, order_id DESC);

-- One line per part of an order (a part twice is refused), in the order's order.
CREATE TABLE dealer_order_lines (
    order_id           TEXT NOT NULL REFERENCES dealer_orders (order_id),
    line_no            INTEGER NOT NULL CHECK (line_no >= 0),
    part_no            TEXT NOT NULL REFERENCES parts (part_no),
    quantity           BIGINT NOT NULL CHECK (quantity > 0),
    zone               TEXT NOT NULL CHECK (zone IN ('QUALIFIED', 'VALUABLES')),
    -- The catalogue's unit cost when it was issued.
    unit_cost_currency TEXT NOT NULL,
    unit_cost_minor    BIGINT NOT NULL CHECK (unit_cost_minor >= 0),
    PRIMARY KEY (order_id, line_no),
    UNIQUE (order_id, part_no)
);
