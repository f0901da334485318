//! The platform's HTTP stack as the sync engine's transport (Android OkHttp, iOS
//! background `URLSession`): a foreign trait mirroring core's `Transport`, plain
//! data only.

use fieldproof_core::sync::{self as core_sync, HttpRequest, HttpResponse};
use std::sync::Arc;

/// Sends one HTTP request for the sync engine, on the thread running the sync (it
/// may block). Every answer the server gave is a response, 4xx and 5xx included;
/// throw only when there is no answer.
#[uniffi::export(with_foreign)]
pub trait Transport: Send + Sync {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// The exchange did not produce an answer.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TransportError {
    /// No connection: no network, DNS failure, refused, reset, TLS failure.
    #[error("offline: {reason}")]
    Offline { reason: String },
    /// The request's `timeout_ms` passed before the answer was complete.
    #[error("timed out: {reason}")]
    Timeout { reason: String },
    /// The platform cancelled the request (e.g. the OS ended background work).
    #[error("cancelled")]
    Cancelled,
    /// The server's TLS key is not the request's `tls_pin`: nothing was sent.
    #[error("the server's TLS key is not the pinned one")]
    PinMismatch,
}

/// A platform transport that failed in a way its declared error does not cover
/// (e.g. an unexpected exception): no answer, so the work waits for a retry.
impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportError::Offline {
            reason: format!("platform transport failed: {}", err.reason),
        }
    }
}

impl From<TransportError> for core_sync::TransportError {
    fn from(err: TransportError) -> Self {
        match err {
            TransportError::Offline { reason } => core_sync::TransportError::Offline { reason },
            TransportError::Timeout { reason } => core_sync::TransportError::Timeout { reason },
            TransportError::Cancelled => core_sync::TransportError::Cancelled,
            TransportError::PinMismatch => core_sync::TransportError::PinMismatch,
        }
    }
}

/// A foreign [`Transport`] as the core's.
pub(crate) struct PlatformTransport(pub Arc<dyn Transport>);

impl core_sync::Transport for PlatformTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, core_sync::TransportError> {
        self.0.send(request).map_err(Into::into)
    }
}
