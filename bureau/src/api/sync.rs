//! Device sync routes: `POST /v1/sync/push` and `GET /v1/sync/pull`.

use super::{blocking, ApiResult, DeviceAuth, Json, State};
use crate::error::Error;
use crate::sync::pull::{self, PullRequest};
use crate::sync::push;
use axum::extract::{Query, State as Extract};
use axum::routing::{get, post};
use axum::Router;
use fieldproof_core::wire::ops::{PushRequest, PushResponse};
use fieldproof_core::wire::pull::PullPage;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/v1/sync/push", post(push_ops))
        .route("/v1/sync/pull", get(pull_changes))
}

async fn push_ops(
    DeviceAuth(device): DeviceAuth,
    Extract(state): Extract<State>,
    Json(request): Json<PushRequest>,
) -> ApiResult<axum::Json<PushResponse>> {
    let response = blocking(&state, move |b| push::push(b, &device, &request.ops)).await?;
    Ok(axum::Json(response))
}

async fn pull_changes(
    DeviceAuth(device): DeviceAuth,
    Extract(state): Extract<State>,
    query: Result<Query<PullRequest>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<PullPage>> {
    let Query(request) = query.map_err(|_| Error::InvalidRequest {
        reason: "pull takes cursor, limit, max_bytes and jurisdiction parameters only".into(),
    })?;
    let page = blocking(&state, move |b| pull::pull(b, &device, &request)).await?;
    Ok(axum::Json(page))
}
