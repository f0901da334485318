//! `POST /v1/sync/push`: a batch of outbox ops, and the bureau's answer for each.
//!
//! An op's payload travels as the exact JSON text the device stored
//! ([`RawValue`]): a signed record inside it is never re-encoded on the way.

use crate::evidence::receipt::{Receipt, SignedCheckpoint};
use crate::model::task::TaskState;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::fmt;

/// What an op does. Kept in the device's outbox as [`OpKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OpKind {
    /// A submitted inspection (payload: the `Inspection`).
    #[serde(rename = "inspection.submit")]
    InspectionSubmit,
    /// A correction of a submitted inspection (payload: the new `Inspection`).
    #[serde(rename = "inspection.amend")]
    InspectionAmend,
    /// A signed evidence record ([`EvidenceRecordPayload`]).
    #[serde(rename = "evidence.record")]
    EvidenceRecord,
    /// A photo whose upload completed ([`PhotoUploadPayload`]).
    #[serde(rename = "photo.upload")]
    PhotoUpload,
    /// How a task stands on the device ([`TaskStatePayload`]).
    #[serde(rename = "task.state")]
    TaskState,
}

impl OpKind {
    pub const ALL: [OpKind; 5] = [
        OpKind::InspectionSubmit,
        OpKind::InspectionAmend,
        OpKind::EvidenceRecord,
        OpKind::PhotoUpload,
        OpKind::TaskState,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::InspectionSubmit => "inspection.submit",
            OpKind::InspectionAmend => "inspection.amend",
            OpKind::EvidenceRecord => "evidence.record",
            OpKind::PhotoUpload => "photo.upload",
            OpKind::TaskState => "task.state",
        }
    }

    /// The kind a string names; `None` for a kind this version does not know.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpOutcome {
    Applied,
    /// The `op_id` was applied before; `original_status` says how.
    Duplicate,
    /// The op clashes with what the bureau holds (`reason` says what).
    Conflict,
    /// Refused for good (`reason` is a stable code).
    Rejected,
    /// A status a newer bureau may send that this version does not know: the
    /// device leaves the op pending rather than failing the whole push. The
    /// bureau never sends it.
    #[serde(other)]
    Unknown,
}

/// One op as the device's outbox sends it. `kind` stays text here: the bureau
/// answers an unknown kind for that op alone (`unknown_op_kind`), not for the batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    pub op_id: String,
    pub kind: String,
    #[serde(default)]
    pub entity_id: String,
    pub payload: Box<RawValue>,
}

impl Op {
    pub fn kind(&self) -> Option<OpKind> {
        OpKind::parse(&self.kind)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub ops: Vec<Op>,
}

/// What became of one op. `reason` is a stable code for a conflict or refusal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpResult {
    pub op_id: String,
    pub status: OpOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Kind-specific detail, e.g. an evidence record's leaf index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// For a `duplicate`: the status the op got the first time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_status: Option<OpOutcome>,
}

impl OpResult {
    pub fn new(op_id: &str, status: OpOutcome) -> Self {
        Self {
            op_id: op_id.to_owned(),
            status,
            reason: None,
            message: None,
            result: None,
            original_status: None,
        }
    }

    /// The status that counts: a `duplicate` takes that of the first answer.
    pub fn final_status(&self) -> Option<OpOutcome> {
        match self.status {
            OpOutcome::Duplicate => self.original_status,
            status => Some(status),
        }
    }

    /// The leaf index of an accepted evidence record, when this op logged one.
    pub fn leaf_index(&self) -> Option<u64> {
        self.result.as_ref()?.get("leaf_index")?.as_u64()
    }
}

/// The answer to a push.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<OpResult>,
    /// Present when any op in this push logged an evidence record (now or the
    /// first time): the checkpoint its receipts prove inclusion in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<SignedCheckpoint>,
    /// One per logged evidence record in this push, in op order.
    #[serde(default)]
    pub receipts: Vec<OpReceipt>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpReceipt {
    pub op_id: String,
    pub receipt: Receipt,
}

/// The payload of [`OpKind::EvidenceRecord`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceRecordPayload {
    #[serde(default)]
    pub seq: Option<u64>,
    /// The device's label for the record; the signed payload is what counts.
    #[serde(default)]
    pub kind: Option<String>,
    /// The exact signed COSE_Sign1 bytes, hex.
    pub signed: String,
    /// For a `track_segment`: the segment's fixes as its seal hashes them
    /// ([`crate::evidence::track_seal`], 21 bytes each), base64. The bureau
    /// keeps them only when they hash to the signed seal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<String>,
}

/// The payload of [`OpKind::PhotoUpload`]: the photo the device's tus upload
/// completed, for the bureau to confirm it holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhotoUploadPayload {
    pub photo_id: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    pub size: u64,
    /// Informative; the bureau sniffs nothing from it.
    #[serde(default)]
    pub mime: Option<String>,
}

/// The longest reason for declining a task, in characters.
pub const MAX_DECLINE_REASON_CHARS: usize = 500;

/// The payload of [`OpKind::TaskState`]: what the team did with a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatePayload {
    pub task_id: String,
    /// `received`, `in_progress`, `completed` or `declined`.
    pub state: TaskState,
    /// Why, for `declined` (required then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The answering inspection, for `in_progress` and `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection_id: Option<String>,
    /// Device clock, UTC ms.
    pub at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_wire_names() {
        for kind in OpKind::ALL {
            assert_eq!(OpKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
        }
        assert_eq!(OpKind::parse("note"), None);
    }

    #[test]
    fn an_unknown_status_is_read_not_refused() {
        let result: OpResult = serde_json::from_str(r#"{"op_id":"a","status":"queued"}"#).unwrap();
        assert_eq!(result.status, OpOutcome::Unknown);
        assert_eq!(result.final_status(), Some(OpOutcome::Unknown));
        let duplicate: OpResult = serde_json::from_str(
            r#"{"op_id":"a","status":"duplicate","original_status":"rejected"}"#,
        )
        .unwrap();
        assert_eq!(duplicate.final_status(), Some(OpOutcome::Rejected));
    }

    #[test]
    fn payloads_keep_their_exact_bytes() {
        let text =
            r#"{"op_id":"x","kind":"evidence.record","entity_id":"3","payload":{"b":1,  "a":"é"}}"#;
        let op: Op = serde_json::from_str(text).unwrap();
        assert_eq!(op.payload.get(), r#"{"b":1,  "a":"é"}"#);
        assert_eq!(serde_json::to_string(&op).unwrap(), text);
        assert_eq!(op.kind(), Some(OpKind::EvidenceRecord));
    }
}
