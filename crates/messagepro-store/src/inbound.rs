//! The platform's webhook posts (`/webhooks/messagepro`) as stored: each is written once, keyed
//! by its kind and platform id, before anything acts on it, then marked processed. The console
//! answers the platform as soon as the row is committed; applying it (stop keywords, the inbox)
//! is `messagepro-core`'s (`intake.rs`), and a sweep finishes rows a crash left unprocessed.

use crate::{Result, Store, on_pool};

/// A received post.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InboundEvent {
    pub id: i64,
    /// `sms`, `whatsapp`, `ussd`, `notifications`.
    pub kind: String,
    pub dedupe: String,
    /// The sender's number as the platform reported it (SMS, WhatsApp).
    pub sender: Option<String>,
    pub text: Option<String>,
    /// The `data[…]` fields, JSON object.
    pub payload: String,
    pub received_ms: i64,
    pub processed_ms: Option<i64>,
    /// What processing did (`stop`, `start`, `stored`, an error code).
    pub outcome: Option<String>,
}

const COLUMNS: &str = "id, kind, dedupe, sender, text, payload, received_ms, processed_ms, outcome";

impl Store {
    /// Records a post; `None` when one with the same `dedupe` key is already recorded.
    pub async fn inbound_insert(
        &self,
        kind: &str,
        dedupe: &str,
        sender: Option<&str>,
        text: Option<&str>,
        payload: &str,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, i64>(
            "INSERT INTO inbound_events (kind, dedupe, sender, text, payload, received_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe) DO NOTHING RETURNING id")
            .bind(kind).bind(dedupe).bind(sender).bind(text).bind(payload).bind(now_ms)
            .fetch_optional(p).await?))
    }

    /// Marks a post processed with its outcome (only once).
    pub async fn inbound_done(&self, id: i64, outcome: &str, now_ms: i64) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE inbound_events SET processed_ms = $2, outcome = $3 WHERE id = $1 AND processed_ms IS NULL")
            .bind(id).bind(now_ms).bind(outcome).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Posts not processed yet, oldest first.
    pub async fn inbound_pending(&self, limit: i64) -> Result<Vec<InboundEvent>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM inbound_events WHERE processed_ms IS NULL ORDER BY id LIMIT $1"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, InboundEvent>(&sql).bind(limit).fetch_all(p).await?),
        )
    }

    /// The newest posts of the given kinds (the inbox), newest first.
    pub async fn inbound_recent(&self, kinds: &[&str], limit: i64) -> Result<Vec<InboundEvent>> {
        let list = serde_json::to_string(kinds).unwrap_or_else(|_| "[]".into());
        let sql = match self.backend_name() {
            "postgres" => format!(
                "SELECT {COLUMNS} FROM inbound_events WHERE kind IN \
                 (SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY id DESC LIMIT $2"
            ),
            _ => format!(
                "SELECT {COLUMNS} FROM inbound_events WHERE kind IN \
                 (SELECT value FROM json_each($1)) ORDER BY id DESC LIMIT $2"
            ),
        };
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, InboundEvent>(&sql).bind(&list).bind(limit).fetch_all(p).await?),
        )
    }

    /// One page of the inbox: posts of the given kinds older than `before` (a row id; `None`:
    /// the newest), newest first (keyset paging on the id).
    pub async fn inbound_page(
        &self,
        kinds: &[&str],
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<InboundEvent>> {
        let list = serde_json::to_string(kinds).unwrap_or_else(|_| "[]".into());
        let sql = match self.backend_name() {
            "postgres" => format!(
                "SELECT {COLUMNS} FROM inbound_events WHERE kind IN \
                 (SELECT jsonb_array_elements_text($1::jsonb)) AND id < $2 ORDER BY id DESC LIMIT $3"
            ),
            _ => format!(
                "SELECT {COLUMNS} FROM inbound_events WHERE kind IN \
                 (SELECT value FROM json_each($1)) AND id < $2 ORDER BY id DESC LIMIT $3"
            ),
        };
        let before = before.unwrap_or(i64::MAX);
        Ok(on_pool!(self, p => sqlx::query_as::<_, InboundEvent>(&sql)
            .bind(&list).bind(before).bind(limit).fetch_all(p).await?))
    }

    pub async fn inbound_by_id(&self, id: i64) -> Result<Option<InboundEvent>> {
        let sql = format!("SELECT {COLUMNS} FROM inbound_events WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, InboundEvent>(&sql).bind(id).fetch_optional(p).await?),
        )
    }
}
