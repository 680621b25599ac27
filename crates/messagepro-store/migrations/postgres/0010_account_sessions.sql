-- The "My account" page lists a user's sessions: whose session a row is, when it signed in,
-- when it was last seen and the browser's User-Agent. The console's session store copies them
-- from the session's data at every save (NULL for anonymous sessions).
ALTER TABLE sessions ADD COLUMN user_id BIGINT;
ALTER TABLE sessions ADD COLUMN created_ms BIGINT;
ALTER TABLE sessions ADD COLUMN seen_ms BIGINT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
CREATE INDEX sessions_user ON sessions (user_id);
-- Sessions opened before this migration: their owner and times from their data (always
-- JSON written by the console).
UPDATE sessions SET
    user_id = (data::jsonb ->> 'uid')::BIGINT,
    created_ms = (data::jsonb ->> 'auth_at')::BIGINT,
    seen_ms = (data::jsonb ->> 'seen_at')::BIGINT,
    user_agent = data::jsonb ->> 'ua'
WHERE jsonb_typeof(data::jsonb -> 'uid') = 'number';
