//! `POST /v1/sync/push`: a batch of outbox ops from one device, each applied
//! exactly once.
//!
//! The whole batch is one transaction and each op runs in its own savepoint: an
//! op's effect and its `op_id` (with its result) commit together, and a refused op
//! leaves nothing behind. A resent `op_id` changes nothing and returns the first
//! result as `duplicate`. Storage failures abort the whole batch (the device
//! retries it; nothing of it was committed).

use super::inspection_ops;
use crate::enrollment::Device;
use crate::error::{Error, Result};
use crate::evidence_ingest;
use crate::storage::{savepoint, Tx};
use crate::{now_ms, params};
use fieldproof_core::hex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One op as the device's outbox sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    pub op_id: String,
    pub kind: String,
    #[serde(default)]
    pub entity_id: String,
    pub payload: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub ops: Vec<Op>,
}

/// What became of an op. `status` is `applied`, `duplicate`, `conflict` or
/// `rejected`; `reason` is a stable code for the last two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpResult {
    pub op_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Kind-specific detail, e.g. an evidence record's leaf index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// For a `duplicate`: the status the op got the first time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_status: Option<String>,
}

impl OpResult {
    fn new(op_id: &str, status: &str) -> Self {
        Self {
            op_id: op_id.to_owned(),
            status: status.to_owned(),
            reason: None,
            message: None,
            result: None,
            original_status: None,
        }
    }

    fn refused(op_id: &str, status: &str, error: &Error) -> Self {
        Self {
            reason: Some(error.code().to_owned()),
            message: Some(error.to_string()),
            ..Self::new(op_id, status)
        }
    }

    /// The leaf index of an accepted evidence record, when this op logged one.
    pub fn leaf_index(&self) -> Option<u64> {
        self.result.as_ref()?.get("leaf_index")?.as_u64()
    }
}

/// Applies a batch for `device`, in order, within the caller's transaction.
pub fn apply_batch(tx: &mut Tx, device: &Device, ops: &[Op]) -> Result<Vec<OpResult>> {
    ops.iter().map(|op| apply_once(tx, device, op)).collect()
}

fn apply_once(tx: &mut Tx, device: &Device, op: &Op) -> Result<OpResult> {
    let Ok(op_id) = parse_op_id(&op.op_id) else {
        // Without a valid op_id there is nothing to remember the result under.
        return Ok(OpResult::refused(
            &op.op_id,
            "rejected",
            &Error::InvalidId { what: "op_id" },
        ));
    };
    if let Some(row) = tx.query_opt(
        "SELECT device_id, result FROM applied_ops WHERE op_id = $1",
        params![&op_id],
    )? {
        if row.text(0)? != device.id {
            return Ok(OpResult::refused(&op.op_id, "conflict", &Error::OpIdTaken));
        }
        let original: OpResult =
            serde_json::from_str(&row.text(1)?).map_err(|_| Error::Storage {
                reason: "stored op result is unreadable".into(),
            })?;
        return Ok(OpResult {
            op_id: op.op_id.clone(),
            status: "duplicate".into(),
            original_status: Some(original.status.clone()),
            ..original
        });
    }
    let outcome = savepoint(tx, |tx| apply(tx, device, op));
    let result = match outcome {
        Ok(result) => result,
        Err(error) if is_transient(&error) => return Err(error),
        Err(error) => {
            let status = match error {
                Error::InspectionExists => "conflict",
                _ => "rejected",
            };
            OpResult::refused(&op.op_id, status, &error)
        }
    };
    tx.execute(
        "INSERT INTO applied_ops (op_id, device_id, kind, result, applied_ms) VALUES ($1, $2, $3, $4, $5)",
        params![
            &op_id,
            &device.id,
            &op.kind,
            serde_json::to_string(&result).expect("op results serialise"),
            now_ms()
        ],
    )?;
    Ok(result)
}

/// Errors that say nothing about the op itself: the batch fails and is retried.
fn is_transient(error: &Error) -> bool {
    matches!(
        error,
        Error::Storage { .. } | Error::Busy | Error::DiskFull | Error::Io { .. }
    )
}

/// An op_id is a UUIDv7 made on the device.
fn parse_op_id(text: &str) -> Result<String> {
    let uuid = uuid::Uuid::try_parse(text).map_err(|_| Error::InvalidId { what: "op_id" })?;
    if uuid.get_version_num() != 7 {
        return Err(Error::InvalidId { what: "op_id" });
    }
    Ok(uuid.hyphenated().to_string())
}

fn apply(tx: &mut Tx, device: &Device, op: &Op) -> Result<OpResult> {
    let detail = match op.kind.as_str() {
        "inspection.submit" => inspection_ops::submit(tx, device, &op.payload, false)?,
        "inspection.amend" => inspection_ops::submit(tx, device, &op.payload, true)?,
        "evidence.record" => return evidence_record(tx, device, op),
        "photo.upload" => photo_upload(tx, device, &op.payload)?,
        _ => return Err(Error::UnknownOpKind),
    };
    Ok(OpResult {
        result: Some(detail),
        ..OpResult::new(&op.op_id, "applied")
    })
}

#[derive(Deserialize)]
struct EvidenceRecordOp {
    seq: Option<u64>,
    /// The exact signed COSE_Sign1 bytes, hex.
    signed: String,
    #[serde(default)]
    #[allow(dead_code)] // the device's label; the signed payload is what counts
    kind: Option<String>,
}

/// An evidence record is always stored: accepted ones answer `applied` with their
/// leaf index, flagged ones `rejected` with the failure code (and stay visible to
/// reviewers).
fn evidence_record(tx: &mut Tx, device: &Device, op: &Op) -> Result<OpResult> {
    let body: EvidenceRecordOp = payload(&op.payload)?;
    let signed = hex::decode(&body.signed).ok_or_else(|| Error::InvalidRequest {
        reason: "signed must be the record bytes in hex".into(),
    })?;
    let ingested = evidence_ingest::ingest(tx, device, &signed, body.seq)?;
    let detail = serde_json::to_value(&ingested).expect("ingest results serialise");
    Ok(match ingested.failure {
        None => OpResult {
            result: Some(detail),
            ..OpResult::new(&op.op_id, "applied")
        },
        Some(failure) => OpResult {
            reason: Some(failure.to_owned()),
            message: Some("record stored and flagged for review".into()),
            result: Some(detail),
            ..OpResult::new(&op.op_id, "rejected")
        },
    })
}

#[derive(Deserialize)]
struct PhotoUploadOp {
    photo_id: String,
    sha256: String,
    size: u64,
    #[allow(dead_code)] // informative; the bureau sniffs nothing from it
    #[serde(default)]
    mime: Option<String>,
}

/// Confirms that a photo the device captured is held complete and verified here.
/// The device sends this op only after its tus upload finished.
fn photo_upload(tx: &mut Tx, device: &Device, payload_value: &Value) -> Result<Value> {
    let body: PhotoUploadOp = payload(payload_value)?;
    crate::api::parse_id(&body.photo_id, "photo_id")?;
    let sha256 = hex::decode32(&body.sha256).ok_or_else(|| Error::InvalidRequest {
        reason: "sha256 must be 64 hex digits".into(),
    })?;
    let held = tx.query_opt(
        "SELECT size FROM photos WHERE sha256 = $1 AND device_id = $2 AND role = 'original'",
        params![&sha256, &device.id],
    )?;
    match held {
        Some(row) if row.int(0)? as u64 == body.size => {
            Ok(json!({ "photo_id": body.photo_id, "sha256": body.sha256, "size": body.size }))
        }
        Some(_) => Err(Error::PhotoSizeMismatch),
        None => Err(Error::PhotoNotUploaded),
    }
}

/// Parses an op's payload. serde's message is left out: it can quote the
/// offending value, and payloads carry names and places.
pub(super) fn payload<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T> {
    T::deserialize(value).map_err(|_| Error::InvalidRequest {
        reason: "op payload does not have the fields its kind needs".into(),
    })
}
