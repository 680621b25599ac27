//! `/api/v1/otp`: send a code (202 with its id and expiry — the code itself is never returned)
//! and verify one (`{"verified": true}`, 422 `otp_invalid` with `attempts_left`, 429
//! `otp_locked`). Codes, limits and hashing are core's (`messagepro_core::otp`).

use super::openapi::{OtpAccepted, ProblemDoc, Verified};
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

/// `POST /api/v1/otp`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpSendBody {
    /// The phone to verify (local or international).
    to: String,
    /// What the code proves (`signup`, `login`…): it verifies only for this purpose.
    purpose: String,
    /// `sms` (default) or `whatsapp`.
    #[serde(default)]
    channel: Option<String>,
    /// Text with `{{otp}}` (default « Votre code de vérification : {{otp}} »).
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<super::openapi::RouteDoc>)]
    route: Option<RouteChoice>,
    /// Seconds (30–600, default 300).
    #[serde(default)]
    expires_in: Option<u32>,
}

/// `POST /api/v1/otp/verify`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpVerifyBody {
    to: String,
    purpose: String,
    code: String,
}

#[utoipa::path(post, path = "/api/v1/otp", tag = "otp",
    request_body = OtpSendBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe (24 h, per token)")),
    responses(
        (status = 202, description = "Recorded; the worker draws the code and sends it", body = OtpAccepted),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `otp`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The same Idempotency-Key is in flight", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid (`invalid_phone`, `otp_placeholder`, `route_required`…)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Too many codes for this phone, IP or token (`rate_limited`)", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn send(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let (b, value) = match body::parse::<OtpSendBody>(&headers, &bytes) {
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
                serde_json::to_value(OtpAccepted {
                    id,
                    object: "otp",
                    to: e164.clone(),
                    purpose: b.purpose.trim().to_owned(),
                    status: "queued",
                    expires_at: iso(expires),
                })
                .unwrap_or_default()
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

#[utoipa::path(post, path = "/api/v1/otp/verify", tag = "otp",
    request_body = OtpVerifyBody,
    responses(
        (status = 200, description = "The code is right (and now used)", body = Verified),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `otp`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`otp_invalid` (with `attempts_left`) or `otp_missing`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "`otp_locked`: too many wrong codes", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn verify(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let (b, value) = match body::parse::<OtpVerifyBody>(&headers, &bytes) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    let (st, au) = (state.clone(), auth.clone());
    idempotent(&st, &au, &headers, "POST /api/v1/otp/verify", &value, |_key| async move {
        auth.require("otp")?;
        let to = phone(&state, "to", &b.to)?;
        match state.core.otp_verify(&auth.actor, &to, &b.purpose, &b.code).await {
            Ok(()) => Ok(Reply::new(
                StatusCode::OK,
                serde_json::to_value(Verified { verified: true }).unwrap_or_default(),
            )),
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
