-- Campaigns that respect people (issue 9): the suppression list, pacing shared by every worker,
-- and scheduled campaigns.

-- One row per number that must not receive promotional or ordinary sends. source: 'local'
-- (marked in the console / CLI / API), 'platform' (read from get/unsubscribed), 'inbound' (the
-- recipient texted STOP, ARRET…). OTP codes the recipient asked for are exempt (a setting).
CREATE TABLE suppressions (
    phone      TEXT    PRIMARY KEY,
    source     TEXT    NOT NULL,
    reason     TEXT,
    actor      TEXT,
    created_ms BIGINT NOT NULL
);

-- Small key/value state of the periodic syncs (e.g. the last inbound SMS id read).
CREATE TABLE sync_state (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_ms BIGINT NOT NULL
);

-- One row per pacing key (an SMS device + SIM, a WhatsApp account): the earliest time the next
-- send may leave (next_ms), where the next deferred campaign job is placed (horizon_ms), and the
-- count of sends in the current day (day = days since the epoch, UTC) for daily caps. Taken
-- with one conditional UPDATE, so several worker processes never exceed the rate.
CREATE TABLE pacing (
    key        TEXT    PRIMARY KEY,
    next_ms    BIGINT NOT NULL,
    horizon_ms BIGINT NOT NULL,
    day        BIGINT NOT NULL,
    day_count  BIGINT NOT NULL
);

-- A campaign scheduled for later (start_ms), and when it was paused (resume shifts its jobs).
ALTER TABLE campaigns ADD COLUMN start_ms BIGINT;
ALTER TABLE campaigns ADD COLUMN paused_ms BIGINT;


-- Contacts already marked opted out are on the list from now on.
INSERT INTO suppressions (phone, source, reason, actor, created_ms)
SELECT phone, 'local', 'contact marked opted out', NULL, opted_out_ms FROM contacts
WHERE opted_out_ms IS NOT NULL;
