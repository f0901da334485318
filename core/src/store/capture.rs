//! Photo evidence on the device: the capture path (shutter to safe), the device's
//! signed record chain, previews made off the capture path, and verification.

use super::evidence::{self as rows, ChainHead, NewRecord};
use super::media::{MediaDir, MediaScan};
use super::{lock, outbox, Store};
use crate::error::{Error, Result};
use crate::evidence::chain::{verify_history, verify_media, MediaCheck};
use crate::evidence::cose;
use crate::evidence::exif::{read_metadata, PhotoMetadata};
use crate::evidence::keys::{key_id, Signer, SoftwareKey};
use crate::evidence::media::{sniff, MediaType, SNIFF_BYTES};
use crate::evidence::record::{self, ClockJump, Context, Event, EvidencePayload, Media, Monotonic};
use crate::evidence::thumbnail::{make_thumbnail, DecodeLimits, PREVIEW_EDGE, THUMBNAIL_EDGE};
use crate::geo::fix::Fix;
use crate::hex;
use crate::model::id::{new_id, parse_id};
use crate::model::photo::{CaptureContext, CaptureSource, Derivative, Photo, Position};
use crate::model::track::SealedSegment;
use crate::model::verification::{EvidenceFailure, EvidenceReport};
use crate::time::now_ms;
use crate::wire::ops::{EvidenceRecordPayload, OpKind, PhotoUploadPayload};
use rusqlite::Connection;
use serde::Serialize;
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the photo's bytes come from: a file (preferred for large photos: never
/// held in memory whole) or bytes the platform already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoSource {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

/// A wall clock that moved this far against the monotonic clock between two
/// records is recorded as a clock jump.
const CLOCK_JUMP_MS: i64 = 120_000;

/// The signer in use and whether it is the core's own key or the platform's.
#[derive(Clone)]
pub(super) struct DeviceSigner {
    signer: Arc<dyn Signer>,
    source: &'static str,
}

/// What a `prepare_previews` call did, and what is left for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PreviewReport {
    pub made: u32,
    pub unavailable: u32,
    pub remaining: u32,
}

impl Store {
    pub(super) fn media(&self) -> MediaDir {
        MediaDir::beside(self.path())
    }

    /// Signs with a platform key (Android Keystore, Secure Enclave) instead of the
    /// core's software key. The key must be the one that signed this device's
    /// chain so far, if any: a chain never silently changes keys.
    pub fn use_platform_signer(&self, signer: Arc<dyn Signer>) -> Result<()> {
        self.check_chain_key(&signer.public_key())?;
        *lock(&self.signer) = Some(DeviceSigner {
            signer,
            source: "platform",
        });
        Ok(())
    }

    fn device_signer(&self) -> Result<DeviceSigner> {
        let mut current = lock(&self.signer);
        if current.is_none() {
            let media = self.media();
            std::fs::create_dir_all(media.root())?;
            let key = SoftwareKey::load_or_create(&media.key_path())?;
            *current = Some(DeviceSigner {
                signer: Arc::new(key),
                source: "software",
            });
        }
        Ok(current.clone().expect("set above"))
    }

    fn check_chain_key(&self, public_key: &[u8]) -> Result<()> {
        self.read(|conn| check_next_key(rows::head(conn)?.as_ref(), &key_id(public_key)))
    }

    /// Hands the device chain to a new key: a `key_rotation` record naming the
    /// new public key is signed by the current key, and every later record by
    /// the new one. Returns the rotation record's seq.
    pub fn rotate_key(&self, new_signer: Arc<dyn Signer>, context: CaptureContext) -> Result<u64> {
        let signer = self.device_signer()?.signer;
        let new_public_key = new_signer.public_key();
        if key_id(&new_public_key) == key_id(&signer.public_key()) {
            return Err(Error::InvalidField {
                field: "new_signer",
                reason: "is the key already in use",
            });
        }
        let seq = self.record_event(Event::KeyRotation { new_public_key }, context)?;
        *lock(&self.signer) = Some(DeviceSigner {
            signer: new_signer,
            source: "platform",
        });
        Ok(seq)
    }

    /// The device public key (SEC1) that signs its evidence records.
    pub fn device_public_key(&self) -> Result<Vec<u8>> {
        Ok(self.device_signer()?.signer.public_key())
    }

    /// Takes a photo into evidence: copies the original bytes into the
    /// content-addressed store, reads its EXIF, makes the thumbnail, and writes the
    /// photo row, its signed evidence record and the outbox entries in one
    /// transaction. A photo that cannot be decoded is still stored and signed, with
    /// its thumbnail unavailable and a warning; bytes that are not an image at all
    /// are refused with `unsupported_media` before anything is stored.
    pub fn capture_photo(
        &self,
        source: PhotoSource,
        fix: Option<Fix>,
        context: CaptureContext,
    ) -> Result<Photo> {
        let inspection_id = context
            .inspection_id
            .as_deref()
            .map(|id| parse_id(id, "inspection id"))
            .transpose()?;
        let fix = fix.map(Fix::check).transpose()?;
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        open(&source)?
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)?;
        let media_type = sniff(&head)?;
        let signer = self.device_signer()?;

        // Copying (with hash and fsync) and decoding are independent: run them on
        // both cores so the shutter-to-safe time is the longer of the two, not the sum.
        let media = self.media();
        let (stored, analysed) = std::thread::scope(|scope| {
            let analysis = scope.spawn(|| analyse(&source));
            let stored = open(&source).and_then(|mut reader| media.store_original(&mut reader));
            (stored, analysis.join())
        });
        let (digest, _) = stored?;
        let (metadata, thumbnail) = analysed.map_err(|_| Error::InvalidRecord {
            reason: "photo analysis panicked".into(),
        })??;
        let sha256 = hex::encode(&digest.sha256);
        let mut warnings = metadata.warnings.clone();
        let thumbnail = thumbnail.and_then(|jpeg| {
            media
                .write_derived(&media.thumbnail(&sha256), &jpeg)
                .map_err(|e| e.code().to_owned())
        });
        if let Err(reason) = &thumbnail {
            warnings.push(format!("thumbnail unavailable: {reason}"));
        }
        let (thumbnail, preview) = match (&thumbnail, media_type) {
            (Ok(()), MediaType::Jpeg) => (Derivative::Ok, Derivative::Pending),
            _ => (Derivative::Unavailable, Derivative::Unavailable),
        };

        self.write(|tx| {
            let inspection = match &inspection_id {
                Some(id) => Some(super::inspections::load(tx, id)?),
                None => None,
            };
            let now = now_ms();
            let fix_jurisdiction = match (&fix, &inspection) {
                (Some(f), Some(i)) => {
                    self.placement_for(tx, &i.township_code, &i.county_code, f.point)?
                }
                _ => None,
            };
            let event_media = Media {
                sha256: digest.sha256,
                size: digest.size,
                mime: media_type.mime().to_owned(),
                width: metadata.width,
                height: metadata.height,
            };
            let event = match context.source {
                CaptureSource::Camera => Event::Capture(event_media),
                CaptureSource::Import => Event::Import(event_media),
            };
            let record_context = Context {
                inspection_id: inspection_id.clone(),
                task_id: context
                    .task_id
                    .clone()
                    .or_else(|| inspection.as_ref().and_then(|i| i.task_id.clone())),
                officer_id: context
                    .officer_id
                    .clone()
                    .or_else(|| inspection.as_ref().map(|i| i.officer_id.clone())),
            };
            let payload_fix = fix.as_ref().map(|f| record::RecordedFix {
                lat_e7: (f.point.lat * 1e7).round() as i32,
                lon_e7: (f.point.lon * 1e7).round() as i32,
                accuracy_mm: f.fix.accuracy_m.map(|a| (a * 1000.0).round() as u64),
                altitude_mm: f.fix.altitude_m.map(|a| (a * 1000.0).round() as i64),
                time_ms: Some(f.fix.time_ms),
                provider: Some(f.fix.provider.clone()),
                mock: Some(f.fix.mock),
            });
            let seq = append_record(
                tx,
                &signer,
                event,
                payload_fix,
                record_context,
                &context,
                now,
            )?;
            let photo = Photo {
                id: new_id(),
                inspection_id: inspection_id.clone(),
                record_seq: seq,
                source: context.source,
                sha256: sha256.clone(),
                size: digest.size,
                mime: media_type.mime().to_owned(),
                width: metadata.width,
                height: metadata.height,
                orientation: metadata.orientation,
                taken_at: metadata.datetime_original.clone(),
                taken_at_utc_ms: metadata.datetime_original_utc_ms,
                exif_position: metadata.gps.map(|g| Position {
                    lat: g.lat,
                    lon: g.lon,
                }),
                make: metadata.make.clone(),
                model: metadata.model.clone(),
                fix_position: fix.as_ref().map(|f| Position {
                    lat: f.point.lat,
                    lon: f.point.lon,
                }),
                fix_accuracy_m: fix.as_ref().and_then(|f| f.fix.accuracy_m),
                fix_jurisdiction,
                thumbnail,
                preview,
                warnings: warnings.clone(),
                captured_at_ms: now,
            };
            rows::insert_photo(tx, &photo)?;
            let upload = PhotoUploadPayload {
                photo_id: photo.id.clone(),
                sha256: photo.sha256.clone(),
                size: photo.size,
                mime: Some(photo.mime.clone()),
            };
            outbox::enqueue(tx, OpKind::PhotoUpload, &photo.id, &upload, now)?;
            Ok(photo)
        })
    }

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
    pub(super) fn record_segment(
        &self,
        tx: &Connection,
        sealed: &SealedSegment,
        now: i64,
    ) -> Result<u64> {
        let signer = self.device_signer()?;
        let track = super::tracks::load(tx, &sealed.track_id)?;
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

    pub fn photo(&self, photo_id: &str) -> Result<Photo> {
        let id = parse_id(photo_id, "photo id")?;
        self.read(|conn| rows::photo(conn, &id))
    }

    pub fn photos_of_inspection(&self, inspection_id: &str) -> Result<Vec<Photo>> {
        let id = parse_id(inspection_id, "inspection id")?;
        self.read(|conn| rows::photos_of_inspection(conn, &id))
    }

    /// The photo's original bytes, as captured.
    pub fn original_path(&self, photo_id: &str) -> Result<PathBuf> {
        Ok(self.media().original(&self.photo(photo_id)?.sha256))
    }

    /// The 320 px thumbnail (JPEG), if one could be made.
    pub fn thumbnail(&self, photo_id: &str) -> Result<Option<Vec<u8>>> {
        let photo = self.photo(photo_id)?;
        match photo.thumbnail {
            Derivative::Ok => Ok(Some(std::fs::read(self.media().thumbnail(&photo.sha256))?)),
            _ => Ok(None),
        }
    }

    /// The 1280 px preview (JPEG), made now if it was still pending.
    pub fn preview(&self, photo_id: &str) -> Result<Option<Vec<u8>>> {
        let mut photo = self.photo(photo_id)?;
        if photo.preview == Derivative::Pending {
            photo.preview = self.make_preview(&photo)?;
        }
        match photo.preview {
            Derivative::Ok => Ok(Some(std::fs::read(self.media().preview(&photo.sha256))?)),
            _ => Ok(None),
        }
    }

    /// Makes pending previews until `budget` runs out; the platform calls this in
    /// the background (WorkManager, BGTask) and again later if work remains.
    pub fn prepare_previews(&self, budget: Duration) -> Result<PreviewReport> {
        let started = Instant::now();
        let pending = self.read(rows::pending_previews)?;
        let mut report = PreviewReport {
            made: 0,
            unavailable: 0,
            remaining: pending.len() as u32,
        };
        for photo in pending {
            if started.elapsed() >= budget {
                break;
            }
            match self.make_preview(&photo)? {
                Derivative::Ok => report.made += 1,
                _ => report.unavailable += 1,
            }
            report.remaining -= 1;
        }
        Ok(report)
    }

    fn make_preview(&self, photo: &Photo) -> Result<Derivative> {
        let media = self.media();
        let made = self.derive_file(
            &media.original(&photo.sha256),
            &media.preview(&photo.sha256),
            PREVIEW_EDGE,
            photo.orientation,
        );
        let (status, warning) = match made {
            Ok(()) => (Derivative::Ok, None),
            Err(reason) => (
                Derivative::Unavailable,
                Some(format!("preview unavailable: {reason}")),
            ),
        };
        self.write(|tx| rows::set_preview(tx, &photo.id, status, warning.as_deref()))?;
        Ok(status)
    }

    /// Writes a JPEG derivative of `original`; the error is the reason in words.
    fn derive_file(
        &self,
        original: &std::path::Path,
        target: &std::path::Path,
        edge: u32,
        orientation: Option<u16>,
    ) -> std::result::Result<(), String> {
        let mut file = File::open(original).map_err(|e| e.to_string())?;
        let made = make_thumbnail(&mut file, edge, orientation, &DecodeLimits::default())
            .map_err(|e| e.code().to_owned())?;
        self.media()
            .write_derived(target, &made.jpeg)
            .map_err(|e| e.code().to_owned())
    }

    /// Checks the whole device chain (signatures, continuity) and every stored
    /// photo against the record that vouches for it. Names every failure.
    pub fn verify_evidence(&self) -> Result<EvidenceReport> {
        let (records, photos, genesis_key) = self.read(|conn| {
            let records = rows::signed_records(conn)?;
            let photos = rows::all_photos(conn)?;
            let key = match rows::genesis_kid(conn)? {
                Some(kid) => rows::public_key(conn, &kid)?,
                None => None,
            };
            Ok((records, photos, key))
        })?;
        let mut report = EvidenceReport {
            records: records.len() as u64,
            photos: photos.len() as u64,
            failures: Vec::new(),
        };
        let fail = |code: &str, detail: String| EvidenceFailure {
            code: code.to_owned(),
            detail,
        };
        let Some(key) = genesis_key else {
            if !records.is_empty() {
                report.failures.push(fail(
                    "unknown_key",
                    "the key of the first record is not on file".into(),
                ));
            }
            return Ok(report);
        };
        let history = verify_history(records.iter().map(|(_, s)| s.as_slice()), &key);
        for failure in &history.failures {
            report
                .failures
                .push(fail(failure.kind.code(), failure.to_string()));
        }
        let verified = history.records;
        let media = self.media();
        for photo in photos {
            let verified = verified.iter().find(|r| r.payload.seq == photo.record_seq);
            let Some(record) = verified else {
                report.failures.push(fail(
                    "media_unvouched",
                    format!(
                        "photo {} has no valid record {}",
                        photo.id, photo.record_seq
                    ),
                ));
                continue;
            };
            let check = File::open(media.original(&photo.sha256))
                .map_err(Error::from)
                .and_then(|file| verify_media(&record.payload, file));
            match check {
                Ok(MediaCheck::Match) => {}
                Ok(MediaCheck::Mismatch { .. }) => report.failures.push(fail(
                    "media_mismatch",
                    format!(
                        "photo {} differs from record {}",
                        photo.id, photo.record_seq
                    ),
                )),
                Err(_) => report.failures.push(fail(
                    "media_missing",
                    format!("photo {} original is unreadable", photo.id),
                )),
            }
        }
        Ok(report)
    }

    /// Removes unfinished temp files of a killed process and lists originals no
    /// photo row names (kept, never deleted).
    pub fn scan_media(&self) -> Result<MediaScan> {
        self.media()
            .scan(|sha| self.read(|conn| rows::has_original(conn, sha)))
    }
}

/// Opens the photo's bytes from the start.
fn open(source: &PhotoSource) -> Result<Box<dyn BufReadSeek + '_>> {
    Ok(match source {
        PhotoSource::Path(path) => Box::new(std::io::BufReader::new(File::open(path)?)),
        PhotoSource::Bytes(bytes) => Box::new(Cursor::new(bytes.as_slice())),
    })
}

trait BufReadSeek: std::io::BufRead + std::io::Seek + Send {}
impl<T: std::io::BufRead + std::io::Seek + Send> BufReadSeek for T {}

/// EXIF and the thumbnail JPEG, read from the source while it is being stored.
/// Damaged metadata comes back as warnings; the thumbnail error is its reason.
fn analyse(source: &PhotoSource) -> Result<(PhotoMetadata, std::result::Result<Vec<u8>, String>)> {
    let metadata = read_metadata(&mut open(source)?)?;
    let thumbnail = make_thumbnail(
        &mut open(source)?,
        THUMBNAIL_EDGE,
        metadata.orientation,
        &DecodeLimits::default(),
    )
    .map(|t| t.jpeg)
    .map_err(|e| e.code().to_owned());
    Ok((metadata, thumbnail))
}

/// The key that must sign the record after `head`: the head's own key, or the key
/// a `key_rotation` head hands over to.
fn check_next_key(head: Option<&ChainHead>, kid: &[u8; 32]) -> Result<()> {
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
fn core_context() -> CaptureContext {
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
fn append_record(
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
        checkpoint: super::sync::checkpoint_for_record(tx)?,
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
    let op = EvidenceRecordPayload {
        seq: Some(payload.seq),
        kind: Some(kind.to_owned()),
        signed: hex::encode(&signed),
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
