-- The qualified-supplier register.
CREATE SEQUENCE supplier_numbers;
CREATE TABLE suppliers (
    supplier_id     TEXT PRIMARY KEY,
    -- The registration's idempotency key and what it asked, to answer a replay or refuse a reuse.
    idempotency_key TEXT UNIQUE,
    fingerprint     TEXT NOT NULL,
    name            TEXT NOT NULL,
    contact_name    TEXT NOT NULL DEFAULT '',
    phone           TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    tax_id          TEXT NOT NULL DEFAULT '',
    lead_time_days  INTEGER NOT NULL CHECK (lead_time_days >= 0),
    status          TEXT NOT NULL CHECK (status IN ('ACTIVE', 'WARNED', 'SUSPENDED', 'TERMINATED')),
    status_reason   TEXT NOT NULL DEFAULT '',
    -- While WARNED: the deadline to correct.
    fix_by          DATE,
    -- The score of the last evaluation (basis points).
    score_bp        INTEGER NOT NULL CHECK (score_bp BETWEEN 0 AND 10000),
    certifications  JSONB NOT NULL DEFAULT '[]',
    contract        JSONB,
    qualification   JSONB NOT NULL,
    registered_at   TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX suppliers_name ON suppliers (name, supplier_id);

-- The parts a supplier is qualified to supply.
CREATE TABLE supplier_parts (
    supplier_id TEXT NOT NULL REFERENCES suppliers (supplier_id),
    part_no     TEXT NOT NULL,
    PRIMARY KEY (supplier_id, part_no)
);
CREATE INDEX supplier_parts_part ON supplier_parts (part_no);

-- Quotes: per supplier and part, the newest submitted one supersedes the older from its
-- valid_from date.
CREATE TABLE quotes (
    quote_id         TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    fingerprint      TEXT NOT NULL,
    supplier_id      TEXT NOT NULL REFERENCES suppliers (supplier_id),
    part_no          TEXT NOT NULL,
    currency         TEXT NOT NULL,
    unit_price_minor BIGINT NOT NULL CHECK (unit_price_minor > 0),
    min_quantity     INTEGER NOT NULL CHECK (min_quantity >= 1),
    lead_time_days   INTEGER NOT NULL CHECK (lead_time_days >= 0),
    valid_from       DATE NOT NULL,
    valid_until      DATE NOT NULL CHECK (valid_until >= valid_from),
    supplier_ref     TEXT NOT NULL DEFAULT '',
    specification    TEXT NOT NULL DEFAULT '',
    freight_minor    BIGINT NOT NULL DEFAULT 0 CHECK (freight_minor >= 0),
    submitted_at     TIMESTAMPTZ NOT NULL,
    -- Submission order (two quotes may share a timestamp).
    seq              BIGSERIAL NOT NULL
);
CREATE INDEX quotes_part ON quotes (part_no, supplier_id, seq DESC);

-- Purchase orders and their lines.
CREATE SEQUENCE po_numbers;
CREATE TABLE purchase_orders (
    po_number       TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    fingerprint     TEXT NOT NULL DEFAULT '',
    supplier_id     TEXT NOT NULL REFERENCES suppliers (supplier_id),
    status          TEXT NOT NULL CHECK (status IN ('ISSUED', 'PARTIALLY_RECEIVED', 'RECEIVED', 'CANCELLED')),
    reason          TEXT NOT NULL CHECK (reason IN ('SHORTAGE', 'REPLENISHMENT', 'MANUAL')),
    -- Raised by procurement itself (a shortage or low stock): only these are extended by
    -- coalescing.
    automatic       BOOLEAN NOT NULL,
    currency        TEXT NOT NULL,
    freight_minor   BIGINT NOT NULL DEFAULT 0 CHECK (freight_minor >= 0),
    promised_date   DATE NOT NULL,
    -- The promised date procurement.po.overdue was announced for (once per date).
    overdue_announced_for DATE,
    delivery_place  TEXT NOT NULL,
    -- How the supplier was chosen (SupplierChoice as JSON); NULL for a supplier given by hand.
    choice          JSONB,
    revision        INTEGER NOT NULL DEFAULT 1,
    note            TEXT NOT NULL DEFAULT '',
    backorder_ids   JSONB NOT NULL DEFAULT '[]',
    issued_by       TEXT NOT NULL,
    issued_at       TIMESTAMPTZ NOT NULL,
    received_at     TIMESTAMPTZ,
    cancelled_at    TIMESTAMPTZ,
    cancel_reason   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX purchase_orders_issued ON purchase_orders (issued_at DESC, po_number DESC);
CREATE INDEX purchase_orders_open ON purchase_orders (promised_date)
    WHERE status IN ('ISSUED', 'PARTIALLY_RECEIVED');

CREATE TABLE po_lines (
    po_number          TEXT NOT NULL REFERENCES purchase_orders (po_number),
    line_no            INTEGER NOT NULL,
    part_no            TEXT NOT NULL,
    specification      TEXT NOT NULL DEFAULT '',
    quantity           INTEGER NOT NULL CHECK (quantity >= 0),
    unit_price_minor   BIGINT NOT NULL CHECK (unit_price_minor > 0),
    quote_id           TEXT REFERENCES quotes (quote_id),
    quoted_price_minor BIGINT NOT NULL,
    best_price_minor   BIGINT NOT NULL,
    received           INTEGER NOT NULL DEFAULT 0 CHECK (received >= 0),
    passed             INTEGER NOT NULL DEFAULT 0 CHECK (passed >= 0),
    failed             INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
    -- Requests a person named on a manual line (shortage requests are in `demands`).
    manual_request_nos JSONB NOT NULL DEFAULT '[]',
    PRIMARY KEY (po_number, line_no)
);
CREATE INDEX po_lines_part ON po_lines (part_no);

-- One row per request procurement heard of: the lock that orders a request's shortage and its
-- cancellation, and the durable marker of a cancellation that came first.
CREATE TABLE requests (
    request_no   TEXT PRIMARY KEY,
    branch       TEXT NOT NULL,
    cancelled_at TIMESTAMPTZ,
    -- The routing key that cancelled it.
    cancelled_by TEXT NOT NULL DEFAULT ''
);

-- What must be bought: a request's missing units of a part (a shortage), or stock to replenish.
CREATE TABLE demands (
    demand_id    BIGSERIAL PRIMARY KEY,
    request_no   TEXT REFERENCES requests (request_no),
    branch       TEXT NOT NULL DEFAULT '',
    part_no      TEXT NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    kind         TEXT NOT NULL CHECK (kind IN ('SHORTAGE', 'REPLENISHMENT')),
    status       TEXT NOT NULL CHECK (status IN ('UNSOURCED', 'ORDERED', 'CANCELLED')),
    backorder_id TEXT NOT NULL DEFAULT '',
    po_number    TEXT,
    line_no      INTEGER,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (po_number, line_no) REFERENCES po_lines (po_number, line_no),
    CHECK ((status = 'ORDERED') = (po_number IS NOT NULL)),
    CHECK ((kind = 'SHORTAGE') = (request_no IS NOT NULL))
);
-- A request's shortage of a part is recorded once, however often it is announced.
CREATE UNIQUE INDEX demands_request_part ON demands (request_no, part_no) WHERE request_no IS NOT NULL;
CREATE INDEX demands_line ON demands (po_number, line_no) WHERE po_number IS NOT NULL;
CREATE INDEX demands_unsourced ON demands (part_no) WHERE status = 'UNSOURCED';
CREATE INDEX demands_recent ON demands (part_no, created_at);

-- Receipts against POs (from warehouse.goods.received): PO progress and the scorecard's input.
CREATE TABLE receipts (
    receipt_id    TEXT PRIMARY KEY,
    po_number     TEXT NOT NULL REFERENCES purchase_orders (po_number),
    supplier_id   TEXT NOT NULL REFERENCES suppliers (supplier_id),
    received_date DATE NOT NULL,
    promised_date DATE NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX receipts_supplier ON receipts (supplier_id, received_date);

CREATE TABLE receipt_lines (
    receipt_id     TEXT NOT NULL REFERENCES receipts (receipt_id),
    idx            INTEGER NOT NULL,
    -- The PO line it was booked to; NULL for a part the PO does not order.
    line_no        INTEGER,
    part_no        TEXT NOT NULL,
    received       INTEGER NOT NULL CHECK (received >= 0),
    passed         INTEGER NOT NULL CHECK (passed >= 0),
    failed         INTEGER NOT NULL CHECK (failed >= 0),
    failure_reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (receipt_id, idx)
);

-- Field failures customers reported for a supplier's parts: the scorecard's fourth input, fed by
-- feedback once it reports them.
CREATE TABLE field_failures (
    id          BIGSERIAL PRIMARY KEY,
    supplier_id TEXT NOT NULL REFERENCES suppliers (supplier_id),
    part_no     TEXT NOT NULL,
    request_no  TEXT NOT NULL DEFAULT '',
    units       INTEGER NOT NULL CHECK (units > 0),
    reported_on DATE NOT NULL
);
CREATE INDEX field_failures_supplier ON field_failures (supplier_id, reported_on);

-- The last warehouse.stock.low seen per part: an older one arriving late changes nothing.
CREATE TABLE part_signals (
    part_no           TEXT PRIMARY KEY,
    last_low_sequence BIGINT NOT NULL,
    last_low_at       TIMESTAMPTZ NOT NULL
);
