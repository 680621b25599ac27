//! `Idempotency-Key` on every POST, with Stripe's semantics, per token, kept 24 hours:
//!
//! - the first request with a key runs; its answer (2xx or 4xx) is stored with the key;
//! - a replay (same key, same body) gets exactly that answer again, with
//!   `Idempotent-Replayed: true`, and does nothing;
//! - the same key with another body → 422 `idempotency_key_reused`;
//! - the same key while the first request still runs → 409 `idempotency_key_in_flight`;
//! - a 5xx or 429 answer releases the key (nothing was recorded; the retry runs).
//!
//! A request that records messages hands the key to core, which marks it done **in the
//! transaction of the messages and their outbox jobs** (`Reply::stored`): no crash can leave a
//! sent message whose key a retry would not find. The lock of an in-flight key lasts
//! [`LOCK_MS`]: a request that crashed before committing anything leaves a lock a retry takes
//! over after that.

use std::future::Future;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use messagepro_store::{IdemBegin, IdemDone};
use serde_json::Value;
use sha2::Digest;

use super::auth::ApiAuth;
use super::problem::Problem;
use crate::app::AppState;

/// How long an in-flight key is locked.
pub const LOCK_MS: i64 = 60_000;
/// How long a key is remembered.
pub const KEEP_MS: i64 = 24 * 3_600_000;

/// The key of a request that runs, for core to mark done in its transaction.
#[derive(Debug, Clone)]
pub struct IdemKey {
    pub token_id: i64,
    pub key: String,
}

impl IdemKey {
    /// The guard core records with the messages: `respond` builds the stored answer from the
    /// message ids.
    pub fn done<'a>(
        &'a self,
        respond: &'a (dyn Fn(&[i64]) -> (u16, String) + Send + Sync),
    ) -> IdemDone<'a> {
        IdemDone {
            token_id: self.token_id,
            key: &self.key,
            respond,
        }
    }
}

/// A successful answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    /// The key was already marked done with this answer, in core's transaction.
    pub stored: bool,
}

impl Reply {
    pub fn new(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body,
            stored: false,
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        json_response(self.status, self.body.to_string(), false)
    }
}

fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut res = (status, body).into_response();
    let kind = if status.is_client_error() || status.is_server_error() {
        "application/problem+json"
    } else {
        "application/json"
    };
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// Runs `run` under the request's `Idempotency-Key` (if any). `route`: the endpoint (with its
/// path parameters), part of what a key is bound to with the body.
pub async fn idempotent<F, Fut>(
    state: &AppState,
    auth: &ApiAuth,
    headers: &HeaderMap,
    route: &str,
    body: &Value,
    run: F,
) -> Response
where
    F: FnOnce(Option<IdemKey>) -> Fut,
    Fut: Future<Output = Result<Reply, Problem>>,
{
    let Some(raw) = headers.get("idempotency-key") else {
        return match run(None).await {
            Ok(r) => r.into_response(),
            Err(p) => p.into_response(),
        };
    };
    let key = match raw.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= 255 => k.trim().to_owned(),
        _ => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "`Idempotency-Key` must be 1 to 255 visible ASCII characters.",
            )
            .into_response();
        }
    };
    let hash = hex::encode(sha2::Sha256::digest(format!("{route}\n{body}").as_bytes()));
    let store = &state.store;
    let token_id = auth.token.id;
    let now = state.clock.now_ms();
    let begin = match store
        .idem_begin(token_id, &key, &hash, now, LOCK_MS, KEEP_MS)
        .await
    {
        Ok(b) => b,
        Err(e) => return Problem::internal(&e).into_response(),
    };
    match begin {
        IdemBegin::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            json_response(status, body, true)
        }
        IdemBegin::Mismatch => Problem::invalid(
            "idempotency_key_reused",
            "This Idempotency-Key was used with another request body or endpoint.",
        )
        .into_response(),
        IdemBegin::InFlight => Problem::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_flight",
            "A request with this Idempotency-Key is still running; retry in a moment.",
        )
        .into_response(),
        IdemBegin::Proceed => {
            let ctx = IdemKey {
                token_id,
                key: key.clone(),
            };
            let (status, text, stored) = match run(Some(ctx)).await {
                Ok(r) => (r.status, r.body.to_string(), r.stored),
                Err(p) => {
                    let status = p.status;
                    let res = p.into_response();
                    // a server error or a rate limit ran nothing: the retry (after
                    // Retry-After) must run, not replay the refusal
                    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                        let _ = store.idem_release(token_id, &key).await;
                        return res;
                    }
                    let (parts, body) = res.into_parts();
                    let bytes = axum::body::to_bytes(body, usize::MAX)
                        .await
                        .unwrap_or_default();
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    if let Err(e) = store
                        .idem_finish(token_id, &key, status.as_u16(), &text)
                        .await
                    {
                        tracing::warn!(error = %e, "idempotency key not stored");
                    }
                    return Response::from_parts(parts, axum::body::Body::from(text));
                }
            };
            if !stored
                && let Err(e) = store
                    .idem_finish(token_id, &key, status.as_u16(), &text)
                    .await
            {
                tracing::warn!(error = %e, "idempotency key not stored");
            }
            json_response(status, text, false)
        }
    }
}
