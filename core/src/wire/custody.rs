//! The custody log's proofs, public like a transparency log's: they hold only
//! sizes and hashes. A device asks for a consistency proof before it takes a
//! newer checkpoint (`crate::sync::log_view`); anyone may ask to audit the log.

use crate::hex;
use serde::{Deserialize, Serialize};

/// `GET /v1/custody/consistency?old_size=&new_size=`.
pub const CONSISTENCY_PATH: &str = "/v1/custody/consistency";

/// That the tree of `new_size` records extends the tree of `old_size` records
/// (RFC 9162 §2.1.4), checked with `evidence::merkle::verify_consistency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    #[serde(
        serialize_with = "hex::serialize_list",
        deserialize_with = "hex::deserialize_list32"
    )]
    pub proof: Vec<[u8; 32]>,
}

impl ConsistencyProof {
    /// The path that asks for the proof from `old_size` to `new_size`.
    pub fn path(old_size: u64, new_size: u64) -> String {
        format!("{CONSISTENCY_PATH}?old_size={old_size}&new_size={new_size}")
    }
}

/// `GET /v1/admin/custody/alarms` (admin): devices that showed a checkpoint of
/// the bureau's log beyond the log itself, newest first (bureau/docs/backup.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyAlarms {
    pub alarms: Vec<CustodyAlarm>,
}

/// One device holding a checkpoint the bureau's log does not reach: the bureau
/// was restored from a backup older than what the device holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyAlarm {
    pub device_id: String,
    /// The size of the log the device's checkpoint names.
    pub held_size: u64,
    /// The log's size when the device showed it.
    pub log_size: u64,
    /// The record that named the checkpoint, when one did (else the device
    /// asked for a proof up to it).
    pub seq: Option<u64>,
    pub detected_ms: i64,
}
