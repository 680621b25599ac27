-- Platform reads cached for every instance (issue 13): the last answer of a platform list the
-- pages show (rates, devices, WhatsApp accounts, credits, subscription), as JSON, with when it
-- was read. Pages read it within a short TTL instead of calling the platform on every view (or
-- keystroke), and show it when the platform is slow or down. Timestamps are Unix ms UTC.
CREATE TABLE platform_reads (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    fetched_ms BIGINT  NOT NULL
);
