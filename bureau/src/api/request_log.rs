//! One structured log event per request (`tracing`): method, route, status,
//! latency, the device or staff account (by id) that asked, and a refusal's error code. The route is the
//! template (`/v1/admin/inspections/{id}`), never the path or its query; headers
//! (tokens) and bodies (names, phone and ID numbers) are never logged. Where the
//! events go is the binary's choice (`fieldproof serve`: JSON lines on stderr).

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use axum::Router;
use std::time::Duration;
use tower_http::trace::TraceLayer;
use tracing::field::Empty;
use tracing::Span;

/// `router` with every request logged.
pub fn logged<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(span)
            .on_request(())
            .on_response(answered)
            .on_failure(()),
    )
}

fn span(request: &Request<Body>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        device = Empty,
        admin = Empty,
        user = Empty,
        error = Empty,
    )
}

fn answered(response: &Response<Body>, latency: Duration, _: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_millis() as u64,
        "answered"
    );
}

/// Notes on the request's log line who asked: a device, by its id.
pub fn note_device(device_id: &str) {
    Span::current().record("device", device_id);
}

/// Notes on the request's log line that the admin token asked.
pub fn note_admin() {
    Span::current().record("admin", true);
}

/// Notes on the request's log line which staff account asked (its id; never
/// its name).
pub fn note_user(user_id: &str) {
    Span::current().record("user", user_id);
}

/// Notes a refusal's stable code on the request's log line.
pub fn note_error(code: &str) {
    Span::current().record("error", code);
}
