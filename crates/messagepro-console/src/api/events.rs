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
use serde_json::{Value, json};

use super::auth::ApiAuth;
use super::body;
use super::idempotency::{Reply, idempotent};
use super::problem::Problem;
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/events", post(submit))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    data: Value,
}

fn answer(kind: &str, id: &str, messages: &[i64], duplicate: bool) -> Value {
    json!({"object": "event", "type": kind, "id": id, "messages": messages, "duplicate": duplicate})
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

async fn submit(
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
