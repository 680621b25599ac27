//! Business events of the integration API (`order.validated`, `stock.low`…), the rules that map
//! an event type to a message, and the **guarded enqueue**: messages and their outbox jobs
//! recorded in one transaction together with what must never be applied twice — the event row
//! (unique per type + caller's id) and the request's idempotency key marked done.
//!
//! Two identical events at once: on PostgreSQL the second `INSERT … ON CONFLICT DO NOTHING`
//! waits for the first transaction and then inserts nothing; on SQLite writers are serialised by
//! `BEGIN IMMEDIATE`. Either way the loser records no message and reads the winner's row.

use crate::fallbacks::INSERT_FALLBACK;
use crate::idempotency::FINISH;
use crate::outbox::{INSERT_AUDIT, INSERT_JOB, INSERT_MESSAGE};
use crate::{BeginWrite, NewAudit, NewFallback, NewJob, NewMessage, Result, Store, on_pool};

/// What an event type causes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRule {
    /// The event type (`order.validated`).
    pub kind: String,
    /// `sms` or `whatsapp`.
    pub channel: String,
    /// The message template (`{{order.reference}}`: a path in the event's data).
    pub template: String,
    /// Where the recipient's phone is in the data (`client.phone`).
    pub recipient_path: Option<String>,
    /// Or a platform group, by name, whose members all receive it.
    pub recipient_group: Option<String>,
    /// Route JSON; `None`: the configured default route of the channel.
    pub route: Option<String>,
    /// The channel tried when the first one fails (`sms` / `whatsapp`); `None`: no fallback.
    pub fallback_channel: Option<String>,
    /// The fallback's route JSON; `None`: the configured default route of that channel.
    pub fallback_route: Option<String>,
    pub enabled: bool,
    pub updated_ms: i64,
}

/// An event as recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: i64,
    pub kind: String,
    pub event_id: String,
    /// JSON array of the local message ids it caused.
    pub messages: String,
    pub received_ms: i64,
}

/// An event to record with its messages.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub kind: &'a str,
    pub event_id: &'a str,
    pub token_id: Option<i64>,
    /// The event's data, JSON.
    pub data: &'a str,
}

/// The idempotency key a guarded enqueue marks done, with its response built from the ids of
/// the messages recorded.
pub struct IdemDone<'a> {
    pub token_id: i64,
    pub key: &'a str,
    #[allow(clippy::type_complexity)]
    pub respond: &'a (dyn Fn(&[i64]) -> (u16, String) + Send + Sync),
}

impl std::fmt::Debug for IdemDone<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdemDone")
            .field("token_id", &self.token_id)
            .finish_non_exhaustive()
    }
}

/// What else a guarded enqueue records, in its transaction.
#[derive(Debug, Default)]
pub struct Guard<'a> {
    pub idempotency: Option<IdemDone<'a>>,
    pub event: Option<NewEvent<'a>>,
}

/// One message of a guarded enqueue: with its job, or recorded `skipped` for `skip_reason`
/// (an opted-out recipient) and no job.
#[derive(Debug, Clone)]
pub struct GuardedMessage {
    pub message: NewMessage,
    pub job: Option<NewJob>,
    pub skip_reason: Option<&'static str>,
    /// The way to try if this message fails (recorded with it; not for skipped ones).
    pub fallback: Option<NewFallback>,
}

/// What a guarded enqueue did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded {
    /// Recorded: the message ids, in order, and each one's job (none when skipped).
    Recorded {
        messages: Vec<i64>,
        jobs: Vec<Option<i64>>,
    },
    /// The event was already recorded (nothing new was written).
    DuplicateEvent(StoredEvent),
}

const EVENT_COLUMNS: &str = "id, type AS kind, event_id, messages, received_ms";
const RULE_COLUMNS: &str = "type AS kind, channel, template, recipient_path, recipient_group, route, fallback_channel, \
     fallback_route, enabled, updated_ms";

impl Store {
    /// Records `items` (each message with its outbox job, or skipped), one audit entry and the
    /// `guard`, in **one transaction**.
    pub async fn enqueue_guarded(
        &self,
        items: &[GuardedMessage],
        audit: &NewAudit,
        guard: &Guard<'_>,
        now_ms: i64,
    ) -> Result<Guarded> {
        let event_sql =
            format!("SELECT {EVENT_COLUMNS} FROM api_events WHERE type = $1 AND event_id = $2");
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut event_row = None;
            if let Some(e) = &guard.event {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO api_events (type, event_id, token_id, data, messages, received_ms) \
                     VALUES ($1, $2, $3, $4, '[]', $5) ON CONFLICT (type, event_id) DO NOTHING RETURNING id")
                    .bind(e.kind).bind(e.event_id).bind(e.token_id).bind(e.data).bind(now_ms)
                    .fetch_optional(&mut *tx).await?;
                match id {
                    Some(id) => event_row = Some(id),
                    None => {
                        tx.rollback().await?;
                        let existing = sqlx::query_as::<_, StoredEvent>(&event_sql)
                            .bind(e.kind).bind(e.event_id).fetch_one(p).await?;
                        return Ok(Guarded::DuplicateEvent(existing));
                    }
                }
            }
            let mut ids = Vec::with_capacity(items.len());
            let mut jobs = Vec::with_capacity(items.len());
            for item in items {
                let m = &item.message;
                let mid: i64 = sqlx::query_scalar(INSERT_MESSAGE)
                    .bind(m.channel.as_str()).bind(&m.recipient).bind(&m.text).bind(m.route.to_string())
                    .bind(m.status.as_str()).bind(m.segments).bind(m.created_by).bind(m.campaign_id).bind(now_ms)
                    .fetch_one(&mut *tx).await?;
                let jid = match &item.job {
                    Some(job) => Some(sqlx::query_scalar::<_, i64>(INSERT_JOB)
                        .bind(mid).bind(job.payload.to_string()).bind(job.max_attempts).bind(job.run_at_ms).bind(now_ms)
                        .fetch_one(&mut *tx).await?),
                    None => None,
                };
                jobs.push(jid);
                if let (Some(f), None) = (&item.fallback, item.skip_reason) {
                    sqlx::query(INSERT_FALLBACK)
                        .bind(mid).bind(f.channel.as_str()).bind(f.route.to_string()).bind(f.payload.to_string())
                        .bind(&f.text).bind(f.segments).bind(now_ms)
                        .execute(&mut *tx).await?;
                }
                if let Some(reason) = item.skip_reason {
                    sqlx::query("UPDATE messages SET status = 'skipped', platform_message = $2 WHERE id = $1")
                        .bind(mid).bind(reason).execute(&mut *tx).await?;
                }
                ids.push(mid);
            }
            let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
            if let Some(id) = event_row {
                sqlx::query("UPDATE api_events SET messages = $2 WHERE id = $1")
                    .bind(id).bind(&ids_json).execute(&mut *tx).await?;
            }
            let detail = audit.detail.clone().unwrap_or_else(|| match ids.as_slice() {
                [one] => format!("message {one}"),
                many => format!("messages {ids_json} ({})", many.len()),
            });
            sqlx::query(INSERT_AUDIT)
                .bind(audit.at_ms).bind(audit.user_id).bind(&audit.username).bind(&audit.action)
                .bind(&audit.target).bind(&audit.ip).bind(audit.outcome.as_str()).bind(detail)
                .execute(&mut *tx).await?;
            if let Some(idem) = &guard.idempotency {
                let (status, body) = (idem.respond)(&ids);
                sqlx::query(FINISH)
                    .bind(idem.token_id).bind(idem.key).bind(i64::from(status)).bind(body)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Guarded::Recorded { messages: ids, jobs }
        }))
    }

    /// The event `event_id` of type `kind`, if recorded.
    pub async fn event_by_id(&self, kind: &str, event_id: &str) -> Result<Option<StoredEvent>> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM api_events WHERE type = $1 AND event_id = $2");
        Ok(on_pool!(self, p => sqlx::query_as::<_, StoredEvent>(&sql)
            .bind(kind).bind(event_id).fetch_optional(p).await?))
    }

    /// The rule of event type `kind`.
    pub async fn event_rule(&self, kind: &str) -> Result<Option<EventRule>> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM event_rules WHERE type = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, EventRule>(&sql).bind(kind).fetch_optional(p).await?),
        )
    }

    /// Every rule, by type.
    pub async fn event_rules(&self) -> Result<Vec<EventRule>> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM event_rules ORDER BY type");
        Ok(on_pool!(self, p => sqlx::query_as::<_, EventRule>(&sql).fetch_all(p).await?))
    }

    /// Creates or replaces the rule of `rule.kind` (its `updated_ms` is set to `now_ms`).
    pub async fn event_rule_upsert(&self, rule: &EventRule, now_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO event_rules (type, channel, template, recipient_path, recipient_group, route, \
             fallback_channel, fallback_route, enabled, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (type) DO UPDATE SET channel = excluded.channel, \
             template = excluded.template, recipient_path = excluded.recipient_path, \
             recipient_group = excluded.recipient_group, route = excluded.route, \
             fallback_channel = excluded.fallback_channel, fallback_route = excluded.fallback_route, \
             enabled = excluded.enabled, updated_ms = excluded.updated_ms")
            .bind(&rule.kind).bind(&rule.channel).bind(&rule.template).bind(&rule.recipient_path)
            .bind(&rule.recipient_group).bind(&rule.route).bind(&rule.fallback_channel)
            .bind(&rule.fallback_route).bind(rule.enabled).bind(now_ms)
            .execute(p).await?.rows_affected());
        Ok(())
    }

    /// Deletes the rule of `kind`; `false` when there was none.
    pub async fn event_rule_delete(&self, kind: &str) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM event_rules WHERE type = $1")
            .bind(kind).execute(p).await?.rows_affected());
        Ok(n == 1)
    }
}
