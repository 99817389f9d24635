-- One row per request logistics has heard of: every change to a request's shipments and pick-ups
-- first locks this row (upsert, then SELECT … FOR UPDATE), so the handlers of one request run one
-- after the other whatever order its events arrive in. cancelled_at is the durable marker a
-- cancellation leaves when it comes first: nothing is planned or scheduled for the request after.
CREATE TABLE requests (
    request_no    TEXT PRIMARY KEY,
    branch        TEXT NOT NULL,
    cancelled_at  TIMESTAMPTZ,
    cancel_reason TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Shipment and pick-up numbers: a sequence per prefix and local month (SH-2611-000042).
CREATE TABLE number_sequences (
    prefix TEXT NOT NULL,
    period TEXT NOT NULL,
    last   BIGINT NOT NULL,
    PRIMARY KEY (prefix, period)
);

CREATE TABLE shipments (
    shipment_no             TEXT PRIMARY KEY,
    request_no              TEXT NOT NULL REFERENCES requests (request_no),
    branch                  TEXT NOT NULL,
    pick_list_id            TEXT NOT NULL,
    status                  TEXT NOT NULL CHECK (status IN
                              ('PLANNED', 'DISPATCHED', 'IN_TRANSIT', 'DELIVERED', 'FAILED', 'CANCELLED')),
    -- common.v1.RequestKind number (0: not said) and whether a technician fits the parts: handed
    -- on to logistics.shipment.delivered.
    kind                    INTEGER NOT NULL DEFAULT 0,
    onsite_required         BOOLEAN NOT NULL DEFAULT false,
    method                  TEXT NOT NULL,
    method_rule             TEXT NOT NULL,
    method_reason           TEXT NOT NULL,
    carrier                 TEXT NOT NULL,
    waybill_no              TEXT,
    ship_to                 JSONB NOT NULL,
    -- Normalised address and phone: what "the same destination" means for consolidation.
    destination_key         TEXT NOT NULL,
    region                  TEXT NOT NULL,
    origin                  TEXT NOT NULL,
    urgency                 TEXT NOT NULL,
    -- What the reservation holds: [{part_no, quantity, valuable}].
    lines                   JSONB NOT NULL,
    packing_list            JSONB NOT NULL DEFAULT '[]',
    packages                INTEGER NOT NULL DEFAULT 0,
    weight_grams            BIGINT NOT NULL,
    currency                TEXT NOT NULL,
    estimated_cost_minor    BIGINT NOT NULL,
    actual_cost_minor       BIGINT,
    insured_value_minor     BIGINT NOT NULL DEFAULT 0,
    consolidation_id        TEXT NOT NULL DEFAULT '',
    -- The local day it was planned on (consolidation groups one day).
    planned_day             DATE NOT NULL,
    replaces_shipment_no    TEXT NOT NULL DEFAULT '',
    replaced_by_shipment_no TEXT NOT NULL DEFAULT '',
    -- Failed by damage or loss and waiting for the warehouse's replacement reservation.
    replacement_pending     BOOLEAN NOT NULL DEFAULT false,
    planned_at              TIMESTAMPTZ NOT NULL,
    estimated_delivery      TIMESTAMPTZ,
    packed_at               TIMESTAMPTZ,
    dispatched_at           TIMESTAMPTZ,
    promised_eta            TIMESTAMPTZ,
    eta                     TIMESTAMPTZ,
    delivered_at            TIMESTAMPTZ,
    signed_by               TEXT NOT NULL DEFAULT '',
    failed_at               TIMESTAMPTZ,
    cancelled_at            TIMESTAMPTZ,
    -- When the latest applied tracking update happened: an older one changes nothing.
    last_tracking_at        TIMESTAMPTZ,
    -- The ETA the eta-watch scanner already reported as passed (once per ETA).
    overdue_flagged_eta     TIMESTAMPTZ,
    idempotency_key         TEXT UNIQUE,
    request_hash            TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX shipments_waybill ON shipments (carrier, waybill_no) WHERE waybill_no IS NOT NULL;
CREATE INDEX shipments_request ON shipments (request_no);
CREATE INDEX shipments_pick_list ON shipments (pick_list_id);
CREATE INDEX shipments_newest ON shipments (planned_at DESC, shipment_no DESC);
CREATE INDEX shipments_open_eta ON shipments (eta) WHERE status IN ('DISPATCHED', 'IN_TRANSIT');
CREATE INDEX shipments_consolidation ON shipments (destination_key, planned_day) WHERE status = 'PLANNED';

-- Parts the warehouse issued against a pick list before logistics had planned its shipment
-- (events arrive in any order): the plan dispatches them at once.
CREATE TABLE pending_issues (
    id           BIGSERIAL PRIMARY KEY,
    request_no   TEXT NOT NULL REFERENCES requests (request_no),
    pick_list_id TEXT NOT NULL,
    lines        JSONB NOT NULL,
    issued_by    TEXT NOT NULL DEFAULT '',
    issued_at    TIMESTAMPTZ,
    shipment_no  TEXT NOT NULL DEFAULT '',
    -- The shipment that took them; NULL while waiting.
    used_by      TEXT
);
CREATE INDEX pending_issues_waiting ON pending_issues (pick_list_id) WHERE used_by IS NULL;

CREATE TABLE pickups (
    pickup_no            TEXT PRIMARY KEY,
    request_no           TEXT NOT NULL REFERENCES requests (request_no),
    branch               TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN
                           ('SCHEDULED', 'COLLECTED', 'DELIVERED', 'FAILED', 'CANCELLED')),
    -- Scheduled on claims.claim.approved (one per request) rather than by a person.
    automatic            BOOLEAN NOT NULL DEFAULT false,
    pickup_address       JSONB NOT NULL,
    region               TEXT NOT NULL,
    destination          TEXT NOT NULL,
    window_from          TIMESTAMPTZ,
    window_to            TIMESTAMPTZ,
    method               TEXT NOT NULL,
    carrier              TEXT NOT NULL,
    waybill_no           TEXT,
    part_no              TEXT NOT NULL DEFAULT '',
    serial               TEXT NOT NULL DEFAULT '',
    model                TEXT NOT NULL DEFAULT '',
    items                JSONB NOT NULL DEFAULT '[]',
    items_handed_over    JSONB,
    free_of_charge       BOOLEAN NOT NULL,
    currency             TEXT NOT NULL,
    fee_minor            BIGINT NOT NULL,
    fee_reason           TEXT NOT NULL,
    estimated_cost_minor BIGINT NOT NULL,
    customer_ships       BOOLEAN NOT NULL DEFAULT false,
    scheduled_at         TIMESTAMPTZ NOT NULL,
    collected_at         TIMESTAMPTZ,
    arrived_at           TIMESTAMPTZ,
    failed_at            TIMESTAMPTZ,
    cancelled_at         TIMESTAMPTZ,
    chase_due_at         TIMESTAMPTZ,
    chased_at            TIMESTAMPTZ,
    last_tracking_at     TIMESTAMPTZ,
    note                 TEXT NOT NULL DEFAULT '',
    idempotency_key      TEXT UNIQUE,
    request_hash         TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX pickups_waybill ON pickups (carrier, waybill_no) WHERE waybill_no IS NOT NULL;
CREATE UNIQUE INDEX pickups_automatic ON pickups (request_no) WHERE automatic;
CREATE INDEX pickups_request ON pickups (request_no);
CREATE INDEX pickups_chase ON pickups (chase_due_at) WHERE status = 'SCHEDULED' AND chased_at IS NULL;

-- Every tracking update received, applied or not: (carrier, carrier_event_id) is the carrier's
-- idempotency key, so a replay changes nothing.
CREATE TABLE tracking_events (
    id               BIGSERIAL PRIMARY KEY,
    carrier          TEXT NOT NULL,
    carrier_event_id TEXT NOT NULL,
    waybill_no       TEXT NOT NULL DEFAULT '',
    shipment_no      TEXT REFERENCES shipments (shipment_no),
    pickup_no        TEXT REFERENCES pickups (pickup_no),
    status           TEXT NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    location         TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    raw_status       TEXT NOT NULL DEFAULT '',
    signed_by        TEXT NOT NULL DEFAULT '',
    eta              TIMESTAMPTZ,
    source           TEXT NOT NULL,
    applied          BOOLEAN NOT NULL,
    note             TEXT NOT NULL DEFAULT '',
    recorded_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (carrier, carrier_event_id),
    CHECK ((shipment_no IS NULL) <> (pickup_no IS NULL))
);
CREATE INDEX tracking_events_shipment ON tracking_events (shipment_no, occurred_at);
CREATE INDEX tracking_events_pickup ON tracking_events (pickup_no, occurred_at);

CREATE TABLE exceptions (
    exception_id       TEXT PRIMARY KEY,
    shipment_no        TEXT NOT NULL REFERENCES shipments (shipment_no),
    request_no         TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('DELAY', 'DAMAGE', 'LOSS')),
    detail             TEXT NOT NULL,
    source             TEXT NOT NULL CHECK (source IN ('CARRIER', 'STAFF', 'SCANNER')),
    reported_at        TIMESTAMPTZ NOT NULL,
    reported_by        TEXT NOT NULL DEFAULT '',
    new_eta            TIMESTAMPTZ,
    affected_lines     JSONB NOT NULL DEFAULT '[]',
    replacement_needed BOOLEAN NOT NULL,
    tracking_event_id  BIGINT REFERENCES tracking_events (id),
    resolved_at        TIMESTAMPTZ,
    resolution         TEXT NOT NULL DEFAULT '',
    resolved_by        TEXT NOT NULL DEFAULT '',
    idempotency_key    TEXT UNIQUE,
    request_hash       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX exceptions_shipment ON exceptions (shipment_no, reported_at);
CREATE INDEX exceptions_open ON exceptions (shipment_no) WHERE resolved_at IS NULL;

-- The sim carrier's tracking updates, due on the service's clock: the "sim-carrier" scanner
-- sends each once, through the same path as a webhook.
CREATE TABLE sim_schedule (
    id               BIGSERIAL PRIMARY KEY,
    waybill_no       TEXT NOT NULL,
    carrier_event_id TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL,
    due_at           TIMESTAMPTZ NOT NULL,
    location         TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    fired_at         TIMESTAMPTZ
);
CREATE INDEX sim_schedule_due ON sim_schedule (due_at) WHERE fired_at IS NULL;
CREATE INDEX sim_schedule_waybill ON sim_schedule (waybill_no);
