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
use tower_http::compression::predicate::SizeAbove;
use tower_http::compression::CompressionLayer;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/v1/sync/push", post(push_ops))
        .route("/v1/sync/pull", get(pull_changes).layer(gzip_above_1_kib()))
}

/// Pull pages carry reference data (boundaries: 1.34 MB of JSON, 0.38 MB
/// gzipped), so they are gzipped for a device that asks; below 1 KiB the
/// saving is not worth a 2G round of CPU and headers.
fn gzip_above_1_kib() -> CompressionLayer<SizeAbove> {
    CompressionLayer::new()
        .no_br()
        .no_deflate()
        .no_zstd()
        .compress_when(SizeAbove::new(1024))
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
