//! Bearer-token authentication: the admin token for `/v1/admin`, a device's
//! access token for everything a device calls.

use super::{blocking, request_log, ApiError, State};
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
        if state.is_admin_token(&bearer(parts)?) {
            request_log::note_admin();
            Ok(AdminAuth)
        } else {
            Err(Error::InvalidToken.into())
        }
    }
}

impl FromRequestParts<State> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let device = blocking(state, move |b| enrollment::authenticate(&b.db, &token)).await?;
        request_log::note_device(&device.id);
        Ok(DeviceAuth(device))
    }
}
