//! Appending to the device's record chain: each event signed and stored with
//! its outbox op in one transaction, a clock jump recorded before it when the
//! wall clock moved against the monotonic one.

use super::signer::DeviceSigner;
use crate::error::{Error, Result};
use crate::evidence::cose;
use crate::evidence::keys::{key_id, Signer};
use crate::evidence::record::{self, ClockJump, Context, Event, EvidencePayload, Monotonic};
use crate::hex;
use crate::model::id::parse_id;
use crate::model::photo::{CaptureContext, CaptureSource};
use crate::model::track::SealedSegment;
use crate::store::evidence::{self as rows, ChainHead, NewRecord};
use crate::store::{outbox, Store};
use crate::time::now_ms;
use crate::wire::ops::{EvidenceRecordPayload, OpKind};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rusqlite::Connection;

/// A wall clock that moved this far against the monotonic clock between two
/// records is recorded as a clock jump.
const CLOCK_JUMP_MS: i64 = 120_000;

/// The key that must sign the record after `head`: the head's own key, or the key
/// a `key_rotation` head hands over to.
pub(super) fn check_next_key(head: Option<&ChainHead>, kid: &[u8; 32]) -> Result<()> {
    let Some(head) = head else { return Ok(()) };
    let expected = head.next_kid.as_ref().unwrap_or(&head.kid);
    if expected != kid {
        return Err(Error::KeyUnavailable {
            reason: "this key is not the one the device's evidence chain continues with".into(),
        });
    }
    Ok(())
}

/// The context of records the core makes on its own (track seals): no platform
/// clock readings, the core's version.
pub(in crate::store) fn core_context() -> CaptureContext {
    CaptureContext {
        source: CaptureSource::Camera,
        inspection_id: None,
        task_id: None,
        officer_id: None,
        monotonic_ms: None,
        boot_id: None,
        app_version: concat!("fieldproof-core/", env!("CARGO_PKG_VERSION")).into(),
    }
}

/// Appends one record to the chain inside `tx`: a clock jump record first if the
/// wall clock moved against the monotonic clock since the last record.
pub(super) fn append_record(
    tx: &Connection,
    device: &DeviceSigner,
    event: Event,
    fix: Option<record::RecordedFix>,
    record_context: Context,
    context: &CaptureContext,
    now: i64,
) -> Result<u64> {
    let signer = device.signer.as_ref();
    let public_key = signer.public_key();
    let kid = key_id(&public_key);
    rows::remember_key(tx, &kid, &public_key, device.source, now)?;
    let mut head = rows::head(tx)?;
    if let Some(h) = &head {
        check_next_key(Some(h), &kid)?;
        if let Some(jump) = clock_jump(h, context, now) {
            let seq = sign_and_store(
                tx,
                signer,
                &kid,
                head.as_ref(),
                Event::ClockJump(jump),
                None,
                Context::default(),
                context,
                now,
            )?;
            head = Some(ChainHead {
                seq,
                ..rows::head(tx)?.expect("just stored")
            });
        }
    }
    sign_and_store(
        tx,
        signer,
        &kid,
        head.as_ref(),
        event,
        fix,
        record_context,
        context,
        now,
    )
}

fn clock_jump(head: &ChainHead, context: &CaptureContext, now: i64) -> Option<ClockJump> {
    let same_boot = head.boot_id.is_some() && head.boot_id == context.boot_id;
    let (Some(prev_mono), Some(mono)) = (head.mono_ms, context.monotonic_ms) else {
        return None;
    };
    let expected = head.wall_ms + (mono as i64 - prev_mono as i64);
    (same_boot && (now - expected).abs() > CLOCK_JUMP_MS).then_some(ClockJump {
        prev_wall_ms: head.wall_ms,
        prev_mono_ms: prev_mono,
    })
}

#[allow(clippy::too_many_arguments)]
fn sign_and_store(
    tx: &Connection,
    signer: &dyn Signer,
    kid: &[u8; 32],
    head: Option<&ChainHead>,
    event: Event,
    fix: Option<record::RecordedFix>,
    record_context: Context,
    context: &CaptureContext,
    now: i64,
) -> Result<u64> {
    let mut record_context = record_context;
    if let Some(officer) = crate::store::sync::enrolled_officer(tx)? {
        record_context.officer_id = Some(officer);
    }
    let payload = EvidencePayload {
        kid: *kid,
        seq: head.map_or(1, |h| h.seq + 1),
        prev: head.map(|h| h.payload_sha256),
        wall_ms: now,
        monotonic: context
            .monotonic_ms
            .zip(context.boot_id.clone())
            .map(|(ms, boot_id)| Monotonic { boot_id, ms }),
        app_version: context.app_version.clone(),
        fix,
        context: record_context,
        // The newest bureau checkpoint held: capture time is then bracketed between
        // two bureau-signed times, whatever the device clock says.
        checkpoint: crate::store::sync::checkpoint_for_record(tx)?,
        event,
    };
    let bytes = payload.encode();
    let signed = cose::sign1(&bytes, kid, signer)?;
    let kind = payload.event.kind();
    let next_kid = match &payload.event {
        Event::KeyRotation { new_public_key } => Some(key_id(new_public_key)),
        _ => None,
    };
    rows::insert_record(
        tx,
        &NewRecord {
            seq: payload.seq,
            kind,
            kid,
            next_kid: next_kid.as_ref().map(|k| k.as_slice()),
            signed: &signed,
            payload_sha256: &record::payload_digest(&bytes),
            wall_ms: now,
            mono_ms: context.monotonic_ms,
            boot_id: context.boot_id.as_deref(),
        },
    )?;
    // A track segment's points go with its seal, for the bureau to keep (a
    // case file exports them as GPX and GeoJSON).
    let points = match &payload.event {
        Event::TrackSegment(s) => {
            let segment = u32::try_from(s.index).map_err(|_| Error::DatabaseCorrupt)?;
            let fixes = crate::store::tracks::sealed_fixes(tx, &s.track_id, segment)?;
            let bytes: Vec<u8> = fixes.iter().flat_map(|f| f.encode()).collect();
            Some(BASE64.encode(bytes))
        }
        _ => None,
    };
    let op = EvidenceRecordPayload {
        seq: Some(payload.seq),
        kind: Some(kind.to_owned()),
        signed: hex::encode(&signed),
        points,
    };
    outbox::enqueue(
        tx,
        OpKind::EvidenceRecord,
        &payload.seq.to_string(),
        &op,
        now,
    )?;
    Ok(payload.seq)
}

impl Store {
    /// Records an event that carries no media (`app_start`, `note`).
    pub fn record_event(&self, event: Event, context: CaptureContext) -> Result<u64> {
        let signer = self.device_signer()?;
        let record_context = Context {
            inspection_id: context
                .inspection_id
                .as_deref()
                .map(|id| parse_id(id, "inspection id"))
                .transpose()?,
            task_id: context.task_id.clone(),
            officer_id: context.officer_id.clone(),
        };
        self.write(|tx| append_record(tx, &signer, event, None, record_context, &context, now_ms()))
    }

    /// The exact signed bytes (COSE_Sign1) of one record, as stored and shipped.
    pub fn evidence_record(&self, seq: u64) -> Result<Vec<u8>> {
        self.read(|conn| rows::signed_record(conn, seq))
    }

    /// Writes the `track_segment` record that seals a closed segment's points.
    pub(in crate::store) fn record_segment(
        &self,
        tx: &Connection,
        sealed: &SealedSegment,
        now: i64,
    ) -> Result<u64> {
        let signer = self.device_signer()?;
        let track = crate::store::tracks::load(tx, &sealed.track_id)?;
        let points_sha256 = hex::decode32(&sealed.points_sha256).ok_or(Error::DatabaseCorrupt)?;
        let event = Event::TrackSegment(record::TrackSegment {
            track_id: sealed.track_id.clone(),
            index: u64::from(sealed.segment),
            points_sha256,
            point_count: sealed.point_count,
            first_time_ms: sealed.first_time_ms,
            last_time_ms: sealed.last_time_ms,
        });
        let context = Context {
            inspection_id: track.inspection_id,
            task_id: track.task_id,
            officer_id: Some(track.officer_id),
        };
        append_record(tx, &signer, event, None, context, &core_context(), now)
    }
}
