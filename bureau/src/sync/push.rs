//! `POST /v1/sync/push`: a batch of outbox ops from one device, each applied
//! exactly once.
//!
//! The whole batch is one transaction and each op runs in its own savepoint: an
//! op's effect and its `op_id` (with its result) commit together, and a refused op
//! leaves nothing behind. A resent `op_id` changes nothing and returns the first
//! result as `duplicate`. Storage failures abort the whole batch (the device
//! retries it; nothing of it was committed).

use super::{inspection_ops, payload, task_ops};
use crate::bureau::Bureau;
use crate::custody_log::persisted;
use crate::enrollment::{Device, Role};
use crate::error::{Error, Result};
use crate::evidence_ingest;
use crate::storage::{savepoint, Tx};
use crate::{now_ms, params, parse_id};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use fieldproof_core::hex;
use fieldproof_core::wire::ops::{
    EvidenceRecordPayload, Op, OpKind, OpOutcome, OpReceipt, OpResult, PhotoUploadPayload,
    PushResponse,
};
use serde_json::{json, Value};

/// Applies a push for `device` in one transaction, and answers it with the
/// receipts of the evidence records it logged and the checkpoint they prove
/// inclusion in.
pub fn push(bureau: &Bureau, device: &Device, ops: &[Op]) -> Result<PushResponse> {
    let limit = bureau.limits.max_ops_per_push;
    if ops.len() > limit {
        return Err(Error::TooManyOps { limit });
    }
    let results = bureau.db.write(|tx| apply_batch(tx, device, ops))?;
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
    let checkpoint = persisted::latest_checkpoint(&bureau.db, &bureau.log, &bureau.key)?;
    let receipts = logged
        .into_iter()
        .map(|(r, leaf)| {
            Ok(OpReceipt {
                op_id: r.op_id.clone(),
                receipt: persisted::receipt(&bureau.log, leaf, &checkpoint)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(PushResponse {
        checkpoint: Some(checkpoint),
        receipts,
        results,
    })
}

/// A refused op's answer: the error's stable code and its message.
fn refused(op_id: &str, status: OpOutcome, error: &Error) -> OpResult {
    OpResult {
        reason: Some(error.code().to_owned()),
        message: Some(error.to_string()),
        ..OpResult::new(op_id, status)
    }
}

/// Applies a batch for `device`, in order, within the caller's transaction.
pub fn apply_batch(tx: &mut Tx, device: &Device, ops: &[Op]) -> Result<Vec<OpResult>> {
    ops.iter().map(|op| apply_once(tx, device, op)).collect()
}

fn apply_once(tx: &mut Tx, device: &Device, op: &Op) -> Result<OpResult> {
    let Ok(op_id) = parse_op_id(&op.op_id) else {
        // Without a valid op_id there is nothing to remember the result under.
        return Ok(refused(
            &op.op_id,
            OpOutcome::Rejected,
            &Error::InvalidId { what: "op_id" },
        ));
    };
    if let Some(row) = tx.query_opt(
        "SELECT device_id, result FROM applied_ops WHERE op_id = $1",
        params![&op_id],
    )? {
        if row.text(0)? != device.id {
            return Ok(refused(&op.op_id, OpOutcome::Conflict, &Error::OpIdTaken));
        }
        let original: OpResult =
            serde_json::from_str(&row.text(1)?).map_err(|_| Error::Storage {
                reason: "stored op result is unreadable".into(),
            })?;
        return Ok(OpResult {
            op_id: op.op_id.clone(),
            status: OpOutcome::Duplicate,
            original_status: Some(original.status),
            ..original
        });
    }
    let outcome = savepoint(tx, |tx| apply(tx, device, op));
    let result = match outcome {
        Ok(result) => result,
        Err(error) if is_transient(&error) => return Err(error),
        Err(error) => {
            let status = match error {
                Error::InspectionExists | Error::AlreadyAmended => OpOutcome::Conflict,
                _ => OpOutcome::Rejected,
            };
            refused(&op.op_id, status, &error)
        }
    };
    tx.execute(
        "INSERT INTO applied_ops (op_id, device_id, kind, result, applied_ms) VALUES ($1, $2, $3, $4, $5)",
        params![
            &op_id,
            &device.id,
            stored_kind(op),
            serde_json::to_string(&result).expect("op results serialise"),
            now_ms()
        ],
    )?;
    Ok(result)
}

/// The kind as remembered with the result: a known kind by its name; an unknown
/// one (a newer app's, or garbage) cut to what a text column can hold, so that
/// remembering the refusal cannot itself fail the batch.
fn stored_kind(op: &Op) -> String {
    match op.kind() {
        Some(kind) => kind.as_str().to_owned(),
        None => op
            .kind
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect(),
    }
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
    let kind = op.kind().ok_or(Error::UnknownOpKind)?;
    if !may_push(device.role, kind) {
        return Err(Error::Forbidden);
    }
    let detail = match kind {
        OpKind::InspectionSubmit => inspection_ops::submit(tx, device, &op.payload, false)?,
        OpKind::InspectionAmend => inspection_ops::submit(tx, device, &op.payload, true)?,
        OpKind::EvidenceRecord => return evidence_record(tx, device, op),
        OpKind::PhotoUpload => photo_upload(tx, device, &payload(&op.payload)?)?,
        OpKind::TaskState => task_ops::report(tx, device, &op.op_id, &payload(&op.payload)?)?,
    };
    Ok(OpResult {
        result: Some(detail),
        ..OpResult::new(&op.op_id, OpOutcome::Applied)
    })
}

/// What each role's devices may push. Township staff and county officers
/// inspect: they submit and amend inspections with their evidence and report
/// on the tasks they are sent. Reviewers decide cases at the bureau, so their
/// devices open and amend none; their own evidence chain (records, photos) is
/// still received and judged like any other.
fn may_push(role: Role, kind: OpKind) -> bool {
    match kind {
        OpKind::InspectionSubmit | OpKind::InspectionAmend | OpKind::TaskState => {
            matches!(role, Role::TownshipStaff | Role::CountyOfficer)
        }
        OpKind::EvidenceRecord | OpKind::PhotoUpload => true,
    }
}

/// An evidence record is always stored: accepted ones answer `applied` with their
/// leaf index, flagged ones `rejected` with the failure code (and stay visible to
/// reviewers).
fn evidence_record(tx: &mut Tx, device: &Device, op: &Op) -> Result<OpResult> {
    let body: EvidenceRecordPayload = payload(&op.payload)?;
    let signed = hex::decode(&body.signed).ok_or_else(|| Error::InvalidRequest {
        reason: "signed must be the record bytes in hex".into(),
    })?;
    // Points that are not base64 are dropped like points that do not match.
    let points = body.points.and_then(|p| BASE64.decode(p).ok());
    let ingested = evidence_ingest::ingest(tx, device, &signed, body.seq, points.as_deref())?;
    let detail = serde_json::to_value(&ingested).expect("ingest results serialise");
    Ok(match ingested.failure {
        None => OpResult {
            result: Some(detail),
            ..OpResult::new(&op.op_id, OpOutcome::Applied)
        },
        Some(failure) => OpResult {
            reason: Some(failure.to_owned()),
            message: Some("record stored and flagged for review".into()),
            result: Some(detail),
            ..OpResult::new(&op.op_id, OpOutcome::Rejected)
        },
    })
}

/// Confirms that a photo the device captured is held complete and verified here.
/// The device sends this op only after its tus upload finished.
fn photo_upload(tx: &mut Tx, device: &Device, body: &PhotoUploadPayload) -> Result<Value> {
    parse_id(&body.photo_id, "photo_id")?;
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
