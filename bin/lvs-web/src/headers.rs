//! The response headers every answer carries: a Content-Security-Policy
//! that allows only this server's own script and style files (no inline
//! script or style, no framing, forms post only here), nosniff, no
//! referrer to other sites, and `Cache-Control: no-store, no-cache` with `Pragma:
//! no-cache` unless a handler set its own (the static files do), so that
//! a page with config or status is never kept by a proxy or a browser's
//! history cache, text browsers included.

use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy: everything from this origin only, nothing inline.
pub const CSP: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/// The headers, as (name, value, overriding): overriding ones replace
/// whatever a handler set; the others are defaults.
pub fn headers() -> [(HeaderName, HeaderValue, bool); 7] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
            true,
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
            true,
        ),
        // same-origin, not no-referrer: under no-referrer Chromium sends
        // `Origin: null` with a form's POST, which the Origin check must
        // refuse; same-origin still sends nothing to other sites.
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
            true,
        ),
        (
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
            true,
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
            true,
        ),
        // no-store for browsers and proxies; no-cache too, and Pragma,
        // because lynx knows only those and otherwise shows a page it saw
        // before (a stale CHANGES page after an apply).
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, no-cache"),
            false,
        ),
        (header::PRAGMA, HeaderValue::from_static("no-cache"), false),
    ]
}

/// Adds [`headers`] to a router.
pub fn apply(mut router: axum::Router) -> axum::Router {
    for (name, value, overriding) in headers() {
        router = if overriding {
            router.layer(SetResponseHeaderLayer::overriding(name, value))
        } else {
            router.layer(SetResponseHeaderLayer::if_not_present(name, value))
        };
    }
    router
}
