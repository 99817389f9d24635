-- The W3C baggage of the work that staged an event (the request numbers it is about), beside its
-- traceparent: the relay's publish span of an event whose subject is not a request (a PO, a
-- shipment) still names the request (DESIGN §9), and the consumer's next hop receives it.
ALTER TABLE outbox ADD COLUMN baggage TEXT;
