//! Stripe-style idempotency keys of the integration API, per token.
//!
//! [`Store::idem_begin`] takes the key in one upsert: a new key (or one older than the keep
//! period, or an in-flight one whose lock ran out — its request crashed before anything was
//! committed) is locked `in_flight` for this request; otherwise the stored row decides: another
//! request body → [`IdemBegin::Mismatch`], still in flight → [`IdemBegin::InFlight`], done →
//! [`IdemBegin::Replay`] of the stored status and body.
//!
//! A request that records messages marks its key `done` **in the same transaction** as the
//! messages and their outbox jobs ([`crate::Guard`]), so a crash can never leave a message
//! without its key (which a retry would send again) nor a key without its message.

use crate::{Result, Store, on_pool};

/// What a request with an idempotency key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdemBegin {
    /// The key is locked for this request: run it, then [`Store::idem_finish`] (or the guarded
    /// enqueue does it) or [`Store::idem_release`] on a server error.
    Proceed,
    /// The key was used with this body: answer exactly this again.
    Replay { status: u16, body: String },
    /// The key was used with another body (`idempotency_key_reused`).
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

pub(crate) const FINISH: &str = "UPDATE idempotency_keys SET state = 'done', status = $3, body = $4 \
     WHERE token_id = $1 AND key = $2";

impl Store {
    /// Takes `key` of `token_id` for a request whose body hashes to `request_hash`. `lock_ms`:
    /// how long an in-flight request holds it; `keep_ms`: how long a key is remembered.
    pub async fn idem_begin(
        &self,
        token_id: i64,
        key: &str,
        request_hash: &str,
        now_ms: i64,
        lock_ms: i64,
        keep_ms: i64,
    ) -> Result<IdemBegin> {
        let take = "INSERT INTO idempotency_keys \
             (token_id, key, request_hash, state, status, body, locked_until_ms, created_ms) \
             VALUES ($1, $2, $3, 'in_flight', NULL, NULL, $4 + $5, $4) \
             ON CONFLICT (token_id, key) DO UPDATE SET request_hash = excluded.request_hash, \
               state = 'in_flight', status = NULL, body = NULL, \
               locked_until_ms = excluded.locked_until_ms, created_ms = excluded.created_ms \
             WHERE idempotency_keys.created_ms + $6 <= $4 \
                OR (idempotency_keys.state = 'in_flight' AND idempotency_keys.locked_until_ms <= $4 \
                    AND idempotency_keys.request_hash = excluded.request_hash) \
             RETURNING token_id";
        let taken: Option<i64> = on_pool!(self, p => sqlx::query_scalar(take)
            .bind(token_id).bind(key).bind(request_hash).bind(now_ms).bind(lock_ms).bind(keep_ms)
            .fetch_optional(p).await?);
        if taken.is_some() {
            return Ok(IdemBegin::Proceed);
        }
        let row: Option<(String, String, Option<i64>, Option<String>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT request_hash, state, status, body FROM idempotency_keys WHERE token_id = $1 AND key = $2")
            .bind(token_id).bind(key).fetch_optional(p).await?);
        Ok(match row {
            // deleted between the two statements (a release): the caller may retry
            None => IdemBegin::InFlight,
            Some((hash, _, _, _)) if hash != request_hash => IdemBegin::Mismatch,
            Some((_, state, Some(status), Some(body))) if state == "done" => IdemBegin::Replay {
                status: status as u16,
                body,
            },
            Some(_) => IdemBegin::InFlight,
        })
    }

    /// Stores the response of a request that recorded nothing (or whose records are already
    /// committed without a guard): later requests with the key replay it.
    pub async fn idem_finish(
        &self,
        token_id: i64,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<()> {
        on_pool!(self, p => sqlx::query(FINISH)
            .bind(token_id).bind(key).bind(i64::from(status)).bind(body)
            .execute(p).await?.rows_affected());
        Ok(())
    }

    /// Forgets an in-flight key (the request failed on our side: a retry may run it again).
    pub async fn idem_release(&self, token_id: i64, key: &str) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "DELETE FROM idempotency_keys WHERE token_id = $1 AND key = $2 AND state = 'in_flight'")
            .bind(token_id).bind(key).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Deletes keys created before `before_ms`.
    pub async fn idem_purge(&self, before_ms: i64) -> Result<u64> {
        Ok(
            on_pool!(self, p => sqlx::query("DELETE FROM idempotency_keys WHERE created_ms < $1")
            .bind(before_ms).execute(p).await?.rows_affected()),
        )
    }
}
