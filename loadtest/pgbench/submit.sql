-- The SQL of one intake submission (services/intake/src/service.rs, store/*.rs,
-- platform outbox), run by pgbench at the same concurrency as the mesh load: the idempotency
-- look-up, then one transaction with the tracking-sequence upsert, the request row, the outbox
-- sequence upsert, the outbox row, the NOTIFY and the timeline row. The payloads have the size
-- the service writes (an encoded RequestSubmitted envelope is about 450 bytes).
\set n random(1, 9000000000000000000)
\set b random(1, 20)
SELECT request_no FROM requests WHERE idempotency_key = 'pgb-' || :n;
BEGIN;
INSERT INTO tracking_sequences (branch, period, last) VALUES ('B' || lpad(:b::text, 3, '0'), '2611', 1)
  ON CONFLICT (branch, period) DO UPDATE SET last = tracking_sequences.last + 1 RETURNING last;
INSERT INTO requests (request_no, idempotency_key, fingerprint, branch, channel, kind, urgency, status, status_reason,
    customer_name, customer_phone, customer_phone_digits, customer_address, customer_region, customer_email,
    product, fault_description, photos, parts, misuse_suspected, submitted_by, created_at, updated_at)
  VALUES ('AS-2611-B' || lpad(:b::text, 3, '0') || '-' || :n, 'pgb-' || :n, '0123456789abcdef', 'B' || lpad(:b::text, 3, '0'),
    'hotline', 'replacement', 'normal', 'submitted', '', 'Load Test', '+86 138 0013 8000', '8613800138000',
    '1 Test Road', 'urban', '',
    '{"category":"television","model":"X55","serial":"SN123456789","purchase_date":"2026-10-02","invoice_no":"INV-9","invoice_date":"2026-10-02","receipt_date":null,"factory_date":"2026-08-15","service_contract_no":""}',
    'no picture', '[]', '[{"part_no":"PWR-55-01","quantity":1}]', false, 'k6-B001', now(), now());
INSERT INTO outbox_sequences (subject, last) VALUES ('AS-2611-B' || lpad(:b::text, 3, '0') || '-' || :n, 1)
  ON CONFLICT (subject) DO UPDATE SET last = outbox_sequences.last + 1 RETURNING last;
INSERT INTO outbox (event_id, routing_key, subject, envelope, traceparent, tracestate, baggage)
  VALUES (gen_random_uuid(), 'intake.request.submitted', 'AS-2611-B' || lpad(:b::text, 3, '0') || '-' || :n,
    decode(repeat('0a2430313961', 75), 'hex'), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '', 'aftersales.request_no=AS-2611-B001-1');
SELECT pg_notify('aftersales_outbox', '');
INSERT INTO timeline (event_id, request_no, routing_key, producer, occurred_at, summary, status_after)
  VALUES (gen_random_uuid(), 'AS-2611-B' || lpad(:b::text, 3, '0') || '-' || :n, 'intake.request.submitted', 'intake', now(),
    'Request received by branch B001 via hotline (replacement of a television X55)', 'submitted');
COMMIT;
