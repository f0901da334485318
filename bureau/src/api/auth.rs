//! Who is asking. Devices: their access token (`Authorization: Bearer`).
//! Staff: the admin token (`Authorization: Bearer`, for automation and the
//! first admin) or a signed-in session (the `fp_session` cookie,
//! [`crate::people::sessions`]); a session's request that changes something
//! must carry its CSRF token in `X-CSRF-Token`. What a staff member may then
//! see and do is the domain's check ([`crate::people::Actor`]), in each handler.

use super::{blocking, client_ip, request_log, ApiError, State};
use crate::enrollment::{self, Device};
use crate::error::Error;
use crate::now_ms;
use crate::people::sessions::{self, Session, COOKIE};
use crate::people::Actor;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE as COOKIE_HEADER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};

/// The staff member (or the admin token) asking.
pub struct Staff(pub Actor);

/// The signed-in session the request's cookie opens, with its token (to end it).
pub struct SignedIn {
    pub token: String,
    pub session: Session,
}

/// The enrolled, unrevoked device whose token the request carries.
pub struct DeviceAuth(pub Device);

/// The client's IP address, when the request came through the accept loop.
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(&parts.extensions)))
    }
}

/// The `Set-Cookie` value for a session's `token`, or one that clears the
/// cookie (`None`); `Secure` when the bureau serves HTTPS itself.
pub fn session_cookie(state: &State, token: Option<&str>) -> HeaderValue {
    let (token, max_age) = match token {
        Some(token) => (token, state.limits.session_max_s),
        None => ("", 0),
    };
    // Tokens are base64url: always a valid header value.
    HeaderValue::from_str(&sessions::cookie(token, max_age, state.tls.is_some()))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `csrf_rejected` unless the request carries `session`'s CSRF token.
pub fn check_csrf(headers: &HeaderMap, session: &Session) -> Result<(), Error> {
    let presented = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match presented {
        Some(token) if session.csrf_matches(token) => Ok(()),
        _ => Err(Error::CsrfRejected),
    }
}

/// The header a session's changing request carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn bearer(parts: &Parts) -> Result<String, Error> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or(Error::Unauthenticated)
}

/// The value of the cookie `name` in a request's headers, if any.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The session token in the request's cookies, if any.
fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

impl FromRequestParts<State> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiError> {
        let address = client_ip(&parts.extensions);
        // Past its failures, an address may not try the admin token at all.
        state
            .rate_limits
            .auth_failures_exhausted(address)
            .map_err(Error::rate_limited)?;
        if parts.headers.contains_key(AUTHORIZATION) {
            return match bearer(parts) {
                Ok(token) if state.is_admin_token(&token) => {
                    request_log::note_admin();
                    Ok(Staff(Actor::AdminToken))
                }
                Ok(_) => Err(failed(state, address, Error::InvalidToken)),
                Err(error) => Err(failed(state, address, error)),
            };
        }
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        if !parts.method.is_safe() {
            check_csrf(&parts.headers, &signed_in.session)?;
        }
        Ok(Staff(signed_in.session.actor()))
    }
}

impl FromRequestParts<State> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiError> {
        let address = client_ip(&parts.extensions);
        let token = session_token(&parts.headers)
            .ok_or_else(|| failed(state, address, Error::Unauthenticated))?;
        let lifetime = state.session_lifetime();
        let now = now_ms();
        let cookie = token.clone();
        let session = blocking(state, move |b| {
            let session =
                b.db.read(|tx| sessions::resume(tx, &cookie, lifetime, now))?;
            if session.needs_touch(now) {
                b.db.write(|tx| sessions::touch(tx, &cookie, now))?;
            }
            Ok(session)
        })
        .await
        .map_err(|e| match e {
            Error::InvalidToken => failed(state, address, e),
            other => other.into(),
        })?;
        request_log::note_user(&session.user.id);
        Ok(SignedIn { token, session })
    }
}

impl FromRequestParts<State> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiError> {
        let address = client_ip(&parts.extensions);
        let token = bearer(parts).map_err(|e| failed(state, address, e))?;
        let device = blocking(state, move |b| enrollment::authenticate(&b.db, &token))
            .await
            .map_err(|e| match e {
                Error::InvalidToken => failed(state, address, e),
                other => other.into(),
            })?;
        request_log::note_device(&device.id);
        state
            .rate_limits
            .device(&device.id)
            .map_err(Error::rate_limited)?;
        Ok(DeviceAuth(device))
    }
}

/// The device a request's bearer token names, if it names one; no token, or one
/// that does not authenticate, is no device (for public routes, which answer
/// everyone alike).
pub struct MaybeDevice(pub Option<Device>);

impl FromRequestParts<State> for MaybeDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiError> {
        let Ok(token) = bearer(parts) else {
            return Ok(MaybeDevice(None));
        };
        let device = blocking(state, move |b| enrollment::authenticate(&b.db, &token)).await;
        Ok(MaybeDevice(device.ok()))
    }
}

/// A failed authentication from `address`: its own refusal, or `429` once the
/// address is past its failures (a valid token still passes, see `rate_limits`).
pub fn failed(state: &State, address: Option<std::net::IpAddr>, error: Error) -> ApiError {
    match state.rate_limits.auth_failure(address) {
        Ok(()) => error.into(),
        Err(wait) => Error::rate_limited(wait).into(),
    }
}
