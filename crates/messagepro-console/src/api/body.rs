//! Reading a JSON request body: `Content-Type: application/json` (else 415), well-formed JSON
//! (else 400 `invalid_json`), then the endpoint's typed shape with unknown fields refused (else
//! 422 `invalid_request`, naming the field). The parsed value is kept for the idempotency hash.

use axum::body::Bytes;
use http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::problem::Problem;

/// Largest body read (an event's data, a campaign's numbers): larger is 413 before this runs.
pub const LIMIT: usize = 1024 * 1024;

/// The typed body and its JSON value.
pub fn parse<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(T, Value), Problem> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.to_ascii_lowercase().ends_with("+json")
        });
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON with `Content-Type: application/json`.",
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("The body is not valid JSON ({e})."),
        )
    })?;
    let typed = T::deserialize(&value)
        .map_err(|e| Problem::invalid("invalid_request", format!("The body does not fit: {e}.")))?;
    Ok((typed, value))
}
