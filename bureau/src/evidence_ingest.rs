//! Verified ingest: every evidence record a device pushes is checked on receipt,
//! then either accepted into the custody log or stored flagged for reviewers.
//! Nothing is silently dropped and nothing silently accepted.
//!
//! Checks, in order: the bytes are a COSE_Sign1 record of our format; it is signed
//! by a key enrolled for this device, the device's current one (a key rotation
//! record hands over to the next); the signature verifies; and it continues the
//! device's chain as the bureau holds it (`seq` = head + 1 and `prev` = the head's
//! payload hash). Failure codes are those of the device-side chain verifier:
//! `undecodable`, `wrong_key`, `bad_signature`, `replay` (a seq the bureau holds,
//! same payload), `fork` (a held seq, different payload), `out_of_order` (a seq
//! below the head the bureau never got), `prev_mismatch`, `gap` (seqs skipped).
//!
//! A `gap` record is authentic, so the chain head moves to it and the records after
//! it are judged against it; it is still flagged, and so are records that arrive
//! later for the skipped seqs (`out_of_order`). Media is checked when the photo is
//! complete, whichever of record and photo arrives first.
//!
//! A track segment's points, sent beside its record, are kept when the record is
//! accepted and they hash to the seal it signed; otherwise they are dropped
//! (the seal, not the points, is the evidence).
//!
//! A record naming a checkpoint beyond the log raises a custody alarm
//! (`custody_log::alarms`): the bureau was restored from an older backup.
//!
//! The inspection and officer a record's context names are stored as claimed;
//! whether the record attaches to that case is decided when the case is read
//! (`cases::inspections`), so the order records and inspections arrive in
//! cannot change the verdict.

use crate::custody_log::{alarms, persisted};
use crate::enrollment::Device;
use crate::error::Result;
use crate::now_ms;
use crate::params;
use crate::storage::Tx;
use crate::sync::feed::{self, Audience};
use fieldproof_core::evidence::chain::{judge, AuthenticRecord, ChainHead, FailureKind};
use fieldproof_core::evidence::record::Event;
use fieldproof_core::evidence::track_seal::{seals, SealedFix};
use fieldproof_core::wire::pull::ChangeKind;
use serde::Serialize;

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ingested {
    pub record_id: i64,
    pub seq: Option<u64>,
    /// `accepted` (in the custody log) or `flagged`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_index: Option<u64>,
    /// `none`, `pending` (photo not yet complete), `verified` or `mismatch`.
    pub media_status: &'static str,
}

/// Verifies and stores one record in the caller's transaction.
/// `claimed_seq` is the op's own label, used only when the record can't be read;
/// `points` are a track segment's fixes as its seal encodes them.
pub fn ingest(
    tx: &mut Tx,
    device: &Device,
    signed: &[u8],
    claimed_seq: Option<u64>,
    points: Option<&[u8]>,
) -> Result<Ingested> {
    let head = lock_chain(tx, &device.id)?;
    let judgement = judge(&head, signed, |seq| accepted_at(tx, device, seq))?;
    if let Some(record) = &judgement.record {
        if let Some(held) = &record.payload.checkpoint {
            alarms::check(tx, &device.id, held.tree_size, Some(record.payload.seq))?;
        }
    }
    let failure = judgement.failure.map(FailureKind::code);
    let seq = judgement.claimed_seq.or(claimed_seq);
    let ingested = store(tx, device, signed, seq, judgement.record.as_ref(), failure)?;
    if let (Some(record), None, Some(points)) = (&judgement.record, failure, points) {
        keep_track_points(tx, device, record, points)?;
    }
    if let Some(next) = judgement.next_head(&head) {
        advance_chain(tx, device, &head, &next)?;
    }
    Ok(ingested)
}

/// Reads the device's chain head, taking its row lock (PostgreSQL) so two pushes
/// from one device judge their records one after the other.
fn lock_chain(tx: &mut Tx, device_id: &str) -> Result<ChainHead> {
    let row = tx.query_one(
        "UPDATE device_chains SET last_seq = last_seq WHERE device_id = $1
         RETURNING key_id, last_seq, last_payload_sha256",
        params![device_id],
    )?;
    let key_id = row.hash(0)?;
    // Written with the chain head (enrollment, key rotation): a missing key is a
    // storage fault, never a verdict on the record.
    let public_key = tx
        .query_one(
            "SELECT public_key FROM device_keys WHERE key_id = $1 AND device_id = $2",
            params![&key_id, device_id],
        )?
        .blob(0)?;
    Ok(ChainHead {
        public_key,
        seq: row.int(1)? as u64,
        payload_sha256: row.opt_blob(2)?.and_then(|b| b.try_into().ok()),
    })
}

/// The payload hash of the device's accepted record `seq`, if the bureau holds one.
fn accepted_at(tx: &mut Tx, device: &Device, seq: u64) -> Result<Option<[u8; 32]>> {
    let held = tx.query(
        "SELECT payload_sha256 FROM evidence_records
         WHERE device_id = $1 AND seq = $2 AND status = 'accepted'",
        params![&device.id, seq],
    )?;
    held.first().map(|row| row.hash(0)).transpose()
}

fn store(
    tx: &mut Tx,
    device: &Device,
    signed: &[u8],
    seq: Option<u64>,
    verified: Option<&AuthenticRecord>,
    failure: Option<&'static str>,
) -> Result<Ingested> {
    let payload = verified.map(|v| &v.payload);
    let media = payload.and_then(|p| p.event.media());
    let media_status = match media {
        None => "none",
        Some(media) => media_status(tx, &device.id, &media.sha256, media.size)?,
    };
    let status = if failure.is_none() {
        "accepted"
    } else {
        "flagged"
    };
    let record_id = tx
        .query_one(
            "INSERT INTO evidence_records
               (device_id, seq, kind, signed, payload_sha256, media_sha256, media_size,
                inspection_id, claimed_officer_id, status, failure, media_status, received_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            params![
                &device.id,
                seq,
                payload.map(|p| p.event.kind()),
                signed,
                verified.map(|v| v.payload_sha256.to_vec()),
                media.map(|m| m.sha256.to_vec()),
                media.map(|m| m.size),
                payload.and_then(|p| p.context.inspection_id.clone()),
                payload.and_then(|p| p.context.officer_id.clone()),
                status,
                failure,
                media_status,
                now_ms()
            ],
        )?
        .int(0)?;
    let leaf_index = match failure {
        None => {
            let index = persisted::append(tx, record_id, signed)?;
            tx.execute(
                "UPDATE evidence_records SET leaf_index = $1 WHERE id = $2",
                params![index, record_id],
            )?;
            // The device can collect the receipt by pull if the push reply is lost.
            feed::append(
                tx,
                Audience::Device(&device.id),
                ChangeKind::Receipt,
                &serde_json::json!({ "seq": seq, "leaf_index": index }),
            )?;
            Some(index)
        }
        Some(_) => None,
    };
    Ok(Ingested {
        record_id,
        seq,
        status,
        failure,
        leaf_index,
        media_status,
    })
}

/// Keeps an accepted track segment's points, if they are the ones it sealed.
fn keep_track_points(
    tx: &mut Tx,
    device: &Device,
    record: &AuthenticRecord,
    points: &[u8],
) -> Result<()> {
    let Event::TrackSegment(segment) = &record.payload.event else {
        return Ok(());
    };
    let sealed = SealedFix::decode_all(points).is_some_and(|fixes| seals(segment, &fixes));
    if !sealed {
        tracing::warn!(
            device = %device.id,
            seq = record.payload.seq,
            "track points dropped: they do not hash to the segment's signed seal"
        );
        return Ok(());
    }
    tx.execute(
        "INSERT INTO track_points (device_id, seq, points, first_ms, last_ms)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        params![
            &device.id,
            record.payload.seq,
            points,
            segment.first_time_ms,
            segment.last_time_ms
        ],
    )?;
    Ok(())
}

/// `verified` when this device's photo with these bytes is complete, `mismatch`
/// when a photo with that hash is held but its size differs, else `pending`.
fn media_status(
    tx: &mut Tx,
    device_id: &str,
    sha256: &[u8; 32],
    size: u64,
) -> Result<&'static str> {
    let held = tx.query_opt(
        "SELECT size FROM photos WHERE sha256 = $1 AND device_id = $2 AND role = 'original'",
        params![sha256, device_id],
    )?;
    Ok(match held {
        None => "pending",
        Some(row) if row.int(0)? as u64 == size => "verified",
        Some(_) => "mismatch",
    })
}

fn advance_chain(tx: &mut Tx, device: &Device, head: &ChainHead, next: &ChainHead) -> Result<()> {
    let key = next.key_id();
    if next.public_key != head.public_key {
        // A key rotation: the old key signed the hand-over, the new one signs on.
        tx.execute(
            "INSERT INTO device_keys (key_id, device_id, public_key, from_seq) VALUES ($1, $2, $3, $4)",
            params![&key, &device.id, next.public_key.clone(), next.seq + 1],
        )?;
    }
    tx.execute(
        "UPDATE device_chains SET key_id = $1, last_seq = $2, last_payload_sha256 = $3 WHERE device_id = $4",
        params![&key, next.seq, next.payload_sha256.map(|h| h.to_vec()), &device.id],
    )?;
    Ok(())
}

/// Called in the transaction that completes a verified photo upload: every record
/// of that device describing these bytes now has its media checked.
pub fn photo_received(tx: &mut Tx, device_id: &str, sha256: &[u8; 32], size: u64) -> Result<()> {
    tx.execute(
        "UPDATE evidence_records
         SET media_status = CASE WHEN media_size = $1 THEN 'verified' ELSE 'mismatch' END
         WHERE device_id = $2 AND media_sha256 = $3 AND media_status = 'pending'",
        params![size, device_id, sha256],
    )?;
    Ok(())
}
