//! The case-file format, version 1: the names of its files and the manifest the
//! bureau signs. `docs/evidence-bundle.md` is the specification; this module is
//! its one implementation of the layout, shared by the bureau that writes case
//! files and the verifiers that read them.

use crate::evidence::receipt::SignedCheckpoint;
use crate::hex;
use serde::{Deserialize, Serialize};

/// `format` of a version 1 manifest.
pub const FORMAT: &str = "fieldproof-case-file/v1";

/// The manifest: every other file of the case file, with its size and hash.
pub const MANIFEST: &str = "manifest.json";
/// The bureau's signature over the manifest (raw r ‖ s, 64 bytes).
pub const MANIFEST_SIGNATURE: &str = "manifest.sig";
/// The bureau's SEC1 public key, lowercase hex and a newline. A verifier never
/// trusts it on its own: it must equal the key (or key id) given out of band.
pub const BUREAU_KEY: &str = "bureau-key.hex";
/// The bureau's view of the case: review decisions, assigned officers, and the
/// status of every record (`fieldproof_core::wire::admin::InspectionCase`).
pub const CASE: &str = "inspection/case.json";
/// `report.pdf`: the on-site record for a person to read (not evidence itself).
pub const REPORT: &str = "report.pdf";

/// Leads the message the bureau signs over a manifest, so that signature can
/// never pass for one over a checkpoint or a certificate.
const MANIFEST_CONTEXT: &[u8] = b"fieldproof-bureau/case-file-manifest/v1\0";

/// `inspection/revisions/NN-<id>.json`: one inspection revision exactly as the
/// device sent it, `NN` counting the amendment line from 01 (the original).
pub fn revision_path(position: usize, inspection_id: &str) -> String {
    format!("inspection/revisions/{position:02}-{inspection_id}.json")
}

/// `records/<device id>/<seq, 12 digits>.cose`: one signed evidence record,
/// its exact bytes.
pub fn record_path(device_id: &str, seq: u64) -> String {
    format!("records/{device_id}/{seq:012}.cose")
}

/// `tracks/<device id>/<seq, 12 digits>.gpx` and `.geojson`: the points of
/// the track segment record `seq` (`ext` is [`GPX`] or [`GEOJSON`]).
pub fn track_path(device_id: &str, seq: u64, ext: &str) -> String {
    format!("tracks/{device_id}/{seq:012}.{ext}")
}

/// The extensions of a segment's two track files.
pub const GPX: &str = "gpx";
pub const GEOJSON: &str = "geojson";

/// `certificates/<device id>.cose`: a device certificate, its exact bytes.
pub fn certificate_path(device_id: &str) -> String {
    format!("certificates/{device_id}.cose")
}

/// `media/<sha256 hex>.<ext>`: an original photo or file, its exact bytes.
pub fn media_path(sha256: &[u8; 32], mime: &str) -> String {
    let ext = match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/heic" => "heic",
        _ => "bin",
    };
    format!("media/{}.{ext}", hex::encode(sha256))
}

/// The message the bureau signs for a manifest: the context, then SHA-256 of
/// the exact `manifest.json` bytes.
pub fn manifest_message(manifest_bytes: &[u8]) -> Vec<u8> {
    let mut message = MANIFEST_CONTEXT.to_vec();
    message.extend_from_slice(&crate::evidence::sha256(manifest_bytes));
    message
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The inspection the case file is about: the latest of its amendment line.
    pub inspection_id: String,
    /// Every inspection of the amendment line, the original first.
    pub amendment_line: Vec<String>,
    /// When the bureau wrote the case file, UTC ms.
    pub created_ms: i64,
    /// SHA-256 of the bureau's SEC1 public key, hex.
    #[serde(
        serialize_with = "hex::serialize",
        deserialize_with = "hex::deserialize32"
    )]
    pub bureau_key_id: [u8; 32],
    /// The checkpoint every inclusion proof leads to.
    pub checkpoint: SignedCheckpoint,
    /// Every file of the case file but the manifest and its signature, by path.
    pub files: Vec<FileEntry>,
    /// The officers of the case and the devices that signed its records.
    pub officers: Vec<CaseOfficer>,
    /// Every record file, with its place in the custody log.
    pub records: Vec<RecordEntry>,
    /// Records of the same devices that lie between this case's records but
    /// belong to none of its inspections: named by hash, not copied.
    pub omitted: Vec<OmittedRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    #[serde(
        serialize_with = "hex::serialize",
        deserialize_with = "hex::deserialize32"
    )]
    pub sha256: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseOfficer {
    pub officer_id: String,
    /// `submitted` (the officer of an inspection of the line) or `assigned`.
    pub role: String,
    /// Devices enrolled for this officer that signed records in the case file.
    pub devices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordEntry {
    pub path: String,
    pub device_id: String,
    pub seq: u64,
    pub leaf_index: u64,
    /// Audit path to [`Manifest::checkpoint`], leaf end first.
    #[serde(
        serialize_with = "hex::serialize_list",
        deserialize_with = "hex::deserialize_list32"
    )]
    pub inclusion_proof: Vec<[u8; 32]>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OmittedRecord {
    pub device_id: String,
    pub seq: u64,
    /// SHA-256 of its payload: what the next record's `prev` names.
    #[serde(
        serialize_with = "hex::serialize",
        deserialize_with = "hex::deserialize32"
    )]
    pub payload_sha256: [u8; 32],
    pub leaf_index: u64,
    /// RFC 9162 leaf hash of its signed bytes.
    #[serde(
        serialize_with = "hex::serialize",
        deserialize_with = "hex::deserialize32"
    )]
    pub leaf_hash: [u8; 32],
    #[serde(
        serialize_with = "hex::serialize_list",
        deserialize_with = "hex::deserialize_list32"
    )]
    pub inclusion_proof: Vec<[u8; 32]>,
}
