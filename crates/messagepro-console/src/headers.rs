//! Security headers on every response: a CSP without inline script, no sniffing, no framing,
//! same-origin referrers, and `no-store` on pages (assets set their own cache policy).
//! A handler may put a [`CspOverride`] in its response's extensions to get another policy (only
//! the API reference page does, see `api::reference`); a `Content-Security-Policy` header set by
//! a handler is still overridden.

use axum::Router;
use axum::body::Body;
use http::{HeaderName, HeaderValue, Response, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy of the console.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// A response extension replacing [`CSP`] for that one response.
#[derive(Debug, Clone, Copy)]
pub struct CspOverride(pub &'static str);

/// Adds the security headers to every response of `router`.
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let fixed: [(HeaderName, &'static str); 3] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    let mut r = router.layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    for (name, value) in fixed {
        r = r.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    r.layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        |res: &Response<Body>| {
            let csp = res.extensions().get::<CspOverride>().map_or(CSP, |c| c.0);
            Some(HeaderValue::from_static(csp))
        },
    ))
}
