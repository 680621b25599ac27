//! `POST /webhooks/messagepro`: the platform's webhook form posts (wire reference § 2.8 —
//! `secret`, `type`, `data[field]=value`). The secret is compared in constant time by core, the
//! post is stored (de-duplicated) and answered 200 at once; applying it (stop / start keywords,
//! the inbox) runs right after on its own task, and the worker's sweep finishes any a crash
//! interrupted. A wrong secret is 401 and stores nothing.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::StatusCode;
use messagepro_core::intake::{Intake, IntakeError};
use serde_json::json;

use super::problem::Problem;
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/messagepro", post(receive))
}

async fn receive(State(state): State<AppState>, bytes: Bytes) -> Response {
    let mut secret = String::new();
    let mut kind = String::new();
    let mut data = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(&bytes) {
        match k.as_ref() {
            "secret" => secret = v.into_owned(),
            "type" => kind = v.into_owned(),
            k => {
                if let Some(field) = k.strip_prefix("data[").and_then(|r| r.strip_suffix(']')) {
                    data.insert(field.to_owned(), v.into_owned());
                }
            }
        }
    }
    match state.core.intake_record(&secret, &kind, &data).await {
        Ok(Intake::Stored(id)) => {
            let core = state.core.clone();
            tokio::spawn(async move {
                if let Err(e) = core.intake_process(id).await {
                    tracing::warn!(error = %e, id, "webhook post not applied yet (the sweep retries)");
                }
            });
            (StatusCode::OK, axum::Json(json!({"ok": true, "id": id}))).into_response()
        }
        Ok(Intake::Duplicate) => (
            StatusCode::OK,
            axum::Json(json!({"ok": true, "duplicate": true})),
        )
            .into_response(),
        Err(IntakeError::Unauthorized) => Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The webhook secret does not match the configured one.",
        )
        .into_response(),
        Err(IntakeError::Invalid(field)) => Problem::invalid(
            "invalid_request",
            format!("The post's `{field}` is missing or unknown."),
        )
        .into_response(),
        Err(IntakeError::Send(e)) => Problem::internal(&e).into_response(),
    }
}
