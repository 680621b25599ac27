-- The delivery engine (messagepro-core): the durable outbox, one-time form nonces and OTP codes.
-- Timestamps are INTEGER Unix milliseconds UTC, as everywhere.

-- One job per message to send. `state`: ready (waiting for run_at_ms) → running (leased by
-- lease_owner until lease_until_ms, attempt counts claims) → done. A job is completed only by
-- the worker holding the lease at that attempt, so a stale worker can never complete it.
CREATE TABLE outbox_jobs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id     INTEGER NOT NULL REFERENCES messages(id),
    payload        TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    attempt        INTEGER NOT NULL DEFAULT 0,
    max_attempts   INTEGER NOT NULL,
    run_at_ms      INTEGER NOT NULL,
    lease_owner    TEXT,
    lease_until_ms INTEGER,
    last_error     TEXT,
    created_ms     INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL
);
CREATE INDEX outbox_jobs_ready ON outbox_jobs (state, run_at_ms, id);
CREATE INDEX outbox_jobs_lease ON outbox_jobs (state, lease_until_ms);
CREATE INDEX outbox_jobs_message ON outbox_jobs (message_id);

-- One-time tokens of the send forms (double-submit guard, shared by every instance).
CREATE TABLE form_nonces (
    nonce      TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    used_ms    INTEGER
);
CREATE INDEX form_nonces_created ON form_nonces (created_ms);

-- One-time codes: only a keyed hash is stored (set by the worker right before the send).
CREATE TABLE otp_codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    phone       TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    message_id  INTEGER REFERENCES messages(id),
    code_hash   TEXT,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    used_ms     INTEGER,
    revoked_ms  INTEGER
);
CREATE INDEX otp_codes_phone ON otp_codes (phone, purpose, id);

-- Fixed-window counters (OTP send limits per phone and per IP, resend cooldown).
CREATE TABLE rate_counters (
    key             TEXT    PRIMARY KEY,
    window_start_ms INTEGER NOT NULL,
    count           INTEGER NOT NULL,
    last_ms         INTEGER NOT NULL
);
