-- A row the broker keeps refusing is set aside after outbox.max_attempts failures, so the rows
-- behind it keep flowing; `<service> outbox retry-quarantined` puts it back.
ALTER TABLE outbox ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN quarantined_at TIMESTAMPTZ;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL AND quarantined_at IS NULL;
CREATE INDEX outbox_quarantined ON outbox (id) WHERE quarantined_at IS NOT NULL AND published_at IS NULL;
