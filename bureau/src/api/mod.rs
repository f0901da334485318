//! The HTTP API, versioned under `/v1`. Thin: it authenticates, parses, calls the
//! domain modules on a blocking thread, and maps [`Error`] to a status and a JSON
//! body `{"error": {"code": …, "message": …}}` whose code is stable.

mod admin;
mod auth;
mod case_files;
mod cases;
mod custody;
mod enrollment;
mod error;
mod fires;
mod people;
mod request_log;
mod sync;
mod uploads;

pub use auth::{
    cookie, failed, session_cookie, ClientIp, DeviceAuth, SignedIn, Staff, CSRF_HEADER,
};
pub use error::{http_status, ApiError};

pub(crate) use crate::bureau::blocking;
use crate::bureau::Bureau;
use crate::error::{Error, Result};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::Router;
use serde::de::DeserializeOwned;
use std::sync::Arc;

pub type State = Arc<Bureau>;

/// The address a request came from (set by the accept loop,
/// `crate::server`), for rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::SocketAddr);

/// The client's IP address, when the request came through the accept loop.
fn client_ip(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions.get::<ClientAddr>().map(|c| c.0.ip())
}

/// Every route of the bureau, and `pages` (the console, `crate::console`),
/// each request logged ([`request_log`]). A request body that pauses longer
/// than `limits.body_idle_timeout_s` ends the request (`body_timeout`).
pub fn router(bureau: State, pages: Router<State>) -> Router {
    let body_idle = std::time::Duration::from_secs(bureau.limits.body_idle_timeout_s);
    let routes = Router::new()
        .merge(pages)
        .merge(enrollment::routes())
        .merge(sync::routes())
        .merge(uploads::routes())
        .merge(custody::routes())
        .merge(admin::routes())
        .merge(cases::routes())
        .merge(case_files::routes())
        .merge(fires::routes())
        .merge(people::routes())
        .fallback(|| async { ApiError(Error::NotFound { what: "route" }) });
    request_log::logged(routes)
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(body_idle))
        .with_state(bureau)
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// A JSON request body: `application/json`, at most `limits.max_body_bytes`,
/// parsed into `T`. Each failure has its own code (415, 413, 400).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<State> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &State) -> ApiResult<Self> {
        let bytes = read_json_body(req, state.limits.max_body_bytes).await?;
        parse_json(&bytes).map(Json).map_err(ApiError)
    }
}

/// Checks the content type and reads at most `limit` bytes of a JSON body.
pub async fn read_json_body(req: Request, limit: u64) -> Result<Bytes> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Error::UnsupportedContentType {
            expected: "application/json",
        });
    }
    read_body(req.into_body(), limit).await
}

/// Reads a whole body, refusing it as soon as it passes `limit` bytes.
pub async fn read_body(body: Body, limit: u64) -> Result<Bytes> {
    axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|error| {
            if caused_by::<http_body_util::LengthLimitError>(&error) {
                Error::BodyTooLarge { limit }
            } else if caused_by::<tower_http::timeout::TimeoutError>(&error) {
                Error::BodyTimeout
            } else {
                // The client went away or sent a broken body: nothing to store.
                Error::InvalidRequest {
                    reason: "the request body could not be read".into(),
                }
            }
        })
}

/// Whether a `T` is somewhere in `error`'s chain of causes.
fn caused_by<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current.is::<T>() {
            return true;
        }
        cause = current.source();
    }
    false
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::MalformedJson {
        // Line and column only: serde's message can quote the offending input.
        reason: format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}

/// A body fed through a channel, frame by frame: a request body forwarded to
/// its handler (uploads), or a response written by a blocking thread (case
/// files). The bounded channel is what keeps memory bounded.
pub(crate) struct ChannelBody(
    pub tokio::sync::mpsc::Receiver<std::result::Result<http_body::Frame<Bytes>, axum::Error>>,
);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<Self::Data>, Self::Error>>>
    {
        self.0.poll_recv(cx)
    }
}
