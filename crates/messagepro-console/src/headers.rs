//! Security headers on every response: a CSP without inline script, no sniffing, no framing,
//! same-origin referrers, and `no-store` on pages (assets set their own cache policy).

use axum::Router;
use http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy of the console.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Adds the security headers to every response of `router`.
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
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
    r
}
