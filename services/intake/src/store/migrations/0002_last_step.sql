-- The last step each request reached (its newest timeline entry by when it happened), so a
-- request whose next step is overdue ("stuck") is found with one indexed query.
ALTER TABLE requests ADD COLUMN last_step TEXT;
ALTER TABLE requests ADD COLUMN last_step_at TIMESTAMPTZ;
UPDATE requests r
   SET (last_step, last_step_at) = (
       SELECT t.routing_key, t.occurred_at FROM timeline t
        WHERE t.request_no = r.request_no
        ORDER BY t.occurred_at DESC, t.recorded_at DESC LIMIT 1);
UPDATE requests SET last_step = 'intake.request.submitted', last_step_at = created_at
 WHERE last_step IS NULL;
ALTER TABLE requests ALTER COLUMN last_step SET NOT NULL;
ALTER TABLE requests ALTER COLUMN last_step_at SET NOT NULL;
CREATE INDEX requests_open_by_step ON requests (last_step, last_step_at)
 WHERE status NOT IN ('closed', 'cancelled', 'rejected');
