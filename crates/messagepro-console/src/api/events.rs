//! `POST /api/v1/events`: a business event (`order.validated`, `stock.low`…) with the caller's
//! own id. Its rule (console `/admin/events`) turns it into messages; core records the event,
//! its messages and the idempotency key in one transaction, so a retried event — even five at
//! once — texts the client once. 202 the first time, 200 with `"duplicate": true` after.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, StatusCode};
use messagepro_core::events::{Event, EventError, EventOutcome};
use serde::Deserialize;
use serde_json::Value;

use super::openapi::{EventAccepted, ProblemDoc};

use super::auth::ApiAuth;
use super::body;
use super::idempotency::{Reply, idempotent};
use super::problem::Problem;
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/events", post(submit))
}

/// `POST /api/v1/events`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// The event type (`order.validated`, `stock.low`): its rule says what it sends.
    #[serde(rename = "type")]
    kind: String,
    /// Your id of the event: the same type + id is applied once.
    id: String,
    /// The event's data; the rule's template reads it (`{{order.reference}}`).
    #[serde(default)]
    #[schema(value_type = Object)]
    data: Value,
}

fn answer(kind: &str, id: &str, messages: &[i64], duplicate: bool) -> Value {
    serde_json::to_value(EventAccepted {
        object: "event",
        kind: kind.to_owned(),
        id: id.to_owned(),
        messages: messages.to_vec(),
        duplicate,
    })
    .unwrap_or_default()
}

fn problem(e: &EventError) -> Problem {
    match e {
        EventError::Forbidden => Problem::insufficient_scope("events"),
        EventError::Platform(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "platform_unavailable",
            "The platform's groups cannot be read now; retry later (nothing was recorded).",
        ),
        EventError::Send(s) => Problem::from_send(s),
        other => Problem::invalid(other.code(), format!("{other}.")),
    }
}

#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    request_body = EventBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional: events are already de-duplicated by type + id")),
    responses(
        (status = 202, description = "Recorded with its messages", body = EventAccepted),
        (status = 200, description = "Already recorded (`duplicate`: true); nothing new sent", body = EventAccepted),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `events`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The same Idempotency-Key is in flight", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`no_rule`, `missing_recipient`, `invalid_phone`, `missing_variable`, `group_not_found`…", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "The platform's groups cannot be read now", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let (b, value) = match body::parse::<EventBody>(&headers, &bytes) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    let (st, au) = (state.clone(), auth.clone());
    idempotent(
        &st,
        &au,
        &headers,
        "POST /api/v1/events",
        &value,
        |key| async move {
            auth.require("events")?;
            let ev = Event {
                kind: b.kind.trim().to_owned(),
                id: b.id.trim().to_owned(),
                data: b.data.clone(),
            };
            let respond = |ids: &[i64]| (202u16, answer(&ev.kind, &ev.id, ids, false).to_string());
            match state
                .core
                .submit_event(&auth.actor, &ev, key.as_ref().map(|k| k.done(&respond)))
                .await
            {
                Ok(EventOutcome::Accepted { messages }) => Ok(Reply {
                    status: StatusCode::ACCEPTED,
                    body: answer(&ev.kind, &ev.id, &messages, false),
                    stored: key.is_some(),
                }),
                Ok(EventOutcome::Duplicate { messages }) => Ok(Reply::new(
                    StatusCode::OK,
                    answer(&ev.kind, &ev.id, &messages, true),
                )),
                Err(e) => Err(problem(&e)),
            }
        },
    )
    .await
}
