//! `POST /v1/enroll/challenge` (a nonce to sign), `POST /v1/enroll` (a one-time
//! code, a device key and its signature over the nonce in, a certificate and a
//! token out) and `GET /v1/bureau` (the bureau's public key, for verifiers).

use super::{blocking, client_ip, ApiResult, Json, State};
use crate::enrollment::{self, EnrollAnswer, EnrollRequest};
use crate::error::Error;
use axum::extract::State as Extract;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use fieldproof_core::hex;
use fieldproof_core::wire::enrollment::{EnrollChallenge, ENROLL_CHALLENGE_PATH, ENROLL_PATH};
use serde_json::{json, Value};

pub fn routes() -> Router<State> {
    Router::new()
        .route(ENROLL_CHALLENGE_PATH, post(challenge))
        .route(ENROLL_PATH, post(enroll))
        .route("/v1/bureau", get(bureau_info))
}

async fn challenge(
    Extract(state): Extract<State>,
    request: Request,
) -> ApiResult<(StatusCode, axum::Json<EnrollChallenge>)> {
    limit(&state, &request)?;
    let challenge = blocking(&state, |b| b.db.write(enrollment::challenges::issue)).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge)))
}

async fn enroll(
    Extract(state): Extract<State>,
    request: Request,
) -> ApiResult<(StatusCode, axum::Json<EnrollAnswer>)> {
    limit(&state, &request)?;
    let Json(request) = Json::<EnrollRequest>::from_request(request, &state).await?;
    let enrollment = blocking(&state, move |b| {
        let ttl_ms = b.limits.token_ttl_s as i64 * 1000;
        b.db.write(|tx| enrollment::enroll(tx, &b.key, &request, ttl_ms))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(enrollment)))
}

/// Enrollment is limited per client address (`rate_limits`).
fn limit(state: &State, request: &Request) -> ApiResult<()> {
    let address = client_ip(request.extensions());
    state
        .rate_limits
        .enrollment(address)
        .map_err(|wait| Error::rate_limited(wait).into())
}

async fn bureau_info(Extract(state): Extract<State>) -> axum::Json<Value> {
    axum::Json(json!({
        "api": "v1",
        "public_key": hex::encode(state.key.public_key()),
        "storage": state.db.backend(),
        "limits": {
            "max_body_bytes": state.limits.max_body_bytes,
            "max_ops_per_push": state.limits.max_ops_per_push,
            "max_photo_bytes": state.limits.max_photo_bytes,
        },
    }))
}
