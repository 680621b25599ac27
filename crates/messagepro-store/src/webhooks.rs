//! Webhooks out as stored: the endpoints, the deliveries (the webhook outbox) and the log of
//! attempts. Deliveries are queued by the database's own triggers (migration `0008`), in the
//! transaction of the event; this file claims due deliveries with a lease, records each
//! attempt and its outcome, and reads what the console shows. Signing, sending and the retry
//! schedule are `messagepro-core`'s (`webhooks.rs`).

use crate::{BeginWrite, Result, Store, on_pool};

const ENDPOINT_COLUMNS: &str = "id, url, description, secret, events, enabled, disabled_reason, created_by, created_ms, updated_ms";
const DELIVERY_COLUMNS: &str = "id, endpoint_id, webhook_id, type, data, created_ms, state, attempts, \
     next_ms, lease_until_ms, last_status, last_error, replay, updated_ms";

/// A registered endpoint. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub url: String,
    pub description: String,
    /// `whsec_…`: the signing secret.
    pub secret: String,
    /// Space-separated event types.
    pub events: String,
    pub enabled: bool,
    /// Why it is disabled: `manual`, `gone` (answered 410), `failing` (a delivery failed its
    /// whole retry schedule).
    pub disabled_reason: Option<String>,
    pub created_by: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookDelivery {
    pub id: i64,
    pub endpoint_id: i64,
    /// The `webhook-id` header: the same on every attempt and replay.
    pub webhook_id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    /// The event's data, JSON.
    pub data: String,
    pub created_ms: i64,
    /// `pending`, `delivering`, `succeeded`, `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_ms: i64,
    pub lease_until_ms: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// The current attempt is an admin's replay (one try, no schedule).
    pub replay: bool,
    pub updated_ms: i64,
}

/// One attempt, as logged.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookAttempt {
    pub id: i64,
    pub delivery_id: i64,
    pub attempt: i64,
    pub at_ms: i64,
    /// The answer's status; `None` when there was no answer.
    pub status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// The start of the answer's body.
    pub response: Option<String>,
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNext {
    Succeeded,
    /// Try again at this time.
    RetryAt(i64),
    Failed,
}

impl DeliveryNext {
    fn parts(self) -> (&'static str, Option<i64>) {
        match self {
            DeliveryNext::Succeeded => ("succeeded", None),
            DeliveryNext::RetryAt(t) => ("pending", Some(t)),
            DeliveryNext::Failed => ("failed", None),
        }
    }
}

/// An endpoint to record.
#[derive(Debug, Clone)]
pub struct NewWebhookEndpoint<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub secret: &'a str,
    pub events: &'a str,
    pub created_by: Option<&'a str>,
}

/// Deliveries an attempt may be made of: due and pending, or leased by a process that died.
/// Only for enabled endpoints: a disabled endpoint's deliveries wait for it.
const DUE: &str = "((state = 'pending' AND next_ms <= $1) OR (state = 'delivering' AND lease_until_ms < $1)) \
     AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled)";

impl Store {
    pub async fn webhook_endpoint_insert(
        &self,
        e: &NewWebhookEndpoint<'_>,
        now_ms: i64,
    ) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, i64>(
            "INSERT INTO webhook_endpoints (url, description, secret, events, enabled, created_by, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, TRUE, $5, $6, $6) RETURNING id")
            .bind(e.url).bind(e.description).bind(e.secret).bind(e.events).bind(e.created_by).bind(now_ms)
            .fetch_one(p).await?))
    }

    /// Every endpoint, newest first.
    pub async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id DESC");
        Ok(on_pool!(self, p => sqlx::query_as::<_, WebhookEndpoint>(&sql).fetch_all(p).await?))
    }

    pub async fn webhook_endpoint(&self, id: i64) -> Result<Option<WebhookEndpoint>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, WebhookEndpoint>(&sql).bind(id).fetch_optional(p).await?),
        )
    }

    /// Enables (`reason` None) or disables an endpoint; `false` when it does not exist or is
    /// already in that state.
    pub async fn webhook_endpoint_set_enabled(
        &self,
        id: i64,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        let enabled = reason.is_none();
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE webhook_endpoints SET enabled = $2, disabled_reason = $3, updated_ms = $4 \
             WHERE id = $1 AND enabled <> $2")
            .bind(id).bind(enabled).bind(reason).bind(now_ms).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Deletes an endpoint with its deliveries and their log.
    pub async fn webhook_endpoint_delete(&self, id: i64) -> Result<bool> {
        let n = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM webhook_attempts WHERE delivery_id IN \
                 (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)")
                .bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
                .bind(id).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
                .bind(id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n == 1)
    }

    /// Leases up to `limit` due deliveries until `lease_until_ms`, counting the attempt.
    pub async fn webhook_claim(
        &self,
        limit: i64,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Vec<WebhookDelivery>> {
        let lock = match self.backend_name() {
            "postgres" => " FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        let sql = format!(
            "UPDATE webhook_deliveries SET state = 'delivering', lease_until_ms = $2, \
             attempts = attempts + 1, updated_ms = $1 WHERE id IN \
             (SELECT id FROM webhook_deliveries WHERE {DUE} ORDER BY next_ms, id LIMIT $3{lock}) \
             RETURNING {DELIVERY_COLUMNS}"
        );
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let rows = sqlx::query_as::<_, WebhookDelivery>(&sql)
                .bind(now_ms).bind(lease_until_ms).bind(limit)
                .fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        }))
    }

    /// Logs attempt `d.attempts` of a claimed delivery and moves it to `next` — only if its
    /// lease still holds (the same attempt count, still `delivering`); `false` otherwise.
    pub async fn webhook_record(
        &self,
        d: &WebhookDelivery,
        attempt: &WebhookAttempt,
        next: DeliveryNext,
        now_ms: i64,
    ) -> Result<bool> {
        let (state, next_ms) = next.parts();
        let n = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query(
                "UPDATE webhook_deliveries SET state = $3, next_ms = COALESCE($4, next_ms), \
                 lease_until_ms = NULL, last_status = $5, last_error = $6, replay = FALSE, updated_ms = $7 \
                 WHERE id = $1 AND attempts = $2 AND state = 'delivering'")
                .bind(d.id).bind(d.attempts).bind(state).bind(next_ms)
                .bind(attempt.status).bind(&attempt.error).bind(now_ms)
                .execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query(
                    "INSERT INTO webhook_attempts (delivery_id, attempt, at_ms, status, error, duration_ms, response) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(d.id).bind(d.attempts).bind(attempt.at_ms).bind(attempt.status)
                    .bind(&attempt.error).bind(attempt.duration_ms).bind(&attempt.response)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            n
        });
        Ok(n == 1)
    }

    /// Queues one more attempt of a finished delivery, now (an admin's replay: the same
    /// `webhook-id` and body). `false` when it is not finished (or does not exist).
    pub async fn webhook_replay(&self, id: i64, now_ms: i64) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', next_ms = $2, replay = TRUE, updated_ms = $2 \
             WHERE id = $1 AND state IN ('succeeded', 'failed')")
            .bind(id).bind(now_ms).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    pub async fn webhook_delivery(&self, id: i64) -> Result<Option<WebhookDelivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, WebhookDelivery>(&sql).bind(id).fetch_optional(p).await?),
        )
    }

    /// An endpoint's newest deliveries.
    pub async fn webhook_deliveries(
        &self,
        endpoint_id: i64,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 \
             ORDER BY id DESC LIMIT $2"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, WebhookDelivery>(&sql).bind(endpoint_id).bind(limit).fetch_all(p).await?),
        )
    }

    /// How many deliveries each endpoint has per state: `(endpoint id, state, count)`.
    pub async fn webhook_delivery_counts(&self) -> Result<Vec<(i64, String, i64)>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, (i64, String, i64)>(
            "SELECT endpoint_id, state, COUNT(*) FROM webhook_deliveries GROUP BY endpoint_id, state")
            .fetch_all(p).await?))
    }

    /// The attempts of an endpoint's deliveries with an id ≥ `from_delivery`, in order.
    pub async fn webhook_attempts(
        &self,
        endpoint_id: i64,
        from_delivery: i64,
    ) -> Result<Vec<WebhookAttempt>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, WebhookAttempt>(
            "SELECT a.id, a.delivery_id, a.attempt, a.at_ms, a.status, a.error, a.duration_ms, a.response \
             FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
             WHERE d.endpoint_id = $1 AND d.id >= $2 ORDER BY a.delivery_id, a.id")
            .bind(endpoint_id).bind(from_delivery).fetch_all(p).await?))
    }

    /// Deletes finished deliveries (and their log) last changed before `before_ms`; returns
    /// how many deliveries went.
    pub async fn webhook_purge(&self, before_ms: i64) -> Result<u64> {
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries \
                 WHERE state IN ('succeeded', 'failed') AND updated_ms < $1)")
                .bind(before_ms).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM webhook_deliveries WHERE state IN ('succeeded', 'failed') AND updated_ms < $1")
                .bind(before_ms).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        }))
    }
}
