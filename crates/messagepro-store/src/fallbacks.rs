//! Fallback routes (`message_fallbacks`, migration 0009): the second way to reach a message's
//! recipient, recorded with the message ([`crate::GuardedMessage::fallback`]) and used once if
//! the message ends `failed`. A database trigger marks the row `due` in the transaction that
//! makes the message fail, whatever code path did it; [`Store::fallback_record`] turns a due
//! row into its message and outbox job in one transaction, guarded by a conditional update so
//! two workers (or a crash and a retry) never record it twice.

use crate::outbox::{INSERT_AUDIT, INSERT_JOB, INSERT_MESSAGE};
use crate::{BeginWrite, Channel, NewAudit, NewJob, NewMessage, Result, Store, on_pool};

pub(crate) const INSERT_FALLBACK: &str = "INSERT INTO message_fallbacks \
     (message_id, channel, route, payload, text, segments, state, updated_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, 'waiting', $7)";

/// The fallback of a message being recorded.
#[derive(Debug, Clone)]
pub struct NewFallback {
    pub channel: Channel,
    /// Route JSON, as `messages.route`.
    pub route: serde_json::Value,
    /// The fallback's outbox payload (recipient, text, route).
    pub payload: serde_json::Value,
    pub text: String,
    pub segments: i64,
}

/// A fallback whose message failed: to be recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueFallback {
    pub message_id: i64,
    pub channel: String,
    pub route: String,
    pub payload: String,
    pub text: String,
    pub segments: i64,
    pub recipient: String,
    pub created_by: Option<i64>,
    pub campaign_id: Option<i64>,
    /// Why the first message failed.
    pub failure: Option<String>,
}

/// How a message relates to fallbacks (the API's message view).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FallbackLinks {
    /// This message was sent instead of that one.
    pub fallback_of: Option<i64>,
    /// This message has a fallback: its state (`waiting`, `due`, `done`, `unneeded`)…
    pub state: Option<String>,
    /// …and, once recorded, the message sent instead.
    pub fallback_id: Option<i64>,
}

/// What [`Store::fallback_record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackRecorded {
    /// The fallback message (with its job, unless skipped).
    Recorded(i64),
    /// Not due any more (another worker recorded it).
    NotDue,
}

impl Store {
    /// Up to `limit` fallbacks whose message failed, oldest first.
    pub async fn fallbacks_due(&self, limit: i64) -> Result<Vec<DueFallback>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, DueFallback>(
            "SELECT f.message_id, f.channel, f.route, f.payload, f.text, f.segments, m.recipient, \
             m.created_by, m.campaign_id, m.platform_message AS failure \
             FROM message_fallbacks f JOIN messages m ON m.id = f.message_id \
             WHERE f.state = 'due' ORDER BY f.message_id LIMIT $1")
            .bind(limit).fetch_all(p).await?))
    }

    /// Records the fallback of `message_id` — `message` with `job`, or skipped for
    /// `skip_reason` — and its audit entry, in one transaction, if it is still due.
    pub async fn fallback_record(
        &self,
        message_id: i64,
        message: &NewMessage,
        job: Option<&NewJob>,
        skip_reason: Option<&str>,
        audit: &NewAudit,
        now_ms: i64,
    ) -> Result<FallbackRecorded> {
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let claimed = sqlx::query(
                "UPDATE message_fallbacks SET state = 'done', updated_ms = $2 \
                 WHERE message_id = $1 AND state = 'due'")
                .bind(message_id).bind(now_ms).execute(&mut *tx).await?.rows_affected();
            if claimed == 0 {
                tx.rollback().await?;
                return Ok(FallbackRecorded::NotDue);
            }
            let m = message;
            let mid: i64 = sqlx::query_scalar(INSERT_MESSAGE)
                .bind(m.channel.as_str()).bind(&m.recipient).bind(&m.text).bind(m.route.to_string())
                .bind(m.status.as_str()).bind(m.segments).bind(m.created_by).bind(m.campaign_id).bind(now_ms)
                .fetch_one(&mut *tx).await?;
            match (job, skip_reason) {
                (_, Some(reason)) => {
                    sqlx::query("UPDATE messages SET status = 'skipped', platform_message = $2 WHERE id = $1")
                        .bind(mid).bind(reason).execute(&mut *tx).await?;
                }
                (Some(job), None) => {
                    sqlx::query_scalar::<_, i64>(INSERT_JOB)
                        .bind(mid).bind(job.payload.to_string()).bind(job.max_attempts).bind(job.run_at_ms).bind(now_ms)
                        .fetch_one(&mut *tx).await?;
                }
                (None, None) => {}
            }
            sqlx::query("UPDATE message_fallbacks SET fallback_id = $2 WHERE message_id = $1")
                .bind(message_id).bind(mid).execute(&mut *tx).await?;
            sqlx::query(INSERT_AUDIT)
                .bind(audit.at_ms).bind(audit.user_id).bind(&audit.username).bind(&audit.action)
                .bind(&audit.target).bind(&audit.ip).bind(audit.outcome.as_str()).bind(&audit.detail)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            FallbackRecorded::Recorded(mid)
        }))
    }

    /// The fallback links of message `id`.
    pub async fn fallback_links(&self, id: i64) -> Result<FallbackLinks> {
        let own: Option<(String, Option<i64>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT state, fallback_id FROM message_fallbacks WHERE message_id = $1")
            .bind(id).fetch_optional(p).await?);
        let of: Option<i64> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT message_id FROM message_fallbacks WHERE fallback_id = $1")
            .bind(id).fetch_optional(p).await?);
        Ok(FallbackLinks {
            fallback_of: of,
            state: own.as_ref().map(|o| o.0.clone()),
            fallback_id: own.and_then(|o| o.1),
        })
    }
}
