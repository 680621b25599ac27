//! `/api/v1/otp`: send a code (202 with its id and expiry — the code itself is never returned)
//! and verify one (`{"verified": true}`, 422 `otp_invalid` with `attempts_left`, 429
//! `otp_locked`). Codes, limits and hashing are core's (`messagepro_core::otp`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, StatusCode};
use messagepro::OtpChannel;
use messagepro_core::SendError;
use messagepro_core::otp::{OtpRequest, VerifyError};
use messagepro_core::route::RouteChoice;
use serde::Deserialize;
use serde_json::json;

use super::auth::ApiAuth;
use super::idempotency::{Reply, idempotent};
use super::messages::phone;
use super::problem::Problem;
use super::{body, iso};
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/otp", post(send))
        .route("/api/v1/otp/verify", post(verify))
}

/// The text of a code when the caller gives none.
pub const DEFAULT_TEMPLATE: &str = "Votre code de vérification : {{otp}}";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    to: String,
    purpose: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    route: Option<RouteChoice>,
    /// Seconds (30–600, default 300).
    #[serde(default)]
    expires_in: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    to: String,
    purpose: String,
    code: String,
}

async fn send(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let (b, value) = match body::parse::<SendBody>(&headers, &bytes) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    let (st, au) = (state.clone(), auth.clone());
    idempotent(
        &st,
        &au,
        &headers,
        "POST /api/v1/otp",
        &value,
        |key| async move {
            auth.require("otp")?;
            let to = phone(&state, "to", &b.to)?;
            let defaults = &state.core.settings().routes;
            let route = b.route.clone().unwrap_or_default();
            let channel = match b.channel.as_deref().unwrap_or("sms") {
                "sms" => OtpChannel::Sms {
                    route: route
                        .sms_route(defaults)
                        .map_err(|e| Problem::from_send(&e))?,
                },
                "whatsapp" => OtpChannel::WhatsApp {
                    account: route
                        .whatsapp_account(defaults)
                        .map_err(|e| Problem::from_send(&e))?,
                    priority: true,
                },
                _ => {
                    return Err(Problem::invalid(
                        "invalid_request",
                        "`channel` must be \"sms\" or \"whatsapp\".",
                    ));
                }
            };
            let lifetime_s = b.expires_in.unwrap_or(300);
            let req = OtpRequest {
                phone: to.clone(),
                purpose: b.purpose.clone(),
                template: b
                    .template
                    .clone()
                    .unwrap_or_else(|| DEFAULT_TEMPLATE.to_owned()),
                channel,
                lifetime_s,
            };
            let expires = state.clock.now_ms() + i64::from(lifetime_s) * 1000;
            let e164 = to.e164().to_owned();
            let answer = |id: i64| {
                json!({"id": id, "object": "otp", "to": e164, "purpose": b.purpose.trim(),
                   "status": "queued", "expires_at": iso(expires)})
            };
            let respond = |ids: &[i64]| {
                (
                    202u16,
                    answer(ids.first().copied().unwrap_or_default()).to_string(),
                )
            };
            match state
                .core
                .otp_accept(&auth.actor, &req, key.as_ref().map(|k| k.done(&respond)))
                .await
            {
                Ok(a) => Ok(Reply {
                    status: StatusCode::ACCEPTED,
                    body: answer(a.message_id),
                    stored: key.is_some(),
                }),
                Err(SendError::Forbidden) => Err(Problem::insufficient_scope("otp")),
                Err(e) => Err(Problem::from_send(&e)),
            }
        },
    )
    .await
}

async fn verify(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let (b, value) = match body::parse::<VerifyBody>(&headers, &bytes) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    let (st, au) = (state.clone(), auth.clone());
    idempotent(&st, &au, &headers, "POST /api/v1/otp/verify", &value, |_key| async move {
        auth.require("otp")?;
        let to = phone(&state, "to", &b.to)?;
        match state.core.otp_verify(&auth.actor, &to, &b.purpose, &b.code).await {
            Ok(()) => Ok(Reply::new(StatusCode::OK, json!({"verified": true}))),
            Err(VerifyError::Invalid { left }) => Err(Problem::invalid(
                "otp_invalid",
                "Wrong code.",
            )
            .with("attempts_left", left)),
            Err(VerifyError::Locked) => Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "otp_locked",
                "Too many wrong codes: send a new code.",
            )),
            Err(VerifyError::NoCode) => Err(Problem::invalid(
                "otp_missing",
                "No code to verify for this phone and purpose (never sent, expired, used or replaced).",
            )),
            Err(VerifyError::Forbidden) => Err(Problem::insufficient_scope("otp")),
            Err(VerifyError::Store(e)) => Err(Problem::internal(&e)),
        }
    })
    .await
}
