//! The capture path, shutter to safe: a photo's bytes stored under their
//! SHA-256, its metadata read, its thumbnail made and its record signed, in one
//! transaction; and reading photos back.

use super::chain::append_record;
use crate::error::{Error, Result};
use crate::evidence::exif::{read_metadata, PhotoMetadata};
use crate::evidence::media::{sniff, MediaType, SNIFF_BYTES};
use crate::evidence::record::{self, Context, Event, Media};
use crate::evidence::thumbnail::{make_thumbnail, DecodeLimits, THUMBNAIL_EDGE};
use crate::evidence::track_seal::{degrees_e7, millimetres};
use crate::geo::fix::Fix;
use crate::hex;
use crate::model::id::{new_id, parse_id};
use crate::model::inspection::Inspection;
use crate::model::photo::{CaptureContext, CaptureSource, Derivative, Photo, Position};
use crate::store::evidence as rows;
use crate::store::{outbox, Store};
use crate::time::now_ms;
use crate::wire::ops::{OpKind, PhotoUploadPayload};
use rusqlite::Connection;
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::PathBuf;

/// Where the photo's bytes come from: a file (preferred for large photos: never
/// held in memory whole) or bytes the platform already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoSource {
    Path(PathBuf),
    Bytes(Vec<u8>),
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

impl Store {
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
        let capture_source = context.source;
        self.take_into_evidence(source, fix, context, |_, media, _| {
            Ok(match capture_source {
                CaptureSource::Camera => Event::Capture(media),
                CaptureSource::Import => Event::Import(media),
            })
        })
    }

    /// The capture path for any event about a stored file: `event` makes the
    /// record's event from the file's [`Media`] and the inspection the context
    /// names, inside the transaction that writes the record (which it may also
    /// write in); an error from it rolls that back and leaves only the
    /// content-addressed bytes, which the next start-up scan reports.
    pub(in crate::store) fn take_into_evidence(
        &self,
        source: PhotoSource,
        fix: Option<Fix>,
        context: CaptureContext,
        event: impl FnOnce(&Connection, Media, Option<&Inspection>) -> Result<Event>,
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
                // As the store shows and submits it: answers in checklist order.
                Some(id) => Some(self.load(tx, id)?),
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
            let event = event(tx, event_media, inspection.as_ref())?;
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
                lat_e7: degrees_e7(f.point.lat),
                lon_e7: degrees_e7(f.point.lon),
                accuracy_mm: f.fix.accuracy_m.map(|a| millimetres(a) as u64),
                altitude_mm: f.fix.altitude_m.map(millimetres),
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
}
