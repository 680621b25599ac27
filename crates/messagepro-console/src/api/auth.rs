//! Who calls the integration API: `Authorization: Bearer <token>` checked by core (hash lookup,
//! revocation), then the token's request rate (429 with `Retry-After` past it). A missing,
//! unknown or revoked token is 401 with `WWW-Authenticate: Bearer`; the token is never logged.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, header};
use messagepro_core::{Actor, SendError};
use messagepro_store::ApiToken;

use super::problem::Problem;
use crate::app::AppState;

/// The token of a request and the actor core sees.
#[derive(Debug, Clone)]
pub struct ApiAuth {
    pub actor: Actor,
    pub token: ApiToken,
}

/// A refused authentication (401 with its challenge, 429, 500).
#[derive(Debug)]
pub struct AuthRejection(Problem);

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let unauthorized = self.0.code == "unauthorized";
        let mut res = self.0.into_response();
        if unauthorized {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"messagepro\""),
            );
        }
        res
    }
}

impl ApiAuth {
    /// `Err(403 insufficient_scope)` unless the token has `scope`.
    pub fn require(&self, scope: &str) -> Result<(), Problem> {
        if self.actor.has_scope(scope) {
            Ok(())
        } else {
            Err(Problem::insufficient_scope(scope))
        }
    }
}

impl FromRequestParts<AppState> for ApiAuth {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .ok_or(AuthRejection(Problem::unauthorized()))?;
        let ip = crate::guard::client_ip(parts, state.settings.trust_forwarded_for);
        let (actor, token) = state
            .core
            .token_actor(bearer, ip)
            .await
            .map_err(|e| AuthRejection(Problem::internal(&e)))?
            .ok_or(AuthRejection(Problem::unauthorized()))?;
        match state.core.token_rate(&token).await {
            Ok(()) => Ok(ApiAuth { actor, token }),
            Err(SendError::RateLimited { retry_after_ms }) => {
                Err(AuthRejection(Problem::rate_limited(retry_after_ms)))
            }
            Err(e) => Err(AuthRejection(Problem::internal(&e))),
        }
    }
}
