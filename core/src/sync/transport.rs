//! The one way the core speaks HTTP: a [`Transport`] the platform may implement
//! (e.g. iOS background `URLSession`, Android OkHttp) or the built-in
//! [`super::http_transport::HttpTransport`]. Plain data only — strings, bytes,
//! numbers — so that Kotlin and Swift can implement it as a uniffi foreign trait.

/// One HTTP header, as sent or received. Names compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, `HEAD`, `PATCH`, …
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    /// Empty for requests without a body.
    pub body: Vec<u8>,
    /// The whole exchange (connect, send, receive) must end within this.
    pub timeout_ms: u64,
    /// The bureau's pinned TLS key (`sha256/<base64 of its SPKI's SHA-256>`,
    /// OkHttp's `CertificatePinner` form): when set, a transport must refuse, before
    /// sending anything, a server whose leaf certificate holds another key
    /// ([`TransportError::PinMismatch`]). The URL is then always `https`.
    pub tls_pin: Option<String>,
}

/// Any answer the server gave, 4xx and 5xx included: those are the bureau's to
/// explain, not transport failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// The exchange did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// The server's TLS key is not the pinned one: nothing was sent.
    #[error("the server's TLS key is not the pinned one")]
    PinMismatch,
}

/// Sends HTTP requests. Called from the thread running the sync; may block.
///
/// Send the headers given and return the body as received: the core asks for
/// gzip itself and decodes it. (OkHttp leaves a body alone when the caller set
/// `Accept-Encoding`; URLSession decodes anyway, which the core recognises.)
pub trait Transport: Send + Sync {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}
