-- TURNOVER: stock kept for advance exchanges to dealers and agents (reservations for customers
-- never draw from it). Every part gets its stock row there, as for every other zone.
ALTER TABLE stock_levels DROP CONSTRAINT stock_levels_zone_check;
ALTER TABLE stock_levels ADD CONSTRAINT stock_levels_zone_check
    CHECK (zone IN ('QUALIFIED', 'PENDING_INSPECTION', 'NONCONFORMING', 'VALUABLES', 'OLD_PARTS', 'TURNOVER'));
INSERT INTO stock_levels (part_no, zone) SELECT part_no, 'TURNOVER' FROM parts
    ON CONFLICT (part_no, zone) DO NOTHING;

-- Moves of QUALIFIED stock into TURNOVER (the ledger rows carry reference_id = transfer_id).
CREATE TABLE turnover_transfers (
    transfer_id     TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    part_no         TEXT NOT NULL REFERENCES parts (part_no),
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    reason          TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

-- Good units sent to a dealer or agent out of TURNOVER ahead of its defective one, which is due
-- back by due_at; past it and not back, the exchange is OVERDUE (announced once).
CREATE TABLE advance_exchanges (
    exchange_id      TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    dealer_code      TEXT NOT NULL,
    branch           TEXT NOT NULL,
    part_no          TEXT NOT NULL REFERENCES parts (part_no),
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    defective_serial TEXT NOT NULL,
    ship_to          JSONB,
    status           TEXT NOT NULL CHECK (status IN ('OUTSTANDING', 'OVERDUE', 'RETURNED')),
    shipped_at       TIMESTAMPTZ NOT NULL,
    due_at           TIMESTAMPTZ NOT NULL,
    -- The unit cost x quantity at shipping, charged if the unit does not come back.
    charge_currency  TEXT NOT NULL,
    charge_minor     BIGINT NOT NULL CHECK (charge_minor >= 0),
    overdue_at       TIMESTAMPTZ,
    returned_at      TIMESTAMPTZ,
    -- Back after it had gone OVERDUE.
    returned_late    BOOLEAN NOT NULL DEFAULT false,
    created_by       TEXT NOT NULL
);
CREATE INDEX advance_exchanges_due ON advance_exchanges (due_at) WHERE status = 'OUTSTANDING';
CREATE INDEX advance_exchanges_dealer ON advance_exchanges (dealer_code, shipped_at DESC, exchange_id DESC);
CREATE INDEX advance_exchanges_newest ON advance_exchanges (shipped_at DESC, exchange_id DESC);
