-- Webhooks out (issue 10): the endpoints business applications register, and the deliveries to
-- them — the webhook outbox. A delivery row is written BY THE DATABASE, in the transaction that
-- makes the event happen (the triggers below), so an event is never lost between a status
-- change and its webhook, whichever code path changed it (a worker's turn, reconciliation, a
-- cancel, the intake). Timestamps are INTEGER Unix milliseconds UTC.

-- `events`: space-separated subscribed types. `secret`: `whsec_…` (Standard Webhooks), kept
-- to sign; shown once at creation. Disabled by an admin, on a 410 answer, or when a delivery
-- has failed its whole retry schedule (`disabled_reason`: manual, gone, failing).
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    url             TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    secret          TEXT    NOT NULL,
    events          TEXT    NOT NULL,
    enabled         BOOLEAN NOT NULL,
    disabled_reason TEXT,
    created_by      TEXT,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL
);

-- One event for one endpoint. webhook_id: the Standard Webhooks `webhook-id`, derived from the
-- event (`msg_message_sent_42`), the same on every attempt and replay; unique per endpoint so
-- an event is queued once. data: the event's JSON, snapshotted when it happened.
-- state: pending (due at next_ms) → delivering (leased) → succeeded | failed.
-- attempts: every attempt made; replay: the next attempt is an admin's replay (one try).
CREATE TABLE webhook_deliveries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id    INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    webhook_id     TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    data           TEXT    NOT NULL,
    created_ms     INTEGER NOT NULL,
    state          TEXT    NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_ms        INTEGER NOT NULL,
    lease_until_ms INTEGER,
    last_status    INTEGER,
    last_error     TEXT,
    replay         BOOLEAN NOT NULL DEFAULT FALSE,
    updated_ms     INTEGER NOT NULL,
    UNIQUE (endpoint_id, webhook_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_ms);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- The delivery log: one row per attempt, with the answer's status (NULL: no answer — the
-- error says why) and the start of its body.
CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    status      INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    response    TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Campaigns started through the API: the token that started it may pause, resume and cancel
-- it (a console user's campaigns have created_by).
ALTER TABLE campaigns ADD COLUMN token_id INTEGER;

-- message.sent / message.failed: a message reaches `sent` or `failed`. An OTP's text (the
-- code) is never put in a webhook.
CREATE TRIGGER webhook_message_status AFTER UPDATE OF status ON messages
WHEN NEW.status <> OLD.status AND NEW.status IN ('sent', 'failed')
BEGIN
    INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, webhook_id, type, data, created_ms, state, next_ms, updated_ms)
    SELECT e.id, 'msg_message_' || NEW.status || '_' || NEW.id, 'message.' || NEW.status,
        json_object('id', NEW.id, 'channel', NEW.channel, 'to', NEW.recipient, 'status', NEW.status,
            'text', CASE WHEN NEW.channel = 'otp' THEN NULL ELSE NEW.text END,
            'segments', NEW.segments, 'campaign_id', NEW.campaign_id, 'platform_id', NEW.platform_id,
            'error', CASE WHEN NEW.status = 'failed' THEN NEW.platform_message END),
        NEW.updated_ms, 'pending', NEW.updated_ms, NEW.updated_ms
    FROM webhook_endpoints e
    WHERE (' ' || e.events || ' ') LIKE ('% message.' || NEW.status || ' %');
END;
-- …and a message recorded already final (refused before any call: an offline device).
CREATE TRIGGER webhook_message_inserted AFTER INSERT ON messages
WHEN NEW.status IN ('sent', 'failed')
BEGIN
    INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, webhook_id, type, data, created_ms, state, next_ms, updated_ms)
    SELECT e.id, 'msg_message_' || NEW.status || '_' || NEW.id, 'message.' || NEW.status,
        json_object('id', NEW.id, 'channel', NEW.channel, 'to', NEW.recipient, 'status', NEW.status,
            'text', CASE WHEN NEW.channel = 'otp' THEN NULL ELSE NEW.text END,
            'segments', NEW.segments, 'campaign_id', NEW.campaign_id, 'platform_id', NEW.platform_id,
            'error', CASE WHEN NEW.status = 'failed' THEN NEW.platform_message END),
        NEW.updated_ms, 'pending', NEW.updated_ms, NEW.updated_ms
    FROM webhook_endpoints e
    WHERE (' ' || e.events || ' ') LIKE ('% message.' || NEW.status || ' %');
END;

-- campaign.completed: a campaign reaches `done`.
CREATE TRIGGER webhook_campaign_done AFTER UPDATE OF status ON campaigns
WHEN NEW.status <> OLD.status AND NEW.status = 'done'
BEGIN
    INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, webhook_id, type, data, created_ms, state, next_ms, updated_ms)
    SELECT e.id, 'msg_campaign_completed_' || NEW.id, 'campaign.completed',
        json_object('id', NEW.id, 'name', NEW.name, 'channel', NEW.channel, 'total', NEW.total),
        NEW.updated_ms, 'pending', NEW.updated_ms, NEW.updated_ms
    FROM webhook_endpoints e
    WHERE (' ' || e.events || ' ') LIKE '% campaign.completed %';
END;

-- otp.verified: a code is consumed by a right answer (never the code itself).
CREATE TRIGGER webhook_otp_verified AFTER UPDATE OF used_ms ON otp_codes
WHEN OLD.used_ms IS NULL AND NEW.used_ms IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, webhook_id, type, data, created_ms, state, next_ms, updated_ms)
    SELECT e.id, 'msg_otp_verified_' || NEW.id, 'otp.verified',
        json_object('id', NEW.id, 'to', NEW.phone, 'purpose', NEW.purpose),
        NEW.used_ms, 'pending', NEW.used_ms, NEW.used_ms
    FROM webhook_endpoints e
    WHERE (' ' || e.events || ' ') LIKE '% otp.verified %';
END;

-- contact.opted_out: a number enters the suppression list (console, CLI, API, STOP received,
-- the platform's list).
CREATE TRIGGER webhook_opted_out AFTER INSERT ON suppressions
BEGIN
    INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, webhook_id, type, data, created_ms, state, next_ms, updated_ms)
    SELECT e.id, 'msg_contact_opted_out_' || ltrim(NEW.phone, '+') || '_' || NEW.created_ms, 'contact.opted_out',
        json_object('phone', NEW.phone, 'source', NEW.source, 'reason', NEW.reason),
        NEW.created_ms, 'pending', NEW.created_ms, NEW.created_ms
    FROM webhook_endpoints e
    WHERE (' ' || e.events || ' ') LIKE '% contact.opted_out %';
END;

-- message.received: the platform posted a received SMS or WhatsApp message.
CREATE TRIGGER webhook_message_received AFTER INSERT ON inbound_events
WHEN NEW.kind IN ('sms', 'whatsapp')
BEGIN
    INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, webhook_id, type, data, created_ms, state, next_ms, updated_ms)
    SELECT e.id, 'msg_message_received_' || NEW.id, 'message.received',
        json_object('id', NEW.id, 'channel', NEW.kind, 'from', NEW.sender, 'text', NEW.text),
        NEW.received_ms, 'pending', NEW.received_ms, NEW.received_ms
    FROM webhook_endpoints e
    WHERE (' ' || e.events || ' ') LIKE '% message.received %';
END;
