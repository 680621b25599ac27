//! Static files embedded in the binary (no CDN: the console works without internet), served
//! with a one-day cache.

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header;

use super::{Access, RouteRule};
use crate::app::AppState;
use crate::error::AppError;

pub const RULES: &[RouteRule] = &[RouteRule::get("/assets/{file}", Access::Public)];

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(asset))
}

/// (name, content type, bytes)
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/htmx.min.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    ),
];

async fn asset(Path(file): Path<String>) -> Result<Response, AppError> {
    let (_, ctype, bytes) = FILES
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, *ctype),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        *bytes,
    )
        .into_response())
}
