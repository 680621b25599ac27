-- Progressive lockout: how many times a throttle key has been locked since its last success
-- (or admin unlock). Each lock lasts twice the previous one, up to 16 times the base duration.
ALTER TABLE login_throttle ADD COLUMN lockouts BIGINT NOT NULL DEFAULT 0;
