//! `/api/v1/webhooks`: the endpoints that webhooks out (Standard Webhooks, signed) are posted
//! to — list, create (the `whsec_` signing secret is answered this once), read with the recent
//! deliveries and their attempts, enable / disable, delete, and replay a finished delivery.
//! Scope `webhooks`. Core checks and audits every change ([`messagepro_core::webhooks`], the
//! functions the console's `/admin/webhooks` pages use); this file parses and answers. The
//! secret is never listed nor read back.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};
use messagepro_core::webhooks::{EVENT_TYPES, WebhookError, WebhookInput};
use messagepro_store::{WebhookAttempt, WebhookDelivery, WebhookEndpoint};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;

use super::auth::ApiAuth;
use super::idempotency::{Reply, idempotent};
use super::openapi::{
    DeliveryCounts, ProblemDoc, WebhookAttemptOut, WebhookCreated, WebhookDeliveryOut,
    WebhookDetail, WebhookList, WebhookOut,
};
use super::problem::Problem;
use super::{body, iso};
use crate::app::AppState;

/// Deliveries shown with an endpoint (the newest).
const RECENT: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route(
            "/api/v1/webhooks/{id}",
            get(one).patch(update).delete(remove),
        )
        .route(
            "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay",
            post(replay),
        )
}

fn counts_of(counts: &[(i64, String, i64)], id: i64) -> DeliveryCounts {
    let n = |state: &str| {
        counts
            .iter()
            .filter(|(e, s, _)| *e == id && s == state)
            .map(|(_, _, n)| *n)
            .sum()
    };
    DeliveryCounts {
        pending: n("pending"),
        delivering: n("delivering"),
        succeeded: n("succeeded"),
        failed: n("failed"),
    }
}

fn endpoint_out(e: &WebhookEndpoint, counts: &[(i64, String, i64)]) -> WebhookOut {
    WebhookOut {
        id: e.id,
        object: "webhook_endpoint",
        url: e.url.clone(),
        description: e.description.clone(),
        events: e.events.split_whitespace().map(str::to_owned).collect(),
        enabled: e.enabled,
        disabled_reason: e.disabled_reason.clone(),
        created_by: e.created_by.clone(),
        created_at: iso(e.created_ms),
        updated_at: iso(e.updated_ms),
        counts: counts_of(counts, e.id),
    }
}

fn delivery_out(d: &WebhookDelivery, attempts: &[WebhookAttempt]) -> WebhookDeliveryOut {
    WebhookDeliveryOut {
        id: d.id,
        object: "webhook_delivery",
        endpoint_id: d.endpoint_id,
        webhook_id: d.webhook_id.clone(),
        kind: d.kind.clone(),
        state: d.state.clone(),
        attempts: d.attempts,
        next_attempt_at: (d.state == "pending").then(|| iso(d.next_ms)),
        last_status: d.last_status,
        last_error: d.last_error.clone(),
        created_at: iso(d.created_ms),
        updated_at: iso(d.updated_ms),
        attempt_log: attempts
            .iter()
            .map(|a| WebhookAttemptOut {
                attempt: a.attempt,
                at: iso(a.at_ms),
                status: a.status,
                error: a.error.clone(),
                duration_ms: a.duration_ms,
                response: a.response.clone(),
            })
            .collect(),
    }
}

/// The problem of a refusal by core; `what` names what was not found.
fn problem(e: WebhookError, what: &str) -> Problem {
    let known = EVENT_TYPES.join(", ");
    match e {
        WebhookError::Forbidden => Problem::insufficient_scope("webhooks"),
        WebhookError::NotFound => Problem::not_found(what),
        WebhookError::Invalid("webhook.invalid_url") => Problem::invalid(
            "invalid_url",
            "`url` must be a full http:// or https:// URL with a host name, at most 2000 characters.",
        )
        .with("field", "url"),
        WebhookError::Invalid("webhook.url_credentials") => Problem::invalid(
            "invalid_url",
            "`url` must not contain a user name or password (the receiver checks the signature instead).",
        )
        .with("field", "url"),
        WebhookError::Invalid("webhook.unknown_event") => Problem::invalid(
            "unknown_event",
            format!("`events` names an unknown event type; the known types are {known}."),
        )
        .with("field", "events"),
        WebhookError::Invalid("webhook.no_event") => Problem::invalid(
            "no_events",
            format!("`events` must name at least one event type among {known}."),
        )
        .with("field", "events"),
        WebhookError::Invalid("webhook.invalid_description") => Problem::invalid(
            "invalid_request",
            "`description` must have at most 200 characters.",
        )
        .with("field", "description"),
        WebhookError::Invalid(_) => Problem::invalid("invalid_request", "The request is invalid."),
        WebhookError::Store(e) => Problem::internal(&e),
    }
}

fn id_of(text: &str, what: &str) -> Result<i64, Problem> {
    text.parse().map_err(|_| Problem::not_found(what))
}

/// The endpoint as it is now, with its delivery counts.
async fn read(state: &AppState, id: i64) -> Result<WebhookOut, Problem> {
    let core = &state.core;
    let e = core
        .webhook_endpoint(id)
        .await
        .map_err(|e| problem(e, "webhook endpoint"))?;
    let counts = core
        .webhook_counts()
        .await
        .map_err(|e| problem(e, "webhook endpoint"))?;
    Ok(endpoint_out(&e, &counts))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "Every endpoint, newest first (never its secret)", body = WebhookList),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `webhooks`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Response, Problem> {
    auth.require("webhooks")?;
    let core = &state.core;
    let all = core
        .webhook_endpoints()
        .await
        .map_err(|e| problem(e, "webhook endpoint"))?;
    let counts = core
        .webhook_counts()
        .await
        .map_err(|e| problem(e, "webhook endpoint"))?;
    let list = WebhookList {
        object: "list",
        data: all.iter().map(|e| endpoint_out(e, &counts)).collect(),
    };
    Ok(axum::Json(list).into_response())
}

/// `POST /api/v1/webhooks`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// Where the events are posted: http or https, no user name or password, at most 2000
    /// characters.
    pub url: String,
    /// At least one of `message.sent`, `message.failed`, `message.received`,
    /// `contact.opted_out`, `campaign.completed`, `otp.verified`.
    pub events: Vec<String>,
    /// Shown in the console, at most 200 characters.
    #[serde(default)]
    pub description: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = WebhookBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe (24 h, per token): the same key answers the same endpoint and secret")),
    responses(
        (status = 201, description = "Created, enabled; `secret` is shown this once", body = WebhookCreated),
        (status = 400, description = "Malformed JSON or Idempotency-Key", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `webhooks`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The same Idempotency-Key is in flight", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_url`, `unknown_event`, `no_events`, `invalid_request`, `idempotency_key_reused`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let (b, value) = match body::parse::<WebhookBody>(&headers, &bytes) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    let (st, au) = (state.clone(), auth.clone());
    idempotent(
        &st,
        &au,
        &headers,
        "POST /api/v1/webhooks",
        &value,
        |_| async move {
            auth.require("webhooks")?;
            let input = WebhookInput {
                url: b.url,
                description: b.description.unwrap_or_default(),
                events: b.events,
            };
            let (id, secret) = state
                .core
                .webhook_create(&auth.actor, &input)
                .await
                .map_err(|e| problem(e, "webhook endpoint"))?;
            let created = WebhookCreated {
                endpoint: read(&state, id).await?,
                secret: secret.expose_secret().to_owned(),
            };
            let out = serde_json::to_value(&created).unwrap_or_default();
            Ok(Reply::new(StatusCode::CREATED, out))
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint (never its secret) and its 50 newest deliveries with their attempts", body = WebhookDetail),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `webhooks`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn one(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    auth.require("webhooks")?;
    let id = id_of(&id, "webhook endpoint")?;
    let log = state
        .core
        .webhook_log(id, RECENT)
        .await
        .map_err(|e| problem(e, "webhook endpoint"))?;
    let counts = state
        .core
        .webhook_counts()
        .await
        .map_err(|e| problem(e, "webhook endpoint"))?;
    let detail = WebhookDetail {
        endpoint: endpoint_out(&log.endpoint, &counts),
        deliveries: log
            .deliveries
            .iter()
            .map(|(d, a)| delivery_out(d, a))
            .collect(),
    };
    Ok(axum::Json(detail).into_response())
}

/// `PATCH /api/v1/webhooks/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// `false` stops the deliveries (they wait); `true` sends what waited.
    pub enabled: bool,
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The endpoint as it is now", body = WebhookOut),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `webhooks`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_request`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn update(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    auth.require("webhooks")?;
    let id = id_of(&id, "webhook endpoint")?;
    let (b, _) = body::parse::<WebhookPatch>(&headers, &bytes)?;
    state
        .core
        .webhook_set_enabled(&auth.actor, id, b.enabled)
        .await
        .map_err(|e| problem(e, "webhook endpoint"))?;
    Ok(axum::Json(read(&state, id).await?).into_response())
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted with its deliveries and their log"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `webhooks`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    auth.require("webhooks")?;
    state
        .core
        .webhook_delete(&auth.actor, id_of(&id, "webhook endpoint")?)
        .await
        .map_err(|e| problem(e, "webhook endpoint"))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay", tag = "webhooks",
    params(
        ("id" = i64, Path, description = "Endpoint id"),
        ("delivery_id" = i64, Path, description = "Delivery id (`deliveries[].id` of `GET /api/v1/webhooks/{id}`)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe (24 h, per token)"),
    ),
    responses(
        (status = 202, description = "Queued: one more attempt now (same `webhook-id`, same body; no retries after it). A disabled endpoint's replay waits until it is enabled.", body = WebhookDeliveryOut),
        (status = 400, description = "A malformed Idempotency-Key", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `webhooks`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint, or no such delivery of it", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`delivery_not_finished`: still pending or being delivered; or the Idempotency-Key is in flight", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency_key_reused`: the key was used for another request", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn replay(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Response {
    let (st, au) = (state.clone(), auth.clone());
    let path = format!("POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/replay");
    idempotent(&st, &au, &headers, &path, &Value::Null, |_| async move {
        let what = "webhook delivery";
        let (eid, did) = (id_of(&id, what)?, id_of(&delivery_id, what)?);
        auth.require("webhooks")?;
        let (done, d, attempts) = state
            .core
            .webhook_replay_of(&auth.actor, eid, did)
            .await
            .map_err(|e| problem(e, what))?;
        if !done {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "delivery_not_finished",
                "The delivery is still pending or being delivered; replay it once it has succeeded or failed.",
            ));
        }
        let out = serde_json::to_value(delivery_out(&d, &attempts)).unwrap_or_default();
        Ok(Reply::new(StatusCode::ACCEPTED, out))
    })
    .await
}
