//! The bureau's web console for reviewers, legal reviewers, dispatchers and
//! admins, served by the bureau itself under `/console`.
//!
//! Why this stack: government offices often run on an intranet with no
//! internet, and `cargo build` alone must give a working console. So pages are
//! HTML written on the server with `maud` (compile-time templates that escape
//! every value by construction: a `<script>` in findings is shown as text),
//! forms post ordinary HTML forms (every page works without JavaScript), and
//! one small script (`assets/console.js`) only adds picking a place on the map
//! and confirmations. No Node at build or run time, no CDN, no web fonts; the
//! map is an SVG drawn here, and a tile server is used only when one is
//! configured (`[console] tile_url`). The Content-Security-Policy says so to
//! the browser: nothing loads from anywhere but the bureau (and those tiles).
//!
//! Layering: like [`crate::api`], handlers check who asks ([`viewer`]) and call
//! the domain (`cases`, `people`, `enrollment`); they decide nothing themselves.

mod assets;
mod cases;
mod dashboard;
mod devices;
mod fires;
mod labels;
mod login;
mod map;
mod page;
mod staff;
mod tasks;
mod viewer;

use crate::api::{http_status, State};
use crate::error::Error;
use axum::extract::{Request, State as Extract};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// Every console route, with its security headers.
pub fn routes(state: State) -> Router<State> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(dashboard::page_handler))
        .merge(login::routes())
        .merge(cases::routes())
        .merge(tasks::routes())
        .merge(devices::routes())
        .merge(fires::routes())
        .merge(map::routes())
        .merge(staff::routes())
        .merge(assets::routes())
        .layer(middleware::from_fn_with_state(state, security_headers))
}

/// What the browser may load and do on a console page: only the bureau's own
/// scripts, styles, forms and images (and the configured tiles); never framed.
async fn security_headers(
    Extract(state): Extract<State>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let tiles = state
        .console
        .tile_origin()
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A refusal shown as a page: its status, its words in Chinese where we have
/// them, and its stable code.
pub struct ConsoleError(pub Error);

impl From<Error> for ConsoleError {
    fn from(error: Error) -> Self {
        ConsoleError(error)
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(http_status(&self.0)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(code = self.0.code(), message = %self.0, "console page failed");
        }
        let mut response = (status, page::error_page(&self.0)).into_response();
        if let Error::RateLimited { retry_after_s } | Error::LoginThrottled { retry_after_s } =
            self.0
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        response
    }
}

pub type PageResult<T = Response> = std::result::Result<T, ConsoleError>;
