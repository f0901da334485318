//! The built-in [`Transport`]: ureq over rustls (ring provider, webpki roots), for
//! the CLI, tests and foreground use on the device. A request with a `tls_pin`
//! goes through an agent that checks the bureau's key instead of a CA chain
//! ([`super::tls_pin`]), one agent per pin.

use super::tls_pin::{self, MISMATCH};
use super::transport::{HttpHeader, HttpRequest, HttpResponse, Transport, TransportError};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// A link that has not produced a TCP connection by then is not coming back soon.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Silence this long while reading means the link stalled (a 2G cell lost).
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Bureau answers are JSON; a pull page carrying boundaries is the largest.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

pub struct HttpTransport {
    agent: ureq::Agent,
    pinned: Mutex<HashMap<String, ureq::Agent>>,
}

impl Default for HttpTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpTransport {
    pub fn new() -> Self {
        Self {
            agent: config().new_agent(),
            pinned: Mutex::default(),
        }
    }

    /// The agent for requests pinned to `pin`, made on first use.
    fn pinned_agent(&self, pin: &str) -> ureq::Agent {
        let mut agents = self.pinned.lock().unwrap_or_else(PoisonError::into_inner);
        let agent = agents
            .entry(pin.to_owned())
            .or_insert_with(|| tls_pin::pinned_agent(pin, config()));
        agent.clone()
    }
}

fn config() -> ureq::config::Config {
    ureq::Agent::config_builder()
        // 4xx and 5xx are answers for the sync engine to read, not failures.
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .build()
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
        let agent = match &request.tls_pin {
            Some(pin) => self.pinned_agent(pin),
            None => self.agent.clone(),
        };
        // GET and HEAD go without a body at all: ureq refuses one, even empty.
        let response = if request.body.is_empty() {
            run(&agent, builder.body(()), timeout)
        } else {
            run(&agent, builder.body(request.body), timeout)
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

fn run<B: ureq::AsSendBody>(
    agent: &ureq::Agent,
    request: Result<ureq::http::Request<B>, ureq::http::Error>,
    timeout: Duration,
) -> Result<ureq::http::Response<ureq::Body>, TransportError> {
    let request = request.map_err(|e| TransportError::Offline {
        reason: format!("request cannot be built: {e}"),
    })?;
    let configured = agent
        .configure_request(request)
        .timeout_global(Some(timeout))
        .build();
    agent.run(configured).map_err(transport_error)
}

fn transport_error(error: ureq::Error) -> TransportError {
    if is_pin_mismatch(&error) {
        return TransportError::PinMismatch;
    }
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

/// Whether the TLS handshake failed on the pin (`tls_pin::PinVerifier`).
fn is_pin_mismatch(error: &ureq::Error) -> bool {
    let rustls_error = match error {
        ureq::Error::Rustls(e) => Some(e),
        ureq::Error::Io(e) => e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    matches!(rustls_error, Some(rustls::Error::General(reason)) if reason == MISMATCH)
}
