//! Verification of one device's record chain, and of a record's media.
//!
//! A device's records are numbered `seq` 1, 2, 3, … and each names the SHA-256
//! of its predecessor's payload (`prev`). Given a device's signed records in any
//! order, [`verify_chain`] reports every failure it finds, not just the first:
//! reviewers must see each gap, fork and replay, and a single bad record must
//! not hide the state of the rest.
//!
//! Records that fail on their own (undecodable, wrong key, bad signature) are
//! left out of the chain checks, so the sequence numbers they claimed show up
//! as a gap as well: no verifiable record exists for them.
//!
//! A verifier that holds a chain and takes records one at a time — the bureau
//! on receipt, the device over its own history, across key rotations — judges
//! each against its [`ChainHead`] with [`judge`] (in `head`): the same rules,
//! the same [`FailureKind`] codes.

mod head;

pub use head::{judge, verify_history, ChainHead, HistoryFailure, HistoryReport, Judgement};

use super::cose::{parse_sign1, verify_sign1};
use super::invalid_record;
use super::keys::key_id;
use super::media::digest;
use super::record::{payload_digest, EvidencePayload};
use crate::error::Result;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;

/// What is wrong with a record: the stable codes shown to reviewers, stored by
/// the bureau and answered to devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// Not a COSE_Sign1 record of this format, or its payload is malformed.
    Undecodable,
    /// Made for another key than the one the chain continues with.
    WrongKey,
    /// The signature does not verify with the key.
    BadSignature,
    /// The same record (identical payload) again.
    Replay,
    /// A different record with a seq already taken.
    Fork,
    /// A seq below the chain's head that the verifier never got.
    OutOfOrder,
    /// Seqs skipped.
    Gap,
    /// `prev` does not name the payload hash of the record before it.
    PrevMismatch,
}

impl FailureKind {
    pub fn code(self) -> &'static str {
        match self {
            FailureKind::Undecodable => "undecodable",
            FailureKind::WrongKey => "wrong_key",
            FailureKind::BadSignature => "bad_signature",
            FailureKind::Replay => "replay",
            FailureKind::Fork => "fork",
            FailureKind::OutOfOrder => "out_of_order",
            FailureKind::Gap => "gap",
            FailureKind::PrevMismatch => "prev_mismatch",
        }
    }
}

/// Whether the records given are meant to be the device's whole history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainStart {
    /// The chain must begin at seq 1: missing early records are a gap.
    Genesis,
    /// An excerpt: the chain may begin at any seq.
    Anywhere,
}

/// One problem found in a chain. `index` is a position in the input list;
/// `claimed_seq` comes from a payload that could not be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainFailure {
    /// Not a COSE_Sign1 record of this format, or its payload is malformed.
    Undecodable { index: usize },
    /// Made for another device key (kid in the header or in the signed payload).
    WrongKey {
        index: usize,
        claimed_seq: Option<u64>,
    },
    /// The signature does not verify with the device key.
    BadSignature {
        index: usize,
        claimed_seq: Option<u64>,
    },
    /// The same record (identical payload) given more than once.
    Replay { seq: u64, indexes: Vec<usize> },
    /// Different records with the same seq.
    Fork { seq: u64, indexes: Vec<usize> },
    /// A record given after one with a higher seq.
    OutOfOrder { seq: u64, index: usize },
    /// No valid record for seqs `first..=last`.
    Gap { first: u64, last: u64 },
    /// `prev` does not match the payload hash of any record at `seq - 1`.
    PrevMismatch { seq: u64, index: usize },
}

impl ChainFailure {
    pub fn kind(&self) -> FailureKind {
        match self {
            ChainFailure::Undecodable { .. } => FailureKind::Undecodable,
            ChainFailure::WrongKey { .. } => FailureKind::WrongKey,
            ChainFailure::BadSignature { .. } => FailureKind::BadSignature,
            ChainFailure::Replay { .. } => FailureKind::Replay,
            ChainFailure::Fork { .. } => FailureKind::Fork,
            ChainFailure::OutOfOrder { .. } => FailureKind::OutOfOrder,
            ChainFailure::Gap { .. } => FailureKind::Gap,
            ChainFailure::PrevMismatch { .. } => FailureKind::PrevMismatch,
        }
    }

    /// Stable code, shown to reviewers and used by the bureau API.
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

impl fmt::Display for ChainFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let claimed = |seq: &Option<u64>| {
            seq.map(|s| format!(" (claims seq {s})"))
                .unwrap_or_default()
        };
        match self {
            ChainFailure::Undecodable { index } => write!(f, "record #{index} cannot be decoded"),
            ChainFailure::WrongKey { index, claimed_seq } => {
                write!(
                    f,
                    "record #{index}{} is not from this device key",
                    claimed(claimed_seq)
                )
            }
            ChainFailure::BadSignature { index, claimed_seq } => {
                write!(
                    f,
                    "record #{index}{} has an invalid signature",
                    claimed(claimed_seq)
                )
            }
            ChainFailure::Replay { seq, indexes } => {
                write!(f, "seq {seq} is repeated as records {indexes:?}")
            }
            ChainFailure::Fork { seq, indexes } => {
                write!(f, "seq {seq} has different records {indexes:?}")
            }
            ChainFailure::OutOfOrder { seq, index } => {
                write!(f, "seq {seq} (record #{index}) comes after a later seq")
            }
            ChainFailure::Gap { first, last } => write!(f, "seq {first}..={last} missing"),
            ChainFailure::PrevMismatch { seq, index } => {
                write!(
                    f,
                    "seq {seq} (record #{index}) does not link to seq {}",
                    seq - 1
                )
            }
        }
    }
}

/// A record whose signature verified with the device key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRecord {
    /// Position in the input list (the first one, for a replayed record).
    pub index: usize,
    pub payload: EvidencePayload,
    /// SHA-256 of the payload bytes: what the next record's `prev` names.
    pub payload_sha256: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Each distinct verified record once, by seq (then input position).
    pub records: Vec<VerifiedRecord>,
    /// Every failure found: per-record ones in input order, then chain ones.
    pub failures: Vec<ChainFailure>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Verifies a device's signed records (COSE_Sign1 bytes, in any order) against
/// its SEC1 public key.
pub fn verify_chain(
    records: &[impl AsRef<[u8]>],
    device_public_key: &[u8],
    start: ChainStart,
) -> ChainReport {
    let kid = key_id(device_public_key);
    let mut failures = Vec::new();
    let mut verified = Vec::new();
    for (index, bytes) in records.iter().enumerate() {
        match check_signed(bytes.as_ref(), &kid, device_public_key) {
            Ok(record) => verified.push(VerifiedRecord {
                index,
                payload: record.payload,
                payload_sha256: record.payload_sha256,
            }),
            Err((kind, claimed_seq)) => failures.push(match kind {
                FailureKind::WrongKey => ChainFailure::WrongKey { index, claimed_seq },
                FailureKind::BadSignature => ChainFailure::BadSignature { index, claimed_seq },
                _ => ChainFailure::Undecodable { index },
            }),
        }
    }
    let unique = drop_replays(verified, &mut failures);
    report_out_of_order(&unique, &mut failures);
    let mut by_seq: BTreeMap<u64, Vec<VerifiedRecord>> = BTreeMap::new();
    for record in unique {
        by_seq.entry(record.payload.seq).or_default().push(record);
    }
    report_forks(&by_seq, &mut failures);
    report_gaps(&by_seq, start, &mut failures);
    report_broken_links(&by_seq, &mut failures);
    ChainReport {
        records: by_seq.into_values().flatten().collect(),
        failures,
    }
}

/// A record whose signature verified, before any check against its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticRecord {
    pub payload: EvidencePayload,
    /// SHA-256 of the payload bytes: what the next record's `prev` names.
    pub payload_sha256: [u8; 32],
}

/// The checks a record passes on its own: it decodes, names key `kid` in its
/// header and its payload alike, and its signature verifies with `public_key`.
/// On failure: what failed (`undecodable`, `wrong_key` or `bad_signature`) and
/// the seq the record claims, unverified, for reviewers to see.
fn check_signed(
    bytes: &[u8],
    kid: &[u8; 32],
    public_key: &[u8],
) -> Result<AuthenticRecord, (FailureKind, Option<u64>)> {
    let sign1 = parse_sign1(bytes).map_err(|_| (FailureKind::Undecodable, None))?;
    let claimed_seq = || EvidencePayload::decode(&sign1.payload).ok().map(|p| p.seq);
    if sign1.kid != *kid {
        return Err((FailureKind::WrongKey, claimed_seq()));
    }
    if verify_sign1(&sign1, public_key).is_err() {
        return Err((FailureKind::BadSignature, claimed_seq()));
    }
    let payload =
        EvidencePayload::decode(&sign1.payload).map_err(|_| (FailureKind::Undecodable, None))?;
    if payload.kid != *kid {
        return Err((FailureKind::WrongKey, Some(payload.seq)));
    }
    Ok(AuthenticRecord {
        payload_sha256: payload_digest(&sign1.payload),
        payload,
    })
}

/// Keeps the first copy of each payload and reports the others. Signatures
/// are randomised, so a replay may carry different signature bytes: identity
/// is the payload.
fn drop_replays(
    verified: Vec<VerifiedRecord>,
    failures: &mut Vec<ChainFailure>,
) -> Vec<VerifiedRecord> {
    let mut copies: HashMap<[u8; 32], Vec<usize>> = HashMap::new();
    let mut unique = Vec::new();
    for record in verified {
        let indexes = copies.entry(record.payload_sha256).or_default();
        indexes.push(record.index);
        if indexes.len() == 1 {
            unique.push(record);
        }
    }
    for record in &unique {
        let indexes = &copies[&record.payload_sha256];
        if indexes.len() > 1 {
            failures.push(ChainFailure::Replay {
                seq: record.payload.seq,
                indexes: indexes.clone(),
            });
        }
    }
    unique
}

fn report_out_of_order(unique: &[VerifiedRecord], failures: &mut Vec<ChainFailure>) {
    let mut highest = 0;
    for record in unique {
        let seq = record.payload.seq;
        if seq < highest {
            failures.push(ChainFailure::OutOfOrder {
                seq,
                index: record.index,
            });
        }
        highest = highest.max(seq);
    }
}

fn report_forks(by_seq: &BTreeMap<u64, Vec<VerifiedRecord>>, failures: &mut Vec<ChainFailure>) {
    for (&seq, records) in by_seq.iter().filter(|(_, r)| r.len() > 1) {
        failures.push(ChainFailure::Fork {
            seq,
            indexes: records.iter().map(|r| r.index).collect(),
        });
    }
}

fn report_gaps(
    by_seq: &BTreeMap<u64, Vec<VerifiedRecord>>,
    start: ChainStart,
    failures: &mut Vec<ChainFailure>,
) {
    let mut expected = match (start, by_seq.keys().next()) {
        (ChainStart::Genesis, _) => 1,
        (ChainStart::Anywhere, Some(&first)) => first,
        (ChainStart::Anywhere, None) => return,
    };
    for &seq in by_seq.keys() {
        if seq > expected {
            failures.push(ChainFailure::Gap {
                first: expected,
                last: seq - 1,
            });
        }
        expected = seq.saturating_add(1);
    }
}

/// Checks each record's `prev` against the records one seq below; where that
/// seq is missing, the gap is already reported and there is nothing to compare.
fn report_broken_links(
    by_seq: &BTreeMap<u64, Vec<VerifiedRecord>>,
    failures: &mut Vec<ChainFailure>,
) {
    for (&seq, records) in by_seq {
        let Some(previous) = seq.checked_sub(1).and_then(|s| by_seq.get(&s)) else {
            continue;
        };
        for record in records {
            let linked = previous
                .iter()
                .any(|p| record.payload.prev == Some(p.payload_sha256));
            if !linked {
                failures.push(ChainFailure::PrevMismatch {
                    seq,
                    index: record.index,
                });
            }
        }
    }
}

/// Whether a file is the exact media a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaCheck {
    Match,
    Mismatch {
        actual_sha256: [u8; 32],
        actual_size: u64,
    },
}

/// Compares the SHA-256 and size of `media` (read to its end, in bounded
/// memory) with what the record says. A record without media is `InvalidRecord`.
pub fn verify_media(payload: &EvidencePayload, media: impl Read) -> Result<MediaCheck> {
    let expected = payload
        .event
        .media()
        .ok_or_else(|| invalid_record("record describes no media"))?;
    let actual = digest(media)?;
    Ok(
        if actual.sha256 == expected.sha256 && actual.size == expected.size {
            MediaCheck::Match
        } else {
            MediaCheck::Mismatch {
                actual_sha256: actual.sha256,
                actual_size: actual.size,
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::keys::{Signer, SoftwareKey};
    use crate::evidence::record::tests::full_capture;
    use crate::evidence::record::{Event, Media};

    struct Device {
        _dir: tempfile::TempDir,
        key: SoftwareKey,
    }

    impl Device {
        fn new() -> Device {
            let dir = tempfile::tempdir().unwrap();
            let key = SoftwareKey::load_or_create(&dir.path().join("device.p8")).unwrap();
            Device { _dir: dir, key }
        }

        fn public_key(&self) -> Vec<u8> {
            self.key.public_key()
        }

        /// Signed records seq 1..=n, correctly chained.
        fn chain(&self, n: u64) -> Vec<Vec<u8>> {
            let kid = key_id(&self.public_key());
            let mut prev = None;
            (1..=n)
                .map(|seq| {
                    let payload = full_capture(kid, seq, prev);
                    prev = Some(payload_digest(&payload.encode()));
                    payload.sign(&self.key).unwrap()
                })
                .collect()
        }
    }

    fn codes(report: &ChainReport) -> Vec<&'static str> {
        report.failures.iter().map(ChainFailure::code).collect()
    }

    fn verify(records: &[Vec<u8>], device: &Device) -> ChainReport {
        verify_chain(records, &device.public_key(), ChainStart::Genesis)
    }

    /// Flips one bit in the last byte of the payload: inside the app_version
    /// text, so the tampered payload still decodes and shows its seq.
    fn tamper_payload(record: &mut [u8]) {
        let payload = parse_sign1(record).unwrap().payload;
        let start = record
            .windows(payload.len())
            .position(|w| w == payload)
            .unwrap();
        record[start + payload.len() - 1] ^= 0x01;
    }

    #[test]
    fn an_intact_chain_verifies() {
        let device = Device::new();
        let records = device.chain(4);
        let report = verify(&records, &device);
        assert!(report.is_intact(), "{:?}", report.failures);
        let seqs: Vec<u64> = report.records.iter().map(|r| r.payload.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        let empty: [Vec<u8>; 0] = [];
        assert!(verify(&empty, &device).is_intact());
    }

    #[test]
    fn a_flipped_payload_bit_is_a_bad_signature() {
        let device = Device::new();
        let mut records = device.chain(3);
        tamper_payload(&mut records[1]);
        let report = verify(&records, &device);
        assert_eq!(codes(&report), ["bad_signature", "gap"]);
        assert_eq!(
            report.failures,
            [
                ChainFailure::BadSignature {
                    index: 1,
                    claimed_seq: Some(2)
                },
                ChainFailure::Gap { first: 2, last: 2 },
            ]
        );
    }

    #[test]
    fn a_flipped_signature_bit_is_a_bad_signature() {
        let device = Device::new();
        let mut records = device.chain(3);
        let last = records[2].len() - 1;
        records[2][last] ^= 0x80;
        let report = verify(&records, &device);
        // The last seq has no successor to reveal its absence, so no gap.
        assert_eq!(
            report.failures,
            [ChainFailure::BadSignature {
                index: 2,
                claimed_seq: Some(3)
            }]
        );
    }

    #[test]
    fn a_deleted_record_is_a_gap() {
        let device = Device::new();
        let mut records = device.chain(5);
        records.remove(2);
        let report = verify(&records, &device);
        assert_eq!(report.failures, [ChainFailure::Gap { first: 3, last: 3 }]);
        // The first record missing from a complete chain is a gap too…
        let report = verify(&records[1..], &device);
        assert_eq!(
            report.failures,
            [
                ChainFailure::Gap { first: 1, last: 1 },
                ChainFailure::Gap { first: 3, last: 3 }
            ]
        );
        // …but not from an excerpt.
        let report = verify_chain(&records[1..], &device.public_key(), ChainStart::Anywhere);
        assert_eq!(report.failures, [ChainFailure::Gap { first: 3, last: 3 }]);
    }

    #[test]
    fn a_duplicated_record_is_a_replay() {
        let device = Device::new();
        let mut records = device.chain(3);
        records.push(records[1].clone());
        let report = verify(&records, &device);
        assert_eq!(
            report.failures,
            [ChainFailure::Replay {
                seq: 2,
                indexes: vec![1, 3]
            }]
        );
        assert_eq!(report.records.len(), 3);
    }

    #[test]
    fn reordered_records_are_reported_but_verified_by_seq() {
        let device = Device::new();
        let mut records = device.chain(4);
        records.swap(1, 2);
        let report = verify(&records, &device);
        assert_eq!(
            report.failures,
            [ChainFailure::OutOfOrder { seq: 2, index: 2 }]
        );
        assert_eq!(report.records.len(), 4);
    }

    #[test]
    fn a_record_of_another_key_is_wrong_key() {
        let device = Device::new();
        let other = Device::new();
        let mut records = device.chain(4);
        records[2] = other.chain(3).remove(2);
        let report = verify(&records, &device);
        assert_eq!(
            report.failures,
            [
                ChainFailure::WrongKey {
                    index: 2,
                    claimed_seq: Some(3)
                },
                ChainFailure::Gap { first: 3, last: 3 },
            ]
        );
    }

    #[test]
    fn a_second_record_with_the_same_seq_is_a_fork() {
        let device = Device::new();
        let mut records = device.chain(3);
        let kid = key_id(&device.public_key());
        let honest = EvidencePayload::decode(&parse_sign1(&records[1]).unwrap().payload).unwrap();
        let mut rewritten = honest.clone();
        rewritten.event = Event::Note("rewritten history".into());
        records.insert(2, rewritten.sign(&device.key).unwrap());
        let report = verify(&records, &device);
        assert_eq!(
            report.failures,
            [ChainFailure::Fork {
                seq: 2,
                indexes: vec![1, 2]
            }]
        );
        // Seq 3 links to one branch, so only the fork itself is reported.
        let mut broken = full_capture(kid, 3, Some([0; 32]));
        broken.wall_ms += 1;
        let mut records = device.chain(3);
        records.push(broken.sign(&device.key).unwrap());
        let report = verify(&records, &device);
        assert_eq!(
            report.failures,
            [
                ChainFailure::Fork {
                    seq: 3,
                    indexes: vec![2, 3]
                },
                ChainFailure::PrevMismatch { seq: 3, index: 3 },
            ]
        );
    }

    #[test]
    fn garbage_is_undecodable() {
        let device = Device::new();
        let mut records = device.chain(2);
        records.insert(0, b"not a record".to_vec());
        let report = verify(&records, &device);
        assert_eq!(report.failures, [ChainFailure::Undecodable { index: 0 }]);
    }

    #[test]
    fn every_failure_is_reported_together() {
        let device = Device::new();
        let other = Device::new();
        let original = device.chain(8);
        let mut records = vec![
            original[0].clone(),
            original[2].clone(), // seq 2 deleted; 3 before 4 stays in order
            original[4].clone(),
            original[3].clone(),      // 4 after 5: out of order
            original[4].clone(),      // 5 again: replay
            other.chain(6).remove(5), // seq 6 signed by another key
            original[6].clone(),
            b"\xd2\x84".to_vec(), // undecodable
            original[7].clone(),
        ];
        tamper_payload(&mut records[6]); // seq 7: flipped payload bit
        let report = verify(&records, &device);
        assert_eq!(
            report.failures,
            [
                ChainFailure::WrongKey {
                    index: 5,
                    claimed_seq: Some(6)
                },
                ChainFailure::BadSignature {
                    index: 6,
                    claimed_seq: Some(7)
                },
                ChainFailure::Undecodable { index: 7 },
                ChainFailure::Replay {
                    seq: 5,
                    indexes: vec![2, 4]
                },
                ChainFailure::OutOfOrder { seq: 4, index: 3 },
                ChainFailure::Gap { first: 2, last: 2 },
                ChainFailure::Gap { first: 6, last: 7 },
            ]
        );
        let seqs: Vec<u64> = report.records.iter().map(|r| r.payload.seq).collect();
        assert_eq!(seqs, [1, 3, 4, 5, 8]);
        for failure in &report.failures {
            assert!(!failure.to_string().is_empty());
        }
    }

    #[test]
    fn media_is_checked_by_hash_and_size() {
        let photo = b"\xff\xd8\xff original bytes".to_vec();
        let mut payload = full_capture([1; 32], 1, None);
        payload.event = Event::Capture(Media {
            sha256: crate::evidence::sha256(&photo),
            size: photo.len() as u64,
            mime: "image/jpeg".into(),
            width: None,
            height: None,
        });
        assert_eq!(
            verify_media(&payload, photo.as_slice()).unwrap(),
            MediaCheck::Match
        );
        let mut edited = photo.clone();
        edited[5] ^= 1;
        assert!(matches!(
            verify_media(&payload, edited.as_slice()).unwrap(),
            MediaCheck::Mismatch { actual_size, .. } if actual_size == photo.len() as u64
        ));
        assert!(matches!(
            verify_media(&payload, &photo[..4]).unwrap(),
            MediaCheck::Mismatch { actual_size: 4, .. }
        ));
        payload.event = Event::AppStart;
        assert_eq!(
            verify_media(&payload, photo.as_slice()).unwrap_err().code(),
            "invalid_record"
        );
    }
}
