-- Field service: technicians, work orders, appointments (the slot bookings), request markers,
-- tool loans and idempotency keys.

CREATE TABLE technicians (
    technician_id text PRIMARY KEY,
    branch        text NOT NULL,
    active        boolean NOT NULL,
    -- The whole technician (skills, territories, regions, capacity) as the domain keeps it.
    body          jsonb NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX technicians_branch ON technicians (branch, technician_id);

-- Technician ids issued per branch when a registration gives none.
CREATE TABLE technician_sequences (
    branch text PRIMARY KEY,
    last   bigint NOT NULL
);

CREATE TABLE work_orders (
    work_order_no  text PRIMARY KEY,
    -- Empty for INTERNAL jobs.
    request_no     text NOT NULL,
    branch         text NOT NULL,
    status         text NOT NULL,
    source         text NOT NULL CHECK (source IN ('claim', 'manual', 'follow_up')),
    source_ref     text NOT NULL,
    technician_id  text NOT NULL DEFAULT '',
    serial         text NOT NULL DEFAULT '',
    product_model  text NOT NULL DEFAULT '',
    arrival_due_at timestamptz,
    arrived_at     timestamptz,
    sla_breached   boolean NOT NULL DEFAULT false,
    completed_at   timestamptz,
    rework_of      text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    status_since   timestamptz NOT NULL,
    version        bigint NOT NULL,
    -- The whole work order as the domain keeps it; the columns above are copies for queries.
    body           jsonb NOT NULL,
    -- One work order per approved request, per survey follow-up, per manual creation.
    UNIQUE (source, source_ref)
);
CREATE INDEX work_orders_request ON work_orders (request_no);
CREATE INDEX work_orders_board ON work_orders (branch, status, status_since);
CREATE INDEX work_orders_created ON work_orders (created_at DESC, work_order_no DESC);
CREATE INDEX work_orders_technician ON work_orders (technician_id, status);
CREATE INDEX work_orders_serial ON work_orders (serial, completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX work_orders_rework_of ON work_orders (rework_of) WHERE rework_of <> '';
-- What the arrival-deadline scanner looks at.
CREATE INDEX work_orders_arrival_due ON work_orders (arrival_due_at)
    WHERE arrived_at IS NULL AND NOT sla_breached AND arrival_due_at IS NOT NULL;

-- Work order numbers per branch and month.
CREATE TABLE work_order_sequences (
    branch text NOT NULL,
    period text NOT NULL,
    last   bigint NOT NULL,
    PRIMARY KEY (branch, period)
);

-- A slot booked: one window of one technician. The partial unique index makes a double
-- booking impossible whatever happens to the holds in Redis.
CREATE TABLE appointments (
    id             bigserial PRIMARY KEY,
    work_order_no  text NOT NULL REFERENCES work_orders (work_order_no),
    technician_id  text NOT NULL REFERENCES technicians (technician_id),
    window_start   timestamptz NOT NULL,
    window_end     timestamptz NOT NULL CHECK (window_end > window_start),
    -- The window's local date: a technician's daily capacity counts per day.
    day            date NOT NULL,
    booked_by      text NOT NULL,
    booked_at      timestamptz NOT NULL,
    released_at    timestamptz,
    release_reason text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX appointments_one_per_slot ON appointments (technician_id, window_start)
    WHERE released_at IS NULL;
CREATE UNIQUE INDEX appointments_one_per_work_order ON appointments (work_order_no)
    WHERE released_at IS NULL;
CREATE INDEX appointments_day ON appointments (technician_id, day) WHERE released_at IS NULL;

-- A request cancelled: the durable marker on which a later approval opens nothing.
CREATE TABLE cancelled_requests (
    request_no   text PRIMARY KEY,
    branch       text NOT NULL,
    reason       text NOT NULL,
    cancelled_at timestamptz NOT NULL
);

-- A request's parts delivered: a work order opened after the delivery was handled (events
-- out of order) does not wait for them.
CREATE TABLE delivered_requests (
    request_no   text PRIMARY KEY,
    shipment_no  text NOT NULL,
    delivered_at timestamptz NOT NULL
);

CREATE TABLE tool_loans (
    loan_id          text PRIMARY KEY,
    seq              bigserial UNIQUE,
    tool_id          text NOT NULL,
    tool_name        text NOT NULL,
    technician_id    text NOT NULL,
    branch           text NOT NULL,
    work_order_no    text NOT NULL DEFAULT '',
    loaned_at        timestamptz NOT NULL,
    due_back         date NOT NULL,
    returned_at      timestamptz,
    return_condition text NOT NULL DEFAULT '',
    status           text NOT NULL CHECK (status IN ('OUT', 'RETURNED', 'DAMAGED', 'LOST'))
);
-- A tool is with one technician at a time.
CREATE UNIQUE INDEX tool_loans_one_out ON tool_loans (tool_id) WHERE status = 'OUT';
CREATE INDEX tool_loans_technician ON tool_loans (technician_id, seq DESC);

-- The first answer to a mutating request with an idempotency key: the same key again with the
-- same request answers the same thing; with another request it is refused.
CREATE TABLE idempotency_keys (
    operation  text NOT NULL,
    key        text NOT NULL,
    request    bytea NOT NULL,
    -- What the operation answered (a work order number, a loan id).
    result     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operation, key)
);
