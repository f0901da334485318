//! The built-in [`Transport`]: ureq over rustls (ring provider, webpki roots), for
//! the CLI, tests and foreground use on the device.

use super::transport::{HttpHeader, HttpRequest, HttpResponse, Transport, TransportError};
use std::io::ErrorKind;
use std::time::Duration;

/// A link that has not produced a TCP connection by then is not coming back soon.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Silence this long while reading means the link stalled (a 2G cell lost).
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Bureau answers are JSON; a pull page carrying boundaries is the largest.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

pub struct HttpTransport {
    agent: ureq::Agent,
}

impl Default for HttpTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpTransport {
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            // 4xx and 5xx are answers for the sync engine to read, not failures.
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_per_read(Some(READ_TIMEOUT))
            .build()
            .new_agent();
        Self { agent }
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for header in &request.headers {
            builder = builder.header(header.name.as_str(), header.value.as_str());
        }
        let timeout = Duration::from_millis(request.timeout_ms);
        // GET and HEAD go without a body at all: ureq refuses one, even empty.
        let response = if request.body.is_empty() {
            self.run(builder.body(()), timeout)
        } else {
            self.run(builder.body(request.body), timeout)
        }?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some(HttpHeader {
                    name: name.as_str().to_owned(),
                    value: value.to_str().ok()?.to_owned(),
                })
            })
            .collect();
        let body = response
            .into_body()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(transport_error)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

impl HttpTransport {
    fn run<B: ureq::AsSendBody>(
        &self,
        request: Result<ureq::http::Request<B>, ureq::http::Error>,
        timeout: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, TransportError> {
        let request = request.map_err(|e| TransportError::Offline {
            reason: format!("request cannot be built: {e}"),
        })?;
        let configured = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeout))
            .build();
        self.agent.run(configured).map_err(transport_error)
    }
}

fn transport_error(error: ureq::Error) -> TransportError {
    match error {
        ureq::Error::Timeout(which) => TransportError::Timeout {
            reason: which.to_string(),
        },
        ureq::Error::Io(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            TransportError::Timeout {
                reason: e.to_string(),
            }
        }
        other => TransportError::Offline {
            reason: other.to_string(),
        },
    }
}
