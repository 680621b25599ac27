-- The integration API (issue 10): tokens, idempotency keys, business events and their rules,
-- and the platform's webhook posts received. Timestamps are INTEGER Unix milliseconds UTC.

-- Bearer tokens of business applications. Only the SHA-256 of the token is stored (the token
-- is 256 random bits, so a fast hash is enough: there is nothing to brute-force); `prefix` is
-- the first characters, shown in the console to tell tokens apart. `scopes`: space separated.
CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    prefix          TEXT    NOT NULL,
    hash            TEXT    NOT NULL UNIQUE,
    scopes          TEXT    NOT NULL,
    rate_per_minute INTEGER NOT NULL,
    created_by      TEXT,
    created_ms      INTEGER NOT NULL,
    last_used_ms    INTEGER,
    revoked_ms      INTEGER
);

-- Stripe-style idempotency keys, per token, kept 24 h. state: 'in_flight' (locked until
-- locked_until_ms: a crash lets a retry take over after it) or 'done' (status + body replayed).
-- A send's key is marked done in the same transaction as its message and outbox job.
CREATE TABLE idempotency_keys (
    token_id        INTEGER NOT NULL,
    key             TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    status          INTEGER,
    body            TEXT,
    locked_until_ms INTEGER NOT NULL,
    created_ms      INTEGER NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);

-- Business events (`order.validated`, `stock.low`…) as received, de-duplicated by the caller's
-- id per type: the row is written in the same transaction as the messages it causes.
CREATE TABLE api_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    type        TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    token_id    INTEGER,
    data        TEXT    NOT NULL,
    messages    TEXT    NOT NULL,
    received_ms INTEGER NOT NULL,
    UNIQUE (type, event_id)
);

-- What an event type causes: a templated message to a phone found in the event's data
-- (recipient_path, e.g. `client.phone`) or to the members of a platform group (by name).
-- route: JSON of the SMS route or WhatsApp account; NULL = the configured default route.
CREATE TABLE event_rules (
    type            TEXT    PRIMARY KEY,
    channel         TEXT    NOT NULL,
    template        TEXT    NOT NULL,
    recipient_path  TEXT,
    recipient_group TEXT,
    route           TEXT,
    enabled         BOOLEAN NOT NULL,
    updated_ms      INTEGER NOT NULL
);

-- The platform's webhook posts (`/webhooks/messagepro`), stored before they are acted on and
-- de-duplicated by (type, platform id); processed_ms is set once applied (a sweep retries).
CREATE TABLE inbound_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    dedupe       TEXT    NOT NULL UNIQUE,
    sender       TEXT,
    text         TEXT,
    payload      TEXT    NOT NULL,
    received_ms  INTEGER NOT NULL,
    processed_ms INTEGER,
    outcome      TEXT
);
CREATE INDEX inbound_events_pending ON inbound_events (processed_ms, id);

-- The two rules of the original integration.
INSERT INTO event_rules (type, channel, template, recipient_path, recipient_group, route, enabled, updated_ms)
VALUES ('order.validated', 'sms', 'Votre commande #{{order.reference}} a été validée !', 'client.phone', NULL, NULL, TRUE, 0);
INSERT INTO event_rules (type, channel, template, recipient_path, recipient_group, route, enabled, updated_ms)
VALUES ('stock.low', 'sms', 'Alerte stock : {{product.name}} ({{product.reference}}), reste {{product.quantity}}.', NULL, 'commerciaux', NULL, TRUE, 0);
