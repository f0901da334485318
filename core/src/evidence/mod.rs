//! Signed photo evidence: the pure pieces, free of storage and FFI.
//!
//! Every evidence event (capture, import, note, track segment, …) becomes one
//! evidence record: an [`record::EvidencePayload`] encoded as deterministic CBOR
//! ([`cbor`]), signed by the device key ([`keys`]) inside a COSE_Sign1 envelope
//! ([`cose`]). Records form a per-device hash chain that [`chain`] verifies,
//! naming every gap, fork, replay and bad signature rather than stopping at the
//! first. The exact signed bytes are what gets stored and shipped; nothing here
//! re-encodes a record once signed.
//!
//! Photos themselves are never modified: [`media`] recognises the format by its
//! leading bytes, [`exif`] reads what the camera recorded, and [`thumbnail`] makes
//! derivatives for display (which are not evidence).
//!
//! The bureau answers each record it logs with a [`receipt`]: an inclusion proof
//! against a checkpoint it signed, which the device checks before keeping it.

pub mod cbor;
pub mod certificate;
pub mod chain;
pub mod cose;
pub mod exif;
mod jpeg;
pub mod keys;
pub mod media;
pub mod merkle;
pub mod receipt;
pub mod record;
pub mod thumbnail;
pub mod track_seal;

use crate::error::Error;

/// SHA-256, the one digest of the evidence format (key ids, chain links, media).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn invalid_record(reason: impl Into<String>) -> Error {
    Error::InvalidRecord {
        reason: reason.into(),
    }
}
