//! The OpenAPI 3.1 document of the integration API, generated from the code with `utoipa`:
//! the request types are the handlers' own (`messages::SendBody`…), the answers are the typed
//! structs below that the handlers serialize — so the document cannot drift from what is sent.
//! Served at `GET /api/v1/openapi.json` (no token needed); `docs/openapi.json` is its snapshot,
//! kept equal by a test (`UPDATE_OPENAPI=1 cargo test -p messagepro-console openapi` rewrites it).

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// A send accepted into the outbox (202).
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageAccepted {
    /// Local message id (`GET /api/v1/messages/{id}`).
    pub id: i64,
    /// Always `message`.
    pub object: &'static str,
    /// `sms` or `whatsapp`.
    pub channel: String,
    /// Always `queued`: the worker sends it.
    pub status: &'static str,
    /// The recipient in E.164.
    pub to: String,
    /// SMS segments (1 for WhatsApp).
    pub segments: i64,
    /// When it may leave (RFC 3339), if scheduled.
    pub send_at: Option<String>,
}

/// The delivery state of a message in the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    /// Times a worker took it.
    pub attempts: i64,
    /// `ready`, `running`, `held` or `done`.
    pub state: String,
    /// Next attempt (RFC 3339) while `ready`.
    pub next_attempt_at: Option<String>,
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    pub id: i64,
    pub object: &'static str,
    /// `sms`, `whatsapp` or `otp`.
    pub channel: String,
    pub to: String,
    pub text: String,
    /// `queued`, `sending`, `pending`, `sent`, `failed`, `unknown`, `skipped`.
    pub status: String,
    pub segments: i64,
    /// The route recorded (mode, device, SIM, gateway or account).
    #[schema(value_type = Object)]
    pub route: serde_json::Value,
    /// The platform's id, when known.
    pub platform_id: Option<String>,
    /// Why it failed or was skipped (`skip.opted_out`, the platform's words…).
    pub reason: Option<String>,
    pub campaign_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    /// Present on `GET /api/v1/messages/{id}`.
    pub delivery: Option<Delivery>,
    /// Present on `GET /api/v1/messages/{id}` when the message has a fallback (an event
    /// rule's second channel, tried once if this one fails).
    pub fallback: Option<FallbackOut>,
    /// This message was sent instead of that one, which failed (on `GET …/{id}`).
    pub fallback_of: Option<i64>,
}

/// A message's fallback.
#[derive(Debug, Serialize, ToSchema)]
pub struct FallbackOut {
    /// `waiting` (the message is not final), `due`, `done` (the fallback message was
    /// recorded), `unneeded` (the message was sent or skipped).
    pub state: String,
    /// The message sent instead, once recorded.
    pub message_id: Option<i64>,
}

/// A page of messages, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<MessageOut>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A code accepted for sending (202). The code itself is never returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct OtpAccepted {
    /// Local message id of the code's SMS or chat.
    pub id: i64,
    pub object: &'static str,
    pub to: String,
    pub purpose: String,
    pub status: &'static str,
    /// RFC 3339.
    pub expires_at: String,
}

/// A code verified.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verified {
    pub verified: bool,
}

/// A business event recorded (202) or already recorded (200, `duplicate`).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventAccepted {
    pub object: &'static str,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    /// Local ids of the messages it caused.
    pub messages: Vec<i64>,
    pub duplicate: bool,
}

/// RFC 9457 problem details (`application/problem+json`). Some problems carry more members:
/// `attempts_left`, `retry_after`, `message_id`, `scope`, `field`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemDoc {
    /// `urn:messagepro:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine code (`invalid_phone`, `opted_out`, `otp_invalid`…).
    pub code: String,
}

/// A route: a device + SIM, a gateway, or a WhatsApp account. Omitted: the configured default.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteDoc {
    /// Own Android device (unique id).
    pub device: Option<String>,
    /// SIM slot 1 or 2 (with `device`).
    pub sim: Option<u8>,
    pub priority: Option<bool>,
    /// Platform gateway id or partner device (paid credits).
    pub gateway: Option<String>,
    /// WhatsApp account unique id.
    pub account: Option<String>,
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// A campaign just started (`POST /api/v1/campaigns`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignAccepted {
    pub id: i64,
    /// Always `campaign`.
    pub object: &'static str,
    pub name: String,
    /// `sms` or `whatsapp`.
    pub channel: String,
    /// `running`, or `queued` when it starts later.
    pub status: String,
    /// Distinct recipients (numbers and group members).
    pub recipients: usize,
    /// Of those, to be sent.
    pub queued: usize,
    /// Of those, opted out: recorded `skipped`, never sent.
    pub opted_out: usize,
    pub start_at: Option<String>,
    /// When the last message is due at the route's pace (quiet hours may add to it).
    pub estimated_end_at: String,
}

/// A campaign's messages by status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub queued: i64,
    pub sending: i64,
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    pub unknown: i64,
    pub skipped: i64,
    /// Finished (sent, failed or skipped) out of the total, 0–100.
    pub percent: i64,
}

/// A campaign with its progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignOut {
    pub id: i64,
    /// Always `campaign`.
    pub object: &'static str,
    pub name: String,
    pub channel: String,
    /// `queued` (scheduled), `running`, `paused`, `done`, `cancelled`.
    pub status: String,
    pub total: i64,
    pub progress: Progress,
    pub created_at: String,
    pub start_at: Option<String>,
    pub paused_at: Option<String>,
}

/// A contact group of the local book.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    pub id: i64,
    /// Always `group`.
    pub object: &'static str,
    pub name: String,
    /// Its member count (in lists of groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<i64>,
}

/// A contact of the local book.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    pub id: i64,
    /// Always `contact`.
    pub object: &'static str,
    pub name: String,
    /// E.164.
    pub phone: String,
    /// On the suppression list: nothing but OTP codes is sent to it.
    pub opted_out: bool,
    pub groups: Vec<GroupOut>,
    pub created_at: String,
    pub updated_at: String,
}

/// A page of contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<ContactOut>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Every group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<GroupOut>,
}

/// An endpoint's deliveries by state.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryCounts {
    /// Waiting for their next attempt (or for the endpoint to be enabled again).
    pub pending: i64,
    /// Being posted now.
    pub delivering: i64,
    pub succeeded: i64,
    /// Failed their whole schedule (or answered 410).
    pub failed: i64,
}

/// A webhook endpoint. Its signing secret is never part of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: i64,
    /// Always `webhook_endpoint`.
    pub object: &'static str,
    pub url: String,
    pub description: String,
    /// The event types it receives.
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why it is disabled: `manual` (the console or the API), `gone` (it answered 410),
    /// `failing` (a delivery failed its whole schedule); `null` when enabled.
    pub disabled_reason: Option<String>,
    /// Who created it (`token:<name>` or a console user name).
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Its deliveries by state (finished ones are kept 30 days).
    pub counts: DeliveryCounts,
}

/// An endpoint just created, with its signing secret — shown this once (and on a replay of the
/// same `Idempotency-Key`).
// `Debug` (below) never shows the secret.
#[derive(Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub endpoint: WebhookOut,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

impl std::fmt::Debug for WebhookCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCreated")
            .field("endpoint", &self.endpoint)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Every endpoint, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<WebhookOut>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttemptOut {
    /// 1 for the first attempt.
    pub attempt: i64,
    pub at: String,
    /// The receiver's answer code; `null` when there was no answer.
    pub status: Option<i64>,
    /// Why there was no answer (connection refused, timeout…).
    pub error: Option<String>,
    pub duration_ms: i64,
    /// The start of the receiver's answer (500 bytes at most).
    pub response: Option<String>,
}

/// One event for one endpoint, with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryOut {
    pub id: i64,
    /// Always `webhook_delivery`.
    pub object: &'static str,
    pub endpoint_id: i64,
    /// The `webhook-id` header: the same on every attempt and replay.
    pub webhook_id: String,
    /// The event type (`message.sent`…).
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`, `delivering`, `succeeded` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The next attempt, while `pending`.
    pub next_attempt_at: Option<String>,
    /// The last answer's code.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<WebhookAttemptOut>,
}

/// An endpoint (never its secret) and its newest deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDetail {
    #[serde(flatten)]
    pub endpoint: WebhookOut,
    /// The 50 newest deliveries, newest first.
    pub deliveries: Vec<WebhookDeliveryOut>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "messagepro integration API",
        description = "Send SMS, WhatsApp messages and OTP codes, and post business events, through Message Pro. Every POST accepts `Idempotency-Key`. Errors are RFC 9457 problems."
    ),
    paths(
        super::messages::send,
        super::messages::one,
        super::messages::list,
        super::otp::send,
        super::otp::verify,
        super::events::submit,
        super::campaigns::start,
        super::campaigns::one,
        super::campaigns::control,
        super::contacts::list,
        super::contacts::create,
        super::contacts::one,
        super::contacts::update,
        super::contacts::remove,
        super::contacts::groups,
        super::contacts::create_group,
        super::contacts::remove_group,
        super::webhooks::list,
        super::webhooks::create,
        super::webhooks::one,
        super::webhooks::update,
        super::webhooks::remove,
        super::webhooks::replay,
    ),
    components(schemas(
        MessageAccepted, MessageOut, MessageList, Delivery, FallbackOut, OtpAccepted, Verified, EventAccepted,
        ProblemDoc, RouteDoc, CampaignAccepted, CampaignOut, Progress,
        ContactOut, ContactList, GroupOut, GroupList,
        WebhookOut, WebhookCreated, WebhookList, WebhookDetail, WebhookDeliveryOut,
        WebhookAttemptOut, DeliveryCounts
    )),
    modifiers(&Bearer),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// The document as JSON text (pretty, stable order).
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_matches_its_snapshot() {
        let doc = document();
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
        for p in [
            "/api/v1/messages",
            "/api/v1/messages/{id}",
            "/api/v1/otp",
            "/api/v1/otp/verify",
            "/api/v1/events",
            "/api/v1/webhooks",
            "/api/v1/webhooks/{id}",
            "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay",
        ] {
            assert!(v["paths"].get(p).is_some(), "{p} documented");
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        if std::env::var("UPDATE_OPENAPI").is_ok() {
            std::fs::write(path, format!("{doc}\n")).unwrap();
        }
        let snapshot = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(
            snapshot.trim_end(),
            doc,
            "docs/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p messagepro-console openapi"
        );
    }
}
