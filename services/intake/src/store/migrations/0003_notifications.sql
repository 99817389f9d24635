-- How each customer wants to be told (language, channel, opt-out), and the message log: one
-- message per customer-facing event and channel, written in the transaction that handles the
-- event and sent from this table as from an outbox.
ALTER TABLE requests ADD COLUMN notify JSONB NOT NULL DEFAULT '{}';

CREATE TABLE notifications (
    message_id      UUID PRIMARY KEY,
    request_no      TEXT NOT NULL REFERENCES requests (request_no),
    event_id        UUID NOT NULL,
    event_type      TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'webhook')),
    recipient       TEXT NOT NULL,
    language        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL
                    CHECK (status IN ('queued', 'sent', 'delivered', 'failed', 'suppressed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    provider_answer TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    -- Not before: the end of the quiet hours for SMS, the next attempt after a failure.
    due_at          TIMESTAMPTZ NOT NULL,
    -- Set while a sender holds the message (claimed, being sent); a sender that died leaves it,
    -- and the message is taken again once it passes.
    lease_until     TIMESTAMPTZ,
    sent_at         TIMESTAMPTZ,
    UNIQUE (event_id, channel)
);
CREATE INDEX notifications_due ON notifications (due_at) WHERE status = 'queued';
CREATE INDEX notifications_request ON notifications (request_no, created_at);
