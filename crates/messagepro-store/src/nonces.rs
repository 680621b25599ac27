//! One-time form tokens (the double-submit guard of every send form) and fixed-window rate
//! counters (OTP send limits). Both live in the database so they hold across restarts and across
//! every instance sharing it; each decision is one atomic statement.

use crate::{Result, Store, on_pool};

/// What [`Store::rate_hit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Counted (within the limit and past the cooldown).
    pub allowed: bool,
    /// Hits counted in the current window (after this one when allowed).
    pub count: i64,
    /// Milliseconds until another hit may be allowed (0 when allowed).
    pub retry_after_ms: i64,
}

impl Store {
    /// Records a nonce issued to `user` for a form.
    pub async fn nonce_issue(&self, nonce: &str, user_id: i64, now_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO form_nonces (nonce, user_id, created_ms) VALUES ($1, $2, $3)")
            .bind(nonce).bind(user_id).bind(now_ms).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Uses a nonce: `true` exactly once, for the user it was issued to, while younger than
    /// `max_age_ms`. Empty, unknown, foreign, old or used nonces are refused.
    pub async fn nonce_use(
        &self,
        nonce: &str,
        user_id: i64,
        max_age_ms: i64,
        now_ms: i64,
    ) -> Result<bool> {
        if nonce.is_empty() {
            return Ok(false);
        }
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE form_nonces SET used_ms = $3 WHERE nonce = $1 AND user_id = $2 \
             AND used_ms IS NULL AND created_ms >= $4")
            .bind(nonce).bind(user_id).bind(now_ms).bind(now_ms - max_age_ms)
            .execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Deletes nonces older than `before_ms`.
    pub async fn nonce_purge(&self, before_ms: i64) -> Result<u64> {
        Ok(
            on_pool!(self, p => sqlx::query("DELETE FROM form_nonces WHERE created_ms < $1")
            .bind(before_ms).execute(p).await?.rows_affected()),
        )
    }

    /// Counts one hit on `key` if it is allowed: at most `limit` hits per `window_ms` window and
    /// at least `cooldown_ms` since the last counted hit. One atomic upsert, so concurrent
    /// callers (threads, instances) cannot all pass.
    pub async fn rate_hit(
        &self,
        key: &str,
        limit: i64,
        window_ms: i64,
        cooldown_ms: i64,
        now_ms: i64,
    ) -> Result<RateDecision> {
        // A new window starts when the old one is over; a hit counts only when allowed.
        let sql = "INSERT INTO rate_counters (key, window_start_ms, count, last_ms) VALUES ($1, $2, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               window_start_ms = CASE WHEN rate_counters.window_start_ms + $4 <= $2 THEN $2 ELSE rate_counters.window_start_ms END, \
               count = CASE WHEN rate_counters.window_start_ms + $4 <= $2 THEN 1 ELSE rate_counters.count + 1 END, \
               last_ms = $2 \
             WHERE rate_counters.last_ms + $5 <= $2 \
               AND (rate_counters.window_start_ms + $4 <= $2 OR rate_counters.count < $3) \
             RETURNING count";
        let counted: Option<i64> = on_pool!(self, p => sqlx::query_scalar(sql)
            .bind(key).bind(now_ms).bind(limit).bind(window_ms).bind(cooldown_ms)
            .fetch_optional(p).await?);
        if let Some(count) = counted {
            return Ok(RateDecision {
                allowed: true,
                count,
                retry_after_ms: 0,
            });
        }
        let (start, count, last): (i64, i64, i64) = on_pool!(self, p => sqlx::query_as(
            "SELECT window_start_ms, count, last_ms FROM rate_counters WHERE key = $1")
            .bind(key).fetch_one(p).await?);
        let cooldown_left = last + cooldown_ms - now_ms;
        let window_left = if count >= limit {
            start + window_ms - now_ms
        } else {
            0
        };
        Ok(RateDecision {
            allowed: false,
            count,
            retry_after_ms: cooldown_left.max(window_left).max(1),
        })
    }

    /// Forgets the last counted hit's cooldown and count (a send that was refused after all).
    pub async fn rate_undo(&self, key: &str) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "UPDATE rate_counters SET count = CASE WHEN count > 0 THEN count - 1 ELSE 0 END, last_ms = 0 WHERE key = $1")
            .bind(key).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Milliseconds left of `key`'s cooldown (0 when none).
    pub async fn rate_cooldown_left(
        &self,
        key: &str,
        cooldown_ms: i64,
        now_ms: i64,
    ) -> Result<i64> {
        let last: Option<i64> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT last_ms FROM rate_counters WHERE key = $1").bind(key).fetch_optional(p).await?);
        Ok(last.map(|l| (l + cooldown_ms - now_ms).max(0)).unwrap_or(0))
    }
}
