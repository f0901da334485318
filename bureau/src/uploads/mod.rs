//! Photo uploads (tus 1.0) and the photo store.
//!
//! A device creates an upload for one photo, declaring its length, its id and the
//! SHA-256 of the whole file, then sends the bytes in chunks, each starting at the
//! offset the bureau holds (which HEAD reports after a cut connection). When the last
//! byte is in, the whole file is hashed: if it matches, it becomes the photo
//! `photos/<sha256 hex>` and the device's evidence records describing it get their
//! media verified; if not, the upload is refused and its bytes deleted (the device
//! still holds the original and sends it again in a new upload).
//!
//! An upload's state: `receiving` until its last byte, then `complete` or
//! `mismatch`; or `expired` when it was not finished in time (its bytes are then
//! swept). A terminated upload is deleted. Uploads belong to the device that made
//! them: to any other device they do not exist. A device may have at most
//! `limits.max_upload_bytes_in_flight` declared in unfinished uploads, so one
//! token cannot fill the disk.
//!
//! [`tus`] holds the protocol's header rules, [`lease`] who may work on an upload
//! right now, `storage::PhotoStore` the bytes; the HTTP layer is `api::uploads`.
//! See `bureau/docs/uploads.md` for the endpoint.

pub mod lease;
pub mod tus;

use crate::bureau::{blocking, Bureau};
use crate::error::{Error, Result};
use crate::storage::{Row, Tx};
use crate::{evidence_ingest, now_ms, params};
use http_body::Body;
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tus::PhotoRole;
use tus::{Checksum, Metadata};

/// A chunk may pause on a slow link, but a client silent this long is taken for
/// gone: what it sent is kept, and the upload is free for its retry.
const CHUNK_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait between two sweeps of expired uploads.
const MAX_SWEEP_PERIOD: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    Receiving,
    Complete,
    /// The whole file did not match its declared SHA-256 or length: refused.
    Mismatch,
    Expired,
}

impl UploadState {
    fn as_str(self) -> &'static str {
        match self {
            UploadState::Receiving => "receiving",
            UploadState::Complete => "complete",
            UploadState::Mismatch => "mismatch",
            UploadState::Expired => "expired",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "receiving" => UploadState::Receiving,
            "complete" => UploadState::Complete,
            "mismatch" => UploadState::Mismatch,
            "expired" => UploadState::Expired,
            _ => {
                return Err(Error::Storage {
                    reason: "unknown upload state".into(),
                })
            }
        })
    }
}

#[derive(Debug, Clone)]
pub struct Upload {
    /// A UUIDv7 made by the bureau; also the name of the upload's file.
    pub id: String,
    pub device_id: String,
    pub length: u64,
    pub offset: u64,
    pub metadata: Metadata,
    pub state: UploadState,
    /// When an unfinished upload expires (UTC ms).
    pub expires_ms: i64,
}

const COLUMNS: &str = "id, device_id, length, upload_offset, metadata, state, expires_ms";

impl Upload {
    fn from_row(row: &Row) -> Result<Self> {
        Ok(Self {
            id: row.text(0)?,
            device_id: row.text(1)?,
            length: row.int(2)? as u64,
            offset: row.int(3)? as u64,
            metadata: Metadata::parse(&row.text(4)?)?,
            state: UploadState::parse(&row.text(5)?)?,
            expires_ms: row.int(6)?,
        })
    }

    /// Whether HEAD, PATCH and DELETE may use this upload at `now`.
    fn check_open(&self, now: i64) -> Result<()> {
        match self.state {
            UploadState::Expired => Err(Error::UploadExpired),
            UploadState::Receiving if now >= self.expires_ms => Err(Error::UploadExpired),
            UploadState::Mismatch => Err(Error::PhotoHashMismatch),
            UploadState::Receiving | UploadState::Complete => Ok(()),
        }
    }
}

/// This device's upload `id`; another device's is not found, not forbidden, so
/// that its existence is not revealed.
fn find(tx: &mut Tx, device_id: &str, id: &str) -> Result<Upload> {
    let row = tx.query_opt(
        &format!("SELECT {COLUMNS} FROM uploads WHERE id = $1 AND device_id = $2"),
        params![id, device_id],
    )?;
    Upload::from_row(&row.ok_or(Error::UploadNotFound)?)
}

/// Creates an upload of `length` bytes for the photo `metadata` describes.
///
/// If this device already completed an upload of the same bytes (same SHA-256 and
/// length), that upload is returned instead, complete, so the client learns that
/// nothing is left to send.
pub fn create(bureau: &Bureau, device_id: &str, length: u64, metadata: Metadata) -> Result<Upload> {
    if length == 0 {
        return Err(Error::InvalidRequest {
            reason: "Upload-Length must be at least 1: a photo is never empty".into(),
        });
    }
    let limit = bureau.limits.max_photo_bytes;
    if length > limit {
        return Err(Error::UploadTooLarge { limit });
    }
    let now = now_ms();
    let expiry_ms = i64::try_from(bureau.limits.upload_expiry_s)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    let quota = bureau.limits.max_upload_bytes_in_flight;
    bureau.db.write(|tx| {
        // The device's row lock (PostgreSQL): its creations are counted one at a time.
        tx.execute(
            "UPDATE devices SET revoked_ms = revoked_ms WHERE id = $1",
            params![device_id],
        )?;
        let done = tx.query_opt(
            &format!(
                "SELECT {COLUMNS} FROM uploads
                 WHERE device_id = $1 AND sha256 = $2 AND length = $3 AND state = 'complete'"
            ),
            params![device_id, &metadata.sha256, length],
        )?;
        if let Some(row) = done {
            return Upload::from_row(&row);
        }
        // Each other photo counts once: a device that lost an upload's Location
        // (a crash) starts the same photo again rather than owing it twice.
        let in_flight = tx
            .query_one(
                "SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT) FROM (
                     SELECT MAX(length) AS length FROM uploads
                     WHERE device_id = $1 AND state = 'receiving' AND expires_ms > $2
                       AND sha256 <> $3
                     GROUP BY sha256) AS unfinished",
                params![device_id, now, &metadata.sha256],
            )?
            .int(0)? as u64;
        if in_flight.saturating_add(length) > quota {
            return Err(Error::UploadQuotaExceeded { limit: quota });
        }
        let upload = Upload {
            id: uuid::Uuid::now_v7().to_string(),
            device_id: device_id.to_owned(),
            length,
            offset: 0,
            metadata,
            state: UploadState::Receiving,
            expires_ms: now.saturating_add(expiry_ms),
        };
        tx.execute(
            "INSERT INTO uploads (id, device_id, photo_id, sha256, length, upload_offset,
                                  metadata, state, created_ms, expires_ms)
             VALUES ($1, $2, $3, $4, $5, 0, $6, 'receiving', $7, $8)",
            params![
                &upload.id,
                device_id,
                &upload.metadata.photo_id,
                &upload.metadata.sha256,
                length,
                upload.metadata.to_header(),
                now,
                upload.expires_ms
            ],
        )?;
        Ok(upload)
    })
}

/// HEAD: the upload's progress, read once any chunk in flight has settled.
pub async fn status(bureau: &Arc<Bureau>, device_id: String, id: String) -> Result<Upload> {
    let lease = lease::take(bureau, &device_id, &id).await?;
    let upload = blocking(bureau, move |b| b.db.read(|tx| find(tx, &device_id, &id))).await;
    lease.release().await;
    let upload = upload?;
    upload.check_open(now_ms())?;
    Ok(upload)
}

/// DELETE: ends an unfinished upload and removes its bytes. A complete photo is
/// evidence, and a refused one is kept for inspection: neither is terminated.
pub async fn terminate(bureau: &Arc<Bureau>, device_id: String, id: String) -> Result<()> {
    let lease = lease::take(bureau, &device_id, &id).await?;
    let token = lease.token.clone();
    let ended = blocking(bureau, move |b| {
        b.db.write(|tx| {
            let upload = find(tx, &device_id, &id)?;
            upload.check_open(now_ms())?;
            if upload.state != UploadState::Receiving {
                return Err(Error::UploadFinished);
            }
            // Under the lease: a request that lost it deletes nothing.
            tx.execute(
                "DELETE FROM uploads WHERE id = $1 AND lease_token = $2",
                params![&id, &token],
            )?;
            Ok(())
        })?;
        b.photos.remove_upload(&id)
    })
    .await;
    lease.release().await;
    ended
}

/// One chunk of an upload, as a request brings it: `body` is the request's
/// body, whatever HTTP server read it.
pub struct Chunk<B> {
    /// Where the client says it starts (`Upload-Offset`).
    pub offset: u64,
    /// `Content-Length`, when the request declares one.
    pub declared_length: Option<u64>,
    pub checksum: Option<Checksum>,
    pub body: B,
}

/// PATCH, and the body of a creation-with-upload POST: appends `chunk` to upload
/// `id` and returns the upload as it then stands.
///
/// The work runs as a task of its own: when a connection is cut, the server drops
/// the request's handler, but the bytes that arrived must still be synced and
/// their offset recorded, so that the client resumes after them.
pub async fn receive_chunk<B>(
    bureau: Arc<Bureau>,
    device_id: String,
    id: String,
    chunk: Chunk<B>,
) -> Result<Upload>
where
    B: Body + Send + Unpin + 'static,
    B::Data: AsRef<[u8]> + Send,
{
    tokio::spawn(write_chunk(bureau, device_id, id, chunk))
        .await
        .map_err(|_| Error::Storage {
            reason: "upload task failed".into(),
        })?
}

async fn write_chunk<B>(
    bureau: Arc<Bureau>,
    device_id: String,
    id: String,
    chunk: Chunk<B>,
) -> Result<Upload>
where
    B: Body + Unpin,
    B::Data: AsRef<[u8]>,
{
    let lease = lease::take(&bureau, &device_id, &id).await?;
    let written = write_leased_chunk(&bureau, &lease, device_id, id, chunk).await;
    lease.release().await;
    written
}

async fn write_leased_chunk<B>(
    bureau: &Arc<Bureau>,
    lease: &lease::Lease,
    device_id: String,
    id: String,
    mut chunk: Chunk<B>,
) -> Result<Upload>
where
    B: Body + Unpin,
    B::Data: AsRef<[u8]>,
{
    let upload = {
        let id = id.clone();
        blocking(bureau, move |b| b.db.read(|tx| find(tx, &device_id, &id))).await?
    };
    upload.check_open(now_ms())?;
    if chunk.offset != upload.offset {
        return Err(Error::OffsetMismatch {
            expected: upload.offset,
        });
    }
    let room = upload.length - upload.offset;
    let too_long = Error::BeyondUploadLength {
        length: upload.length,
    };
    if chunk.declared_length.is_some_and(|n| n > room) {
        return Err(too_long);
    }
    if room == 0 {
        return Ok(upload); // complete already: nothing more to take
    }

    let mut writer = bureau.photos.chunk_writer(&id, upload.offset).await?;
    let ended = loop {
        let frame = match tokio::time::timeout(CHUNK_IDLE_TIMEOUT, chunk.body.frame()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(None) => break true,
            // A cut connection or a silent client: what arrived is judged below.
            Ok(Some(Err(_))) | Err(_) => break false,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers: nothing for us
        };
        let bytes = data.as_ref();
        if writer.written() + bytes.len() as u64 > room {
            writer.discard().await?;
            return Err(too_long);
        }
        writer.write(bytes).await?;
        if let Some(checksum) = &mut chunk.checksum {
            checksum.update(bytes);
        }
    };
    // A cut body may also end quietly, short of its Content-Length.
    let whole = ended && chunk.declared_length.is_none_or(|n| n == writer.written());
    if let Some(checksum) = chunk.checksum {
        // A checksummed chunk is all or nothing: part of it cannot be verified.
        if !(whole && checksum.matches()) {
            writer.discard().await?;
            return Err(Error::ChecksumMismatch);
        }
    }
    if lease.lost() {
        // Another request may hold the upload now: these bytes must not count.
        writer.discard().await?;
        return Err(Error::UploadLocked);
    }
    let token = lease.token.clone();
    // A photo sent in one request and still in memory (S3) goes straight to its
    // place, without being stored as a piece and read back.
    if let Some(bytes) = writer.take_whole_upload(upload.length) {
        return blocking(bureau, move |b| complete(b, upload, &token, Some(bytes))).await;
    }
    let end = writer.keep().await?;
    blocking(bureau, move |b| record_chunk(b, upload, end, &token)).await
}

/// Records the offset a kept chunk reached, under lease `token`; the last chunk
/// completes the upload.
fn record_chunk(bureau: &Bureau, upload: Upload, end: u64, token: &str) -> Result<Upload> {
    if end == upload.offset {
        return Ok(upload); // an empty chunk
    }
    if end < upload.length {
        bureau
            .db
            .write(|tx| set_progress(tx, &upload, token, end, UploadState::Receiving))?;
        return Ok(Upload {
            offset: end,
            ..upload
        });
    }
    complete(bureau, upload, token, None)
}

/// The last byte is in: all of them in the photo store, or all in `whole`. The
/// whole must have the declared length and SHA-256:
/// then it becomes a photo, and in the same transaction that marks the upload
/// complete, this device's evidence records of these bytes get their media checked.
/// Otherwise the upload is refused and its bytes deleted: they are not the photo,
/// and the device sends the photo again in a new upload.
fn complete(
    bureau: &Bureau,
    upload: Upload,
    token: &str,
    whole: Option<Vec<u8>>,
) -> Result<Upload> {
    let (sha256, size) = (upload.metadata.sha256, upload.length);
    let kept = match &whole {
        Some(bytes) => bureau.photos.keep_bytes(bytes, size, &sha256)?,
        None => bureau.photos.keep_upload(&upload.id, size, &sha256)?,
    };
    if !kept {
        bureau
            .db
            .write(|tx| set_progress(tx, &upload, token, size, UploadState::Mismatch))?;
        // Should this fail, the sweep removes the bytes.
        let _ = bureau.photos.remove_upload(&upload.id);
        return Err(Error::PhotoHashMismatch);
    }
    bureau.db.write(|tx| {
        set_progress(tx, &upload, token, size, UploadState::Complete)?;
        tx.execute(
            "INSERT INTO photos (sha256, size, device_id, photo_id, role, received_ms)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256, device_id) DO NOTHING",
            params![
                &sha256,
                size,
                &upload.device_id,
                &upload.metadata.photo_id,
                upload.metadata.role.as_str(),
                now_ms()
            ],
        )?;
        match upload.metadata.role {
            PhotoRole::Original => {
                evidence_ingest::photo_received(tx, &upload.device_id, &sha256, size)
            }
            PhotoRole::Preview => Ok(()),
        }
    })?;
    // The photo lives on as a photo. Should this fail, the sweep removes the bytes.
    // Its thumbnail is made when first needed (`photo_thumbnails`), not here.
    let _ = bureau.photos.remove_upload(&upload.id);
    Ok(Upload {
        offset: size,
        state: UploadState::Complete,
        ..upload
    })
}

/// Moves an upload on from the offset and state it was read with, under lease
/// `token`. Should another writer have got there first (the expiry sweep; a
/// request that took the lease after this one lost it), says why.
fn set_progress(
    tx: &mut Tx,
    upload: &Upload,
    token: &str,
    offset: u64,
    state: UploadState,
) -> Result<()> {
    let completed_ms = (state != UploadState::Receiving).then(now_ms);
    let changed = tx.execute(
        "UPDATE uploads SET upload_offset = $1, state = $2, completed_ms = $3
         WHERE id = $4 AND upload_offset = $5 AND state = 'receiving' AND lease_token = $6",
        params![
            offset,
            state.as_str(),
            completed_ms,
            &upload.id,
            upload.offset,
            token
        ],
    )?;
    if changed == 1 {
        return Ok(());
    }
    let current = find(tx, &upload.device_id, &upload.id)?;
    current.check_open(now_ms())?;
    if current.offset == upload.offset {
        return Err(Error::UploadLocked); // the lease was lost
    }
    Err(Error::OffsetMismatch {
        expected: current.offset,
    })
}

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Unfinished uploads found past their expiry.
    pub expired: usize,
    /// Uploads whose leftover bytes were removed from the photo store.
    pub files_removed: usize,
}

/// Expires the unfinished uploads past their `Upload-Expires`, then removes the
/// bytes of every upload that no longer belongs to an upload in progress: expired,
/// refused, terminated, or left behind by a completion or refusal that a crash
/// interrupted (so a restart cleans up what a crash left).
pub fn sweep_expired(bureau: &Bureau) -> Result<Swept> {
    let expired = bureau
        .db
        .write(|tx| {
            tx.query(
                "UPDATE uploads SET state = 'expired'
                 WHERE state = 'receiving' AND expires_ms <= $1 RETURNING id",
                params![now_ms()],
            )
        })?
        .len();
    // Bytes are listed before their uploads are looked up: an upload's row is
    // written before its bytes, so a new upload's are never taken for an orphan's.
    let mut files_removed = 0;
    for id in bureau.photos.upload_ids()? {
        let state = bureau.db.read(|tx| {
            tx.query_opt("SELECT state FROM uploads WHERE id = $1", params![&id])?
                .map(|row| row.text(0))
                .transpose()
        })?;
        if state.as_deref() != Some("receiving") {
            bureau.photos.remove_upload(&id)?;
            files_removed += 1;
        }
    }
    Ok(Swept {
        expired,
        files_removed,
    })
}

/// Sweeps at once (start-up), then every `upload_expiry_s` (clamped to between one
/// second and ten minutes), for as long as the task runs.
pub async fn sweep_periodically(bureau: Arc<Bureau>) {
    let period = Duration::from_secs(bureau.limits.upload_expiry_s)
        .clamp(Duration::from_secs(1), MAX_SWEEP_PERIOD);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = blocking(&bureau, sweep_expired).await {
            // Nothing is lost: the next sweep tries again.
            eprintln!("upload sweep failed [{}]: {e}", e.code());
        }
    }
}
