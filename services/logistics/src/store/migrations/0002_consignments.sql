-- Dealers' consignments (warehouse.consignment.issued): a dealer's parts order or the good unit of
-- an advance exchange, shipped to the dealer. They are no customer's request: nothing here
-- references `requests`, they never enter `shipments`, and their notice is
-- logistics.consignment.dispatched, never a logistics.shipment.* event (whose consumers would
-- take them for a request's). One row per consignment_id: a redelivered or repeated event finds
-- it and does nothing.
CREATE TABLE consignments (
    consignment_id       TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL CHECK (kind IN ('DEALER_ORDER', 'ADVANCE_EXCHANGE')),
    dealer_code          TEXT NOT NULL,
    -- The dealer's branch: a branch's token sees its own dealers' consignments.
    branch               TEXT NOT NULL,
    -- CS-2612-000042, from number_sequences under the prefix CS.
    shipment_no          TEXT NOT NULL UNIQUE,
    -- Handed to the carrier on arrival; no later state is tracked yet.
    status               TEXT NOT NULL CHECK (status IN ('DISPATCHED')),
    urgency              TEXT NOT NULL,
    method               TEXT NOT NULL,
    method_rule          TEXT NOT NULL,
    method_reason        TEXT NOT NULL,
    carrier              TEXT NOT NULL,
    waybill_no           TEXT NOT NULL,
    ship_to              JSONB NOT NULL,
    region               TEXT NOT NULL,
    origin               TEXT NOT NULL,
    -- What the warehouse issued: [{part_no, quantity, valuable}].
    lines                JSONB NOT NULL,
    weight_grams         BIGINT NOT NULL,
    -- The warehouse's value of the goods, in the warehouse's currency.
    value_minor          BIGINT NOT NULL,
    value_currency       TEXT NOT NULL,
    -- The rate table's currency: estimated cost and insured value.
    currency             TEXT NOT NULL,
    estimated_cost_minor BIGINT NOT NULL,
    insured_value_minor  BIGINT NOT NULL DEFAULT 0,
    dealer_reference     TEXT NOT NULL DEFAULT '',
    issued_at            TIMESTAMPTZ,
    dispatched_at        TIMESTAMPTZ NOT NULL,
    eta                  TIMESTAMPTZ NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX consignments_waybill ON consignments (carrier, waybill_no);
CREATE INDEX consignments_dealer ON consignments (dealer_code, dispatched_at DESC);
