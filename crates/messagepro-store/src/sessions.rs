//! Web sessions (the console's `tower_sessions::SessionStore` implementation calls these): the
//! record is opaque JSON text here, with its expiry in milliseconds.

use crate::{Result, SessionRow, Store, on_pool};

impl Store {
    /// Inserts a new session; `false` if the id already exists (the caller draws another).
    pub async fn session_create(&self, id: &str, data: &str, expiry_ms: i64) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "INSERT INTO sessions (id, data, expiry_ms) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(id).bind(data).bind(expiry_ms).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Inserts or replaces a session.
    pub async fn session_save(&self, id: &str, data: &str, expiry_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sessions (id, data, expiry_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_ms = excluded.expiry_ms")
            .bind(id).bind(data).bind(expiry_ms).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The session if it exists and has not expired at `now_ms`.
    pub async fn session_load(&self, id: &str, now_ms: i64) -> Result<Option<SessionRow>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, SessionRow>(
            "SELECT id, data, expiry_ms FROM sessions WHERE id = $1 AND expiry_ms > $2")
            .bind(id).bind(now_ms).fetch_optional(p).await?))
    }

    pub async fn session_delete(&self, id: &str) -> Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Deletes expired sessions; returns how many.
    pub async fn session_delete_expired(&self, now_ms: i64) -> Result<u64> {
        Ok(
            on_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE expiry_ms <= $1")
            .bind(now_ms).execute(p).await?.rows_affected()),
        )
    }
}
