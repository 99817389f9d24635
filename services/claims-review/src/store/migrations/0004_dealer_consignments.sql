-- Goods shipped to dealers (issue 23, logistics.consignment.dispatched): one row per consignment
-- however often its event arrives (another event id for the same consignment writes nothing).
-- Its units count into the month's parts_shipped; an order's amount is its parts_order entry in
-- dealer_entries, on the same period.
CREATE TABLE dealer_consignments (
    consignment_id  text PRIMARY KEY,
    dealer_code     text NOT NULL REFERENCES dealers (code),
    -- The statement month it counts on (its dispatch's local month, or the first later one not
    -- issued when it came late).
    period          text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('dealer_order', 'advance_exchange')),
    units           integer NOT NULL CHECK (units > 0),
    value_minor     bigint NOT NULL CHECK (value_minor >= 0),
    dispatched_at   timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL
);
CREATE INDEX dealer_consignments_period ON dealer_consignments (dealer_code, period);
