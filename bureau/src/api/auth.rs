//! Bearer-token authentication: the admin token for `/v1/admin`, a device's
//! access token for everything a device calls.

use super::{blocking, client_ip, request_log, ApiError, State};
use crate::enrollment::{self, Device};
use crate::error::Error;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// Proof that the request carries the admin token.
pub struct AdminAuth;

/// The enrolled, unrevoked device whose token the request carries.
pub struct DeviceAuth(pub Device);

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

impl FromRequestParts<State> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiError> {
        let address = client_ip(&parts.extensions);
        // Past its failures, an address may not try the admin token at all.
        let limits = &state.rate_limits;
        limits
            .auth_failures_exhausted(address)
            .map_err(Error::rate_limited)?;
        match bearer(parts) {
            Ok(token) if state.is_admin_token(&token) => {
                request_log::note_admin();
                Ok(AdminAuth)
            }
            Ok(_) => Err(failed(state, address, Error::InvalidToken)),
            Err(error) => Err(failed(state, address, error)),
        }
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

/// A failed authentication from `address`: its own refusal, or `429` once the
/// address is past its failures (a valid token still passes, see `rate_limits`).
fn failed(state: &State, address: Option<std::net::IpAddr>, error: Error) -> ApiError {
    match state.rate_limits.auth_failure(address) {
        Ok(()) => error.into(),
        Err(wait) => Error::rate_limited(wait).into(),
    }
}
