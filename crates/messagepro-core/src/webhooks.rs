//! Webhooks out: what business applications are told when something happens — `message.sent`,
//! `message.failed`, `message.received`, `contact.opted_out`, `campaign.completed`,
//! `otp.verified` — signed per the Standard Webhooks specification and delivered at least once.
//!
//! How it holds together:
//! - **Never lost.** The database queues a delivery per subscribed endpoint *in the transaction
//!   of the event* (triggers of migration `0008`), whatever code path made it happen.
//! - **Signed.** Each POST carries `webhook-id` (the same on every attempt and replay),
//!   `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`
//!   (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the endpoint's `whsec_` secret). The
//!   signature is made by the `standardwebhooks` crate, the specification's own library.
//! - **Retried.** A delivery is leased, posted, then recorded with its answer; anything but a
//!   2xx is tried again after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h ([`WebhookSettings`]).
//!   An answer of 410 Gone disables the endpoint at once; a delivery that fails its whole
//!   schedule disables it too (`failing`) — its other deliveries wait until an admin enables
//!   it again. A process that dies mid-post leaves a lease that expires: the attempt is made
//!   again, with the same `webhook-id` (receivers de-duplicate on it).
//! - **Visible.** Every attempt is logged with its status and the start of the answer; an admin
//!   can replay a finished delivery (one more attempt, same id and body). Finished deliveries
//!   are kept 30 days.
//!
//! The dispatch pass runs on the worker ([`crate::Worker`]) next to reconciliation.

use std::time::Duration;

use messagepro_store::{
    DeliveryNext, NewWebhookEndpoint, StoreError, WebhookAttempt, WebhookDelivery, WebhookEndpoint,
};
use secrecy::{ExposeSecret, SecretString};

use crate::{Actor, Core};

/// The event types an endpoint can subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "message.sent",
    "message.failed",
    "message.received",
    "contact.opted_out",
    "campaign.completed",
    "otp.verified",
];

/// How long a finished delivery stays in the log.
pub const LOG_KEEP_MS: i64 = 30 * 24 * 3_600_000;

/// Bytes of an answer's body kept in the log.
const RESPONSE_KEPT: usize = 500;

/// Delivery knobs.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Delays before the 2nd, 3rd… attempt; a delivery fails after `retry.len() + 1` attempts.
    pub retry: Vec<Duration>,
    /// How often the worker looks for due deliveries (`None`: never — tests call
    /// [`Core::webhooks_pass`]).
    pub poll: Option<Duration>,
    /// Time allowed for one POST.
    pub timeout: Duration,
    /// A delivery whose attempt has not been recorded after this long is tried again. Longer
    /// than `timeout`.
    pub lease: Duration,
    /// Deliveries posted at once by one pass.
    pub batch: i64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            retry: [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            poll: Some(Duration::from_secs(1)),
            timeout: Duration::from_secs(15),
            lease: Duration::from_secs(60),
            batch: 16,
        }
    }
}

/// An endpoint as an admin types it.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
}

/// Why an admin's webhook action is refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("permission denied")]
    Forbidden,
    #[error("invalid endpoint: {0}")]
    Invalid(&'static str),
    #[error("no such webhook or delivery")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WebhookError {
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::Forbidden => "forbidden",
            WebhookError::Invalid(c) => c,
            WebhookError::NotFound => "webhook.not_found",
            WebhookError::Store(_) => "internal",
        }
    }
}

/// An endpoint's page: the endpoint and its newest deliveries, each with its attempts.
#[derive(Debug, Clone)]
pub struct WebhookLog {
    pub endpoint: WebhookEndpoint,
    pub deliveries: Vec<(WebhookDelivery, Vec<WebhookAttempt>)>,
}

/// The body posted for a delivery: `{"type", "timestamp", "data"}` — the same bytes on every
/// attempt (the data was snapshotted when the event happened).
pub fn payload(d: &WebhookDelivery) -> String {
    let data: serde_json::Value = serde_json::from_str(&d.data).unwrap_or(serde_json::Value::Null);
    let at = chrono::DateTime::from_timestamp_millis(d.created_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    serde_json::json!({ "type": d.kind, "timestamp": at, "data": data }).to_string()
}

/// The `webhook-signature` header value for a body.
pub fn sign(secret: &str, webhook_id: &str, timestamp_s: i64, body: &str) -> Option<String> {
    standardwebhooks::Webhook::new(secret)
        .ok()?
        .sign(webhook_id, timestamp_s, body.as_bytes())
        .ok()
}

/// A new `whsec_` secret: 32 random bytes, base64.
fn new_secret() -> SecretString {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    SecretString::from(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    ))
}

/// Checks an endpoint URL: http or https, a host, no credentials, at most 2,000 characters.
fn valid_url(text: &str) -> Result<String, WebhookError> {
    let text = text.trim();
    if text.len() > 2_000 {
        return Err(WebhookError::Invalid("webhook.invalid_url"));
    }
    let url = url::Url::parse(text).map_err(|_| WebhookError::Invalid("webhook.invalid_url"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(WebhookError::Invalid("webhook.invalid_url"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(WebhookError::Invalid("webhook.url_credentials"));
    }
    Ok(url.to_string())
}

impl Core {
    /// Who manages endpoints: console admins (`admin.users`), integration tokens with the
    /// `webhooks` scope, the system.
    fn admin(&self, actor: &Actor) -> Result<(), WebhookError> {
        if actor.has_scope("webhooks") {
            Ok(())
        } else {
            Err(WebhookError::Forbidden)
        }
    }

    /// Registers an endpoint (admins, `webhooks` tokens). Returns its id and its secret —
    /// shown once. Audited.
    pub async fn webhook_create(
        &self,
        actor: &Actor,
        input: &WebhookInput,
    ) -> Result<(i64, SecretString), WebhookError> {
        self.admin(actor)?;
        let url = valid_url(&input.url)?;
        let description = input.description.trim();
        if description.chars().count() > 200 {
            return Err(WebhookError::Invalid("webhook.invalid_description"));
        }
        let mut events: Vec<&str> = Vec::new();
        for e in input
            .events
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
        {
            let known = EVENT_TYPES
                .iter()
                .find(|k| **k == e)
                .ok_or(WebhookError::Invalid("webhook.unknown_event"))?;
            if !events.contains(known) {
                events.push(known);
            }
        }
        if events.is_empty() {
            return Err(WebhookError::Invalid("webhook.no_event"));
        }
        let secret = new_secret();
        let who = actor.audit_name();
        let events = events.join(" ");
        let id = self
            .inner
            .store
            .webhook_endpoint_insert(
                &NewWebhookEndpoint {
                    url: &url,
                    description,
                    secret: secret.expose_secret(),
                    events: &events,
                    created_by: Some(&who),
                },
                self.now_ms(),
            )
            .await?;
        let mut audit = self.audit(actor, "webhook.create", &url);
        audit.detail = Some(events);
        self.inner.store.audit(&audit).await?;
        Ok((id, secret))
    }

    /// Enables or disables an endpoint (admins, `webhooks` tokens); `false` when it already
    /// was. Audited.
    pub async fn webhook_set_enabled(
        &self,
        actor: &Actor,
        id: i64,
        enabled: bool,
    ) -> Result<bool, WebhookError> {
        self.admin(actor)?;
        let ep = self.webhook_endpoint(id).await?;
        let reason = (!enabled).then_some("manual");
        let done = self
            .inner
            .store
            .webhook_endpoint_set_enabled(id, reason, self.now_ms())
            .await?;
        if done {
            let action = if enabled {
                "webhook.enable"
            } else {
                "webhook.disable"
            };
            self.inner
                .store
                .audit(&self.audit(actor, action, &ep.url))
                .await?;
        }
        Ok(done)
    }

    /// Deletes an endpoint with its log (admins, `webhooks` tokens). Audited.
    pub async fn webhook_delete(&self, actor: &Actor, id: i64) -> Result<(), WebhookError> {
        self.admin(actor)?;
        let ep = self.webhook_endpoint(id).await?;
        if self.inner.store.webhook_endpoint_delete(id).await? {
            self.inner
                .store
                .audit(&self.audit(actor, "webhook.delete", &ep.url))
                .await?;
        }
        Ok(())
    }

    /// Queues one more attempt of a finished delivery (admins, `webhooks` tokens): same
    /// `webhook-id`, same body. Returns whether it was queued (`false`: still pending) and its
    /// endpoint. Audited.
    pub async fn webhook_replay(
        &self,
        actor: &Actor,
        delivery_id: i64,
    ) -> Result<(bool, i64), WebhookError> {
        self.admin(actor)?;
        let store = &self.inner.store;
        let d = store
            .webhook_delivery(delivery_id)
            .await?
            .ok_or(WebhookError::NotFound)?;
        let done = store.webhook_replay(delivery_id, self.now_ms()).await?;
        if done {
            let mut audit = self.audit(actor, "webhook.replay", &d.webhook_id);
            audit.detail = Some(d.kind.clone());
            store.audit(&audit).await?;
        }
        Ok((done, d.endpoint_id))
    }

    /// [`Core::webhook_replay`] of a delivery named under its endpoint (the API's
    /// `/webhooks/{id}/deliveries/{delivery_id}`): `NotFound` when the delivery belongs to
    /// another endpoint. Returns whether it was queued and the delivery as it is now, with its
    /// attempts.
    pub async fn webhook_replay_of(
        &self,
        actor: &Actor,
        endpoint_id: i64,
        delivery_id: i64,
    ) -> Result<(bool, WebhookDelivery, Vec<WebhookAttempt>), WebhookError> {
        self.admin(actor)?;
        let store = &self.inner.store;
        let mine = store
            .webhook_delivery(delivery_id)
            .await?
            .is_some_and(|d| d.endpoint_id == endpoint_id);
        if !mine {
            return Err(WebhookError::NotFound);
        }
        let (done, _) = self.webhook_replay(actor, delivery_id).await?;
        let d = store
            .webhook_delivery(delivery_id)
            .await?
            .ok_or(WebhookError::NotFound)?;
        let attempts = store
            .webhook_attempts(endpoint_id, delivery_id)
            .await?
            .into_iter()
            .filter(|a| a.delivery_id == delivery_id)
            .collect();
        Ok((done, d, attempts))
    }

    /// How many deliveries each endpoint has per state: `(endpoint id, state, count)`.
    pub async fn webhook_counts(&self) -> Result<Vec<(i64, String, i64)>, WebhookError> {
        Ok(self.inner.store.webhook_delivery_counts().await?)
    }

    pub async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, WebhookError> {
        Ok(self.inner.store.webhook_endpoints().await?)
    }

    pub async fn webhook_endpoint(&self, id: i64) -> Result<WebhookEndpoint, WebhookError> {
        self.inner
            .store
            .webhook_endpoint(id)
            .await?
            .ok_or(WebhookError::NotFound)
    }

    /// An endpoint and its `limit` newest deliveries with their attempts.
    pub async fn webhook_log(&self, id: i64, limit: i64) -> Result<WebhookLog, WebhookError> {
        let endpoint = self.webhook_endpoint(id).await?;
        let store = &self.inner.store;
        let deliveries = store.webhook_deliveries(id, limit).await?;
        let from = deliveries.last().map_or(i64::MAX, |d| d.id);
        let attempts = store.webhook_attempts(id, from).await?;
        let deliveries = deliveries
            .into_iter()
            .map(|d| {
                let mine = attempts
                    .iter()
                    .filter(|a| a.delivery_id == d.id)
                    .cloned()
                    .collect();
                (d, mine)
            })
            .collect();
        Ok(WebhookLog {
            endpoint,
            deliveries,
        })
    }

    /// One dispatch pass: leases the due deliveries (up to the batch), posts them at once,
    /// records each answer and what follows. Returns how many were attempted.
    pub async fn webhooks_pass(&self) -> Result<usize, StoreError> {
        let s = &self.inner.settings.webhooks;
        let store = &self.inner.store;
        let now = self.now_ms();
        let claimed = store
            .webhook_claim(s.batch, now, now + s.lease.as_millis() as i64)
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let endpoints = store.webhook_endpoints().await?;
        let n = claimed.len();
        let posts = claimed.into_iter().filter_map(|d| {
            let ep = endpoints.iter().find(|e| e.id == d.endpoint_id)?.clone();
            Some(async move {
                let attempt = self.post(&ep, &d).await;
                self.record_attempt(&ep, &d, attempt).await
            })
        });
        for r in futures::future::join_all(posts).await {
            if let Err(e) = r {
                tracing::warn!(error = %e, "cannot record a webhook attempt: it will be made again");
            }
        }
        Ok(n)
    }

    /// Forgets finished deliveries older than [`LOG_KEEP_MS`] (the console's purge loop).
    pub async fn webhook_purge(&self) -> Result<u64, StoreError> {
        self.inner
            .store
            .webhook_purge(self.now_ms() - LOG_KEEP_MS)
            .await
    }

    fn webhook_http(&self) -> &reqwest::Client {
        self.inner.webhook_http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(self.inner.settings.webhooks.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("messagepro-webhooks/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default()
        })
    }

    /// Posts one delivery; the attempt as it went.
    async fn post(&self, ep: &WebhookEndpoint, d: &WebhookDelivery) -> WebhookAttempt {
        let at_ms = self.now_ms();
        let body = payload(d);
        // wall time, not the domain clock: the receiver checks it against its own clock
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.as_secs() as i64);
        let started = std::time::Instant::now();
        let mut attempt = WebhookAttempt {
            id: 0,
            delivery_id: d.id,
            attempt: d.attempts,
            at_ms,
            status: None,
            error: None,
            duration_ms: 0,
            response: None,
        };
        let Some(signature) = sign(&ep.secret, &d.webhook_id, ts, &body) else {
            attempt.error = Some("sign".into());
            return attempt;
        };
        let sent = self
            .webhook_http()
            .post(&ep.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &d.webhook_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(mut r) => {
                attempt.status = Some(i64::from(r.status().as_u16()));
                let mut kept: Vec<u8> = Vec::new();
                while kept.len() < RESPONSE_KEPT {
                    match r.chunk().await {
                        Ok(Some(c)) => kept.extend_from_slice(&c),
                        _ => break,
                    }
                }
                kept.truncate(RESPONSE_KEPT);
                let text = String::from_utf8_lossy(&kept).trim().to_owned();
                attempt.response = (!text.is_empty()).then_some(text);
            }
            // a stable code the console translates (`timeout`, `connect`, `request`), and the
            // library's words, with their causes, for the curious — without the URL: it is the
            // admin's, and may carry a token in its query
            Err(e) => {
                let code = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connect"
                } else {
                    "request"
                };
                attempt.error = Some(code.into());
                let e = e.without_url();
                let mut detail = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    detail.push_str(": ");
                    detail.push_str(&c.to_string());
                    cause = c.source();
                }
                attempt.response = Some(detail);
            }
        }
        attempt.duration_ms = started.elapsed().as_millis() as i64;
        attempt
    }

    /// Records an attempt and what follows: done on a 2xx, the next try of the schedule
    /// otherwise; 410 or the end of the schedule fail it and disable the endpoint.
    async fn record_attempt(
        &self,
        ep: &WebhookEndpoint,
        d: &WebhookDelivery,
        attempt: WebhookAttempt,
    ) -> Result<(), StoreError> {
        let retry = &self.inner.settings.webhooks.retry;
        let now = self.now_ms();
        let (next, disable) = match attempt.status {
            Some(200..=299) => (DeliveryNext::Succeeded, None),
            Some(410) => (DeliveryNext::Failed, Some("gone")),
            _ if d.replay => (DeliveryNext::Failed, None),
            _ => match retry.get((d.attempts - 1).max(0) as usize) {
                Some(wait) => (DeliveryNext::RetryAt(now + wait.as_millis() as i64), None),
                None => (DeliveryNext::Failed, Some("failing")),
            },
        };
        crate::telemetry::webhook_attempt(matches!(attempt.status, Some(200..=299)));
        let store = &self.inner.store;
        if !store.webhook_record(d, &attempt, next, now).await? {
            return Ok(()); // the lease was lost: whoever took it over records
        }
        tracing::info!(webhook_id = %d.webhook_id, attempt = d.attempts, status = ?attempt.status,
            next = ?next, "webhook attempt");
        if let Some(reason) = disable
            && store
                .webhook_endpoint_set_enabled(ep.id, Some(reason), now)
                .await?
        {
            tracing::warn!(endpoint = ep.id, reason, "webhook endpoint disabled");
            let system = Actor::System { name: "webhooks" };
            let mut audit = self.audit(&system, "webhook.disable", &ep.url);
            audit.detail = Some(reason.to_owned());
            store.audit(&audit).await?;
        }
        Ok(())
    }
}
