//! One record at a time against the chain as a verifier holds it.
//!
//! The bureau judges each record it receives against the device's chain head
//! in its tables; the device judges its own history the same way, from the
//! first key on. Both call [`judge`], so the two cannot disagree on what a gap,
//! a fork or a key rotation is.

use super::{check_signed, AuthenticRecord, FailureKind};
use crate::evidence::keys::key_id;
use crate::evidence::record::Event;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;

/// Where a device's chain stands: the key the next record must be signed with
/// and the record it must follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// SEC1 public key of the next record: the enrolled key, until a key
    /// rotation record hands the chain to its successor.
    pub public_key: Vec<u8>,
    /// The last record's seq; 0 before the first.
    pub seq: u64,
    /// The last record's payload hash; `None` before the first.
    pub payload_sha256: Option<[u8; 32]>,
}

impl ChainHead {
    /// A chain with no record yet, to be signed by `public_key`.
    pub fn genesis(public_key: Vec<u8>) -> Self {
        Self {
            public_key,
            seq: 0,
            payload_sha256: None,
        }
    }

    pub fn key_id(&self) -> [u8; 32] {
        key_id(&self.public_key)
    }

    /// The head once `record` is on the chain. The old key signs a rotation;
    /// from the next record on, only the new key counts.
    pub fn after(&self, record: &AuthenticRecord) -> Self {
        let public_key = match &record.payload.event {
            Event::KeyRotation { new_public_key } => new_public_key.clone(),
            _ => self.public_key.clone(),
        };
        Self {
            public_key,
            seq: record.payload.seq,
            payload_sha256: Some(record.payload_sha256),
        }
    }
}

/// What one record is, judged against a head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The record, when it is authentic: signed by the head's key.
    pub record: Option<AuthenticRecord>,
    /// The seq the record claims (verified when `record` is there).
    pub claimed_seq: Option<u64>,
    /// Why it does not simply continue the chain; `None` when it does.
    pub failure: Option<FailureKind>,
}

impl Judgement {
    /// Whether the record is on the chain: it continues the head.
    pub fn is_accepted(&self) -> bool {
        self.record.is_some() && self.failure.is_none()
    }

    /// The head after this record. A record after a gap is authentic, so the
    /// head moves to it and later records are judged against it (the gap stays
    /// reported); any other failure leaves the head where it was.
    pub fn next_head(&self, head: &ChainHead) -> Option<ChainHead> {
        let record = self.record.as_ref()?;
        matches!(self.failure, None | Some(FailureKind::Gap)).then(|| head.after(record))
    }
}

/// Judges the signed record `signed` against `head`. A seq at or below the
/// head needs the verifier's own history: `held(seq)` is the payload hash of
/// the record it accepted with that seq, if any, telling a replay from a fork
/// from a record that comes too late.
pub fn judge<E>(
    head: &ChainHead,
    signed: &[u8],
    held: impl FnOnce(u64) -> Result<Option<[u8; 32]>, E>,
) -> Result<Judgement, E> {
    let record = match check_signed(signed, &head.key_id(), &head.public_key) {
        Ok(record) => record,
        Err((kind, claimed_seq)) => {
            return Ok(Judgement {
                record: None,
                claimed_seq,
                failure: Some(kind),
            })
        }
    };
    let seq = record.payload.seq;
    let failure = if seq <= head.seq {
        Some(match held(seq)? {
            None => FailureKind::OutOfOrder,
            Some(hash) if hash == record.payload_sha256 => FailureKind::Replay,
            Some(_) => FailureKind::Fork,
        })
    } else if seq > head.seq + 1 {
        Some(FailureKind::Gap)
    } else if record.payload.prev != head.payload_sha256 {
        Some(FailureKind::PrevMismatch)
    } else {
        None
    };
    Ok(Judgement {
        record: Some(record),
        claimed_seq: Some(seq),
        failure,
    })
}

/// One problem in a history, at the record that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryFailure {
    pub kind: FailureKind,
    /// The seq the record claims; `None` when it cannot be read.
    pub seq: Option<u64>,
}

impl fmt::Display for HistoryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "record {seq} ")?,
            None => f.write_str("a record ")?,
        }
        f.write_str(match self.kind {
            FailureKind::Undecodable => "cannot be decoded",
            FailureKind::WrongKey => "is not signed by the key the chain continues with",
            FailureKind::BadSignature => "has an invalid signature",
            FailureKind::Replay => "repeats a record already on the chain",
            FailureKind::Fork => "differs from the record on the chain with its seq",
            FailureKind::OutOfOrder => "comes after a later record",
            FailureKind::Gap => "follows missing records",
            FailureKind::PrevMismatch => "does not link to the record before it",
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryReport {
    /// Every authentic record, in the order given (those after a gap too).
    pub records: Vec<AuthenticRecord>,
    pub failures: Vec<HistoryFailure>,
}

/// Verifies a device's whole history, in the order it was made, from its first
/// key `genesis_key` on, across its key rotations: each record judged against
/// the head the ones before it left.
pub fn verify_history<'a>(
    records: impl IntoIterator<Item = &'a [u8]>,
    genesis_key: &[u8],
) -> HistoryReport {
    let mut head = ChainHead::genesis(genesis_key.to_vec());
    let mut accepted: HashMap<u64, [u8; 32]> = HashMap::new();
    let mut report = HistoryReport::default();
    for signed in records {
        let judged = judge(&head, signed, |seq| {
            Ok::<_, Infallible>(accepted.get(&seq).copied())
        });
        let Ok(judgement) = judged;
        if let Some(next) = judgement.next_head(&head) {
            head = next;
        }
        if let Some(kind) = judgement.failure {
            report.failures.push(HistoryFailure {
                kind,
                seq: judgement.claimed_seq,
            });
        }
        if let Some(record) = judgement.record {
            if judgement.failure.is_none() {
                accepted.insert(record.payload.seq, record.payload_sha256);
            }
            report.records.push(record);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::keys::{Signer, SoftwareKey};
    use crate::evidence::record::tests::full_capture;
    use crate::evidence::record::{payload_digest, EvidencePayload};

    fn key(dir: &tempfile::TempDir, name: &str) -> SoftwareKey {
        SoftwareKey::load_or_create(&dir.path().join(name)).unwrap()
    }

    /// Signs records seq `from..` after `prev`, each linked to the one before;
    /// the payloads come back too.
    fn records(
        signer: &SoftwareKey,
        from: u64,
        prev: Option<[u8; 32]>,
        events: Vec<Option<Event>>,
    ) -> Vec<(Vec<u8>, EvidencePayload)> {
        let kid = key_id(&signer.public_key());
        let mut prev = prev;
        events
            .into_iter()
            .enumerate()
            .map(|(i, event)| {
                let mut payload = full_capture(kid, from + i as u64, prev);
                if let Some(event) = event {
                    payload.event = event;
                }
                prev = Some(payload_digest(&payload.encode()));
                (payload.sign(signer).unwrap(), payload)
            })
            .collect()
    }

    fn never_held(_: u64) -> Result<Option<[u8; 32]>, Infallible> {
        Ok(None)
    }

    fn failure(head: &ChainHead, signed: &[u8]) -> Option<FailureKind> {
        let Ok(judgement) = judge(head, signed, never_held);
        judgement.failure
    }

    #[test]
    fn records_continue_their_head_and_move_it() {
        let dir = tempfile::tempdir().unwrap();
        let device = key(&dir, "a.p8");
        let chain = records(&device, 1, None, vec![None, None, None]);
        let mut head = ChainHead::genesis(device.public_key());
        for (signed, payload) in &chain {
            let Ok(judgement) = judge(&head, signed, never_held);
            assert!(judgement.is_accepted(), "{judgement:?}");
            assert_eq!(judgement.claimed_seq, Some(payload.seq));
            head = judgement.next_head(&head).unwrap();
        }
        assert_eq!(head.seq, 3);
        assert_eq!(
            head.payload_sha256,
            Some(payload_digest(&chain[2].1.encode()))
        );
    }

    #[test]
    fn each_failure_is_named_against_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let device = key(&dir, "a.p8");
        let chain = records(&device, 1, None, vec![None, None, None]);
        let genesis = ChainHead::genesis(device.public_key());
        let Ok(first) = judge(&genesis, &chain[0].0, never_held);
        let head = first.next_head(&genesis).unwrap();

        assert_eq!(failure(&genesis, &chain[1].0), Some(FailureKind::Gap));
        assert_eq!(failure(&head, &chain[2].0), Some(FailureKind::Gap));
        // Seq 2 signed right but linked to nothing held.
        let unlinked = records(&device, 2, Some([9; 32]), vec![None]);
        assert_eq!(
            failure(&head, &unlinked[0].0),
            Some(FailureKind::PrevMismatch)
        );
        // At or below the head: the verifier's history decides.
        let held = payload_digest(&chain[0].1.encode());
        let Ok(replay) = judge(&head, &chain[0].0, |_| Ok::<_, Infallible>(Some(held)));
        assert_eq!(replay.failure, Some(FailureKind::Replay));
        let Ok(fork) = judge(&head, &chain[0].0, |_| Ok::<_, Infallible>(Some([1; 32])));
        assert_eq!(fork.failure, Some(FailureKind::Fork));
        assert_eq!(failure(&head, &chain[0].0), Some(FailureKind::OutOfOrder));
        // A failure other than a gap leaves the head where it was.
        assert_eq!(fork.next_head(&head), None);

        let other = key(&dir, "b.p8");
        let foreign = records(&other, 2, head.payload_sha256, vec![None]);
        let Ok(wrong) = judge(&head, &foreign[0].0, never_held);
        assert_eq!(
            (wrong.failure, wrong.claimed_seq, wrong.record),
            (Some(FailureKind::WrongKey), Some(2), None)
        );
        let mut tampered = chain[1].0.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(failure(&head, &tampered), Some(FailureKind::BadSignature));
        assert_eq!(failure(&head, b"not cose"), Some(FailureKind::Undecodable));
    }

    #[test]
    fn a_key_rotation_hands_the_chain_to_the_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (key(&dir, "old.p8"), key(&dir, "new.p8"));
        let rotation = Event::KeyRotation {
            new_public_key: new.public_key(),
        };
        let mut history = records(&old, 1, None, vec![None, Some(rotation)]);
        let link = Some(payload_digest(&history[1].1.encode()));
        history.extend(records(&new, 3, link, vec![None, None]));
        let signed: Vec<&[u8]> = history.iter().map(|(s, _)| s.as_slice()).collect();

        let report = verify_history(signed.iter().copied(), &old.public_key());
        assert_eq!(report.failures, []);
        assert_eq!(report.records.len(), 4);

        // The old key may not sign on after handing over.
        let stale = records(&old, 3, link, vec![None]);
        let report = verify_history([signed[0], signed[1], &stale[0].0], &old.public_key());
        assert_eq!(
            report.failures,
            [HistoryFailure {
                kind: FailureKind::WrongKey,
                seq: Some(3)
            }]
        );
        assert_eq!(
            report.failures[0].to_string(),
            "record 3 is not signed by the key the chain continues with"
        );

        // A tampered rotation hands over nothing: what the new key signed is foreign.
        let mut broken = signed.iter().map(|s| s.to_vec()).collect::<Vec<_>>();
        *broken[1].last_mut().unwrap() ^= 1;
        let report = verify_history(broken.iter().map(Vec::as_slice), &old.public_key());
        let kinds: Vec<FailureKind> = report.failures.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                FailureKind::BadSignature,
                FailureKind::WrongKey,
                FailureKind::WrongKey
            ]
        );
        assert_eq!(report.records.len(), 1, "only record 1 is authentic");
    }
}
