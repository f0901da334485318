//! Requests to the bureau within one sync call: the address and the device token,
//! the call's deadline, interrupt and lease checked before every request, and the
//! answers sorted into what they mean — the awaited answer, a refused token, or a
//! failure worth retrying (with the bureau's `Retry-After`).

use super::backoff::{parse_retry_after, system_time};
use super::content_encoding;
use super::interrupt::InterruptScope;
use super::lease::Lease;
use super::transport::{HttpHeader, HttpRequest, HttpResponse, Transport, TransportError};
use crate::error::{Error, Result};
use crate::time::now_ms;
use crate::wire::refusal;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// The longest one request may take, deadline permitting. A stalled link is
/// noticed sooner by the transport's read timeout.
const REQUEST_CAP: Duration = Duration::from_secs(120);
/// A request started with less time than this left would only be cut off.
const MIN_REQUEST_TIME: Duration = Duration::from_secs(1);

pub(crate) struct BureauClient<'a> {
    transport: &'a dyn Transport,
    /// `scheme://host[:port][/prefix]`, without a trailing slash.
    base_url: String,
    token: Option<&'a str>,
    deadline: Instant,
    interrupt: Option<&'a InterruptScope>,
    lease: Option<&'a Lease<'a>>,
    /// The bureau's pinned TLS key, once enrolled with one (`sync::tls_pin`).
    tls_pin: Option<&'a str>,
}

impl<'a> BureauClient<'a> {
    pub fn new(transport: &'a dyn Transport, base_url: &str, deadline: Instant) -> Self {
        Self {
            transport,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: None,
            deadline,
            interrupt: None,
            lease: None,
            tls_pin: None,
        }
    }

    /// Talks only to a server holding the TLS key `pin` names, over `https`.
    pub fn pinned(mut self, pin: Option<&'a str>) -> Self {
        self.tls_pin = pin;
        self
    }

    /// Calls as the enrolled device, within a sync call that holds `lease`.
    pub fn for_sync(
        mut self,
        token: &'a str,
        interrupt: &'a InterruptScope,
        lease: &'a Lease<'a>,
    ) -> Self {
        self.token = Some(token);
        self.interrupt = Some(interrupt);
        self.lease = Some(lease);
        self
    }

    /// Calls with the device token but outside a sync call (no lease to check).
    pub fn with_token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    pub fn time_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Whether another request is worth starting.
    pub fn has_time(&self) -> bool {
        self.time_left() >= MIN_REQUEST_TIME
    }

    /// A path (`/v1/…`) under the bureau's address, or a URL the bureau gave (a tus
    /// `Location`). Paths go under the configured address, prefix included, so a
    /// bureau behind a proxy that does not rewrite `Location` still works. A URL
    /// is followed only on the bureau's own origin (scheme, host and port): the
    /// token never goes to another host, nor over `http` to an `https` bureau.
    pub fn url(&self, target: &str) -> Result<String> {
        if !(has_scheme(target, "http://") || has_scheme(target, "https://")) {
            return Ok(format!(
                "{}/{}",
                self.base_url,
                target.trim_start_matches('/')
            ));
        }
        if !origin(target).eq_ignore_ascii_case(origin(&self.base_url)) {
            return Err(Error::BadResponse {
                reason: "the bureau named an address on another origin; not followed".into(),
            });
        }
        Ok(target.to_owned())
    }

    /// Sends one request. Any HTTP answer comes back, except a refused token
    /// (`AuthRefused`); no answer is `Offline`, `Timeout` or `Cancelled`.
    pub fn send(
        &self,
        method: &str,
        target: &str,
        mut headers: Vec<HttpHeader>,
        body: Vec<u8>,
    ) -> Result<HttpResponse> {
        if self.interrupt.is_some_and(InterruptScope::interrupted) {
            return Err(Error::Cancelled);
        }
        if !self.has_time() {
            return Err(Error::Timeout);
        }
        if let Some(lease) = self.lease {
            lease.check()?;
        }
        if let Some(token) = self.token {
            headers.push(header("Authorization", &format!("Bearer {token}")));
        }
        let (name, value) = content_encoding::ACCEPT;
        headers.push(header(name, value));
        let url = self.url(target)?;
        if self.tls_pin.is_some() && !has_scheme(&url, "https://") {
            return Err(Error::TlsRequired);
        }
        let request = HttpRequest {
            method: method.to_owned(),
            url,
            headers,
            body,
            timeout_ms: self.time_left().min(REQUEST_CAP).as_millis() as u64,
            tls_pin: self.tls_pin.map(str::to_owned),
        };
        let response = self.transport.send(request).map_err(|e| match e {
            TransportError::Offline { reason } => Error::Offline { reason },
            TransportError::Timeout { .. } => Error::Timeout,
            TransportError::Cancelled => Error::Cancelled,
            TransportError::PinMismatch => Error::TlsPinMismatch,
        })?;
        let response = content_encoding::decode(response)?;
        match refusal(&response) {
            refused @ Error::AuthRefused { .. } => Err(refused),
            _ => Ok(response),
        }
    }

    /// A JSON request that must succeed (2xx); returns the parsed answer.
    pub fn json<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T> {
        let headers = match &body {
            Some(_) => vec![header("Content-Type", "application/json")],
            None => Vec::new(),
        };
        let response = self.send(method, path, headers, body.unwrap_or_default())?;
        if !(200..300).contains(&response.status) {
            return Err(refusal(&response));
        }
        serde_json::from_slice(&response.body).map_err(|e| Error::BadResponse {
            reason: format!("{path}: {e}"),
        })
    }
}

pub(crate) fn header(name: &str, value: &str) -> HttpHeader {
    HttpHeader {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// The bureau's error code from an error body (`{"error": {"code": …}}`), or
/// `http_<status>` when there is none (a proxy's page, say).
pub(crate) fn error_code(response: &HttpResponse) -> String {
    serde_json::from_slice::<refusal::ErrorBody>(&response.body).map_or_else(
        |_| format!("http_{}", response.status),
        |body| body.error.code,
    )
}

/// What a non-2xx answer means for the device. Refusals of the token and of an
/// enrollment keep the bureau's code as a core code; anything else is a bureau
/// failure worth retrying, after its `Retry-After` if it gave one.
pub(crate) fn refusal(response: &HttpResponse) -> Error {
    let code = error_code(response);
    let known = |list: &[&'static str]| list.iter().copied().find(|c| *c == code);
    if matches!(response.status, 401 | 403) {
        if let Some(code) = known(&refusal::AUTH) {
            return Error::AuthRefused { code };
        }
    }
    if let Some(code) = known(&refusal::ENROLLMENT) {
        return Error::EnrollmentRefused { code };
    }
    let retry_after_ms = response
        .header("Retry-After")
        .and_then(|value| parse_retry_after(value, system_time(now_ms())));
    Error::ServerError {
        status: response.status,
        code,
        retry_after_ms,
    }
}

/// Whether `url` starts with `scheme` (`"https://"`), in any case.
fn has_scheme(url: &str, scheme: &str) -> bool {
    url.get(..scheme.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
}

/// `scheme://host[:port]` of a URL: what a relative `Location` is resolved
/// against, and what an absolute one must share with the bureau's address.
pub(crate) fn origin(url: &str) -> &str {
    let host = url.find("://").map_or(0, |i| i + 3);
    match url[host..].find('/') {
        Some(path) => &url[..host + path],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Never;
    impl Transport for Never {
        fn send(&self, _: HttpRequest) -> std::result::Result<HttpResponse, TransportError> {
            Err(TransportError::Cancelled)
        }
    }

    fn answer(status: u16, code: &str, headers: Vec<HttpHeader>) -> HttpResponse {
        HttpResponse {
            status,
            headers,
            body: format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#).into_bytes(),
        }
    }

    #[test]
    fn targets_resolve_against_the_bureau_address() {
        let deadline = Instant::now();
        let plain = BureauClient::new(&Never, "http://10.0.0.1:8080/", deadline);
        assert_eq!(
            plain.url("/v1/sync/push").unwrap(),
            "http://10.0.0.1:8080/v1/sync/push"
        );
        assert_eq!(
            plain.url("/v1/uploads/abc").unwrap(),
            "http://10.0.0.1:8080/v1/uploads/abc"
        );
        let prefixed = BureauClient::new(&Never, "https://gov.example/bureau", deadline);
        assert_eq!(
            prefixed.url("/v1/enroll").unwrap(),
            "https://gov.example/bureau/v1/enroll"
        );
        assert_eq!(
            prefixed.url("/v1/uploads/abc").unwrap(),
            "https://gov.example/bureau/v1/uploads/abc"
        );
        assert_eq!(
            prefixed
                .url("https://gov.example/bureau/v1/uploads/x")
                .unwrap(),
            "https://gov.example/bureau/v1/uploads/x"
        );
        assert_eq!(
            prefixed.url("HTTPS://GOV.example/v1/uploads/x").unwrap(),
            "HTTPS://GOV.example/v1/uploads/x",
            "hosts compare without case"
        );
        // Another host, a downgrade to http, another port: never followed.
        for elsewhere in [
            "https://cdn.example/u/1",
            "http://gov.example/bureau/v1/uploads/x",
            "https://gov.example:8443/bureau/v1/uploads/x",
            "https://gov.example.evil.example/v1/uploads/x",
        ] {
            let refused = prefixed.url(elsewhere).unwrap_err();
            assert_eq!(refused.code(), "bad_response", "{elsewhere}");
        }
    }

    #[test]
    fn refusals_keep_the_bureaus_codes() {
        let revoked = refusal(&answer(403, "device_revoked", vec![]));
        assert_eq!(
            (revoked.code(), revoked.kind()),
            ("device_revoked", crate::ErrorKind::InvalidState)
        );
        assert_eq!(
            refusal(&answer(401, "token_expired", vec![])).code(),
            "token_expired"
        );
        let used = refusal(&answer(409, "enrollment_code_used", vec![]));
        assert!(matches!(
            used,
            Error::EnrollmentRefused {
                code: "enrollment_code_used"
            }
        ));
        let busy = refusal(&answer(503, "busy", vec![header("retry-after", "5")]));
        assert!(matches!(
            busy,
            Error::ServerError { status: 503, ref code, retry_after_ms: Some(5_000) } if code == "busy"
        ));
        let proxy = refusal(&HttpResponse {
            status: 502,
            headers: vec![],
            body: b"<html>".to_vec(),
        });
        assert!(matches!(proxy, Error::ServerError { ref code, .. } if code == "http_502"));
        assert_eq!(
            refusal(&answer(403, "outside_jurisdiction", vec![])).code(),
            "server_error"
        );
    }
}
