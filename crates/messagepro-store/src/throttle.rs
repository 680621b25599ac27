//! Failed-login throttling state, per key (`user:<name>`, `ip:<addr>`). The policy (how many
//! failures, how long a lock) belongs to the console; the store only counts atomically.

use crate::{Result, Store, ThrottleState, on_pool};

impl Store {
    pub async fn throttle_get(&self, key: &str) -> Result<Option<ThrottleState>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, ThrottleState>(
            "SELECT key, failures, first_failure_ms, locked_until_ms FROM login_throttle WHERE key = $1")
            .bind(key).fetch_optional(p).await?))
    }

    /// Counts one failure at `now_ms`, in one statement. Failures older than `window_ms` start
    /// a new count; reaching `max_failures` sets `locked_until_ms = now + lock_ms`.
    pub async fn throttle_record_failure(
        &self,
        key: &str,
        now_ms: i64,
        window_ms: i64,
        max_failures: i64,
        lock_ms: i64,
    ) -> Result<ThrottleState> {
        let sql = "INSERT INTO login_throttle (key, failures, first_failure_ms, locked_until_ms) \
             VALUES ($1, 1, $2, CASE WHEN $4 <= 1 THEN $2 + $5 ELSE NULL END) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_throttle.first_failure_ms + $3 <= $2 \
                               OR (login_throttle.locked_until_ms IS NOT NULL AND login_throttle.locked_until_ms <= $2) \
                               THEN 1 ELSE login_throttle.failures + 1 END, \
               first_failure_ms = CASE WHEN login_throttle.first_failure_ms + $3 <= $2 \
                               OR (login_throttle.locked_until_ms IS NOT NULL AND login_throttle.locked_until_ms <= $2) \
                               THEN $2 ELSE login_throttle.first_failure_ms END, \
               locked_until_ms = CASE \
                   WHEN login_throttle.locked_until_ms IS NOT NULL AND login_throttle.locked_until_ms > $2 \
                        THEN login_throttle.locked_until_ms \
                   WHEN login_throttle.first_failure_ms + $3 > $2 AND login_throttle.locked_until_ms IS NULL \
                        AND login_throttle.failures + 1 >= $4 THEN $2 + $5 \
                   ELSE NULL END \
             RETURNING key, failures, first_failure_ms, locked_until_ms";
        Ok(on_pool!(self, p => sqlx::query_as::<_, ThrottleState>(sql)
            .bind(key).bind(now_ms).bind(window_ms).bind(max_failures).bind(lock_ms)
            .fetch_one(p).await?))
    }

    /// Forgets the failures of `key` (after a successful login).
    pub async fn throttle_clear(&self, key: &str) -> Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(key).execute(p).await?.rows_affected());
        Ok(())
    }
}
