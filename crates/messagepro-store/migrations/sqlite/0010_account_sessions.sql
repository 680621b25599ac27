-- The "My account" page lists a user's sessions: whose session a row is, when it signed in,
-- when it was last seen and the browser's User-Agent. The console's session store copies them
-- from the session's data at every save (NULL for anonymous sessions).
ALTER TABLE sessions ADD COLUMN user_id INTEGER;
ALTER TABLE sessions ADD COLUMN created_ms INTEGER;
ALTER TABLE sessions ADD COLUMN seen_ms INTEGER;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
CREATE INDEX sessions_user ON sessions (user_id);
-- Sessions opened before this migration: their owner and times from their data.
UPDATE sessions SET
    user_id = json_extract(data, '$.uid'),
    created_ms = json_extract(data, '$.auth_at'),
    seen_ms = json_extract(data, '$.seen_at'),
    user_agent = json_extract(data, '$.ua')
WHERE json_valid(data) AND json_type(data, '$.uid') = 'integer';
