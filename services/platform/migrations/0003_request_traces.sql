-- The first trace this service saw each request in (DESIGN §9): a later trace about the same
-- request (a person's step, a timer, a batch) links to it. Written with ON CONFLICT DO NOTHING
-- by the consumer (in the statement that records the event as processed) and by a background
-- writer for RPCs, scanner ticks and batches; read only when this process has not seen the
-- request yet.
CREATE TABLE request_traces (
    request_no TEXT PRIMARY KEY,
    traceparent TEXT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL DEFAULT now()
);
