//! The web UI's files, built into the binary (no CDN, no runtime fetch): `GET /` is the page,
//! `/ui/app.js` and `/ui/app.css` its script and style (`web/ui/`), `/ui/vendor/` xterm.js and
//! its fit add-on as published (`web/ui/vendor/README.md`). Every answer carries a
//! strict Content-Security-Policy (only this origin's scripts, no inline script, no framing;
//! inline styles for xterm.js), `nosniff` and no referrer; the page is never cached, so a new binary's UI is the
//! one served.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The policy every UI answer carries.
/// Styles may be inline: xterm.js writes its colours and cell sizes into `<style>` elements
/// (the page itself inserts no HTML, so there is no way in for a stranger's CSS). Scripts may
/// not.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; \
                       img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const INDEX: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
const APP_CSS: &str = include_str!("../ui/app.css");
const XTERM_JS: &str = include_str!("../ui/vendor/xterm.js");
const XTERM_CSS: &str = include_str!("../ui/vendor/xterm.css");
const FIT_JS: &str = include_str!("../ui/vendor/addon-fit.js");

fn file(body: &'static str, content_type: &'static str, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The UI's routes, for the router.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::new()
        .route("/", axum::routing::get(|| async { file(INDEX, "text/html; charset=utf-8", "no-store") }))
        .route(
            "/ui/app.js",
            axum::routing::get(|| async { file(APP_JS, "text/javascript; charset=utf-8", "no-cache") }),
        )
        .route("/ui/app.css", axum::routing::get(|| async { file(APP_CSS, "text/css; charset=utf-8", "no-cache") }))
        .route(
            "/ui/vendor/xterm.js",
            axum::routing::get(|| async { file(XTERM_JS, "text/javascript; charset=utf-8", "no-cache") }),
        )
        .route(
            "/ui/vendor/xterm.css",
            axum::routing::get(|| async { file(XTERM_CSS, "text/css; charset=utf-8", "no-cache") }),
        )
        .route(
            "/ui/vendor/addon-fit.js",
            axum::routing::get(|| async { file(FIT_JS, "text/javascript; charset=utf-8", "no-cache") }),
        )
}
