//! The integration API (`/api/v1/…`) and the platform's webhook intake (`/webhooks/messagepro`):
//! JSON in and out, bearer tokens with scopes ([`auth`]), RFC 9457 problems ([`problem`]),
//! Stripe-style `Idempotency-Key` on every POST ([`idempotency`]). These routes sit outside the
//! console's session, CSRF and permission guard (they have their own authentication), and each
//! handler only parses, calls `messagepro-core` and answers.
//!
//! - [`messages`] — send, read, list;
//! - [`otp`] — send and verify codes;
//! - [`campaigns`] — start a campaign, read its progress, pause / resume / cancel it;
//! - [`contacts`] — the local contact book and its groups, with the opt-out flag;
//! - [`webhooks`] — the endpoints webhooks out are posted to, their deliveries, replays;
//! - [`events`] — business events turned into messages by their rules, exactly once;
//! - [`intake`] — the platform's webhook posts;
//! - [`openapi`] — the OpenAPI 3.1 document, from these handlers (`/api/v1/openapi.json`);
//! - [`reference`] — the reference page rendering it, with vendored files (`/api/v1/reference`).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use http::StatusCode;

use crate::app::AppState;

pub mod auth;
pub mod body;
pub mod campaigns;
pub mod contacts;
pub mod events;
pub mod idempotency;
pub mod intake;
pub mod messages;
pub mod openapi;
pub mod otp;
pub mod problem;
pub mod reference;
pub mod webhooks;

use problem::Problem;

/// Every route of the API and the intake, with their body limit and a problem for unknown
/// `/api/v1/…` paths.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(messages::router())
        .merge(otp::router())
        .merge(events::router())
        .merge(campaigns::router())
        .merge(contacts::router())
        .merge(webhooks::router())
        .merge(intake::router())
        .merge(reference::router())
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(|| async {
                (
                    [(http::header::CONTENT_TYPE, "application/json")],
                    openapi::document(),
                )
            }),
        )
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(|| async {
                Problem::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint.")
                    .into_response()
            }),
        )
        .layer(DefaultBodyLimit::max(body::LIMIT))
}

/// Unix ms as RFC 3339 UTC (`2026-12-02T10:00:00.000Z`).
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An RFC 3339 time (`2026-12-02T10:00:00Z`, with an offset) as Unix ms.
pub fn parse_time(field: &str, text: &str) -> Result<i64, Problem> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            Problem::invalid(
                "invalid_request",
                format!("`{field}` must be an RFC 3339 time such as 2026-12-02T10:00:00Z."),
            )
        })
}
