//! What the send policy of `messagepro-core` keeps in the database, so every worker process and
//! every entry point sees the same: the suppression list (numbers that opted out), the small
//! state of the periodic syncs, and the pacing slots (one conditional `UPDATE` takes a slot, so
//! several processes never exceed a rate). The rules themselves are in core.

use crate::{Result, Store, on_pool};

/// A number on the suppression list.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Suppression {
    /// E.164.
    pub phone: String,
    /// `local` (marked by someone), `platform` (the platform's unsubscribed list), `inbound`
    /// (the recipient texted a stop keyword).
    pub source: String,
    /// The keyword received, or a note.
    pub reason: Option<String>,
    /// Who marked it (user name, token name, `system`).
    pub actor: Option<String>,
    pub created_ms: i64,
}

/// What [`Store::pace_take`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaceDecision {
    /// The slot is taken: send now.
    Go,
    /// Not before `next_ms` (the rate) — `horizon_ms` is where a deferred campaign job goes.
    Wait { next_ms: i64, horizon_ms: i64 },
    /// The daily cap is reached: not before the next day (`day` + 1, in days since the epoch).
    CapReached { day: i64 },
}

impl Store {
    // ----- suppression list ---------------------------------------------------------------

    /// Adds `phone` to the suppression list; `false` if it was already there (the first
    /// source and reason are kept).
    pub async fn suppress(
        &self,
        phone: &str,
        source: &str,
        reason: Option<&str>,
        actor: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        Ok(on_pool!(self, p => sqlx::query(
            "INSERT INTO suppressions (phone, source, reason, actor, created_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (phone) DO NOTHING")
            .bind(phone).bind(source).bind(reason).bind(actor).bind(now_ms)
            .execute(p).await?.rows_affected() == 1))
    }

    /// Removes `phone` from the suppression list; `false` if it was not there.
    pub async fn unsuppress(&self, phone: &str) -> Result<bool> {
        Ok(
            on_pool!(self, p => sqlx::query("DELETE FROM suppressions WHERE phone = $1")
            .bind(phone).execute(p).await?.rows_affected() == 1),
        )
    }

    /// The suppression entry of `phone`, if any.
    pub async fn suppression(&self, phone: &str) -> Result<Option<Suppression>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, Suppression>(
            "SELECT phone, source, reason, actor, created_ms FROM suppressions WHERE phone = $1")
            .bind(phone).fetch_optional(p).await?))
    }

    /// Which of `phones` are suppressed (one query per 500 numbers).
    pub async fn suppressed_among(
        &self,
        phones: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        for chunk in phones.chunks(500) {
            let json = serde_json::to_string(chunk).unwrap_or_else(|_| "[]".into());
            let rows: Vec<String> = on_pool!(self, p => match self.backend_name() {
                "postgres" => sqlx::query_scalar(
                    "SELECT phone FROM suppressions WHERE phone IN (SELECT jsonb_array_elements_text($1::jsonb))")
                    .bind(json).fetch_all(p).await?,
                _ => sqlx::query_scalar(
                    "SELECT phone FROM suppressions WHERE phone IN (SELECT value FROM json_each($1))")
                    .bind(json).fetch_all(p).await?,
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// The suppression list, newest first, `limit` rows from `offset`, optionally only numbers
    /// containing `search`.
    pub async fn list_suppressions(
        &self,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Suppression>> {
        let like = format!("%{}%", search.unwrap_or("").trim());
        Ok(on_pool!(self, p => sqlx::query_as::<_, Suppression>(
            "SELECT phone, source, reason, actor, created_ms FROM suppressions WHERE phone LIKE $1 \
             ORDER BY created_ms DESC, phone LIMIT $2 OFFSET $3")
            .bind(like).bind(limit).bind(offset).fetch_all(p).await?))
    }

    /// How many numbers are on the suppression list (optionally containing `search`).
    pub async fn count_suppressions(&self, search: Option<&str>) -> Result<i64> {
        let like = format!("%{}%", search.unwrap_or("").trim());
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM suppressions WHERE phone LIKE $1").bind(like).fetch_one(p).await?))
    }

    /// The numbers suppressed from `source` (the platform sync compares them with its list).
    pub async fn suppressions_from(&self, source: &str) -> Result<Vec<String>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT phone FROM suppressions WHERE source = $1").bind(source).fetch_all(p).await?))
    }

    // ----- sync state ---------------------------------------------------------------------

    pub async fn sync_state(&self, key: &str) -> Result<Option<String>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT value FROM sync_state WHERE key = $1").bind(key).fetch_optional(p).await?))
    }

    pub async fn set_sync_state(&self, key: &str, value: &str, now_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sync_state (key, value, updated_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms")
            .bind(key).bind(value).bind(now_ms).execute(p).await?.rows_affected());
        Ok(())
    }

    // ----- pacing -------------------------------------------------------------------------

    /// Takes the send slot of `key` if it is free at `now_ms`: the next slot is then
    /// `now_ms + interval_ms`, and the day's count grows by one. `daily_cap`: at most this many
    /// takes per UTC day (`None`: no cap). Atomic (one conditional `UPDATE`): of several
    /// processes asking at once, one gets the slot.
    pub async fn pace_take(
        &self,
        key: &str,
        interval_ms: i64,
        daily_cap: Option<i64>,
        now_ms: i64,
    ) -> Result<PaceDecision> {
        let day = now_ms.div_euclid(86_400_000);
        let cap = daily_cap.unwrap_or(-1);
        let taken = on_pool!(self, p => {
            sqlx::query("INSERT INTO pacing (key, next_ms, horizon_ms, day, day_count) VALUES ($1, 0, 0, $2, 0) \
                 ON CONFLICT (key) DO NOTHING")
                .bind(key).bind(day).execute(p).await?.rows_affected();
            sqlx::query(
                "UPDATE pacing SET next_ms = $2 + $3, \
                   day_count = CASE WHEN day = $4 THEN day_count + 1 ELSE 1 END, day = $4 \
                 WHERE key = $1 AND next_ms <= $2 AND ($5 < 0 OR day <> $4 OR day_count < $5)")
                .bind(key).bind(now_ms).bind(interval_ms).bind(day).bind(cap)
                .execute(p).await?.rows_affected() == 1
        });
        if taken {
            return Ok(PaceDecision::Go);
        }
        let (next_ms, horizon_ms, row_day, count): (i64, i64, i64, i64) = on_pool!(self, p => sqlx::query_as(
            "SELECT next_ms, horizon_ms, day, day_count FROM pacing WHERE key = $1")
            .bind(key).fetch_one(p).await?);
        if cap >= 0 && row_day == day && count >= cap {
            return Ok(PaceDecision::CapReached { day });
        }
        Ok(PaceDecision::Wait {
            next_ms,
            horizon_ms,
        })
    }

    /// Moves the horizon of `key` (where the next deferred campaign job is placed) to
    /// `horizon_ms` if that is later.
    pub async fn pace_push_horizon(&self, key: &str, horizon_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "UPDATE pacing SET horizon_ms = $2 WHERE key = $1 AND horizon_ms < $2")
            .bind(key).bind(horizon_ms).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Forgets every horizon (a campaign paused or cancelled no longer holds places in line).
    pub async fn pace_reset_horizons(&self) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE pacing SET horizon_ms = 0").execute(p).await?.rows_affected());
        Ok(())
    }
}
