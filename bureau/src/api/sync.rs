//! Device sync routes: `POST /v1/sync/push` and `GET /v1/sync/pull`.

use super::{blocking, ApiResult, DeviceAuth, Json, State};
use crate::custody_log::{persisted, Receipt, SignedCheckpoint};
use crate::error::Error;
use crate::sync::pull::{self, PullPage, PullRequest};
use crate::sync::push::{self, OpResult, PushRequest};
use axum::extract::{Query, State as Extract};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/v1/sync/push", post(push_ops))
        .route("/v1/sync/pull", get(pull_changes))
}

#[derive(Serialize)]
struct PushResponse {
    results: Vec<OpResult>,
    /// Present when any op in this push logged an evidence record (now or the
    /// first time): the checkpoint its receipts prove inclusion in.
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<SignedCheckpoint>,
    /// One per logged evidence record in this push, in op order.
    receipts: Vec<OpReceipt>,
}

#[derive(Serialize)]
struct OpReceipt {
    op_id: String,
    receipt: Receipt,
}

async fn push_ops(
    DeviceAuth(device): DeviceAuth,
    Extract(state): Extract<State>,
    Json(request): Json<PushRequest>,
) -> ApiResult<axum::Json<PushResponse>> {
    let limit = state.limits.max_ops_per_push;
    if request.ops.len() > limit {
        return Err(Error::TooManyOps { limit }.into());
    }
    let response = blocking(&state, move |b| {
        let results =
            b.db.write(|tx| push::apply_batch(tx, &device, &request.ops))?;
        let logged: Vec<_> = results
            .iter()
            .filter_map(|r| Some((r, r.leaf_index()?)))
            .collect();
        if logged.is_empty() {
            return Ok(PushResponse {
                results,
                checkpoint: None,
                receipts: Vec::new(),
            });
        }
        let checkpoint = persisted::latest_checkpoint(&b.db, &b.log, &b.key)?;
        let receipts = logged
            .into_iter()
            .map(|(r, leaf)| {
                Ok(OpReceipt {
                    op_id: r.op_id.clone(),
                    receipt: persisted::receipt(&b.log, leaf, &checkpoint)?,
                })
            })
            .collect::<crate::Result<_>>()?;
        Ok(PushResponse {
            checkpoint: Some(checkpoint),
            receipts,
            results,
        })
    })
    .await?;
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
