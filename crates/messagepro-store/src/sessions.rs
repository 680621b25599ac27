//! Web sessions (the console's `tower_sessions::SessionStore` implementation calls these): the
//! record is opaque JSON text here, with its expiry in milliseconds, and the [`SessionMeta`]
//! the console copies out of it (whose session, signed in / last seen, User-Agent) so a user
//! can list and end their own sessions.

use crate::{Result, SessionMeta, SessionRow, Store, UserSession, on_pool};

impl Store {
    /// Inserts a new session; `false` if the id already exists (the caller draws another).
    pub async fn session_create(&self, id: &str, data: &str, expiry_ms: i64) -> Result<bool> {
        self.session_create_with(id, data, expiry_ms, &SessionMeta::default())
            .await
    }

    /// [`Store::session_create`] with the session's owner, times and User-Agent.
    pub async fn session_create_with(
        &self,
        id: &str,
        data: &str,
        expiry_ms: i64,
        meta: &SessionMeta,
    ) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "INSERT INTO sessions (id, data, expiry_ms, user_id, created_ms, seen_ms, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING")
            .bind(id).bind(data).bind(expiry_ms)
            .bind(meta.user_id).bind(meta.created_ms).bind(meta.seen_ms).bind(&meta.user_agent)
            .execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Inserts or replaces a session.
    pub async fn session_save(&self, id: &str, data: &str, expiry_ms: i64) -> Result<()> {
        self.session_save_with(id, data, expiry_ms, &SessionMeta::default())
            .await
    }

    /// [`Store::session_save`] with the session's owner, times and User-Agent.
    pub async fn session_save_with(
        &self,
        id: &str,
        data: &str,
        expiry_ms: i64,
        meta: &SessionMeta,
    ) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sessions (id, data, expiry_ms, user_id, created_ms, seen_ms, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_ms = excluded.expiry_ms, \
             user_id = excluded.user_id, created_ms = excluded.created_ms, \
             seen_ms = excluded.seen_ms, user_agent = excluded.user_agent")
            .bind(id).bind(data).bind(expiry_ms)
            .bind(meta.user_id).bind(meta.created_ms).bind(meta.seen_ms).bind(&meta.user_agent)
            .execute(p).await?.rows_affected());
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

    /// The sessions of `user_id` not expired at `now_ms`, most recently signed in first.
    pub async fn sessions_of_user(&self, user_id: i64, now_ms: i64) -> Result<Vec<UserSession>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, UserSession>(
            "SELECT id, created_ms, seen_ms, user_agent, expiry_ms FROM sessions \
             WHERE user_id = $1 AND expiry_ms > $2 ORDER BY created_ms DESC, id")
            .bind(user_id).bind(now_ms).fetch_all(p).await?))
    }

    /// Deletes session `id` only if it belongs to `user_id`; `true` if one was deleted.
    pub async fn session_delete_of_user(&self, user_id: i64, id: &str) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id).bind(user_id).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Deletes every session of `user_id` but `keep` (the one making the request); returns how
    /// many.
    pub async fn session_delete_user_except(&self, user_id: i64, keep: &str) -> Result<u64> {
        Ok(on_pool!(self, p => sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id).bind(keep).execute(p).await?.rows_affected()))
    }
}
