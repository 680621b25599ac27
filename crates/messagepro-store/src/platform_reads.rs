//! The shared cache of platform reads (`platform_reads`, migration 0011): one row per list,
//! its JSON and when it was read — so every instance behind the proxy shares one read per TTL.
//! What is cached and for how long is the core's (`messagepro_core::reads`).

use crate::{Result, Store, on_pool};

impl Store {
    /// The cached `key`: (JSON, read at).
    pub async fn platform_read(&self, key: &str) -> Result<Option<(String, i64)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT value, fetched_ms FROM platform_reads WHERE key = $1")
            .bind(key).fetch_optional(p).await?))
    }

    /// Stores the answer of `key` read at `fetched_ms` (a later read never loses to an older).
    pub async fn platform_read_put(&self, key: &str, value: &str, fetched_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO platform_reads (key, value, fetched_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, fetched_ms = excluded.fetched_ms \
             WHERE platform_reads.fetched_ms <= excluded.fetched_ms")
            .bind(key).bind(value).bind(fetched_ms).execute(p).await?.rows_affected());
        Ok(())
    }
}
