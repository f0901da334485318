//! Custody log routes. Checkpoints and proofs hold only hashes and sizes, so they
//! are public, like a transparency log's; the logged records themselves (places,
//! officers) are for the admin.

use super::auth::MaybeDevice;
use super::{blocking, ApiResult, Staff, State};
use crate::custody_log::{self, persisted, Hash, SignedCheckpoint};
use crate::error::Error;
use crate::params;
use crate::people::StaffRole;
use axum::extract::{Query, State as Extract};
use axum::routing::get;
use axum::Router;
use fieldproof_core::hex;
use fieldproof_core::wire::custody::{ConsistencyProof, CustodyAlarms, CONSISTENCY_PATH};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/v1/custody/checkpoint", get(checkpoint))
        .route(CONSISTENCY_PATH, get(consistency))
        .route("/v1/custody/inclusion", get(inclusion))
        .route("/v1/admin/custody/entries", get(entries))
        .route("/v1/admin/custody/alarms", get(alarms))
}

/// Devices that pushed records naming a checkpoint beyond the log: the bureau
/// was restored from a backup older than what they hold.
async fn alarms(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
) -> ApiResult<axum::Json<CustodyAlarms>> {
    actor.require_everywhere(StaffRole::Admin)?;
    let alarms = blocking(&state, |b| custody_log::alarms::list(&b.db)).await?;
    Ok(axum::Json(CustodyAlarms { alarms }))
}

async fn checkpoint(Extract(state): Extract<State>) -> ApiResult<axum::Json<SignedCheckpoint>> {
    let checkpoint = blocking(&state, |b| {
        persisted::latest_checkpoint(&b.db, &b.log, &b.key)
    })
    .await?;
    Ok(axum::Json(checkpoint))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    old_size: u64,
    /// Defaults to the latest checkpoint's size.
    new_size: Option<u64>,
}

/// A device asking for a proof up to a checkpoint beyond the log holds that
/// checkpoint: a custody alarm (`custody_log::alarms`), then the same refusal
/// as for anyone.
async fn consistency(
    MaybeDevice(device): MaybeDevice,
    Extract(state): Extract<State>,
    query: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<ConsistencyProof>> {
    let Query(query) =
        query.map_err(|_| bad_query("old_size and optionally new_size, as integers"))?;
    let proof = blocking(&state, move |b| {
        let size = b.log.refresh(&b.db)?;
        let new_size = query.new_size.unwrap_or(size);
        if let (Some(device), true) = (&device, new_size > size) {
            b.db.write(|tx| custody_log::alarms::check(tx, &device.id, new_size, None))?;
        }
        let proof = b
            .log
            .with(|log| log.consistency_proof(query.old_size, new_size))?;
        Ok(ConsistencyProof {
            old_size: query.old_size,
            new_size,
            proof,
        })
    })
    .await?;
    Ok(axum::Json(proof))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    leaf_index: u64,
    tree_size: u64,
}

#[derive(Serialize)]
struct InclusionProof {
    leaf_index: u64,
    tree_size: u64,
    #[serde(serialize_with = "fieldproof_core::hex::serialize")]
    leaf_hash: Hash,
    #[serde(serialize_with = "fieldproof_core::hex::serialize_list")]
    proof: Vec<Hash>,
}

async fn inclusion(
    Extract(state): Extract<State>,
    query: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<InclusionProof>> {
    let Query(query) = query.map_err(|_| bad_query("leaf_index and tree_size, as integers"))?;
    let proof = blocking(&state, move |b| {
        b.log.refresh(&b.db)?;
        let proof = b
            .log
            .with(|log| log.inclusion_proof(query.leaf_index, query.tree_size))?;
        let leaf_hash = b.db.read(|tx| {
            tx.query_one(
                "SELECT leaf_hash FROM custody_log WHERE leaf_index = $1",
                params![query.leaf_index],
            )?
            .hash(0)
        })?;
        Ok(InclusionProof {
            leaf_index: query.leaf_index,
            tree_size: query.tree_size,
            leaf_hash,
            proof,
        })
    })
    .await?;
    Ok(axum::Json(proof))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    #[serde(default)]
    start: u64,
    limit: Option<u64>,
}

/// One logged record: anyone holding `record` can recompute `leaf_hash`.
#[derive(Serialize)]
struct Entry {
    leaf_index: u64,
    device_id: String,
    seq: Option<i64>,
    record: String,
}

const MAX_ENTRIES: u64 = 1000;

/// The log's records are every device's: for the admin token (auditors' tools).
async fn entries(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    query: Result<Query<EntriesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<Vec<Entry>>> {
    actor.require_everywhere(StaffRole::Admin)?;
    let Query(query) = query.map_err(|_| bad_query("start and limit, as integers"))?;
    let limit = query.limit.unwrap_or(MAX_ENTRIES).clamp(1, MAX_ENTRIES);
    let entries = blocking(&state, move |b| {
        b.db.read(|tx| {
            tx.query(
                "SELECT l.leaf_index, r.device_id, r.seq, r.signed FROM custody_log l
                 JOIN evidence_records r ON r.id = l.record_id
                 WHERE l.leaf_index >= $1 ORDER BY l.leaf_index LIMIT $2",
                params![query.start, limit],
            )?
            .iter()
            .map(|row| {
                let record = row.blob(3)?;
                Ok(Entry {
                    leaf_index: row.int(0)? as u64,
                    device_id: row.text(1)?,
                    seq: row.opt_int(2)?,
                    record: hex::encode(&record),
                })
            })
            .collect()
        })
    })
    .await?;
    Ok(axum::Json(entries))
}

fn bad_query(expected: &str) -> Error {
    Error::InvalidRequest {
        reason: format!("query parameters: {expected}"),
    }
}
