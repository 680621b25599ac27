//! The API reference page (`GET /api/v1/reference`): Swagger UI rendering the OpenAPI 3.1
//! document of [`super::openapi`], for the people who write the integration. Its files are
//! vendored (`assets/vendor/swagger-ui-dist/`, see `assets/vendor/README.md`) and embedded in
//! the binary with `include_bytes!` — no CDN, so the page works offline and loads nothing from
//! another origin — and served from `/api/v1/reference/assets/{file}` with a one-day cache.
//!
//! The page has no inline script: Swagger UI is started by our own `assets/api-reference.js`,
//! so the console's CSP (`script-src 'self'`) holds. The page's CSP only adds `img-src data:`
//! (Swagger UI's stylesheet draws its icons as `data:` images); "Try it out" requests and the
//! document fetch are refused unless same-origin, and the external validator badge is off.
//! Public like the document itself: no token, no session.

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};

use super::problem::Problem;
use crate::app::AppState;
use crate::headers::CspOverride;

/// Where the page loads its files from.
pub const ASSETS: &str = "/api/v1/reference/assets";

/// The page's Content-Security-Policy: the console's ([`crate::headers::CSP`]) plus `data:`
/// images for Swagger UI's icons.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; \
base-uri 'none'";

/// The page: the stylesheet, a mount point naming the document, Swagger UI, our init script.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Message Pro API reference</title>
<link rel="stylesheet" href="/api/v1/reference/assets/swagger-ui.css">
<link rel="stylesheet" href="/api/v1/reference/assets/api-reference.css">
</head>
<body>
<noscript><p>This page needs JavaScript. The OpenAPI document is at
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></noscript>
<div id="swagger-ui" data-openapi-url="/api/v1/openapi.json"></div>
<script src="/api/v1/reference/assets/swagger-ui-bundle.js"></script>
<script src="/api/v1/reference/assets/api-reference.js"></script>
</body>
</html>
"#;

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// (name, content type, bytes) of every file the page may load.
pub const FILES: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        JS,
        include_bytes!("../../assets/vendor/swagger-ui-dist/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        CSS,
        include_bytes!("../../assets/vendor/swagger-ui-dist/swagger-ui.css"),
    ),
    (
        "api-reference.js",
        JS,
        include_bytes!("../../assets/api-reference.js"),
    ),
    (
        "api-reference.css",
        CSS,
        include_bytes!("../../assets/api-reference.css"),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reference", get(page))
        .route("/api/v1/reference/assets/{file}", get(asset))
}

async fn page() -> Response {
    let mut r = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response();
    r.extensions_mut().insert(CspOverride(CSP));
    r
}

async fn asset(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, ctype, bytes)) => (
            [
                (header::CONTENT_TYPE, *ctype),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => Problem::new(StatusCode::NOT_FOUND, "not_found", "No such file.").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `src`/`href` of the page, in order.
    fn links(html: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for attr in ["src=\"", "href=\""] {
            let mut rest = html;
            while let Some(i) = rest.find(attr) {
                rest = &rest[i + attr.len()..];
                let end = rest.find('"').unwrap();
                out.push(&rest[..end]);
                rest = &rest[end..];
            }
        }
        out
    }

    #[test]
    fn the_page_loads_only_its_own_embedded_files_and_no_inline_script() {
        let links = links(PAGE);
        assert_eq!(links.len(), 5, "{links:?}");
        for link in &links {
            if *link == "/api/v1/openapi.json" {
                continue;
            }
            let file = link
                .strip_prefix(ASSETS)
                .and_then(|f| f.strip_prefix('/'))
                .unwrap_or_else(|| panic!("{link} is not one of the page's assets"));
            assert!(FILES.iter().any(|(n, _, _)| *n == file), "{link}");
        }
        assert!(!PAGE.contains("<script>"), "no inline script");
        assert!(!PAGE.contains("style="), "no inline style");
        assert!(PAGE.contains(r#"data-openapi-url="/api/v1/openapi.json""#));
    }

    #[test]
    fn the_page_csp_differs_from_the_console_only_by_data_images_and_connect() {
        let ours: Vec<&str> = CSP.split("; ").collect();
        for directive in crate::headers::CSP.split("; ") {
            assert!(ours.contains(&directive), "{directive} kept");
        }
        assert!(ours.contains(&"img-src 'self' data:"));
        assert!(ours.contains(&"connect-src 'self'"));
        assert_eq!(ours.len(), crate::headers::CSP.split("; ").count() + 2);
    }
}
